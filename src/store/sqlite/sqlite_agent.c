/* sqlite_agent.c: what the data plane needs of the SQLite store: host
 * bindings (where an ENI's, gateway's or CCN's traffic crosses a host), the
 * snapshot a host's agent is assigned from, and agent keys.
 *
 * Bindings live in their own table, host_bindings, keyed like resources
 * and deleted with them (ON DELETE CASCADE): where a resource is captured
 * changes independently of what it is (a VM moves), and an agent's
 * question "what is bound to me" is one index range (host_bindings_host).
 * None of this is on a hot path: statements are prepared per call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "store/sqlite/sqlite_domain.h"

#define AGENT_KEY_TRIES 16

/* ==== bindings ==== */

int sq_binding_put(struct conn *c, const char *uin, const struct resource *r, struct serr *e)
{
    sqlite3_stmt *st;
    if (!r->host_device[0])
        st = sq_prepare_once(c,
                             "DELETE FROM host_bindings WHERE uin = ?1 AND region = ?2 AND "
                             "kind = ?3 AND id = ?4",
                             e);
    else
        st = sq_prepare_once(
            c,
            "INSERT INTO host_bindings(uin, region, kind, id, host, device, netns) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(uin, region, kind, id) DO UPDATE "
            "SET host = excluded.host, device = excluded.device, netns = excluded.netns",
            e);
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, uin);
    sq_bind_str(st, 2, r->region, sizeof r->region);
    sqlite3_bind_int(st, 3, (int)r->kind);
    sq_bind_str(st, 4, r->id, sizeof r->id);
    if (r->host_device[0]) {
        sq_bind_str(st, 5, r->host, sizeof r->host);
        sq_bind_str(st, 6, r->host_device, sizeof r->host_device);
        sq_bind_str(st, 7, r->host_netns, sizeof r->host_netns);
    }
    int rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    return rc;
}

struct bind_job {
    const char *uin;
    struct resource r; /* kind, region, id found; host, device, netns to set */
};

static int job_bind(struct conn *c, void *arg, struct serr *e)
{
    struct bind_job *b = arg;
    sqlite3_stmt *st = sq_prepare_once(c,
                                       "SELECT kind, region FROM resources WHERE uin = ?1 AND "
                                       "id = ?2 AND kind IN (?3, ?4, ?5, ?6) ORDER BY region",
                                       e);
    int step;
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, b->uin);
    sq_bind_cstr(st, 2, b->r.id);
    sqlite3_bind_int(st, 3, RES_ENI);
    sqlite3_bind_int(st, 4, RES_NAT);
    sqlite3_bind_int(st, 5, RES_DCG);
    sqlite3_bind_int(st, 6, RES_CCN);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        b->r.kind = (enum res_kind)sqlite3_column_int(st, 0);
        sq_col_str(st, 1, b->r.region, sizeof b->r.region);
    }
    sqlite3_finalize(st);
    if (step == SQLITE_DONE)
        return sq_err(e, STORE_NOTFOUND, "%s", b->r.id);
    if (step != SQLITE_ROW)
        return sq_fail(c->db, "bind", e);
    return sq_binding_put(c, b->uin, &b->r, e);
}

int sq_resource_bind(struct store *st, const char *uin, const char *id, const char *host,
                     const char *device, const char *netns, struct serr *e)
{
    struct bind_job b = {.uin = uin ? uin : ""};
    snprintf(b.r.id, sizeof b.r.id, "%s", id ? id : "");
    snprintf(b.r.host, sizeof b.r.host, "%s", device && *device && host ? host : "");
    snprintf(b.r.host_device, sizeof b.r.host_device, "%s", device ? device : "");
    snprintf(b.r.host_netns, sizeof b.r.host_netns, "%s", device && *device && netns ? netns : "");
    return sq_write(st, job_bind, &b, e);
}

/* ==== a host's snapshot ==== */

