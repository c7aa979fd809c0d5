/* pg_agent.c: the data plane's part of the PostgreSQL store, the same rules
 * as store/sqlite/sqlite_agent.c: host bindings (their own table, deleted
 * with their resource), a host's snapshot (one REPEATABLE READ snapshot),
 * and agent keys. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "store/pg/pg_int.h"

#define AGENT_KEY_TRIES 16

/* ==== bindings ==== */

int pg_binding_put(PGconn *c, const char *uin, const struct resource *r, struct serr *e)
{
    char kind[8];
    snprintf(kind, sizeof kind, "%d", (int)r->kind);
    const char *p[7] = {uin, r->region, kind, r->id, r->host, r->host_device, r->host_netns};
    if (!r->host_device[0])
        return pg_cmd(c, "unbind",
                      "DELETE FROM host_bindings WHERE uin = $1 AND region = $2 AND "
                      "kind = $3::int AND id = $4",
                      4, p, e);
    return pg_cmd(c, "bind",
                  "INSERT INTO host_bindings(uin, region, kind, id, host, device, netns) "
                  "VALUES($1, $2, $3::int, $4, $5, $6, $7) ON CONFLICT (uin, region, kind, id) "
                  "DO UPDATE SET host = excluded.host, device = excluded.device, "
                  "netns = excluded.netns",
                  7, p, e);
}

struct bind_job {
    const char *uin;
    struct resource r;
};

static int job_bind(PGconn *c, void *arg, struct serr *e)
{
    struct bind_job *b = arg;
    char kinds[4][8];
    snprintf(kinds[0], sizeof kinds[0], "%d", RES_ENI);
    snprintf(kinds[1], sizeof kinds[1], "%d", RES_NAT);
    snprintf(kinds[2], sizeof kinds[2], "%d", RES_DCG);
    snprintf(kinds[3], sizeof kinds[3], "%d", RES_CCN);
    const char *p[6] = {b->uin, b->r.id, kinds[0], kinds[1], kinds[2], kinds[3]};
    PGresult *r = pg_exec(c, "bind",
                          "SELECT kind, region FROM resources WHERE uin = $1 AND id = $2 AND "
                          "kind IN ($3::int, $4::int, $5::int, $6::int) ORDER BY region "
                          "LIMIT 1 FOR KEY SHARE",
                          6, p, e, NULL);
    if (!r)
        return STORE_ERR;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return pg_err(e, STORE_NOTFOUND, "%s", b->r.id);
    }
    b->r.kind = (enum res_kind)pg_col_i64(r, 0, 0);
    pg_col(r, 0, 1, b->r.region, sizeof b->r.region);
    PQclear(r);
    return pg_binding_put(c, b->uin, &b->r, e);
}

/* A binding is idempotent: in doubt, run it again. */
static int settle_again(PGconn *c, void *arg, struct serr *e)
{
    (void)c;
    (void)arg;
    (void)e;
    return 0;
}

int pg_resource_bind(struct store *st, const char *uin, const char *id, const char *host,
                     const char *device, const char *netns, struct serr *e)
{
    struct bind_job b = {.uin = uin ? uin : ""};
    snprintf(b.r.id, sizeof b.r.id, "%s", id ? id : "");
    snprintf(b.r.host, sizeof b.r.host, "%s", device && *device && host ? host : "");
    snprintf(b.r.host_device, sizeof b.r.host_device, "%s", device ? device : "");
    snprintf(b.r.host_netns, sizeof b.r.host_netns, "%s", device && *device && netns ? netns : "");
    return pg_tx((struct store_pg *)st, job_bind, settle_again, &b, e);
}

/* ==== a host's snapshot ==== */

