/* resource_actions.h: what the resource actions share (actions/vpc_subnet.c,
 * eni.c, gateways.c): input helpers, the create/delete steps with their
 * error mapping, task records, and the Describe machinery (ids or Filters,
 * paging, ordering) over rendered output objects. Not for other layers. */
#ifndef FLOWLOGD_API_ACTIONS_RESOURCE_ACTIONS_H
#define FLOWLOGD_API_ACTIONS_RESOURCE_ACTIONS_H

#include <jansson.h>

#include "api/action.h"
#include "api/schema_gen.h"


/** A name: required (absent or "" -> InvalidParameterValue.Empty), at most
 * `max` bytes (-> InvalidParameterValue.TooLong). */
enum api_err res_check_name(const char *s, size_t max, const char *param, struct apierr *e);

/** An optional text of at most `max` bytes (-> ...TooLong). */
enum api_err res_check_len(const char *s, size_t max, const char *param, struct apierr *e);

/** `s` is one of the NULL-terminated `set`, else InvalidParameterValue.Range. */
enum api_err res_check_enum(const char *s, const char *const *set, const char *param,
                            struct apierr *e);

/** Looks up resource `id` of `kind` in the caller's account and region:
 * unknown -> ResourceNotFound naming it. `out` is zeroed first. */
enum api_err res_get(struct actx *c, enum res_kind kind, const char *id, struct resource *out,
                     struct apierr *e);

/** Like res_get, also returning the resource's parsed attrs in *attrs (the
 * caller's reference; an empty object when it has none). */
enum api_err res_find(struct actx *c, enum res_kind kind, const char *id, struct resource *out,
                      json_t **attrs, struct apierr *e);

/** Creates r (kind, names, parents, attrs set; region and created_at are
 * filled here) under a fresh id "<prefix>-xxxxxxxx", drawing again on a
 * collision. A parent that does not exist -> ResourceNotFound. */
enum api_err res_create(struct actx *c, struct resource *r, const char *prefix,
                        struct apierr *e);

/** Deletes resource `id` of `kind` after checking its form (`param`):
 * unknown -> ResourceNotFound, in use -> ResourceInUse (naming what is in
 * the way), a CCN/DCG with a flow log -> UnsupportedOperation.CcnHasFlowLog
 * / DcgHasFlowLog. Records the request as a task when `task` is set. */
enum api_err res_delete(struct actx *c, const char *id, const char *param, const char *prefix,
                        enum res_kind kind, int task, struct apierr *e);

/** Records this request (actx.request_id) as a finished asynchronous task,
 * for DescribeVpcTaskResult. */
enum api_err res_record_task(struct actx *c, struct apierr *e);

/** The strings v[0..n) as a new JSON array; NULL on OOM. */
json_t *res_strings(const char *const *v, size_t n);

/** "YYYY-MM-DD HH:MM:SS" in UTC+8 as a new JSON string. */
json_t *res_time(int64_t t);

/** Parses the attrs text of r (NULL or "" -> an empty object). Never NULL
 * unless out of memory. */
json_t *res_attrs(const struct resource *r);

/** Overlays the members of `attrs` that `obj` already has onto `obj`
 * (stolen: attrs is released). Returns obj, or NULL (obj released) on OOM. */
json_t *res_overlay(json_t *obj, json_t *attrs);

/* ==== Describe ==== */

/** How a filter's values are compared with the output field(s) its path
 * names: exact, substring ("fuzzy"), boolean ("TRUE"/"true"...). A
 * "tag:<key>" filter (when the action takes them) matches a TagSet entry
 * with that key and one of the values. */
enum res_match { RM_EXACT, RM_SUBSTR, RM_BOOL, RM_ANY /* a modifier: accepted, no effect */ };

/** A filter name and where its value is read in the rendered object:
 * "A.B" walks members, through lists (any element); "=x" is the constant x
 * (an attribute flowlogd does not model). `push` hands the filter down to
 * the store: 'd' the resource's own id (every value), and a single value of
 * 'v' vpc_id, 's' subnet_id, 'i' instance_id; 0 none. */
struct res_filter {
    const char *name;
    const char *path;
    unsigned char match;
    char push;
};

/** Renders one resource as the action's output structure (attrs parsed). */
typedef json_t *(*res_render_fn)(const struct actx *c, const struct resource *r, json_t *attrs);

struct res_describe {
    enum res_kind kind;
    const char *ids_param;   /* "VpcIds" */
    const char *id_prefix;   /* "vpc" */
    const char *set_key;     /* "VpcSet" */
    const char *id_field;    /* "VpcId": ties of an ordering */
    const struct res_filter *filters; /* NULL-name terminated; "tag:<key>" when tag_pairs */
    int tag_pairs;
    int string_paging;       /* Offset/Limit are strings (DescribeVpcs, DescribeSubnets) */
    size_t max_filters, max_values;
    const char *const *order_fields; /* OrderField values (output members), or NULL */
    const char *default_order;       /* with order_fields: the default field */
    res_render_fn render;
};

/** A Describe's input, from its generated struct (RES_DESCRIBE_IN). */
struct res_describe_in {
    const char *const *ids; /* the ids_param list */
    size_t nids;
    const struct in_Filter *filters;
    size_t nfilters;
    const char *offset_s, *limit_s; /* string_paging */
    const uint64_t *offset, *limit; /* otherwise */
    const char *order, *dir;        /* OrderField, OrderDirection (order_fields) */
};

/** The ids list `ids` and the Filters of the generated input `r`. */
#define RES_DESCRIBE_IN(r, ids_member)                                                           \
    .ids = (r)->ids_member.v, .nids = (r)->ids_member.n, .filters = (r)->Filters.v,             \
    .nfilters = (r)->Filters.n

/** The whole Describe: ids or Filters (together -> InvalidParameter.Coexist;
 * a malformed id -> ...Malformed; more than 100 -> ...LimitExceeded; an
 * unknown filter name -> InvalidParameter.FilterInvalidKey; no values ->
 * ...Empty), Offset (default 0) / Limit (default 20, 1..100 -> ...Range),
 * ordering, then out = {set_key: page, TotalCount: matches}. */
enum api_err res_describe(struct actx *c, const struct res_describe_in *in, json_t *out,
                          const struct res_describe *d, struct apierr *e);

#endif
