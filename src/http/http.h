/* http.h: the libmicrohttpd adapter. Knows nothing of api/.
 *
 * The server assembles each request (method, raw path and query, headers,
 * body up to a ceiling) and hands it to one callback installed by server/.
 * The callback runs on a worker thread and may block (e.g. on a durable
 * commit): the connection is suspended meanwhile, so a slow handler never
 * stalls other connections, and idle connections hold no worker. Requests
 * that the optional `quick` predicate accepts are answered at once on the
 * poll thread that read them instead: no handoff, no suspend and resume, no
 * context switch. Only handlers that never block may be run that way.
 */
#ifndef FLOWLOGD_HTTP_HTTP_H
#define FLOWLOGD_HTTP_HTTP_H

#include <stddef.h>

struct http_header {
    const char *name; /* as received (case preserved) */
    const char *value;
};

/** One request. Every pointer is borrowed and valid only during the handler. */
struct http_request {
    const char *method;    /* "GET", "POST", ... */
    const char *path;      /* raw path, without the query: "/" */
    const char *query;     /* raw query after '?', not decoded; "" if none */
    const struct http_header *headers;
    size_t nheaders;
    const char *body;      /* NUL-terminated for convenience; may contain NULs */
    size_t body_len;
    int body_too_large;    /* 1 if the body passed max_body: body is then empty */
    const char *client_ip; /* textual peer address */
    const void *note;      /* what the `quick` predicate learnt of the request for the
                              handler (http_quick_fn); NULL: nothing (a worker-only server,
                              a request made by hand) */
};

/** What the handler answers. The handler sets every field; `body` must be
 * malloc'd and is freed by the adapter. */
struct http_reply {
    int status;
    const char *content_type; /* static storage */
    char *body;
    size_t body_len;
    /* more response headers (CORS); the strings must stay valid until the
     * reply is queued: static storage or the request's own header values.
     * Those a handler set before deferring stay for the deferred reply. */
    struct http_header extra[6];
    size_t nextra;
};

/** The adapter's side of one request, handed to the handler for http_defer:
 * non-NULL only while the handler runs on a poll thread (a `quick`
 * request); NULL on a worker. A caller that makes a request by hand (tests,
 * fuzzing) passes NULL. */
struct http_ctx;

typedef void (*http_handler_fn)(void *ud, const struct http_request *req, struct http_ctx *ctx,
                                struct http_reply *out);

/** Whether the handler answers `req` without blocking (same `ud`). What it
 * found out on the way (the api: the action the request names) it may leave
 * in *note, so that the handler need not find it again: the handler reads it
 * as req->note, on whichever thread it runs. */
typedef int (*http_quick_fn)(void *ud, const struct http_request *req, const void **note);

/** Makes the reply of a deferred request (see http_defer). */
typedef void (*http_finish_fn)(void *arg, struct http_reply *out);

struct http_deferred;

/** For a handler on a poll thread (a `quick` request) that must wait for
 * something without holding its thread (a durable commit). After this call
 * the handler returns at once (its `out` is ignored) and the connection is
 * suspended. Exactly once, from any thread, the waited-for work calls
 * http_wake(d); then finish(arg, out) runs on the connection's poll thread
 * and makes the reply. The request stays valid until finish returns.
 * finish also runs, and its reply is dropped, if the client left meanwhile.
 * NULL when the request cannot be deferred (ctx is NULL: a worker or a
 * request made by hand; deferred already; or the server is stopping): the
 * handler must then answer itself. */
struct http_deferred *http_defer(struct http_ctx *ctx, http_finish_fn finish, void *arg);

/** Lets a deferred request be finished (see http_defer). d must not be used
 * afterwards. */
void http_wake(struct http_deferred *d);

/* Defaults of the zero fields of struct http_config (and of `serve`). */
#define HTTP_DEFAULT_WORKERS 32
#define HTTP_DEFAULT_BULK_WORKERS 1

/** The CPU priority of the bulk lane's workers (see http_config.bulk). */
enum http_bulk_priority {
    HTTP_BULK_LOW,    /* nice 19 (the default) */
    HTTP_BULK_IDLE,   /* SCHED_IDLE: only what the other threads leave; nice 19 if refused */
    HTTP_BULK_NORMAL, /* the process's own: a separate pool only */
};
#define HTTP_DEFAULT_MAX_CONNECTIONS 4096

struct http_config {
    const char *host;          /* listen address, e.g. "127.0.0.1" or "0.0.0.0" */
    unsigned short port;       /* 0: pick a free port (see http_port) */
    unsigned io_threads;       /* libmicrohttpd poll threads; 0 = number of cores */
    unsigned workers;          /* handler threads; 0 = HTTP_DEFAULT_WORKERS */
    size_t max_body;           /* larger bodies: body_too_large = 1 */
    size_t max_header_bytes;   /* per-connection memory for request line + headers */
    unsigned max_connections;  /* over it new connections wait; 0 = HTTP_DEFAULT_MAX_CONNECTIONS */
    unsigned idle_timeout_s;   /* a connection idle this long is closed */
    http_quick_fn quick;       /* NULL: every request goes to a worker */
    /* Requests for workers that this predicate (same `ud`) calls bulk go
     * to their own pool of `bulk_workers` (0 = HTTP_DEFAULT_BULK_WORKERS)
     * threads of lower CPU priority, so that long reads queue behind each
     * other and yield the cores to everything else. NULL: one pool. */
    http_quick_fn bulk;
    unsigned bulk_workers;
    enum http_bulk_priority bulk_priority;
    /* HTTPS (libmicrohttpd's TLS, GnuTLS underneath) when both are set: the
     * PEM certificate (chain) and its unencrypted private key, borrowed
     * during http_start only. NULL: plain HTTP. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
};

struct http_server;

/** Whether this libmicrohttpd was built with TLS. */
int http_tls_supported(void);

/** Starts listening. Returns NULL and a message in err[errlen] on failure.
 * Each server is one listener; a plain and a TLS listener are two servers
 * sharing the handler. */
struct http_server *http_start(const struct http_config *cfg, http_handler_fn fn, void *ud,
                               char *err, size_t errlen);

/** The port actually bound (useful with port 0). */
unsigned short http_port(const struct http_server *s);

/** Connections open now (for metrics). */
unsigned http_open_connections(struct http_server *s);

/** Case-insensitive header lookup; NULL if absent. */
const char *http_header(const struct http_request *req, const char *name);

/** Makes the PEM certificate (chain) and unencrypted key (both borrowed
 * for the call) the identity of this TLS listener's next handshakes;
 * connections already open keep the one they made. 0, or -1 with the
 * reason in err (a bad or mismatched pair, or a plain listener): the
 * identity in force stays. Any thread. */
int http_tls_reload(struct http_server *s, const char *cert_pem, const char *key_pem, char *err,
                    size_t errlen);

/** Stops accepting, finishes in-flight handlers, frees everything. */
void http_stop(struct http_server *s);

#endif
