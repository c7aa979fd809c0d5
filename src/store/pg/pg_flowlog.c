/* pg_flowlog.c: flow logs on PostgreSQL: get, DescribeFlowLogs, update,
 * delete, enable/disable and tags. (Creates: pg_writer.c.)
 *
 * A DescribeFlowLogs is ONE statement, so its count and its page see one
 * snapshot: WITH p AS (page) SELECT count, p.* FROM (SELECT 1) LEFT JOIN p.
 * Counts kept by triggers (region_usage, vpc_usage) answer the unfiltered and
 * VpcId-only totals with one lookup. Lists (tag keys, tag values) are bound
 * as one JSON array each.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "store/pg/pg_int.h"

#define MAX_TAG_KEYS 50
#define MAX_PARAMS 128

/* ==== rows ==== */

/* Calls cb for every row of r (PG_FL_COLS from column `first`; rows whose
 * first column is NULL are skipped: the empty page of the LEFT JOIN). */
static int emit_rows(const PGresult *r, int first, flowlog_cb cb, void *ud, struct serr *e)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct flowlog fl;
        void *tj;
        struct tag *tv;
        if (PQgetisnull(r, i, first))
            continue;
        if (pg_row_to_flowlog(r, i, first, &fl, &tj, &tv, e) != STORE_OK)
            return STORE_ERR;
        if (cb)
            cb(ud, &fl);
        json_decref(tj);
        free(tv);
    }
    return STORE_OK;
}

int pg_flowlog_get(struct store *st, const char *uin, const char *region, const char *id,
                   flowlog_cb cb, void *ud, struct serr *e)
{
    const char *p[3] = {uin ? uin : "", region ? region : "", id ? id : ""};
    PGresult *r = pg_read((struct store_pg *)st, "flow log",
                          "SELECT " PG_FL_COLS " FROM flowlogs WHERE id = $3 AND uin = $1 "
                          "AND region = $2",
                          3, p, e);
    int rc;
    if (!r)
        return STORE_ERR;
    if (PQntuples(r) == 0)
        rc = pg_err(e, STORE_NOTFOUND, "%s", p[2]);
    else
        rc = emit_rows(r, 0, cb, ud, e);
    PQclear(r);
    return rc;
}

/* ==== DescribeFlowLogs ==== */

/* the exact-match filters: store_util.h's, one list for both backends */
#define scalar_filters store_fl_filters
#define NSCALAR STORE_FL_NFILTERS

struct qb {
    struct buf sql;
    struct buf lists; /* JSON lists, NUL-separated */
    const char *vals[MAX_PARAMS];
    size_t list_off[MAX_PARAMS]; /* for vals that point into lists: offset + 1 */
    int n;
    char kind_text[12]; /* the ResourceType filter's kind as text */
};

/* Adds a parameter; returns its number. */
static int qb_param(struct qb *b, const char *v)
{
    if (b->n >= MAX_PARAMS)
        return -1;
    b->vals[b->n] = v;
    b->list_off[b->n] = 0;
    return ++b->n;
}

/* Adds a JSON list parameter built from strs (or, with pairs, the values of
 * pairs whose key is `key`). */
static int qb_list(struct qb *b, const char *const *strs, size_t n, const struct tag *pairs,
                   size_t npairs, const char *key)
{
    size_t start = b->lists.len;
    if (b->n >= MAX_PARAMS ||
        store_json_strings(&b->lists, strs, n, pairs, npairs, pairs ? key : NULL) != 0)
        return -1;
    b->vals[b->n] = NULL;
    b->list_off[b->n] = start + 1;
    return ++b->n;
}

