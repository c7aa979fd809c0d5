/* loadgen.c: `flowlogd-bench run`, the load generator.
 *
 * Design. Closed loop: C keep-alive connections, each with at most one
 * request in flight (no pipelining, as an SDK client behaves). Connections
 * are split over T threads, each with its own epoll set, statistics and
 * signing scratch; nothing is shared on the hot path but one atomic counter
 * in --requests mode. A connection sends a request, reads the whole answer
 * (status line, Content-Length, body), records the latency from the write to
 * the last byte in a log-linear histogram, classifies the answer by the
 * first "Code":"..." of the body (else OK; a status other than 200 is
 * HTTP_<status>), and sends the next one at once.
 *
 * Signing. Every API request is signed TC3-HMAC-SHA256 exactly as the SDKs
 * sign: SignedHeaders content-type;host, the Host header without its port,
 * the service = the host's first label ("127" for 127.0.0.1), X-TC-Timestamp
 * = now. The generator uses the same functions as tc3_authorization
 * (tc3_canonical_request, tc3_signature) but derives the signing key once
 * per (account, UTC date) instead of per request: three HMACs saved on every
 * request of a generator that shares the CPU with the server. At start it
 * checks its header against tc3_authorization byte for byte (--sign-full
 * calls tc3_authorization for every request instead).
 *
 * HTTPS. With an https:// URL every connection first makes a TLS handshake
 * (OpenSSL, certificate not verified: this measures the server's cost, not
 * trust) and then runs the same closed loop over it; a handshake counts in
 * a connection's set-up, not in a request's latency.
 *
 * Tenancy. Requests go round robin over the accounts of the data set, so
 * the per-(account, action) rate limit holds as in production: at R req/s
 * over A accounts each sees R/A per second.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "auth/auth.h"
#include "base/buf.h"
#include "base/util.h"
#include "bench.h"
#include "hist.h"

static const char usage[] =
    "usage: flowlogd-bench run --scenario S --url http[s]://HOST:PORT[/PATH] [options]\n"
    "\n"
    "Scenarios:\n"
    "  create         CreateFlowLog on distinct ENIs of the inventory, accounts round robin\n"
    "  describe       DescribeFlowLogs Limit 10 with a filter, cycling createTime/flowLogName\n"
    "                 x ASC/DESC, accounts round robin\n"
    "  mix            90 % describe, 10 % create\n"
    "  reject-sig     DescribeFlowLogs signed with a wrong key (AuthFailure.SignatureFailure)\n"
    "  reject-param   DescribeFlowLogs with Limit \"ten\" (InvalidParameter)\n"
    "  reject-limit   DescribeFlowLogs of one account only (RequestLimitExceeded past 20/s)\n"
    "  static         GET of the URL, unsigned (the nginx baseline)\n"
    "Options:\n"
    "  --data DIR         data directory made by `flowlogd-bench setup` (its\n"
    "                     " BENCH_FILE "); not needed for static\n"
    "  --connections N    keep-alive connections (default 64)\n"
    "  --threads N        generator threads (default 1)\n"
    "  --seconds S        measured duration (default 10)\n"
    "  --warmup S         unmeasured run before it (default 2)\n"
    "  --requests N       instead of a duration: send exactly N requests, then stop\n"
    "                     (no warm-up; for callgrind)\n"
    "  --filter F         describe filter: vpc (default), tag, none\n"
    "  --eni-offset K     create: start at each account's K-th ENI (default 0)\n"
    "  --accounts N       use only the data set's first N accounts (default: all)\n"
    "  --timeout S        a request unanswered this long counts as a timeout (default 10)\n"
    "  --sign-full        call tc3_authorization for every request (no key cache)\n"
    "  --label L          name in the report (default: the scenario)\n"
    "  --quiet            only the JSON line\n"
    "Prints a report and one JSON line (starts with {\"bench\":).\n";

enum scenario { SC_CREATE, SC_DESCRIBE, SC_MIX, SC_REJECT_SIG, SC_REJECT_PARAM, SC_REJECT_LIMIT,
                SC_STATIC };
static const char *const scenario_names[] = {"create", "describe", "mix", "reject-sig",
                                              "reject-param", "reject-limit", "static", NULL};
enum filter { F_VPC, F_TAG, F_NONE };
enum kind { K_MAIN, K_CREATE, K_NKINDS }; /* K_MAIN = describe in mix */

#define MAX_CODES 32
#define WBUF 4096
#define RBUF0 16384
#define RBUF_MAX (8u << 20)

/* ==== configuration (read-only once the threads run) ==== */

struct cfg {
    enum scenario sc;
    enum filter filter;
    const char *label;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host_hdr[300]; /* as sent: host[:port] */
    char service[64];   /* host's first label */
    char path[1024];
    struct bench_set set;
    uint64_t conns, threads, requests, eni_offset;
    double seconds, warmup, timeout_s;
    int sign_full, quiet;
    char static_req[1400];
    size_t static_len;
    SSL_CTX *tls; /* https:// URL: TLS over every connection; else NULL */
};

static struct cfg G;
static atomic_uint_fast64_t g_sent; /* --requests mode */

/* ==== per-thread state ==== */

struct code_count {
    char code[64];
    uint64_t n;
};

struct stats {
    struct hist h[K_NKINDS];
    struct code_count codes[MAX_CODES];
    int ncodes;
    uint64_t other_codes; /* past MAX_CODES distinct codes */
    uint64_t conn_errors, timeouts, bad_answers, exhausted;
    uint64_t bytes_in;
};

