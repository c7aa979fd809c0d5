/* sqlite.c: the SQLite store: files, connections, pragmas, schema and the
 * statement table. Reads run on one connection per calling thread; writes
 * go through the writer thread (sqlite_writer.c). */
#include "store/sqlite/sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "store/sqlite/sqlite_vfs.h"
#include "store/sqlite/sqlite_int.h"

/* ==== tuning (one place) ==== */

#define DB_FILE "flowlogd.db"
#define WRITER_CACHE_KB 32768         /* the one writer connection */
#define CKPT_CACHE_KB 1024            /* the checkpointer (copies frames outside the cache) */
#define READER_CACHE_KB_DEFAULT 8192  /* per reader thread; FLOWLOGD_SQLITE_READ_CACHE_KB */
#define WAL_BUFFER_BYTES (4u << 20)  /* the writer's WAL write buffer */
#define MMAP_MB_DEFAULT 2048 /* address space only (pages are the OS cache); FLOWLOGD_SQLITE_MMAP_MB */
/* Checkpoints run on their own thread (sqlite_writer.c). It starts once the
 * WAL holds CKPT_PAGES_DEFAULT frames (FLOWLOGD_SQLITE_CKPT_PAGES); the
 * writer restarts the WAL when that thread has caught up and few frames are
 * left to copy (the file peaks at ~350 MB under sustained creates), and in
 * any case at CKPT_HARD_FACTOR times as many (144,000 frames, ~590 MB).
 * Measured with creates at 64 connections: 16,000 beat 4,000, 8,000 and
 * 10,000 (fewer passes copy each hot page fewer times, and fewer database
 * fsyncs compete with the writer's); once the RESTART waited for a short
 * backlog (RESTART_BACKLOG_DIVISOR), 32,000 beat 16,000 and 48,000 beat
 * 32,000 (+7-10 % creates in 20 s runs; the 90/10 mix -1-5 %: its reads
 * search a longer WAL). Fewer restarts alone (restarting at 48,000 with
 * passes from 32,000) did not help: the passes are what costs. */
#define CKPT_PAGES_DEFAULT 48000
#define CKPT_HARD_FACTOR 3
#define CKPT_TAIL_DIVISOR 8 /* "caught up": a pass copied at most pages / 8 frames */
#define RESTART_BACKLOG_DIVISOR 64 /* the RESTART waits for at most pages / 64 to copy, */
#define RESTART_BACKLOG_MIN 128    /* or this many (~1 ms of copying): no point in fewer */
#define CKPT_PAGES_MIN 64
#define CKPT_PAGES_MAX 1000000
/* The WAL's ceiling (FLOWLOGD_SQLITE_WAL_MB, default WAL_CEILING_MB_DEFAULT;
 * 0: none). With a ceiling, the hard limit (the writer's RESTART whatever it
 * costs) is 90 % of it and the background checkpoints start at half of that
 * (unless FLOWLOGD_SQLITE_CKPT_PAGES asks for fewer: the larger the interval
 * between checkpoints, the fewer times a hot page is copied), a valve
 * RESTART that readers refused is tried again ckpt_pages / 4 frames later
 * (not / 2), and
 * journal_size_limit is the ceiling: the file is cut back to it when the
 * WAL starts again, so it stays under the ceiling whenever the RESTARTs
 * succeed (a reader that keeps old frames can hold one back: the WAL then
 * grows until the reader lets go). Once the writes stop for
 * WAL_IDLE_TRUNCATE_MS the writer empties the file (sqlite_writer.c). */
#define WAL_CEILING_MB_DEFAULT 64
#define CKPT_CEILING_FACTOR 2 /* hard limit / checkpoint threshold under a ceiling */
#define WAL_CEILING_MB_MAX (1L << 20)
/* Without a ceiling, journal_size_limit is WAL_LIMIT_BYTES, raised at open to
 * 1.25 times the hard limit if that is more, so that the file keeps its size
 * from one cycle to the next instead of growing anew (every fsync of a
 * growing file also commits its new size). */
