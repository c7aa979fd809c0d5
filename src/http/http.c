/* http.c: the libmicrohttpd adapter.
 *
 * Threads. libmicrohttpd (MHD) runs `io_threads` epoll threads that parse
 * requests and write responses. `workers` handler threads run the callback.
 *
 * One request's life (struct hreq, one per request, owned by MHD's
 * per-request slot *req_cls):
 *   1. on_uri (MHD thread, request line parsed): allocates the hreq and keeps
 *      a copy of the raw URI, before MHD unescapes it in place.
 *   2. on_access, first call (headers complete): copies method, headers and
 *      the peer address into one block owned by the hreq.
 *   3. on_access with upload data: appends to the body up to max_body; past
 *      it, drops the body, sets body_too_large and keeps draining.
 *   4. on_access, final call: when the `quick` predicate accepts the request
 *      (a handler that never blocks), runs the handler right there and queues
 *      the response: steps 5 and 6 do not happen. Otherwise counts the request
 *      in `inflight` and `pending` (unless the server is stopping, see below),
 *      suspends the connection and pushes the hreq on the queue. The MHD
 *      thread moves on.
 *   5. A worker pops it, calls the handler, stores the reply, publishes it
 *      (phase = PH_REPLIED, release) and only then resumes the connection. It
 *      never touches the hreq or the connection after MHD_resume_connection,
 *      since MHD may finish and free the request at once.
 *   6. on_access, called again by MHD after the resume: sees PH_REPLIED
 *      (acquire) and queues the response; the reply body passes to MHD.
 *   7. on_completed (request finished, sent or aborted): frees the hreq.
 * A quick handler may instead defer its answer (http_defer): the connection
 * is suspended and counted like a worker's (phase PH_QUEUED); whoever it
 * waits for calls http_wake (phase PH_WOKEN, release; then the resume), and
 * on_access, called again, runs the finish callback on the poll thread and
 * queues its reply. If the client left meanwhile MHD may go straight to
 * on_completed, which then runs finish itself and drops the reply, so the
 * handler's state is always released.
 * The queue needs no fixed capacity: a connection has at most one request
 * in it, so it holds at most max_connections entries, linked through hreq.
 *
 * Accepting. The listening socket is ours, not MHD's: one acceptor thread
 * accepts and hands each connection to MHD_add_connection, which gives it to
 * poll thread (fd + i) % io_threads, the first with room. When MHD's poll
 * threads shared the listening socket, whichever woke first took a burst of
 * connections: 64 keep-alive clients often landed 50/14 or 64/0 on two
 * threads, and one thread served them all while the other idled (describe
 * throughput moved between 15,000/s and 31,000/s from run to run). While
 * max_connections are open the acceptor waits, so further clients wait in
 * the kernel's backlog as they did with MHD's own accept.
 *
 * TLS. A server given a certificate and key runs MHD with MHD_USE_TLS
 * (GnuTLS): the acceptor is the same, MHD makes the handshake on each added
 * connection and the rest of this file sees plain requests. The certificate
 * is not given to MHD: GnuTLS asks for it at each handshake
 * (MHD_OPTION_HTTPS_CERT_CALLBACK, tls_retrieve), and gets the server's
 * current identity (tls_cur). http_tls_reload puts a new one there: the
 * handshakes that follow use it, connections already open keep theirs. The
 * identities replaced stay until http_stop (GnuTLS may still refer to them in
 * an open session), a few KB per reload. Plain HTTP and
 * HTTPS are two servers (server/ starts one per listener on one handler),
 * each with its own threads, connection cap and idle timeout; MHD counts a
 * handshake's time from the connection's start, so a handshake must end
 * within the idle timeout.
 *
 * Stopping. New connections are refused first (the acceptor is stopped and
 * joined: nothing adds a connection after that). Then requests already
 * handed to workers are finished and their
 * responses given a grace period to go out; requests that complete after
 * `stopping` was set are answered on the MHD thread itself, so no worker can
 * hold a connection when MHD_stop_daemon runs (MHD forbids stopping with
 * suspended connections). MHD_quiesce_daemon is deliberately not used: in
 * libmicrohttpd 0.9.75 it races with the epoll threads over removing the
 * listening socket from their epoll sets and can abort the process
 * ("Failed to remove listen FD from epoll set"); we hit it in tests.
 */
#define _GNU_SOURCE 1 /* accept4 */
#include "http/http.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"

/* ==== Defaults for zero fields of struct http_config ==== */

#define DEFAULT_MAX_BODY ((size_t)10 << 20)     /* 10 MiB */
#define DEFAULT_MAX_HEADER_BYTES ((size_t)16384) /* request line + headers */
#define STOP_GRACE_MS 5000 /* how long http_stop lets finished replies drain */
#define FD_RESERVE 64      /* descriptors kept beside max_connections */

/* ==== Types ==== */

