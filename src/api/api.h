/* api.h: the Tencent Cloud API 3.0 front: common parameters, signature
 * checks, permission, rate limit, input mapping, dispatch to the action
 * handlers and the response envelope. One entry point per HTTP request. */
#ifndef FLOWLOGD_API_API_H
#define FLOWLOGD_API_API_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/apierr.h"
#include "http/http.h"
#include "store/store.h"

/* The default of api_config.rate_limit (and of `serve --rate-limit`). */
#define API_DEFAULT_RATE_LIMIT 20

struct api_config {
    uint32_t rate_limit;    /* requests/s per (account, action); 0 = API_DEFAULT_RATE_LIMIT */
    int64_t max_skew_s;     /* timestamp tolerance; 0 = 300 */
    size_t max_body_v3;     /* 0 = 10 MB */
    size_t max_body_v1;     /* 0 = 1 MB */
    size_t max_query;       /* 0 = 32 KB */
    int log_requests;       /* one line per request */
};

struct api;

/** Creates the API front over an open store (borrowed: it must outlive
 * the api). Returns NULL on OOM. */
struct api *api_new(struct store *st, const struct api_config *cfg);

/** Handles one request; fills `out` (status, type, malloc'd body). Safe to
 * call from many threads at once. `ctx`: the http adapter's, with which a
 * handler may defer its answer (http_defer); NULL on a worker thread or for
 * a request made by hand, which are then answered before the call returns. */
void api_handle(struct api *a, const struct http_request *req, struct http_ctx *ctx,
                struct http_reply *out);

/** Runs the checks of api_handle up to and including the signature
 * (transport, Action, Version, Region, Authorization, timestamp window
 * against `now`, SecretId, token, signature) and nothing after them: no
 * permission, rate limit or action. API_E_OK if the request is
 * authentic, else the error api_handle would answer, in e. For tests and
 * tools that replay requests at a given time. */
enum api_err api_authenticate(struct api *a, const struct http_request *req, time_t now,
                              struct apierr *e);

/** Same signature as http_handler_fn, with ud = struct api *. */
void api_http_handler(void *ud, const struct http_request *req, struct http_ctx *ctx,
                      struct http_reply *out);

/** Same signature as http_quick_fn: 1 when api_handle answers `req` without
 * blocking (TC3 reads and anything refused early), so it may run on a poll
 * thread. v1 requests carry their action in the form: they say 0; so do
 * signed requests when the rate limit is in Redis (a round trip each). For
 * a TC3 request it leaves the action it looked up in *note, which
 * api_handle then uses instead of looking it up again. */
int api_http_quick(void *ud, const struct http_request *req, const void **note);

/** Same signature as http_quick_fn, for http_config.bulk: 1 for a TC3
 * request of a bulk action (ACT_BULK in the action table: the resource
 * Describe*, GetResources), which then runs on the bulk workers. It reads
 * the action api_http_quick left in *note (looking it up only if nothing
 * is there). */
int api_http_bulk(void *ud, const struct http_request *req, const void **note);

/** The largest body api_handle reads (a larger one is answered with
 * RequestSizeLimitExceeded in the envelope): the HTTP layer's max_body. */
size_t api_max_body(const struct api *a);

void api_free(struct api *a);

/** Forgets the credentials cached by SecretId, so that keys deleted from
 * the store (an admin reset) are refused at once. Any thread. */
void api_forget_credentials(struct api *a);

/** Changes the server's default rate limit (accounts without one of their
 * own) at run time, e.g. on a configuration reload. Any thread. */
void api_set_rate_limit(struct api *a, uint32_t rate);

struct rl_shared;
/** Makes `s` (owned from now on; NULL: none) the cluster's rate limiter:
 * every request's bucket is then taken there, and from the node's own
 * buckets only while it does not answer. Call before serving. */
void api_set_shared_limiter(struct api *a, struct rl_shared *s);

struct buf;
/** Appends the API's metrics (answers by service, action and code; latency
 * histograms) in Prometheus's text format. 0, or -1 (out of memory). */
int api_metrics(const struct api *a, struct buf *out);

#endif