enum cstate { C_CONNECTING, C_HANDSHAKE, C_WRITING, C_READING, C_IDLE, C_DEAD };

struct conn {
    int fd;
    SSL *ssl; /* https: the connection's TLS state */
    enum cstate state;
    int kind;
    uint32_t events; /* registered with epoll */
    uint64_t t0;     /* when the request's first byte went out */
    char wbuf[WBUF];
    const char *out;
    size_t out_len, out_off;
    char *rbuf;
    size_t rcap, rlen;
    size_t head_len; /* 0 until the blank line was seen */
    size_t clen;
    int status, close_after;
    struct worker *w;
};

struct keyslot {
    uint32_t day; /* days since the epoch + 1; 0 = not derived */
    unsigned char key[32];
};

struct worker {
    unsigned id;
    int ep;
    struct conn *conns;
    size_t nconns;
    struct stats st;
    int recording;
    uint64_t seq; /* this thread's requests so far */
    uint64_t warm_end, end;
    struct buf canon, authbuf;
    char ts[24], date[11];
    time_t ts_sec;
    uint32_t day;
    struct keyslot *keys; /* per account: the signing key, or the wrong key for reject-sig */
    pthread_t th;
};

/* ==== statistics ==== */

static void count_code(struct stats *st, const char *code, size_t n)
{
    if (n >= sizeof st->codes[0].code)
        n = sizeof st->codes[0].code - 1;
    for (int i = 0; i < st->ncodes; i++)
        if (strncmp(st->codes[i].code, code, n) == 0 && st->codes[i].code[n] == '\0') {
            st->codes[i].n++;
            return;
        }
    if (st->ncodes == MAX_CODES) {
        st->other_codes++;
        return;
    }
    memcpy(st->codes[st->ncodes].code, code, n);
    st->codes[st->ncodes].code[n] = '\0';
    st->codes[st->ncodes].n = 1;
    st->ncodes++;
}

static void stats_merge(struct stats *into, const struct stats *from)
{
    for (int k = 0; k < K_NKINDS; k++)
        hist_merge(&into->h[k], &from->h[k]);
    for (int i = 0; i < from->ncodes; i++)
        for (uint64_t j = 0; j < from->codes[i].n; j++)
            count_code(into, from->codes[i].code, strlen(from->codes[i].code));
    into->other_codes += from->other_codes;
    into->conn_errors += from->conn_errors;
    into->timeouts += from->timeouts;
    into->bad_answers += from->bad_answers;
    into->exhausted += from->exhausted;
    into->bytes_in += from->bytes_in;
}

/* ==== signing and request building ==== */

static void refresh_clock(struct worker *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec == w->ts_sec)
        return;
    w->ts_sec = ts.tv_sec;
    snprintf(w->ts, sizeof w->ts, "%lld", (long long)ts.tv_sec);
    fmt_date_utc(ts.tv_sec, w->date);
    w->day = (uint32_t)(ts.tv_sec / 86400) + 1;
}

/* The signing key of account a for today (the wrong one for reject-sig). */
static const unsigned char *account_key(struct worker *w, uint32_t a)
{
    struct keyslot *k = &w->keys[a];
    if (k->day != w->day) {
        char bad[80];
        const char *secret = G.set.acc[a].secret_key;
        if (G.sc == SC_REJECT_SIG) {
            snprintf(bad, sizeof bad, "x%s", secret);
            secret = bad;
        }
        tc3_derive_key(secret, w->date, G.service, k->key);
        k->day = w->day;
    }
    return k->key;
}

/* Writes the Authorization value for body into w->authbuf. 0 or -1. */
static int sign(struct worker *w, uint32_t a, const char *body, size_t blen)
{
    struct auth_header hdrs[2] = {{"Content-Type", "application/json"}, {"Host", G.host_hdr}};
    struct tc3_request tr = {"POST", "", hdrs, 2, body, blen, 0};
    char sig[65];

    buf_reset(&w->authbuf);
    if (G.sign_full) {
        char bad[80];
        const char *secret = G.set.acc[a].secret_key;
        if (G.sc == SC_REJECT_SIG) {
            snprintf(bad, sizeof bad, "x%s", secret);
            secret = bad;
        }
        return tc3_authorization(&tr, G.set.acc[a].secret_id, secret, G.service, w->ts,
                                 "content-type;host", &w->authbuf);
    }
    buf_reset(&w->canon);
    if (tc3_canonical_request(&tr, "content-type;host", &w->canon) != 0)
        return -1;
    tc3_signature(account_key(w, a), w->ts, w->date, G.service, w->canon.data, w->canon.len, sig);
    if (!sig[0])
        return -1;
    return buf_printf(&w->authbuf,
                      "TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, "
                      "SignedHeaders=content-type;host, Signature=%s",
                      G.set.acc[a].secret_id, w->date, G.service, sig);
}

static const char *const order_fields[] = {"createTime", "flowLogName"};
static const char *const order_dirs[] = {"ASC", "DESC"};

/* Builds the body of request number n (of this thread's sequence) for c.
 * Returns its length; *action and *acct are set. */