#define WAL_LIMIT_BYTES (64LL * 1024 * 1024)
#define WAL_FRAME_BYTES (4096 + 24) /* a frame of the default page size */

/* ==== schema ==== */

/* migrations[v] brings a database from user_version v to v + 1. Append only;
 * never edit a shipped step. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE accounts("
    "  app_id INTEGER PRIMARY KEY,"
    "  uin TEXT NOT NULL UNIQUE,"
    "  flowlog_quota INTEGER NOT NULL CHECK (flowlog_quota >= 0),"
    "  rate_limit INTEGER NOT NULL DEFAULT 0 CHECK (rate_limit >= 0));"
    "CREATE TABLE keys("
    "  secret_id TEXT PRIMARY KEY,"
    "  secret_key TEXT NOT NULL,"
    "  uin TEXT NOT NULL REFERENCES accounts(uin),"
    "  actions TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
    "CREATE INDEX keys_uin ON keys(uin);"
    /* origin: 0 = inventory import, 1 = created through the API (later) */
    "CREATE TABLE resources("
    "  uin TEXT NOT NULL REFERENCES accounts(uin),"
    "  region TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  id TEXT NOT NULL,"
    "  vpc_id TEXT NOT NULL DEFAULT '',"
    "  subnet_id TEXT NOT NULL DEFAULT '',"
    "  instance_id TEXT NOT NULL DEFAULT '',"
    "  name TEXT NOT NULL DEFAULT '',"
    "  cidr TEXT NOT NULL DEFAULT '',"
    "  instance_type TEXT NOT NULL DEFAULT '',"
    "  edition TEXT NOT NULL DEFAULT '',"
    "  nat_version INTEGER NOT NULL DEFAULT 0,"
    "  has_dnat INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL DEFAULT 0,"
    "  origin INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (uin, region, kind, id)) WITHOUT ROWID;"
    "CREATE INDEX resources_vpc ON resources(uin, region, vpc_id);"
    /* clustered by tenant and creation time: the default DescribeFlowLogs
     * page is adjacent rows, not one seek per row */
    "CREATE TABLE flowlogs("
    "  id TEXT NOT NULL,"
    "  uin TEXT NOT NULL REFERENCES accounts(uin),"
    "  region TEXT NOT NULL,"
    "  vpc_id TEXT NOT NULL DEFAULT '',"
    "  name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  resource_type TEXT NOT NULL,"
    "  resource_id TEXT NOT NULL,"
    "  traffic_type TEXT NOT NULL,"
    "  cloud_log_id TEXT NOT NULL DEFAULT '',"
    "  cloud_log_region TEXT NOT NULL DEFAULT '',"
    "  cloud_log_state TEXT NOT NULL DEFAULT '',"
    "  storage_type TEXT NOT NULL DEFAULT '',"
    "  storage_id TEXT NOT NULL DEFAULT '',"
    "  storage_topic TEXT NOT NULL DEFAULT '',"
    "  period INTEGER NOT NULL DEFAULT 0,"
    "  enable INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER NOT NULL,"
    /* the tags again, "key\0value\0..." in the order given: rows are read
     * without a second lookup; flowlog_tags (same job) serves the filters */
    "  tags BLOB NOT NULL DEFAULT x'',"
    "  PRIMARY KEY (uin, region, created_at, id)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX flowlogs_id ON flowlogs(id);"
    /* a resource has at most one flow log; the column order lets this index
     * also serve the ResourceId filter */
    "CREATE UNIQUE INDEX flowlogs_resource ON flowlogs(uin, region, resource_id, resource_type);"
    "CREATE INDEX flowlogs_name ON flowlogs(uin, region, name, id);"
    "CREATE INDEX flowlogs_vpc ON flowlogs(uin, region, vpc_id);"
    /* pos keeps the tags in the order they were given; uin and region
     * (the flow log's) scope the tag index to one tenant */
    "CREATE TABLE flowlog_tags("
    "  flowlog_id TEXT NOT NULL REFERENCES flowlogs(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL DEFAULT '',"
    "  pos INTEGER NOT NULL,"
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  PRIMARY KEY (flowlog_id, key)) WITHOUT ROWID;"
    "CREATE INDEX flowlog_tags_kv ON flowlog_tags(uin, region, key, value, flowlog_id);"
    /* flow logs per (uin, region), kept by triggers so a quota check is one
     * lookup whatever the table's size, and right for every writer */
    "CREATE TABLE region_usage("
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  flowlogs INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (uin, region)) WITHOUT ROWID;"
    "CREATE TRIGGER flowlogs_count_ins AFTER INSERT ON flowlogs BEGIN"
    "  INSERT INTO region_usage(uin, region, flowlogs) VALUES (NEW.uin, NEW.region, 1)"
    "  ON CONFLICT (uin, region) DO UPDATE SET flowlogs = flowlogs + 1;"
    " END;"
    "CREATE TRIGGER flowlogs_count_del AFTER DELETE ON flowlogs BEGIN"
    "  UPDATE region_usage SET flowlogs = flowlogs - 1"
    "  WHERE uin = OLD.uin AND region = OLD.region;"
    " END;"
    "CREATE TRIGGER flowlogs_key_fixed BEFORE UPDATE OF id, uin, region, created_at ON flowlogs"
    "  WHEN NEW.id IS NOT OLD.id OR NEW.uin IS NOT OLD.uin OR NEW.region IS NOT OLD.region"
    "  OR NEW.created_at IS NOT OLD.created_at"
    " BEGIN SELECT RAISE(ABORT, 'a flow log keeps its id, uin, region and created_at'); END;"
    /* Fixed planner statistics (shape of a large deployment: ~100 flow logs
     * per tenant and region) so that plans do not depend on whether ANALYZE
     * ever ran: a selective filter's index beats scanning in ORDER BY order.
     * A later ANALYZE or PRAGMA optimize replaces them with measured ones. */
    "ANALYZE sqlite_master;"
    "DELETE FROM sqlite_stat1;"
    "INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES"
    "  ('flowlogs', 'flowlogs', '1000000 100 100 2 1'),"
    "  ('flowlogs', 'flowlogs_id', '1000000 1'),"
    "  ('flowlogs', 'flowlogs_resource', '1000000 100 100 1 1'),"
    "  ('flowlogs', 'flowlogs_name', '1000000 100 100 5 1'),"
    "  ('flowlogs', 'flowlogs_vpc', '1000000 100 100 20'),"
    "  ('flowlog_tags', 'flowlog_tags', '2000000 2 1'),"
    "  ('flowlog_tags', 'flowlog_tags_kv', '2000000 200 200 50 10 1');",
    /* 1 -> 2: resources created through the API: their display-only
     * attributes (JSON), ids unique across tenants, and what a delete must
     * find (a subnet's ENIs, an instance's ENIs) without a scan */
    "ALTER TABLE resources ADD COLUMN attrs TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX resources_id ON resources(id);"
    "CREATE INDEX resources_subnet ON resources(uin, region, subnet_id);"
    "CREATE INDEX resources_instance ON resources(uin, region, instance_id);",
    /* 2 -> 3: DescribeFlowLogs with VpcId in flowLogName order read every
     * row of the VPC (one seek each) and sorted them; this index gives the
     * page in order, and still counts a VPC's rows on its own. In createTime
     * order a VpcId page now walks the tenant's rows in key order (bounded
     * by the account's quota). Same number of B-trees per insert. */
    "DROP INDEX flowlogs_vpc;"
    "CREATE INDEX flowlogs_vpc_name ON flowlogs(uin, region, vpc_id, name, id);"
    "DELETE FROM sqlite_stat1 WHERE idx = 'flowlogs_vpc';"
    "INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES"
    "  ('flowlogs', 'flowlogs_vpc_name', '1000000 100 100 20 1 1');",
    /* 3 -> 4: flow logs per (uin, region, vpc_id), kept by triggers like
     * region_usage: DescribeFlowLogs filtered by VpcId alone (the common
     * filter) counted ~100 index entries per request, 12 us of its 60;
     * now one lookup. A flow log's VPC no longer changes (nothing changed
     * it; the trigger makes it a rule, as for its id). */
    "CREATE TABLE vpc_usage("
    "  uin TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  vpc_id TEXT NOT NULL,"
    "  flowlogs INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (uin, region, vpc_id)) WITHOUT ROWID;"
    "INSERT INTO vpc_usage(uin, region, vpc_id, flowlogs)"
    "  SELECT uin, region, vpc_id, count(*) FROM flowlogs GROUP BY uin, region, vpc_id;"
    "CREATE TRIGGER flowlogs_vpc_count_ins AFTER INSERT ON flowlogs BEGIN"
    "  INSERT INTO vpc_usage(uin, region, vpc_id, flowlogs)"
    "  VALUES (NEW.uin, NEW.region, NEW.vpc_id, 1)"
    "  ON CONFLICT (uin, region, vpc_id) DO UPDATE SET flowlogs = flowlogs + 1;"
    " END;"
    "CREATE TRIGGER flowlogs_vpc_count_del AFTER DELETE ON flowlogs BEGIN"
    "  UPDATE vpc_usage SET flowlogs = flowlogs - 1"
    "  WHERE uin = OLD.uin AND region = OLD.region AND vpc_id = OLD.vpc_id;"
    " END;"
    "CREATE TRIGGER flowlogs_vpc_fixed BEFORE UPDATE OF vpc_id ON flowlogs"
    "  WHEN NEW.vpc_id IS NOT OLD.vpc_id"
    " BEGIN SELECT RAISE(ABORT, 'a flow log keeps its vpc_id'); END;",
    /* 4 -> 5: a tenant's count in a region is the sum of its per-VPC counts
     * (every flow log has one vpc_id row, '' for CCN), so region_usage and
     * its triggers go: one B-tree and one trigger less per create (+5.5 %
     * creates). The quota check and the unfiltered TotalCount sum the
     * tenant's VPC rows of the region instead of reading one. */
    "DROP TRIGGER flowlogs_count_ins;"
    "DROP TRIGGER flowlogs_count_del;"
    "DROP TABLE region_usage;",
    /* 5 -> 6: flowlogs_name goes: one B-tree less per create (+15 %
     * creates). DescribeFlowLogs in flowLogName order with a VpcId filter
     * (the common one) keeps its index, flowlogs_vpc_name; without one the
     * page merges the tenant's VPCs from that index (sqlite_flowlog.c,
     * plan_arms), or sorts the tenant's rows of the region (at most its
     * quota) past 32 VPCs or with tag filters. */
    "DROP INDEX flowlogs_name;"
    "DELETE FROM sqlite_stat1 WHERE idx = 'flowlogs_name';",
    /* 6 -> 7: temporary keys (`key create --temporary`, as STS issues
     * them): a token and an end; '' and 0
     * for the permanent keys there are */
    "ALTER TABLE keys ADD COLUMN token TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE keys ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;",
    /* 7 -> 8: the resource Describe* page in SQL (sqlite_resource.c,
     * sq_resource_query): their order, creation time then id, read from an
     * index instead of sorting a tenant's whole inventory (50,000 ENIs:
     * every page sorted them all), and TotalCount counted on it. */
    "CREATE INDEX resources_created ON resources(uin, region, kind, created_at, id);",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

