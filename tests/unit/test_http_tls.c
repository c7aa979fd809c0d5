/* test_http_tls.c: the libmicrohttpd adapter as an HTTPS server (a
 * certificate and key in struct http_config), driven over loopback by
 * libcurl: the poll-thread, worker and deferred paths over TLS, keep-alive,
 * a client that does not trust the CA, plain HTTP on the TLS port, and the
 * start-up refusals. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "http/http.h"
#include "tls/cert.h"

static char *g_ca, *g_ca_key, *g_cert, *g_key; /* PEM */
static char g_ca_file[64] = "/tmp/flowlogd-http-tls-ca-XXXXXX";
static char g_other_ca_file[64] = "/tmp/flowlogd-http-tls-other-XXXXXX";
static struct http_server *g_srv;
static unsigned short g_port;

/* ==== The server ==== */

struct waker {
    struct http_deferred *d;
};

static void *wake_later(void *arg)
{
    struct waker *w = arg;
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    http_wake(w->d);
    free(w);
    return NULL;
}

static void finish_deferred(void *arg, struct http_reply *out)
{
    (void)arg;
    out->status = 200;
    out->content_type = "text/plain";
    out->body = strdup("deferred");
    out->body_len = 8;
}

/* /defer waits on another thread (http_defer); anything else answers
 * "<path> <body length> <worker|poll>". */
static void handler(void *ud, const struct http_request *req, struct http_ctx *ctx,
                    struct http_reply *out)
{
    struct buf b;
    (void)ud;
    if (strcmp(req->path, "/defer") == 0 && ctx) {
        struct waker *w = malloc(sizeof *w);
        pthread_t th;
        if (w && (w->d = http_defer(ctx, finish_deferred, NULL)) != NULL &&
            pthread_create(&th, NULL, wake_later, w) == 0) {
            pthread_detach(th);
            return;
        }
        free(w);
    }
    buf_init(&b, 0);
    buf_printf(&b, "%s %zu %s", req->path, req->body_len, ctx ? "poll" : "worker");
    out->status = 200;
    out->content_type = "text/plain";
    out->body = buf_steal(&b, &out->body_len);
}

/* GETs are quick (answered on the poll thread), POSTs go to a worker. */
static int quick(void *ud, const struct http_request *req, const void **note)
{
    (void)ud;
    (void)note;
    return strcmp(req->method, "GET") == 0;
}

static struct http_config tls_config(const char *cert, const char *key)
{
    struct http_config c = {0};
    c.host = "127.0.0.1";
    c.io_threads = 2;
    c.workers = 2;
    c.max_body = 4096;
    c.max_header_bytes = 8192;
    c.max_connections = 64;
    c.idle_timeout_s = 10;
    c.quick = quick;
    c.tls_cert_pem = cert;
    c.tls_key_pem = key;
    return c;
}

static void write_tmp(char *tmpl, const char *text)
{
    int fd = mkstemp(tmpl);
    size_t n = strlen(text);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static int group_setup(void **state)
{
    const char *names[] = {"localhost", "127.0.0.1"};
    char err[256], *other = NULL, *other_key = NULL;
    struct http_config c;
    (void)state;
    if (!http_tls_supported()) {
        fprintf(stderr, "libmicrohttpd without TLS: nothing to test\n");
        return -1;
    }
    curl_global_init(CURL_GLOBAL_ALL);
    if (tls_make_ca("http test CA", time(NULL), 30, &g_ca, &g_ca_key, err, sizeof err) != 0 ||
        tls_issue_server(g_ca, g_ca_key, names, 2, time(NULL), 30, &g_cert, &g_key, err,
                         sizeof err) != 0 ||
        tls_make_ca("other CA", time(NULL), 30, &other, &other_key, err, sizeof err) != 0) {
        fprintf(stderr, "certificates: %s\n", err);
        return -1;
    }
    write_tmp(g_ca_file, g_ca);
    write_tmp(g_other_ca_file, other);
    free(other);
    tls_free_secret(other_key);
    c = tls_config(g_cert, g_key);
    g_srv = http_start(&c, handler, NULL, err, sizeof err);
    if (!g_srv) {
        fprintf(stderr, "http_start: %s\n", err);
        return -1;
    }
    g_port = http_port(g_srv);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    http_stop(g_srv);
    unlink(g_ca_file);
    unlink(g_other_ca_file);
    free(g_ca);
    free(g_cert);
    tls_free_secret(g_ca_key);
    tls_free_secret(g_key);
    curl_global_cleanup();
    return 0;
}

/* ==== A client ==== */

struct resp {
    long code;
    struct buf body;
    long connects;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    return buf_append(&r->body, p, sz * n) == 0 ? sz * n : 0;
}

/* One request over h (kept for keep-alive). scheme "https" or "http";
 * ca: the CA file to trust. Returns curl's result; r->body is NUL-ended. */
static CURLcode request(CURL *h, const char *scheme, const char *host, const char *ca,
                        const char *target, const char *body, struct resp *r)
{
    char url[256];
    CURLcode rc;
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 0);
    snprintf(url, sizeof url, "%s://%s:%u%s", scheme, host, (unsigned)g_port, target);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 8000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
    buf_append(&r->body, "", 1);
    return rc;
}

