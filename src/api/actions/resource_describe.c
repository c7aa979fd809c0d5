/* resource_describe.c: the Describe machinery of the resource actions (see
 * resource_actions.h): ids or Filters, paging and ordering, handed to the
 * store when it can, else applied to the rendered objects. */
#include "api/actions/resource_actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "validate/validate.h"

#define MAX_IDS 100
#define DEFAULT_LIMIT 20
#define MAX_LIMIT 100

#define RM_TAG_PAIR 100 /* internal: "tag:<key>" */

struct active {
    const struct res_filter *def; /* NULL for tag:<key> */
    const char *tag_key;
    int match;
    const char *const *values;
    size_t nvalues;
};

/* The text of a scalar leaf into buf; NULL for a non-scalar. */
static const char *leaf_text(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_true(v))
        return "true";
    if (json_is_false(v))
        return "false";
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

static int value_matches(const char *leaf, int match, const struct active *f)
{
    for (size_t i = 0; i < f->nvalues; i++) {
        const char *s = f->values[i];
        if ((match == RM_EXACT && strcmp(leaf, s) == 0) ||
            (match == RM_SUBSTR && strstr(leaf, s)) ||
            (match == RM_BOOL && strcasecmp(leaf, s) == 0))
            return 1;
    }
    return 0;
}

/* Does any leaf reached by `path` from v match? Lists are walked through. */
static int any_leaf(json_t *v, const char *path, int match, const struct active *f)
{
    char buf[32], seg[64];
    size_t i, n;
    json_t *x;

    if (json_is_array(v)) {
        json_array_foreach(v, i, x) {
            if (any_leaf(x, path, match, f))
                return 1;
        }
        return 0;
    }
    if (!*path) {
        const char *t = leaf_text(v, buf, sizeof buf);
        return t && value_matches(t, match, f);
    }
    n = strcspn(path, ".");
    if (n >= sizeof seg)
        return 0;
    memcpy(seg, path, n);
    seg[n] = '\0';
    x = json_object_get(v, seg);
    return x && any_leaf(x, path[n] ? path + n + 1 : "", match, f);
}

static int filter_matches(json_t *obj, const struct active *f)
{
    if (f->match == RM_TAG_PAIR) {
        json_t *t;
        size_t i;
        json_array_foreach(json_object_get(obj, "TagSet"), i, t) {
            const char *k = json_string_value(json_object_get(t, "Key"));
            const char *v = json_string_value(json_object_get(t, "Value"));
            if (k && strcmp(k, f->tag_key) == 0 && value_matches(v ? v : "", RM_EXACT, f))
                return 1;
        }
        return 0;
    }
    if (f->match == RM_ANY)
        return 1;
    if (f->def->path[0] == '=')
        return value_matches(f->def->path + 1, f->match, f);
    return any_leaf(obj, f->def->path, f->match, f);
}

/* Offset/Limit given as strings (DescribeVpcs, DescribeSubnets) or numbers. */
static enum api_err read_paging(const struct res_describe_in *in, int strings, uint64_t *offset,
                                uint64_t *limit, struct apierr *e)
{
    static const char *const names[] = {"Offset", "Limit"};
    const char *text[] = {in->offset_s, in->limit_s};
    const uint64_t *num[] = {in->offset, in->limit};
    uint64_t *dst[] = {offset, limit};

    *offset = 0;
    *limit = DEFAULT_LIMIT;
    for (int i = 0; i < 2; i++) {
        if (strings) {
            const char *s = text[i];
            if (!s || !*s)
                continue;
            if (parse_u64(s, strlen(s), dst[i]) != 0)
                return apierr_set(e, API_E_VALUE_MALFORMED, names[i]);
        } else if (num[i]) {
            *dst[i] = *num[i];
        }
    }
    if (*limit < 1 || *limit > MAX_LIMIT)
        return apierr_set(e, API_E_VALUE_RANGE, "Limit");
    return API_E_OK;
}