/* The WHERE of q (after "WHERE f.uin = $1 AND f.region = $2"). */
static int where_sql(struct qb *b, const struct flowlog_query *q, int *only_vpc, int *none)
{
    int r = 0, nf = 0, vpc = 0;
    for (size_t i = 0; i < NSCALAR; i++) {
        const char *v = store_fl_filter_value(q, i, b->kind_text);
        int k;
        if (!v)
            continue;
        if ((k = qb_param(b, v)) < 0)
            return -1;
        r |= buf_printf(&b->sql, " AND f.%s = $%d", scalar_filters[i].col, k);
        nf++;
        vpc += i == 0;
    }
    if (q->ntag_keys_any) {
        int k = qb_list(b, q->tag_keys_any, q->ntag_keys_any, NULL, 0, NULL);
        if (k < 0)
            return -1;
        r |= buf_printf(&b->sql,
                        " AND f.id IN (SELECT t.flowlog_id FROM flowlog_tags t WHERE t.uin = $1"
                        " AND t.region = $2 AND t.key IN (SELECT jsonb_array_elements_text($%d::jsonb)))",
                        k);
        nf++;
    }
    for (size_t i = 0; i < q->ntag_pairs; i++) {
        const char *key = q->tag_pairs[i].key ? q->tag_pairs[i].key : "";
        int seen = 0, kk, kv;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(key, q->tag_pairs[j].key ? q->tag_pairs[j].key : "") == 0;
        if (seen)
            continue;
        if ((kk = qb_param(b, key)) < 0 ||
            (kv = qb_list(b, NULL, 0, q->tag_pairs, q->ntag_pairs, key)) < 0)
            return -1;
        r |= buf_printf(&b->sql,
                        " AND f.id IN (SELECT t.flowlog_id FROM flowlog_tags t WHERE t.uin = $1"
                        " AND t.region = $2 AND t.key = $%d"
                        " AND t.value IN (SELECT jsonb_array_elements_text($%d::jsonb)))",
                        kk, kv);
        nf++;
    }
    *only_vpc = nf == 1 && vpc == 1;
    *none = nf == 0;
    return r ? -1 : 0;
}

int pg_flowlog_query(struct store *st, const struct flowlog_query *q, flowlog_cb cb, void *ud,
                     uint64_t *total, struct serr *e)
{
    struct qb b;
    struct buf where;
    char lim[24], off[24];
    const char *dir = q->descending ? "DESC" : "ASC";
    const char *ord = q->order == ORDER_NAME ? "name" : "created_at";
    int only_vpc = 0, none = 0, rc = STORE_ERR, bad = 0;
    PGresult *r = NULL;

    memset(&b, 0, sizeof b);
    buf_init(&b.sql, 1u << 22);
    buf_init(&b.lists, 1u << 22);
    buf_init(&where, 0);
    qb_param(&b, q->uin ? q->uin : "");
    qb_param(&b, q->region ? q->region : "");
    if (q->limit == 0 || q->limit > INT64_MAX)
        qb_param(&b, NULL); /* LIMIT NULL: none */
    else {
        pg_i64(lim, sizeof lim, (int64_t)q->limit);
        qb_param(&b, lim);
    }
    pg_i64(off, sizeof off, q->offset > INT64_MAX ? INT64_MAX : (int64_t)q->offset);
    qb_param(&b, off);
    /* the filters, written once into b.sql, then moved to `where` */
    if (where_sql(&b, q, &only_vpc, &none) != 0 ||
        buf_append(&where, b.sql.data ? b.sql.data : "", b.sql.len + 1) != 0) {
        pg_err(e, STORE_ERR, "query filters too large or out of memory");
        goto done;
    }
    buf_reset(&b.sql);
    bad |= buf_printf(&b.sql,
                      "WITH p AS (SELECT " PG_FL_COLS " FROM flowlogs f WHERE f.uin = $1 AND "
                      "f.region = $2%s ORDER BY f.%s %s, f.id %s LIMIT $3::bigint OFFSET $4::bigint) "
                      "SELECT ",
                      where.data, ord, dir, dir);
    if (!total)
        bad |= buf_puts(&b.sql, "NULL::bigint");
    else if (none)
        bad |= buf_puts(&b.sql, "coalesce((SELECT n FROM region_usage WHERE uin = $1 AND region = $2), 0)");
    else if (only_vpc)
        bad |= buf_puts(&b.sql, "coalesce((SELECT n FROM vpc_usage WHERE uin = $1 AND region = $2 "
                                "AND vpc_id = $5), 0)");
    else
        bad |= buf_printf(&b.sql, "(SELECT count(*) FROM flowlogs f WHERE f.uin = $1 AND "
                                  "f.region = $2%s)",
                          where.data);
    bad |= buf_printf(&b.sql, ", p.* FROM (SELECT 1) one LEFT JOIN p ON true ORDER BY p.%s %s, "
                              "p.id %s",
                      ord, dir, dir);
    if (bad) {
        pg_err(e, STORE_ERR, "query too large or out of memory");
        goto done;
    }
    for (int i = 0; i < b.n; i++)
        if (b.list_off[i])
            b.vals[i] = b.lists.data + b.list_off[i] - 1;
    if (!(r = pg_read((struct store_pg *)st, "query", b.sql.data, b.n, b.vals, e)))
        goto done;
    if (total)
        *total = PQntuples(r) ? (uint64_t)pg_col_i64(r, 0, 0) : 0;
    rc = emit_rows(r, 1, cb, ud, e);
done:
    PQclear(r);
    buf_free(&b.sql);
    buf_free(&b.lists);
    buf_free(&where);
    return rc;
}

