/* control.h: the data plane's control plane on the public listener:
 * POST /agent/v1/assignments tells a capture agent what its host watches
 * (control/assign.h), authenticated by an agent key (store.h, agent_key)
 * with TC3-HMAC-SHA256 as the API signs, credential scope service
 * "flowlogd-agent" (docs/API.md, "The data plane").
 *
 * Request: {"Host": NAME}. Answer: {"Response":{<assign_document>,
 * "RequestId"}} or {"Response":{"Error":{"Code","Message"},"RequestId"}}
 * (HTTP 200, as the API answers). An agent key with a host may ask only for
 * that host. */
#ifndef FLOWLOGD_CONTROL_CONTROL_H
#define FLOWLOGD_CONTROL_CONTROL_H

#include <jansson.h>
#include <stdint.h>

#include "http/http.h"
#include "store/store.h"

#define CONTROL_PATH "/agent/v1/assignments"
#define CONTROL_SERVICE "flowlogd-agent"
#define CONTROL_MAX_SKEW_S 300 /* the signature's timestamp, either way */

/** Whether req is for the control plane. */
int control_path(const struct http_request *req);

/** Answers a control-plane request (may block on a store read: run it on a
 * worker). `now` is the current UNIX time. */
void control_reply(struct store *st, const struct http_request *req, int64_t now,
                   struct http_reply *out);

/** The assignment document of `host`, straight from the store (the agent
 * inside `serve --capture` asks this way). New reference, or NULL with
 * err[errlen]. */
json_t *control_assignments(struct store *st, const char *host, char *err, size_t errlen);

#endif
