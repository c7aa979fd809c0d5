/* sqlite_int.h: internals shared by the files of store/sqlite (not for
 * other layers).
 *
 * Files:
 *   sqlite.c          store_open_sqlite/close, the store_ops table, connections and
 *                     their pragmas, the schema and its migrations, the fixed
 *                     statements, the WAL ceiling (FLOWLOGD_SQLITE_WAL_MB)
 *   sqlite_writer.c   the writer thread (group commit, the RESTART between batches,
 *                     the TRUNCATE when idle), the waker and the checkpointer threads
 *   sqlite_reader.c   a reader connection per reading thread, the read transaction
 *                     kept between reads, the reaper thread
 *   sqlite_vfs.c/.h   the `flowlogd` VFS over SQLite's unix VFS: database mappings
 *                     kept across commits, the writer's WAL writes coalesced,
 *                     checkpoint write-back, the wal-index stamp
 *   sqlite_account.c  accounts, keys, inventory import, resource_get, integrity check
 *   sqlite_flowlog.c  flow logs: create (blocking and async), get, query, update,
 *                     delete, enable
 *   sqlite_resource.c resources created through the API: create, delete, attach,
 *                     the Describe* query (paged and counted on resources_created)
 *   sqlite_tags.c     tags through the tag service
 *
 * Threads: the caller's (a poll thread or an http worker) runs every read on its
 * own reader connection and never waits for the writer; a write is a job queued
 * to the writer thread (sq_write blocks its caller until the commit is durable,
 * sq_write_async returns at once). The writer runs the jobs and commits, then
 * hands the batch to the waker thread, which wakes blocking callers and runs the
 * asynchronous jobs' completions (store_op.done: api_wake, or a CreateFlowLog's
 * id retry, queued again from there). The checkpointer thread runs the PASSIVE
 * passes on its own connection; the reaper thread ends idle readers' kept
 * transactions. Only the writer's connection writes.
 */
#ifndef FLOWLOGD_STORE_SQLITE_INT_H
#define FLOWLOGD_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store/sqlite/sqlite_vfs.h"
#include "store/store.h"

/* How long a connection waits for another's lock, in ms (every connection). */
#define SQ_BUSY_TIMEOUT_MS 5000

/* Columns of a flow log (store.h's FLOWLOG_FIELDS, named as the members),
 * in the order row_to_flowlog reads and the insert binds them: every field
 * in row order, then the tags column ("key\0value\0..."). FL_PARAMS: one
 * parameter per column. */
#define FL_COL_STR(m) #m ", "
#define FL_COL_TIME(m) #m ", "
#define FL_COL_BOOL(m) #m ", "
#define FL_COL_PERIOD(m) #m ", "
#define FL_COL_TAGS(m) /* the last column */
#define FL_COL(kind, member, size, wire, group) FL_COL_##kind(member)
#define FL_COLS FLOWLOG_FIELDS(FL_COL) "tags"
#define FL_PARAM_STR "?, "
#define FL_PARAM_TIME "?, "
#define FL_PARAM_BOOL "?, "
#define FL_PARAM_PERIOD "?, "
#define FL_PARAM_TAGS ""
#define FL_PARAM(kind, member, size, wire, group) FL_PARAM_##kind
#define FL_PARAMS FLOWLOG_FIELDS(FL_PARAM) "?"

/* A tenant's flow logs in a region (?1 uin, ?2 region): the sum of its
 * per-VPC counts (every flow log has one vpc_usage row, '' for CCN). The
 * quota check and DescribeFlowLogs' unfiltered TotalCount. */
#define REGION_COUNT_SQL                                                                         \
    "SELECT coalesce(sum(flowlogs), 0) FROM vpc_usage WHERE uin = ?1 AND region = ?2"

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
      "INSERT INTO accounts(app_id, uin, flowlog_quota, rate_limit) VALUES(?1, ?2, ?3, 0)")      \
    X(W_KEY_TAKEN, "SELECT 1 FROM keys WHERE secret_id = ?1")                                    \
    X(W_KEY_INSERT,                                                                              \
      "INSERT INTO keys(secret_id, secret_key, uin, actions, token, expires) "                   \
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6)")                                                          \
    X(W_RES_UPSERT,                                                                              \
      "INSERT INTO resources(uin, region, kind, id, vpc_id, subnet_id, instance_id, name, cidr, " \
      "instance_type, edition, nat_version, has_dnat, created_at) "                              \
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "                     \
      "ON CONFLICT(uin, region, kind, id) DO UPDATE SET vpc_id = excluded.vpc_id, "              \
      "subnet_id = excluded.subnet_id, instance_id = excluded.instance_id, "                     \
      "name = excluded.name, cidr = excluded.cidr, instance_type = excluded.instance_type, "     \
      "edition = excluded.edition, nat_version = excluded.nat_version, "                         \
      "has_dnat = excluded.has_dnat " /* a re-import keeps the first creation time */           \
      "WHERE (vpc_id, subnet_id, instance_id, name, cidr, instance_type, edition, nat_version, " \
      "has_dnat) IS NOT (excluded.vpc_id, excluded.subnet_id, "                                  \
      "excluded.instance_id, excluded.name, excluded.cidr, excluded.instance_type, "             \
      "excluded.edition, excluded.nat_version, excluded.has_dnat)")                              \
    X(W_FL_OF_RESOURCE,                                                                          \
      "SELECT id FROM flowlogs WHERE uin = ?1 AND region = ?2 AND resource_type = ?3 "           \
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
      "period = CASE WHEN ?6 > 0 THEN ?6 ELSE period END "                                       \
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
      "edition, nat_version, has_dnat, created_at FROM resources "                               \
      "WHERE uin = ?1 AND region = ?2 AND kind = ?3 AND id = ?4")                                \
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
      "GROUP BY uin, region, vpc_id) GROUP BY uin, region, vpc_id HAVING sum(n) != 0 LIMIT 1")