static const struct res_filter *filter_def(const struct res_describe *d, const char *name)
{
    for (const struct res_filter *f = d->filters; f && f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

struct rows {
    const struct actx *c;
    const struct res_describe *d;
    json_t *all;
    int failed;
};

static void on_row(void *ud, const struct resource *r)
{
    struct rows *rows = ud;
    json_t *o;
    if (rows->failed)
        return;
    o = rows->d->render(rows->c, r, res_attrs(r));
    if (!o || json_array_append_new(rows->all, o) != 0)
        rows->failed = 1;
}

struct sorted {
    json_t *o;
    const char *key, *id;
    int desc;
};

static int cmp_sorted(const void *x, const void *y)
{
    const struct sorted *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    if (!c)
        c = strcmp(a->id, b->id);
    return a->desc ? -c : c;
}

/* Orders the matches by `field` (ties by the id field) when the action takes
 * an OrderField; otherwise they stay in creation order. */
static int order_rows(json_t *kept, const struct res_describe *d, const char *field, int desc)
{
    size_t n = json_array_size(kept);
    struct sorted *v;
    char buf[32];

    if (!field || n < 2)
        return 0;
    if (!(v = calloc(n, sizeof *v)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *k;
        v[i].o = json_array_get(kept, i);
        k = leaf_text(json_object_get(v[i].o, field), buf, sizeof buf);
        v[i].key = k && k != buf ? k : "";
        v[i].id = json_string_value(json_object_get(v[i].o, d->id_field));
        if (!v[i].id)
            v[i].id = "";
        v[i].desc = desc;
    }
    qsort(v, n, sizeof *v, cmp_sorted);
    for (size_t i = 0; i < n; i++)
        json_incref(v[i].o);
    json_array_clear(kept);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(kept, v[i].o);
    free(v);
    return 0;
}

/* 1 if there are at most MAX_IDS values (every value is a string): an id
 * filter the store can take whole. */
static int all_strings(const struct active *f)
{
    return f->nvalues <= MAX_IDS;
}

/* 1 if the store can do the whole Describe: every filter is handed down
 * whole (an id filter with its values, or one exact value of a parent; at
 * most one filter per column) or has no effect, and the order is the
 * store's (creation time, then id, ascending). */
static int in_sql(const struct active *act, size_t nact, const char *order, int desc)
{
    char pushed[5] = "";
    size_t np = 0;

    if (order && (desc || strcmp(order, "CreateTime") != 0))
        return 0;
    for (size_t j = 0; j < nact; j++) {
        if (act[j].match == RM_ANY)
            continue;
        if (!act[j].def || !act[j].def->push || act[j].match != RM_EXACT ||
            memchr(pushed, act[j].def->push, np) || np >= sizeof pushed - 1)
            return 0;
        if (act[j].def->push == 'd' ? !all_strings(&act[j]) : act[j].nvalues != 1)
            return 0;
        pushed[np++] = act[j].def->push;
    }
    return 1;
}

enum api_err res_describe(struct actx *c, const struct res_describe_in *in, json_t *out,
                          const struct res_describe *d, struct apierr *e)
{
    struct active act[64];
    const char *idv[MAX_IDS];
    struct resource_query q;
    struct rows rows = {c, d, NULL, 0};
    struct serr se = {{0}};
    json_t *kept = NULL, *page = NULL, *v;
    const char *order = NULL;
    uint64_t offset, limit, total = 0;
    size_t i, j, nact = 0, nids = in->nids;
    enum api_err rc;
    int desc = 0, src;

    if (nids && in->nfilters)
        return apierr_setf(e, API_E_PARAM_COEXIST2, "%s, Filters", d->ids_param);
    if (nids > MAX_IDS)
        return apierr_set(e, API_E_VALUE_LIMIT, d->ids_param);
    for (i = 0; i < nids; i++) {
        idv[i] = in->ids[i];
        if (!id_has_form(idv[i], d->id_prefix))
            return apierr_setf(e, API_E_VALUE_MALFORMED, "%s.%zu", d->ids_param, i);
    }
    if (in->nfilters > d->max_filters || in->nfilters > 64)
        return apierr_set(e, API_E_VALUE_LIMIT, "Filters");
    for (i = 0; i < in->nfilters; i++) {
        const char *name = in->filters[i].Name;
        struct active *a = &act[nact++];
        memset(a, 0, sizeof *a);
        a->values = in->filters[i].Values.v;
        a->nvalues = in->filters[i].Values.n;
        if (d->tag_pairs && strncmp(name, "tag:", 4) == 0 && name[4]) {
            a->match = RM_TAG_PAIR;
            a->tag_key = name + 4;
        } else if ((a->def = filter_def(d, name))) {
            a->match = a->def->match;
        } else {
            return apierr_set(e, API_E_FILTER_KEY, name);
        }
        if (a->nvalues == 0)
            return apierr_setf(e, API_E_VALUE_EMPTY, "Filters.%zu.Values", i);
        if (a->nvalues > d->max_values)
            return apierr_setf(e, API_E_VALUE_LIMIT, "Filters.%zu.Values", i);
    }
    if ((rc = read_paging(in, d->string_paging, &offset, &limit, e)) != API_E_OK)
        return rc;
    if (d->order_fields) {
        const char *dir = in_opt(in->dir);
        order = in_opt(in->order);
        if (order && !str_in(order, d->order_fields))
            return apierr_set(e, API_E_VALUE_RANGE, "OrderField");
        if (dir && strcmp(dir, "ASC") != 0 && strcmp(dir, "DESC") != 0)
            return apierr_set(e, API_E_VALUE_RANGE, "OrderDirection");
        if (!order)
            order = d->default_order;
        desc = dir && strcmp(dir, "DESC") == 0;
    }

    memset(&q, 0, sizeof q);
    q.uin = c->account->uin;
    q.region = c->region;
    q.kind = d->kind;
    q.ids = idv;
    q.nids = nids;
    for (j = 0; j < nact; j++) {
        const char *one = act[j].nvalues == 1 ? act[j].values[0] : NULL;
        if (act[j].def && act[j].def->push == 'd' && act[j].match == RM_EXACT &&
            all_strings(&act[j])) {
            /* the resource's own id, any of the values (no ids_param: they
             * cannot coexist with Filters) */
            for (i = 0; i < act[j].nvalues; i++)
                idv[i] = act[j].values[i];
            q.nids = act[j].nvalues;
            continue;
        }
        if (!act[j].def || !one || act[j].match != RM_EXACT)
            continue;
        if (act[j].def->push == 'v')
            q.vpc_id = one;
        else if (act[j].def->push == 's')
            q.subnet_id = one;
        else if (act[j].def->push == 'i')
            q.instance_id = one;
    }
    if (!(rows.all = json_array()) || !(kept = json_array()) || !(page = json_array())) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    if (in_sql(act, nact, order, desc)) {
        /* the store pages and counts (an index): a tenant's whole inventory
         * is neither read nor rendered */
        q.offset = offset;
        q.limit = limit;
        if ((src = store_resource_query(c->store, &q, on_row, &rows, &total, &se)) != STORE_OK) {
            rc = api_store_failed(c, src, &se, e);
            goto done;
        }
        if (rows.failed) {
            rc = apierr_set(e, API_E_INTERNAL, NULL);
            goto done;
        }
        json_decref(page);
        page = json_incref(rows.all);
        goto answer;
    }
    if ((src = store_resource_query(c->store, &q, on_row, &rows, NULL, &se)) != STORE_OK) {
        rc = api_store_failed(c, src, &se, e);
        goto done;
    }
    if (rows.failed) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    json_array_foreach(rows.all, i, v) {
        int ok = 1;
        for (j = 0; j < nact && ok; j++)
            ok = filter_matches(v, &act[j]);
        if (ok && json_array_append(kept, v) != 0) {
            rc = apierr_set(e, API_E_INTERNAL, NULL);
            goto done;
        }
    }
    if (order_rows(kept, d, order, desc) != 0) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    total = json_array_size(kept);
    for (uint64_t k = offset; k < total && k - offset < limit; k++)
        if (json_array_append(page, json_array_get(kept, (size_t)k)) != 0) {
            rc = apierr_set(e, API_E_INTERNAL, NULL);
            goto done;
        }
answer:
    if (json_object_set_new(out, "TotalCount", json_integer((json_int_t)total)) != 0 ||
        json_object_set(out, d->set_key, page) != 0) {
        rc = apierr_set(e, API_E_INTERNAL, NULL);
        goto done;
    }
    rc = API_E_OK;
done:
    json_decref(rows.all);
    json_decref(kept);
    json_decref(page);
    return rc;
}
