/* sqlite_int.h: the bottom layer of store/sqlite (not for other layers):
 * one SQLite connection with its statement table and the helpers every
 * file uses (sqlite_conn.c). Nothing here knows of threads, locks, engines
 * or the VFS; see sqlite_engine.h for the layout of the backend.
 */
#ifndef FLOWLOGD_STORE_SQLITE_INT_H
#define FLOWLOGD_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_util.h"

/* How long a connection waits for another's lock, in ms (every connection). */
#define SQ_BUSY_TIMEOUT_MS 5000

/* Columns of a flow log (store_util.h's STORE_FL_COLS: store.h's
 * FLOWLOG_FIELDS, named as the members), in the order row_to_flowlog reads
 * and the insert binds them: every field in row order, then the tags
 * column ("key\0value\0..."). FL_PARAMS: one parameter per column. */
#define FL_COLS STORE_FL_COLS
#define FL_PARAM_STR "?, "
#define FL_PARAM_TIME "?, "
#define FL_PARAM_BOOL "?, "
#define FL_PARAM_PERIOD "?, "
#define FL_PARAM_KIND "?, "
#define FL_PARAM_TAGS ""
#define FL_PARAM(kind, member, size, wire, group) FL_PARAM_##kind
#define FL_PARAMS FLOWLOG_FIELDS(FL_PARAM) "?"

/* A tenant's flow logs in a region (?1 uin, ?2 region): the sum of its
 * per-VPC counts (every flow log has one vpc_usage row, '' for CCN). The
 * quota check and DescribeFlowLogs' unfiltered TotalCount. */
#define REGION_COUNT_SQL                                                                         \
    "SELECT coalesce(sum(flowlogs), 0) FROM vpc_usage WHERE uin = ?1 AND region = ?2"

/* A resource row's columns, of a join's `r` (sqlite_resource.c reads them
 * in this order). */
#define RES_COLS_R                                                                               \
    "r.kind, r.region, r.id, r.vpc_id, r.subnet_id, r.instance_id, r.name, r.cidr, "             \
    "r.instance_type, r.edition, r.nat_version, r.has_dnat, r.created_at, r.attrs, r.addrs"

/* A page of a tenant's resources of a kind (?1 uin, ?2 region, ?3 kind) in
 * creation order, ?9 Limit, ?10 Offset: the keys from the small index
 * (its entries are skipped, not rows), then the page's rows. `after` is
 * "" or a seek past the key (?4 created_at, ?5 id) where an earlier page
 * ended. */
#define RES_PAGE_SQL(after)                                                                      \
    "SELECT " RES_COLS_R " FROM (SELECT id, created_at FROM resources "                          \
    "INDEXED BY resources_created WHERE uin = ?1 AND region = ?2 AND kind = ?3" after            \
    " ORDER BY created_at, id LIMIT ?9 OFFSET ?10) p JOIN resources r "                          \
    "ON r.uin = ?1 AND r.region = ?2 AND r.kind = ?3 AND r.id = p.id "                           \
    "ORDER BY p.created_at, p.id"

/* Every fixed statement: id and SQL. Prepared lazily, once per connection,
 * with SQLITE_PREPARE_PERSISTENT. W_ ones run on the writer connection,
 * R_ ones on reader connections. */
