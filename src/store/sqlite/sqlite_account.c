/* sqlite_account.c: accounts, API keys, inventory and the integrity check. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "store/store_util.h"
#include "store/sqlite/sqlite_domain.h"

#define ID_TRIES 16         /* random draws before giving up on a free AppId/Uin/SecretId */

/* Reads the account row `uin` with W_ACCOUNT_GET into out (may be NULL).
 * STORE_OK, STORE_NOTFOUND (msg = uin) or STORE_ERR. */
static int account_get(struct conn *c, const char *uin, struct account *out, struct serr *e)
{
    sqlite3_stmt *st = sq_stmt(c, ST_W_ACCOUNT_GET, e);
    int rc = STORE_ERR, step;
    if (!st)
        return STORE_ERR;
    sq_bind_cstr(st, 1, uin);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        if (out) {
            out->app_id = (uint64_t)sqlite3_column_int64(st, 0);
            sq_col_str(st, 1, out->uin, sizeof out->uin);
            out->flowlog_quota = (uint32_t)sqlite3_column_int64(st, 2);
            out->rate_limit = (uint32_t)sqlite3_column_int64(st, 3);
        }
        rc = STORE_OK;
    } else if (step == SQLITE_DONE) {
        rc = sq_err(e, STORE_NOTFOUND, "%s", uin);
    } else {
        sq_fail(c->db, "account", e);
    }
    sqlite3_reset(st);
    return rc;
}

/* Steps a "SELECT 1 ..." statement: 1 if a row exists, 0 if not, -1 on error. */
static int row_exists(struct conn *c, sqlite3_stmt *st, struct serr *e)
{
    int step = sqlite3_step(st), r = -1;
    if (step == SQLITE_ROW)
        r = 1;
    else if (step == SQLITE_DONE)
        r = 0;
    else
        sq_fail(c->db, "lookup", e);
    sqlite3_reset(st);
    return r;
}

/* ==== accounts ==== */

struct account_job {
    uint32_t quota;
    struct account *out;
};

static int job_account_create(struct conn *c, void *arg, struct serr *e)
{
    struct account_job *a = arg;
    sqlite3_stmt *taken = sq_stmt(c, ST_W_ACCOUNT_TAKEN, e);
    sqlite3_stmt *ins = sq_stmt(c, ST_W_ACCOUNT_INSERT, e);
    uint64_t r[2];
    char uin[24];
    int64_t app_id;
    int seen;

    if (!taken || !ins)
        return STORE_ERR;
    for (int tries = 0; tries < ID_TRIES; tries++) {
        if (rand_bytes(r, sizeof r) != 0)
            return sq_err(e, STORE_ERR, "random source failed");
        app_id = (int64_t)(1000000000u + r[0] % 1000000000u);       /* 10 digits, leading 1 */
        snprintf(uin, sizeof uin, "%llu",
                 (unsigned long long)(100000000000u + r[1] % 900000000000u)); /* 12 digits */
        sqlite3_bind_int64(taken, 1, app_id);
        sqlite3_bind_text(taken, 2, uin, -1, SQLITE_STATIC);
        seen = row_exists(c, taken, e);
        if (seen < 0)
            return STORE_ERR;
        if (seen)
            continue;
        sqlite3_bind_int64(ins, 1, app_id);
        sqlite3_bind_text(ins, 2, uin, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, a->quota);
        sqlite3_bind_int64(ins, 4, 0);
        if (sq_exec(c, ins, e) != STORE_OK)
            return STORE_ERR;
        a->out->app_id = (uint64_t)app_id;
        memcpy(a->out->uin, uin, sizeof uin);
        a->out->flowlog_quota = a->quota;
        a->out->rate_limit = 0;
        return STORE_OK;
    }
    return sq_err(e, STORE_ERR, "no free AppId/Uin after %d draws", ID_TRIES);
}

