/* health.h: the process's readiness, and the unauthenticated /healthz and
 * /readyz answers served on the public listener (and the admin one).
 *
 * /healthz: 200 whenever the process answers at all.
 * /readyz:  200 once the store is open and the listeners are up (and, with
 *           serve --capture, the agent has its first assignment), until a
 *           stop begins; 503 before and after. The status code alone is the
 *           answer (what Kubernetes probes and compose health checks read);
 *           the body is a short JSON object saying the same. */
#ifndef FLOWLOGD_ADMIN_HEALTH_H
#define FLOWLOGD_ADMIN_HEALTH_H

#include "http/http.h"

enum health_state { HEALTH_STARTING = 0, HEALTH_READY, HEALTH_STOPPING };

/* serve --capture: /readyz also waits for the data plane's agent to have
 * its first assignment (and says 503 again if it stops). */
enum health_capture_state { HEALTH_CAPTURE_NONE = 0, HEALTH_CAPTURE_WAITING,
                            HEALTH_CAPTURE_CONNECTED };

/** Sets the agent's part of readiness (any thread). */
void health_capture(enum health_capture_state s);

/** Sets the process's state (any thread). */
void health_set(enum health_state s);
enum health_state health_get(void);

/** Answers GET/HEAD /healthz and /readyz into out and returns 1; 0 if req is
 * not one of them (out untouched). Never blocks. */
int health_reply(const struct http_request *req, struct http_reply *out);

/** Whether req is a path health_reply answers (for the quick predicate). */
int health_path(const struct http_request *req);

#endif