static size_t make_body(struct worker *w, struct conn *c, uint64_t n, char *body, size_t cap,
                        const char **action, uint32_t *acct)
{
    uint32_t na = G.set.naccounts;
    enum scenario sc = G.sc;
    char vpc[32];
    int len;

    c->kind = K_MAIN;
    if (sc == SC_MIX)
        sc = (n % 10 == 0) ? SC_CREATE : SC_DESCRIBE;
    if (sc == SC_CREATE) {
        /* mix: the creates are every tenth request; number them densely */
        uint64_t cn = G.sc == SC_MIX ? n / 10 : n;
        uint32_t a = (uint32_t)(cn % na);
        uint64_t i = cn / na + G.eni_offset;
        char eni[32], cls[37], b[9];
        if (i >= G.set.enis) {
            w->st.exhausted += w->recording;
            i %= G.set.enis ? G.set.enis : 1;
        }
        bench_eni_id(a, G.set.enis, (uint32_t)i, eni);
        bench_vpc_id(a, (uint32_t)(i % BENCH_VPCS), vpc);
        bench_cls_id(a, cls);
        b36_8(n * 7919u + w->id, b);
        len = snprintf(body, cap,
                       "{\"FlowLogName\":\"bench-%s\",\"ResourceType\":\"NETWORKINTERFACE\","
                       "\"ResourceId\":\"%s\",\"TrafficType\":\"ACCEPT\",\"VpcId\":\"%s\","
                       "\"CloudLogId\":\"%s\"}",
                       b, eni, vpc, cls);
        *action = "CreateFlowLog";
        *acct = a;
        c->kind = G.sc == SC_MIX ? K_CREATE : K_MAIN;
        return (size_t)len;
    }
    *action = "DescribeFlowLogs";
    *acct = sc == SC_REJECT_LIMIT ? 0 : (uint32_t)(n % na);
    if (sc == SC_REJECT_PARAM) {
        len = snprintf(body, cap, "{\"Limit\":\"ten\"}");
        return (size_t)len;
    }
    {
        /* every order in turn: the order changes each pass over the accounts */
        uint64_t o = (n / na + n) % 4;
        const char *field = order_fields[o / 2], *dir = order_dirs[o % 2];
        if (G.filter == F_VPC) {
            bench_vpc_id(*acct, 0, vpc);
            len = snprintf(body, cap,
                           "{\"VpcId\":\"%s\",\"Limit\":10,\"OrderField\":\"%s\","
                           "\"OrderDirection\":\"%s\"}",
                           vpc, field, dir);
        } else if (G.filter == F_TAG) {
            len = snprintf(body, cap,
                           "{\"Filters\":{\"Name\":\"tag:team\",\"Values\":[\"t%u\"]},"
                           "\"Limit\":10,\"OrderField\":\"%s\",\"OrderDirection\":\"%s\"}",
                           (unsigned)(n % 4), field, dir);
        } else {
            len = snprintf(body, cap,
                           "{\"Limit\":10,\"OrderField\":\"%s\",\"OrderDirection\":\"%s\"}",
                           field, dir);
        }
    }
    return (size_t)len;
}

/* Prepares c's next request in c->wbuf. 0, or -1 (nothing to send). */
static int build_request(struct worker *w, struct conn *c)
{
    char body[1024];
    const char *action;
    uint32_t a;
    size_t blen;
    uint64_t n;
    int len;

    if (G.sc == SC_STATIC) {
        c->out = G.static_req;
        c->out_len = G.static_len;
        c->out_off = 0;
        c->kind = K_MAIN;
        return 0;
    }
    n = w->id + w->seq * G.threads; /* globally distinct request numbers */
    w->seq++;
    blen = make_body(w, c, n, body, sizeof body, &action, &a);
    if (sign(w, a, body, blen) != 0)
        return -1;
    len = snprintf(c->wbuf, sizeof c->wbuf,
                   "POST / HTTP/1.1\r\n"
                   "Host: %s\r\n"
                   "Content-Type: application/json\r\n"
                   "X-TC-Action: %s\r\n"
                   "X-TC-Region: %s\r\n"
                   "X-TC-Timestamp: %s\r\n"
                   "X-TC-Version: 2017-03-12\r\n"
                   "X-TC-RequestClient: SDK_NODEJS_4.1.313\r\n"
                   "Authorization: %s\r\n"
                   "Connection: keep-alive\r\n"
                   "Content-Length: %zu\r\n"
                   "\r\n"
                   "%s",
                   G.host_hdr, action, G.set.region, w->ts, w->authbuf.data, blen, body);
    if (len < 0 || (size_t)len >= sizeof c->wbuf)
        return -1;
    c->out = c->wbuf;
    c->out_len = (size_t)len;
    c->out_off = 0;
    return 0;
}

/* ==== connections ==== */

