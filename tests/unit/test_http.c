/* test_http.c: the libmicrohttpd adapter, driven over loopback by libcurl and
 * by plain sockets. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "http/http.h"

#define SLOW_MS 300

static struct http_server *g_srv;
static unsigned short g_port;
static atomic_int slow_entered, slow_done;

/* ==== The test handler ==== */

static void json_str(struct buf *b, const char *s)
{
    buf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            buf_printf(b, "\\u%04x", ch);
        else
            buf_append(b, s, 1);
    }
    buf_puts(b, "\"");
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* /slow sleeps; /rawq and /rawbody answer the raw query or body; /status/404
 * answers an empty 404; anything else is echoed as JSON. */
static void echo_handler(void *ud, const struct http_request *req, struct http_ctx *ctx,
                         struct http_reply *out)
{
    struct buf b;
    size_t i;

    (void)ud;
    (void)ctx;
    out->status = 200;
    out->content_type = "application/json";
    if (strcmp(req->path, "/slow") == 0) {
        atomic_store(&slow_entered, 1);
        sleep_ms(SLOW_MS);
        atomic_store(&slow_done, 1);
        out->content_type = "text/plain";
        out->body = dup_bytes("slow", 4);
        out->body_len = 4;
        return;
    }
    if (strcmp(req->path, "/rawq") == 0) {
        out->content_type = "text/plain";
        out->body = dup_bytes(req->query, strlen(req->query));
        out->body_len = strlen(req->query);
        return;
    }
    if (strcmp(req->path, "/rawbody") == 0) {
        out->content_type = "application/octet-stream";
        out->body = dup_bytes(req->body, req->body_len);
        out->body_len = req->body_len;
        return;
    }
    if (strcmp(req->path, "/status/404") == 0) {
        out->status = 404;
        out->content_type = NULL;
        return;
    }
    buf_init(&b, 0);
    buf_puts(&b, "{\"method\":");
    json_str(&b, req->method);
    buf_puts(&b, ",\"path\":");
    json_str(&b, req->path);
    buf_puts(&b, ",\"query\":");
    json_str(&b, req->query);
    buf_puts(&b, ",\"headers\":[");
    for (i = 0; i < req->nheaders; i++) {
        buf_puts(&b, i ? ",[" : "[");
        json_str(&b, req->headers[i].name);
        buf_puts(&b, ",");
        json_str(&b, req->headers[i].value);
        buf_puts(&b, "]");
    }
    buf_printf(&b, "],\"body_len\":%zu,\"too_large\":%d,\"client_ip\":", req->body_len,
               req->body_too_large);
    json_str(&b, req->client_ip);
    buf_puts(&b, "}");
    out->body = buf_steal(&b, &out->body_len);
}

static struct http_config test_config(void)
{
    struct http_config c = {0};
    c.host = "127.0.0.1";
    c.port = 0;
    c.io_threads = 1; /* one poll thread: a handler run on it would block everyone */
    c.workers = 4;
    c.max_body = 1024;
    c.max_header_bytes = 8192;
    c.max_connections = 1100;
    c.idle_timeout_s = 30;
    return c;
}

/* ==== Clients ==== */

struct resp {
    long code;
    struct buf body;
    struct buf head;
    long num_connects;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    return buf_append(&r->body, p, sz * n) == 0 ? sz * n : 0;
}

static size_t on_head(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    return buf_append(&r->head, p, sz * n) == 0 ? sz * n : 0;
}

static void resp_free(struct resp *r)
{
    buf_free(&r->body);
    buf_free(&r->head);
}

/* Performs one request on handle h (reused across calls for keep-alive).
 * body may be NULL (GET). Returns the curl result. */
static CURLcode request(CURL *h, unsigned short port, const char *method, const char *target,
                        const char *body, size_t body_len, struct curl_slist *hdrs,
                        struct resp *r)
{
    char url[4096];
    CURLcode rc;

    memset(r, 0, sizeof *r);
    buf_init(&r->body, 0);
    buf_init(&r->head, 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, target);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 8000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->num_connects);
    return rc;
}

