/* pg_resource.c: resources on PostgreSQL: the inventory import, resources
 * created through the API (create, delete with the rules that bind flow
 * logs, ENI attach/detach), get and the Describe query. The same rules as
 * store/sqlite/sqlite_resource.c; each write is one transaction (pg_tx). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "store/pg/pg_int.h"

#define RES_COLS                                                                                 \
    "kind, region, id, vpc_id, subnet_id, instance_id, name, cidr, instance_type, edition, "     \
    "nat_version, has_dnat, created_at, attrs, addrs, brokers"

/* The text parameters of a resource row: $1 uin .. $14 created_at, $15
 * addrs, $16 attrs. */
struct res_params {
    const char *p[16];
    char kind[8], nat[16], dnat[16], created[24];
};

static void res_bind(struct res_params *rp, const char *uin, const struct resource *r)
{
    snprintf(rp->kind, sizeof rp->kind, "%d", (int)r->kind);
    snprintf(rp->nat, sizeof rp->nat, "%d", r->nat_version);
    snprintf(rp->dnat, sizeof rp->dnat, "%d", r->has_dnat);
    pg_i64(rp->created, sizeof rp->created, r->created_at);
    rp->p[0] = uin;
    rp->p[1] = r->region;
    rp->p[2] = rp->kind;
    rp->p[3] = r->id;
    rp->p[4] = r->vpc_id;
    rp->p[5] = r->subnet_id;
    rp->p[6] = r->instance_id;
    rp->p[7] = r->name;
    rp->p[8] = r->cidr;
    rp->p[9] = r->instance_type;
    rp->p[10] = r->edition;
    rp->p[11] = rp->nat;
    rp->p[12] = rp->dnat;
    rp->p[13] = rp->created;
    rp->p[14] = r->addrs;
    rp->p[15] = r->attrs ? r->attrs : "";
}

static int account_exists(PGconn *c, const char *uin, struct serr *e)
{
    const char *p[1] = {uin};
    PGresult *r = pg_exec(c, "account", "SELECT 1 FROM accounts WHERE uin = $1 FOR KEY SHARE", 1,
                          p, e, NULL);
    int x;
    if (!r)
        return STORE_ERR;
    x = PQntuples(r);
    PQclear(r);
    return x ? STORE_OK : pg_err(e, STORE_NOTFOUND, "%s", uin);
}

/* ==== inventory ==== */

struct inventory_job {
    const char *uin;
    const struct resource *items;
    size_t n;
};

static int job_inventory(PGconn *c, void *arg, struct serr *e)
{
    struct inventory_job *inv = arg;
    int rc = account_exists(c, inv->uin, e);
    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; i < inv->n; i++) {
        const struct resource *r = &inv->items[i];
        struct res_params rp;
        if (r->kind < RES_VPC || r->kind > RES_CKAFKA_TOPIC)
            return pg_err(e, STORE_ERR, "item %zu: unknown resource kind %d", i, (int)r->kind);
        if (!r->region[0] || !r->id[0])
            return pg_err(e, STORE_ERR, "item %zu: region and id are required", i);
        res_bind(&rp, inv->uin, r);
        rp.p[15] = r->brokers; /* the import's 16th parameter (attrs is the API's) */
        if (pg_cmd(c, "inventory",
                   "INSERT INTO resources(uin, region, kind, id, vpc_id, subnet_id, instance_id, "
                   "name, cidr, instance_type, edition, nat_version, has_dnat, created_at, addrs, "
                   "brokers) "
                   "VALUES($1, $2, $3::int, $4, $5, $6, $7, $8, $9, $10, $11, $12::int, $13::int, "
                   "$14::bigint, $15, $16) ON CONFLICT (uin, region, kind, id) DO UPDATE SET "
                   "vpc_id = excluded.vpc_id, subnet_id = excluded.subnet_id, "
                   "instance_id = excluded.instance_id, name = excluded.name, "
                   "cidr = excluded.cidr, instance_type = excluded.instance_type, "
                   "edition = excluded.edition, nat_version = excluded.nat_version, "
                   "has_dnat = excluded.has_dnat, addrs = excluded.addrs, "
                   "brokers = excluded.brokers",
                   16, rp.p, e) != STORE_OK ||
            (r->host_device[0] && pg_binding_put(c, inv->uin, r, e) != STORE_OK)) {
            char msg[sizeof e->msg];
            memcpy(msg, e->msg, sizeof msg);
            return pg_err(e, STORE_ERR, "item %zu (%s): %s", i, r->id, msg);
        }
    }
    return STORE_OK;
}