static void set_events(struct worker *w, struct conn *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (c->events == ev)
        return;
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static void conn_close(struct worker *w, struct conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = C_DEAD;
}

static int conn_open(struct worker *w, struct conn *c)
{
    struct epoll_event e;
    int one = 1;

    c->fd = socket(G.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rlen = c->head_len = 0;
    if (connect(c->fd, (struct sockaddr *)&G.addr, G.addrlen) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->state = C_CONNECTING;
    c->events = EPOLLOUT;
    e.events = c->events;
    e.data.ptr = c;
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &e) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

/* May this thread start another request? */
static int may_send(struct worker *w, uint64_t now)
{
    if (G.requests)
        return atomic_fetch_add(&g_sent, 1) < G.requests;
    return now < w->end;
}

static void try_write(struct worker *w, struct conn *c);

static void start_request(struct worker *w, struct conn *c, uint64_t now)
{
    if (!may_send(w, now) || build_request(w, c) != 0) {
        c->state = C_IDLE;
        set_events(w, c, 0);
        return;
    }
    c->state = C_WRITING;
    c->rlen = c->head_len = 0;
    c->t0 = bench_now_us();
    try_write(w, c);
}

static void conn_failed(struct worker *w, struct conn *c, uint64_t now)
{
    int was_busy = c->state == C_WRITING || c->state == C_READING;
    if (w->recording && (was_busy || c->state == C_CONNECTING || c->state == C_HANDSHAKE))
        w->st.conn_errors++;
    conn_close(w, c);
    if (!G.requests && now >= w->end)
        return;
    if (conn_open(w, c) != 0) {
        w->st.conn_errors += w->recording;
        c->state = C_DEAD;
    }
}

static void try_write(struct worker *w, struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t k;
        if (c->ssl) {
            int r = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
            if (r > 0) {
                c->out_off += (size_t)r;
                continue;
            }
            r = SSL_get_error(c->ssl, r);
            if (r == SSL_ERROR_WANT_WRITE || r == SSL_ERROR_WANT_READ) {
                set_events(w, c, EPOLLOUT);
                return;
            }
            ERR_clear_error();
            conn_failed(w, c, bench_now_us());
            return;
        }
        k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (k > 0) {
            c->out_off += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(w, c, EPOLLOUT);
            return;
        }
        conn_failed(w, c, bench_now_us());
        return;
    }
    c->state = C_READING;
    set_events(w, c, EPOLLIN);
}

/* Parses the head once the blank line is there. 1 done, 0 need more, -1 bad. */
static int parse_head(struct conn *c)
{
    const char *p = c->rbuf, *end, *line;
    int have_len = 0;
    char *hit;

    c->rbuf[c->rlen] = '\0';
    hit = strstr(c->rbuf, "\r\n\r\n");
    if (!hit)
        return c->rlen > 65536 ? -1 : 0;
    end = hit + 2;
    c->head_len = (size_t)(hit + 4 - c->rbuf);
    if (strncmp(p, "HTTP/1.", 7) != 0 || c->rlen < 12)
        return -1;
    c->status = atoi(p + 9);
    c->close_after = p[7] == '0'; /* HTTP/1.0 */
    line = strstr(p, "\r\n") + 2;
    while (line < end) {
        const char *eol = strstr(line, "\r\n");
        if (strncasecmp(line, "Content-Length:", 15) == 0) {
            c->clen = strtoull(line + 15, NULL, 10);
            have_len = 1;
        } else if (strncasecmp(line, "Connection:", 11) == 0) {
            const char *v = line + 11;
            while (*v == ' ')
                v++;
            if (strncasecmp(v, "close", 5) == 0)
                c->close_after = 1;
        }
        line = eol + 2;
    }
    if (!have_len || c->clen > RBUF_MAX)
        return -1;
    return 1;
}

/* The answer's code: the first "Code":"..." of the body, else OK. */
static void classify(struct worker *w, struct conn *c)
{
    static const char needle[] = "\"Code\":\"";
    const char *body = c->rbuf + c->head_len, *hit, *q;
    char code[32];

    if (c->status != 200) {
        snprintf(code, sizeof code, "HTTP_%d", c->status);
        count_code(&w->st, code, strlen(code));
        return;
    }
    hit = memmem(body, c->clen, needle, sizeof needle - 1);
    if (!hit) {
        count_code(&w->st, "OK", 2);
        return;
    }
    hit += sizeof needle - 1;
    q = memchr(hit, '"', (size_t)(body + c->clen - hit));
    count_code(&w->st, hit, q ? (size_t)(q - hit) : 0);
}

static void on_readable(struct worker *w, struct conn *c)
{
    for (;;) {
        ssize_t k;
        int r;
        if (c->rcap - c->rlen < 4096) {
            size_t ncap = c->rcap * 2;
            char *nb = ncap <= RBUF_MAX * 2 ? realloc(c->rbuf, ncap + 1) : NULL;
            if (!nb) {
                w->st.bad_answers += w->recording;
                conn_failed(w, c, bench_now_us());
                return;
            }
            c->rbuf = nb;
            c->rcap = ncap;
        }
        if (c->ssl) {
            int got = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(c->rcap - c->rlen));
            if (got <= 0) {
                got = SSL_get_error(c->ssl, got);
                if (got == SSL_ERROR_WANT_READ || got == SSL_ERROR_WANT_WRITE)
                    return;
                ERR_clear_error();
                conn_failed(w, c, bench_now_us());
                return;
            }
            k = got;
        } else {
            k = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) {
            conn_failed(w, c, bench_now_us());
            return;
        }
        if (c->state != C_READING) { /* bytes nobody asked for */
            w->st.bad_answers += w->recording;
            conn_failed(w, c, bench_now_us());
            return;
        }
        c->rlen += (size_t)k;
        if (!c->head_len) {
            r = parse_head(c);
            if (r < 0) {
                w->st.bad_answers += w->recording;
                conn_failed(w, c, bench_now_us());
                return;
            }
            if (r == 0)
                continue;
        }
        if (c->rlen < c->head_len + c->clen)
            continue;
        {
            uint64_t now = bench_now_us();
            if (w->recording && now <= w->end) {
                hist_add(&w->st.h[c->kind], now - c->t0);
                w->st.bytes_in += c->rlen;
                classify(w, c);
            }
            if (c->rlen != c->head_len + c->clen) {
                w->st.bad_answers += w->recording;
                conn_failed(w, c, now);
                return;
            }
            if (c->close_after) {
                conn_failed(w, c, now); /* reconnects; not an error */
                return;
            }
            start_request(w, c, now);
            return;
        }
    }
}

/* Drives a TLS handshake on; at its end the first request goes out. */
static void tls_step(struct worker *w, struct conn *c, uint64_t now)
{
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        start_request(w, c, now);
        return;
    }
    r = SSL_get_error(c->ssl, r);
    if (r == SSL_ERROR_WANT_READ)
        set_events(w, c, EPOLLIN);
    else if (r == SSL_ERROR_WANT_WRITE)
        set_events(w, c, EPOLLOUT);
    else {
        ERR_clear_error();
        conn_failed(w, c, now);
    }
}