#define X(id, sql) sql,
static const char *const stmt_sql[ST__COUNT] = {STMTS(X)};
#undef X

static void sq_close(struct store *st);

static const struct store_ops sqlite_ops = {
    .account_create = sq_account_create,
    .key_create = sq_key_create,
    .key_lookup = sq_key_lookup,
    .key_create_temporary = sq_key_create_temporary,
    .inventory_import = sq_inventory_import,
    .resource_get = sq_resource_get,
    .flowlog_create = sq_flowlog_create,
    .flowlog_create_async = sq_flowlog_create_async,
    .flowlog_get = sq_flowlog_get,
    .flowlog_query = sq_flowlog_query,
    .flowlog_update = sq_flowlog_update,
    .flowlog_delete = sq_flowlog_delete,
    .flowlog_set_enable = sq_flowlog_set_enable,
    .resource_create = sq_resource_create,
    .resource_delete = sq_resource_delete,
    .resource_attach = sq_resource_attach,
    .resource_query = sq_resource_query,
    .flowlog_tags_modify = sq_flowlog_tags_modify,
    .integrity_check = sq_integrity_check,
    .close = sq_close,
};

/* ==== errors and small statement helpers ==== */

int sq_err(struct serr *e, int rc, const char *fmt, ...)
{
    va_list ap;
    if (e) {
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

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

/* ==== connections ==== */

/* Reads a positive integer from the environment, or returns def. */
static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    uint64_t n;
    if (!v || parse_u64(v, strlen(v), &n) != 0 || n == 0 || n > (1u << 30))
        return def;
    return (long)n;
}

/* journal_size_limit: the ceiling; without one WAL_LIMIT_BYTES, or 1.25
 * times the hard limit. */
static long long wal_limit_bytes(const struct store_sqlite *s)
{
    long long hard = (long long)s->ckpt_hard * WAL_FRAME_BYTES;
    if (s->wal_ceiling > 0)
        return s->wal_ceiling;
    return hard + hard / 4 > WAL_LIMIT_BYTES ? hard + hard / 4 : WAL_LIMIT_BYTES;
}

void sq_conn_close(struct conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sq_shapes_free(c);
    sqlite3_close_v2(c->db);
    pthread_mutex_destroy(&c->hold_mu);
    free(c->tags);
    free(c);
}

/* Opens a connection to s->path. The writer gets foreign keys, FULL sync, a
 * larger cache and no autocheckpoint (sq_ckpt_start installs its WAL hook);
 * the checkpointer FULL sync (it fsyncs what it copies) and a small cache;
 * readers a small cache and query_only. */
struct conn *sq_conn_open(struct store_sqlite *s, enum conn_role role, struct serr *e)
{
    char pragmas[512];
    char *msg = NULL;
    struct conn *c = calloc(1, sizeof *c);
    int ok = 0;

    if (!c) {
        sq_err(e, STORE_ERR, "out of memory");
        goto fail;
    }
    pthread_mutex_init(&c->hold_mu, NULL);
    c->owner = s;
    if (sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        sq_vfs_name()) != SQLITE_OK) {
        sq_fail(c->db, s->path, e);
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    if (role == CONN_WRITER)
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                 "PRAGMA foreign_keys = ON; PRAGMA cache_size = -%d;"
                 "PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = %lld;"
                 "PRAGMA mmap_size = %ld; PRAGMA wal_autocheckpoint = 0;",
                 WRITER_CACHE_KB, wal_limit_bytes(s),
                 env_long("FLOWLOGD_SQLITE_MMAP_MB", MMAP_MB_DEFAULT) * 1024L * 1024L);
    else if (role == CONN_CKPT)
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                 "PRAGMA cache_size = -%d; PRAGMA journal_size_limit = %lld;"
                 "PRAGMA wal_autocheckpoint = 0;",
                 CKPT_CACHE_KB, wal_limit_bytes(s));
    else
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA query_only = ON; PRAGMA cache_size = -%ld;"
                 "PRAGMA temp_store = MEMORY; PRAGMA mmap_size = %ld;",
                 env_long("FLOWLOGD_SQLITE_READ_CACHE_KB", READER_CACHE_KB_DEFAULT),
                 env_long("FLOWLOGD_SQLITE_MMAP_MB", MMAP_MB_DEFAULT) * 1024L * 1024L);
    if (sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        sq_err(e, STORE_ERR, "%s: %s", s->path, msg ? msg : "pragma failed");
        goto fail;
    }
    /* the writer's commits reach the WAL as one write each (sqlite_vfs.c);
     * a first read opens the WAL. Without it writes are only slower. */
    if (role == CONN_WRITER &&
        sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) == SQLITE_OK)
        c->wal_buffered = sq_vfs_buffer_wal(c->db, WAL_BUFFER_BYTES) == 0;
    /* the database file: a reader compares its wal-index with what its
     * transaction saw, the writer reads the checkpoint backlog from it, the
     * checkpointer syncs it */
    if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_FILE_POINTER, &c->mainf) != SQLITE_OK)
        c->mainf = NULL;
    ok = 1;