static int raw_connect(unsigned short port)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads one response with a Content-Length; returns the status, fills the
 * body into *body (malloc'd). -1 on error. */
static int raw_read_response(int fd, char **body, size_t *body_len)
{
    struct buf in;
    char chunk[4096], *eoh, *cl;
    size_t hlen, want = 0;
    int status = -1;

    buf_init(&in, 0);
    *body = NULL;
    for (;;) {
        ssize_t k;
        if (in.data && (eoh = strstr(in.data, "\r\n\r\n")) != NULL) {
            hlen = (size_t)(eoh - in.data) + 4;
            cl = strcasestr(in.data, "\r\nContent-Length:");
            if (!cl || cl > eoh)
                break;
            want = strtoul(cl + 17, NULL, 10);
            if (in.len >= hlen + want) {
                if (sscanf(in.data, "HTTP/1.%*d %d", &status) != 1)
                    status = -1;
                *body = dup_bytes(in.data + hlen, want);
                *body_len = want;
                break;
            }
        }
        k = recv(fd, chunk, sizeof chunk, 0);
        if (k <= 0)
            break;
        buf_append(&in, chunk, (size_t)k);
    }
    buf_free(&in);
    return status;
}

/* ==== Tests ==== */

static void test_raw_query_curl(void **state)
{
    /* %20, %2B, '+', sub-delims, mixed-case UTF-8 escapes, '=' and '&' escaped */
    static const char q[] = "Action=Describe%20Flow&Plus=%2B&Space=a+b&Marks=*(!)'~"
                            "&Zh=%E4%B8%AD%e6%96%87&Empty=&Eq=%3D%26&Slash=/a/b";
    char target[512];
    struct resp r;
    CURL *h = curl_easy_init();

    (void)state;
    snprintf(target, sizeof target, "/rawq?%s", q);
    assert_int_equal(request(h, g_port, "GET", target, NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(r.body.data);
    assert_int_equal(r.body.len, strlen(q));
    assert_memory_equal(r.body.data, q, strlen(q));
    resp_free(&r);
    curl_easy_cleanup(h);
}

static void test_raw_query_socket(void **state)
{
    static const char q[] = "a=%20&b=%2b+c&d=1?e=2&f=%00&g=%zz&h=%E4%B8%AD";
    char req[512], *body = NULL;
    size_t blen = 0;
    int fd;

    (void)state;
    fd = raw_connect(g_port);
    assert_true(fd >= 0);
    snprintf(req, sizeof req, "GET /rawq?%s HTTP/1.1\r\nHost: x\r\n\r\n", q);
    assert_int_equal(send_all(fd, req, strlen(req)), 0);
    assert_int_equal(raw_read_response(fd, &body, &blen), 200);
    assert_int_equal(blen, strlen(q));
    assert_memory_equal(body, q, blen);
    free(body);

    /* the path stays raw too, and a bare '?' gives an empty query */
    snprintf(req, sizeof req, "GET /a%%2Fb/%%7E? HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(send_all(fd, req, strlen(req)), 0);
    assert_int_equal(raw_read_response(fd, &body, &blen), 200);
    assert_non_null(strstr(body, "\"path\":\"/a%2Fb/%7E\""));
    assert_non_null(strstr(body, "\"query\":\"\""));
    free(body);
    close(fd);
}

static void test_headers_and_method(void **state)
{
    struct curl_slist *hd = NULL;
    struct resp r;
    CURL *h = curl_easy_init();
    const char *x_tc, *x_low;

    (void)state;
    hd = curl_slist_append(hd, "X-TC-Action: DescribeFlowLogs");
    hd = curl_slist_append(hd, "x-lower-case: v 1");
    assert_int_equal(request(h, g_port, "GET", "/echo", NULL, 0, hd, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "\"method\":\"GET\""));
    assert_non_null(strstr(r.body.data, "\"path\":\"/echo\""));
    assert_non_null(strstr(r.body.data, "\"query\":\"\""));
    assert_non_null(strstr(r.body.data, "\"client_ip\":\"127.0.0.1\""));
    assert_non_null(strstr(r.body.data, "\"body_len\":0,\"too_large\":0"));
    /* names as sent, in the order sent (curl puts Host first) */
    assert_non_null(strstr(r.body.data, "[\"Host\",\"127.0.0.1:"));
    x_tc = strstr(r.body.data, "[\"X-TC-Action\",\"DescribeFlowLogs\"]");
    x_low = strstr(r.body.data, "[\"x-lower-case\",\"v 1\"]");
    assert_non_null(x_tc);
    assert_non_null(x_low);
    assert_true(x_tc < x_low);
    assert_non_null(strcasestr(r.head.data, "\r\nContent-Type: application/json\r\n"));
    resp_free(&r);

    /* any method reaches the handler */
    assert_int_equal(request(h, g_port, "DELETE", "/echo?x=1", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "\"method\":\"DELETE\""));
    assert_non_null(strstr(r.body.data, "\"query\":\"x=1\""));
    resp_free(&r);
    assert_int_equal(request(h, g_port, "BREW", "/echo", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "\"method\":\"BREW\""));
    resp_free(&r);

    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
}

static void test_post_bodies(void **state)
{
    static const char json[] = "{\"VpcId\":\"vpc-12345678\",\"Tags\":[{\"Key\":\"k\",\"Value\":\"中\"}]}";
    static const char form[] = "Action=DescribeVpcs&Nonce=1&Signature=a%2Bb%3D&X=1+2";
    static const char bin[] = "a\0b\0c";
    struct curl_slist *hj = NULL, *hf = NULL;
    struct resp r;
    CURL *h = curl_easy_init();

    (void)state;
    hj = curl_slist_append(hj, "Content-Type: application/json; charset=utf-8");
    hf = curl_slist_append(hf, "Content-Type: application/x-www-form-urlencoded");

    assert_int_equal(request(h, g_port, "POST", "/rawbody", json, strlen(json), hj, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_int_equal(r.body.len, strlen(json));
    assert_memory_equal(r.body.data, json, strlen(json));
    assert_non_null(strcasestr(r.head.data, "\r\nContent-Length: "));
    resp_free(&r);

    /* MHD's form parser must not eat a form body */
    assert_int_equal(request(h, g_port, "POST", "/rawbody", form, strlen(form), hf, &r),
                     CURLE_OK);
    assert_int_equal(r.body.len, strlen(form));
    assert_memory_equal(r.body.data, form, strlen(form));
    resp_free(&r);

    /* embedded NULs survive */
    assert_int_equal(request(h, g_port, "POST", "/rawbody", bin, sizeof bin, NULL, &r), CURLE_OK);
    assert_int_equal(r.body.len, sizeof bin);
    assert_memory_equal(r.body.data, bin, sizeof bin);
    resp_free(&r);

    curl_slist_free_all(hj);
    curl_slist_free_all(hf);
    curl_easy_cleanup(h);
}

static void test_body_limit(void **state)
{
    char *big = malloc(5000);
    struct resp r;
    CURL *h = curl_easy_init();

    (void)state;
    memset(big, 'x', 5000);
    /* exactly max_body is accepted */
    assert_int_equal(request(h, g_port, "POST", "/echo", big, 1024, NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "\"body_len\":1024,\"too_large\":0"));
    resp_free(&r);
    /* one byte more is not */
    assert_int_equal(request(h, g_port, "POST", "/echo", big, 1025, NULL, &r), CURLE_OK);
    assert_non_null(strstr(r.body.data, "\"body_len\":0,\"too_large\":1"));
    resp_free(&r);
    /* far over (curl sends Expect: 100-continue); the body is drained */
    assert_int_equal(request(h, g_port, "POST", "/echo", big, 5000, NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "\"body_len\":0,\"too_large\":1"));
    resp_free(&r);
    /* and the connection is still usable */
    assert_int_equal(request(h, g_port, "GET", "/echo", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_int_equal(r.num_connects, 0);
    resp_free(&r);
    free(big);
    curl_easy_cleanup(h);
}

static void test_chunked_body(void **state)
{
    static const char req[] = "POST /rawbody HTTP/1.1\r\nHost: x\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    char *body = NULL;
    size_t blen = 0;
    int fd = raw_connect(g_port);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(send_all(fd, req, sizeof req - 1), 0);
    assert_int_equal(raw_read_response(fd, &body, &blen), 200);
    assert_int_equal(blen, 11);
    assert_memory_equal(body, "hello world", 11);
    free(body);
    close(fd);
}

static void test_keepalive(void **state)
{
    struct resp r;
    CURL *h = curl_easy_init();
    int i;

    (void)state;
    assert_int_equal(request(h, g_port, "GET", "/echo?n=1", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_int_equal(r.num_connects, 1);
    resp_free(&r);
    for (i = 0; i < 3; i++) {
        assert_int_equal(request(h, g_port, "POST", "/rawbody", "abc", 3, NULL, &r), CURLE_OK);
        assert_int_equal(r.code, 200);
        assert_int_equal(r.num_connects, 0);
        resp_free(&r);
    }
    curl_easy_cleanup(h);
}

static void test_status_empty_body(void **state)
{
    struct resp r;
    CURL *h = curl_easy_init();

    (void)state;
    assert_int_equal(request(h, g_port, "GET", "/status/404", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 404);
    assert_int_equal(r.body.len, 0);
    assert_non_null(strcasestr(r.head.data, "\r\nContent-Length: 0\r\n"));
    assert_null(strcasestr(r.head.data, "Content-Type"));
    resp_free(&r);
    /* still alive afterwards */
    assert_int_equal(request(h, g_port, "GET", "/echo", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.num_connects, 0);
    resp_free(&r);
    curl_easy_cleanup(h);
}

static void test_header_limit(void **state)
{
    struct curl_slist *hd = NULL;
    struct resp r;
    CURL *h = curl_easy_init();
    char *line = malloc(20000);

    (void)state;
    /* near the ceiling: served */
    memcpy(line, "X-Big: ", 7);
    memset(line + 7, 'a', 7000);
    line[7007] = '\0';
    hd = curl_slist_append(hd, line);
    assert_int_equal(request(h, g_port, "GET", "/echo", NULL, 0, hd, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    resp_free(&r);
    curl_slist_free_all(hd);
    hd = NULL;

    /* just over it: refused by the adapter */
    memset(line + 7, 'a', 8200);
    line[8207] = '\0';
    hd = curl_slist_append(hd, line);
    assert_int_equal(request(h, g_port, "GET", "/echo", NULL, 0, hd, &r), CURLE_OK);
    assert_int_equal(r.code, 431);
    resp_free(&r);
    curl_slist_free_all(hd);
    hd = NULL;

    /* far over it: MHD refuses (4xx or a closed connection) */
    memset(line + 7, 'a', 19000);
    line[19007] = '\0';
    hd = curl_slist_append(hd, line);
    if (request(h, g_port, "GET", "/echo", NULL, 0, hd, &r) == CURLE_OK)
        assert_true(r.code >= 400);
    resp_free(&r);
    curl_slist_free_all(hd);
    free(line);
    curl_easy_cleanup(h);
}

struct slow_arg {
    unsigned short port;
    long code;
    double done_at;
    struct buf body;
};

static void *slow_client(void *p)
{
    struct slow_arg *a = p;
    struct resp r;
    CURL *h = curl_easy_init();
    if (request(h, a->port, "GET", "/slow", NULL, 0, NULL, &r) == CURLE_OK)
        a->code = r.code;
    a->done_at = now_s();
    buf_free(&r.head);
    a->body = r.body;
    curl_easy_cleanup(h);
    return NULL;
}

static void wait_slow_entered(void)
{
    int i;
    for (i = 0; i < 500 && !atomic_load(&slow_entered); i++)
        sleep_ms(10);
    assert_true(atomic_load(&slow_entered));
}

static void test_slow_handler_does_not_block(void **state)
{
    struct slow_arg a = {.port = g_port};
    pthread_t t;
    struct resp r;
    CURL *h = curl_easy_init();
    double t0, fast_done;
    int slow_was_done;

    (void)state;
    atomic_store(&slow_entered, 0);
    atomic_store(&slow_done, 0);
    assert_int_equal(pthread_create(&t, NULL, slow_client, &a), 0);
    wait_slow_entered();

    t0 = now_s();
    assert_int_equal(request(h, g_port, "GET", "/echo?fast=1", NULL, 0, NULL, &r), CURLE_OK);
    fast_done = now_s();
    slow_was_done = atomic_load(&slow_done);
    assert_int_equal(r.code, 200);
    resp_free(&r);
    pthread_join(t, NULL);

    /* the fast request was answered while the slow handler still slept
     * (the server has a single poll thread) */
    assert_false(slow_was_done);
    assert_true(fast_done - t0 < (double)SLOW_MS / 2000.0);
    assert_true(fast_done < a.done_at);
    assert_int_equal(a.code, 200);
    assert_int_equal(a.body.len, 4);
    buf_free(&a.body);
    curl_easy_cleanup(h);
}

static void test_idle_connections(void **state)
{
    enum { N = 200 };
    int fds[N], i;
    struct resp r;
    CURL *h = curl_easy_init();

    (void)state;
    for (i = 0; i < N; i++) {
        fds[i] = raw_connect(g_port);
        assert_true(fds[i] >= 0);
    }
    assert_int_equal(request(h, g_port, "GET", "/echo?while=idle", NULL, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    resp_free(&r);
    /* idle connections are still open and usable */
    {
        static const char req[] = "GET /rawq?late=1 HTTP/1.1\r\nHost: x\r\n\r\n";
        char *body = NULL;
        size_t blen = 0;
        assert_int_equal(send_all(fds[N - 1], req, sizeof req - 1), 0);
        assert_int_equal(raw_read_response(fds[N - 1], &body, &blen), 200);
        assert_memory_equal(body, "late=1", 6);
        free(body);
    }
    for (i = 0; i < N; i++)
        close(fds[i]);
    curl_easy_cleanup(h);
}

struct burst_arg {
    int ok;
};

static void *burst_client(void *p)
{
    struct burst_arg *a = p;
    CURL *h = curl_easy_init();
    char target[64], want[64];
    struct resp r;
    int i;

    for (i = 0; i < 50; i++) {
        snprintf(target, sizeof target, "/rawq?i=%d&t=%p", i, p);
        snprintf(want, sizeof want, "i=%d&t=%p", i, p);
        if (request(h, g_port, "GET", target, NULL, 0, NULL, &r) == CURLE_OK && r.code == 200 &&
            r.body.len == strlen(want) && memcmp(r.body.data, want, r.body.len) == 0)
            a->ok++;
        resp_free(&r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void test_concurrent_keepalive_clients(void **state)
{
    enum { T = 8 };
    pthread_t t[T];
    struct burst_arg a[T];
    int i;

    (void)state;
    memset(a, 0, sizeof a);
    for (i = 0; i < T; i++)
        assert_int_equal(pthread_create(&t[i], NULL, burst_client, &a[i]), 0);
    for (i = 0; i < T; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, 50);
    }
}

static void test_header_lookup(void **state)
{
    static const struct http_header hs[] = {
        {"Host", "h"}, {"X-TC-Action", "A"}, {"x-tc-action", "B"}, {"Content-Type", ""}};
    struct http_request req = {0};

    (void)state;
    req.headers = hs;
    req.nheaders = 4;
    assert_string_equal(http_header(&req, "host"), "h");
    assert_string_equal(http_header(&req, "X-TC-ACTION"), "A"); /* first wins */
    assert_string_equal(http_header(&req, "content-type"), "");
    assert_null(http_header(&req, "X-TC-Version"));
    assert_null(http_header(&req, "Hos"));
    req.nheaders = 0;
    assert_null(http_header(&req, "Host"));
}

static void test_bind_variants(void **state)
{
    struct http_config c = test_config();
    struct http_server *s;
    char err[256];
    struct resp r;
    CURL *h;
    char url[128];

    (void)state;
    /* the port in use */
    c.port = g_port;
    s = http_start(&c, echo_handler, NULL, err, sizeof err);
    assert_null(s);
    assert_true(err[0] != '\0');

    /* a name that does not resolve */
    c.port = 0;
    c.host = "no-such-host.invalid";
    s = http_start(&c, echo_handler, NULL, err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "no-such-host.invalid"));

    /* a host name, default threads */
    c.host = "localhost";
    c.io_threads = 0;
    c.workers = 0;
    s = http_start(&c, echo_handler, NULL, err, sizeof err);
    assert_non_null(s);
    assert_true(http_port(s) != 0);
    http_stop(s);

    /* IPv6 loopback, when the machine has it */
    c.host = "::1";
    s = http_start(&c, echo_handler, NULL, err, sizeof err);
    if (s) {
        h = curl_easy_init();
        memset(&r, 0, sizeof r);
        buf_init(&r.body, 0);
        buf_init(&r.head, 0);
        snprintf(url, sizeof url, "http://[::1]:%u/echo", (unsigned)http_port(s));
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
        assert_int_equal(curl_easy_perform(h), CURLE_OK);
        assert_non_null(strstr(r.body.data, "\"client_ip\":\"::1\""));
        resp_free(&r);
        curl_easy_cleanup(h);
        http_stop(s);
    }

    http_stop(NULL); /* harmless */
}

static void *stopper(void *p)
{
    http_stop(p);
    return NULL;
}

static void test_stop_with_open_connections(void **state)
{
    struct http_config c = test_config();
    struct http_server *s;
    struct slow_arg a = {0};
    pthread_t t, ts;
    struct resp r;
    CURL *h = curl_easy_init();
    char err[256], b;
    int fds[5], i, fd;
    double t0;

    (void)state;
    s = http_start(&c, echo_handler, NULL, err, sizeof err);
    assert_non_null(s);
    a.port = http_port(s);
    /* a keep-alive connection left open, idle sockets, a request in flight */
    assert_int_equal(request(h, a.port, "GET", "/echo", NULL, 0, NULL, &r), CURLE_OK);
    resp_free(&r);
    for (i = 0; i < 5; i++) {
        fds[i] = raw_connect(a.port);
        assert_true(fds[i] >= 0);
    }
    atomic_store(&slow_entered, 0);
    atomic_store(&slow_done, 0);
    assert_int_equal(pthread_create(&t, NULL, slow_client, &a), 0);
    wait_slow_entered();

    t0 = now_s();
    assert_int_equal(pthread_create(&ts, NULL, stopper, s), 0);
    /* while http_stop waits for the slow handler, a new connection is
     * closed without an answer */
    sleep_ms(SLOW_MS / 6);
    assert_false(atomic_load(&slow_done));
    fd = raw_connect(a.port);
    if (fd >= 0) {
        static const char req[] = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
        char *body = NULL;
        size_t blen = 0;
        send_all(fd, req, sizeof req - 1); /* may fail: already closed */
        assert_int_equal(raw_read_response(fd, &body, &blen), -1);
        free(body);
        close(fd);
    }
    pthread_join(ts, NULL);
    assert_true(now_s() - t0 < 3.0);
    pthread_join(t, NULL);
    /* the in-flight request was finished and answered */
    assert_int_equal(a.code, 200);
    assert_int_equal(a.body.len, 4);
    buf_free(&a.body);
    /* idle connections were closed */
    for (i = 0; i < 5; i++) {
        assert_true(recv(fds[i], &b, 1, 0) <= 0);
        close(fds[i]);
    }
    /* nothing listens any more */
    assert_true(raw_connect(a.port) < 0);
    curl_easy_cleanup(h);
}

static int quick_path(void *ud, const struct http_request *req, const void **note)
{
    (void)ud;
    (void)note;
    return strncmp(req->path, "/quick", 6) == 0;
}

/* With the only worker busy, a request the quick predicate accepts is
 * answered on the poll thread; the worker's slow request is still running. */
static void test_quick_requests_skip_the_workers(void **state)
{
    struct http_config c = test_config();
    struct http_server *s;
    struct slow_arg a = {0};
    pthread_t t;
    struct resp r;
    CURL *h = curl_easy_init();
    char err[256];
    int slow_was_done;

    (void)state;
    c.workers = 1;
    c.quick = quick_path;
    s = http_start(&c, echo_handler, NULL, err, sizeof err);
    assert_non_null(s);
    a.port = http_port(s);
    atomic_store(&slow_entered, 0);
    atomic_store(&slow_done, 0);
    assert_int_equal(pthread_create(&t, NULL, slow_client, &a), 0);
    wait_slow_entered();

    assert_int_equal(request(h, a.port, "POST", "/quick?x=1", "{}", 2, NULL, &r), CURLE_OK);
    slow_was_done = atomic_load(&slow_done);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.body.data, "\"path\":\"/quick\""));
    assert_non_null(strstr(r.body.data, "\"query\":\"x=1\""));
    resp_free(&r);
    assert_false(slow_was_done);

    pthread_join(t, NULL);
    assert_int_equal(a.code, 200);
    buf_free(&a.body);
    curl_easy_cleanup(h);
    http_stop(s);
}

/* ==== The bulk lane ==== */

static int bulk_path(void *ud, const struct http_request *req, const void **note)
{
    (void)ud;
    (void)note;
    return strcmp(req->path, "/slow") == 0 || strncmp(req->path, "/bulk", 5) == 0;
}

/* .../prio answers the handler thread's nice value and scheduling policy;
 * anything else is echo_handler's. */
static void prio_handler(void *ud, const struct http_request *req, struct http_ctx *ctx,
                         struct http_reply *out)
{
    size_t n = strlen(req->path);
    if (n >= 5 && strcmp(req->path + n - 5, "/prio") == 0) {
        char t[64];
        errno = 0;
        int nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
        snprintf(t, sizeof t, "nice=%d policy=%d", nice, sched_getscheduler(0));
        out->status = 200;
        out->content_type = "text/plain";
        out->body = dup_bytes(t, strlen(t));
        out->body_len = strlen(t);
        return;
    }
    echo_handler(ud, req, ctx, out);
}

/* Requests the bulk predicate accepts run on their own worker, at nice 19
 * (or SCHED_IDLE): while it is busy, the common worker still answers, at
 * the process's priority. */
static void test_bulk_lane(void **state)
{
    struct http_config c = test_config();
    struct http_server *s;
    struct slow_arg a = {0};
    pthread_t t;
    struct resp r;
    CURL *h = curl_easy_init();
    char err[256], want[64];
    int slow_was_done;

    (void)state;
    c.workers = 1;
    c.bulk = bulk_path;
    c.bulk_workers = 1;
    s = http_start(&c, prio_handler, NULL, err, sizeof err);
    assert_non_null(s);
    a.port = http_port(s);
    atomic_store(&slow_entered, 0);
    atomic_store(&slow_done, 0);
    assert_int_equal(pthread_create(&t, NULL, slow_client, &a), 0);
    wait_slow_entered();
    /* the bulk worker is in /slow: the common one answers, not lowered */
    assert_int_equal(request(h, a.port, "GET", "/prio", NULL, 0, NULL, &r), CURLE_OK);
    slow_was_done = atomic_load(&slow_done);
    assert_int_equal(r.code, 200);
    snprintf(want, sizeof want, "nice=%d policy=%d", getpriority(PRIO_PROCESS, 0), SCHED_OTHER);
    assert_string_equal(r.body.data, want);
    resp_free(&r);
    assert_false(slow_was_done);
    pthread_join(t, NULL);
    assert_int_equal(a.code, 200);
    buf_free(&a.body);

    assert_int_equal(request(h, a.port, "GET", "/bulk/prio", NULL, 0, NULL, &r), CURLE_OK);
    assert_string_equal(r.body.data, "nice=19 policy=0");
    resp_free(&r);
    http_stop(s);

    /* SCHED_IDLE when asked */
    c.bulk_priority = HTTP_BULK_IDLE;
    s = http_start(&c, prio_handler, NULL, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(request(h, http_port(s), "GET", "/bulk/prio", NULL, 0, NULL, &r), CURLE_OK);
    snprintf(want, sizeof want, "nice=%d policy=%d", getpriority(PRIO_PROCESS, 0), SCHED_IDLE);
    assert_string_equal(r.body.data, want);
    resp_free(&r);
    http_stop(s);
    curl_easy_cleanup(h);
}

/* ==== Deferred replies ==== */

/* /defer...: the handler defers, a thread wakes it DEFER_MS later, and the
 * finish answers "deferred:<query>". Anything else goes to echo_handler.
 * /defer on a worker (not quick) cannot defer and answers "worker". */
#define DEFER_MS 150

struct deferred_req {
    struct http_deferred *d;
    const struct http_request *req;
};

static atomic_int defers_started, defers_finished, defer_refused;

static void *waker(void *p)
{
    struct deferred_req *dr = p;
    sleep_ms(DEFER_MS);
    http_wake(dr->d);
    return NULL;
}

static void defer_finish(void *arg, struct http_reply *out)
{
    struct deferred_req *dr = arg;
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "deferred:%s", dr->req->query); /* req is still valid here */
    out->status = 200;
    out->content_type = "text/plain";
    out->body = buf_steal(&b, &out->body_len);
    free(dr);
    atomic_fetch_add(&defers_finished, 1);
}

static void defer_handler(void *ud, const struct http_request *req, struct http_ctx *ctx,
                          struct http_reply *out)
{
    struct deferred_req *dr;
    pthread_t t;

    if (strncmp(req->path, "/defer", 6) != 0) {
        echo_handler(ud, req, ctx, out);
        return;
    }
    dr = calloc(1, sizeof *dr);
    assert_non_null(dr);
    dr->req = req;
    if (!(dr->d = http_defer(ctx, defer_finish, dr))) {
        free(dr);
        atomic_fetch_add(&defer_refused, 1);
        out->status = 200;
        out->content_type = "text/plain";
        out->body = dup_bytes("worker", 6);
        out->body_len = 6;
        return;
    }
    atomic_fetch_add(&defers_started, 1);
    assert_int_equal(pthread_create(&t, NULL, waker, dr), 0);
    pthread_detach(t);
}

static int quick_defer(void *ud, const struct http_request *req, const void **note)
{
    (void)ud;
    (void)note;
    return strcmp(req->path, "/defer") == 0 || strcmp(req->path, "/quick") == 0;
}

struct defer_client {
    unsigned short port;
    int i;
    long code;
    char body[64];
};

static void *defer_client(void *p)
{
    struct defer_client *a = p;
    struct resp r;
    char target[32];
    CURL *h = curl_easy_init();
    snprintf(target, sizeof target, "/defer?n=%d", a->i);
    if (request(h, a->port, "GET", target, NULL, 0, NULL, &r) == CURLE_OK) {
        a->code = r.code;
        snprintf(a->body, sizeof a->body, "%s", r.body.data ? r.body.data : "");
    }
    resp_free(&r);
    curl_easy_cleanup(h);
    return NULL;
}

/* One poll thread, one worker: 8 deferred requests wait at once, none holds
 * the poll thread (a quick request is answered meanwhile), each gets its own
 * reply; a request that leaves before its wake still has its finish run;
 * a handler on a worker cannot defer. */
static void test_deferred_replies(void **state)
{
    struct http_config c = test_config();
    struct http_server *s;
    struct defer_client a[8];
    pthread_t t[8];
    struct resp r;
    CURL *h = curl_easy_init();
    char err[256], want[32];
    double t0, quick_took;
    int fd;
    const char *req = "GET /defer?gone HTTP/1.1\r\nHost: x\r\n\r\n";

    (void)state;
    c.io_threads = 1;
    c.workers = 1;
    c.quick = quick_defer;
    atomic_store(&defers_started, 0);
    atomic_store(&defers_finished, 0);
    atomic_store(&defer_refused, 0);
    s = http_start(&c, defer_handler, NULL, err, sizeof err);
    assert_non_null(s);
    for (int i = 0; i < 8; i++) {
        a[i] = (struct defer_client){.port = http_port(s), .i = i};
        assert_int_equal(pthread_create(&t[i], NULL, defer_client, &a[i]), 0);
    }
    while (atomic_load(&defers_started) < 8)
        sleep_ms(1);
    t0 = now_s();
    assert_int_equal(request(h, http_port(s), "GET", "/quick", NULL, 0, NULL, &r), CURLE_OK);
    quick_took = now_s() - t0;
    assert_int_equal(r.code, 200);
    resp_free(&r);
    assert_true(quick_took < DEFER_MS / 1000.0 / 2);
    assert_true(atomic_load(&defers_finished) < 8); /* the quick one did not wait for them */
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        snprintf(want, sizeof want, "deferred:n=%d", i);
        assert_int_equal(a[i].code, 200);
        assert_string_equal(a[i].body, want);
    }

    /* the client leaves before its wake */
    fd = raw_connect(http_port(s));
    assert_true(fd >= 0);
    assert_int_equal(send_all(fd, req, strlen(req)), 0);
    while (atomic_load(&defers_started) < 9)
        sleep_ms(1);
    close(fd);
    for (int i = 0; i < 200 && atomic_load(&defers_finished) < 9; i++)
        sleep_ms(5);
    assert_int_equal(atomic_load(&defers_finished), 9);

    /* not quick: on the worker, http_defer says no */
    assert_int_equal(request(h, http_port(s), "GET", "/defer-worker", NULL, 0, NULL, &r),
                     CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body.data, "worker");
    assert_int_equal(atomic_load(&defer_refused), 1);
    resp_free(&r);
    curl_easy_cleanup(h);
    http_stop(s);
}

static void test_idle_timeout(void **state)
{
    struct http_config c = test_config();
    struct http_server *s;
    char err[256], b;
    double t0, waited;
    ssize_t k;
    int fd;

    (void)state;
    c.idle_timeout_s = 1;
    s = http_start(&c, echo_handler, NULL, err, sizeof err);
    assert_non_null(s);
    fd = raw_connect(http_port(s));
    assert_true(fd >= 0);
    t0 = now_s();
    k = recv(fd, &b, 1, 0); /* the socket's own timeout is 5 s */
    waited = now_s() - t0;
    assert_true(k == 0 || (k < 0 && errno == ECONNRESET));
    assert_true(waited > 0.5 && waited < 4.0);
    close(fd);
    http_stop(s);
}

/* ==== Runner ==== */

static int group_setup(void **state)
{
    struct http_config c = test_config();
    char err[256];

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_srv = http_start(&c, echo_handler, NULL, err, sizeof err);
    if (!g_srv) {
        fprintf(stderr, "http_start: %s\n", err);
        return -1;
    }
    g_port = http_port(g_srv);
    return g_port ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    http_stop(g_srv);
    g_srv = NULL;
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_lookup),
        cmocka_unit_test(test_raw_query_curl),
        cmocka_unit_test(test_raw_query_socket),
        cmocka_unit_test(test_headers_and_method),
        cmocka_unit_test(test_post_bodies),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_status_empty_body),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_slow_handler_does_not_block),
        cmocka_unit_test(test_idle_connections),
        cmocka_unit_test(test_concurrent_keepalive_clients),
        cmocka_unit_test(test_bind_variants),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_quick_requests_skip_the_workers),
        cmocka_unit_test(test_bulk_lane),
        cmocka_unit_test(test_deferred_replies),
        cmocka_unit_test(test_stop_with_open_connections),
    };
    return cmocka_run_group_tests_name("http", tests, group_setup, group_teardown);
}
