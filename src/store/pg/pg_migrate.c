/* pg_migrate.c: `flowlogd migrate --from DIR --to postgresql://...`: copies
 * a SQLite data directory into an empty PostgreSQL store, in ONE
 * transaction (all or nothing). The SQLite file is read in one read
 * transaction (a consistent snapshot; a server may keep running on it, but
 * what it writes after the snapshot is not copied: stop it first). Both
 * schemas are brought to this build's version first by opening both stores
 * through store.h. Rows go in with COPY; the counters (region_usage,
 * vpc_usage) are kept by the PostgreSQL triggers as they do (COPY fires
 * row triggers); the check runs at the end. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "store/pg/pg.h"
#include "store/pg/pg_int.h"

/* Appends v to a COPY text-format line, escaped. 0 or -1. */
static int copy_field(struct buf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '\t' ? "\\t" : *p == '\n' ? "\\n"
                        : *p == '\r' ? "\\r" : NULL;
        if (esc ? buf_puts(b, esc) : buf_append(b, p, 1))
            return -1;
    }
    return 0;
}

/* Copies every row of `select` (SQLite) into `table(cols)` (PostgreSQL) with
 * COPY ... FROM STDIN (text format): column i of the select is column i of
 * cols. Column `conv_col` (if >= 0) is the tags blob ("k\0v\0...") and goes
 * in as JSON; column `bytea_col` (if >= 0) is a blob that goes in as bytea
 * (hex). Returns the rows copied or -1 with e set. */
static long copy_rows(sqlite3 *db, PGconn *c, const char *what, const char *select,
                      const char *copy_sql, int conv_col, int bytea_col, struct serr *e)
{
    sqlite3_stmt *st = NULL;
    long n = 0;
    int rc = SQLITE_DONE, cols, bad = 0;
    struct buf json, line;
    PGresult *r;

    buf_init(&json, 1u << 24);
    buf_init(&line, 1u << 26);
    if (sqlite3_prepare_v2(db, select, -1, &st, NULL) != SQLITE_OK) {
        pg_err(e, STORE_ERR, "%s: %s", what, sqlite3_errmsg(db));
        return -1;
    }
    r = PQexec(c, copy_sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        pg_err(e, STORE_ERR, "%s: %s", what, PQerrorMessage(c));
        PQclear(r);
        sqlite3_finalize(st);
        return -1;
    }
    PQclear(r);
    cols = sqlite3_column_count(st);
    while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        buf_reset(&line);
        for (int i = 0; i < cols && !bad; i++) {
            const char *v = sqlite3_column_type(st, i) == SQLITE_NULL
                                ? ""
                                : (const char *)sqlite3_column_text(st, i);
            if (i == conv_col) {
                /* "k\0v\0..." -> [["k","v"],...] */
                const char *p = sqlite3_column_blob(st, i);
                size_t len = (size_t)sqlite3_column_bytes(st, i), k = 0;
                const char *end = p ? p + len : NULL;
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
                           jw_buf_str(&json, key) || buf_append(&json, ",", 1) ||
                           jw_buf_str(&json, val) || buf_append(&json, "]", 1);
                }
                bad |= buf_append(&json, "]", 2);
                v = json.data;
            }
            if (i == bytea_col) {
                /* bytea's hex input, its backslash escaped for COPY's text */
                static const char hx[] = "0123456789abcdef";
                const unsigned char *b = sqlite3_column_blob(st, i);
                size_t len = (size_t)sqlite3_column_bytes(st, i);
                bad |= (i && buf_append(&line, "\t", 1)) || buf_puts(&line, "\\\\x");
                for (size_t k = 0; b && k < len && !bad; k++) {
                    char two[2] = {hx[b[k] >> 4], hx[b[k] & 15]};
                    bad |= buf_append(&line, two, 2);
                }
                continue;
            }
            bad |= (i && buf_append(&line, "\t", 1)) || copy_field(&line, v ? v : "");
        }
        bad |= buf_append(&line, "\n", 1);
        if (!bad && PQputCopyData(c, line.data, (int)line.len) != 1)
            break;
        n++;
    }
    if (bad)
        pg_err(e, STORE_ERR, "%s: out of memory", what);
    else if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        pg_err(e, STORE_ERR, "%s: %s", what, sqlite3_errmsg(db));
    if (PQputCopyEnd(c, bad || rc != SQLITE_DONE ? "flowlogd migrate failed" : NULL) != 1 ||
        !(r = PQgetResult(c)) || PQresultStatus(r) != PGRES_COMMAND_OK) {
        if (!bad && rc == SQLITE_DONE)
            pg_err(e, STORE_ERR, "%s: %s", what, PQerrorMessage(c));
        n = -1;
    }
    if (bad || rc != SQLITE_DONE)
        n = -1;
    PQclear(r);
    while ((r = PQgetResult(c)))
        PQclear(r);
    sqlite3_finalize(st);
    buf_free(&json);
    buf_free(&line);
    return n;
}

