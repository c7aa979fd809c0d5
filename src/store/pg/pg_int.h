/* pg_int.h: internals shared by the files of store/pg (not for other
 * layers). The only place besides the files of store/pg that sees libpq.
 *
 * Layout of the backend:
 *   pg.c           open/close, the connection pool, schema and migrations,
 *                  transactions with retry, accounts, keys, inventory,
 *                  integrity check
 *   pg_writer.c    the create writer: group commit in pipeline mode, the
 *                  in-doubt commit settled by a lookup
 *   pg_flowlog.c   flow logs: get, DescribeFlowLogs, update, delete,
 *                  enable/disable, tags
 *   pg_resource.c  resources created through the API
 */
#ifndef FLOWLOGD_STORE_PG_INT_H
#define FLOWLOGD_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_util.h"

/* Columns of a flow log in the order pg_row_to_flowlog reads them
 * (store_util.h's STORE_FL_COLS: FLOWLOG_FIELDS' members in order, then the
 * tags: a JSON array of [key, value] pairs, in the order given). */
#define PG_FL_COLS STORE_FL_COLS

/* Read statements prepared per pooled connection (direct-mapped by the
 * hash of their SQL): parsed and planned once, not per request. */
#define PG_PREP_SLOTS 64

/** One pooled connection. */
struct pgconn {
    PGconn *c;
    struct pgconn *next; /* the free list */
    uint64_t prep[PG_PREP_SLOTS]; /* hash of the SQL prepared in each slot, 0: none */
};

struct pg_cjob; /* a queued create (pg_writer.c) */

/** The PostgreSQL store; `base` must stay first. */
struct store_pg {
    struct store base;
    char *conninfo;   /* what libpq gets (our own parameters removed) */
    char schema[64];  /* "" or the schema every connection works in */
    /* the pool: reads and the writes other than creates */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    struct pgconn *free_list;
    int pool_size, pool_made;
    int closing;
    /* the create writers (pg_writer.c) */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    struct pg_cjob *q_head, *q_tail;
    int q_len;
    int stopping;
    int nwriters;
    pthread_t writers[8];
    int writers_started;
    uint64_t commits, jobs, replays, settled;
    struct store_hist commit_hist; /* the create writers' batches, BEGIN to COMMIT answered */
    int settle_ms; /* how long an in-doubt commit waits for the database */
};

/* ==== pg.c ==== */

/** The store's writer_stats op: the create writers' commit latency and queue. */
void pg_writer_stats(struct store *st, struct store_writer_stats *out);

/** Sets e->msg printf-style (e may be NULL). Returns rc. */
#define pg_err store_err /* store_util.h: the message into e, rc returned */

/** Opens a connection (schema set, synchronous_commit on). NULL with e set. */
PGconn *pg_connect(struct store_pg *s, struct serr *e);

/** A pooled connection (healthy or reconnected), or NULL with e set. */
struct pgconn *pg_get(struct store_pg *s, struct serr *e);
/** Returns a connection to the pool (a broken one is reset on next use). */
void pg_put(struct store_pg *s, struct pgconn *pc);

/** Runs sql with text parameters (NULL = SQL NULL). Returns the result if
 * it is COMMAND_OK or TUPLES_OK, else NULL with e set ("what: message");
 * *state (if given) gets the SQLSTATE ("" when the connection failed). */
PGresult *pg_exec(PGconn *c, const char *what, const char *sql, int n, const char *const *vals,
                  struct serr *e, char state[6]);

/** The SQLSTATE of this thread's last failed statement ("" if none or the
 * connection failed): pg_tx tells a deadlock from a rule by it. */
extern __thread char pg_last_state[6];

/** A read on a pooled connection: one statement, its own snapshot (every
 * commit acknowledged before it started). Run once more on a new
 * connection if the connection had dropped. NULL with e set. */
PGresult *pg_read(struct store_pg *s, const char *what, const char *sql, int n,
                  const char *const *vals, struct serr *e);

/** pg_exec for statements without rows: STORE_OK or STORE_ERR. */
int pg_cmd(PGconn *c, const char *what, const char *sql, int n, const char *const *vals,
           struct serr *e);

/** A write transaction: fn runs between BEGIN and COMMIT on a pooled
 * connection; a result other than STORE_OK rolls back. A deadlock or
 * serialization failure runs it again. If the connection is lost during
 * COMMIT, `settle` (if given) decides on a new connection whether the write
 * happened (1: it did, 0: it did not, -1: cannot tell). */
typedef int (*pg_txfn)(PGconn *c, void *arg, struct serr *e);
int pg_tx(struct store_pg *s, pg_txfn fn, pg_txfn settle, void *arg, struct serr *e);

/** Copies a column into dst[cap] (truncating, terminated). */
void pg_col(const PGresult *r, int row, int col, char *dst, size_t cap);
int64_t pg_col_i64(const PGresult *r, int row, int col);

/** Fills fl from row `row` of a result selecting PG_FL_COLS starting at
 * column `first`. The tags are parsed into *tags_json (the caller
 * json_decref's it after the callback) and *tagv (free'd by the caller). */
int pg_row_to_flowlog(const PGresult *r, int row, int first, struct flowlog *fl, void **tags_json,
                      struct tag **tagv, struct serr *e);