fail:
    sqlite3_free(msg);
    if (!ok) {
        sq_conn_close(c);
        c = NULL;
    }
    return c;
}

/* ==== files and schema ==== */

/* Creates the database file 0600 before SQLite opens it (SQLite gives the
 * -wal and -shm files the database file's mode), and tightens an existing
 * one. An existing file is never opened here: closing a descriptor of it
 * would drop every POSIX lock this process holds on it (another store of
 * this process may have it open; see sqlite_vfs.c). */
static int create_db_file(const char *path, struct serr *e)
{
    struct stat sb;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd >= 0) {
        close(fd); /* new and empty: nobody holds a lock on it yet */
        return STORE_OK;
    }
    if (errno != EEXIST || lstat(path, &sb) != 0)
        return sq_err(e, STORE_ERR, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return sq_err(e, STORE_ERR, "%s is not a regular file", path);
    if ((sb.st_mode & 0777) != 0600 && chmod(path, 0600) != 0)
        return sq_err(e, STORE_ERR, "%s: cannot set mode 0600: %s", path, strerror(errno));
    return STORE_OK;
}

/* Makes sure the -wal and -shm files (if present) are mode 0600. */
static int fix_side_files(const char *path, struct serr *e)
{
    static const char *const sfx[] = {"-wal", "-shm"};
    char p[sizeof ((struct store_sqlite *)0)->path + 8];
    struct stat sb;
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        if (lstat(p, &sb) != 0)
            continue;
        if (!S_ISREG(sb.st_mode))
            return sq_err(e, STORE_ERR, "%s is not a regular file", p);
        if ((sb.st_mode & 0777) != 0600 && chmod(p, 0600) != 0)
            return sq_err(e, STORE_ERR, "%s: cannot set mode 0600: %s", p, strerror(errno));
    }
    return STORE_OK;
}