int store_pg_migrate_from_sqlite(const char *dir, const char *url, struct pg_migrate_stats *out,
                                 struct serr *e)
{
    static const struct {
        const char *what, *select, *copy;
        int conv, bytea;
    } tables[] = {
        {"accounts", "SELECT app_id, uin, flowlog_quota, rate_limit FROM accounts",
         "COPY accounts(app_id, uin, flowlog_quota, rate_limit) FROM STDIN",
         -1, -1},
        {"keys", "SELECT secret_id, secret_key, uin, actions, token, expires FROM keys",
         "COPY keys(secret_id, secret_key, uin, actions, token, expires) FROM STDIN",
         -1, -1},
        {"resources",
         "SELECT uin, region, kind, id, vpc_id, subnet_id, instance_id, name, cidr, "
         "instance_type, edition, nat_version, has_dnat, created_at, origin, attrs, addrs, "
         "brokers FROM resources",
         "COPY resources(uin, region, kind, id, vpc_id, subnet_id, instance_id, name, cidr, "
         "instance_type, edition, nat_version, has_dnat, created_at, origin, attrs, addrs, "
         "brokers) "
         "FROM STDIN",
         -1, -1},
        /* both stores name the columns as FLOWLOG_FIELDS' members (the
         * SQLite file is at this build's schema: opened just above) */
        {"flow logs", "SELECT " STORE_FL_COLS " FROM flowlogs",
         "COPY flowlogs(" PG_FL_COLS ") FROM STDIN", STORE_FLC_tags, -1},
        {"flow-log tags", "SELECT flowlog_id, key, value, pos, uin, region FROM flowlog_tags",
         "COPY flowlog_tags(flowlog_id, key, value, pos, uin, region) FROM STDIN",
         -1, -1},
        {"host bindings", "SELECT uin, region, kind, id, host, device, netns FROM host_bindings",
         "COPY host_bindings(uin, region, kind, id, host, device, netns) FROM STDIN", -1, -1},
        {"agent keys", "SELECT secret_id, secret_key, host, created_at FROM agent_keys",
         "COPY agent_keys(secret_id, secret_key, host, created_at) FROM STDIN", -1, -1},
        /* the cls service: logsets, topics (their tnum kept: it keys the
         * logs and batches), logs, batches; tags and contents are bytea */
        {"cls logsets", "SELECT id, uin, region, name, created_at, tags FROM cls_logsets",
         "COPY cls_logsets(id, uin, region, name, created_at, tags) FROM STDIN", -1, 5},
        {"cls topics",
         "SELECT tnum, id, uin, region, logset_id, name, period, status, storage_type, "
         "describes, partition_count, created_at, tags FROM cls_topics",
         "COPY cls_topics(tnum, id, uin, region, logset_id, name, period, status, storage_type, "
         "describes, partition_count, created_at, tags) FROM STDIN",
         -1, 12},
        {"cls logs", "SELECT topic, time_ms, seq, source, filename, contents FROM cls_logs",
         "COPY cls_logs(topic, time_ms, seq, source, filename, contents) FROM STDIN", -1, 5},
        {"cls batches", "SELECT topic, batch, created_at FROM cls_batches",
         "COPY cls_batches(topic, batch, created_at) FROM STDIN", -1, -1},
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
        long n = copy_rows(db, c, tables[i].what, tables[i].select, tables[i].copy,
                           tables[i].conv, tables[i].bytea, e);
        if (n < 0)
            goto done;
        out->rows[i] = (uint64_t)n;
    }
    /* the topics' numbering and the logs' arrival order go on after the
     * copied ones */
    {
        sqlite3_stmt *q = NULL;
        char seq[24] = "0";
        if (sqlite3_prepare_v2(db, "SELECT v FROM cls_meta WHERE k = 'seq'", -1, &q, NULL) !=
            SQLITE_OK) {
            pg_err(e, STORE_ERR, "cls seq: %s", sqlite3_errmsg(db));
            goto done;
        }
        if (sqlite3_step(q) == SQLITE_ROW)
            snprintf(seq, sizeof seq, "%lld", (long long)sqlite3_column_int64(q, 0));
        sqlite3_finalize(q);
        const char *p[1] = {seq};
        if (pg_cmd(c, "migrate cls seq", "UPDATE cls_meta SET v = greatest(v, $1::bigint) "
                                         "WHERE k = 'seq'", 1, p, e) != STORE_OK ||
            pg_cmd(c, "migrate cls topics",
                   "SELECT setval(pg_get_serial_sequence('cls_topics', 'tnum'), "
                   "(SELECT coalesce(max(tnum), 0) + 1 FROM cls_topics), false)",
                   0, NULL, e) != STORE_OK)
            goto done;
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
