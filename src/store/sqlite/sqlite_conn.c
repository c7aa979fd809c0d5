/* sqlite_conn.c: one connection and its statement table, and the small
 * helpers every file of store/sqlite uses. The bottom of the backend: it
 * includes no other file of it but sqlite_int.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/sqlite/sqlite_int.h"

#define X(id, sql) sql,
static const char *const stmt_sql[ST__COUNT] = {STMTS(X)};
#undef X

int sq_fail(sqlite3 *db, const char *what, struct serr *e)
{
    return sq_err(e, STORE_ERR, "%s: %s", what, db ? sqlite3_errmsg(db) : "no connection");
}

sqlite3_stmt *sq_stmt(struct conn *c, enum stmt_id id, struct serr *e)
{
    if (!c->st[id] && sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                         &c->st[id], NULL) != SQLITE_OK) {
        sq_fail(c->db, "prepare", e);
        c->st[id] = NULL;
    }
    return c->st[id];
}

int sq_exec(struct conn *c, sqlite3_stmt *st, struct serr *e)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE)
        sq_fail(c->db, "sqlite", e);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : STORE_ERR;
}

int sq_exec_id(struct conn *c, enum stmt_id id, struct serr *e)
{
    sqlite3_stmt *st = sq_stmt(c, id, e);
    return st ? sq_exec(c, st, e) : STORE_ERR;
}

int sq_bind_str(sqlite3_stmt *st, int i, const char *s, size_t cap)
{
    return sqlite3_bind_text(st, i, s, (int)strnlen(s, cap), SQLITE_STATIC);
}

int sq_bind_cstr(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

void sq_bind_resource(sqlite3_stmt *st, const char *uin, const struct resource *r)
{
    sq_bind_cstr(st, 1, uin);
    sq_bind_str(st, 2, r->region, sizeof r->region);
    sqlite3_bind_int(st, 3, (int)r->kind);
    sq_bind_str(st, 4, r->id, sizeof r->id);
    sq_bind_str(st, 5, r->vpc_id, sizeof r->vpc_id);
    sq_bind_str(st, 6, r->subnet_id, sizeof r->subnet_id);
    sq_bind_str(st, 7, r->instance_id, sizeof r->instance_id);
    sq_bind_str(st, 8, r->name, sizeof r->name);
    sq_bind_str(st, 9, r->cidr, sizeof r->cidr);
    sq_bind_str(st, 10, r->instance_type, sizeof r->instance_type);
    sq_bind_str(st, 11, r->edition, sizeof r->edition);
    sqlite3_bind_int(st, 12, r->nat_version);
    sqlite3_bind_int(st, 13, r->has_dnat);
    sqlite3_bind_int64(st, 14, r->created_at);
    sq_bind_str(st, 15, r->addrs, sizeof r->addrs);
}

sqlite3_stmt *sq_prepare_once(struct conn *c, const char *sql, struct serr *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sq_fail(c->db, "prepare", e);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

void sq_col_str(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *p = sqlite3_column_text(st, i);
    size_t n = p ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, p, n);
    dst[n] = '\0';
}

long sq_env_long(const char *name, long def)
{
    const char *v = getenv(name);
    uint64_t n;
    if (!v || parse_u64(v, strlen(v), &n) != 0 || n == 0 || n > (1u << 30))
        return def;
    return (long)n;
}

#define WAL_CEILING_MB_DEFAULT 64
#define WAL_CEILING_MB_MAX (1L << 20)

int sq_env_wal_ceiling(long long *bytes, struct serr *e)
{
    const char *v = getenv("FLOWLOGD_SQLITE_WAL_MB");
    uint64_t mb = WAL_CEILING_MB_DEFAULT;

    if (v && *v && (parse_u64(v, strlen(v), &mb) != 0 || mb > WAL_CEILING_MB_MAX))
        return sq_err(e, STORE_ERR, "FLOWLOGD_SQLITE_WAL_MB=%s: not a size in MB (0 to %ld)", v,
                      WAL_CEILING_MB_MAX);
    *bytes = (long long)mb * 1024 * 1024;
    return STORE_OK;
}

int sq_conn_init(struct conn *c, const char *path, const char *vfs, const char *pragmas,
                 struct serr *e)
{
    char *msg = NULL;
    int rc = STORE_OK;

    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, vfs) !=
        SQLITE_OK)
        return sq_fail(c->db, path, e);
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    if (pragmas && sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK)
        rc = sq_err(e, STORE_ERR, "%s: %s", path, msg ? msg : "pragma failed");
    sqlite3_free(msg);
    return rc;
}

void sq_conn_fini(struct conn *c)
{
    for (int i = 0; i < ST__COUNT; i++) {
        sqlite3_finalize(c->st[i]);
        c->st[i] = NULL;
    }
    for (size_t i = 0; i < SHAPE_SLOTS; i++) {
        sqlite3_finalize(c->shapes[i].count);
        sqlite3_finalize(c->shapes[i].page);
        memset(&c->shapes[i], 0, sizeof c->shapes[i]);
    }
    sqlite3_close_v2(c->db);
    c->db = NULL;
    free(c->tags);
    c->tags = NULL;
    c->tags_cap = 0;
}