/** "1"/"0" and a number as text. */
void pg_i64(char *buf, size_t cap, int64_t v);

/* ==== pg_agent.c: host bindings, a host's snapshot, agent keys ==== */

/** Writes r's host binding (r->host_device "" deletes it) inside a
 * transaction on c. */
int pg_binding_put(PGconn *c, const char *uin, const struct resource *r, struct serr *e);
int pg_resource_bind(struct store *st, const char *uin, const char *id, const char *host,
                     const char *device, const char *netns, struct serr *e);
int pg_host_snapshot(struct store *st, const char *host, const struct host_sink *sink,
                     struct serr *e);
int pg_agent_key_create(struct store *st, const char *host, struct agent_key *out,
                        struct serr *e);
int pg_agent_key_lookup(struct store *st, const char *secret_id, struct agent_key *out,
                        struct serr *e);
int pg_agent_key_list(struct store *st, agent_key_cb cb, void *ud, struct serr *e);
int pg_agent_key_delete(struct store *st, const char *secret_id, struct serr *e);
int pg_agent_key_put(struct store *st, const struct agent_key *k, struct serr *e);

/* ==== pg_writer.c ==== */

int pg_writers_start(struct store_pg *s, int n);
void pg_writers_stop(struct store_pg *s);
int pg_flowlog_create(struct store *st, const struct flowlog *fl, uint32_t quota,
                      struct serr *e);
int pg_flowlog_create_async(struct store *st, const struct flowlog *fl, uint32_t quota,
                            struct store_op *op);

/* ==== pg_flowlog.c ==== */

int pg_flowlog_get(struct store *st, const char *uin, const char *region, const char *id,
                   flowlog_cb cb, void *ud, struct serr *e);
int pg_flowlog_query(struct store *st, const struct flowlog_query *q, flowlog_cb cb, void *ud,
                     uint64_t *total, struct serr *e);
int pg_flowlog_update(struct store *st, const char *uin, const char *region, const char *id,
                      const struct flowlog_patch *p, struct serr *e);
int pg_flowlog_delete(struct store *st, const char *uin, const char *region, const char *id,
                      struct serr *e);
int pg_flowlog_set_enable(struct store *st, const char *uin, const char *region,
                          const char *const *ids, size_t n, int enable, struct serr *e);
int pg_flowlog_tags_modify(struct store *st, const char *uin, const char *region, const char *id,
                           const struct tag *set, size_t nset, const char *const *del,
                           size_t ndel, struct serr *e);
/** Locks the (uin, region) counter row, the first lock of every write that
 * adds or removes flow logs (one lock order: no deadlocks). */
int pg_lock_region(PGconn *c, const char *uin, const char *region, struct serr *e);

/* ==== pg_resource.c ==== */

/** store_state_dump: every row, from one REPEATABLE READ snapshot. */
int pg_state_dump(struct store *st, const struct state_sink *sink, struct serr *e);

int pg_resource_create(struct store *st, const char *uin, const struct resource *r,
                       struct serr *e);
int pg_resource_delete(struct store *st, const char *uin, const char *region, enum res_kind kind,
                       const char *id, struct serr *e);
int pg_resource_attach(struct store *st, const char *uin, const char *region, const char *eni_id,
                       const char *instance_id, struct serr *e);
int pg_resource_query(struct store *st, const struct resource_query *q, resource_cb cb, void *ud,
                      uint64_t *total, struct serr *e);
int pg_resource_get(struct store *st, const char *uin, const char *region, enum res_kind kind,
                    const char *id, struct resource *out, struct serr *e);
int pg_inventory_import(struct store *st, const char *uin, const struct resource *items,
                        size_t n, struct serr *e);

/* ==== pg_cls.c: the cls service's logsets, topics and logs ==== */

int pg_cls_logset_create(struct store *st, const struct cls_logset *ls, struct serr *e);
int pg_cls_logset_list(struct store *st, const char *uin, const char *region, cls_logset_cb cb,
                       void *ud, struct serr *e);
int pg_cls_logset_delete(struct store *st, const char *uin, const char *region, const char *id,
                         struct serr *e);
int pg_cls_topic_create(struct store *st, const struct cls_topic *t, struct serr *e);
/* the state export's part: every logset, then every topic, to sink, on c
 * inside the caller's snapshot */
int pg_cls_dump(PGconn *c, const struct state_sink *sink, struct serr *e);
int pg_cls_topic_list(struct store *st, const char *uin, const char *region, cls_topic_cb cb,
                      void *ud, struct serr *e);
int pg_cls_topic_update(struct store *st, const struct cls_topic *t, int set_tags, struct serr *e);
int pg_cls_topic_delete(struct store *st, const char *uin, const char *region, const char *id,
                        struct serr *e);
int pg_cls_logs_put(struct store *st, const char *uin, const char *region, const char *topic_id,
                    const struct cls_group *groups, size_t ngroups, const char *batch_tag,
                    uint64_t *stored, struct serr *e);
int pg_cls_logs_scan(struct store *st, const struct cls_scan *q, cls_log_cb cb, void *ud,
                     uint64_t *max_seq, struct serr *e);
int pg_cls_logs_expire(struct store *st, int64_t now_ms, uint64_t *deleted, struct serr *e);
int pg_cls_topic_owner(struct store *st, const char *topic_id, struct account *out,
                       struct serr *e);

#endif
