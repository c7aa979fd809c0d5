/* store.h: the one interface to persistent state (accounts, keys,
 * inventory, flow logs), implemented by store/sqlite (and later store/pg).
 *
 * Thread safety: every operation may be called from any thread at once.
 * Durability: an operation that returns STORE_OK for a write has been
 * committed to stable storage (a kill -9 right after loses nothing).
 * Concurrent writes may share one commit (group commit); each write is still
 * atomic on its own: it fully happens or leaves nothing.
 * Tenancy: every flow-log and resource operation is scoped by (uin, region);
 * rows of another account are never seen.
 *
 * Strings in the structs are fixed arrays (no ownership questions), except
 * `tags`, which is borrowed: on input, owned by the caller for the duration
 * of the call; on output (callbacks), valid only during the callback.
 */
#ifndef FLOWLOGD_STORE_STORE_H
#define FLOWLOGD_STORE_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cls/log.h"

enum store_rc {
    STORE_OK = 0,
    STORE_NOTFOUND, /* the row (or one of several) does not exist for this account */
    STORE_EXISTS,   /* a uniqueness rule failed (e.g. resource already has a flow log) */
    STORE_QUOTA,    /* the account's quota would be passed */
    STORE_CONFLICT, /* a generated id collided: the caller draws a new one and retries */
    STORE_INUSE,    /* the row is referenced by others (detail says by what) */
    STORE_HAS_FLOWLOG, /* a CCN or DCG that has a flow log cannot be deleted */
    STORE_ERR,      /* the backend failed; nothing was written */
};

/** Detail for the caller's message: a missing id, what is in the way, or
 * the backend's error text. Caller-owned. */
struct serr {
    char msg[256];
};

/* ==== accounts and keys ==== */

/* flow logs per region of an account created with quota 0 */
#define STORE_DEFAULT_FLOWLOG_QUOTA 100

struct account {
    uint64_t app_id;
    char uin[24];
    uint32_t flowlog_quota; /* flow logs per region */
    uint32_t rate_limit;    /* requests/s per action; 0 = the server's default */
};

struct key_info {
    char secret_id[64];
    char secret_key[64];
    char actions[2048]; /* "" = every action, else ",A,B," (leading and trailing comma) */
    struct account account;
    /* a temporary key (STS-style) has a token and an end; a permanent one
     * has token "" and expires 0 */
    char token[72];
    int64_t expires; /* UNIX seconds after which the key is refused; 0 = never */
};

/* ==== inventory ==== */

/* The kinds are stored (resources.kind, flowlogs.resource_kind): a kind
 * keeps its number. */
enum res_kind {
    RES_VPC = 1,
    RES_SUBNET,
    RES_ENI,
    RES_INSTANCE,
    RES_CCN,
    RES_NAT,
    RES_DCG,
    RES_CLS_TOPIC,     /* region = the topic's own region */
    RES_CKAFKA,        /* edition in `edition`, bootstrap list in `brokers` */
    RES_CKAFKA_TOPIC,  /* id = "<instance>/<topic>", instance_id = instance, name = topic */
    RES_TASK,          /* an asynchronous task: id = the RequestId, name = its status */
};

struct resource {
    enum res_kind kind;
    char region[32];
    char id[160];
    char vpc_id[32];       /* SUBNET, ENI, NAT, DCG */
    char subnet_id[32];    /* ENI */
    char instance_id[80];  /* ENI: attached instance ("" = unattached); CKAFKA_TOPIC */
    char name[256];
    char cidr[64];
    char instance_type[64]; /* INSTANCE */
    char edition[32];       /* CKAFKA */
    char brokers[512];      /* CKAFKA: the Kafka bootstrap list, "host:port,..." */
    int nat_version;        /* NAT: 1 classic, 2 standard (DPDK) */
    int has_dnat;           /* NAT */
    /* ENI: its private addresses (PrivateIpAddresses; IPv4 or IPv6), comma-
     * separated, the primary first. CCN: its attached VPCs (AttachedVpcs),
     * comma-separated "VPCID REGION CIDR" (VPCID "-" when not given). What
     * the data plane attributes by address (docs/ARCHITECTURE.md). */
    char addrs[1024];
    int64_t created_at;     /* unix seconds */
    /* ENI, NAT, DCG, CCN: where its traffic crosses a host (the data plane's
     * agents watch that device). host "" = bound nowhere. Kept in the
     * store's host bindings, beside the resource's row: the inventory import
     * and resource_bind write them, state_dump and host_snapshot read them;
     * resource_get, resource_query and resource_create leave them alone. */
    char host[64];          /* the host name */
    char host_device[16];   /* the device on it (IFNAMSIZ) */
    char host_netns[128];   /* its network namespace ("" = the host's own) */
    /* Display-only attributes of a resource created through the API, as a
     * JSON object text ("" or NULL = none): borrowed like `tags` (input:
     * the caller's during the call; output: valid during the callback).
     * Written by resource_create and returned by resource_query only;
     * resource_get and the inventory import leave it alone. */
    const char *attrs;
};