static int snapshot_resources(struct conn *c, const char *host, const struct host_sink *sink,
                              struct serr *e)
{
    sqlite3_stmt *q = sq_prepare_once(
        c,
        "SELECT a.app_id, a.uin, a.flowlog_quota, a.rate_limit, r.kind, r.region, r.id, "
        "r.vpc_id, r.subnet_id, r.instance_id, r.name, r.cidr, r.created_at, b.host, b.device, "
        "b.netns, r.addrs FROM host_bindings b JOIN resources r USING (uin, region, kind, id) "
        "JOIN accounts a ON a.uin = r.uin WHERE b.host = ?1 ORDER BY r.uin, r.region, r.kind, r.id",
        e);
    int step;
    if (!q)
        return STORE_ERR;
    sq_bind_cstr(q, 1, host);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct account a;
        struct resource r;
        memset(&a, 0, sizeof a);
        memset(&r, 0, sizeof r);
        a.app_id = (uint64_t)sqlite3_column_int64(q, 0);
        sq_col_str(q, 1, a.uin, sizeof a.uin);
        a.flowlog_quota = (uint32_t)sqlite3_column_int64(q, 2);
        a.rate_limit = (uint32_t)sqlite3_column_int64(q, 3);
        r.kind = (enum res_kind)sqlite3_column_int(q, 4);
        sq_col_str(q, 5, r.region, sizeof r.region);
        sq_col_str(q, 6, r.id, sizeof r.id);
        sq_col_str(q, 7, r.vpc_id, sizeof r.vpc_id);
        sq_col_str(q, 8, r.subnet_id, sizeof r.subnet_id);
        sq_col_str(q, 9, r.instance_id, sizeof r.instance_id);
        sq_col_str(q, 10, r.name, sizeof r.name);
        sq_col_str(q, 11, r.cidr, sizeof r.cidr);
        r.created_at = sqlite3_column_int64(q, 12);
        sq_col_str(q, 13, r.host, sizeof r.host);
        sq_col_str(q, 14, r.host_device, sizeof r.host_device);
        sq_col_str(q, 15, r.host_netns, sizeof r.host_netns);
        sq_col_str(q, 16, r.addrs, sizeof r.addrs);
        sink->resource(sink->ud, &a, &r);
    }
    sqlite3_finalize(q);
    return step == SQLITE_DONE ? STORE_OK : sq_fail(c->db, "host resources", e);
}

int sq_host_snapshot(struct store *st, const char *host, const struct host_sink *sink,
                     struct serr *e)
{
    struct conn *c = NULL;
    int rc;
    if (!host || !*host)
        return sq_err(e, STORE_NOTFOUND, "no host named");
    if (sq_read_begin(st, &c, e) != STORE_OK) /* one read transaction: one snapshot */
        return STORE_ERR;
    rc = snapshot_resources(c, host, sink, e);
    if (rc == STORE_OK)
        rc = sq_host_flowlogs(c, host, sink, e);
    sq_read_end(st, c);
    return rc;
}

/* ==== agent keys ==== */

struct agent_key_job {
    const char *host;
    struct agent_key *out;
};

static int job_agent_key_create(struct conn *c, void *arg, struct serr *e)
{
    struct agent_key_job *j = arg;
    sqlite3_stmt *ins = sq_prepare_once(c,
                                        "INSERT INTO agent_keys(secret_id, secret_key, host, "
                                        "created_at) VALUES(?1, ?2, ?3, ?4) "
                                        "ON CONFLICT(secret_id) DO NOTHING",
                                        e);
    int rc = STORE_ERR;
    if (!ins)
        return STORE_ERR;
    for (int tries = 0; tries < AGENT_KEY_TRIES; tries++) {
        struct agent_key *k = j->out;
        memcpy(k->secret_id, "AKAG", 4);
        if (gen_token(k->secret_id + 4, 32) != 0 || gen_token(k->secret_key, 32) != 0) {
            rc = sq_err(e, STORE_ERR, "random source failed");
            break;
        }
        snprintf(k->host, sizeof k->host, "%s", j->host);
        k->created_at = (int64_t)time(NULL);
        sqlite3_bind_text(ins, 1, k->secret_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, k->secret_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, k->host, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 4, k->created_at);
        if (sq_exec(c, ins, e) != STORE_OK)
            break;
        if (sqlite3_changes(c->db) == 1) {
            rc = STORE_OK;
            break;
        }
        rc = sq_err(e, STORE_ERR, "no free SecretId after %d draws", AGENT_KEY_TRIES);
    }
    sqlite3_finalize(ins);
    return rc;
}

