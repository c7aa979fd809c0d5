/* action.h: what an action handler sees, and the action table.
 *
 * A handler gets its input already checked against the action's shape
 * (types, unknown and missing parameters are done) as the shape's C struct
 * (`c->in`: struct in_<Action>Request of schema_gen.h, each member NULL
 * when absent; its strings point into the checked JSON tree, which the api
 * keeps for the request's life), the caller's account and region, and two
 * places for its answer's members (everything of "Response" but RequestId):
 * the writer `c->w`, for the hot actions, which stream their members there,
 * and the object `out`, for the others, which build a jansson tree. The
 * writer's members come first. It returns API_E_OK or an error id with e
 * filled; on error both are discarded. */
#ifndef FLOWLOGD_API_ACTION_H
#define FLOWLOGD_API_ACTION_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "api/input.h"
#include "base/apierr.h"
#include "base/jsonw.h"
#include "http/http.h"
#include "store/store.h"

struct api_req;

struct actx {
    struct store *store;
    const struct account *account;
    const char *region; /* NULL for a tag-service call without Region */
    const char *request_id;
    time_t now;
    uint64_t now_ms; /* the same instant */
    enum api_lang lang; /* for messages a handler puts in its output */
    struct jw *w;       /* positioned inside the Response object */
    struct api_req *req; /* the api's, for api_defer */
    const struct key_info *key; /* the caller's key (its secret wiped or not: never render it) */
    const struct http_request *http; /* the request: a binary body's action reads it (UploadLog) */
    const void *in; /* the input struct of the action's shape (input_struct); lives as long
                       as the request */
};

typedef enum api_err (*action_fn)(struct actx *c, json_t *out, struct apierr *e);

/** The second half of a deferred handler: writes the answer's members (as
 * a handler does) and returns API_E_OK or an error with e filled. It owns
 * `state` and releases it. */
typedef enum api_err (*action_finish_fn)(struct actx *c, void *state, struct apierr *e);

struct api_wake;

/** The one way a handler waits (for a store write): it calls api_defer,
 * starts the write (the store's async write, whose completion has the
 * handler's state as its `ud`), has api_wake(handle) called once the write
 * is done (from any thread, exactly once), and returns API_E_OK; finish(c,
 * state, e) then completes the answer. How the request waits meanwhile is
 * the api's business, not the handler's: on a poll thread the connection is
 * suspended and the thread moves on (http_defer), finish running on the
 * poll thread once woken; elsewhere (a worker: v1 form requests; a request
 * made by hand; a server that is stopping) the calling thread waits for the
 * wake and runs finish itself. Ownership: `state` is the handler's until
 * finish, which releases it; the api_wake handle and the request (input
 * struct and tree, the actx's strings) are the api's and stay valid until
 * finish returns. NULL only if called twice for one request. */
struct api_wake *api_defer(struct actx *c, action_finish_fn finish, void *state);

/** See api_defer; exactly once per handle. */
void api_wake(struct api_wake *w);

/* Where an action runs: ACT_POLL, it answers without blocking its thread
 * (a poll thread may run it); ACT_WORKER, it may block (a worker); ACT_BULK,
 * a worker of the bulk pool (long reads, lower CPU priority). */
enum act_thread { ACT_WORKER, ACT_POLL, ACT_BULK };

struct action_def {
    const char *name;
    const char *service; /* "vpc", "tag", "sts" or "cls" */
    const char *version;
    const struct shape *input;
    action_fn fn;
    enum act_thread thread; /* where it runs */
};

/** For an action whose body is application/octet-stream (UploadLog): the
 * parameters its input takes from headers instead, "Param=X-Header,..."
 * (UploadLog: TopicId from X-CLS-TopicId); the handler reads the body from
 * c->http. NULL for every other action (JSON or form bodies). */
const char *action_binary_headers(const struct action_def *def);

/** The action of (`name`, `version`), or NULL. `*name_known` is set to 1
 * when the name exists under another version (-> NoSuchVersion). */
const struct action_def *action_find(const char *name, const char *version, int *name_known);