typedef void (*resource_cb)(void *ud, const struct resource *r);

/** Describe* of resources: every non-NULL filter matches exactly (AND);
 * ids (nids > 0) restricts to those ids. Ordered by created_at, then id.
 * limit 0 means no limit; *total counts every match. */
struct resource_query {
    const char *uin, *region;
    enum res_kind kind;
    const char *const *ids;
    size_t nids;
    const char *vpc_id, *subnet_id, *instance_id, *name;
    uint64_t offset, limit;
};

/* ==== flow logs ==== */

struct tag {
    const char *key;
    const char *value;
};

/* The flow log record, one row per field: the struct members, the store's
 * columns (same names), the order and names of the API's FlowLog structure.
 * X(kind, member, size, wire name, enclosing wire structure or NULL):
 *   STR      char member[size], a string column; wire "" = not rendered
 *   TIME     int64_t, unix seconds, a string column CreatedTime on the wire
 *   TAGS     the borrowed list `tags` / `ntags`, the wire's TagSet
 *   BOOL     int, 0 or 1
 *   PERIOD   uint32_t, rendered only when not 0
 *   KIND     enum res_kind, an integer column; on the wire its ResourceType
 *            name (validate/: resource_type_of), which the store never sees
 * Rows are in the wire order. A new field is a row here (and, for a
 * backend, a migration adding its column). */
#define FLOWLOG_FIELDS(X)                                                                        \
    X(STR, vpc_id, 32, "VpcId", NULL) /* "" for CCN */                                           \
    X(STR, id, 16, "FlowLogId", NULL) /* fl-xxxxxxxx */                                          \
    X(STR, name, 244, "FlowLogName", NULL) /* <= 60 characters */                                \
    X(KIND, resource_kind, 0, "ResourceType", NULL)                                              \
    X(STR, resource_id, 80, "ResourceId", NULL)                                                  \
    X(STR, traffic_type, 8, "TrafficType", NULL)                                                 \
    X(STR, cloud_log_id, 40, "CloudLogId", NULL)                                                 \
    X(STR, cloud_log_state, 16, "CloudLogState", NULL)                                           \
    X(STR, description, 2052, "FlowLogDescription", NULL)                                        \
    X(TIME, created_at, 0, "CreatedTime", NULL)                                                  \
    X(TAGS, tags, 0, "TagSet", NULL)                                                             \
    X(BOOL, enable, 0, "Enable", NULL)                                                           \
    X(STR, storage_type, 8, "StorageType", NULL)                                                 \
    X(STR, storage_id, 80, "StorageId", "FlowLogStorage")                                        \
    X(STR, storage_topic, 256, "StorageTopic", "FlowLogStorage")                                 \
    X(STR, cloud_log_region, 32, "CloudLogRegion", NULL)                                         \
    X(PERIOD, period, 0, "Period", NULL) /* 0 unless CCN */                                      \
    X(STR, uin, 24, "", NULL)                                                                  \
    X(STR, region, 32, "", NULL)                                                               \
    X(STR, record_format, 384, "", NULL) /* "" = Tencent's line; else flow.h's format text */

#define FLOWLOG_MEMBER_STR(member, size) char member[size];
#define FLOWLOG_MEMBER_TIME(member, size) int64_t member;
#define FLOWLOG_MEMBER_TAGS(member, size)                                                        \
    const struct tag *member;                                                                    \
    size_t n##member;
#define FLOWLOG_MEMBER_BOOL(member, size) int member;
#define FLOWLOG_MEMBER_PERIOD(member, size) uint32_t member;
#define FLOWLOG_MEMBER_KIND(member, size) enum res_kind member;

struct flowlog {
#define X(kind, member, size, wire, group) FLOWLOG_MEMBER_##kind(member, size)
    FLOWLOG_FIELDS(X)
#undef X
};

typedef void (*flowlog_cb)(void *ud, const struct flowlog *fl);

enum flowlog_order { ORDER_CREATE_TIME, ORDER_NAME };