int sq_account_create(struct store *st, uint32_t quota, struct account *out, struct serr *e)
{
    struct account tmp;
    struct account_job a = {.quota = quota ? quota : STORE_DEFAULT_FLOWLOG_QUOTA, .out = out ? out : &tmp};
    return sq_write(st, job_account_create, &a, e);
}

/* ==== keys ==== */

struct key_job {
    const char *uin;
    const char *actions; /* normalised */
    int64_t expires;     /* 0: a permanent key; else a temporary one, with a token */
    struct key_info *out;
};

static int job_key_create(struct conn *c, void *arg, struct serr *e)
{
    struct key_job *k = arg;
    struct key_info *out = k->out;
    sqlite3_stmt *taken = sq_stmt(c, ST_W_KEY_TAKEN, e);
    sqlite3_stmt *ins = sq_stmt(c, ST_W_KEY_INSERT, e);
    int rc, seen;

    if (!taken || !ins)
        return STORE_ERR;
    rc = account_get(c, k->uin, &out->account, e);
    if (rc != STORE_OK)
        return rc;
    for (int tries = 0; tries < ID_TRIES; tries++) {
        memcpy(out->secret_id, "AKID", 4);
        if (gen_token(out->secret_id + 4, 32) != 0 || gen_token(out->secret_key, 32) != 0)
            return sq_err(e, STORE_ERR, "random source failed");
        out->token[0] = '\0';
        out->expires = k->expires;
        if (k->expires && gen_token(out->token, 64) != 0)
            return sq_err(e, STORE_ERR, "random source failed");
        sqlite3_bind_text(taken, 1, out->secret_id, -1, SQLITE_STATIC);
        seen = row_exists(c, taken, e);
        if (seen < 0)
            return STORE_ERR;
        if (seen)
            continue;
        sqlite3_bind_text(ins, 1, out->secret_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, out->secret_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, out->account.uin, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, k->actions, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, out->token, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 6, k->expires);
        if (sq_exec(c, ins, e) != STORE_OK)
            return STORE_ERR;
        snprintf(out->actions, sizeof out->actions, "%s", k->actions);
        return STORE_OK;
    }
    return sq_err(e, STORE_ERR, "no free SecretId after %d draws", ID_TRIES);
}

int sq_key_create(struct store *st, const char *uin, const char *actions, struct key_info *out,
                  struct serr *e)
{
    struct key_info tmp;
    char norm[sizeof tmp.actions];
    struct key_job k = {.uin = uin ? uin : "", .actions = norm, .out = out ? out : &tmp};
    int rc = store_normalize_actions(actions, norm, sizeof norm, e);
    if (rc != STORE_OK)
        return rc;
    return sq_write(st, job_key_create, &k, e);
}

int sq_key_create_temporary(struct store *st, const char *uin, const char *actions, int64_t expires,
                            struct key_info *out, struct serr *e)
{
    struct key_info tmp;
    char norm[sizeof tmp.actions];
    struct key_job k = {.uin = uin ? uin : "", .actions = norm, .expires = expires,
                        .out = out ? out : &tmp};
    int rc;
    if (expires <= 0)
        return sq_err(e, STORE_ERR, "a temporary key needs an end");
    if ((rc = store_normalize_actions(actions, norm, sizeof norm, e)) != STORE_OK)
        return rc;
    return sq_write(st, job_key_create, &k, e);
}

int sq_key_lookup(struct store *st, const char *secret_id, struct key_info *out, struct serr *e)
{
    struct conn *c = NULL;
    sqlite3_stmt *q;
    int rc = STORE_ERR, step;

    if (sq_read_begin(st, &c, e) != STORE_OK)
        return STORE_ERR;
    q = sq_stmt(c, ST_R_KEY_LOOKUP, e);
    if (!q)
        goto fail;
    sq_bind_cstr(q, 1, secret_id ? secret_id : "");
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        sq_col_str(q, 0, out->secret_id, sizeof out->secret_id);
        sq_col_str(q, 1, out->secret_key, sizeof out->secret_key);
        sq_col_str(q, 2, out->actions, sizeof out->actions);
        out->account.app_id = (uint64_t)sqlite3_column_int64(q, 3);
        sq_col_str(q, 4, out->account.uin, sizeof out->account.uin);
        out->account.flowlog_quota = (uint32_t)sqlite3_column_int64(q, 5);
        out->account.rate_limit = (uint32_t)sqlite3_column_int64(q, 6);
        sq_col_str(q, 7, out->token, sizeof out->token);
        out->expires = sqlite3_column_int64(q, 8);
        rc = STORE_OK;
    } else if (step == SQLITE_DONE) {
        rc = sq_err(e, STORE_NOTFOUND, "%s", secret_id ? secret_id : "");
    } else {
        sq_fail(c->db, "key lookup", e);
    }
    sqlite3_reset(q);