/* Brings the schema to SCHEMA_VERSION under a write lock, so processes
 * opening the same file at once migrate it exactly once. */
static int schema_migrate(struct conn *c, struct serr *e)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int v = 0, rc = STORE_ERR;

    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        sq_fail(c->db, "schema", e);
        goto fail;
    }
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sq_fail(c->db, "schema version", e);
        goto fail;
    }
    v = sqlite3_column_int(st, 0);
    /* a statement still running would keep DROP from working (SQLITE_LOCKED) */
    sqlite3_finalize(st);
    st = NULL;
    if (v > SCHEMA_VERSION || v < 0) {
        sq_err(e, STORE_ERR, "database schema version %d is newer than this flowlogd knows (%d)",
               v, SCHEMA_VERSION);
        goto fail;
    }
    for (; v < SCHEMA_VERSION; v++) {
        if (sqlite3_exec(c->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            sq_err(e, STORE_ERR, "schema step %d: %s", v + 1, sqlite3_errmsg(c->db));
            goto fail;
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            sq_fail(c->db, "schema version", e);
            goto fail;
        }
    }
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sq_fail(c->db, "schema commit", e);
        goto fail;
    }
    rc = STORE_OK;
fail:
    sqlite3_finalize(st);
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Catches a file whose user_version matches but whose layout does not
 * (made by an earlier development build of the same version): a clear
 * error at open instead of failing statements later. */
