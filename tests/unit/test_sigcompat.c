/* test_sigcompat.c: signatures as every SDK makes them.
 *
 * Replays the 16 requests of fixtures/go-sdk-capture.json (the official Go
 * SDK 1.3.166: TC3 POST and GET, HmacSHA256, HmacSHA1; endpoint
 * 127.0.0.1:PORT and Terraform-style RootDomain with and without a port; vpc
 * and tag) through the server's checks (api_authenticate) at each request's
 * captured timestamp, against a store holding the captured credential: each
 * must be accepted. Then every byte of what the signature covers (the query,
 * the body, the Host and Content-Type values, X-TC-Timestamp and the
 * Authorization value for TC3) is flipped in turn: each copy must be refused.
 * Plus table cases for tc3_service_allowed and both host forms of
 * tc3_verify.
 *
 * The shared reference directory comes from $FLOWLOGD_SHARED (default
 * "../shared", relative to the repo root where tests run).
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "auth/auth.h"
#include "base/util.h"
#include "store_fixture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_HEADERS 32

struct fx {
    char dir[64], data[96];
    struct store *s;
    struct api *a;
    json_t *capture;
};

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *shared = getenv("FLOWLOGD_SHARED");
    char path[512], sql[512];
    struct api_config cfg = {0};
    struct serr e = {{0}};
    struct account acct;
    json_error_t je;
    sqlite3 *db;
    const json_t *cred;

    assert_non_null(f);
    snprintf(path, sizeof path, "%s/fixtures/go-sdk-capture.json", shared ? shared : "../shared");
    f->capture = json_load_file(path, 0, &je);
    if (!f->capture) {
        print_error("cannot read %s: %s\n", path, je.text);
        free(f);
        return -1;
    }
    f->s = fixture_open(f->dir, f->data, "flowlogd-sigcompat");
    assert_int_equal(store_account_create(f->s, 0, &acct, &e), STORE_OK);
    cred = json_object_get(f->capture, "credentials");
    /* the captured credential, inserted as another process (the CLI) would */
    snprintf(path, sizeof path, "%s/flowlogd.db", f->data);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    snprintf(sql, sizeof sql, "INSERT INTO keys(secret_id, secret_key, uin) VALUES ('%s', '%s', '%s')",
             jstr(cred, "SecretId"), jstr(cred, "SecretKey"), acct.uin);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    f->a = api_new(f->s, &cfg);
    assert_non_null(f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    api_free(f->a);
    fixture_close(f->s, f->dir);
    json_decref(f->capture);
    free(f);
    return 0;
}

/* One captured request, its strings copied so that a byte can be flipped. */
struct replay {
    char method[8];
    char *query, *body;
    size_t body_len;
    struct http_header h[MAX_HEADERS];
    char *hval[MAX_HEADERS];
    size_t nh;
    time_t ts;
};