/** DescribeFlowLogs: every non-empty string filter must match exactly
 * (AND); tag_key matches a flow log having that key; tag_keys/tag_values
 * (ntag_pairs) each require key=value. Ties are ordered by id. */
struct flowlog_query {
    const char *uin, *region;
    const char *vpc_id, *id, *name, *resource_id, *traffic_type, *cloud_log_id,
        *cloud_log_state, *cloud_log_region;
    enum res_kind resource_kind; /* 0: any */
    const char *const *tag_keys_any; /* "tag-key": the flow log has one of these keys */
    size_t ntag_keys_any;
    const struct tag *tag_pairs; /* "tag:<k>" = v: each pair's key must have one of... */
    size_t ntag_pairs;           /* ...the values given for it (pairs with equal keys OR) */
    enum flowlog_order order;
    int descending;
    uint64_t offset, limit;
};

/** Fields of ModifyFlowLogAttribute (and the admin's record format): NULL
 * / 0 means "leave as is". */
struct flowlog_patch {
    const char *name;
    const char *description;
    uint32_t period;
    const char *record_format; /* "" = back to Tencent's default line */
};

/* ==== the data plane: agent keys and what a host captures ==== */

/** A key a capture agent signs its control-plane requests with: no
 * tenant's, and good for no API action. host "" = may ask for any host,
 * else only for that one. */
struct agent_key {
    char secret_id[64];
    char secret_key[64];
    char host[64];
    int64_t created_at; /* unix seconds */
};

typedef void (*agent_key_cb)(void *ud, const struct agent_key *k);

/** What host_snapshot hands out, from one snapshot: every resource bound to
 * the host (with its account), then every enabled flow log of those
 * accounts whose ResourceId is one of those resources, their subnets or
 * their VPCs (each flow log once). Pointers are valid during the callback
 * only. */
struct host_sink {
    void *ud;
    void (*resource)(void *ud, const struct account *a, const struct resource *r);
    void (*flowlog)(void *ud, const struct flowlog *fl);
};

/* ==== CLS: logsets, topics and their logs (the cls service) ==== */

#define STORE_CLS_MAX_LOGSETS 500 /* per tenant and region */
#define STORE_CLS_MAX_TOPICS 500  /* per logset */

struct cls_logset {
    char uin[24], region[32];
    char id[64];
    char name[256];
    int64_t created_at;   /* unix seconds */
    uint32_t topic_count; /* on output */
    const struct tag *tags; /* borrowed, as a flow log's */
    size_t ntags;
};

struct cls_topic {
    char uin[24], region[32];
    char id[64], logset_id[64];
    char name[256];
    char storage_type[16]; /* "hot" or "cold" */
    char describes[1024];
    uint32_t period;          /* days the logs are kept (1..3600) */
    uint32_t partition_count;
    int status;               /* 1 collecting, 0 closed (ModifyTopic Status) */
    int64_t created_at;       /* unix seconds */
    const struct tag *tags;
    size_t ntags;
};

typedef void (*cls_logset_cb)(void *ud, const struct cls_logset *ls);
typedef void (*cls_topic_cb)(void *ud, const struct cls_topic *t);

/** One stored log, as a search reads it: valid during the callback. `seq`
 * orders the logs of a store by arrival (never reused while the log is
 * kept). */
struct cls_stored_log {
    int64_t time_ms;
    uint64_t seq;
    const char *source, *filename;
    const struct cls_kv *contents;
    size_t n;
};

/** 0 to go on, 1 to stop the scan. */
typedef int (*cls_log_cb)(void *ud, const struct cls_stored_log *l);

/** A topic's logs with from_ms <= time_ms <= to_ms, in (time_ms, seq)
 * order (descending: the reverse); with `after`, only those strictly
 * after (after_time, after_seq) in that order; with max_seq, only logs
 * with seq <= max_seq (a search's snapshot: logs that arrive later are
 * not in it). */
struct cls_scan {
    const char *uin, *region, *topic_id;
    int64_t from_ms, to_ms;
    int descending;
    int after;
    int64_t after_time;
    uint64_t after_seq;
    uint64_t max_seq; /* 0: none */
};

/* ==== the interface ==== */

struct store;

/* ==== the writer's figures (for /metrics) ==== */

#define STORE_HIST_N 13
/** A latency histogram, lock-free: n[i] counts the samples of at most
 * store_hist_le_us[i] (and above the bound before), n[STORE_HIST_N] the
 * ones above every bound (store_util.c adds and writes them). */
