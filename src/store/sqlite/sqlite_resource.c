/* sqlite_resource.c: resources created through the API (VPCs, subnets,
 * ENIs, CCNs, NAT and direct connect gateways, task records): create,
 * delete with the rules that bind flow logs, ENI attach/detach, and the
 * Describe query.
 *
 * They share the resources table with the inventory import (origin 1 marks
 * a row created here). These operations are not on a hot path, so their
 * statements are prepared for the call rather than kept in the statement
 * table of sqlite_int.h; the unfiltered page (a pager's) is the exception. Every write is one job of the group-commit writer
 * (sqlite_writer.c): it runs in its own savepoint, so a failed job leaves
 * nothing behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "store/sqlite/sqlite_domain.h"

#define RES_COLS                                                                                 \
    "kind, region, id, vpc_id, subnet_id, instance_id, name, cidr, instance_type, edition, "     \
    "nat_version, has_dnat, created_at, attrs, addrs"

/* (RES_COLS_R, the same of a join's `r`, is in sqlite_int.h) */

/* ==== small helpers ==== */

/* Steps a one-row query: 1 with a row (the statement stays on it), 0 with
 * none, -1 on error (e set). */
static int step_row(struct conn *c, sqlite3_stmt *st, const char *what, struct serr *e)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    sq_fail(c->db, what, e);
    return -1;
}

/* Looks resource (kind, id) of (uin, region) up on the writer's
 * connection; fills vpc_id[32] and instance_id[80] (either may be NULL).
 * 1 found, 0 not, -1 on error (e set). */
static int res_row(struct conn *c, const char *uin, const char *region, enum res_kind kind,
                   const char *id, char *vpc_id, char *instance_id, struct serr *e)
{
    sqlite3_stmt *st = sq_prepare_once(c,
                            "SELECT vpc_id, instance_id FROM resources WHERE uin = ?1 "
                            "AND region = ?2 AND kind = ?3 AND id = ?4",
                            e);
    int r;
    if (!st)
        return -1;
    sq_bind_cstr(st, 1, uin);
    sq_bind_cstr(st, 2, region);
    sqlite3_bind_int(st, 3, (int)kind);
    sq_bind_cstr(st, 4, id);
    r = step_row(c, st, "resource", e);
    if (r == 1 && vpc_id)
        sq_col_str(st, 0, vpc_id, 32);
    if (r == 1 && instance_id)
        sq_col_str(st, 1, instance_id, 80);
    sqlite3_finalize(st);
    return r;
}

/* ==== create ==== */

struct create_job {
    const char *uin;
    const struct resource *r;
};

/* The kind a parent reference of an item of `kind` names in `instance_id`. */
static enum res_kind instance_parent(enum res_kind kind)
{
    return kind == RES_CKAFKA_TOPIC ? RES_CKAFKA : RES_INSTANCE;
}