static int schema_probe(struct conn *c, struct serr *e)
{
    static const char *const probes[] = {
        "SELECT " FL_COLS " FROM flowlogs LIMIT 0",
        "SELECT flowlog_id, key, value, pos, uin, region FROM flowlog_tags LIMIT 0",
        "SELECT uin, region, vpc_id, flowlogs FROM vpc_usage LIMIT 0",
        "SELECT token, expires FROM keys LIMIT 0",
    };
    sqlite3_stmt *st = NULL;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (sqlite3_prepare_v2(c->db, probes[i], -1, &st, NULL) != SQLITE_OK)
            return sq_err(e, STORE_ERR,
                          "the database does not have the layout this build expects (%s); "
                          "it was made by an earlier development build: recreate it",
                          sqlite3_errmsg(c->db));
        sqlite3_finalize(st);
    }
    return STORE_OK;
}

/* ==== open and close ==== */

/* Frees everything of s that was set up; safe on a half-opened store. The
 * caller guarantees no thread is inside s and that the threads that used it
 * are not exiting concurrently. */
static void store_free(struct store_sqlite *s)
{
    if (s->writer_started || s->waker_started)
        sq_writer_stop(s);
    if (s->ckpt_started)
        sq_ckpt_stop(s);
    sq_conn_close(s->ck);
    sq_readers_stop(s);
    sq_conn_close(s->w);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->ckpt_mu);
    pthread_cond_destroy(&s->ckpt_cv);
    pthread_mutex_destroy(&s->wake_mu);
    pthread_cond_destroy(&s->wake_cv);
    free(s);
}

