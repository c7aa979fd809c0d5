/* action.h: what an action handler sees, and the action table.
 *
 * A handler gets its input as a JSON tree already checked against the
 * action's shape (types, unknown and missing parameters are done), the
 * caller's account and region, and an output object to fill. It returns
 * API_E_OK or an error id with e filled; on error `out` is discarded. */
#ifndef FLOWLOGD_API_ACTION_H
#define FLOWLOGD_API_ACTION_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "api/input.h"
#include "base/apierr.h"
#include "store/store.h"

struct actx {
    struct store *store;
    const struct account *account;
    const char *region;
    const char *request_id;
    time_t now;
};

typedef enum api_err (*action_fn)(struct actx *c, json_t *in, json_t *out, struct apierr *e);

struct action_def {
    const char *name;
    const char *service; /* "vpc" or "tag" */
    const char *version;
    const struct shape *input;
    action_fn fn;
};

/** The action of (`name`, `version`), or NULL. `*name_known` is set to 1
 * when the name exists under another version (-> NoSuchVersion). */
const struct action_def *action_find(const char *name, const char *version, int *name_known);

/* ==== helpers shared by handlers (render.c) ==== */

/** The string member `name` of `in`, or NULL when absent. */
const char *in_str(json_t *in, const char *name);

/** Appends the FlowLog structure of the spec for `fl` to array `arr`.
 * Returns 0 or -1 on OOM. */
int render_flowlog(json_t *arr, const struct flowlog *fl);

/** Maps a store result to an API error (STORE_ERR -> STORE, etc.). */
enum api_err store_err_to_api(int rc, const struct serr *se, const char *notfound_arg,
                              struct apierr *e);

/* ==== handlers ==== */
enum api_err act_create_flow_log(struct actx *c, json_t *in, json_t *out, struct apierr *e);
enum api_err act_describe_flow_logs(struct actx *c, json_t *in, json_t *out, struct apierr *e);
enum api_err act_describe_flow_log(struct actx *c, json_t *in, json_t *out, struct apierr *e);
enum api_err act_modify_flow_log_attribute(struct actx *c, json_t *in, json_t *out,
                                           struct apierr *e);
enum api_err act_delete_flow_log(struct actx *c, json_t *in, json_t *out, struct apierr *e);
enum api_err act_enable_flow_logs(struct actx *c, json_t *in, json_t *out, struct apierr *e);
enum api_err act_disable_flow_logs(struct actx *c, json_t *in, json_t *out, struct apierr *e);

#endif
