/* resource_steps.c: the steps the resource actions share (see
 * resource_actions.h): checks, lookups, create and delete with their error
 * mapping, task records, attributes. The Describe machinery is in
 * resource_describe.c. */
#include "api/actions/resource_actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "validate/validate.h"

#define ID_DRAWS 5
#define MAX_ATTRS 16384 /* bytes of display-only attributes kept per resource */

enum api_err res_check_name(const char *s, size_t max, const char *param, struct apierr *e)
{
    if (!s || !*s)
        return apierr_set(e, API_E_VALUE_EMPTY, param);
    return res_check_len(s, max, param, e);
}

enum api_err res_check_len(const char *s, size_t max, const char *param, struct apierr *e)
{
    if (s && strlen(s) > max)
        return apierr_set(e, API_E_VALUE_TOOLONG, param);
    return API_E_OK;
}

enum api_err res_check_enum(const char *s, const char *const *set, const char *param,
                            struct apierr *e)
{
    return s && !str_in(s, set) ? apierr_set(e, API_E_VALUE_RANGE, param) : API_E_OK;
}

enum api_err res_get(struct actx *c, enum res_kind kind, const char *id, struct resource *out,
                     struct apierr *e)
{
    struct serr se = {{0}};
    int rc;
    memset(out, 0, sizeof *out);
    rc = store_resource_get(c->store, c->account->uin, c->region, kind, id, out, &se);
    out->attrs = NULL; /* resource_get does not fill it */
    if (rc == STORE_NOTFOUND)
        return apierr_set(e, API_E_NOT_FOUND, id);
    return rc == STORE_OK ? API_E_OK : api_store_failed(c, rc, &se, e);
}

struct found {
    struct resource r;
    json_t *attrs;
    int hit;
};

static void on_found(void *ud, const struct resource *r)
{
    struct found *f = ud;
    if (f->hit)
        return;
    f->r = *r;
    f->r.attrs = NULL;
    f->attrs = res_attrs(r);
    f->hit = 1;
}

enum api_err res_find(struct actx *c, enum res_kind kind, const char *id, struct resource *out,
                      json_t **attrs, struct apierr *e)
{
    struct found f;
    struct resource_query q;
    struct serr se = {{0}};
    const char *ids[1] = {id};
    int rc;

    memset(&f, 0, sizeof f);
    memset(&q, 0, sizeof q);
    q.uin = c->account->uin;
    q.region = c->region;
    q.kind = kind;
    q.ids = ids;
    q.nids = 1;
    q.limit = 1;
    *attrs = NULL;
    if ((rc = store_resource_query(c->store, &q, on_found, &f, NULL, &se)) != STORE_OK) {
        json_decref(f.attrs);
        return api_store_failed(c, rc, &se, e);
    }
    if (!f.hit)
        return apierr_set(e, API_E_NOT_FOUND, id);
    if (!f.attrs)
        return apierr_set(e, API_E_INTERNAL, NULL);
    *out = f.r;
    *attrs = f.attrs;
    return API_E_OK;
}

enum api_err res_create(struct actx *c, struct resource *r, const char *prefix,
                        struct apierr *e)
{
    struct serr se = {{0}};
    int rc = STORE_CONFLICT;

    if (r->attrs && strlen(r->attrs) > MAX_ATTRS)
        return apierr_set(e, API_E_VALUE_TOOLONG, "the request's attributes");
    snprintf(r->region, sizeof r->region, "%s", c->region);
    r->created_at = (int64_t)c->now;
    for (int i = 0; i < ID_DRAWS && rc == STORE_CONFLICT; i++) {
        if (gen_id(prefix, r->id, sizeof r->id) != 0)
            return apierr_set(e, API_E_INTERNAL, NULL);
        rc = store_resource_create(c->store, c->account->uin, r, &se);
    }
    if (rc == STORE_OK)
        return API_E_OK;
    if (rc == STORE_NOTFOUND)
        return apierr_set(e, API_E_NOT_FOUND, se.msg);
    return api_store_failed(c, rc, &se, e);
}

enum api_err res_record_task(struct actx *c, struct apierr *e)
{
    struct resource t;
    struct serr se = {{0}};
    int rc;

    memset(&t, 0, sizeof t);
    t.kind = RES_TASK;
    snprintf(t.region, sizeof t.region, "%s", c->region);
    snprintf(t.id, sizeof t.id, "%s", c->request_id);
    snprintf(t.name, sizeof t.name, "SUCCESS");
    t.created_at = (int64_t)c->now;
    if ((rc = store_resource_create(c->store, c->account->uin, &t, &se)) != STORE_OK)
        return api_store_failed(c, rc, &se, e);
    return API_E_OK;
}

enum api_err res_delete(struct actx *c, const char *id, const char *param, const char *prefix,
                        enum res_kind kind, int task, struct apierr *e)
{
    struct serr se = {{0}};
    int rc;

    if (!id || !*id)
        return apierr_set(e, API_E_VALUE_EMPTY, param);
    if (!id_has_form(id, prefix))
        return apierr_set(e, API_E_VALUE_MALFORMED, param);
    rc = store_resource_delete(c->store, c->account->uin, c->region, kind, id, &se);
    switch (rc) {
    case STORE_OK:
        return task ? res_record_task(c, e) : API_E_OK;
    case STORE_NOTFOUND:
        return apierr_set(e, API_E_NOT_FOUND, id);
    case STORE_INUSE:
        return apierr_set(e, API_E_IN_USE, se.msg);
    case STORE_HAS_FLOWLOG:
        return apierr_set(e, kind == RES_CCN ? API_E_CCN_HAS_FLOWLOG : API_E_DCG_HAS_FLOWLOG, id);
    default:
        return api_store_failed(c, rc, &se, e);
    }
}

json_t *res_strings(const char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *res_time(int64_t t)
{
    char s[20];
    fmt_time_cst((time_t)t, s);
    return json_string(s);
}

json_t *res_attrs(const struct resource *r)
{
    json_t *a = NULL;
    if (r->attrs && *r->attrs)
        a = json_loads(r->attrs, 0, NULL);
    if (!json_is_object(a)) {
        json_decref(a);
        a = json_object(); /* not ours or damaged: show the defaults */
    }
    return a;
}

json_t *res_overlay(json_t *obj, json_t *attrs)
{
    const char *k;
    json_t *v;
    if (!obj) {
        json_decref(attrs);
        return NULL;
    }
    json_object_foreach(attrs, k, v) {
        if (json_object_get(obj, k) && json_object_set(obj, k, v) != 0) {
            json_decref(obj);
            obj = NULL;
            break;
        }
    }
    json_decref(attrs);
    return obj;
}