static void replay_load(struct replay *r, const json_t *rec)
{
    const json_t *raw = json_object_get(rec, "rawHeaders"), *pair;
    const char *body = jstr(rec, "body"), *ts = NULL;
    size_t i;
    int64_t t;

    memset(r, 0, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", jstr(rec, "method"));
    r->query = strdup(jstr(rec, "rawQuery") ? jstr(rec, "rawQuery") : "");
    r->body = strdup(body ? body : "");
    r->body_len = strlen(r->body);
    assert_non_null(r->query);
    assert_non_null(r->body);
    json_array_foreach(raw, i, pair) {
        assert_true(r->nh < MAX_HEADERS);
        r->h[r->nh].name = json_string_value(json_array_get(pair, 0));
        r->hval[r->nh] = strdup(json_string_value(json_array_get(pair, 1)));
        r->h[r->nh].value = r->hval[r->nh];
        if (strcasecmp(r->h[r->nh].name, "X-TC-Timestamp") == 0)
            ts = r->hval[r->nh];
        r->nh++;
    }
    if (!ts) { /* v1: the Timestamp parameter */
        const char *q = strstr(r->method[0] == 'G' ? r->query : r->body, "Timestamp=");
        assert_non_null(q);
        ts = q + 10;
    }
    assert_int_equal(parse_i64(ts, strspn(ts, "0123456789"), &t), 0);
    r->ts = (time_t)t;
}

static void replay_free(struct replay *r)
{
    free(r->query);
    free(r->body);
    for (size_t i = 0; i < r->nh; i++)
        free(r->hval[i]);
}

/* Runs the server's checks on r; returns the error id (API_E_OK: accepted). */
static enum api_err replay_check(struct fx *f, const struct replay *r, struct apierr *e)
{
    struct http_request req = {0};
    req.method = r->method;
    req.path = "/";
    req.query = r->query;
    req.headers = r->h;
    req.nheaders = r->nh;
    req.body = r->body;
    req.body_len = r->body_len;
    req.client_ip = "127.0.0.1";
    return api_authenticate(f->a, &req, r->ts, e);
}

static int is_signed_header(const char *name, int tc3)
{
    if (strcasecmp(name, "Host") == 0 || strcasecmp(name, "Content-Type") == 0)
        return 1;
    return tc3 && (strcasecmp(name, "X-TC-Timestamp") == 0 || strcasecmp(name, "Authorization") == 0);
}

/* Flips each byte of s[0..n) in turn (XOR 1) and expects refusal. */
static size_t flip_all(struct fx *f, struct replay *r, char *s, size_t n, const char *label,
                       const char *what)
{
    struct apierr e;
    size_t flips = 0;
    for (size_t i = 0; i < n; i++) {
        s[i] ^= 1;
        if (replay_check(f, r, &e) == API_E_OK)
            fail_msg("%s: byte %zu of %s flipped ('%c'), still accepted", label, i, what, s[i]);
        s[i] ^= 1;
        flips++;
    }
    return flips;
}

static void test_go_capture(void **state)
{
    struct fx *f = *state;
    const json_t *reqs = json_object_get(f->capture, "requests"), *rec;
    size_t i, n_ok = 0, n_flips = 0, n_tc3 = 0, n_v1 = 0;

    assert_int_equal(json_array_size(reqs), 16);
    json_array_foreach(reqs, i, rec) {
        struct replay r;
        struct apierr e;
        char label[200];
        int tc3;

        snprintf(label, sizeof label, "#%lld %s %s", json_integer_value(json_object_get(rec, "seq")),
                 jstr(rec, "case"), jstr(rec, "action"));
        replay_load(&r, rec);
        tc3 = http_header(&(struct http_request){.headers = r.h, .nheaders = r.nh},
                          "Authorization") != NULL;
        tc3 ? n_tc3++ : n_v1++;
        if (replay_check(f, &r, &e) != API_E_OK)
            fail_msg("%s: refused with %s", label, apierr_code(e.id));
        n_ok++;
        /* a minute later, still within the window; six minutes later, not */
        r.ts += 60;
        assert_int_equal(replay_check(f, &r, &e), API_E_OK);
        r.ts += 300;
        assert_int_equal(replay_check(f, &r, &e), API_E_AUTH_EXPIRED);
        r.ts -= 360;

        n_flips += flip_all(f, &r, r.query, strlen(r.query), label, "the query");
        n_flips += flip_all(f, &r, r.body, r.body_len, label, "the body");
        for (size_t h = 0; h < r.nh; h++)
            if (is_signed_header(r.h[h].name, tc3))
                n_flips += flip_all(f, &r, r.hval[h], strlen(r.hval[h]), label, r.h[h].name);
        replay_free(&r);
    }
    assert_int_equal(n_ok, 16);
    assert_int_equal(n_tc3, 11);
    assert_int_equal(n_v1, 5);
    print_message("go-sdk-capture: %zu requests accepted (%zu TC3, %zu v1), %zu flipped bytes "
                  "refused\n",
                  n_ok, n_tc3, n_v1, n_flips);
}

/* ==== tc3_service_allowed ==== */

static void test_service_allowed(void **state)
{
    static const struct {
        const char *name, *service, *product, *host;
        int want;
    } cases[] = {
        {"go-ip-port", "vpc", "vpc", "127.0.0.1:8080", 1},
        {"go-rootdomain", "tag", "tag", "tag.flowlogd.test:8080", 1},
        {"go-sts", "sts", "sts", "localhost:8080", 1},
        {"node-ip-port", "127", "vpc", "127.0.0.1:8080", 1},
        {"node-localhost-port", "localhost:8080", "vpc", "localhost:8080", 1},
        {"node-localhost", "localhost", "tag", "localhost", 1},
        {"node-name", "vpc", "vpc", "vpc.example.localhost:8080", 1},
        {"node-ipv6", "[::1]:8080", "vpc", "[::1]:8080", 1},
        {"host-case", "localhost:8080", "vpc", "LocalHost:8080", 1},
        {"other-product", "tag", "vpc", "127.0.0.1:8080", 0},
        {"label-wrong-port", "localhost:8081", "vpc", "localhost:8080", 0},
        {"label-without-port", "localhost", "vpc", "localhost:8080", 0},
        {"label-prefix", "12", "vpc", "127.0.0.1:8080", 0},
        {"label-longer", "1270", "vpc", "127.0.0.1:8080", 0},
        {"no-host", "127", "vpc", NULL, 0},
        {"empty-host", "x", "vpc", "", 0},
        {"empty-service", "", "vpc", "127.0.0.1", 0},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        int got = tc3_service_allowed(cases[i].service, cases[i].product, cases[i].host);
        if (got != cases[i].want)
            fail_msg("case %s: got %d, want %d", cases[i].name, got, cases[i].want);
    }
}

/* ==== tc3_verify: both host forms, nothing else ==== */

static void sign_as(const char *host, int keep_port, const char *body, char authz[512])
{
    struct auth_header h[2] = {{"Content-Type", "application/json"}, {"Host", host}};
    struct tc3_request r = {"POST", "", h, 2, body, strlen(body), keep_port};
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(tc3_authorization(&r, "AKIDx", "sk", "vpc", "1700000000",
                                       "content-type;host", &b),
                     0);
    snprintf(authz, 512, "%s", b.data);
    buf_free(&b);
}

static int verify_as(const char *host, const char *authz, const char *body)
{
    struct auth_header h[2] = {{"Content-Type", "application/json"}, {"Host", host}};
    struct tc3_request r = {"POST", "", h, 2, body, strlen(body), 0};
    struct tc3_auth au;
    unsigned char key[32];
    char why[128];
    assert_int_equal(tc3_parse_authorization(authz, &au, why, sizeof why), 0);
    tc3_derive_key("sk", au.date, au.service, key);
    return tc3_verify(&r, &au, key, "1700000000");
}

static void test_verify_host_forms(void **state)
{
    char a[512];
    (void)state;
    /* Go-style: port signed; the port is then part of what must match */
    sign_as("127.0.0.1:8080", 1, "{}", a);
    assert_true(verify_as("127.0.0.1:8080", a, "{}"));
    assert_false(verify_as("127.0.0.1:8081", a, "{}"));
    assert_false(verify_as("127.0.0.1", a, "{}"));
    assert_false(verify_as("127.0.0.1:8080", a, "{ }"));
    /* Node-style: port not signed */
    sign_as("127.0.0.1:8080", 0, "{}", a);
    assert_true(verify_as("127.0.0.1:8080", a, "{}"));
    assert_true(verify_as("127.0.0.1", a, "{}"));
    assert_false(verify_as("127.0.0.2:8080", a, "{}"));
    /* no port signed: a port added on the way is the Node form's (unsigned) */
    sign_as("vpc.example", 1, "{}", a);
    assert_true(verify_as("vpc.example", a, "{}"));
    assert_true(verify_as("vpc.example:80", a, "{}"));
    assert_false(verify_as("vpc.examplf", a, "{}"));
    /* IPv6 with a port */
    sign_as("[::1]:8080", 1, "{}", a);
    assert_true(verify_as("[::1]:8080", a, "{}"));
    assert_false(verify_as("[::1]", a, "{}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_go_capture, setup, teardown),
        cmocka_unit_test(test_service_allowed),
        cmocka_unit_test(test_verify_host_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