fail:
    sq_read_end(st, c);
    return rc;
}

/* ==== inventory ==== */

struct inventory_job {
    const char *uin;
    const struct resource *items;
    size_t n;
};

/* Upserts every item; the first bad one fails the job, and the job's
 * savepoint then takes back the items before it. */
static int job_inventory_import(struct conn *c, void *arg, struct serr *e)
{
    struct inventory_job *inv = arg;
    sqlite3_stmt *up = sq_stmt(c, ST_W_RES_UPSERT, e);
    int rc;

    if (!up)
        return STORE_ERR;
    rc = account_get(c, inv->uin, NULL, e);
    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; i < inv->n; i++) {
        const struct resource *r = &inv->items[i];
        if (r->kind < RES_VPC || r->kind > RES_CKAFKA_TOPIC)
            return sq_err(e, STORE_ERR, "item %zu: unknown resource kind %d", i, (int)r->kind);
        if (!r->region[0] || !r->id[0])
            return sq_err(e, STORE_ERR, "item %zu: region and id are required", i);
        sq_bind_resource(up, inv->uin, r);
        sq_bind_str(up, 16, r->brokers, sizeof r->brokers);
        if (sq_exec(c, up, e) != STORE_OK ||
            (r->host_device[0] && sq_binding_put(c, inv->uin, r, e) != STORE_OK)) {
            char msg[sizeof e->msg];
            memcpy(msg, e->msg, sizeof msg);
            return sq_err(e, STORE_ERR, "item %zu (%s): %s", i, r->id, msg);
        }
    }
    return STORE_OK;
}

int sq_inventory_import(struct store *st, const char *uin, const struct resource *items, size_t n,
                        struct serr *e)
{
    struct inventory_job inv = {.uin = uin ? uin : "", .items = items, .n = n};
    return sq_write(st, job_inventory_import, &inv, e);
}

int sq_resource_get(struct store *st, const char *uin, const char *region, enum res_kind kind,
                    const char *id, struct resource *out, struct serr *e)
{
    struct conn *c = NULL;
    sqlite3_stmt *q;
    int rc = STORE_ERR, step;

    if (sq_read_begin(st, &c, e) != STORE_OK)
        return STORE_ERR;
    q = sq_stmt(c, ST_R_RES_GET, e);
    if (!q)
        goto fail;
    sq_bind_cstr(q, 1, uin ? uin : "");
    sq_bind_cstr(q, 2, region ? region : "");
    sqlite3_bind_int(q, 3, (int)kind);
    sq_bind_cstr(q, 4, id ? id : "");
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        out->kind = (enum res_kind)sqlite3_column_int(q, 0);
        sq_col_str(q, 1, out->region, sizeof out->region);
        sq_col_str(q, 2, out->id, sizeof out->id);
        sq_col_str(q, 3, out->vpc_id, sizeof out->vpc_id);
        sq_col_str(q, 4, out->subnet_id, sizeof out->subnet_id);
        sq_col_str(q, 5, out->instance_id, sizeof out->instance_id);
        sq_col_str(q, 6, out->name, sizeof out->name);
        sq_col_str(q, 7, out->cidr, sizeof out->cidr);
        sq_col_str(q, 8, out->instance_type, sizeof out->instance_type);
        sq_col_str(q, 9, out->edition, sizeof out->edition);
        out->nat_version = sqlite3_column_int(q, 10);
        out->has_dnat = sqlite3_column_int(q, 11);
        out->created_at = sqlite3_column_int64(q, 12);
        sq_col_str(q, 13, out->addrs, sizeof out->addrs);
        sq_col_str(q, 14, out->brokers, sizeof out->brokers);
        rc = STORE_OK;
    } else if (step == SQLITE_DONE) {
        rc = sq_err(e, STORE_NOTFOUND, "%s", id ? id : "");
    } else {
        sq_fail(c->db, "resource", e);
    }
    sqlite3_reset(q);