enum phase {
    PH_READING = 0, /* headers or body still arriving */
    PH_QUEUED,      /* suspended, in the queue or in a worker, or deferred */
    PH_REPLIED,     /* reply stored by the worker; connection resumed */
    PH_WOKEN,       /* deferred, and woken: finish must make the reply */
};

/** What http_defer hands out: the way back to its request. */
struct http_deferred {
    struct hreq *r;
};

/** What a handler on a poll thread gets for http_defer (see http.h). */
struct http_ctx {
    struct hreq *r;
};

/** Per-request state; *req_cls in MHD's callbacks. */
struct hreq {
    struct hreq *next; /* queue link */
    struct http_server *srv;
    struct MHD_Connection *conn;
    char *uri;  /* raw URI copy, split in place: path '\0' query */
    char *meta; /* one block: headers array, method, header strings, ip */
    struct buf body;
    size_t head_bytes;   /* request line + headers, as counted by collect_meta */
    int ambiguous;       /* see hdr_check: answered 400 and closed */
    int started;         /* first on_access call done */
    int dispatched;      /* counted in srv->pending */
    http_finish_fn finish; /* set by http_defer */
    void *finish_arg;
    struct http_ctx ctx;           /* .r = this request, for a handler on the poll thread */
    struct http_deferred deferred; /* .r = this request, once deferred */
    atomic_int phase;    /* enum phase */
    struct http_request req;
    struct http_reply reply;
};

/* A queue of requests for the workers of one lane. The bulk lane's workers
 * run at a lower CPU priority (http.h, bulk_priority), so that bulk reads
 * yield the cores to the short requests. */
enum { LANE_NORMAL, LANE_BULK };
struct lane {
    struct hreq *head, *tail;
    pthread_cond_t work; /* queue became non-empty, or shutdown */
};

struct worker {
    pthread_t thread;
    struct http_server *srv;
    int lane;
    int priority; /* the bulk lane's enum http_bulk_priority */
};

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler_fn fn;
    http_quick_fn quick;
    void *ud;
    size_t max_body;
    size_t max_header_bytes;
    unsigned short port;

    http_quick_fn bulk;
    struct worker *threads;
    unsigned nthreads; /* workers actually started (both lanes) */

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t idle; /* inflight or pending dropped while stopping */
    struct lane lane[2]; /* LANE_NORMAL, LANE_BULK */
    unsigned inflight; /* queued or in a worker (connection suspended) */
    unsigned pending;  /* dispatched and not yet completed */
    int stopping;      /* http_stop began: no more dispatching to workers */
    atomic_int refusing; /* http_stop began: the acceptor takes no more */
    int shutdown;      /* workers must exit */

    int lfd;             /* listening socket, owned */
    pthread_t acceptor;
    int acceptor_started;
    unsigned max_conns;
    unsigned open_conns; /* under mu; MHD's connection notifications */
    pthread_cond_t room; /* open_conns fell below max_conns, or refusing */

    struct tls_id *_Atomic tls_cur; /* the identity of new handshakes; NULL: plain HTTP */
    pthread_mutex_t tls_mu;         /* serialises http_tls_reload */

    pthread_t starter; /* the thread in http_start; only it writes start_err */
    char *start_err;   /* while starting: where MHD's first message goes */
    size_t start_errlen;
};

/* A certificate chain and its private key, as GnuTLS hands them out. */
#define TLS_MAX_CHAIN 16
struct tls_id {
    struct tls_id *older; /* the identities it replaced, freed at http_stop */
    gnutls_pcert_st pcert[TLS_MAX_CHAIN];
    unsigned npcert;
    gnutls_privkey_t key;
};

/* ==== Small helpers ==== */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void hreq_free(struct hreq *r)
{
    if (!r)
        return;
    free(r->uri);
    free(r->meta);
    buf_free(&r->body);
    free(r->reply.body);
    free(r);
}

/* Writes the textual peer address. IPv4-mapped IPv6 (dual stack) is shown
 * as plain IPv4. */
static void peer_text(const struct sockaddr *sa, char *out, size_t outlen)
{
    socklen_t len;
    struct sockaddr_in v4;

    out[0] = '\0';
    if (!sa)
        return;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            memset(&v4, 0, sizeof v4);
            v4.sin_family = AF_INET;
            memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
            sa = (const struct sockaddr *)&v4;
        }
    }
    len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, out, (socklen_t)outlen, NULL, 0, NI_NUMERICHOST) != 0)
        out[0] = '\0';
}