static void on_event(struct worker *w, struct conn *c, uint32_t ev)
{
    uint64_t now = bench_now_us();
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if ((ev & (EPOLLERR | EPOLLHUP)) ||
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
            conn_failed(w, c, now);
            return;
        }
        if (G.tls) {
            if (!(c->ssl = SSL_new(G.tls)) || SSL_set_fd(c->ssl, c->fd) != 1) {
                conn_failed(w, c, now);
                return;
            }
            SSL_set_connect_state(c->ssl);
            c->state = C_HANDSHAKE;
            tls_step(w, c, now);
            return;
        }
        start_request(w, c, now);
        return;
    }
    if (c->state == C_HANDSHAKE) {
        if (ev & (EPOLLERR | EPOLLHUP) && !(ev & EPOLLIN)) {
            conn_failed(w, c, now);
            return;
        }
        tls_step(w, c, now);
        return;
    }
    if (c->state == C_WRITING && (ev & EPOLLOUT)) {
        try_write(w, c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(w, c);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[256];
    uint64_t last_scan = 0;

    refresh_clock(w);
    for (size_t i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        c->w = w;
        if (conn_open(w, c) != 0) {
            w->st.conn_errors++;
            c->state = C_DEAD;
        }
    }
    if (G.requests)
        w->recording = 1;
    for (;;) {
        int n = epoll_wait(w->ep, evs, 256, 5);
        uint64_t now;
        size_t busy = 0;

        refresh_clock(w);
        for (int i = 0; i < n; i++)
            on_event(w, evs[i].data.ptr, evs[i].events);
        now = bench_now_us();
        if (!G.requests && !w->recording && now >= w->warm_end) {
            memset(&w->st, 0, sizeof w->st);
            for (int k = 0; k < K_NKINDS; k++)
                hist_reset(&w->st.h[k]);
            w->recording = 1;
        }
        if (!G.requests && now >= w->end)
            break;
        if (now - last_scan >= 100000) {
            last_scan = now;
            for (size_t i = 0; i < w->nconns; i++) {
                struct conn *c = &w->conns[i];
                if ((c->state == C_WRITING || c->state == C_READING || c->state == C_CONNECTING ||
                     c->state == C_HANDSHAKE) &&
                    now - c->t0 > (uint64_t)(G.timeout_s * 1e6) && c->t0) {
                    w->st.timeouts += w->recording;
                    conn_close(w, c);
                    if (conn_open(w, c) != 0)
                        c->state = C_DEAD;
                } else if (c->state == C_DEAD && (G.requests || now < w->end)) {
                    if (conn_open(w, c) == 0)
                        c->t0 = now;
                }
            }
        }
        if (G.requests) {
            for (size_t i = 0; i < w->nconns; i++)
                busy += w->conns[i].state == C_WRITING || w->conns[i].state == C_READING ||
                        w->conns[i].state == C_CONNECTING || w->conns[i].state == C_HANDSHAKE;
            if (!busy)
                break;
        }
    }
    for (size_t i = 0; i < w->nconns; i++)
        conn_close(w, &w->conns[i]);
    return NULL;
}

/* ==== setup and report ==== */

static int parse_url(const char *url)
{
    const char *p = url, *slash, *colon;
    char host[256], port[16];
    struct addrinfo hints, *res = NULL;
    size_t hl;

    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    else if (strncmp(p, "https://", 8) == 0) {
        p += 8;
        if (!(G.tls = SSL_CTX_new(TLS_client_method()))) {
            fprintf(stderr, "flowlogd-bench: cannot make a TLS context\n");
            return -1;
        }
        SSL_CTX_set_verify(G.tls, SSL_VERIFY_NONE, NULL); /* cost, not trust */
        signal(SIGPIPE, SIG_IGN); /* SSL_write has no MSG_NOSIGNAL: a reset is an error */
        SSL_CTX_set_min_proto_version(G.tls, TLS1_2_VERSION);
    } else if (strstr(p, "://")) {
        fprintf(stderr, "flowlogd-bench: only http:// and https:// URLs\n");
        return -1;
    }
    slash = strchr(p, '/');
    hl = slash ? (size_t)(slash - p) : strlen(p);
    if (hl == 0 || hl >= sizeof G.host_hdr)
        return -1;
    memcpy(G.host_hdr, p, hl);
    G.host_hdr[hl] = '\0';
    snprintf(G.path, sizeof G.path, "%s", slash ? slash : "/");
    colon = strrchr(G.host_hdr, ':');
    if (G.host_hdr[0] == '[') {
        const char *rb = strchr(G.host_hdr, ']');
        if (!rb)
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(rb - G.host_hdr - 1), G.host_hdr + 1);
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        snprintf(host, sizeof host, "%.*s",
                 (int)(colon ? (size_t)(colon - G.host_hdr) : strlen(G.host_hdr)), G.host_hdr);
    }
    snprintf(port, sizeof port, "%s", colon ? colon + 1 : G.tls ? "443" : "80");
    {
        size_t n = strcspn(G.host_hdr, ".:");
        if (n >= sizeof G.service)
            n = sizeof G.service - 1;
        for (size_t i = 0; i < n; i++)
            G.service[i] = (char)((G.host_hdr[i] >= 'A' && G.host_hdr[i] <= 'Z')
                                      ? G.host_hdr[i] + 32
                                      : G.host_hdr[i]);
        G.service[n] = '\0';
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
        fprintf(stderr, "flowlogd-bench: cannot resolve %s:%s\n", host, port);
        return -1;
    }
    memcpy(&G.addr, res->ai_addr, res->ai_addrlen);
    G.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* The fast signer must produce exactly what tc3_authorization produces. */
static int self_check(void)
{
    struct worker w;
    struct keyslot ks = {0, {0}};
    struct auth_header hdrs[2] = {{"Content-Type", "application/json"}, {"Host", G.host_hdr}};
    const char *body = "{\"Limit\":10}";
    struct tc3_request tr = {"POST", "", hdrs, 2, body, strlen(body), 0};
    struct buf ref;
    int ok;

    memset(&w, 0, sizeof w);
    buf_init(&w.canon, 0);
    buf_init(&w.authbuf, 0);
    buf_init(&ref, 0);
    w.keys = &ks;
    refresh_clock(&w);
    {
        struct bench_account save = G.set.acc[0];
        enum scenario sc = G.sc;
        G.sc = SC_DESCRIBE; /* the real key */
        ok = sign(&w, 0, body, strlen(body)) == 0 &&
             tc3_authorization(&tr, save.secret_id, save.secret_key, G.service, w.ts,
                               "content-type;host", &ref) == 0 &&
             strcmp(ref.data, w.authbuf.data) == 0;
        G.sc = sc;
    }
    if (!ok)
        fprintf(stderr, "flowlogd-bench: self-check failed:\n  %s\n  %s\n",
                w.authbuf.data ? w.authbuf.data : "(none)", ref.data ? ref.data : "(none)");
    buf_free(&w.canon);
    buf_free(&w.authbuf);
    buf_free(&ref);
    return ok ? 0 : -1;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void sleep_until(uint64_t t)
{
    for (;;) {
        uint64_t now = bench_now_us();
        struct timespec ts;
        if (now >= t)
            return;
        ts.tv_sec = (time_t)((t - now) / 1000000u);
        ts.tv_nsec = (long)((t - now) % 1000000u) * 1000;
        nanosleep(&ts, NULL);
    }
}

static void fmt_us(uint64_t us, char *out, size_t n)
{
    if (us < 1000)
        snprintf(out, n, "%llu us", (unsigned long long)us);
    else if (us < 1000000)
        snprintf(out, n, "%.2f ms", (double)us / 1000.0);
    else
        snprintf(out, n, "%.2f s", (double)us / 1e6);
}

static void json_escape_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        if ((unsigned char)*s >= 0x20)
            putchar(*s);
    }
}

