/* sqlite_domain.h: what the domain files of store/sqlite (accounts, flow
 * logs, resources, tags) see of the backend: a connection (sqlite_int.h),
 * four calls into the engine, and their own entry points for the ops table
 * in sqlite.c. Not for other layers. */
#ifndef FLOWLOGD_STORE_SQLITE_DOMAIN_H
#define FLOWLOGD_STORE_SQLITE_DOMAIN_H

#include "store/sqlite/sqlite_engine.h"
#include "store/sqlite/sqlite_int.h"
#include "store/sqlite/sqlite_pagekeys.h"

/** The SQLite store; `base` must stay first. */
struct store_sqlite {
    struct store base;
    struct sq_engine *eng;
    struct pagekeys pages; /* where resource pages ended (sqlite_resource.c) */
};

static inline struct pagekeys *sq_pages_of(struct store *st)
{
    return &((struct store_sqlite *)st)->pages;
}

static inline struct sq_engine *sq_engine_of(struct store *st)
{
    return ((struct store_sqlite *)st)->eng;
}

/** This thread's reader connection in a read transaction (one snapshot up
 * to sq_read_end). STORE_OK or STORE_ERR with e set. */
static inline int sq_read_begin(struct store *st, struct conn **c, struct serr *e)
{
    struct sq_engine *g = sq_engine_of(st);
    return g->ops->read_begin(g, c, e);
}

static inline void sq_read_end(struct store *st, struct conn *c)
{
    struct sq_engine *g = sq_engine_of(st);
    g->ops->read_end(g, c);
}

/** Runs fn(arg) on the writer's connection in its own savepoint and waits
 * for its batch: the job's result, STORE_OK meaning durable. */
static inline int sq_write(struct store *st, wjob_fn fn, void *arg, struct serr *e)
{
    struct sq_engine *g = sq_engine_of(st);
    return g->ops->write(g, fn, arg, e);
}

/** Queues j and returns; j->complete(j) runs once its batch is durable or
 * failed (STORE_OK), or never (STORE_ERR: the store is closing). */
static inline int sq_write_async(struct store *st, struct wjob *j)
{
    struct sq_engine *g = sq_engine_of(st);
    return g->ops->write_async(g, j);
}

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
int sq_reset(struct store *st, const char *uin, struct serr *e);
int sq_account_any(struct store *st, int *any, struct serr *e);
int sq_state_dump(struct store *st, const struct state_sink *sink, struct serr *e);
void sq_writer_stats(struct store *st, struct store_writer_stats *out);
/** The flow-log part of sq_state_dump, on c's open read transaction. */
int sq_dump_flowlogs(struct conn *c, const struct state_sink *sink, struct serr *e);
/* every cls logset, then every topic, to sink (sqlite_cls.c) */
int sq_cls_dump(struct conn *c, const struct state_sink *sink, struct serr *e);
int sq_account_put(struct store *st, const struct account *want, const char *secret_id,
                   const char *secret_key, struct account *out, struct serr *e);
int sq_key_put(struct store *st, const char *uin, const char *secret_id, const char *secret_key,
               const char *actions, const char *token, int64_t expires, struct serr *e);

/* ==== sqlite_agent.c: host bindings, a host's snapshot, agent keys ==== */

/** Writes r's host binding (r->host_device "" deletes it), on the writer's
 * connection inside a job. */
int sq_binding_put(struct conn *c, const char *uin, const struct resource *r, struct serr *e);
int sq_resource_bind(struct store *st, const char *uin, const char *id, const char *host,
                     const char *device, const char *netns, struct serr *e);
int sq_host_snapshot(struct store *st, const char *host, const struct host_sink *sink,
                     struct serr *e);
int sq_agent_key_create(struct store *st, const char *host, struct agent_key *out,
                        struct serr *e);
int sq_agent_key_lookup(struct store *st, const char *secret_id, struct agent_key *out,
                        struct serr *e);
int sq_agent_key_list(struct store *st, agent_key_cb cb, void *ud, struct serr *e);
int sq_agent_key_delete(struct store *st, const char *secret_id, struct serr *e);
int sq_agent_key_put(struct store *st, const struct agent_key *k, struct serr *e);

/* ==== sqlite_flowlog.c ==== */

/** host_snapshot's flow logs, on c's open read transaction. */
int sq_host_flowlogs(struct conn *c, const char *host, const struct host_sink *sink,
                     struct serr *e);

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

/* ==== sqlite_cls.c: the cls service's logsets, topics and logs ==== */

int sq_cls_logset_create(struct store *s, const struct cls_logset *ls, struct serr *e);
int sq_cls_logset_list(struct store *s, const char *uin, const char *region, cls_logset_cb cb,
                       void *ud, struct serr *e);
int sq_cls_logset_delete(struct store *s, const char *uin, const char *region, const char *id,
                         struct serr *e);
int sq_cls_topic_create(struct store *s, const struct cls_topic *t, struct serr *e);
int sq_cls_topic_list(struct store *s, const char *uin, const char *region, cls_topic_cb cb,
                      void *ud, struct serr *e);
int sq_cls_topic_update(struct store *s, const struct cls_topic *t, int set_tags, struct serr *e);
int sq_cls_topic_delete(struct store *s, const char *uin, const char *region, const char *id,
                        struct serr *e);
int sq_cls_logs_put(struct store *s, const char *uin, const char *region, const char *topic_id,
                    const struct cls_group *groups, size_t ngroups, const char *batch_tag,
                    uint64_t *stored, struct serr *e);
int sq_cls_logs_scan(struct store *s, const struct cls_scan *q, cls_log_cb cb, void *ud,
                     uint64_t *max_seq, struct serr *e);
int sq_cls_logs_expire(struct store *s, int64_t now_ms, uint64_t *deleted, struct serr *e);
int sq_cls_topic_owner(struct store *s, const char *topic_id, struct account *out,
                       struct serr *e);

#endif
