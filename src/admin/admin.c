/* admin.c: the admin API (see admin.h): the bearer token, a table of
 * routes, and the account and inventory documents shared with
 * `serve --init`. */
#include "admin/admin.h"
#include "admin/state.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/health.h"
#include "api/api.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "store/store.h"

/* a request body's ceiling (an inventory of a large account) */
#define ADMIN_MAX_DOC (64u << 20)

struct admin {
    struct store *st;
    struct api *api;
    pthread_rwlock_t token_mu; /* a reload may change the token */
    unsigned char token_hash[SHA256_DIGEST_LENGTH];
    int (*metrics)(void *ud, struct buf *out); /* GET /metrics, or NULL */
    void *metrics_ud;
};

/* What a route answers: an HTTP status and a JSON object (owned). */
/* ==== routes ==== */

static struct admin_answer route_reset(struct admin *ad, json_t *in)
{
    struct admin_answer a = admin_reset(ad->st, in);
    if (ad->api) /* the keys just deleted are refused at once */
        api_forget_credentials(ad->api);
    return a;
}

static struct admin_answer route_accounts(struct admin *ad, json_t *in)
{
    return admin_account_create(ad->st, in);
}

static struct admin_answer route_keys(struct admin *ad, json_t *in)
{
    return admin_key_create(ad->st, in);
}

static struct admin_answer route_inventory(struct admin *ad, json_t *in)
{
    return admin_inventory_import(ad->st, in);
}

static struct admin_answer route_seed(struct admin *ad, json_t *in)
{
    json_t *v = json_object_get(in, "Seed");
    (void)ad;
    if (json_object_size(in) != (v ? 1u : 0u))
        return admin_fail(400, "UnknownParameter", "the only member is Seed");
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return admin_fail(400, "MissingParameter", "Seed (a non-negative integer) is required");
    ids_seed((uint64_t)json_integer_value(v));
    log_info("admin: ids seeded with %lld", (long long)json_integer_value(v));
    return admin_ok(json_pack("{s:I}", "Seed", json_integer_value(v)));
}

static struct admin_answer route_flowlog_format(struct admin *ad, json_t *in)
{
    return admin_flowlog_format(ad->st, in);
}

static struct admin_answer route_state_export(struct admin *ad, json_t *in)
{
    (void)in;
    return admin_state_export(ad->st);
}

static struct admin_answer route_state_import(struct admin *ad, json_t *in)
{
    struct admin_answer a = admin_state_import(ad->st, in);
    if (ad->api)
        api_forget_credentials(ad->api);
    return a;
}

static struct admin_answer route_bind(struct admin *ad, json_t *in)
{
    return admin_inventory_bind(ad->st, in);
}

static struct admin_answer route_agent_key_create(struct admin *ad, json_t *in)
{
    return admin_agent_key_create(ad->st, in);
}

static struct admin_answer route_agent_key_list(struct admin *ad, json_t *in)
{
    (void)in;
    return admin_agent_key_list(ad->st);
}

static struct admin_answer route_agent_key_delete(struct admin *ad, json_t *in)
{
    return admin_agent_key_delete(ad->st, in);
}

typedef struct admin_answer (*route_fn)(struct admin *ad, json_t *in);

/* The admin API: a new route is a row. Every route takes a JSON object
 * (an empty body is {}) and answers one. */
static const struct {
    const char *method, *path;
    route_fn fn;
} routes[] = {
    {"POST", "/admin/reset", route_reset},       {"POST", "/admin/accounts", route_accounts},
    {"POST", "/admin/keys", route_keys},         {"POST", "/admin/inventory", route_inventory},
    {"POST", "/admin/seed", route_seed},         {"GET", "/admin/state", route_state_export},
    {"PUT", "/admin/state", route_state_import},
    {"POST", "/admin/inventory/bind", route_bind},
    {"POST", "/admin/agent-keys", route_agent_key_create},
    {"GET", "/admin/agent-keys", route_agent_key_list},
    {"POST", "/admin/agent-keys/delete", route_agent_key_delete},
    {"POST", "/admin/flowlog-format", route_flowlog_format},
};

/* ==== the handler ==== */

static void reply(struct http_reply *out, struct admin_answer a)
{
    char *s = a.body ? json_dumps(a.body, JSON_COMPACT) : NULL;
    size_t n = s ? strlen(s) : 0;
    json_decref(a.body);
    out->content_type = "application/json";
    if (!s) {
        out->status = 500;
        out->body =
            strdup("{\"Error\":{\"Code\":\"InternalError\",\"Message\":\"out of memory\"}}");
        out->body_len = out->body ? strlen(out->body) : 0;
        return;
    }
    /* a line end for the terminal's sake */
    char *t = realloc(s, n + 2);
    if (t) {
        s = t;
        s[n++] = '\n';
        s[n] = '\0';
    }
    out->status = a.status;
    out->body = s;
    out->body_len = n;
}

/* Constant time: the digests of the two tokens are compared, so neither
 * the token's length nor its first difference shows in the timing. */
static int authorized(struct admin *ad, const struct http_request *req)
{
    const char *h = http_header(req, "Authorization");
    unsigned char got[SHA256_DIGEST_LENGTH];
    int ok;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    SHA256((const unsigned char *)h, strlen(h), got);
    pthread_rwlock_rdlock(&ad->token_mu);
    ok = CRYPTO_memcmp(got, ad->token_hash, sizeof got) == 0;
    pthread_rwlock_unlock(&ad->token_mu);
    return ok;
}

/* GET /metrics: Prometheus's scrape (it sends the token from its
 * credentials_file as a Bearer token). */