static void report(const struct stats *st, double secs, double gen_cpu)
{
    struct hist all;
    uint64_t ok = 0;
    char a[32], b[32], c[32], d[32], e[32];

    hist_reset(&all);
    for (int k = 0; k < K_NKINDS; k++)
        hist_merge(&all, &st->h[k]);
    for (int i = 0; i < st->ncodes; i++)
        if (strcmp(st->codes[i].code, "OK") == 0)
            ok = st->codes[i].n;
    if (!G.quiet) {
        printf("%s: %llu connections, %llu thread%s, %.1f s%s\n", G.label,
               (unsigned long long)G.conns, (unsigned long long)G.threads,
               G.threads == 1 ? "" : "s", secs, G.requests ? " (fixed request count)" : "");
        printf("  requests   %llu  (%.1f/s; OK %.1f/s)\n", (unsigned long long)all.n,
               (double)all.n / secs, (double)ok / secs);
        fmt_us(hist_quantile(&all, 0.5), a, sizeof a);
        fmt_us(hist_quantile(&all, 0.9), b, sizeof b);
        fmt_us(hist_quantile(&all, 0.99), c, sizeof c);
        fmt_us(all.max, d, sizeof d);
        fmt_us((uint64_t)hist_mean(&all), e, sizeof e);
        printf("  latency    p50 %s  p90 %s  p99 %s  max %s  mean %s\n", a, b, c, d, e);
        if (G.sc == SC_MIX)
            for (int k = 0; k < K_NKINDS; k++) {
                fmt_us(hist_quantile(&st->h[k], 0.5), a, sizeof a);
                fmt_us(hist_quantile(&st->h[k], 0.99), c, sizeof c);
                printf("    %-9s %llu  p50 %s  p99 %s\n", k == K_CREATE ? "create" : "describe",
                       (unsigned long long)st->h[k].n, a, c);
            }
        printf("  answers   ");
        for (int i = 0; i < st->ncodes; i++)
            printf(" %s %llu", st->codes[i].code, (unsigned long long)st->codes[i].n);
        if (st->other_codes)
            printf(" (other codes) %llu", (unsigned long long)st->other_codes);
        printf("\n  errors     connect/reset %llu  timeouts %llu  malformed %llu\n",
               (unsigned long long)st->conn_errors, (unsigned long long)st->timeouts,
               (unsigned long long)st->bad_answers);
        if (st->exhausted)
            printf("  WARNING    %llu creates ran past the inventory's ENIs (they repeat)\n",
                   (unsigned long long)st->exhausted);
        printf("  generator  %.0f %% of one core\n", gen_cpu * 100.0);
    }
    printf("{\"bench\":\"");
    json_escape_puts(G.label);
    printf("\",\"scenario\":\"%s\",\"connections\":%llu,\"threads\":%llu,\"seconds\":%.3f,"
           "\"requests\":%llu,\"rps\":%.1f,\"ok_rps\":%.1f,\"p50_us\":%llu,\"p90_us\":%llu,"
           "\"p99_us\":%llu,\"max_us\":%llu,\"mean_us\":%.1f",
           scenario_names[G.sc], (unsigned long long)G.conns, (unsigned long long)G.threads,
           secs, (unsigned long long)all.n, (double)all.n / secs, (double)ok / secs,
           (unsigned long long)hist_quantile(&all, 0.5),
           (unsigned long long)hist_quantile(&all, 0.9),
           (unsigned long long)hist_quantile(&all, 0.99), (unsigned long long)all.max,
           hist_mean(&all));
    if (G.sc == SC_MIX)
        printf(",\"describe_p50_us\":%llu,\"describe_p99_us\":%llu,\"create_p50_us\":%llu,"
               "\"create_p99_us\":%llu,\"creates\":%llu",
               (unsigned long long)hist_quantile(&st->h[K_MAIN], 0.5),
               (unsigned long long)hist_quantile(&st->h[K_MAIN], 0.99),
               (unsigned long long)hist_quantile(&st->h[K_CREATE], 0.5),
               (unsigned long long)hist_quantile(&st->h[K_CREATE], 0.99),
               (unsigned long long)st->h[K_CREATE].n);
    printf(",\"codes\":{");
    for (int i = 0; i < st->ncodes; i++) {
        printf("%s\"", i ? "," : "");
        json_escape_puts(st->codes[i].code);
        printf("\":%llu", (unsigned long long)st->codes[i].n);
    }
    printf("},\"conn_errors\":%llu,\"timeouts\":%llu,\"malformed\":%llu,\"exhausted\":%llu,"
           "\"bytes_per_answer\":%.0f,\"gen_cpu\":%.3f}\n",
           (unsigned long long)st->conn_errors, (unsigned long long)st->timeouts,
           (unsigned long long)st->bad_answers, (unsigned long long)st->exhausted,
           all.n ? (double)st->bytes_in / (double)all.n : 0.0, gen_cpu);
    fflush(stdout);
}

