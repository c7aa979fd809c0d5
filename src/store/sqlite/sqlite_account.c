/* sqlite_account.c: accounts, API keys, inventory and the integrity check. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
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

/* Normalises "A, B,,A" into ",A,B," (duplicates dropped); NULL or blank
 * gives "" (every action). Names are letters and digits. */
static int normalize_actions(const char *in, char *out, size_t cap, struct serr *e)
{
    size_t n = 0, len;
    const char *p = in, *start;
    char needle[130];

    out[0] = '\0';
    while (p && *p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        start = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        len = (size_t)(p - start);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            return sq_err(e, STORE_ERR, "action names are separated by commas");
        if (len == 0)
            continue;
        if (len > sizeof needle - 3)
            return sq_err(e, STORE_ERR, "action name too long");
        for (size_t i = 0; i < len; i++)
            if (!((start[i] >= 'A' && start[i] <= 'Z') || (start[i] >= 'a' && start[i] <= 'z') ||
                  (start[i] >= '0' && start[i] <= '9')))
                return sq_err(e, STORE_ERR, "invalid action name '%.*s'", (int)len, start);
        needle[0] = ',';
        memcpy(needle + 1, start, len);
        needle[len + 1] = ',';
        needle[len + 2] = '\0';
        if (n && strstr(out, needle))
            continue;
        if (n + len + 2 + (n == 0) > cap - 1)
            return sq_err(e, STORE_ERR, "action list too long");
        if (n == 0)
            out[n++] = ',';
        memcpy(out + n, start, len);
        n += len;
        out[n++] = ',';
        out[n] = '\0';
    }
    return STORE_OK;
}

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
    int rc = normalize_actions(actions, norm, sizeof norm, e);
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
    if ((rc = normalize_actions(actions, norm, sizeof norm, e)) != STORE_OK)
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
        if (sq_exec(c, up, e) != STORE_OK) {
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
    q = NULL;
    rc = sq_tags_check(c, e);
fail:
    if (q)
        sqlite3_reset(q);
    sq_read_end(st, c);
    return rc;
}