static int job_resource_create(struct conn *c, void *arg, struct serr *e)
{
    struct create_job *j = arg;
    const struct resource *r = j->r;
    sqlite3_stmt *st = NULL;
    char parent_vpc[32];
    int rc = STORE_ERR, x;

    if (r->kind < RES_VPC || r->kind > RES_TASK)
        return sq_err(e, STORE_ERR, "unknown resource kind %d", (int)r->kind);
    if (!r->region[0] || !r->id[0])
        return sq_err(e, STORE_ERR, "region and id are required");

    if (!(st = sq_prepare_once(c, "SELECT 1 FROM accounts WHERE uin = ?1", e)))
        return STORE_ERR;
    sq_bind_cstr(st, 1, j->uin);
    x = step_row(c, st, "account", e);
    sqlite3_finalize(st);
    if (x <= 0)
        return x < 0 ? STORE_ERR : sq_err(e, STORE_NOTFOUND, "%s", j->uin);

    /* ids are unique across accounts, regions and kinds */
    if (!(st = sq_prepare_once(c, "SELECT 1 FROM resources WHERE id = ?1 LIMIT 1", e)))
        return STORE_ERR;
    sq_bind_str(st, 1, r->id, sizeof r->id);
    x = step_row(c, st, "id check", e);
    sqlite3_finalize(st);
    if (x != 0)
        return x < 0 ? STORE_ERR : sq_err(e, STORE_CONFLICT, "%.*s", (int)sizeof r->id, r->id);

    if (r->vpc_id[0]) {
        x = res_row(c, j->uin, r->region, RES_VPC, r->vpc_id, NULL, NULL, e);
        if (x <= 0)
            return x < 0 ? STORE_ERR
                         : sq_err(e, STORE_NOTFOUND, "%.*s", (int)sizeof r->vpc_id, r->vpc_id);
    }
    if (r->subnet_id[0]) {
        x = res_row(c, j->uin, r->region, RES_SUBNET, r->subnet_id, parent_vpc, NULL, e);
        if (x < 0)
            return STORE_ERR;
        if (x == 0)
            return sq_err(e, STORE_NOTFOUND, "%.*s", (int)sizeof r->subnet_id, r->subnet_id);
        if (r->vpc_id[0] && strncmp(parent_vpc, r->vpc_id, sizeof r->vpc_id) != 0)
            return sq_err(e, STORE_NOTFOUND, "%.*s in %.*s", (int)sizeof r->subnet_id,
                          r->subnet_id, (int)sizeof r->vpc_id, r->vpc_id);
    }
    if (r->instance_id[0]) {
        x = res_row(c, j->uin, r->region, instance_parent(r->kind), r->instance_id, NULL, NULL,
                    e);
        if (x <= 0)
            return x < 0 ? STORE_ERR
                         : sq_err(e, STORE_NOTFOUND, "%.*s", (int)sizeof r->instance_id,
                                  r->instance_id);
    }

    st = sq_prepare_once(c,
              "INSERT INTO resources(uin, region, kind, id, vpc_id, subnet_id, instance_id, name, "
              "cidr, instance_type, edition, nat_version, has_dnat, created_at, addrs, origin, "
              "attrs) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 1, "
              "?16)",
              e);
    if (!st)
        return STORE_ERR;
    sq_bind_resource(st, j->uin, r);
    sq_bind_cstr(st, 16, r->attrs ? r->attrs : "");
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    return rc;
}

int sq_resource_create(struct store *st, const char *uin, const struct resource *r,
                       struct serr *e)
{
    struct create_job j = {uin ? uin : "", r};
    return sq_write(st, job_resource_create, &j, e);
}

/* ==== delete ==== */

struct target {
    const char *uin, *region, *id;
    enum res_kind kind;
};

/* Names the first resource of one of `kinds` whose `col` is t->id (the
 * things still in a VPC or subnet) into e. STORE_INUSE if there is one,
 * STORE_OK if none, STORE_ERR. */
static int in_the_way(struct conn *c, const struct target *t, const char *col, const char *kinds,
                      struct serr *e)
{
    char sql[512];
    sqlite3_stmt *st;
    int x, rc;