/* An import is idempotent: in doubt, run it again. */
static int settle_again(PGconn *c, void *arg, struct serr *e)
{
    (void)c;
    (void)arg;
    (void)e;
    return 0;
}

int pg_inventory_import(struct store *st, const char *uin, const struct resource *items,
                        size_t n, struct serr *e)
{
    struct inventory_job inv = {uin ? uin : "", items, n};
    return pg_tx((struct store_pg *)st, job_inventory, settle_again, &inv, e);
}

/* ==== get ==== */

static void row_to_res(const PGresult *r, int i, struct resource *out, int with_attrs)
{
    memset(out, 0, sizeof *out);
    out->kind = (enum res_kind)pg_col_i64(r, i, 0);
    pg_col(r, i, 1, out->region, sizeof out->region);
    pg_col(r, i, 2, out->id, sizeof out->id);
    pg_col(r, i, 3, out->vpc_id, sizeof out->vpc_id);
    pg_col(r, i, 4, out->subnet_id, sizeof out->subnet_id);
    pg_col(r, i, 5, out->instance_id, sizeof out->instance_id);
    pg_col(r, i, 6, out->name, sizeof out->name);
    pg_col(r, i, 7, out->cidr, sizeof out->cidr);
    pg_col(r, i, 8, out->instance_type, sizeof out->instance_type);
    pg_col(r, i, 9, out->edition, sizeof out->edition);
    out->nat_version = (int)pg_col_i64(r, i, 10);
    out->has_dnat = (int)pg_col_i64(r, i, 11);
    out->created_at = pg_col_i64(r, i, 12);
    if (with_attrs)
        out->attrs = PQgetisnull(r, i, 13) ? "" : PQgetvalue(r, i, 13);
    pg_col(r, i, 14, out->addrs, sizeof out->addrs);
    pg_col(r, i, 15, out->brokers, sizeof out->brokers);
}

int pg_resource_get(struct store *st, const char *uin, const char *region, enum res_kind kind,
                    const char *id, struct resource *out, struct serr *e)
{
    char k[8];
    const char *p[4] = {uin ? uin : "", region ? region : "", k, id ? id : ""};
    PGresult *r;
    int rc;
    snprintf(k, sizeof k, "%d", (int)kind);
    r = pg_read((struct store_pg *)st, "resource",
                "SELECT " RES_COLS " FROM resources WHERE uin = $1 AND region = $2 "
                "AND kind = $3::int AND id = $4",
                4, p, e);
    if (!r)
        return STORE_ERR;
    if (PQntuples(r) == 1) {
        const char *a;
        row_to_res(r, 0, out, 0);
        a = out->attrs;
        (void)a;
        out->attrs = NULL; /* resource_get leaves attrs alone (store.h) */
        rc = STORE_OK;
    } else {
        rc = pg_err(e, STORE_NOTFOUND, "%s", p[3]);
    }
    PQclear(r);
    return rc;
}

/* ==== create ==== */

/* 1 found (vpc_id[32] / instance_id[80] filled if given), 0 not, -1 error. */
static int res_row(PGconn *c, const char *uin, const char *region, enum res_kind kind,
                   const char *id, char *vpc_id, char *instance_id, int lock, struct serr *e)
{
    char k[8];
    const char *p[4] = {uin, region, k, id};
    PGresult *r;
    int x;
    snprintf(k, sizeof k, "%d", (int)kind);
    r = pg_exec(c, "resource",
                lock ? "SELECT vpc_id, instance_id FROM resources WHERE uin = $1 AND region = $2 "
                       "AND kind = $3::int AND id = $4 FOR UPDATE"
                     : "SELECT vpc_id, instance_id FROM resources WHERE uin = $1 AND region = $2 "
                       "AND kind = $3::int AND id = $4 FOR SHARE",
                4, p, e, NULL);
    if (!r)
        return -1;
    x = PQntuples(r) == 1;
    if (x && vpc_id)
        pg_col(r, 0, 0, vpc_id, 32);
    if (x && instance_id)
        pg_col(r, 0, 1, instance_id, 80);
    PQclear(r);
    return x;
}

struct create_job {
    const char *uin;
    const struct resource *r;
};

static enum res_kind instance_parent(enum res_kind kind)
{
    return kind == RES_CKAFKA_TOPIC ? RES_CKAFKA : RES_INSTANCE;
}