/* ==== writes ==== */

int pg_lock_region(PGconn *c, const char *uin, const char *region, struct serr *e)
{
    const char *p[2] = {uin, region};
    return pg_cmd(c, "lock", "SELECT 1 FROM region_usage WHERE uin = $1 AND region = $2 FOR UPDATE",
                  2, p, e);
}

struct update_job {
    const char *p[7];
    char period[16];
};

static int job_update(PGconn *c, void *arg, struct serr *e)
{
    struct update_job *j = arg;
    PGresult *r = pg_exec(c, "update",
                          "UPDATE flowlogs SET name = coalesce($4, name), "
                          "description = coalesce($5, description), "
                          "period = CASE WHEN $6::bigint > 0 THEN $6::bigint ELSE period END, "
                          "record_format = coalesce($7, record_format) "
                          "WHERE id = $3 AND uin = $1 AND region = $2",
                          7, j->p, e, NULL);
    int n;
    if (!r)
        return STORE_ERR;
    n = atoi(PQcmdTuples(r));
    PQclear(r);
    return n ? STORE_OK : pg_err(e, STORE_NOTFOUND, "%s", j->p[2]);
}

/* In doubt: the row has what was asked (so it committed, or asked nothing new). */
static int settle_update(PGconn *c, void *arg, struct serr *e)
{
    struct update_job *j = arg;
    PGresult *r = pg_exec(c, "settle",
                          "SELECT 1 FROM flowlogs WHERE id = $3 AND uin = $1 AND region = $2 "
                          "AND ($4::text IS NULL OR name = $4) AND ($5::text IS NULL OR "
                          "description = $5) AND ($6::bigint = 0 OR period = $6::bigint) "
                          "AND ($7::text IS NULL OR record_format = $7)",
                          7, j->p, e, NULL);
    int x = r ? PQntuples(r) == 1 : -1;
    PQclear(r);
    return x;
}

int pg_flowlog_update(struct store *st, const char *uin, const char *region, const char *id,
                      const struct flowlog_patch *p, struct serr *e)
{
    struct update_job j;
    snprintf(j.period, sizeof j.period, "%u", p ? p->period : 0);
    j.p[0] = uin ? uin : "";
    j.p[1] = region ? region : "";
    j.p[2] = id ? id : "";
    j.p[3] = p ? p->name : NULL;
    j.p[4] = p ? p->description : NULL;
    j.p[5] = j.period;
    j.p[6] = p ? p->record_format : NULL;
    return pg_tx((struct store_pg *)st, job_update, settle_update, &j, e);
}

struct target {
    const char *p[3]; /* uin, region, id */
};

static int job_delete(PGconn *c, void *arg, struct serr *e)
{
    struct target *t = arg;
    PGresult *r;
    int n;
    if (pg_lock_region(c, t->p[0], t->p[1], e) != STORE_OK)
        return STORE_ERR;
    /* the tags go with it (ON DELETE CASCADE); the counters by trigger */
    r = pg_exec(c, "delete", "DELETE FROM flowlogs WHERE id = $3 AND uin = $1 AND region = $2", 3,
                t->p, e, NULL);
    if (!r)
        return STORE_ERR;
    n = atoi(PQcmdTuples(r));
    PQclear(r);
    return n ? STORE_OK : pg_err(e, STORE_NOTFOUND, "%s", t->p[2]);
}