/** Like action_find, among the actions of `service` only ("vpc", "tag");
 * NULL means every service (a client addressing an IP address). */
const struct action_def *action_find_in(const char *name, const char *version,
                                        const char *service, int *name_known);

/* ==== helpers shared by handlers (handler_common.c) ==== */

/** An optional string input given as "" counts as absent (the SDKs omit
 * empty strings in form encoding, so JSON and form requests behave the
 * same): `s` when non-empty, else NULL. */
static inline const char *in_opt(const char *s)
{
    return s && *s ? s : NULL;
}

/** Writes the FlowLog structure of the spec for `fl` as one value (an array
 * element). Failures are the writer's (jw_failed). */
void render_flowlog(struct jw *w, const struct flowlog *fl);

/** Maps a store result to an API error (NOTFOUND, INUSE, QUOTA); anything
 * else goes to api_store_failed. */
enum api_err store_err_to_api(const struct actx *c, int rc, const struct serr *se,
                              const char *notfound_arg, struct apierr *e);

/** The one way a handler reports a store failure (STORE_ERR, or a result it
 * has no answer for): the client gets InternalError.ModuleError, and the
 * store's message (`se`, the cause: "disk I/O error", "database or disk is
 * full") is logged with the request's RequestId, account and action, at
 * ERROR for STORE_ERR, WARN otherwise. Returns e's id (API_E_STORE). */
enum api_err api_store_failed(const struct actx *c, int rc, const struct serr *se,
                              struct apierr *e);

/* ==== handlers ==== */
enum api_err act_create_flow_log(struct actx *c, json_t *out, struct apierr *e);
enum api_err act_describe_flow_logs(struct actx *c, json_t *out, struct apierr *e);
enum api_err act_describe_flow_log(struct actx *c, json_t *out, struct apierr *e);
enum api_err act_modify_flow_log_attribute(struct actx *c, json_t *out,
                                           struct apierr *e);
enum api_err act_delete_flow_log(struct actx *c, json_t *out, struct apierr *e);
enum api_err act_enable_flow_logs(struct actx *c, json_t *out, struct apierr *e);
enum api_err act_disable_flow_logs(struct actx *c, json_t *out, struct apierr *e);

/* resource actions (actions/vpc_subnet.c, eni.c, gateways.c) */
#define RES_ACTIONS(X)                                                                           \
    X(create_vpc) X(describe_vpcs) X(delete_vpc) X(create_subnet) X(describe_subnets)            \
    X(delete_subnet) X(create_network_interface) X(describe_network_interfaces)                  \
    X(delete_network_interface) X(attach_network_interface) X(detach_network_interface)          \
    X(describe_vpc_task_result) X(create_ccn) X(describe_ccns) X(delete_ccn)                     \
    X(create_nat_gateway) X(describe_nat_gateways) X(delete_nat_gateway)                         \
    X(create_direct_connect_gateway) X(describe_direct_connect_gateways)                         \
    X(delete_direct_connect_gateway)                                                             \
    /* tag service (actions/tags.c) */                                                           \
    X(tag_resources) X(untag_resources) X(modify_resource_tags)                                  \
    X(describe_resource_tags_by_resource_ids) X(get_resources)                                   \
    /* security token service (actions/sts.c) */                                                 \
    X(get_caller_identity)                                                                       \
    /* the cls service (actions/cls.c, cls_search.c) */                                          \
    X(create_logset) X(describe_logsets) X(delete_logset) X(create_topic) X(describe_topics)     \
    X(modify_topic) X(delete_topic) X(upload_log) X(search_log) X(describe_log_context)
#define X(n) enum api_err act_##n(struct actx *c, json_t *out, struct apierr *e);
RES_ACTIONS(X)
#undef X

/** How many actions the table has, and the index (0 .. count-1) of def,
 * for per-action arrays (metrics). */
size_t action_count(void);
size_t action_index(const struct action_def *def);
/** The action at index i (i < action_count()). */
const struct action_def *action_at(size_t i);

#endif