#define STMTS(X)                                                                                 \
    X(W_BEGIN, "BEGIN IMMEDIATE")                                                                \
    X(W_COMMIT, "COMMIT")                                                                        \
    X(W_ROLLBACK, "ROLLBACK")                                                                    \
    X(W_SAVEPOINT, "SAVEPOINT job")                                                              \
    X(W_RELEASE, "RELEASE job")                                                                  \
    X(W_ROLLBACK_TO, "ROLLBACK TO job")                                                          \
    X(W_ACCOUNT_GET,                                                                             \
      "SELECT app_id, uin, flowlog_quota, rate_limit FROM accounts WHERE uin = ?1")              \
    X(W_ACCOUNT_TAKEN, "SELECT 1 FROM accounts WHERE app_id = ?1 OR uin = ?2")                   \
    X(W_ACCOUNT_INSERT,                                                                          \
      "INSERT INTO accounts(app_id, uin, flowlog_quota, rate_limit) VALUES(?1, ?2, ?3, ?4)")     \
    X(W_KEY_TAKEN, "SELECT 1 FROM keys WHERE secret_id = ?1")                                    \
    X(W_KEY_INSERT,                                                                              \
      "INSERT INTO keys(secret_id, secret_key, uin, actions, token, expires) "                   \
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6)")                                                          \
    X(W_RES_UPSERT,                                                                              \
      "INSERT INTO resources(uin, region, kind, id, vpc_id, subnet_id, instance_id, name, cidr, " \
      "instance_type, edition, nat_version, has_dnat, created_at, addrs, brokers) "              \
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) "           \
      "ON CONFLICT(uin, region, kind, id) DO UPDATE SET vpc_id = excluded.vpc_id, "              \
      "subnet_id = excluded.subnet_id, instance_id = excluded.instance_id, "                     \
      "name = excluded.name, cidr = excluded.cidr, instance_type = excluded.instance_type, "     \
      "edition = excluded.edition, nat_version = excluded.nat_version, "                         \
      "has_dnat = excluded.has_dnat, addrs = excluded.addrs, brokers = excluded.brokers "      \
      /* keeps the creation time */                                                              \
      "WHERE (vpc_id, subnet_id, instance_id, name, cidr, instance_type, edition, nat_version, " \
      "has_dnat, addrs, brokers) IS NOT (excluded.vpc_id, excluded.subnet_id, "                  \
      "excluded.instance_id, excluded.name, excluded.cidr, excluded.instance_type, "             \
      "excluded.edition, excluded.nat_version, excluded.has_dnat, excluded.addrs, "              \
      "excluded.brokers)")                                                                       \
    X(W_FL_OF_RESOURCE,                                                                          \
      "SELECT id FROM flowlogs WHERE uin = ?1 AND region = ?2 AND resource_kind = ?3 "           \
      "AND resource_id = ?4")                                                                    \
    X(W_FL_QUOTA,                                                                                \
      "SELECT (" REGION_COUNT_SQL "), "                                                          \
      "CASE WHEN ?3 > 0 THEN ?3 ELSE (SELECT flowlog_quota FROM accounts WHERE uin = ?1) END")   \
    X(W_FL_INSERT,                                                                               \
      "INSERT INTO flowlogs(" FL_COLS ") VALUES(" FL_PARAMS ")")                                \
    X(W_TAG_INSERT,                                                                              \
      "INSERT INTO flowlog_tags(flowlog_id, key, value, pos, uin, region) "                      \
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6)")                                                          \
    X(W_FL_UPDATE,                                                                               \
      "UPDATE flowlogs SET name = coalesce(?4, name), description = coalesce(?5, description), " \
      "period = CASE WHEN ?6 > 0 THEN ?6 ELSE period END, "                                      \
      "record_format = coalesce(?7, record_format) "                                             \
      "WHERE id = ?3 AND uin = ?1 AND region = ?2")                                              \
    X(W_FL_DELETE, "DELETE FROM flowlogs WHERE id = ?3 AND uin = ?1 AND region = ?2")           \
    X(W_TAG_DELETE, "DELETE FROM flowlog_tags WHERE flowlog_id = ?1")                            \
    X(W_FL_ENABLE, "UPDATE flowlogs SET enable = ?4 WHERE id = ?3 AND uin = ?1 AND region = ?2") \
    X(R_BEGIN, "BEGIN")                                                                          \
    X(R_COMMIT, "COMMIT")                                                                        \
    X(R_KEY_LOOKUP,                                                                              \
      "SELECT k.secret_id, k.secret_key, k.actions, a.app_id, a.uin, a.flowlog_quota, "          \
      "a.rate_limit, k.token, k.expires FROM keys k JOIN accounts a ON a.uin = k.uin "           \
      "WHERE k.secret_id = ?1")                                                                  \
    X(R_RES_GET,                                                                                 \
      "SELECT kind, region, id, vpc_id, subnet_id, instance_id, name, cidr, instance_type, "     \
      "edition, nat_version, has_dnat, created_at, addrs, brokers FROM resources "               \
      "WHERE uin = ?1 AND region = ?2 AND kind = ?3 AND id = ?4")                                \
    X(R_RES_USAGE,                                                                               \
      "SELECT n, gen FROM resource_usage WHERE uin = ?1 AND region = ?2 AND kind = ?3")          \
    X(R_RES_PAGE, RES_PAGE_SQL(""))                                                              \
    X(R_RES_PAGE_AFTER, RES_PAGE_SQL(" AND (created_at, id) > (?4, ?5)"))                        \
    X(R_FL_GET, "SELECT " FL_COLS " FROM flowlogs WHERE id = ?3 AND uin = ?1 AND region = ?2")   \
    X(R_FL_VPCS,                                                                                 \
      "SELECT vpc_id FROM vpc_usage WHERE uin = ?1 AND region = ?2 AND flowlogs > 0 "            \
      "ORDER BY vpc_id LIMIT ?3")                                                                \
    X(R_ALL_TAGS, "SELECT id, tags FROM flowlogs")                                               \
    X(R_TAGS, "SELECT key, value FROM flowlog_tags WHERE flowlog_id = ?1 ORDER BY pos")          \
    X(R_TAG_OWNER_CHECK,                                                                         \
      "SELECT t.flowlog_id FROM flowlog_tags t JOIN flowlogs f ON f.id = t.flowlog_id "          \
      "WHERE t.uin IS NOT f.uin OR t.region IS NOT f.region LIMIT 1")                            \
    X(R_INTEGRITY, "PRAGMA integrity_check")                                                     \
    X(R_FK_CHECK, "PRAGMA foreign_key_check")                                                    \
    X(R_VPC_USAGE_CHECK,                                                                         \
      "SELECT uin, region, vpc_id FROM (SELECT uin, region, vpc_id, flowlogs AS n "              \
      "FROM vpc_usage UNION ALL SELECT uin, region, vpc_id, -count(*) FROM flowlogs "            \
      "GROUP BY uin, region, vpc_id) GROUP BY uin, region, vpc_id HAVING sum(n) != 0 LIMIT 1") \
    X(R_RES_USAGE_CHECK,                                                                         \
      "SELECT uin, region, kind FROM (SELECT uin, region, kind, n FROM resource_usage "          \
      "UNION ALL SELECT uin, region, kind, -count(*) FROM resources "                            \
      "GROUP BY uin, region, kind) GROUP BY uin, region, kind HAVING sum(n) != 0 LIMIT 1")