static int job_resource_create(PGconn *c, void *arg, struct serr *e)
{
    struct create_job *j = arg;
    const struct resource *r = j->r;
    struct res_params rp;
    char parent_vpc[32];
    const char *p[1] = {r->id};
    PGresult *res;
    int x, rc;

    if (r->kind < RES_VPC || r->kind > RES_TASK)
        return pg_err(e, STORE_ERR, "unknown resource kind %d", (int)r->kind);
    if (!r->region[0] || !r->id[0])
        return pg_err(e, STORE_ERR, "region and id are required");
    if ((rc = account_exists(c, j->uin, e)) != STORE_OK)
        return rc;
    /* ids are unique across accounts, regions and kinds (a transaction-scoped
     * advisory lock on the id makes two nodes' check-then-insert exact) */
    if (pg_cmd(c, "id lock", "SELECT pg_advisory_xact_lock(hashtext('flowlogd resource ' || $1))",
               1, p, e) != STORE_OK)
        return STORE_ERR;
    if (!(res = pg_exec(c, "id check", "SELECT 1 FROM resources WHERE id = $1 LIMIT 1", 1, p, e,
                        NULL)))
        return STORE_ERR;
    x = PQntuples(res);
    PQclear(res);
    if (x)
        return pg_err(e, STORE_CONFLICT, "%.*s", (int)sizeof r->id, r->id);
    if (r->vpc_id[0]) {
        x = res_row(c, j->uin, r->region, RES_VPC, r->vpc_id, NULL, NULL, 0, e);
        if (x <= 0)
            return x < 0 ? STORE_ERR
                         : pg_err(e, STORE_NOTFOUND, "%.*s", (int)sizeof r->vpc_id, r->vpc_id);
    }
    if (r->subnet_id[0]) {
        x = res_row(c, j->uin, r->region, RES_SUBNET, r->subnet_id, parent_vpc, NULL, 0, e);
        if (x < 0)
            return STORE_ERR;
        if (x == 0)
            return pg_err(e, STORE_NOTFOUND, "%.*s", (int)sizeof r->subnet_id, r->subnet_id);
        if (r->vpc_id[0] && strncmp(parent_vpc, r->vpc_id, sizeof r->vpc_id) != 0)
            return pg_err(e, STORE_NOTFOUND, "%.*s in %.*s", (int)sizeof r->subnet_id,
                          r->subnet_id, (int)sizeof r->vpc_id, r->vpc_id);
    }
    if (r->instance_id[0]) {
        x = res_row(c, j->uin, r->region, instance_parent(r->kind), r->instance_id, NULL, NULL, 0,
                    e);
        if (x <= 0)
            return x < 0 ? STORE_ERR
                         : pg_err(e, STORE_NOTFOUND, "%.*s", (int)sizeof r->instance_id,
                                  r->instance_id);
    }
    res_bind(&rp, j->uin, r);
    return pg_cmd(c, "create",
                  "INSERT INTO resources(uin, region, kind, id, vpc_id, subnet_id, instance_id, "
                  "name, cidr, instance_type, edition, nat_version, has_dnat, created_at, addrs, "
                  "origin, attrs) VALUES($1, $2, $3::int, $4, $5, $6, $7, $8, $9, $10, $11, "
                  "$12::int, $13::int, $14::bigint, $15, 1, $16)",
                  16, rp.p, e);
}

static int settle_resource_create(PGconn *c, void *arg, struct serr *e)
{
    struct create_job *j = arg;
    return res_row(c, j->uin, j->r->region, j->r->kind, j->r->id, NULL, NULL, 0, e);
}

int pg_resource_create(struct store *st, const char *uin, const struct resource *r,
                       struct serr *e)
{
    struct create_job j = {uin ? uin : "", r};
    return pg_tx((struct store_pg *)st, job_resource_create, settle_resource_create, &j, e);
}

/* ==== delete ==== */

struct target {
    const char *uin, *region, *id;
    enum res_kind kind;
};

static int in_the_way(PGconn *c, const struct target *t, const char *col, const char *kinds,
                      struct serr *e)
{
    char sql[512];
    const char *p[3] = {t->uin, t->region, t->id};
    PGresult *r;
    int rc = STORE_OK;
    snprintf(sql, sizeof sql,
             "SELECT id, count(*) OVER () FROM resources WHERE uin = $1 AND region = $2 "
             "AND %s = $3 AND kind IN (%s) ORDER BY kind, created_at, id LIMIT 1",
             col, kinds);
    if (!(r = pg_exec(c, "delete check", sql, 3, p, e, NULL)))
        return STORE_ERR;
    if (PQntuples(r) == 1) {
        long long more = pg_col_i64(r, 0, 1) - 1;
        char tail[48] = "";
        if (more > 0)
            snprintf(tail, sizeof tail, " and %lld more", more);
        rc = pg_err(e, STORE_INUSE, "%s still contains %s%s", t->id, PQgetvalue(r, 0, 0), tail);
    }
    PQclear(r);
    return rc;
}

