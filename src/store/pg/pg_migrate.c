/* pg_migrate.c: `flowlogd migrate --from DIR --to postgresql://...`: copies
 * a SQLite data directory into an empty PostgreSQL store, in ONE
 * transaction (all or nothing). The SQLite file is read in one read
 * transaction (a consistent snapshot; a server may keep running on it, but
 * what it writes after the snapshot is not copied: stop it first). Both
 * schemas are brought to this build's version first by opening both stores
 * through store.h. The counters (region_usage, vpc_usage) are kept by the
 * PostgreSQL triggers as the rows go in; the check runs at the end. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "store/pg/pg.h"
#include "store/pg/pg_int.h"

/* Copies every row of `select` (SQLite) into `insert` (PostgreSQL, $1..$n
 * text parameters; column i of the select is parameter i + 1). conv, if
 * given, rewrites column `conv_col` (the tags blob to JSON). Returns the
 * rows copied or -1 with e set. */
static long copy_rows(sqlite3 *db, PGconn *c, const char *what, const char *select,
                      const char *insert, int conv_col, struct serr *e)
{
    sqlite3_stmt *st = NULL;
    long n = 0;
    int rc, cols;
    struct buf json;

    buf_init(&json, 1u << 24);
    if (sqlite3_prepare_v2(db, select, -1, &st, NULL) != SQLITE_OK) {
        pg_err(e, STORE_ERR, "%s: %s", what, sqlite3_errmsg(db));
        return -1;
    }
    cols = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *vals[32];
        PGresult *r;
        for (int i = 0; i < cols && i < 32; i++)
            vals[i] = sqlite3_column_type(st, i) == SQLITE_NULL
                          ? ""
                          : (const char *)sqlite3_column_text(st, i);
        if (conv_col >= 0) {
            /* "k\0v\0..." -> [["k","v"],...] */
            const char *p = sqlite3_column_blob(st, conv_col);
            size_t len = (size_t)sqlite3_column_bytes(st, conv_col), k = 0;
            const char *end = p ? p + len : NULL;
            int bad = 0;
            buf_reset(&json);
            bad |= buf_append(&json, "[", 1);
            while (p && len && end[-1] == '\0' && p < end) {
                const char *key = p, *val;
                p += strlen(p) + 1;
                if (p >= end)
                    break;
                val = p;
                p += strlen(p) + 1;
                bad |= (k++ && buf_append(&json, ",", 1)) || buf_append(&json, "[", 1) ||
                       pg_json_str(&json, key) || buf_append(&json, ",", 1) ||
                       pg_json_str(&json, val) || buf_append(&json, "]", 1);
            }
            bad |= buf_append(&json, "]", 2);
            if (bad) {
                pg_err(e, STORE_ERR, "%s: out of memory", what);
                n = -1;
                break;
            }
            vals[conv_col] = json.data;
        }
        r = pg_exec(c, what, insert, cols, vals, e, NULL);
        if (!r) {
            n = -1;
            break;
        }
        PQclear(r);
        n++;
    }
    if (n >= 0 && rc != SQLITE_DONE) {
        pg_err(e, STORE_ERR, "%s: %s", what, sqlite3_errmsg(db));
        n = -1;
    }
    sqlite3_finalize(st);
    buf_free(&json);
    return n;
}

int store_pg_migrate_from_sqlite(const char *dir, const char *url, struct pg_migrate_stats *out,
                                 struct serr *e)
{
    static const struct {
        const char *what, *select, *insert;
        int conv;
    } tables[] = {
        {"accounts", "SELECT app_id, uin, flowlog_quota, rate_limit FROM accounts",
         "INSERT INTO accounts(app_id, uin, flowlog_quota, rate_limit) "
         "VALUES($1::bigint, $2, $3::bigint, $4::bigint)",
         -1},
        {"keys", "SELECT secret_id, secret_key, uin, actions, token, expires FROM keys",
         "INSERT INTO keys(secret_id, secret_key, uin, actions, token, expires) "
         "VALUES($1, $2, $3, $4, $5, $6::bigint)",
         -1},
        {"resources",
         "SELECT uin, region, kind, id, vpc_id, subnet_id, instance_id, name, cidr, "
         "instance_type, edition, nat_version, has_dnat, created_at, origin, attrs FROM resources",
         "INSERT INTO resources(uin, region, kind, id, vpc_id, subnet_id, instance_id, name, cidr, "
         "instance_type, edition, nat_version, has_dnat, created_at, origin, attrs) "
         "VALUES($1, $2, $3::int, $4, $5, $6, $7, $8, $9, $10, $11, $12::int, $13::int, "
         "$14::bigint, $15::int, $16)",
         -1},
        {"flow logs",
         "SELECT id, uin, region, vpc_id, name, description, resource_type, resource_id, "
         "traffic_type, cloud_log_id, cloud_log_region, cloud_log_state, storage_type, "
         "storage_id, storage_topic, period, enable, created_at, tags FROM flowlogs",
         "INSERT INTO flowlogs(" PG_FL_COLS ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
         "$11, $12, $13, $14, $15, $16::bigint, $17::int, $18::bigint, $19)",
         18},
        {"flow-log tags", "SELECT flowlog_id, key, value, pos, uin, region FROM flowlog_tags",
         "INSERT INTO flowlog_tags(flowlog_id, key, value, pos, uin, region) "
         "VALUES($1, $2, $3, $4::int, $5, $6)",
         -1},
    };
    struct store *st;
    struct store_pg *s;
    sqlite3 *db = NULL;
    PGconn *c = NULL;
    PGresult *r;
    char path[4200];
    int rc = STORE_ERR;

    memset(out, 0, sizeof *out);
    /* both schemas to this build's version */
    if (!(st = store_open_sqlite(dir, e)))
        return STORE_ERR;
    store_close(st);
    if (!(st = store_open_pg(url, e)))
        return STORE_ERR;
    s = (struct store_pg *)st;
    c = pg_connect(s, e);
    if (!c)
        goto done;
    snprintf(path, sizeof path, "%s/flowlogd.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        pg_err(e, STORE_ERR, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        goto done;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        pg_err(e, STORE_ERR, "%s: %s", path, sqlite3_errmsg(db));
        goto done;
    }
    if (pg_cmd(c, "migrate", "BEGIN", 0, NULL, e) != STORE_OK ||
        pg_cmd(c, "migrate", "LOCK TABLE accounts IN EXCLUSIVE MODE", 0, NULL, e) != STORE_OK)
        goto done;
    if (!(r = pg_exec(c, "migrate", "SELECT 1 FROM accounts LIMIT 1", 0, NULL, e, NULL)))
        goto done;
    if (PQntuples(r)) {
        PQclear(r);
        pg_err(e, STORE_ERR, "the PostgreSQL store already has accounts: migrate fills an empty one");
        goto done;
    }
    PQclear(r);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        long n = copy_rows(db, c, tables[i].what, tables[i].select, tables[i].insert,
                           tables[i].conv, e);
        if (n < 0)
            goto done;
        out->rows[i] = (uint64_t)n;
    }
    if (pg_cmd(c, "migrate commit", "COMMIT", 0, NULL, e) != STORE_OK)
        goto done;
    rc = STORE_OK;
done:
    if (db) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    if (c)
        PQfinish(c); /* an open transaction is rolled back */
    if (rc == STORE_OK)
        rc = store_integrity_check(st, e);
    store_close(st);
    return rc;
}