struct store_hist {
    _Atomic uint64_t n[STORE_HIST_N + 1];
    _Atomic uint64_t sum_us;
};
extern const uint64_t store_hist_le_us[STORE_HIST_N];

/** What /metrics shows of a store's writer. The histograms are the
 * store's own: valid while it is open. */
struct store_writer_stats {
    const struct store_hist *commit; /* the writer's transactions, BEGIN to COMMIT returned */
    const struct store_hist *fsync;  /* the commits' fsyncs; NULL where flowlogd cannot see them */
    uint64_t queue;                  /* writes waiting for the writer now */
};

/** Where store_state_dump hands out the store's rows, one snapshot: every
 * account, then every key, resource and flow log (each ordered by its
 * key). Pointers are valid during the callback only. */
struct state_sink {
    void *ud;
    void (*account)(void *ud, const struct account *a);
    void (*key)(void *ud, const struct key_info *k); /* k->account.uin names its account */
    void (*resource)(void *ud, const char *uin, const struct resource *r); /* with attrs */
    void (*flowlog)(void *ud, const struct flowlog *fl);
    /* then the cls service's logsets, then its topics (NULL: not wanted; a
     * backend that does not dump them never calls them) */
    void (*cls_logset)(void *ud, const struct cls_logset *ls);
    void (*cls_topic)(void *ud, const struct cls_topic *t);
};

/** A write that does not hold its caller's thread. The caller fills `done`
 * (and `ud`, the caller's, for done to find its state) and owns the op, and
 * everything the call's arguments point to, until done(op) has been called:
 * once, on a store thread, after the write is durable (rc STORE_OK) or
 * failed (rc and err as the blocking call's). done may start another
 * asynchronous write with the same op (a retry); it must not wait for
 * anything. */
struct store_op {
    void (*done)(struct store_op *op);
    void *ud;
    int rc;
    struct serr err;
};

struct store_ops {
    int (*account_create)(struct store *, uint32_t flowlog_quota, struct account *out,
                          struct serr *);
    int (*key_create)(struct store *, const char *uin, const char *actions, struct key_info *out,
                      struct serr *);
    int (*key_lookup)(struct store *, const char *secret_id, struct key_info *out, struct serr *);
    /* a temporary key: like key_create, plus a random token, valid until
     * `expires` (UNIX seconds) */
    int (*key_create_temporary)(struct store *, const char *uin, const char *actions,
                                int64_t expires, struct key_info *out, struct serr *);

    int (*inventory_import)(struct store *, const char *uin, const struct resource *items,
                            size_t n, struct serr *);
    int (*resource_get)(struct store *, const char *uin, const char *region, enum res_kind kind,
                        const char *id, struct resource *out, struct serr *);

    int (*flowlog_create)(struct store *, const struct flowlog *fl, uint32_t quota,
                          struct serr *);
    /* the same, without waiting: STORE_OK once queued (op->done follows),
     * else an error and op->done is never called */
    int (*flowlog_create_async)(struct store *, const struct flowlog *fl, uint32_t quota,
                                struct store_op *op);
    int (*flowlog_get)(struct store *, const char *uin, const char *region, const char *id,
                       flowlog_cb cb, void *ud, struct serr *);
    int (*flowlog_query)(struct store *, const struct flowlog_query *q, flowlog_cb cb, void *ud,
                         uint64_t *total, struct serr *);
    int (*flowlog_update)(struct store *, const char *uin, const char *region, const char *id,
                          const struct flowlog_patch *p, struct serr *);
    int (*flowlog_delete)(struct store *, const char *uin, const char *region, const char *id,
                          struct serr *);
    /* All or nothing: one unknown id -> STORE_NOTFOUND (serr names it), nothing changes. */
    int (*flowlog_set_enable)(struct store *, const char *uin, const char *region,
                              const char *const *ids, size_t n, int enable, struct serr *);

    /* Resources created through the API (they share the table with the
     * inventory import). create: STORE_CONFLICT if the id exists (the caller
     * draws another), STORE_NOTFOUND if a parent named in vpc_id /
     * subnet_id / instance_id does not exist (serr names it). */
    int (*resource_create)(struct store *, const char *uin, const struct resource *r,
                           struct serr *);
    /* delete: STORE_NOTFOUND; STORE_INUSE when something is still in it
     * (a VPC's subnets, ENIs or gateways; a subnet's ENIs; an attached ENI;
     * serr names what is in the way); STORE_HAS_FLOWLOG for a CCN or DCG
     * with a flow log. Deleting an ENI, subnet, NAT or VPC deletes its flow
     * log (and that flow log's tags) in the same transaction. */
    int (*resource_delete)(struct store *, const char *uin, const char *region, enum res_kind kind,
                           const char *id, struct serr *);
    /* Attach (instance_id non-empty) or detach (NULL or "") an ENI.
     * STORE_NOTFOUND for the ENI or the instance; STORE_INUSE when attaching
     * an ENI attached elsewhere or detaching an unattached one. */
    int (*resource_attach)(struct store *, const char *uin, const char *region,
                           const char *eni_id, const char *instance_id, struct serr *);
    int (*resource_query)(struct store *, const struct resource_query *q, resource_cb cb,
                          void *ud, uint64_t *total, struct serr *);