static void sq_close(struct store *st)
{
    store_free((struct store_sqlite *)st);
}

/* Process-wide SQLite settings, before the library initialises itself:
 * no memory statistics (they take a global mutex on every allocation of
 * every connection). If SQLite is already initialised this is refused,
 * harmlessly. */
static void sqlite_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Applies FLOWLOGD_SQLITE_WAL_MB (see WAL_CEILING_MB_DEFAULT) to the
 * checkpoint thresholds. STORE_ERR for a value that is not a number. */
static int wal_ceiling(struct store_sqlite *s, struct serr *e)
{
    const char *v = getenv("FLOWLOGD_SQLITE_WAL_MB");
    uint64_t mb = WAL_CEILING_MB_DEFAULT;
    long long frames;

    if (v && *v && (parse_u64(v, strlen(v), &mb) != 0 || mb > WAL_CEILING_MB_MAX))
        return sq_err(e, STORE_ERR, "FLOWLOGD_SQLITE_WAL_MB=%s: not a size in MB (0 to %ld)", v,
                      WAL_CEILING_MB_MAX);
    if (mb == 0)
        return STORE_OK; /* no ceiling: the thresholds as they are */
    s->wal_ceiling = (long long)mb * 1024 * 1024;
    frames = s->wal_ceiling / WAL_FRAME_BYTES * 9 / 10; /* 1 MB: 229, above CKPT_PAGES_MIN */
    if (s->ckpt_hard > frames) {
        s->ckpt_hard = (int)frames;
        if (s->ckpt_pages > s->ckpt_hard / CKPT_CEILING_FACTOR)
            s->ckpt_pages = s->ckpt_hard / CKPT_CEILING_FACTOR;
        s->ckpt_tail = s->ckpt_pages / CKPT_TAIL_DIVISOR;
        s->restart_backlog = s->ckpt_pages / RESTART_BACKLOG_DIVISOR;
        if (s->restart_backlog < RESTART_BACKLOG_MIN)
            s->restart_backlog = RESTART_BACKLOG_MIN;
        s->valve_step = s->ckpt_pages / 4;
    }
    s->idle_truncate = 1;
    return STORE_OK;
}