#define X(id, sql) ST_##id,
enum stmt_id { STMTS(X) ST__COUNT };
#undef X

/* Query shapes cached per reader connection (direct-mapped). */
#define SHAPE_SLOTS 64

struct shape_slot {
    uint32_t key; /* shape + 1; 0 = empty */
    sqlite3_stmt *count, *page;
};

/** One SQLite connection with its statement cache. A reader belongs to one
 * thread; the writer connection belongs to the writer thread. */
struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
    struct shape_slot shapes[SHAPE_SLOTS];
    struct store_sqlite *owner;
    struct conn *prev, *next; /* the owner's list of readers */
    int busy;                 /* a read is running (guards against re-entry from callbacks) */
    /* readers (sqlite_reader.c): the read transaction kept between reads */
    pthread_mutex_t hold_mu;  /* the owner's from enter to leave; the reaper's to end a hold */
    sqlite3_file *mainf;      /* the database file (wal-index stamp, backlog, sync); NULL */
    int stamped;              /* `stamp` was taken before the open transaction began */
    int held;                 /* the transaction stays open between reads */
    unsigned uses, reaper_saw; /* reads begun; `uses` when the reaper last looked */
    struct sq_wal_stamp stamp;
    int wal_buffered;         /* the writer: its WAL writes are coalesced (sqlite_vfs.c) */
    /* a row's tag array, reused from row to row */
    struct tag *tags;
    size_t tags_cap;
};

/** A write operation, run by the writer thread inside its own savepoint. */
typedef int (*wjob_fn)(struct conn *w, void *arg, struct serr *e);

/** A queued write. A blocking caller's lives on its stack until `done` is
 * 1; `done` is also the futex word the caller sleeps on. An asynchronous
 * one (sq_write_async) has `complete` instead, which the waker calls in
 * place of the wake-up (see sqlite_writer.c). */
struct wjob {
    wjob_fn fn;
    void *arg;
    struct serr *err; /* never NULL */
    int rc;
    atomic_int done; /* set by the writer (release) after rc and *err */
    struct wjob *next;
    void (*complete)(struct wjob *j); /* NULL: a blocking caller waits on `done` */
};

/** Checkpoint counters (see sqlite_writer.c). */
struct sq_ckpt_stats {
    uint64_t runs;     /* background (PASSIVE) checkpoint passes that ran */
    uint64_t restarts; /* RESTARTs the writer ran because the checkpointer caught up */
    uint64_t valves;   /* RESTARTs the writer ran because the WAL reached ckpt_hard */
    uint64_t failed;   /* RESTARTs that did not finish (readers, the checkpoint lock) */
    uint64_t wraps;    /* times the WAL started again from its beginning */
    int max_frames;    /* largest WAL seen after a commit (from ckpt_pages up), in frames */
};

/** The SQLite store; `base` must stay first. */
struct store_sqlite {
    struct store base;
    char path[4096];
    struct conn *w; /* the writer's connection */
    pthread_t writer;
    int writer_started;
    pthread_mutex_t mu;  /* queue, stopping, counters (not the jobs' wake-up) */
    pthread_cond_t work; /* queue not empty or stopping */
    struct wjob *head, *tail;
    int stopping;
    uint64_t commits, jobs;
    /* the waker thread: wakes the callers of finished batches, so that the
     * writer goes on with the next batch at once */
    pthread_t waker;
    int waker_started;
    pthread_mutex_t wake_mu; /* the wake list and wake_stopping */
    pthread_cond_t wake_cv;  /* wake list not empty or wake_stopping */
    struct wjob *wake_head, *wake_tail;
    int wake_stopping;
    /* readers (sqlite_reader.c): one connection per thread, listed; the
     * reaper thread ends the read transactions they keep while idle */
    pthread_key_t key; /* this thread's reader connection */
    int readers_made;
    int hold_reads;            /* keep read transactions between reads (default) */
    pthread_mutex_t conns_mu;  /* the list */
    struct conn *readers;
    pthread_t reaper;
    int reaper_started;
    pthread_mutex_t reap_mu;   /* holding, reap_stopping */
    pthread_cond_t reap_cv;    /* holding became non-zero, or reap_stopping */
    int holding;               /* readers with held = 1 */
    int reap_stopping;
    /* > 0 while a checkpoint runs (the checkpointer's passes, the writer's
     * RESTART): readers then end their transaction at every read, as
     * autocommit would, so that the checkpoint can take their read marks */
    atomic_int ckpt_active;