static int settle_delete(PGconn *c, void *arg, struct serr *e)
{
    struct target *t = arg;
    PGresult *r = pg_exec(c, "settle",
                          "SELECT 1 FROM flowlogs WHERE id = $3 AND uin = $1 AND region = $2", 3,
                          t->p, e, NULL);
    int x = r ? PQntuples(r) == 0 : -1;
    PQclear(r);
    return x;
}

int pg_flowlog_delete(struct store *st, const char *uin, const char *region, const char *id,
                      struct serr *e)
{
    struct target t = {{uin ? uin : "", region ? region : "", id ? id : ""}};
    return pg_tx((struct store_pg *)st, job_delete, settle_delete, &t, e);
}

struct enable_job {
    const char *const *ids;
    size_t n;
    const char *p[4]; /* uin, region, ids JSON, enable */
    struct buf json;
};

static int job_enable(PGconn *c, void *arg, struct serr *e)
{
    struct enable_job *j = arg;
    PGresult *r;
    int rc = STORE_OK;

    /* lock the rows in id order (two overlapping requests cannot deadlock),
     * then change them all or none */
    r = pg_exec(c, "enable",
                "SELECT id FROM flowlogs WHERE uin = $1 AND region = $2 AND id IN "
                "(SELECT jsonb_array_elements_text($3::jsonb)) ORDER BY id FOR UPDATE",
                3, j->p, e, NULL);
    if (!r)
        return STORE_ERR;
    for (size_t i = 0; i < j->n && rc == STORE_OK; i++) {
        const char *want = j->ids[i] ? j->ids[i] : "";
        int found = 0;
        for (int k = 0; k < PQntuples(r) && !found; k++)
            found = strcmp(PQgetvalue(r, k, 0), want) == 0;
        if (!found)
            rc = pg_err(e, STORE_NOTFOUND, "%s", want);
    }
    PQclear(r);
    if (rc != STORE_OK)
        return rc;
    return pg_cmd(c, "enable",
                  "UPDATE flowlogs SET enable = $4::int WHERE uin = $1 AND region = $2 AND id IN "
                  "(SELECT jsonb_array_elements_text($3::jsonb))",
                  4, j->p, e);
}

static int settle_enable(PGconn *c, void *arg, struct serr *e)
{
    struct enable_job *j = arg;
    PGresult *r = pg_exec(c, "settle",
                          "SELECT 1 FROM flowlogs WHERE uin = $1 AND region = $2 AND id IN "
                          "(SELECT jsonb_array_elements_text($3::jsonb)) AND enable <> $4::int",
                          4, j->p, e, NULL);
    int x = r ? PQntuples(r) == 0 : -1;
    PQclear(r);
    return x;
}

int pg_flowlog_set_enable(struct store *st, const char *uin, const char *region,
                          const char *const *ids, size_t n, int enable, struct serr *e)
{
    struct enable_job j = {.ids = ids, .n = n};
    int rc, bad;
    buf_init(&j.json, 1u << 22);
    bad = buf_append(&j.json, "[", 1);
    for (size_t i = 0; i < n && !bad; i++)
        bad = (i && buf_append(&j.json, ",", 1)) || jw_buf_str(&j.json, ids[i] ? ids[i] : "");
    if (bad || buf_append(&j.json, "]", 2) != 0) {
        buf_free(&j.json);
        return pg_err(e, STORE_ERR, "id list too long or out of memory");
    }
    j.p[0] = uin ? uin : "";
    j.p[1] = region ? region : "";
    j.p[2] = j.json.data;
    j.p[3] = enable ? "1" : "0";
    rc = pg_tx((struct store_pg *)st, job_enable, settle_enable, &j, e);
    buf_free(&j.json);
    return rc;
}

/* ==== tags ==== */

struct tags_job {
    const char *uin, *region, *id;
    const struct tag *set;
    size_t nset;
    const char *const *del;
    size_t ndel;
    char *result; /* the merged list as JSON, once computed */
};