static int job_resource_delete(PGconn *c, void *arg, struct serr *e)
{
    struct target *t = arg;
    char attached[80] = "", kinds[64], kbuf[8];
    int x, rc;

    /* the tenant's counter row first (the lock order of every write that
     * may remove a flow log: any kind, so the store needs no list of the
     * kinds that take one), then the resource */
    if (pg_lock_region(c, t->uin, t->region, e) != STORE_OK)
        return STORE_ERR;
    x = res_row(c, t->uin, t->region, t->kind, t->id, NULL, attached, 1, e);
    if (x <= 0)
        return x < 0 ? STORE_ERR : pg_err(e, STORE_NOTFOUND, "%s", t->id);
    switch (t->kind) {
    case RES_VPC:
        snprintf(kinds, sizeof kinds, "%d, %d, %d, %d", RES_SUBNET, RES_ENI, RES_NAT, RES_DCG);
        if ((rc = in_the_way(c, t, "vpc_id", kinds, e)) != STORE_OK)
            return rc;
        break;
    case RES_SUBNET:
        snprintf(kinds, sizeof kinds, "%d", RES_ENI);
        if ((rc = in_the_way(c, t, "subnet_id", kinds, e)) != STORE_OK)
            return rc;
        break;
    case RES_ENI:
        if (attached[0])
            return pg_err(e, STORE_INUSE, "%s is attached to %s", t->id, attached);
        break;
    case RES_INSTANCE:
        snprintf(kinds, sizeof kinds, "%d", RES_ENI);
        if ((rc = in_the_way(c, t, "instance_id", kinds, e)) != STORE_OK)
            return rc;
        break;
    default:
        break;
    }
    /* the id alone names the resource: every ResourceType has its own id
     * prefix (and a kind that takes no flow log matches none) */
    {
        const char *p[3] = {t->uin, t->region, t->id};
        PGresult *r = pg_exec(c, "flow log lookup",
                              "SELECT id FROM flowlogs WHERE uin = $1 AND region = $2 AND "
                              "resource_id = $3",
                              3, p, e, NULL);
        if (!r)
            return STORE_ERR;
        if (PQntuples(r) == 1) {
            char fl[32];
            const char *q[1] = {fl};
            pg_col(r, 0, 0, fl, sizeof fl);
            PQclear(r);
            if (t->kind == RES_CCN || t->kind == RES_DCG)
                return pg_err(e, STORE_HAS_FLOWLOG, "%s has flow log %s", t->id, fl);
            if (pg_cmd(c, "delete", "DELETE FROM flowlogs WHERE id = $1", 1, q, e) != STORE_OK)
                return STORE_ERR;
        } else {
            PQclear(r);
        }
    }
    snprintf(kbuf, sizeof kbuf, "%d", (int)t->kind);
    {
        const char *p[4] = {t->uin, t->region, kbuf, t->id};
        return pg_cmd(c, "delete",
                      "DELETE FROM resources WHERE uin = $1 AND region = $2 AND kind = $3::int "
                      "AND id = $4",
                      4, p, e);
    }
}

static int settle_resource_delete(PGconn *c, void *arg, struct serr *e)
{
    struct target *t = arg;
    int x = res_row(c, t->uin, t->region, t->kind, t->id, NULL, NULL, 0, e);
    return x < 0 ? -1 : !x;
}

int pg_resource_delete(struct store *st, const char *uin, const char *region, enum res_kind kind,
                       const char *id, struct serr *e)
{
    struct target t = {uin ? uin : "", region ? region : "", id ? id : "", kind};
    return pg_tx((struct store_pg *)st, job_resource_delete, settle_resource_delete, &t, e);
}

/* ==== attach / detach ==== */

struct attach_job {
    struct target t;
    const char *instance;
};