int pg_host_snapshot(struct store *st, const char *host, const struct host_sink *sink,
                     struct serr *e)
{
    struct store_pg *s = (struct store_pg *)st;
    const char *p[1] = {host};
    PGresult *r = NULL;
    int rc = STORE_ERR;
    if (!host || !*host)
        return pg_err(e, STORE_NOTFOUND, "no host named");
    struct pgconn *pc = pg_get(s, e);
    if (!pc)
        return STORE_ERR;
    if (pg_cmd(pc->c, "snapshot", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
               e) != STORE_OK)
        goto done;
    if (!(r = pg_exec(pc->c, "host resources",
                      "SELECT a.app_id, a.uin, a.flowlog_quota, a.rate_limit, r.kind, r.region, "
                      "r.id, r.vpc_id, r.subnet_id, r.instance_id, r.name, r.cidr, r.created_at, "
                      "b.host, b.device, b.netns, r.addrs FROM host_bindings b JOIN resources r "
                      "USING (uin, region, kind, id) JOIN accounts a ON a.uin = r.uin "
                      "WHERE b.host = $1 ORDER BY r.uin, r.region, r.kind, r.id",
                      1, p, e, NULL)))
        goto done;
    for (int i = 0; i < PQntuples(r); i++) {
        struct account a;
        struct resource res;
        memset(&a, 0, sizeof a);
        memset(&res, 0, sizeof res);
        a.app_id = (uint64_t)pg_col_i64(r, i, 0);
        pg_col(r, i, 1, a.uin, sizeof a.uin);
        a.flowlog_quota = (uint32_t)pg_col_i64(r, i, 2);
        a.rate_limit = (uint32_t)pg_col_i64(r, i, 3);
        res.kind = (enum res_kind)pg_col_i64(r, i, 4);
        pg_col(r, i, 5, res.region, sizeof res.region);
        pg_col(r, i, 6, res.id, sizeof res.id);
        pg_col(r, i, 7, res.vpc_id, sizeof res.vpc_id);
        pg_col(r, i, 8, res.subnet_id, sizeof res.subnet_id);
        pg_col(r, i, 9, res.instance_id, sizeof res.instance_id);
        pg_col(r, i, 10, res.name, sizeof res.name);
        pg_col(r, i, 11, res.cidr, sizeof res.cidr);
        res.created_at = pg_col_i64(r, i, 12);
        pg_col(r, i, 13, res.host, sizeof res.host);
        pg_col(r, i, 14, res.host_device, sizeof res.host_device);
        pg_col(r, i, 15, res.host_netns, sizeof res.host_netns);
        pg_col(r, i, 16, res.addrs, sizeof res.addrs);
        sink->resource(sink->ud, &a, &res);
    }
    PQclear(r);
    if (!(r = pg_exec(pc->c, "host flow logs",
                      "SELECT " PG_FL_COLS " FROM flowlogs f WHERE f.enable = 1 AND EXISTS "
                      "(SELECT 1 FROM host_bindings b JOIN resources r USING (uin, region, kind, "
                      "id) WHERE b.host = $1 AND r.uin = f.uin AND f.resource_id IN "
                      "(r.id, r.subnet_id, r.vpc_id)) ORDER BY f.uin, f.region, f.id",
                      1, p, e, NULL)))
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
    rc = STORE_OK;
done:
    PQclear(r);
    PQclear(PQexec(pc->c, rc == STORE_OK ? "COMMIT" : "ROLLBACK"));
    pg_put(s, pc);
    return rc;
}

/* ==== agent keys ==== */

struct agent_key_job {
    const char *host;
    struct agent_key *out;
};

static int job_agent_key_create(PGconn *c, void *arg, struct serr *e)
{
    struct agent_key_job *j = arg;
    struct agent_key *k = j->out;
    for (int tries = 0; tries < AGENT_KEY_TRIES; tries++) {
        char created[24];
        memcpy(k->secret_id, "AKAG", 4);
        if (gen_token(k->secret_id + 4, 32) != 0 || gen_token(k->secret_key, 32) != 0)
            return pg_err(e, STORE_ERR, "random source failed");
        snprintf(k->host, sizeof k->host, "%s", j->host);
        k->created_at = (int64_t)time(NULL);
        pg_i64(created, sizeof created, k->created_at);
        const char *p[4] = {k->secret_id, k->secret_key, k->host, created};
        PGresult *r = pg_exec(c, "agent key",
                              "INSERT INTO agent_keys(secret_id, secret_key, host, created_at) "
                              "VALUES($1, $2, $3, $4::bigint) ON CONFLICT DO NOTHING",
                              4, p, e, NULL);
        if (!r)
            return STORE_ERR;
        int won = atoi(PQcmdTuples(r)) == 1;
        PQclear(r);
        if (won)
            return STORE_OK;
    }
    return pg_err(e, STORE_ERR, "no free SecretId after %d draws", AGENT_KEY_TRIES);
}

static int settle_agent_key(PGconn *c, void *arg, struct serr *e)
{
    struct agent_key_job *j = arg;
    const char *p[2] = {j->out->secret_id, j->out->secret_key};
    PGresult *r = pg_exec(c, "settle",
                          "SELECT 1 FROM agent_keys WHERE secret_id = $1 AND secret_key = $2", 2,
                          p, e, NULL);
    int x = r ? PQntuples(r) == 1 : -1;
    PQclear(r);
    return x;
}