    /* Tags through the tag service: upsert `set`, remove the keys in `del`,
     * atomically. STORE_NOTFOUND; STORE_QUOTA if the flow log would have
     * more than 50 keys. */
    int (*flowlog_tags_modify)(struct store *, const char *uin, const char *region,
                               const char *id, const struct tag *set, size_t nset,
                               const char *const *del, size_t ndel, struct serr *);

    int (*integrity_check)(struct store *, struct serr *);

    /* ==== the test-lifecycle admin operations (src/admin) ==== */
    /* Deletes account `uin` and everything of it (keys, inventory, flow
     * logs, tags, counters), or every account when uin is NULL, in one
     * durable transaction. STORE_NOTFOUND for an unknown uin. */
    int (*reset)(struct store *, const char *uin, struct serr *);
    /* Creates an account with want's AppId and Uin (0 / "" = drawn at
     * random) and quota (0 = the default); when secret_id is not NULL, with
     * the key secret_id/secret_key (every action) in the same transaction.
     * STORE_EXISTS if the AppId, Uin or SecretId is taken (serr says which);
     * nothing is written then. */
    int (*account_put)(struct store *, const struct account *want, const char *secret_id,
                       const char *secret_key, struct account *out, struct serr *);
    /* A key with the given SecretId/SecretKey for account uin (actions as
     * key_create): permanent with token "" and expires 0, else a temporary
     * one with that token and end (a state import carries them).
     * STORE_NOTFOUND, STORE_EXISTS. */
    int (*key_put)(struct store *, const char *uin, const char *secret_id,
                   const char *secret_key, const char *actions, const char *token,
                   int64_t expires, struct serr *);
    /* *any = 1 if the store has at least one account, else 0 (serve --init
     * applies its files to an empty store only). */
    int (*account_any)(struct store *, int *any, struct serr *);
    /* Every row, through sink, from one consistent snapshot (the admin
     * API's state export). */
    int (*state_dump)(struct store *, const struct state_sink *sink, struct serr *);
    /* The writer's commit (and fsync) latency and queue depth, now. */
    void (*writer_stats)(struct store *, struct store_writer_stats *out);
    /* ==== the data plane ==== */
    /* Binds (device non-empty) or unbinds the ENI, NAT gateway, DCG or CCN
     * `id` of account uin to device `device` in namespace `netns` (NULL or
     * "" = the host's own) of host `host`. STORE_NOTFOUND if uin has no such
     * resource (of those kinds). */
    int (*resource_bind)(struct store *, const char *uin, const char *id, const char *host,
                         const char *device, const char *netns, struct serr *);
    /* See struct host_sink. */
    int (*host_snapshot)(struct store *, const char *host, const struct host_sink *sink,
                         struct serr *);
    /* A new agent key (random SecretId "AKA..." and SecretKey) for `host`
     * ("" or NULL = any host). */
    int (*agent_key_create)(struct store *, const char *host, struct agent_key *out,
                            struct serr *);
    /* STORE_NOTFOUND if there is no such agent key. */
    int (*agent_key_lookup)(struct store *, const char *secret_id, struct agent_key *out,
                            struct serr *);
    int (*agent_key_list)(struct store *, agent_key_cb cb, void *ud, struct serr *);
    int (*agent_key_delete)(struct store *, const char *secret_id, struct serr *);
    /* the cls service's logsets, topics and logs: NULL on a backend that
     * does not keep them (store_has_cls) */
    int (*cls_logset_create)(struct store *, const struct cls_logset *ls, struct serr *);
    int (*cls_logset_list)(struct store *, const char *uin, const char *region, cls_logset_cb cb,
                           void *ud, struct serr *);
    int (*cls_logset_delete)(struct store *, const char *uin, const char *region, const char *id,
                             struct serr *);
    int (*cls_topic_create)(struct store *, const struct cls_topic *t, struct serr *);
    int (*cls_topic_list)(struct store *, const char *uin, const char *region, cls_topic_cb cb,
                          void *ud, struct serr *);
    int (*cls_topic_update)(struct store *, const struct cls_topic *t, int set_tags,
                            struct serr *);
    int (*cls_topic_delete)(struct store *, const char *uin, const char *region, const char *id,
                            struct serr *);
    int (*cls_logs_put)(struct store *, const char *uin, const char *region, const char *topic_id,
                        const struct cls_group *groups, size_t ngroups, const char *batch_tag,
                        uint64_t *stored, struct serr *);
    int (*cls_logs_scan)(struct store *, const struct cls_scan *q, cls_log_cb cb, void *ud,
                         uint64_t *max_seq, struct serr *);
    int (*cls_logs_expire)(struct store *, int64_t now_ms, uint64_t *deleted, struct serr *);
    int (*cls_topic_owner)(struct store *, const char *topic_id, struct account *out,
                           struct serr *);
    void (*close)(struct store *);
};