    snprintf(sql, sizeof sql,
             "SELECT id, count(*) OVER () FROM resources WHERE uin = ?1 AND region = ?2 "
             "AND %s = ?3 AND kind IN (%s) ORDER BY kind, created_at, id LIMIT 1",
             col, kinds);
    if (!(st = sq_prepare_once(c, sql, e)))
        return STORE_ERR;
    sq_bind_cstr(st, 1, t->uin);
    sq_bind_cstr(st, 2, t->region);
    sq_bind_cstr(st, 3, t->id);
    x = step_row(c, st, "delete check", e);
    if (x < 0) {
        rc = STORE_ERR;
    } else if (x == 0) {
        rc = STORE_OK;
    } else {
        long long more = sqlite3_column_int64(st, 1) - 1;
        char tail[48] = "";
        if (more > 0)
            snprintf(tail, sizeof tail, " and %lld more", more);
        rc = sq_err(e, STORE_INUSE, "%s still contains %s%s", t->id,
                    (const char *)sqlite3_column_text(st, 0), tail);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The id of the flow log on t's resource into out[16] ("" if none).
 * 1, 0 or -1. The id alone names the resource: every ResourceType has its
 * own id prefix (and a kind that takes no flow log matches none). */
static int flowlog_of(struct conn *c, const struct target *t, char *out, size_t cap,
                      struct serr *e)
{
    sqlite3_stmt *st;
    int x;

    out[0] = '\0';
    st = sq_prepare_once(c,
              "SELECT id FROM flowlogs WHERE uin = ?1 AND region = ?2 AND resource_id = ?3",
              e);
    if (!st)
        return -1;
    sq_bind_cstr(st, 1, t->uin);
    sq_bind_cstr(st, 2, t->region);
    sq_bind_cstr(st, 3, t->id);
    x = step_row(c, st, "flow log lookup", e);
    if (x == 1)
        sq_col_str(st, 0, out, cap);
    sqlite3_finalize(st);
    return x;
}

/* Runs a statement with ?1 bound to `a` to completion. */
static int exec1(struct conn *c, const char *sql, const char *a, struct serr *e)
{
    sqlite3_stmt *st = sq_prepare_once(c, sql, e);
    int rc;
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, a);
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    return rc;
}

static int job_resource_delete(struct conn *c, void *arg, struct serr *e)
{
    struct target *t = arg;
    sqlite3_stmt *st;
    char attached[80] = "", fl[32];
    int x, rc;

    x = res_row(c, t->uin, t->region, t->kind, t->id, NULL, attached, e);
    if (x <= 0)
        return x < 0 ? STORE_ERR : sq_err(e, STORE_NOTFOUND, "%s", t->id);

    switch (t->kind) {
    case RES_VPC: {
        char kinds[64];
        snprintf(kinds, sizeof kinds, "%d, %d, %d, %d", RES_SUBNET, RES_ENI, RES_NAT, RES_DCG);
        if ((rc = in_the_way(c, t, "vpc_id", kinds, e)) != STORE_OK)
            return rc;
        break;
    }
    case RES_SUBNET: {
        char kinds[16];
        snprintf(kinds, sizeof kinds, "%d", RES_ENI);
        if ((rc = in_the_way(c, t, "subnet_id", kinds, e)) != STORE_OK)
            return rc;
        break;
    }
    case RES_ENI:
        if (attached[0])
            return sq_err(e, STORE_INUSE, "%s is attached to %s", t->id, attached);
        break;
    case RES_INSTANCE: {
        char kinds[16];
        snprintf(kinds, sizeof kinds, "%d", RES_ENI);
        if ((rc = in_the_way(c, t, "instance_id", kinds, e)) != STORE_OK)
            return rc;
        break;
    }
    default:
        break;
    }

    x = flowlog_of(c, t, fl, sizeof fl, e);
    if (x < 0)
        return STORE_ERR;
    if (x == 1 && (t->kind == RES_CCN || t->kind == RES_DCG))
        return sq_err(e, STORE_HAS_FLOWLOG, "%s has flow log %s", t->id, fl);
    if (x == 1) {
        /* the foreign key cascades too; this also covers connections without it */
        if (exec1(c, "DELETE FROM flowlog_tags WHERE flowlog_id = ?1", fl, e) != STORE_OK ||
            exec1(c, "DELETE FROM flowlogs WHERE id = ?1", fl, e) != STORE_OK)
            return STORE_ERR;
    }

    st = sq_prepare_once(c, "DELETE FROM resources WHERE uin = ?1 AND region = ?2 AND kind = ?3 AND id = ?4",
              e);
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, t->uin);
    sq_bind_cstr(st, 2, t->region);
    sqlite3_bind_int(st, 3, (int)t->kind);
    sq_bind_cstr(st, 4, t->id);
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    return rc;
}

int sq_resource_delete(struct store *st, const char *uin, const char *region, enum res_kind kind,
                       const char *id, struct serr *e)
{
    struct target t = {uin ? uin : "", region ? region : "", id ? id : "", kind};
    return sq_write(st, job_resource_delete, &t, e);
}

/* ==== attach / detach ==== */

struct attach_job {
    struct target t;       /* the ENI */
    const char *instance;  /* "" = detach */
};

static int job_resource_attach(struct conn *c, void *arg, struct serr *e)
{
    struct attach_job *j = arg;
    const struct target *t = &j->t;
    sqlite3_stmt *st;
    char current[80] = "";
    int x, rc;

    x = res_row(c, t->uin, t->region, RES_ENI, t->id, NULL, current, e);
    if (x <= 0)
        return x < 0 ? STORE_ERR : sq_err(e, STORE_NOTFOUND, "%s", t->id);

    if (j->instance[0]) {
        x = res_row(c, t->uin, t->region, RES_INSTANCE, j->instance, NULL, NULL, e);
        if (x <= 0)
            return x < 0 ? STORE_ERR : sq_err(e, STORE_NOTFOUND, "%s", j->instance);
        if (strcmp(current, j->instance) == 0)
            return STORE_OK; /* already so */
        if (current[0])
            return sq_err(e, STORE_INUSE, "%s is attached to %s", t->id, current);
    } else if (!current[0]) {
        return sq_err(e, STORE_INUSE, "%s is not attached", t->id);
    }

    st = sq_prepare_once(c,
              "UPDATE resources SET instance_id = ?5 WHERE uin = ?1 AND region = ?2 AND kind = ?3 "
              "AND id = ?4",
              e);
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, t->uin);
    sq_bind_cstr(st, 2, t->region);
    sqlite3_bind_int(st, 3, RES_ENI);
    sq_bind_cstr(st, 4, t->id);
    sq_bind_cstr(st, 5, j->instance);
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    return rc;
}