int pg_agent_key_create(struct store *st, const char *host, struct agent_key *out,
                        struct serr *e)
{
    struct agent_key tmp;
    struct agent_key_job j = {.host = host ? host : "", .out = out ? out : &tmp};
    if (strlen(j.host) >= sizeof tmp.host)
        return pg_err(e, STORE_ERR, "host name too long");
    memset(j.out, 0, sizeof *j.out);
    return pg_tx((struct store_pg *)st, job_agent_key_create, settle_agent_key, &j, e);
}

static void agent_key_row(const PGresult *r, int i, struct agent_key *k)
{
    memset(k, 0, sizeof *k);
    pg_col(r, i, 0, k->secret_id, sizeof k->secret_id);
    pg_col(r, i, 1, k->secret_key, sizeof k->secret_key);
    pg_col(r, i, 2, k->host, sizeof k->host);
    k->created_at = pg_col_i64(r, i, 3);
}

int pg_agent_key_lookup(struct store *st, const char *secret_id, struct agent_key *out,
                        struct serr *e)
{
    const char *p[1] = {secret_id ? secret_id : ""};
    PGresult *r = pg_read((struct store_pg *)st, "agent key",
                          "SELECT secret_id, secret_key, host, created_at FROM agent_keys "
                          "WHERE secret_id = $1",
                          1, p, e);
    int rc;
    if (!r)
        return STORE_ERR;
    if (PQntuples(r) == 1) {
        agent_key_row(r, 0, out);
        rc = STORE_OK;
    } else {
        rc = pg_err(e, STORE_NOTFOUND, "%s", p[0]);
    }
    PQclear(r);
    return rc;
}

int pg_agent_key_list(struct store *st, agent_key_cb cb, void *ud, struct serr *e)
{
    PGresult *r = pg_read((struct store_pg *)st, "agent keys",
                          "SELECT secret_id, secret_key, host, created_at FROM agent_keys "
                          "ORDER BY created_at, secret_id",
                          0, NULL, e);
    if (!r)
        return STORE_ERR;
    for (int i = 0; i < PQntuples(r); i++) {
        struct agent_key k;
        agent_key_row(r, i, &k);
        cb(ud, &k);
    }
    PQclear(r);
    return STORE_OK;
}

static int job_agent_key_delete(PGconn *c, void *arg, struct serr *e)
{
    const char *p[1] = {arg};
    PGresult *r = pg_exec(c, "agent key", "DELETE FROM agent_keys WHERE secret_id = $1", 1, p, e,
                          NULL);
    if (!r)
        return STORE_ERR;
    int gone = atoi(PQcmdTuples(r)) == 1;
    PQclear(r);
    return gone ? STORE_OK : pg_err(e, STORE_NOTFOUND, "%s", p[0]);
}

/* In doubt, the key is gone or was never there: either way it is gone. */
static int settle_deleted(PGconn *c, void *arg, struct serr *e)
{
    const char *p[1] = {arg};
    PGresult *r = pg_exec(c, "settle", "SELECT 1 FROM agent_keys WHERE secret_id = $1", 1, p, e,
                          NULL);
    int x = r ? PQntuples(r) == 0 : -1;
    PQclear(r);
    return x;
}

int pg_agent_key_delete(struct store *st, const char *secret_id, struct serr *e)
{
    return pg_tx((struct store_pg *)st, job_agent_key_delete, settle_deleted,
                 (void *)(secret_id ? secret_id : ""), e);
}

static int job_agent_key_put(PGconn *c, void *arg, struct serr *e)
{
    const struct agent_key *k = arg;
    char created[24];
    pg_i64(created, sizeof created, k->created_at);
    const char *p[4] = {k->secret_id, k->secret_key, k->host, created};
    return pg_cmd(c, "agent key",
                  "INSERT INTO agent_keys(secret_id, secret_key, host, created_at) "
                  "VALUES($1, $2, $3, $4::bigint) ON CONFLICT(secret_id) DO UPDATE SET "
                  "secret_key = EXCLUDED.secret_key, host = EXCLUDED.host, "
                  "created_at = EXCLUDED.created_at",
                  4, p, e) == STORE_OK
               ? STORE_OK
               : STORE_ERR;
}

int pg_agent_key_put(struct store *st, const struct agent_key *k, struct serr *e)
{
    return pg_tx((struct store_pg *)st, job_agent_key_put, NULL, (void *)k, e);
}