struct store {
    const struct store_ops *ops;
    const char *name; /* "sqlite" */
};

/** Opens the store in data directory `dir` (created mode 0700 if absent; its
 * files are mode 0600). Returns NULL with the reason in e. */
struct store *store_open_sqlite(const char *dir, struct serr *e);

/** Opens the PostgreSQL store at `url` (postgresql://... or postgres://...;
 * our own parameter `schema=NAME` puts every table in that schema), applying
 * the schema migrations (one node migrates, the others wait). NULL with the
 * reason in e. */
struct store *store_open_pg(const char *url, struct serr *e);

/** 1 if spec names a PostgreSQL store (a postgresql:// URL), else 0. */
int store_is_pg_url(const char *spec);

/** Opens the store that `spec` names: a postgresql:// URL, else a SQLite
 * data directory. */
struct store *store_open_spec(const char *spec, struct serr *e);

static inline int store_account_create(struct store *s, uint32_t quota, struct account *out,
                                       struct serr *e)
{
    return s->ops->account_create(s, quota, out, e);
}
static inline int store_key_create(struct store *s, const char *uin, const char *actions,
                                   struct key_info *out, struct serr *e)
{
    return s->ops->key_create(s, uin, actions, out, e);
}
/** A temporary key of account `uin`, with a token, refused after `expires`
 * (UNIX seconds). Same errors as store_key_create. */