static void metrics(struct admin *ad, const struct http_request *req, struct http_reply *out)
{
    struct buf b;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        reply(out, admin_fail(405, "MethodNotAllowed", "/metrics answers GET"));
        return;
    }
    buf_init(&b, 0);
    if (ad->metrics(ad->metrics_ud, &b) != 0 || buf_append(&b, "", 1) != 0) {
        buf_free(&b);
        reply(out, admin_fail(500, "InternalError", "out of memory"));
        return;
    }
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
    out->body_len = b.len - 1;
    out->body = buf_steal(&b, NULL);
}

void admin_set_metrics(struct admin *ad, int (*fn)(void *ud, struct buf *out), void *ud)
{
    ad->metrics = fn;
    ad->metrics_ud = ud;
}

int admin_http_quick(void *ud, const struct http_request *req, const void **note)
{
    (void)ud;
    (void)note;
    return health_path(req);
}

/* The digits of "Uin=" in a raw query into uin[24]; 0, or -1 if absent
 * or not 1 to 20 digits. */
static int query_uin(const char *q, char uin[24])
{
    const char *p = q;
    size_t n;
    while (p && *p) {
        if (strncmp(p, "Uin=", 4) == 0) {
            p += 4;
            n = strspn(p, "0123456789");
            if (n == 0 || n > 20 || (p[n] && p[n] != '&'))
                return -1;
            memcpy(uin, p, n);
            uin[n] = '\0';
            return 0;
        }
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    return -1;
}

void admin_http_handler(void *ud, const struct http_request *req, struct http_ctx *ctx,
                        struct http_reply *out)
{
    (void)ctx; /* the admin API never defers */
    struct admin *ad = ud;
    int path_known = 0;
    char uin[24];
    json_error_t je;
    json_t *in;

    out->nextra = 0;
    if (health_reply(req, out))
        return;
    if (!authorized(ad, req)) {
        out->extra[out->nextra++] = (struct http_header){"WWW-Authenticate", "Bearer"};
        reply(out, admin_fail(401, "Unauthorized",
                              "the admin API wants Authorization: Bearer <the token of "
                              "--admin-token-file>"));
        return;
    }
    if (strcmp(req->path, "/metrics") == 0 && ad->metrics) {
        metrics(ad, req, out);
        return;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(req->path, routes[i].path) != 0)
            continue;
        path_known = 1;
        if (strcmp(req->method, routes[i].method) != 0)
            continue;
        if (req->body_too_large) {
            reply(out,
                  admin_fail(413, "RequestTooLarge", "the body passes %u bytes", ADMIN_MAX_DOC));
            return;
        }
        if (req->body_len == 0)
            in = json_object();
        else if (!(in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je))) {
            reply(out, admin_fail(400, "InvalidJSON", "the body is not JSON: %s (line %d)", je.text,
                                  je.line));
            return;
        }
        if (!json_is_object(in)) {
            json_decref(in);
            reply(out, admin_fail(400, "InvalidJSON", "the body is a JSON object"));
            return;
        }
        /* ?Uin=N: a route's Uin in the query, so that POST /admin/inventory?Uin=N takes
         * the very file of `flowlogd inventory import` as its body */
        if (!json_object_get(in, "Uin") && query_uin(req->query, uin) == 0)
            json_object_set_new(in, "Uin", json_string(uin));
        reply(out, routes[i].fn(ad, in));
        json_decref(in);
        return;
    }
    if (path_known)
        reply(out, admin_fail(405, "MethodNotAllowed", "%s %s: not a method of this path",
                              req->method, req->path));
    else
        reply(out, admin_fail(404, "NotFound", "no admin route %s (docs/API.md, The admin API)",
                              req->path));
}

size_t admin_max_body(void)
{
    return ADMIN_MAX_DOC;
}

struct admin *admin_new(struct store *st, struct api *api, const char *token)
{
    struct admin *ad;
    if (!token || !*token || !(ad = calloc(1, sizeof *ad)))
        return NULL;
    ad->st = st;
    ad->api = api;
    pthread_rwlock_init(&ad->token_mu, NULL);
    SHA256((const unsigned char *)token, strlen(token), ad->token_hash);
    return ad;
}

int admin_set_token(struct admin *ad, const char *token)
{
    unsigned char h[SHA256_DIGEST_LENGTH];
    if (!token || !*token)
        return -1;
    SHA256((const unsigned char *)token, strlen(token), h);
    pthread_rwlock_wrlock(&ad->token_mu);
    memcpy(ad->token_hash, h, sizeof h);
    pthread_rwlock_unlock(&ad->token_mu);
    OPENSSL_cleanse(h, sizeof h);
    return 0;
}

void admin_free(struct admin *ad)
{
    if (!ad)
        return;
    pthread_rwlock_destroy(&ad->token_mu);
    OPENSSL_cleanse(ad, sizeof *ad);
    free(ad);
}

/* ==== files: the token and --init ==== */

/* A whole small file (at most `cap` bytes), NUL-terminated; NULL with errno. */
static char *slurp(const char *path, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    if (!f)
        return NULL;
    if (!(buf = malloc(cap + 1))) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, cap + 1, f);
    if (ferror(f) || n > cap) {
        int err = ferror(f) ? EIO : EFBIG;
        fclose(f);
        free(buf);
        errno = err;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

char *admin_read_token(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *t = slurp(path, 4096, &len);
    if (!t) {
        snprintf(err, errlen, "--admin-token-file %s: %s", path, strerror(errno));
        return NULL;
    }
    t[strcspn(t, "\r\n")] = '\0';
    if (!*t) {
        snprintf(err, errlen, "--admin-token-file %s: the first line (the token) is empty", path);
        OPENSSL_cleanse(t, len);
        free(t);
        return NULL;
    }
    return t;
}