static void mono_deadline(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static int mono_passed(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* ==== Request assembly (MHD threads) ==== */

struct hdr_walk {
    struct http_header *hdrs; /* NULL on the counting pass */
    char *strings;
    size_t n, bytes;
    const char *content_length; /* the first Content-Length value */
    int ambiguous;              /* framing or a value that cannot be trusted */
};

/* Notes what makes a request's framing or header values ambiguous: a NUL
 * inside a name or value (C strings would silently cut it), two
 * Content-Length headers that disagree, Content-Length together with
 * Transfer-Encoding (the classic request-smuggling shapes). */
static void hdr_check(struct hdr_walk *w, const char *key, size_t key_size, const char *value,
                      size_t value_size)
{
    if (strlen(key) != key_size || strlen(value) != value_size)
        w->ambiguous = 1;
    if (strcasecmp(key, "Content-Length") == 0) {
        if (w->content_length && strcmp(w->content_length, value) != 0)
            w->ambiguous = 1;
        w->content_length = value;
    }
}

static enum MHD_Result hdr_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_size, const char *value, size_t value_size)
{
    struct hdr_walk *w = cls;
    size_t kl, vl;
    (void)kind;
    if (!key)
        return MHD_YES;
    if (!value)
        value = "", value_size = 0;
    if (!w->hdrs)
        hdr_check(w, key, key_size, value, value_size);
    kl = strlen(key) + 1;
    vl = strlen(value) + 1;
    if (w->hdrs) {
        memcpy(w->strings, key, kl);
        w->hdrs[w->n].name = w->strings;
        w->strings += kl;
        memcpy(w->strings, value, vl);
        w->hdrs[w->n].value = w->strings;
        w->strings += vl;
    }
    w->n++;
    w->bytes += kl + vl;
    return MHD_YES;
}

/* Copies method, headers (in order, names as received) and the peer address
 * out of MHD's connection memory into r->meta. Returns 0 or -1 (no memory). */
static int collect_meta(struct hreq *r, struct MHD_Connection *c, const char *method)
{
    struct hdr_walk w = {0};
    const union MHD_ConnectionInfo *ci;
    char ip[INET6_ADDRSTRLEN + 8];
    size_t ml = strlen(method) + 1, il, total;
    char *p;

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    peer_text(ci ? ci->client_addr : NULL, ip, sizeof ip);
    il = strlen(ip) + 1;

    MHD_get_connection_values_n(c, MHD_HEADER_KIND, hdr_visit, &w);
    /* Content-Length with Transfer-Encoding, in either order */
    if (w.content_length && MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding"))
        w.ambiguous = 1;
    r->ambiguous = w.ambiguous;
    total = w.n * sizeof(struct http_header) + ml + il + w.bytes;
    r->meta = malloc(total ? total : 1);
    if (!r->meta)
        return -1;
    p = r->meta;
    w.hdrs = (struct http_header *)(void *)p;
    p += w.n * sizeof(struct http_header);
    r->req.method = memcpy(p, method, ml);
    p += ml;
    r->req.client_ip = memcpy(p, ip, il);
    p += il;
    w.strings = p;
    w.n = 0;
    w.bytes = 0;
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, hdr_visit, &w);
    r->req.headers = w.n ? w.hdrs : NULL;
    r->req.nheaders = w.n;
    /* request line and header block as on the wire (near enough):
     * "METHOD SP uri SP HTTP/1.1 CRLF", "name: value CRLF" each, CRLF */
    r->head_bytes = ml + strlen(r->uri) + 11 + w.bytes + 2 * w.n + 2;
    return 0;
}

/* Appends upload data, or drops the body once it would pass max_body.
 * Returns 0, or -1 when memory ran out below the ceiling. */
static int absorb_body(struct hreq *r, const char *data, size_t n)
{
    if (r->req.body_too_large)
        return 0;
    if (n > r->srv->max_body - r->body.len) {
        r->req.body_too_large = 1;
        buf_free(&r->body);
        return 0;
    }
    return buf_append(&r->body, data, n);
}

/* Points the public request at the assembled pieces; runs once. */
static void finish_request(struct hreq *r)
{
    r->req.path = r->uri;
    r->req.query = r->uri + strlen(r->uri) + 1;
    if (r->req.body_too_large || !r->body.data) {
        r->req.body = "";
        r->req.body_len = 0;
    } else {
        r->req.body = r->body.data;
        r->req.body_len = r->body.len;
    }
}

/* Runs the handler with a zeroed reply. */
/* ctx: &r->ctx on the poll thread (the handler may defer), NULL on a worker. */
static void run_handler(struct http_server *s, struct hreq *r, struct http_ctx *ctx)
{
    memset(&r->reply, 0, sizeof r->reply);
    s->fn(s->ud, &r->req, ctx, &r->reply);
}

/* Queues r->reply on the connection; the reply body passes to MHD. */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct hreq *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    unsigned status = (unsigned)r->reply.status;

    if (r->reply.status < 100 || r->reply.status > 999)
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    if (r->reply.body && r->reply.body_len) {
        resp = MHD_create_response_from_buffer(r->reply.body_len, r->reply.body,
                                               MHD_RESPMEM_MUST_FREE);
        if (resp)
            r->reply.body = NULL; /* MHD owns it now */
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    if (r->reply.content_type && r->reply.content_type[0] &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->reply.content_type) !=
            MHD_YES) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    for (size_t i = 0; i < r->reply.nextra && i < sizeof r->reply.extra / sizeof r->reply.extra[0];
         i++)
        if (MHD_add_response_header(resp, r->reply.extra[i].name, r->reply.extra[i].value) !=
            MHD_YES) {
            MHD_destroy_response(resp);
            return MHD_NO;
        }
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Answers `status` with an empty body before the request reaches the
 * handler; MHD then closes the connection. */
static enum MHD_Result refuse(struct MHD_Connection *c, unsigned status)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Runs the handler on this MHD thread and queues its reply, unless the
 * handler deferred it (the connection is suspended then). */
static enum MHD_Result answer_here(struct http_server *s, struct hreq *r, struct MHD_Connection *c)
{
    r->ctx.r = r; /* on the poll thread: the handler may defer */
    run_handler(s, r, &r->ctx);
    if (r->finish)
        return MHD_YES;
    atomic_store_explicit(&r->phase, PH_REPLIED, memory_order_relaxed);
    return send_reply(c, r);
}

/* Runs a deferred request's finish callback into a zeroed reply (but for the
 * extra headers its handler set before deferring). */
static void run_finish(struct hreq *r)
{
    struct http_reply kept = r->reply; /* the handler's extra headers stay (CORS) */
    memset(&r->reply, 0, sizeof r->reply);
    memcpy(r->reply.extra, kept.extra, sizeof kept.extra);
    r->reply.nextra = kept.nextra;
    r->finish(r->finish_arg, &r->reply);
    r->finish = NULL;
}

/* Suspends r's connection and counts it in flight (and in pending), unless
 * the server is stopping: http_stop may be past its wait for suspended
 * connections, and MHD aborts if it stops with one. 1 if suspended. The
 * suspend comes before r becomes visible to whoever resumes it, so a resume
 * never precedes it. */
static int suspend(struct http_server *s, struct hreq *r)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    s->inflight++;
    if (!r->dispatched) {
        s->pending++;
        r->dispatched = 1;
    }
    pthread_mutex_unlock(&s->mu);
    atomic_store_explicit(&r->phase, PH_QUEUED, memory_order_relaxed);
    MHD_suspend_connection(r->conn);
    return 1;
}