static inline int store_key_create_temporary(struct store *s, const char *uin,
                                             const char *actions, int64_t expires,
                                             struct key_info *out, struct serr *e)
{
    return s->ops->key_create_temporary(s, uin, actions, expires, out, e);
}
static inline int store_key_lookup(struct store *s, const char *sid, struct key_info *out,
                                   struct serr *e)
{
    return s->ops->key_lookup(s, sid, out, e);
}
static inline int store_inventory_import(struct store *s, const char *uin,
                                         const struct resource *items, size_t n, struct serr *e)
{
    return s->ops->inventory_import(s, uin, items, n, e);
}
static inline int store_resource_get(struct store *s, const char *uin, const char *region,
                                     enum res_kind kind, const char *id, struct resource *out,
                                     struct serr *e)
{
    return s->ops->resource_get(s, uin, region, kind, id, out, e);
}
static inline int store_flowlog_create(struct store *s, const struct flowlog *fl, uint32_t quota,
                                       struct serr *e)
{
    return s->ops->flowlog_create(s, fl, quota, e);
}
static inline int store_flowlog_create_async(struct store *s, const struct flowlog *fl,
                                             uint32_t quota, struct store_op *op)
{
    return s->ops->flowlog_create_async(s, fl, quota, op);
}
static inline int store_flowlog_get(struct store *s, const char *uin, const char *region,
                                    const char *id, flowlog_cb cb, void *ud, struct serr *e)
{
    return s->ops->flowlog_get(s, uin, region, id, cb, ud, e);
}
static inline int store_flowlog_query(struct store *s, const struct flowlog_query *q,
                                      flowlog_cb cb, void *ud, uint64_t *total, struct serr *e)
{
    return s->ops->flowlog_query(s, q, cb, ud, total, e);
}
static inline int store_flowlog_update(struct store *s, const char *uin, const char *region,
                                       const char *id, const struct flowlog_patch *p,
                                       struct serr *e)
{
    return s->ops->flowlog_update(s, uin, region, id, p, e);
}
static inline int store_flowlog_delete(struct store *s, const char *uin, const char *region,
                                       const char *id, struct serr *e)
{
    return s->ops->flowlog_delete(s, uin, region, id, e);
}
static inline int store_flowlog_set_enable(struct store *s, const char *uin, const char *region,
                                           const char *const *ids, size_t n, int enable,
                                           struct serr *e)
{
    return s->ops->flowlog_set_enable(s, uin, region, ids, n, enable, e);
}
static inline int store_resource_create(struct store *s, const char *uin,
                                        const struct resource *r, struct serr *e)
{
    return s->ops->resource_create(s, uin, r, e);
}
static inline int store_resource_delete(struct store *s, const char *uin, const char *region,
                                        enum res_kind kind, const char *id, struct serr *e)
{
    return s->ops->resource_delete(s, uin, region, kind, id, e);
}
static inline int store_resource_attach(struct store *s, const char *uin, const char *region,
                                        const char *eni_id, const char *instance_id,
                                        struct serr *e)
{
    return s->ops->resource_attach(s, uin, region, eni_id, instance_id, e);
}
static inline int store_resource_query(struct store *s, const struct resource_query *q,
                                       resource_cb cb, void *ud, uint64_t *total, struct serr *e)
{
    return s->ops->resource_query(s, q, cb, ud, total, e);
}
static inline int store_flowlog_tags_modify(struct store *s, const char *uin, const char *region,
                                            const char *id, const struct tag *set, size_t nset,
                                            const char *const *del, size_t ndel, struct serr *e)
{
    return s->ops->flowlog_tags_modify(s, uin, region, id, set, nset, del, ndel, e);
}
static inline int store_integrity_check(struct store *s, struct serr *e)
{
    return s->ops->integrity_check(s, e);
}
static inline int store_reset(struct store *s, const char *uin, struct serr *e)
{
    return s->ops->reset(s, uin, e);
}
static inline int store_account_put(struct store *s, const struct account *want,
                                    const char *secret_id, const char *secret_key,
                                    struct account *out, struct serr *e)
{
    return s->ops->account_put(s, want, secret_id, secret_key, out, e);
}
static inline int store_key_put(struct store *s, const char *uin, const char *secret_id,
                                const char *secret_key, const char *actions, struct serr *e)
{
    return s->ops->key_put(s, uin, secret_id, secret_key, actions, "", 0, e);
}
/** store_key_put of a temporary key: its token and end (UNIX seconds) as given. */
static inline int store_key_put_temporary(struct store *s, const char *uin,
                                          const char *secret_id, const char *secret_key,
                                          const char *actions, const char *token,
                                          int64_t expires, struct serr *e)
{
    return s->ops->key_put(s, uin, secret_id, secret_key, actions, token, expires, e);
}
static inline int store_account_any(struct store *s, int *any, struct serr *e)
{
    return s->ops->account_any(s, any, e);
}
static inline int store_state_dump(struct store *s, const struct state_sink *sink,
                                   struct serr *e)
{
    return s->ops->state_dump(s, sink, e);
}
static inline void store_writer_stats(struct store *s, struct store_writer_stats *out)
{
    s->ops->writer_stats(s, out);
}
static inline int store_resource_bind(struct store *s, const char *uin, const char *id,
                                      const char *host, const char *device, const char *netns,
                                      struct serr *e)
{
    return s->ops->resource_bind(s, uin, id, host, device, netns, e);
}
static inline int store_host_snapshot(struct store *s, const char *host,
                                      const struct host_sink *sink, struct serr *e)
{
    return s->ops->host_snapshot(s, host, sink, e);
}
static inline int store_agent_key_create(struct store *s, const char *host, struct agent_key *out,
                                         struct serr *e)
{
    return s->ops->agent_key_create(s, host, out, e);
}
static inline int store_agent_key_lookup(struct store *s, const char *secret_id,
                                         struct agent_key *out, struct serr *e)
{
    return s->ops->agent_key_lookup(s, secret_id, out, e);
}
static inline int store_agent_key_list(struct store *s, agent_key_cb cb, void *ud,
                                       struct serr *e)
{
    return s->ops->agent_key_list(s, cb, ud, e);
}
static inline int store_agent_key_delete(struct store *s, const char *secret_id, struct serr *e)
{
    return s->ops->agent_key_delete(s, secret_id, e);
}
static inline void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

/* ==== the cls service ==== */

/** 1 if the store keeps CLS logsets, topics and logs (SQLite), 0 if not
 * (PostgreSQL, for now): the cls actions then answer UnsupportedOperation. */