int sq_resource_attach(struct store *st, const char *uin, const char *region, const char *eni_id,
                       const char *instance_id, struct serr *e)
{
    struct attach_job j = {{uin ? uin : "", region ? region : "", eni_id ? eni_id : "", RES_ENI},
                           instance_id ? instance_id : ""};
    return sq_write(st, job_resource_attach, &j, e);
}

/* ==== query ==== */

#define RES_WHERE                                                                                \
    " FROM resources WHERE uin = ?1 AND region = ?2 AND kind = ?3"                               \
    " AND (?4 IS NULL OR id IN (SELECT value FROM json_each(?4)))"                               \
    " AND (?5 IS NULL OR vpc_id = ?5) AND (?6 IS NULL OR subnet_id = ?6)"                        \
    " AND (?7 IS NULL OR instance_id = ?7) AND (?8 IS NULL OR name = ?8)"

static void bind_query(sqlite3_stmt *st, const struct resource_query *q, const struct buf *ids)
{
    sq_bind_cstr(st, 1, q->uin ? q->uin : "");
    sq_bind_cstr(st, 2, q->region ? q->region : "");
    sqlite3_bind_int(st, 3, (int)q->kind);
    if (q->nids)
        sqlite3_bind_text(st, 4, ids->data, (int)ids->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    sq_bind_cstr(st, 5, q->vpc_id);
    sq_bind_cstr(st, 6, q->subnet_id);
    sq_bind_cstr(st, 7, q->instance_id);
    sq_bind_cstr(st, 8, q->name);
}

/* Reads the row a page statement is on (RES_COLS or RES_COLS_R) into r;
 * r->attrs is valid until the statement moves. */
static void read_row(sqlite3_stmt *page, struct resource *r)
{
    memset(r, 0, sizeof *r);
    r->kind = (enum res_kind)sqlite3_column_int(page, 0);
    sq_col_str(page, 1, r->region, sizeof r->region);
    sq_col_str(page, 2, r->id, sizeof r->id);
    sq_col_str(page, 3, r->vpc_id, sizeof r->vpc_id);
    sq_col_str(page, 4, r->subnet_id, sizeof r->subnet_id);
    sq_col_str(page, 5, r->instance_id, sizeof r->instance_id);
    sq_col_str(page, 6, r->name, sizeof r->name);
    sq_col_str(page, 7, r->cidr, sizeof r->cidr);
    sq_col_str(page, 8, r->instance_type, sizeof r->instance_type);
    sq_col_str(page, 9, r->edition, sizeof r->edition);
    r->nat_version = sqlite3_column_int(page, 10);
    r->has_dnat = sqlite3_column_int(page, 11);
    r->created_at = sqlite3_column_int64(page, 12);
    r->attrs = (const char *)sqlite3_column_text(page, 13);
    if (!r->attrs)
        r->attrs = "";
    sq_col_str(page, 14, r->addrs, sizeof r->addrs);
}

static void bind_paging(sqlite3_stmt *page, const struct resource_query *q, uint64_t skip)
{
    sqlite3_bind_int64(page, 9, q->limit == 0 || q->limit > INT64_MAX ? -1 : (int64_t)q->limit);
    sqlite3_bind_int64(page, 10, skip > INT64_MAX ? INT64_MAX : (int64_t)skip);
}

/* A tenant's whole inventory of a kind, paged (no filter), on c's read
 * transaction. TotalCount is the triggers' count (resource_usage), read
 * with its generation; the page's keys come from the index
 * resources_created, whose entries an Offset skips (a row read per skipped
 * entry made Offset 45,000 of 50,000 ENIs cost 65 ms instead of 5), and
 * when an earlier page of the same generation ended at or before Offset
 * (sqlite_pagekeys.h), the page seeks past that page's last key and skips
 * only the rest: a pager's page N+1 then starts where page N ended. */
static int plain_query(struct store *st, struct conn *c, const struct resource_query *q,
                       resource_cb cb, void *ud, uint64_t *total, struct serr *e)
{
    const char *uin = q->uin ? q->uin : "", *region = q->region ? q->region : "";
    sqlite3_stmt *use, *page;
    struct resource r;
    int64_t gen = 0, key_at = 0, last_at = 0;
    uint64_t n = 0, at = 0, got = 0;
    char key_id[160], last_id[160] = "";
    int step, seek;

    if (!(use = sq_stmt(c, ST_R_RES_USAGE, e)))
        return STORE_ERR;
    sq_bind_cstr(use, 1, uin);
    sq_bind_cstr(use, 2, region);
    sqlite3_bind_int(use, 3, (int)q->kind);
    step = sqlite3_step(use);
    if (step == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(use, 0);
        n = v > 0 ? (uint64_t)v : 0;
        gen = sqlite3_column_int64(use, 1);
    }
    sqlite3_reset(use);
    sqlite3_clear_bindings(use);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return sq_fail(c->db, "count", e);
    if (total)
        *total = n;
    if (q->offset >= n)
        return STORE_OK; /* past the end (or none): an empty page, no scan */

    seek = pk_find(sq_pages_of(st), uin, region, (int)q->kind, gen, q->offset, &at, &key_at,
                   key_id, sizeof key_id);
    if (!(page = sq_stmt(c, seek ? ST_R_RES_PAGE_AFTER : ST_R_RES_PAGE, e)))
        return STORE_ERR;
    sq_bind_cstr(page, 1, uin);
    sq_bind_cstr(page, 2, region);
    sqlite3_bind_int(page, 3, (int)q->kind);
    if (seek) {
        sqlite3_bind_int64(page, 4, key_at);
        sq_bind_cstr(page, 5, key_id);
    }
    bind_paging(page, q, q->offset - at);
    while ((step = sqlite3_step(page)) == SQLITE_ROW) {
        read_row(page, &r);
        got++;
        last_at = r.created_at;
        memcpy(last_id, r.id, sizeof last_id);
        if (cb)
            cb(ud, &r);
    }
    sqlite3_reset(page);
    sqlite3_clear_bindings(page);
    if (step != SQLITE_DONE)
        return sq_fail(c->db, "query", e);
    if (got)
        pk_put(sq_pages_of(st), uin, region, (int)q->kind, gen, q->offset + got, last_at, last_id);
    return STORE_OK;
}

int sq_resource_query(struct store *st, const struct resource_query *q, resource_cb cb, void *ud,
                      uint64_t *total, struct serr *e)
{
    struct conn *c = NULL;
    sqlite3_stmt *count = NULL, *page = NULL;
    struct buf ids;
    struct resource r;
    int rc = STORE_ERR, step;

    if (sq_read_begin(st, &c, e) != STORE_OK)
        return STORE_ERR;
    buf_init(&ids, 1u << 20);
    /* count and page see one snapshot (sq_read_begin) */
    if (!(q->nids || q->vpc_id || q->subnet_id || q->instance_id || q->name)) {
        rc = plain_query(st, c, q, cb, ud, total, e);
        goto fail;
    }
    if (q->nids) {
        int bad = buf_append(&ids, "[", 1);
        for (size_t i = 0; i < q->nids && !bad; i++)
            bad = (i && buf_append(&ids, ",", 1)) || jw_buf_str(&ids, q->ids[i] ? q->ids[i] : "");
        if (bad || buf_append(&ids, "]", 1) != 0) {
            sq_err(e, STORE_ERR, "id list too long or out of memory");
            goto fail;
        }
    }
    if (!(count = sq_prepare_once(c, "SELECT count(*)" RES_WHERE, e)) ||
        !(page = sq_prepare_once(c,
                                 "SELECT " RES_COLS RES_WHERE
                                 " ORDER BY created_at, id LIMIT ?9 OFFSET ?10",
                                 e)))
        goto fail;
    if (total) {
        bind_query(count, q, &ids);
        if (sqlite3_step(count) != SQLITE_ROW) {
            sq_fail(c->db, "count", e);
            goto fail;
        }
        *total = (uint64_t)sqlite3_column_int64(count, 0);
    }
    bind_query(page, q, &ids);
    bind_paging(page, q, q->offset);
    while ((step = sqlite3_step(page)) == SQLITE_ROW) {
        read_row(page, &r);
        if (cb)
            cb(ud, &r);
    }
    if (step != SQLITE_DONE) {
        sq_fail(c->db, "query", e);
        goto fail;
    }
    rc = STORE_OK;
fail:
    sqlite3_finalize(count);
    sqlite3_finalize(page);
    buf_free(&ids);
    sq_read_end(st, c);
    return rc;
}