/* ==== Tests ==== */

static void test_paths_over_tls(void **state)
{
    CURL *h = curl_easy_init();
    struct resp r;
    (void)state;
    /* poll thread */
    assert_int_equal(request(h, "https", "localhost", g_ca_file, "/a", NULL, &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body.data, "/a 0 poll");
    buf_free(&r.body);
    /* worker, on the same connection */
    assert_int_equal(request(h, "https", "localhost", g_ca_file, "/b", "hello", &r), CURLE_OK);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.body.data, "/b 5 worker");
    assert_int_equal(r.connects, 0); /* kept alive: no new connection */
    buf_free(&r.body);
    /* deferred: suspended, woken from another thread, resumed */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(request(h, "https", "127.0.0.1", g_ca_file, "/defer", NULL, &r), CURLE_OK);
        assert_int_equal(r.code, 200);
        assert_string_equal(r.body.data, "deferred");
        buf_free(&r.body);
    }
    curl_easy_cleanup(h);
}

static void test_refusals(void **state)
{
    CURL *h;
    struct resp r;
    CURLcode rc;
    (void)state;
    /* a client trusting another CA */
    h = curl_easy_init();
    rc = request(h, "https", "localhost", g_other_ca_file, "/x", NULL, &r);
    assert_int_equal(rc, CURLE_PEER_FAILED_VERIFICATION);
    buf_free(&r.body);
    curl_easy_cleanup(h);
    /* a name the certificate does not carry */
    h = curl_easy_init();
    {
        struct curl_slist *res;
        char line[64];
        snprintf(line, sizeof line, "example.org:%u:127.0.0.1", (unsigned)g_port);
        res = curl_slist_append(NULL, line);
        curl_easy_setopt(h, CURLOPT_RESOLVE, res);
        rc = request(h, "https", "example.org", g_ca_file, "/x", NULL, &r);
        assert_int_equal(rc, CURLE_PEER_FAILED_VERIFICATION);
        buf_free(&r.body);
        curl_easy_cleanup(h);
        curl_slist_free_all(res);
    }
    /* plain HTTP on the TLS port gets no HTTP answer */
    h = curl_easy_init();
    rc = request(h, "http", "127.0.0.1", g_ca_file, "/x", NULL, &r);
    assert_true(rc != CURLE_OK || r.code != 200);
    buf_free(&r.body);
    curl_easy_cleanup(h);
    /* and the server still answers */
    h = curl_easy_init();
    assert_int_equal(request(h, "https", "localhost", g_ca_file, "/after", NULL, &r), CURLE_OK);
    assert_string_equal(r.body.data, "/after 0 poll");
    buf_free(&r.body);
    curl_easy_cleanup(h);
}

static void test_start_refusals(void **state)
{
    struct http_config c;
    char err[256];
    struct http_server *s;
    char *other = NULL, *other_key = NULL;
    const char *names[] = {"localhost"};
    (void)state;

    c = tls_config(g_cert, NULL); /* a certificate without its key */
    err[0] = '\0';
    assert_null(http_start(&c, handler, NULL, err, sizeof err));
    assert_non_null(strstr(err, "both"));

    c = tls_config("not a certificate", g_key); /* what GnuTLS cannot read */
    err[0] = '\0';
    assert_null(http_start(&c, handler, NULL, err, sizeof err));
    assert_true(err[0] != '\0');

    /* another certificate's key: GnuTLS refuses the pair at start */
    assert_int_equal(tls_issue_server(g_ca, g_ca_key, names, 1, time(NULL), 30, &other,
                                      &other_key, err, sizeof err),
                     0);
    c = tls_config(g_cert, other_key);
    err[0] = '\0';
    s = http_start(&c, handler, NULL, err, sizeof err);
    if (s)
        http_stop(s);
    assert_null(s);
    assert_true(err[0] != '\0');
    free(other);
    tls_free_secret(other_key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_over_tls),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_start_refusals),
    };
    return cmocka_run_group_tests_name("http_tls", tests, group_setup, group_teardown);
}