static int job_tags(PGconn *c, void *arg, struct serr *e)
{
    struct tags_job *j = arg;
    const char *p[4] = {j->uin, j->region, j->id, NULL};
    struct store_kv out[MAX_TAG_KEYS + 1];
    size_t cnt = 0;
    json_t *old = NULL;
    struct buf b;
    PGresult *r;
    int rc = STORE_ERR;

    buf_init(&b, 1u << 22);
    r = pg_exec(c, "flow log",
                "SELECT tags FROM flowlogs WHERE id = $3 AND uin = $1 AND region = $2 FOR UPDATE",
                3, p, e, NULL);
    if (!r)
        goto done;
    if (PQntuples(r) == 0) {
        PQclear(r);
        rc = pg_err(e, STORE_NOTFOUND, "%s", j->id);
        goto done;
    }
    old = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    /* the old tags in order minus the deleted keys; then the upserts: a key
     * present keeps its place, a new one goes last (as the SQLite store) */
    for (size_t i = 0; old && i < json_array_size(old); i++) {
        json_t *t = json_array_get(old, i);
        const char *k = json_string_value(json_array_get(t, 0));
        const char *v = json_string_value(json_array_get(t, 1));
        if (k && store_tags_keep(out, &cnt, MAX_TAG_KEYS, k, v, j->del, j->ndel) != 0)
            goto quota;
    }
    if (store_tags_upsert(out, &cnt, MAX_TAG_KEYS, j->set, j->nset) != 0)
        goto quota;
    if (buf_append(&b, "[", 1) != 0)
        goto oom;
    for (size_t i = 0; i < cnt; i++)
        if ((i && buf_append(&b, ",", 1) != 0) || buf_append(&b, "[", 1) != 0 ||
            jw_buf_str(&b, out[i].k) != 0 || buf_append(&b, ",", 1) != 0 ||
            jw_buf_str(&b, out[i].v) != 0 || buf_append(&b, "]", 1) != 0)
            goto oom;
    if (buf_append(&b, "]", 2) != 0)
        goto oom;
    free(j->result);
    if (!(j->result = strdup(b.data)))
        goto oom;
    p[3] = j->result;
    if (pg_cmd(c, "tags", "UPDATE flowlogs SET tags = $4 WHERE id = $3 AND uin = $1 AND region = $2",
               4, p, e) != STORE_OK ||
        pg_cmd(c, "tags", "DELETE FROM flowlog_tags WHERE flowlog_id = $1", 1, p + 2, e) !=
            STORE_OK)
        goto done;
    {
        const char *q[4] = {j->id, j->result, j->uin, j->region};
        if (pg_cmd(c, "tags",
                   "INSERT INTO flowlog_tags(flowlog_id, key, value, pos, uin, region) "
                   "SELECT $1, x.e->>0, x.e->>1, x.o - 1, $3, $4 "
                   "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(e, o)",
                   4, q, e) != STORE_OK)
            goto done;
    }
    rc = STORE_OK;
    goto done;
quota:
    rc = pg_err(e, STORE_QUOTA, "%s would have more than %d tag keys", j->id, MAX_TAG_KEYS);
    goto done;
oom:
    rc = pg_err(e, STORE_ERR, "out of memory");
done:
    json_decref(old);
    buf_free(&b);
    return rc;
}

static int settle_tags(PGconn *c, void *arg, struct serr *e)
{
    struct tags_job *j = arg;
    const char *p[4] = {j->uin, j->region, j->id, j->result ? j->result : "[]"};
    PGresult *r = pg_exec(c, "settle",
                          "SELECT 1 FROM flowlogs WHERE id = $3 AND uin = $1 AND region = $2 "
                          "AND tags = $4",
                          4, p, e, NULL);
    int x = r ? PQntuples(r) == 1 : -1;
    PQclear(r);
    return x;
}

int pg_flowlog_tags_modify(struct store *st, const char *uin, const char *region, const char *id,
                           const struct tag *set, size_t nset, const char *const *del,
                           size_t ndel, struct serr *e)
{
    struct tags_job j = {uin ? uin : "", region ? region : "", id ? id : "", set, nset, del, ndel,
                         NULL};
    int rc = pg_tx((struct store_pg *)st, job_tags, settle_tags, &j, e);
    free(j.result);
    return rc;
}