    /* Checkpoints (sqlite_writer.c): the writer's WAL hook wakes the
     * checkpointer thread, which copies WAL frames into the database file on
     * its own connection (PASSIVE: never blocks the writer or readers); the
     * writer itself only runs the short RESTART that lets the WAL start again
     * from its beginning. Thresholds are set at open. */
    int ckpt_pages; /* WAL frames that start a background checkpoint */
    int ckpt_tail;  /* the checkpointer repeats a pass while it copied more than this */
    int restart_backlog; /* the writer's RESTART waits for at most this many frames to copy */
    int ckpt_hard;  /* WAL frames above which the writer runs a RESTART whatever it costs */
    int valve_step; /* after such a RESTART failed (readers), frames until the next try */
    long long wal_ceiling; /* bytes, 0: none (FLOWLOGD_SQLITE_WAL_MB; sqlite.c) */
    int idle_truncate;     /* the idle writer empties the WAL file (sqlite_writer.c) */
    struct conn *ck; /* the checkpointer's connection; only its thread uses it */
    pthread_t ckpt;
    int ckpt_started;
    pthread_mutex_t ckpt_mu; /* guards the fields from here to the writer-only ones */
    pthread_cond_t ckpt_cv;  /* ckpt_due or ckpt_stopping */
    int ckpt_due, ckpt_running, ckpt_stopping;
    unsigned ckpt_gen;      /* WAL generation: +1 each time the WAL starts again */
    unsigned ckpt_done_gen; /* generation of the checkpointer's unconsumed result, 0: none */
    struct sq_ckpt_stats ckpt_stats;
    /* writer thread only */
    int wal_frames;    /* WAL frames after the writer's last commit */
    int ckpt_from;     /* wal_frames when the checkpointer was last woken */
    int valve_at;      /* RESTART whatever it costs once wal_frames reaches this */
    int restart_asked; /* a RESTART succeeded: the next commit starts the WAL again */
};

/* ==== sqlite.c ==== */

/** Sets e->msg to "<what>: <sqlite3_errmsg>" and returns STORE_ERR. */
int sq_fail(sqlite3 *db, const char *what, struct serr *e);