static int job_attach(PGconn *c, void *arg, struct serr *e)
{
    struct attach_job *j = arg;
    const struct target *t = &j->t;
    char current[80] = "", kbuf[8];
    int x;

    x = res_row(c, t->uin, t->region, RES_ENI, t->id, NULL, current, 1, e);
    if (x <= 0)
        return x < 0 ? STORE_ERR : pg_err(e, STORE_NOTFOUND, "%s", t->id);
    if (j->instance[0]) {
        x = res_row(c, t->uin, t->region, RES_INSTANCE, j->instance, NULL, NULL, 0, e);
        if (x <= 0)
            return x < 0 ? STORE_ERR : pg_err(e, STORE_NOTFOUND, "%s", j->instance);
        if (strcmp(current, j->instance) == 0)
            return STORE_OK;
        if (current[0])
            return pg_err(e, STORE_INUSE, "%s is attached to %s", t->id, current);
    } else if (!current[0]) {
        return pg_err(e, STORE_INUSE, "%s is not attached", t->id);
    }
    snprintf(kbuf, sizeof kbuf, "%d", RES_ENI);
    {
        const char *p[5] = {t->uin, t->region, kbuf, t->id, j->instance};
        return pg_cmd(c, "attach",
                      "UPDATE resources SET instance_id = $5 WHERE uin = $1 AND region = $2 "
                      "AND kind = $3::int AND id = $4",
                      5, p, e);
    }
}

static int settle_attach(PGconn *c, void *arg, struct serr *e)
{
    struct attach_job *j = arg;
    char current[80] = "";
    int x = res_row(c, j->t.uin, j->t.region, RES_ENI, j->t.id, NULL, current, 0, e);
    if (x < 0)
        return -1;
    return x == 1 && strcmp(current, j->instance) == 0;
}

int pg_resource_attach(struct store *st, const char *uin, const char *region, const char *eni_id,
                       const char *instance_id, struct serr *e)
{
    struct attach_job j = {{uin ? uin : "", region ? region : "", eni_id ? eni_id : "", RES_ENI},
                           instance_id ? instance_id : ""};
    return pg_tx((struct store_pg *)st, job_attach, settle_attach, &j, e);
}

/* ==== query ==== */

int pg_resource_query(struct store *st, const struct resource_query *q, resource_cb cb, void *ud,
                      uint64_t *total, struct serr *e)
{
    struct buf ids;
    char kind[8], lim[24], off[24];
    const char *p[10];
    PGresult *r;
    int rc = STORE_ERR;

    buf_init(&ids, 1u << 22);
    if (q->nids) {
        int bad = buf_append(&ids, "[", 1);
        for (size_t i = 0; i < q->nids && !bad; i++)
            bad = (i && buf_append(&ids, ",", 1)) || jw_buf_str(&ids, q->ids[i] ? q->ids[i] : "");
        if (bad || buf_append(&ids, "]", 2) != 0) {
            buf_free(&ids);
            return pg_err(e, STORE_ERR, "id list too long or out of memory");
        }
    }
    snprintf(kind, sizeof kind, "%d", (int)q->kind);
    pg_i64(off, sizeof off, q->offset > INT64_MAX ? INT64_MAX : (int64_t)q->offset);
    pg_i64(lim, sizeof lim, (int64_t)q->limit);
    p[0] = q->uin ? q->uin : "";
    p[1] = q->region ? q->region : "";
    p[2] = kind;
    p[3] = q->nids ? ids.data : NULL;
    p[4] = q->vpc_id;
    p[5] = q->subnet_id;
    p[6] = q->instance_id;
    p[7] = q->name;
    p[8] = q->limit == 0 || q->limit > INT64_MAX ? NULL : lim;
    p[9] = off;
    /* one statement: the count and the page see one snapshot */
    r = pg_read((struct store_pg *)st, "query",
                "WITH m AS (SELECT " RES_COLS " FROM resources WHERE uin = $1 AND region = $2 "
                "AND kind = $3::int AND ($4::jsonb IS NULL OR id IN "
                "(SELECT jsonb_array_elements_text($4::jsonb))) "
                "AND ($5::text IS NULL OR vpc_id = $5) AND ($6::text IS NULL OR subnet_id = $6) "
                "AND ($7::text IS NULL OR instance_id = $7) AND ($8::text IS NULL OR name = $8)), "
                "p AS (SELECT * FROM m ORDER BY created_at, id LIMIT $9::bigint OFFSET $10::bigint) "
                "SELECT p.*, (SELECT count(*) FROM m) FROM (SELECT 1) one LEFT JOIN p ON true "
                "ORDER BY p.created_at, p.id",
                10, p, e);
    buf_free(&ids);
    if (!r)
        return STORE_ERR;
    if (total)
        *total = PQntuples(r) ? (uint64_t)pg_col_i64(r, 0, 16) : 0;
    for (int i = 0; i < PQntuples(r); i++) {
        struct resource res;
        if (PQgetisnull(r, i, 0))
            continue;
        row_to_res(r, i, &res, 1);
        if (cb)
            cb(ud, &res);
    }
    rc = STORE_OK;
    PQclear(r);
    return rc;
}

