/* describe_flow_logs.c: DescribeFlowLogs, the general query.
 *
 * Every field filter combines with AND. Filters may be one object (what
 * the SDKs send: the spec types it as a single Filter) or a list of them;
 * names are "tag-key" (the flow log has one of the keys) and "tag:<key>"
 * (the key has one of the values). FlowLogId and Filters cannot be
 * combined. Paging: Offset (default 0), Limit (default 10, 1 to 100),
 * OrderField flowLogName|createTime (default createTime), OrderDirection
 * ASC|DESC (default DESC); ties are ordered by FlowLogId so pages never
 * repeat or skip a row. An optional filter given as "" is no filter. */
#include <string.h>

#include "api/action.h"
#include "api/schema_gen.h"
#include "base/util.h"
#include "validate/validate.h"

#define MAX_FILTER_VALUES 100

struct filters {
    const char *keys_any[MAX_FILTER_VALUES];
    size_t nkeys_any;
    struct tag pairs[MAX_FILTER_VALUES];
    size_t npairs;
};

static enum api_err add_filter(const struct in_Filter *f, size_t index, struct filters *out,
                               struct apierr *e)
{
    const char *name = f->Name;
    int tag_key = strcmp(name, "tag-key") == 0;

    if (!tag_key && (strncmp(name, "tag:", 4) != 0 || name[4] == '\0'))
        return apierr_setf(e, API_E_VALUE_RANGE, "Filters.%zu.Name", index);
    if (f->Values.n == 0)
        return apierr_setf(e, API_E_VALUE_EMPTY, "Filters.%zu.Values", index);
    for (size_t i = 0; i < f->Values.n; i++) {
        if (out->nkeys_any + out->npairs == MAX_FILTER_VALUES)
            return apierr_set(e, API_E_VALUE_RANGE, "Filters");
        if (tag_key)
            out->keys_any[out->nkeys_any++] = f->Values.v[i];
        else
            out->pairs[out->npairs++] = (struct tag){name + 4, f->Values.v[i]};
    }
    return API_E_OK;
}

/* Filters: one object or a list (a list of one either way in the input struct). */
static enum api_err read_filters(const struct in_Filter *filters, size_t n, struct filters *out,
                                 struct apierr *e)
{
    enum api_err rc;

    for (size_t i = 0; i < n; i++)
        if ((rc = add_filter(&filters[i], i, out, e)) != API_E_OK)
            return rc;
    return API_E_OK;
}

/* The field filters: each of its form or in its range. `type` is the
 * ResourceType filter (q holds its kind once known). */
static enum api_err check_fields(const struct flowlog_query *q, const char *type,
                                 struct apierr *e)
{
    static const char *const states[] = {"SUCCESS", "DELETED", NULL};
    enum api_err rc;

    if (q->vpc_id && !id_has_form(q->vpc_id, "vpc"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "VpcId");
    if (q->id && !id_has_form(q->id, "fl"))
        return apierr_set(e, API_E_VALUE_MALFORMED, "FlowLogId");
    if (q->name && (rc = check_chars(q->name, 60, "FlowLogName", e)) != API_E_OK)
        return rc;
    if (type && !resource_type_find(type))
        return apierr_set(e, API_E_VALUE_RANGE, "ResourceType");
    if (q->resource_id) {
        int ok = 0;
        if (type)
            ok = id_has_form(q->resource_id, resource_prefix(type));
        else
            for (size_t i = 0; resource_type_at(i) && !ok; i++)
                ok = id_has_form(q->resource_id, resource_type_at(i)->prefix);
        if (!ok)
            return apierr_set(e, API_E_VALUE_MALFORMED, "ResourceId");
    }
    if (q->traffic_type && !traffic_type_known(q->traffic_type))
        return apierr_set(e, API_E_VALUE_RANGE, "TrafficType");
    if (q->cloud_log_id && !is_uuid(q->cloud_log_id))
        return apierr_set(e, API_E_VALUE_MALFORMED, "CloudLogId");
    if (q->cloud_log_state && !str_in(q->cloud_log_state, states))
        return apierr_set(e, API_E_VALUE_RANGE, "CloudLogState");
    if (q->cloud_log_region && !region_known(q->cloud_log_region))
        return apierr_set(e, API_E_VALUE_RANGE, "CloudLogRegion");
    return API_E_OK;
}

static void on_row(void *ud, const struct flowlog *fl)
{
    render_flowlog(ud, fl);
}

enum api_err act_describe_flow_logs(struct actx *c, json_t *out, struct apierr *e)
{
    const struct in_DescribeFlowLogsRequest *r = c->in;
    struct flowlog_query q;
    struct filters f;
    struct serr se = {{0}};
    const char *order = in_opt(r->OrderField), *dir = in_opt(r->OrderDirection), *type;
    uint64_t total = 0;
    enum api_err rc;
    int src;

    (void)out; /* the answer is streamed into c->w */
    memset(&q, 0, sizeof q);
    memset(&f, 0, sizeof f);
    q.uin = c->account->uin;
    q.region = c->region;
    q.vpc_id = in_opt(r->VpcId);
    q.id = in_opt(r->FlowLogId);
    q.name = in_opt(r->FlowLogName);
    type = in_opt(r->ResourceType);
    q.resource_id = in_opt(r->ResourceId);
    q.traffic_type = in_opt(r->TrafficType);
    q.cloud_log_id = in_opt(r->CloudLogId);
    q.cloud_log_state = in_opt(r->CloudLogState);
    q.cloud_log_region = in_opt(r->CloudLogRegion);

    if (q.id && r->Filters.v)
        return apierr_set(e, API_E_PARAM_COEXIST, "FlowLogId, Filters");
    if ((rc = check_fields(&q, type, e)) != API_E_OK)
        return rc;
    if (type)
        q.resource_kind = resource_type_find(type)->kind;
    if ((rc = read_filters(r->Filters.v, r->Filters.n, &f, e)) != API_E_OK)
        return rc;
    q.limit = r->Limit ? *r->Limit : 10;
    q.offset = r->Offset ? *r->Offset : 0;
    if (q.limit < 1 || q.limit > 100)
        return apierr_set(e, API_E_VALUE_RANGE, "Limit");
    if (order && strcmp(order, "createTime") != 0 && strcmp(order, "flowLogName") != 0)
        return apierr_set(e, API_E_VALUE_RANGE, "OrderField");
    if (dir && strcmp(dir, "ASC") != 0 && strcmp(dir, "DESC") != 0)
        return apierr_set(e, API_E_VALUE_RANGE, "OrderDirection");
    q.order = order && strcmp(order, "flowLogName") == 0 ? ORDER_NAME : ORDER_CREATE_TIME;
    q.descending = !dir || strcmp(dir, "DESC") == 0;
    q.tag_keys_any = f.keys_any;
    q.ntag_keys_any = f.nkeys_any;
    q.tag_pairs = f.pairs;
    q.ntag_pairs = f.npairs;

    jw_reserve(c->w, q.limit * 640); /* a flow log is ~480 bytes, a tag ~30 */
    jw_lkey(c->w, "FlowLog");
    jw_arr(c->w);
    src = store_flowlog_query(c->store, &q, on_row, c->w, &total, &se);
    if (src != STORE_OK)
        return api_store_failed(c, src, &se, e);
    jw_arr_end(c->w);
    jw_kint(c->w, "TotalNum", (int64_t)total);
    return jw_failed(c->w) ? apierr_set(e, API_E_INTERNAL, NULL) : API_E_OK;
}