fail:
    sq_read_end(st, c);
    return rc;
}

/* ==== integrity ==== */

int sq_integrity_check(struct store *st, struct serr *e)
{
    struct conn *c = NULL;
    sqlite3_stmt *q = NULL;
    const char *txt;
    int rc = STORE_ERR, step;

    if (sq_read_begin(st, &c, e) != STORE_OK)
        return STORE_ERR;

    if (!(q = sq_stmt(c, ST_R_INTEGRITY, e)))
        goto fail;
    step = sqlite3_step(q);
    txt = step == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
    if (step != SQLITE_ROW) {
        sq_fail(c->db, "integrity_check", e);
        goto fail;
    }
    if (!txt || strcmp(txt, "ok") != 0) {
        sq_err(e, STORE_ERR, "integrity_check: %s", txt ? txt : "(null)");
        goto fail;
    }
    sqlite3_reset(q);

    if (!(q = sq_stmt(c, ST_R_FK_CHECK, e)))
        goto fail;
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        sq_err(e, STORE_ERR, "foreign_key_check: a row of %s refers to a missing %s",
               (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 2));
        goto fail;
    }
    if (step != SQLITE_DONE) {
        sq_fail(c->db, "foreign_key_check", e);
        goto fail;
    }
    sqlite3_reset(q);

    if (!(q = sq_stmt(c, ST_R_VPC_USAGE_CHECK, e)))
        goto fail;
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        sq_err(e, STORE_ERR, "flow-log count of uin %s in %s, VPC %s is off",
               (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
               (const char *)sqlite3_column_text(q, 2));
        goto fail;
    }
    if (step != SQLITE_DONE) {
        sq_fail(c->db, "VPC usage check", e);
        goto fail;
    }
    sqlite3_reset(q);

    if (!(q = sq_stmt(c, ST_R_RES_USAGE_CHECK, e)))
        goto fail;
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        sq_err(e, STORE_ERR, "resource count of uin %s in %s, kind %d is off",
               (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
               sqlite3_column_int(q, 2));
        goto fail;
    }
    if (step != SQLITE_DONE) {
        sq_fail(c->db, "resource usage check", e);
        goto fail;
    }
    sqlite3_reset(q);
    q = NULL;
    rc = sq_tags_check(c, e);
fail:
    if (q)
        sqlite3_reset(q);
    sq_read_end(st, c);
    return rc;
}

/* ==== the admin operations: reset, accounts and keys with given ids ==== */

/* The tables of an account's rows, children first (the flow-log triggers
 * touch the counters, deleted after them). */
static const char *const reset_sql[] = {
    "DELETE FROM cls_topics%s", /* with their logs (trigger cls_topics_del) */
    "DELETE FROM cls_logsets%s",
    "DELETE FROM flowlog_tags%s",
    "DELETE FROM flowlogs%s",
    "DELETE FROM vpc_usage%s",
    "DELETE FROM resources%s",
    "DELETE FROM keys%s",
    "DELETE FROM accounts%s",
};