/** Sets e->msg printf-style (e may be NULL). Returns rc. */
int sq_err(struct serr *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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

/** Binds the columns every resource row has, as parameters ?1..?14 in the
 * order uin, region, kind, id, vpc_id, subnet_id, instance_id, name, cidr,
 * instance_type, edition, nat_version, has_dnat, created_at. */
void sq_bind_resource(sqlite3_stmt *st, const char *uin, const struct resource *r);

/** Prepares `sql` for one use (statements that are not in the fixed list);
 * the caller finalizes it. NULL with e set. */
sqlite3_stmt *sq_prepare_once(struct conn *c, const char *sql, struct serr *e);

/** Copies column i as text into dst[cap] (truncating, always terminated). */
void sq_col_str(sqlite3_stmt *st, int i, char *dst, size_t cap);

enum conn_role { CONN_READER, CONN_WRITER, CONN_CKPT };

/** Opens a connection to s->path with the role's pragmas. NULL with e set. */
struct conn *sq_conn_open(struct store_sqlite *s, enum conn_role role, struct serr *e);

/** Finalizes c's statements and closes it (NULL: nothing). */
void sq_conn_close(struct conn *c);

/* ==== sqlite_reader.c ==== */

/** Sets up the per-thread readers and starts the reaper. STORE_OK or
 * STORE_ERR with e set (sq_readers_stop then undoes what was done). */
int sq_readers_start(struct store_sqlite *s, struct serr *e);

/** Stops the reaper and closes every reader connection. The caller
 * guarantees that no thread is inside a read. */
void sq_readers_stop(struct store_sqlite *s);

/** This thread's reader connection, opened on first use. NULL with e set. */
struct conn *sq_reader(struct store_sqlite *s, struct serr *e);

/** Claims c for one read and puts it in a read transaction that sees every
 * commit made before the call (fails if a callback re-entered the store).
 * All the statements up to sq_reader_leave see one snapshot. */
int sq_reader_enter(struct conn *c, struct serr *e);
/** Ends the read begun by sq_reader_enter. The transaction may stay open
 * for the next read (see sqlite_reader.c). */
void sq_reader_leave(struct conn *c);

/* ==== sqlite_writer.c ==== */

/** Sets *flag under mu, signals cv and joins t, if *started; then clears
 * *started. */
void sq_stop_thread(pthread_mutex_t *mu, pthread_cond_t *cv, int *flag, pthread_t t,
                    int *started);

/** Starts the writer thread. 0 or -1. */
int sq_writer_start(struct store_sqlite *s);

/** Drains the queue and stops the writer thread. */
void sq_writer_stop(struct store_sqlite *s);

/** Starts the checkpointer thread on s->ck (opened by the caller) and
 * installs the WAL hook on the writer connection. 0 or -1. */
int sq_ckpt_start(struct store_sqlite *s);

/** Stops and joins the checkpointer thread (its connection stays open). */
void sq_ckpt_stop(struct store_sqlite *s);

/** A copy of the checkpoint counters. */
void sq_ckpt_stats(struct store_sqlite *s, struct sq_ckpt_stats *out);

/** Queues fn(arg) for the writer and waits until its batch committed (or
 * failed). Returns the job's result; STORE_OK means durable. */
int sq_write(struct store_sqlite *s, wjob_fn fn, void *arg, struct serr *e);

/** Queues j (fn, arg, err and complete set; the caller keeps it alive) and
 * returns at once: STORE_OK, and j->complete(j) will run on the waker
 * thread once the batch committed or failed (j->rc then holds the result);
 * or STORE_ERR (store closing) and it never runs. */
int sq_write_async(struct store_sqlite *s, struct wjob *j);

/* ==== sqlite_account.c ==== */

int sq_account_create(struct store *st, uint32_t quota, struct account *out, struct serr *e);
int sq_key_create(struct store *st, const char *uin, const char *actions, struct key_info *out,
                  struct serr *e);
int sq_key_lookup(struct store *st, const char *secret_id, struct key_info *out, struct serr *e);
int sq_key_create_temporary(struct store *st, const char *uin, const char *actions, int64_t expires,
                            struct key_info *out, struct serr *e);
int sq_inventory_import(struct store *st, const char *uin, const struct resource *items, size_t n,
                        struct serr *e);
int sq_resource_get(struct store *st, const char *uin, const char *region, enum res_kind kind,
                    const char *id, struct resource *out, struct serr *e);
int sq_integrity_check(struct store *st, struct serr *e);

/* ==== sqlite_flowlog.c ==== */

int sq_flowlog_create(struct store *st, const struct flowlog *fl, uint32_t quota,
                      struct serr *e);
int sq_flowlog_create_async(struct store *st, const struct flowlog *fl, uint32_t quota,
                            struct store_op *op);
int sq_flowlog_get(struct store *st, const char *uin, const char *region, const char *id,
                   flowlog_cb cb, void *ud, struct serr *e);
int sq_flowlog_query(struct store *st, const struct flowlog_query *q, flowlog_cb cb, void *ud,
                     uint64_t *total, struct serr *e);
int sq_flowlog_update(struct store *st, const char *uin, const char *region, const char *id,
                      const struct flowlog_patch *p, struct serr *e);
int sq_flowlog_delete(struct store *st, const char *uin, const char *region, const char *id,
                      struct serr *e);
int sq_flowlog_set_enable(struct store *st, const char *uin, const char *region,
                          const char *const *ids, size_t n, int enable, struct serr *e);

/** Finalizes the query shapes cached on c. */
void sq_shapes_free(struct conn *c);

/** Checks that every flow log's tags column agrees with its flowlog_tags
 * rows. STORE_OK, or STORE_ERR naming the first flow log that differs. */
int sq_tags_check(struct conn *c, struct serr *e);

/* ==== sqlite_resource.c: resources created through the API ==== */

int sq_resource_create(struct store *st, const char *uin, const struct resource *r,
                       struct serr *e);
int sq_resource_delete(struct store *st, const char *uin, const char *region, enum res_kind kind,
                       const char *id, struct serr *e);
int sq_resource_attach(struct store *st, const char *uin, const char *region, const char *eni_id,
                       const char *instance_id, struct serr *e);
int sq_resource_query(struct store *st, const struct resource_query *q, resource_cb cb, void *ud,
                      uint64_t *total, struct serr *e);

/* ==== sqlite_tags.c: tags through the tag service ==== */

int sq_flowlog_tags_modify(struct store *st, const char *uin, const char *region, const char *id,
                           const struct tag *set, size_t nset, const char *const *del,
                           size_t ndel, struct serr *e);

#endif