#define X(id, sql) ST_##id,
enum stmt_id { STMTS(X) ST__COUNT };
#undef X

/* Query shapes cached per connection (direct-mapped; sqlite_flowlog.c). */
#define SHAPE_SLOTS 64

struct shape_slot {
    uint32_t key; /* shape + 1; 0 = empty */
    sqlite3_stmt *count, *page;
};

/** One SQLite connection with its statement cache, used by one thread at a
 * time (the engine hands it out: a reader's for one read, the writer's for
 * one job). An engine may embed it in a larger struct of its own. */
struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
    struct shape_slot shapes[SHAPE_SLOTS];
    int busy; /* a read is running (guards against re-entry from callbacks) */
    /* a row's tag array, reused from row to row */
    struct tag *tags;
    size_t tags_cap;
};

/** Sets e->msg to "<what>: <sqlite3_errmsg>" and returns STORE_ERR. */
int sq_fail(sqlite3 *db, const char *what, struct serr *e);

/** Sets e->msg printf-style (e may be NULL). Returns rc. */
#define sq_err store_err /* store_util.h: the message into e, rc returned */

/** The statement `id` of c, prepared on first use; NULL with e set. */
sqlite3_stmt *sq_stmt(struct conn *c, enum stmt_id id, struct serr *e);

/** Runs a statement without result rows to completion and resets it.
 * STORE_OK or STORE_ERR with the message. */
int sq_exec(struct conn *c, sqlite3_stmt *st, struct serr *e);

/** Runs fixed statement `id` (no parameters). */
int sq_exec_id(struct conn *c, enum stmt_id id, struct serr *e);

/** Binds a NUL-terminated string of at most `cap` bytes; SQLITE_STATIC. */
int sq_bind_str(sqlite3_stmt *st, int i, const char *s, size_t cap);

/** Binds a C string (NULL binds SQL NULL); SQLITE_STATIC. */
int sq_bind_cstr(sqlite3_stmt *st, int i, const char *s);

/** Binds the columns every resource row has, as parameters ?1..?15 in the
 * order uin, region, kind, id, vpc_id, subnet_id, instance_id, name, cidr,
 * instance_type, edition, nat_version, has_dnat, created_at, addrs. */
void sq_bind_resource(sqlite3_stmt *st, const char *uin, const struct resource *r);

/** Prepares `sql` for one use (statements that are not in the fixed list);
 * the caller finalizes it. NULL with e set. */
sqlite3_stmt *sq_prepare_once(struct conn *c, const char *sql, struct serr *e);

/** Copies column i as text into dst[cap] (truncating, always terminated). */
void sq_col_str(sqlite3_stmt *st, int i, char *dst, size_t cap);

/** Opens c (zeroed by the caller) on the database file `path` through the
 * VFS `vfs` (NULL: SQLite's default), read-write, with extended result
 * codes, the busy timeout and then `pragmas` run. STORE_OK, or STORE_ERR
 * with e set (sq_conn_fini then frees what was made). */
int sq_conn_init(struct conn *c, const char *path, const char *vfs, const char *pragmas,
                 struct serr *e);

/** Finalizes c's statements (the fixed ones and the cached query shapes)
 * and closes it; c's memory stays the caller's. */
void sq_conn_fini(struct conn *c);

/** A positive integer from the environment (at most 2^30), or def. */
long sq_env_long(const char *name, long def);

/** The WAL's ceiling in bytes from FLOWLOGD_SQLITE_WAL_MB (default 64 MB;
 * 0: none) into *bytes. STORE_OK, or STORE_ERR for a value that is not a
 * size (both engines refuse to open then). */
int sq_env_wal_ceiling(long long *bytes, struct serr *e);

#endif