struct http_deferred *http_defer(struct http_ctx *ctx, http_finish_fn finish, void *arg)
{
    struct hreq *r = ctx ? ctx->r : NULL;

    /* stopping: the handler waits for its work on this thread instead */
    if (!r || r->finish || !finish || !suspend(r->srv, r))
        return NULL;
    r->finish = finish;
    r->finish_arg = arg;
    r->deferred.r = r;
    return &r->deferred;
}

/* Publishes `phase` (release: what the poll thread needs is written before)
 * and resumes r's connection, which no longer counts as in flight. r may be
 * finished and freed from the resume on: it is not touched after. */
static void resume(struct http_server *s, struct hreq *r, enum phase phase)
{
    struct MHD_Connection *c = r->conn;

    atomic_store_explicit(&r->phase, phase, memory_order_release);
    MHD_resume_connection(c);
    pthread_mutex_lock(&s->mu);
    s->inflight--;
    if (s->stopping)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

void http_wake(struct http_deferred *d)
{
    struct hreq *r = d->r;
    resume(r->srv, r, PH_WOKEN);
}

/* The request is complete: answer it here when it is quick or the server is
 * stopping, else hand it to a worker. */
static enum MHD_Result dispatch(struct http_server *s, struct hreq *r, struct MHD_Connection *c)
{
    struct lane *l;

    finish_request(r);
    if ((s->quick && s->quick(s->ud, &r->req, &r->req.note)) || !suspend(s, r))
        return answer_here(s, r, c);
    l = &s->lane[s->bulk && s->bulk(s->ud, &r->req, &r->req.note) ? LANE_BULK : LANE_NORMAL];
    pthread_mutex_lock(&s->mu);
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    pthread_cond_signal(&l->work);
    pthread_mutex_unlock(&s->mu);
    return MHD_YES;
}

/* MHD_OPTION_URI_LOG_CALLBACK: called once per request with the raw URI,
 * before MHD unescapes anything. Its result becomes *req_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct http_server *s = cls;
    struct hreq *r;
    char *q;
    size_t n;

    (void)c;
    if (!uri)
        uri = "";
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    /* set by calloc(): next, conn, meta, started, dispatched, req, reply */
    n = strlen(uri);
    r->uri = malloc(n + 2); /* room for the empty query's NUL */
    if (!r->uri) {
        free(r);
        return NULL;
    }
    memcpy(r->uri, uri, n + 1);
    r->uri[n + 1] = '\0';
    q = strchr(r->uri, '?');
    if (q)
        *q = '\0'; /* path, then query after the NUL; without '?' the query is "" */
    r->srv = s;
    buf_init(&r->body, s->max_body);
    atomic_init(&r->phase, PH_READING);
    return r;
}