static int job_reset(struct conn *c, void *arg, struct serr *e)
{
    const char *uin = arg;
    char sql[96];
    sqlite3_stmt *st;
    int rc;

    if (uin && (rc = account_get(c, uin, NULL, e)) != STORE_OK)
        return rc;
    for (size_t i = 0; i < sizeof reset_sql / sizeof reset_sql[0]; i++) {
        snprintf(sql, sizeof sql, reset_sql[i], uin ? " WHERE uin = ?1" : "");
        if (!(st = sq_prepare_once(c, sql, e)))
            return STORE_ERR;
        if (uin)
            sqlite3_bind_text(st, 1, uin, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : sq_fail(c->db, "reset", e);
        sqlite3_finalize(st);
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

int sq_reset(struct store *st, const char *uin, struct serr *e)
{
    return sq_write(st, job_reset, (void *)uin, e);
}

/* Inserts key k->secret_id for k->uin; STORE_EXISTS if the SecretId is taken. */
struct key_put_job {
    const char *uin, *secret_id, *secret_key, *actions;
    const char *token; /* NULL or "": a permanent key */
    int64_t expires;
};

static int key_insert_given(struct conn *c, const struct key_put_job *k, struct serr *e)
{
    sqlite3_stmt *taken = sq_stmt(c, ST_W_KEY_TAKEN, e);
    sqlite3_stmt *ins = sq_stmt(c, ST_W_KEY_INSERT, e);
    int seen;
    if (!taken || !ins)
        return STORE_ERR;
    sqlite3_bind_text(taken, 1, k->secret_id, -1, SQLITE_STATIC);
    if ((seen = row_exists(c, taken, e)) < 0)
        return STORE_ERR;
    if (seen)
        return sq_err(e, STORE_EXISTS, "SecretId %s exists", k->secret_id);
    sqlite3_bind_text(ins, 1, k->secret_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, k->secret_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, k->uin, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, k->actions, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, k->token ? k->token : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 6, k->token && k->token[0] ? k->expires : 0);
    return sq_exec(c, ins, e);
}

static int job_key_put(struct conn *c, void *arg, struct serr *e)
{
    struct key_put_job *k = arg;
    int rc = account_get(c, k->uin, NULL, e);
    return rc == STORE_OK ? key_insert_given(c, k, e) : rc;
}

int sq_key_put(struct store *st, const char *uin, const char *secret_id, const char *secret_key,
               const char *actions, const char *token, int64_t expires, struct serr *e)
{
    char norm[sizeof ((struct key_info *)0)->actions];
    struct key_put_job k = {.uin = uin ? uin : "", .secret_id = secret_id,
                            .secret_key = secret_key, .actions = norm, .token = token,
                            .expires = expires};
    int rc;
    if (!secret_id || !*secret_id || !secret_key || !*secret_key)
        return sq_err(e, STORE_ERR, "a key needs a SecretId and a SecretKey");
    if ((rc = store_normalize_actions(actions, norm, sizeof norm, e)) != STORE_OK)
        return rc;
    return sq_write(st, job_key_put, &k, e);
}

struct account_put_job {
    struct account want; /* quota already defaulted */
    const char *secret_id, *secret_key;
    struct account *out;
};

static int job_account_put(struct conn *c, void *arg, struct serr *e)
{
    struct account_put_job *a = arg;
    sqlite3_stmt *taken = sq_stmt(c, ST_W_ACCOUNT_TAKEN, e);
    sqlite3_stmt *ins = sq_stmt(c, ST_W_ACCOUNT_INSERT, e);
    struct account acc = a->want;
    uint64_t r[2];
    int seen, rc, tries;

    if (!taken || !ins)
        return STORE_ERR;
    /* the given ids first: taken is the caller's error, not a retry */
    if (a->want.uin[0] && (rc = account_get(c, a->want.uin, NULL, e)) != STORE_NOTFOUND)
        return rc == STORE_OK ? sq_err(e, STORE_EXISTS, "Uin %s exists", a->want.uin) : rc;
    if (a->want.app_id) {
        sqlite3_bind_int64(taken, 1, (int64_t)a->want.app_id);
        sqlite3_bind_text(taken, 2, "", -1, SQLITE_STATIC);
        if ((seen = row_exists(c, taken, e)) < 0)
            return STORE_ERR;
        if (seen)
            return sq_err(e, STORE_EXISTS, "AppId %llu exists",
                          (unsigned long long)a->want.app_id);
    }
    for (tries = 0; tries < ID_TRIES; tries++) {
        if (rand_bytes(r, sizeof r) != 0)
            return sq_err(e, STORE_ERR, "random source failed");
        if (!a->want.app_id)
            acc.app_id = 1000000000u + r[0] % 1000000000u; /* 10 digits, leading 1 */
        if (!a->want.uin[0])
            snprintf(acc.uin, sizeof acc.uin, "%llu",
                     (unsigned long long)(100000000000u + r[1] % 900000000000u));
        sqlite3_bind_int64(taken, 1, (int64_t)acc.app_id);
        sqlite3_bind_text(taken, 2, acc.uin, -1, SQLITE_STATIC);
        if ((seen = row_exists(c, taken, e)) < 0)
            return STORE_ERR;
        if (!seen)
            break;
    }
    if (tries == ID_TRIES)
        return sq_err(e, STORE_ERR, "no free AppId/Uin after %d draws", ID_TRIES);
    sqlite3_bind_int64(ins, 1, (int64_t)acc.app_id);
    sqlite3_bind_text(ins, 2, acc.uin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 3, acc.flowlog_quota);
    sqlite3_bind_int64(ins, 4, acc.rate_limit);
    if (sq_exec(c, ins, e) != STORE_OK)
        return STORE_ERR;
    if (a->secret_id) {
        struct key_put_job k = {.uin = acc.uin, .secret_id = a->secret_id,
                                .secret_key = a->secret_key, .actions = ""};
        if ((rc = key_insert_given(c, &k, e)) != STORE_OK)
            return rc; /* the job's savepoint takes the account back */
    }
    *a->out = acc;
    return STORE_OK;
}

int sq_account_put(struct store *st, const struct account *want, const char *secret_id,
                   const char *secret_key, struct account *out, struct serr *e)
{
    struct account tmp;
    struct account_put_job a = {.secret_id = secret_id, .secret_key = secret_key,
                                .out = out ? out : &tmp};
    if (want)
        a.want = *want;
    if (!a.want.flowlog_quota)
        a.want.flowlog_quota = STORE_DEFAULT_FLOWLOG_QUOTA;
    if (secret_id && (!*secret_id || !secret_key || !*secret_key))
        return sq_err(e, STORE_ERR, "a key needs a SecretId and a SecretKey");
    return sq_write(st, job_account_put, &a, e);
}

int sq_account_any(struct store *st, int *any, struct serr *e)
{
    struct conn *c = NULL;
    sqlite3_stmt *q;
    int rc = STORE_ERR, step;

    if (sq_read_begin(st, &c, e) != STORE_OK)
        return STORE_ERR;
    if (!(q = sq_prepare_once(c, "SELECT EXISTS(SELECT 1 FROM accounts)", e)))
        goto fail;
    step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        *any = sqlite3_column_int(q, 0) != 0;
        rc = STORE_OK;
    } else {
        sq_fail(c->db, "accounts", e);
    }
    sqlite3_finalize(q);
fail:
    sq_read_end(st, c);
    return rc;
}

/* ==== the state export ==== */

static int dump_accounts_keys(struct conn *c, const struct state_sink *sink, struct serr *e)
{
    sqlite3_stmt *q = sq_prepare_once(
        c, "SELECT app_id, uin, flowlog_quota, rate_limit FROM accounts ORDER BY uin", e);
    struct key_info k;
    int step;
    if (!q)
        return STORE_ERR;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct account a = {0};
        a.app_id = (uint64_t)sqlite3_column_int64(q, 0);
        sq_col_str(q, 1, a.uin, sizeof a.uin);
        a.flowlog_quota = (uint32_t)sqlite3_column_int64(q, 2);
        a.rate_limit = (uint32_t)sqlite3_column_int64(q, 3);
        sink->account(sink->ud, &a);
    }
    sqlite3_finalize(q);
    if (step != SQLITE_DONE)
        return sq_fail(c->db, "dump accounts", e);
    if (!(q = sq_prepare_once(c,
                              "SELECT secret_id, secret_key, uin, actions, token, expires "
                              "FROM keys ORDER BY uin, secret_id",
                              e)))
        return STORE_ERR;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        memset(&k, 0, sizeof k);
        sq_col_str(q, 0, k.secret_id, sizeof k.secret_id);
        sq_col_str(q, 1, k.secret_key, sizeof k.secret_key);
        sq_col_str(q, 2, k.account.uin, sizeof k.account.uin);
        sq_col_str(q, 3, k.actions, sizeof k.actions);
        sq_col_str(q, 4, k.token, sizeof k.token);
        k.expires = sqlite3_column_int64(q, 5);
        sink->key(sink->ud, &k);
    }
    sqlite3_finalize(q);
    return step == SQLITE_DONE ? STORE_OK : sq_fail(c->db, "dump keys", e);
}