static inline int store_has_cls(const struct store *s)
{
    return s->ops->cls_logs_put != NULL;
}

/** A new logset: STORE_EXISTS (its id or name is taken in the region),
 * STORE_QUOTA (STORE_CLS_MAX_LOGSETS). */
static inline int store_cls_logset_create(struct store *s, const struct cls_logset *ls,
                                          struct serr *e)
{
    return s->ops->cls_logset_create(s, ls, e);
}

/** Every logset of the tenant in the region, oldest first, with its
 * topic_count and tags. */
static inline int store_cls_logset_list(struct store *s, const char *uin, const char *region,
                                        cls_logset_cb cb, void *ud, struct serr *e)
{
    return s->ops->cls_logset_list(s, uin, region, cb, ud, e);
}

/** STORE_NOTFOUND, or STORE_INUSE while it has topics. */
static inline int store_cls_logset_delete(struct store *s, const char *uin, const char *region,
                                          const char *id, struct serr *e)
{
    return s->ops->cls_logset_delete(s, uin, region, id, e);
}

/** A new topic in its logset: STORE_NOTFOUND (no such logset of the
 * tenant), STORE_EXISTS (the id is taken, or the name in the logset),
 * STORE_QUOTA (STORE_CLS_MAX_TOPICS). The topic is then also a CLS topic
 * of the tenant's inventory (a CloudLogId CreateFlowLog accepts), in the
 * same transaction. */
static inline int store_cls_topic_create(struct store *s, const struct cls_topic *t,
                                         struct serr *e)
{
    return s->ops->cls_topic_create(s, t, e);
}

/** Every topic of the tenant in the region, oldest first, with its tags. */
static inline int store_cls_topic_list(struct store *s, const char *uin, const char *region,
                                       cls_topic_cb cb, void *ud, struct serr *e)
{
    return s->ops->cls_topic_list(s, uin, region, cb, ud, e);
}

/** Writes the topic's name, status, period, storage type, describes,
 * partition count (and its tags if set_tags): STORE_NOTFOUND, STORE_EXISTS
 * (the new name is taken in the logset). */
static inline int store_cls_topic_update(struct store *s, const struct cls_topic *t, int set_tags,
                                         struct serr *e)
{
    return s->ops->cls_topic_update(s, t, set_tags, e);
}

/** Deletes the topic and its logs; the flow logs pointing at it show
 * CloudLogState DELETED. STORE_NOTFOUND. */
static inline int store_cls_topic_delete(struct store *s, const char *uin, const char *region,
                                         const char *id, struct serr *e)
{
    return s->ops->cls_topic_delete(s, uin, region, id, e);
}

/** Stores the groups' logs in the topic, durable before it returns.
 * A group with a logTag named `batch_tag` (NULL: none) is an idempotent
 * batch: the first upload of that tag's value to the topic stores it, a
 * later one stores nothing of it. *stored counts the logs stored.
 * STORE_NOTFOUND (no such topic of the tenant), STORE_INUSE (closed). */
static inline int store_cls_logs_put(struct store *s, const char *uin, const char *region,
                                     const char *topic_id, const struct cls_group *groups,
                                     size_t ngroups, const char *batch_tag, uint64_t *stored,
                                     struct serr *e)
{
    return s->ops->cls_logs_put(s, uin, region, topic_id, groups, ngroups, batch_tag, stored, e);
}

/** Hands the logs of q to cb, in order, until it says stop, on one
 * snapshot; *max_seq (if not NULL) is the largest seq the store holds in
 * that snapshot (a search's bound for its later pages). STORE_NOTFOUND. */
static inline int store_cls_logs_scan(struct store *s, const struct cls_scan *q, cls_log_cb cb,
                                      void *ud, uint64_t *max_seq, struct serr *e)
{
    return s->ops->cls_logs_scan(s, q, cb, ud, max_seq, e);
}

/** The account owning cls topic `topic_id` when an enabled flow log of
 * that account delivers to it (CloudLogId, in the topic's region): what a
 * capture agent's key may upload into. STORE_NOTFOUND otherwise. */
static inline int store_cls_topic_owner(struct store *s, const char *topic_id, struct account *out,
                                        struct serr *e)
{
    return s->ops->cls_topic_owner(s, topic_id, out, e);
}

/** Deletes the logs older than their topic's Period (days) at now_ms. */
static inline int store_cls_logs_expire(struct store *s, int64_t now_ms, uint64_t *deleted,
                                        struct serr *e)
{
    return s->ops->cls_logs_expire(s, now_ms, deleted, e);
}

#endif