int bench_run_main(int argc, char **argv)
{
    const char *scenario = NULL, *url = NULL, *data = NULL, *conns = NULL, *threads = NULL,
               *seconds = NULL, *warmup = NULL, *requests = NULL, *filter = NULL,
               *eni_offset = NULL, *timeout = NULL, *label = NULL, *accounts = NULL;
    uint64_t naccounts;
    int sign_full = 0, quiet = 0;
    const struct bopt opts[] = {{"scenario", &scenario, NULL},
                                {"url", &url, NULL},
                                {"data", &data, NULL},
                                {"connections", &conns, NULL},
                                {"threads", &threads, NULL},
                                {"seconds", &seconds, NULL},
                                {"warmup", &warmup, NULL},
                                {"requests", &requests, NULL},
                                {"filter", &filter, NULL},
                                {"eni-offset", &eni_offset, NULL},
                                {"accounts", &accounts, NULL},
                                {"timeout", &timeout, NULL},
                                {"label", &label, NULL},
                                {"sign-full", NULL, &sign_full},
                                {"quiet", NULL, &quiet},
                                {NULL, NULL, NULL}};
    struct worker *ws = NULL;
    struct stats total;
    uint64_t t_start, warm_end, end, t_measured0 = 0;
    unsigned nalloc = 0;
    double cpu0 = 0, cpu1, secs;
    int sc = -1, rc = 1;

    if (bopt_parse(argc, argv, opts, usage) != 0)
        return 2;
    memset(&G, 0, sizeof G);
    for (int i = 0; scenario && scenario_names[i]; i++)
        if (strcmp(scenario, scenario_names[i]) == 0)
            sc = i;
    if (sc < 0 || !url) {
        fprintf(stderr, "flowlogd-bench: --scenario (one of create, describe, mix, reject-sig, "
                        "reject-param, reject-limit, static) and --url are required\n");
        return 2;
    }
    G.sc = (enum scenario)sc;
    G.label = label ? label : scenario;
    G.sign_full = sign_full;
    G.quiet = quiet;
    if (bopt_u64("connections", conns, 64, &G.conns) ||
        bopt_u64("threads", threads, 1, &G.threads) ||
        bopt_double("seconds", seconds, 10, &G.seconds) ||
        bopt_double("warmup", warmup, 2, &G.warmup) ||
        bopt_u64("requests", requests, 0, &G.requests) ||
        bopt_u64("eni-offset", eni_offset, 0, &G.eni_offset) ||
        bopt_u64("accounts", accounts, 0, &naccounts) ||
        bopt_double("timeout", timeout, 10, &G.timeout_s))
        return 2;
    if (G.conns == 0 || G.conns > 100000 || G.threads == 0 || G.threads > 256 ||
        G.threads > G.conns || (!G.requests && G.seconds <= 0)) {
        fprintf(stderr, "flowlogd-bench: need 1 <= threads <= connections <= 100000 and a "
                        "positive duration\n");
        return 2;
    }
    G.filter = !filter || strcmp(filter, "vpc") == 0 ? F_VPC
               : strcmp(filter, "tag") == 0          ? F_TAG
               : strcmp(filter, "none") == 0         ? F_NONE
                                                     : (enum filter)-1;
    if ((int)G.filter < 0) {
        fprintf(stderr, "flowlogd-bench: --filter is vpc, tag or none\n");
        return 2;
    }
    if (parse_url(url) != 0) {
        fprintf(stderr, "flowlogd-bench: bad --url %s\n", url);
        return 2;
    }
    if (G.sc == SC_STATIC) {
        int n = snprintf(G.static_req, sizeof G.static_req,
                         "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: flowlogd-bench\r\n"
                         "Accept: */*\r\nConnection: keep-alive\r\n\r\n",
                         G.path, G.host_hdr);
        if (n < 0 || (size_t)n >= sizeof G.static_req)
            return 2;
        G.static_len = (size_t)n;
    } else {
        if (!data) {
            fprintf(stderr, "flowlogd-bench: --data DIR is required for %s\n", scenario);
            return 2;
        }
        if (bench_set_load(data, &G.set) != 0)
            return 1;
        if (naccounts && naccounts < G.set.naccounts)
            G.set.naccounts = (uint32_t)naccounts;
        if ((G.sc == SC_CREATE || G.sc == SC_MIX) && G.set.enis == 0) {
            fprintf(stderr, "flowlogd-bench: the data set has no ENIs to create flow logs on\n");
            goto done;
        }
        if (self_check() != 0)
            goto done;
    }

    ws = calloc(G.threads, sizeof *ws);
    if (!ws)
        goto done;
    nalloc = (unsigned)G.threads;
    t_start = bench_now_us();
    warm_end = G.requests ? t_start : t_start + (uint64_t)(G.warmup * 1e6);
    end = warm_end + (uint64_t)(G.seconds * 1e6);
    for (unsigned t = 0; t < G.threads; t++) {
        struct worker *w = &ws[t];
        w->id = t;
        w->warm_end = warm_end;
        w->end = G.requests ? UINT64_MAX : end;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->nconns = G.conns / G.threads + (t < G.conns % G.threads);
        w->conns = calloc(w->nconns, sizeof *w->conns);
        w->keys = G.set.naccounts ? calloc(G.set.naccounts, sizeof *w->keys) : NULL;
        buf_init(&w->canon, 0);
        buf_init(&w->authbuf, 0);
        if (w->ep < 0 || !w->conns || (G.set.naccounts && !w->keys)) {
            fprintf(stderr, "flowlogd-bench: out of memory or descriptors\n");
            goto done;
        }
        for (size_t i = 0; i < w->nconns; i++) {
            w->conns[i].fd = -1;
            w->conns[i].rcap = RBUF0;
            w->conns[i].rbuf = malloc(RBUF0 + 1);
            if (!w->conns[i].rbuf)
                goto done;
        }
    }
    for (unsigned t = 0; t < G.threads; t++)
        if (pthread_create(&ws[t].th, NULL, worker_main, &ws[t]) != 0) {
            fprintf(stderr, "flowlogd-bench: cannot start thread %u\n", t);
            G.threads = t;
            goto join;
        }
    if (!G.requests) {
        sleep_until(warm_end);
        cpu0 = cpu_seconds();
        t_measured0 = bench_now_us();
        sleep_until(end);
    } else {
        cpu0 = cpu_seconds();
        t_measured0 = t_start;
    }
join:
    if (!t_measured0)
        t_measured0 = t_start;
    for (unsigned t = 0; t < G.threads; t++)
        pthread_join(ws[t].th, NULL);
    cpu1 = cpu_seconds();
    secs = G.requests ? (double)(bench_now_us() - t_measured0) / 1e6 : G.seconds;
    memset(&total, 0, sizeof total);
    for (unsigned t = 0; t < G.threads; t++)
        stats_merge(&total, &ws[t].st);
    report(&total, secs,
           (cpu1 - cpu0) / (G.requests ? secs : (double)(bench_now_us() - t_measured0) / 1e6));
    rc = total.conn_errors || total.timeouts || total.bad_answers ? 3 : 0;
done:
    for (unsigned t = 0; ws && t < nalloc; t++) {
        for (size_t i = 0; ws[t].conns && i < ws[t].nconns; i++)
            free(ws[t].conns[i].rbuf);
        free(ws[t].conns);
        free(ws[t].keys);
        buf_free(&ws[t].canon);
        buf_free(&ws[t].authbuf);
        if (ws[t].ep > 0)
            close(ws[t].ep);
    }
    free(ws);
    bench_set_free(&G.set);
    return rc;
}