int sq_agent_key_create(struct store *st, const char *host, struct agent_key *out,
                        struct serr *e)
{
    struct agent_key tmp;
    struct agent_key_job j = {.host = host ? host : "", .out = out ? out : &tmp};
    if (strlen(j.host) >= sizeof tmp.host)
        return sq_err(e, STORE_ERR, "host name too long");
    memset(j.out, 0, sizeof *j.out);
    return sq_write(st, job_agent_key_create, &j, e);
}

static void agent_key_row(sqlite3_stmt *q, struct agent_key *k)
{
    memset(k, 0, sizeof *k);
    sq_col_str(q, 0, k->secret_id, sizeof k->secret_id);
    sq_col_str(q, 1, k->secret_key, sizeof k->secret_key);
    sq_col_str(q, 2, k->host, sizeof k->host);
    k->created_at = sqlite3_column_int64(q, 3);
}

int sq_agent_key_lookup(struct store *st, const char *secret_id, struct agent_key *out,
                        struct serr *e)
{
    struct conn *c = NULL;
    int rc = STORE_ERR, step;
    if (sq_read_begin(st, &c, e) != STORE_OK)
        return STORE_ERR;
    sqlite3_stmt *q = sq_prepare_once(c,
                                      "SELECT secret_id, secret_key, host, created_at FROM "
                                      "agent_keys WHERE secret_id = ?1",
                                      e);
    if (q) {
        sq_bind_cstr(q, 1, secret_id ? secret_id : "");
        step = sqlite3_step(q);
        if (step == SQLITE_ROW) {
            agent_key_row(q, out);
            rc = STORE_OK;
        } else if (step == SQLITE_DONE) {
            rc = sq_err(e, STORE_NOTFOUND, "%s", secret_id ? secret_id : "");
        } else {
            sq_fail(c->db, "agent key", e);
        }
        sqlite3_finalize(q);
    }
    sq_read_end(st, c);
    return rc;
}

int sq_agent_key_list(struct store *st, agent_key_cb cb, void *ud, struct serr *e)
{
    struct conn *c = NULL;
    int rc = STORE_ERR, step;
    if (sq_read_begin(st, &c, e) != STORE_OK)
        return STORE_ERR;
    sqlite3_stmt *q = sq_prepare_once(c,
                                      "SELECT secret_id, secret_key, host, created_at FROM "
                                      "agent_keys ORDER BY created_at, secret_id",
                                      e);
    if (q) {
        struct agent_key k;
        while ((step = sqlite3_step(q)) == SQLITE_ROW) {
            agent_key_row(q, &k);
            cb(ud, &k);
        }
        rc = step == SQLITE_DONE ? STORE_OK : sq_fail(c->db, "agent keys", e);
        sqlite3_finalize(q);
    }
    sq_read_end(st, c);
    return rc;
}

static int job_agent_key_delete(struct conn *c, void *arg, struct serr *e)
{
    const char *sid = arg;
    sqlite3_stmt *st = sq_prepare_once(c, "DELETE FROM agent_keys WHERE secret_id = ?1", e);
    int rc;
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, sid);
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = sq_err(e, STORE_NOTFOUND, "%s", sid);
    return rc;
}

int sq_agent_key_delete(struct store *st, const char *secret_id, struct serr *e)
{
    return sq_write(st, job_agent_key_delete, (void *)(secret_id ? secret_id : ""), e);
}

static int job_agent_key_put(struct conn *c, void *arg, struct serr *e)
{
    const struct agent_key *k = arg;
    sqlite3_stmt *st = sq_prepare_once(c,
                                       "INSERT INTO agent_keys(secret_id, secret_key, host, "
                                       "created_at) VALUES(?1, ?2, ?3, ?4) "
                                       "ON CONFLICT(secret_id) DO UPDATE SET secret_key = "
                                       "excluded.secret_key, host = excluded.host, created_at = "
                                       "excluded.created_at",
                                       e);
    int rc;
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, k->secret_id);
    sq_bind_cstr(st, 2, k->secret_key);
    sq_bind_cstr(st, 3, k->host);
    sqlite3_bind_int64(st, 4, k->created_at);
    rc = sq_exec(c, st, e);
    sqlite3_finalize(st);
    return rc;
}

int sq_agent_key_put(struct store *st, const struct agent_key *k, struct serr *e)
{
    return sq_write(st, job_agent_key_put, (void *)k, e);
}