/* MHD_AccessHandlerCallback: see the life of a request at the top. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **req_cls)
{
    struct http_server *s = cls;
    struct hreq *r = *req_cls;

    (void)url; /* already unescaped by MHD: we use our raw copy */
    (void)version;
    if (!r)
        return MHD_NO; /* on_uri ran out of memory */
    if (!r->started) {
        r->started = 1;
        r->conn = c;
        if (collect_meta(r, c, method ? method : "") != 0)
            return MHD_NO;
        if (r->head_bytes > s->max_header_bytes)
            return refuse(c, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE);
        if (r->ambiguous)
            return refuse(c, MHD_HTTP_BAD_REQUEST);
        return MHD_YES;
    }
    if (*upload_size) {
        if (absorb_body(r, upload, *upload_size) != 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    switch (atomic_load_explicit(&r->phase, memory_order_acquire)) {
    case PH_READING:
        return dispatch(s, r, c);
    case PH_REPLIED:
        return send_reply(c, r);
    case PH_WOKEN:
        run_finish(r);
        atomic_store_explicit(&r->phase, PH_REPLIED, memory_order_relaxed);
        return send_reply(c, r);
    default:
        log_error("http: request called back while suspended");
        return MHD_NO;
    }
}

/* MHD_OPTION_NOTIFY_COMPLETED: the request is over (answered or aborted). */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct hreq *r = *req_cls;

    (void)c;
    (void)toe;
    *req_cls = NULL;
    if (!r)
        return;
    if (r->finish) {
        /* deferred and woken, but the client left before the reply: the
         * handler still gets to release its state */
        if (atomic_load_explicit(&r->phase, memory_order_acquire) == PH_WOKEN)
            run_finish(r); /* its reply body goes with the hreq */
        else
            log_error("http: a deferred request ended before it was woken");
    }
    if (r->dispatched) {
        pthread_mutex_lock(&s->mu);
        s->pending--;
        if (s->stopping)
            pthread_cond_broadcast(&s->idle);
        pthread_mutex_unlock(&s->mu);
    }
    hreq_free(r);
}

/* MHD_OPTION_EXTERNAL_LOGGER. While starting, the first message also
 * becomes the error returned by http_start. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http_server *s = cls;
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (pthread_equal(pthread_self(), s->starter) && s->start_err && !s->start_err[0])
        set_err(s->start_err, s->start_errlen, "libmicrohttpd: %s", msg);
    /* Most messages are about one client (reset, malformed request); limits
     * reached concern the whole server. */
    if (strstr(msg, "limit"))
        log_warn("http: libmicrohttpd: %s", msg);
    else
        log_debug("http: libmicrohttpd: %s", msg);
}

/* ==== TLS identity ==== */

static void tls_id_free(struct tls_id *id)
{
    while (id) {
        struct tls_id *older = id->older;
        for (unsigned i = 0; i < id->npcert; i++)
            gnutls_pcert_deinit(&id->pcert[i]);
        if (id->key)
            gnutls_privkey_deinit(id->key);
        free(id);
        id = older;
    }
}