struct store *store_open_sqlite(const char *dir, struct serr *e)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    struct store_sqlite *s = NULL;
    const char *hold, *why;
    struct stat sb;
    int n, ok = 0;

    pthread_once(&configured, sqlite_configure);
    if (!dir || !*dir) {
        sq_err(e, STORE_ERR, "no data directory given");
        return NULL;
    }
    if (sqlite3_threadsafe() == 0) {
        sq_err(e, STORE_ERR, "libsqlite3 was built without thread support");
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        sq_err(e, STORE_ERR, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_mutex_init(&s->ckpt_mu, NULL);
    pthread_cond_init(&s->ckpt_cv, NULL);
    pthread_mutex_init(&s->wake_mu, NULL);
    pthread_cond_init(&s->wake_cv, NULL);
    s->ckpt_pages = (int)env_long("FLOWLOGD_SQLITE_CKPT_PAGES", CKPT_PAGES_DEFAULT);
    if (s->ckpt_pages < CKPT_PAGES_MIN)
        s->ckpt_pages = CKPT_PAGES_MIN;
    if (s->ckpt_pages > CKPT_PAGES_MAX)
        s->ckpt_pages = CKPT_PAGES_MAX;
    s->ckpt_tail = s->ckpt_pages / CKPT_TAIL_DIVISOR;
    s->restart_backlog = s->ckpt_pages / RESTART_BACKLOG_DIVISOR;
    if (s->restart_backlog < RESTART_BACKLOG_MIN)
        s->restart_backlog = RESTART_BACKLOG_MIN;
    s->ckpt_hard = s->ckpt_pages * CKPT_HARD_FACTOR;
    s->valve_step = s->ckpt_pages / 2;
    if (wal_ceiling(s, e) != STORE_OK)
        goto fail;
    s->base.ops = &sqlite_ops;
    s->base.name = "sqlite";

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        sq_err(e, STORE_ERR, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        sq_err(e, STORE_ERR, "%s is not a directory", dir);
        goto fail;
    }
    n = snprintf(s->path, sizeof s->path, "%s/%s", dir, DB_FILE);
    if (n < 0 || (size_t)n >= sizeof s->path) {
        sq_err(e, STORE_ERR, "data directory path too long");
        goto fail;
    }
    if (create_db_file(s->path, e) != STORE_OK)
        goto fail;
    if ((why = sq_vfs_off_reason()))
        log_warn("store: %s: using SQLite's own unix VFS instead", why);
    s->w = sq_conn_open(s, CONN_WRITER, e);
    if (!s->w || schema_migrate(s->w, e) != STORE_OK || schema_probe(s->w, e) != STORE_OK ||
        fix_side_files(s->path, e) != STORE_OK)
        goto fail;
    s->ck = sq_conn_open(s, CONN_CKPT, e);
    if (!s->ck)
        goto fail;
    if (sq_ckpt_start(s) != 0) {
        sq_err(e, STORE_ERR, "cannot start the checkpointer thread");
        goto fail;
    }
    hold = getenv("FLOWLOGD_SQLITE_HOLD_READS");
    s->hold_reads = !hold || strcmp(hold, "0") != 0;
    if (sq_readers_start(s, e) != STORE_OK)
        goto fail;
    if (sq_writer_start(s) != 0) {
        sq_err(e, STORE_ERR, "cannot start the writer thread");
        goto fail;
    }
    ok = 1;
fail:
    if (!ok) {
        store_free(s);
        s = NULL;
    }
    return s ? &s->base : NULL;
}

void store_sqlite_stats(struct store *st, uint64_t *commits, uint64_t *jobs)
{
    struct store_sqlite *s = (struct store_sqlite *)st;
    pthread_mutex_lock(&s->mu);
    if (commits)
        *commits = s->commits;
    if (jobs)
        *jobs = s->jobs;
    pthread_mutex_unlock(&s->mu);
}