/* ==== the state export (every row, one REPEATABLE READ snapshot) ==== */

int pg_state_dump(struct store *st, const struct state_sink *sink, struct serr *e)
{
    struct store_pg *s = (struct store_pg *)st;
    struct pgconn *pc = pg_get(s, e);
    PGresult *r = NULL;
    int rc = STORE_ERR;

    if (!pc)
        return STORE_ERR;
    if (pg_cmd(pc->c, "dump", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, e) !=
        STORE_OK)
        goto done;
    if (!(r = pg_exec(pc->c, "dump accounts",
                      "SELECT app_id, uin, flowlog_quota, rate_limit FROM accounts ORDER BY uin",
                      0, NULL, e, NULL)))
        goto done;
    for (int i = 0; i < PQntuples(r); i++) {
        struct account a = {0};
        a.app_id = (uint64_t)pg_col_i64(r, i, 0);
        pg_col(r, i, 1, a.uin, sizeof a.uin);
        a.flowlog_quota = (uint32_t)pg_col_i64(r, i, 2);
        a.rate_limit = (uint32_t)pg_col_i64(r, i, 3);
        sink->account(sink->ud, &a);
    }
    PQclear(r);
    if (!(r = pg_exec(pc->c, "dump keys",
                      "SELECT secret_id, secret_key, uin, actions, token, expires FROM keys "
                      "ORDER BY uin, secret_id",
                      0, NULL, e, NULL)))
        goto done;
    for (int i = 0; i < PQntuples(r); i++) {
        struct key_info k;
        memset(&k, 0, sizeof k);
        pg_col(r, i, 0, k.secret_id, sizeof k.secret_id);
        pg_col(r, i, 1, k.secret_key, sizeof k.secret_key);
        pg_col(r, i, 2, k.account.uin, sizeof k.account.uin);
        pg_col(r, i, 3, k.actions, sizeof k.actions);
        pg_col(r, i, 4, k.token, sizeof k.token);
        k.expires = pg_col_i64(r, i, 5);
        sink->key(sink->ud, &k);
    }
    PQclear(r);
    if (!(r = pg_exec(pc->c, "dump resources",
                      "SELECT r.kind, r.region, r.id, r.vpc_id, r.subnet_id, r.instance_id, "
                      "r.name, r.cidr, r.instance_type, r.edition, r.nat_version, r.has_dnat, "
                      "r.created_at, r.attrs, r.addrs, r.brokers, r.uin, b.host, b.device, b.netns "
                      "FROM resources r "
                      "LEFT JOIN host_bindings b USING (uin, region, kind, id) "
                      "ORDER BY r.uin, r.region, r.kind, r.created_at, r.id",
                      0, NULL, e, NULL)))
        goto done;
    for (int i = 0; i < PQntuples(r); i++) {
        struct resource res;
        char uin[24];
        row_to_res(r, i, &res, 1);
        pg_col(r, i, 16, uin, sizeof uin);
        pg_col(r, i, 17, res.host, sizeof res.host);
        pg_col(r, i, 18, res.host_device, sizeof res.host_device);
        pg_col(r, i, 19, res.host_netns, sizeof res.host_netns);
        sink->resource(sink->ud, uin, &res);
    }
    PQclear(r);
    if (!(r = pg_exec(pc->c, "dump flow logs",
                      "SELECT " PG_FL_COLS " FROM flowlogs ORDER BY uin, region, id", 0, NULL, e,
                      NULL)))
        goto done;
    for (int i = 0; i < PQntuples(r); i++) {
        struct flowlog fl;
        void *tj;
        struct tag *tv;
        if (pg_row_to_flowlog(r, i, 0, &fl, &tj, &tv, e) != STORE_OK)
            goto done;
        sink->flowlog(sink->ud, &fl);
        json_decref(tj);
        free(tv);
    }
    PQclear(r);
    r = NULL;
    if (pg_cls_dump(pc->c, sink, e) != STORE_OK)
        goto done;
    rc = STORE_OK;
done:
    PQclear(r);
    PQclear(PQexec(pc->c, rc == STORE_OK ? "COMMIT" : "ROLLBACK"));
    pg_put(s, pc);
    return rc;
}