/* The identity of a PEM chain and key. NULL with the reason in err. */
static struct tls_id *tls_id_new(const char *cert_pem, const char *key_pem, char *err,
                                 size_t errlen)
{
    struct tls_id *id = calloc(1, sizeof *id);
    gnutls_certificate_credentials_t probe = NULL;
    gnutls_datum_t c = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
    gnutls_datum_t k = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
    unsigned n = TLS_MAX_CHAIN;
    int rc;

    if (!id) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    /* the pair as GnuTLS will serve it: a key that is not the
     * certificate's is refused here, not at the first handshake */
    if ((rc = gnutls_certificate_allocate_credentials(&probe)) < 0 ||
        (rc = gnutls_certificate_set_x509_key_mem(probe, &c, &k, GNUTLS_X509_FMT_PEM)) < 0) {
        set_err(err, errlen, "GnuTLS refuses the certificate and key: %s", gnutls_strerror(rc));
        goto fail;
    }
    if ((rc = gnutls_pcert_list_import_x509_raw(id->pcert, &n, &c, GNUTLS_X509_FMT_PEM, 0)) < 0) {
        set_err(err, errlen, "the certificate chain: %s", gnutls_strerror(rc));
        goto fail;
    }
    id->npcert = n;
    if ((rc = gnutls_privkey_init(&id->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(id->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        set_err(err, errlen, "the private key: %s", gnutls_strerror(rc));
        goto fail;
    }
    gnutls_certificate_free_credentials(probe);
    return id;
fail:
    if (probe)
        gnutls_certificate_free_credentials(probe);
    tls_id_free(id);
    return NULL;
}

/* GnuTLS's gnutls_certificate_retrieve_function2, at each handshake: the
 * server's current identity. MHD made the session's pointer its connection,
 * whose socket context on_connection made the server. */
static int tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                        const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                        gnutls_pcert_st **pcert, unsigned int *pcert_length,
                        gnutls_privkey_t *pkey)
{
    struct MHD_Connection *conn = gnutls_session_get_ptr(session);
    const union MHD_ConnectionInfo *ci;
    struct http_server *s;
    struct tls_id *id;

    (void)req_ca_rdn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    if (!conn || !(ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT)) ||
        !(s = ci->socket_context) || !(id = atomic_load_explicit(&s->tls_cur, memory_order_acquire)))
        return -1;
    *pcert = id->pcert;
    *pcert_length = id->npcert;
    *pkey = id->key;
    return 0;
}

int http_tls_reload(struct http_server *s, const char *cert_pem, const char *key_pem, char *err,
                    size_t errlen)
{
    struct tls_id *id;

    if (!s || !atomic_load(&s->tls_cur)) {
        set_err(err, errlen, "this listener does not serve TLS");
        return -1;
    }
    if (!(id = tls_id_new(cert_pem, key_pem, err, errlen)))
        return -1;
    pthread_mutex_lock(&s->tls_mu);
    id->older = atomic_load(&s->tls_cur);
    atomic_store_explicit(&s->tls_cur, id, memory_order_release);
    pthread_mutex_unlock(&s->tls_mu);
    return 0;
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection the acceptor counted is gone.
 * (It is counted when MHD_add_connection takes it, not at STARTED, which a
 * poll thread reports later: the acceptor would run ahead of the count.) */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *s = cls;
    (void)c;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        *socket_ctx = s; /* for tls_retrieve, before the handshake */
    if (toe != MHD_CONNECTION_NOTIFY_CLOSED)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->open_conns && s->open_conns-- == s->max_conns)
        pthread_cond_signal(&s->room);
    pthread_mutex_unlock(&s->mu);
}

/* ==== Acceptor ==== */

static void *acceptor_main(void *arg)
{
    struct http_server *s = arg;
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;

    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->open_conns >= s->max_conns && !atomic_load(&s->refusing))
            pthread_cond_wait(&s->room, &s->mu);
        pthread_mutex_unlock(&s->mu);
        if (atomic_load(&s->refusing))
            break;
        len = sizeof ss;
        fd = accept4(s->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (atomic_load(&s->refusing))
                break;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("http: accept: %s", strerror(errno));
                usleep(10000); /* the client waits in the backlog meanwhile */
            }
            continue; /* EINTR, ECONNABORTED, a client that already left */
        }
        if (atomic_load(&s->refusing)) {
            close(fd);
            break;
        }
        /* counted first: its CLOSED may come before add returns */
        pthread_mutex_lock(&s->mu);
        s->open_conns++;
        pthread_mutex_unlock(&s->mu);
        /* MHD closes fd itself when it cannot take the connection */
        if (MHD_add_connection(s->daemon, fd, (struct sockaddr *)&ss, len) != MHD_YES) {
            pthread_mutex_lock(&s->mu);
            if (s->open_conns)
                s->open_conns--;
            pthread_mutex_unlock(&s->mu);
        }
    }
    return NULL;
}

/* Stops the acceptor: shutdown() wakes a blocked accept(). */
static void stop_acceptor(struct http_server *s)
{
    atomic_store(&s->refusing, 1);
    if (!s->acceptor_started)
        return;
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->room);
    pthread_mutex_unlock(&s->mu);
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->acceptor, NULL);
    s->acceptor_started = 0;
}

/* A listening socket on ss. Returns the fd, or -1 with a message. */
static int listen_on(const struct sockaddr_storage *ss, unsigned backlog, char *err,
                     size_t errlen)
{
    int fd, one = 1;
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);

    fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_err(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss->ss_family == AF_INET6) {
        /* "::" serves IPv4 too (dual stack); a specific address only itself */
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
        int v6only = !IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, (int)backlog) != 0) {
        set_err(err, errlen, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* The port fd is bound to. */
static unsigned short bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ==== Workers ==== */

/* Lowers the calling thread's CPU priority for the bulk lane. Best effort:
 * a thread keeps its priority when the system refuses (it never raises). */
static void lower_priority(int priority)
{
    if (priority == HTTP_BULK_IDLE) {
        struct sched_param sp = {0};
        if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0)
            return;
    }
    if (priority != HTTP_BULK_NORMAL)
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct http_server *s = w->srv;
    struct lane *l = &s->lane[w->lane];
    struct hreq *r;

    if (w->lane == LANE_BULK)
        lower_priority(w->priority);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!l->head && !s->shutdown)
            pthread_cond_wait(&l->work, &s->mu);
        r = l->head;
        if (!r) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        l->head = r->next;
        if (!l->head)
            l->tail = NULL;
        pthread_mutex_unlock(&s->mu);

        run_handler(s, r, NULL);
        resume(s, r, PH_REPLIED); /* the reply is published first */
    }
    return NULL;
}

