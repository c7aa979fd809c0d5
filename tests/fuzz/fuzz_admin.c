/* fuzz_admin.c: the admin API's handler (admin_http_handler: the bearer
 * token, the route table and the documents of admin/state.c) over a real
 * SQLite store in a temporary directory ($FUZZ_TMPDIR, else /dev/shm, else
 * /tmp), named flowlogd-fuzzadmin-<pid>-XXXXXX and removed at exit.
 *
 * Input: one byte choosing the request, then the body.
 *   byte % 10: 0 POST /admin/reset, 1 POST /admin/accounts, 2 POST /admin/keys,
 *   3 POST /admin/inventory, 4 POST /admin/seed, 5 GET /admin/state,
 *   6 PUT /admin/state, 7 the body's first line as the path (POST),
 *   8 POST /admin/accounts without the token, 9 PUT /admin/state then GET
 *   /admin/state (an accepted document must export again).
 * byte & 0x80: the request says its body was too large.
 *
 * Invariants: every answer but /healthz's and /readyz's is a JSON object with a status the API uses
 * (200, 400, 401, 404, 405, 409, 413; never 500: on tmpfs the store does not
 * fail, so a 500 is a check the documents missed); errors carry
 * Error.Code and Error.Message; without the token, 401; a state document
 * accepted by PUT exports again as a document PUT accepts. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "admin/state.h"
#include "base/log.h"
#include "fuzz.h"
#include "store/store.h"

#define TOKEN "fuzz-admin-token"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static char g_dir[256];
static struct store *g_store;
static struct admin *g_admin;

static void teardown(void)
{
    admin_free(g_admin);
    g_admin = NULL;
    store_close(g_store);
    g_store = NULL;
    if (g_dir[0])
        fuzz_remove_dir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct serr se = {{0}};
    (void)argc;
    (void)argv;
    g_log_level = LOG_OFF;
    if (fuzz_scratch_dir(g_dir, sizeof g_dir, "flowlogd-fuzzadmin-") != 0) {
        perror("mkdtemp");
        abort();
    }
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL); /* before atexit: see fuzz_api.c */
    atexit(teardown);
    if (!(g_store = store_open_sqlite(g_dir, &se)) ||
        !(g_admin = admin_new(g_store, NULL, TOKEN))) {
        fprintf(stderr, "fuzz_admin: %s\n", se.msg);
        abort();
    }
    return 0;
}

/* Sends one request; checks the answer's shape; returns its status and
 * (if want_body) the parsed body. */
static int call(const char *method, const char *path, const char *body, size_t len, int token,
                int too_large, json_t **want_body)
{
    struct http_header hdr[2] = {{"Authorization", "Bearer " TOKEN},
                                 {"Content-Type", "application/json"}};
    struct http_request req;
    struct http_reply out;
    json_error_t je;
    json_t *j;
    int st;

    memset(&req, 0, sizeof req);
    memset(&out, 0, sizeof out);
    req.method = method;
    req.path = path;
    req.query = "";
    req.headers = token ? hdr : hdr + 1;
    req.nheaders = token ? 2 : 1;
    req.body = too_large ? "" : body;
    req.body_len = too_large ? 0 : len;
    req.body_too_large = too_large;
    req.client_ip = "127.0.0.1";
    admin_http_handler(g_admin, &req, NULL, &out); /* never deferred: no context */
    st = out.status;
    FUZZ_CHECK(out.body != NULL);
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
        /* health.c's answers: no token, a status (405 in text for a POST) */
        FUZZ_CHECK(st == 200 || st == 503 || st == 405);
        free(out.body);
        if (want_body)
            *want_body = NULL;
        return st;
    }
    j = json_loadb(out.body, out.body_len, 0, &je);
    FUZZ_CHECK(json_is_object(j));
    FUZZ_CHECK(st == 200 || st == 400 || st == 401 || st == 404 || st == 405 || st == 409 ||
               st == 413);
    if (!token)
        FUZZ_CHECK(st == 401);
    if (st != 200) {
        json_t *e = json_object_get(j, "Error");
        FUZZ_CHECK(json_is_string(json_object_get(e, "Code")));
        FUZZ_CHECK(json_is_string(json_object_get(e, "Message")));
    }
    if (want_body)
        *want_body = j;
    else
        json_decref(j);
    free(out.body);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static const struct {
        const char *method, *path;
    } req[] = {
        {"POST", "/admin/reset"},     {"POST", "/admin/accounts"}, {"POST", "/admin/keys"},
        {"POST", "/admin/inventory"}, {"POST", "/admin/seed"},     {"GET", "/admin/state"},
        {"PUT", "/admin/state"},
    };
    char *body, path[128];
    unsigned mode;
    int too_large;

    if (n < 1)
        return 0;
    mode = d[0] % 10u;
    too_large = (d[0] & 0x80) != 0;
    if (!(body = malloc(n))) /* NUL-terminated, as the http layer hands it */
        return 0;
    memcpy(body, d + 1, n - 1);
    body[n - 1] = '\0';
    if (mode < 7) {
        (void)call(req[mode].method, req[mode].path, body, n - 1, 1, too_large, NULL);
    } else if (mode == 7) {
        size_t k = strcspn(body, "\n");
        snprintf(path, sizeof path, "%.*s", (int)(k < sizeof path - 1 ? k : sizeof path - 1), body);
        (void)call("POST", path, body, n - 1, 1, too_large, NULL);
    } else if (mode == 8) {
        (void)call("POST", "/admin/accounts", body, n - 1, 0, too_large, NULL);
    } else if (call("PUT", "/admin/state", body, n - 1, 1, too_large, NULL) == 200) {
        json_t *doc = NULL;
        char *text;
        FUZZ_CHECK(call("GET", "/admin/state", "", 0, 1, 0, &doc) == 200);
        text = json_dumps(doc, JSON_COMPACT);
        FUZZ_CHECK(text != NULL);
        FUZZ_CHECK(call("PUT", "/admin/state", text, strlen(text), 1, 0, NULL) == 200);
        free(text);
        json_decref(doc);
    }
    free(body);
    return 0;
}