static int dump_resources(struct conn *c, const struct state_sink *sink, struct serr *e)
{
    sqlite3_stmt *q = sq_prepare_once(
        c,
        "SELECT r.uin, r.kind, r.region, r.id, r.vpc_id, r.subnet_id, r.instance_id, r.name, "
        "r.cidr, r.instance_type, r.edition, r.nat_version, r.has_dnat, r.created_at, r.attrs, "
        "r.addrs, b.host, b.device, b.netns, r.brokers FROM resources r LEFT JOIN host_bindings b "
        "USING (uin, region, kind, id) ORDER BY r.uin, r.region, r.kind, r.created_at, r.id",
        e);
    char uin[24];
    int step;
    if (!q)
        return STORE_ERR;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        struct resource r;
        memset(&r, 0, sizeof r);
        sq_col_str(q, 0, uin, sizeof uin);
        r.kind = (enum res_kind)sqlite3_column_int(q, 1);
        sq_col_str(q, 2, r.region, sizeof r.region);
        sq_col_str(q, 3, r.id, sizeof r.id);
        sq_col_str(q, 4, r.vpc_id, sizeof r.vpc_id);
        sq_col_str(q, 5, r.subnet_id, sizeof r.subnet_id);
        sq_col_str(q, 6, r.instance_id, sizeof r.instance_id);
        sq_col_str(q, 7, r.name, sizeof r.name);
        sq_col_str(q, 8, r.cidr, sizeof r.cidr);
        sq_col_str(q, 9, r.instance_type, sizeof r.instance_type);
        sq_col_str(q, 10, r.edition, sizeof r.edition);
        r.nat_version = sqlite3_column_int(q, 11);
        r.has_dnat = sqlite3_column_int(q, 12);
        r.created_at = sqlite3_column_int64(q, 13);
        r.attrs = (const char *)sqlite3_column_text(q, 14);
        sq_col_str(q, 15, r.addrs, sizeof r.addrs);
        sq_col_str(q, 16, r.host, sizeof r.host);
        sq_col_str(q, 17, r.host_device, sizeof r.host_device);
        sq_col_str(q, 18, r.host_netns, sizeof r.host_netns);
        sq_col_str(q, 19, r.brokers, sizeof r.brokers);
        sink->resource(sink->ud, uin, &r);
    }
    sqlite3_finalize(q);
    return step == SQLITE_DONE ? STORE_OK : sq_fail(c->db, "dump resources", e);
}

int sq_state_dump(struct store *st, const struct state_sink *sink, struct serr *e)
{
    struct conn *c = NULL;
    int rc;
    if (sq_read_begin(st, &c, e) != STORE_OK) /* one read transaction: one snapshot */
        return STORE_ERR;
    rc = dump_accounts_keys(c, sink, e);
    if (rc == STORE_OK)
        rc = dump_resources(c, sink, e);
    if (rc == STORE_OK)
        rc = sq_dump_flowlogs(c, sink, e);
    if (rc == STORE_OK)
        rc = sq_cls_dump(c, sink, e);
    sq_read_end(st, c);
    return rc;
}