/* Tells the workers to exit once the queue is empty and joins them. */
static void stop_workers(struct http_server *s)
{
    unsigned i;
    pthread_mutex_lock(&s->mu);
    s->shutdown = 1;
    pthread_cond_broadcast(&s->lane[LANE_NORMAL].work);
    pthread_cond_broadcast(&s->lane[LANE_BULK].work);
    pthread_mutex_unlock(&s->mu);
    for (i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i].thread, NULL);
    s->nthreads = 0;
}

/* ==== Start and stop ==== */

/* Raises the soft descriptor limit to the hard one when it is too low for
 * `need` descriptors. */
static void raise_nofile(unsigned long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("http: cannot raise the open-file limit: %s", strerror(errno));
    if (rl.rlim_cur < need)
        log_warn("http: open-file limit %lu is below max_connections + %d",
                 (unsigned long)rl.rlim_cur, FD_RESERVE);
}

/* Resolves host:port into *ss. Returns 0, or -1 with a message. */
static int resolve(const char *host, unsigned short port, struct sockaddr_storage *ss,
                   char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char serv[8];
    int rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(serv, sizeof serv, "%u", (unsigned)port);
    if (!host || !host[0])
        host = "0.0.0.0";
    rc = getaddrinfo(host, serv, &hints, &res);
    if (rc != 0 || !res) {
        set_err(err, errlen, "cannot resolve listen address '%s': %s", host, gai_strerror(rc));
        if (res)
            freeaddrinfo(res);
        return -1;
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* The end of http_start's failure and of http_stop, once the listening
 * socket is closed and the daemon stopped (or never started): joins the
 * workers and frees s. */
static void server_free(struct http_server *s)
{
    stop_workers(s);
    tls_id_free(atomic_load(&s->tls_cur));
    pthread_mutex_destroy(&s->tls_mu);
    pthread_cond_destroy(&s->room);
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->lane[LANE_NORMAL].work);
    pthread_cond_destroy(&s->lane[LANE_BULK].work);
    pthread_mutex_destroy(&s->mu);
    free(s->threads);
    free(s);
}

struct http_server *http_start(const struct http_config *cfg, http_handler_fn fn, void *ud,
                               char *err, size_t errlen)
{
    struct http_server *s = NULL;
    struct sockaddr_storage ss;
    unsigned flags, io, workers, bulk_workers, maxconn, backlog, i;
    size_t header_bytes, pool;
    struct MHD_OptionItem opt[5];
    unsigned nopt = 0;
    long ncpu;

    if (err && errlen)
        err[0] = '\0';
    if (!cfg || !fn) {
        set_err(err, errlen, "http_start: missing config or handler");
        return NULL;
    }
    if ((cfg->tls_cert_pem != NULL) != (cfg->tls_key_pem != NULL)) {
        set_err(err, errlen, "http_start: TLS needs both a certificate and a key");
        return NULL;
    }
    if (cfg->tls_cert_pem && !http_tls_supported()) {
        set_err(err, errlen, "this libmicrohttpd was built without TLS");
        return NULL;
    }
    if (resolve(cfg->host, cfg->port, &ss, err, errlen) != 0)
        return NULL;

    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    io = cfg->io_threads ? cfg->io_threads : (ncpu > 0 ? (unsigned)ncpu : 1u);
    workers = cfg->workers ? cfg->workers : HTTP_DEFAULT_WORKERS;
    bulk_workers = !cfg->bulk ? 0 : cfg->bulk_workers ? cfg->bulk_workers : HTTP_DEFAULT_BULK_WORKERS;
    maxconn = cfg->max_connections ? cfg->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS;
    header_bytes = cfg->max_header_bytes ? cfg->max_header_bytes : DEFAULT_MAX_HEADER_BYTES;
    /* MHD's per-connection pool holds the read buffer (request line and
     * headers), about 64 bytes of bookkeeping per header and the response
     * headers. MHD 0.9.75 zeroes the whole pool between two requests of a
     * connection (~7 us for 132 KB), so it is kept small: the ceiling plus
     * 8 KB, room for ~120 headers' bookkeeping and the response headers.
     * The ceiling is checked exactly in on_access (431); a request with
     * many tiny headers can exhaust the pool first and gets MHD's own 431. */
    pool = header_bytes + 8192;
    backlog = maxconn < 128 ? 128 : (maxconn > 65535 ? 65535 : maxconn);
    raise_nofile((unsigned long)maxconn + FD_RESERVE);

    s = calloc(1, sizeof *s);
    if (!s) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    /* set by calloc(): daemon, nthreads, queue, counters and flags */
    atomic_init(&s->refusing, 0);
    s->lfd = -1;
    s->max_conns = maxconn;
    s->fn = fn;
    s->quick = cfg->quick;
    s->bulk = bulk_workers ? cfg->bulk : NULL;
    s->ud = ud;
    s->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
    s->max_header_bytes = header_bytes;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->tls_mu, NULL);
    pthread_cond_init(&s->lane[LANE_NORMAL].work, NULL);
    pthread_cond_init(&s->lane[LANE_BULK].work, NULL);
    pthread_cond_init(&s->room, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->idle, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (cfg->tls_cert_pem) {
        struct tls_id *id = tls_id_new(cfg->tls_cert_pem, cfg->tls_key_pem, err, errlen);
        if (!id)
            goto fail;
        atomic_store(&s->tls_cur, id);
    }
    s->threads = calloc(workers + bulk_workers, sizeof *s->threads);
    if (!s->threads) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    for (i = 0; i < workers + bulk_workers; i++) {
        struct worker *w = &s->threads[i];
        int rc;
        w->srv = s;
        w->lane = i < workers ? LANE_NORMAL : LANE_BULK;
        w->priority = cfg->bulk_priority;
        rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            set_err(err, errlen, "cannot start handler thread: %s", strerror(rc));
            goto fail;
        }
        s->nthreads++;
    }

    if ((s->lfd = listen_on(&ss, backlog, err, errlen)) < 0) {
        char why[200];
        snprintf(why, sizeof why, "%s", err ? err : "");
        set_err(err, errlen, "cannot listen on %s:%u: %s", cfg->host ? cfg->host : "0.0.0.0",
                (unsigned)cfg->port, why);
        goto fail;
    }
    s->port = bound_port(s->lfd);

    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
    s->starter = pthread_self();
    s->start_err = err && errlen ? err : NULL;
    s->start_errlen = errlen;
    /* a pool size of 1 is refused with a warning: one thread is no pool */
    if (io > 1)
        opt[nopt++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)io, NULL};
    if (atomic_load(&s->tls_cur)) {
        /* TLS 1.2 and 1.3 only, GnuTLS's NORMAL suites otherwise; the
         * identity comes from tls_retrieve at each handshake */
        flags |= MHD_USE_TLS;
        opt[nopt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)tls_retrieve};
        opt[nopt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                              (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
    }
    opt[nopt] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, /* first, to catch every message */
        MHD_OPTION_ARRAY, opt,
        /* the acceptor keeps to maxconn; MHD's own limit (split over the
         * poll threads) gets slack, since MHD reports a connection closed
         * before it stops counting it */
        MHD_OPTION_CONNECTION_LIMIT, maxconn + 16 * io,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_END);
    s->start_err = NULL;
    if (!s->daemon) {
        if (!err || !err[0])
            set_err(err, errlen, "cannot start libmicrohttpd on %s:%u",
                    cfg->host ? cfg->host : "0.0.0.0", (unsigned)cfg->port);
        goto fail;
    }
    {
        int rc = pthread_create(&s->acceptor, NULL, acceptor_main, s);
        if (rc != 0) {
            set_err(err, errlen, "cannot start the accept thread: %s", strerror(rc));
            MHD_stop_daemon(s->daemon);
            goto fail;
        }
        s->acceptor_started = 1;
    }
    if (err && errlen)
        err[0] = '\0';
    return s;

fail:
    if (s->lfd >= 0)
        close(s->lfd);
    server_free(s);
    return NULL;
}

int http_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

unsigned short http_port(const struct http_server *s)
{
    return s ? s->port : 0;
}

const char *http_header(const struct http_request *req, const char *name)
{
    size_t i;
    if (!req || !name)
        return NULL;
    for (i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

void http_stop(struct http_server *s)
{
    struct timespec deadline;

    if (!s)
        return;
    stop_acceptor(s); /* no new connections from here on */
    close(s->lfd);

    /* Workers must give back every connection before MHD_stop_daemon; replies
     * already made get a grace period to reach their clients. */
    mono_deadline(&deadline, STOP_GRACE_MS);
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    while (s->inflight || (s->pending && !mono_passed(&deadline))) {
        if (s->inflight)
            pthread_cond_wait(&s->idle, &s->mu);
        else
            pthread_cond_timedwait(&s->idle, &s->mu, &deadline);
    }
    pthread_mutex_unlock(&s->mu);

    MHD_stop_daemon(s->daemon);
    server_free(s);
}

unsigned http_open_connections(struct http_server *s)
{
    unsigned n;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    n = s->open_conns;
    pthread_mutex_unlock(&s->mu);
    return n;
}
