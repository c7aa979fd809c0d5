/* fuzz_control.c: the data plane's control plane (control_reply: the TC3
 * check against an agent key, the body, the host's snapshot and the
 * assignment document) over a real SQLite store in a temporary directory
 * ($FUZZ_TMPDIR, else /dev/shm, else /tmp), named
 * flowlogd-fuzzctl-<pid>-XXXXXX and removed at exit. The store holds one
 * account with ENIs bound to hosts "hx" and "hy", flow logs on them, and
 * agent keys for any host and for "hx".
 *
 * Input: one byte choosing the request, then the body.
 *   byte % 4: 0 the body signed right with the any-host key; 1 the same
 *   with the "hx" key; 2 the body's first line as the Authorization header
 *   (the rest the body); 3 signed right, the body's first line as the
 *   X-TC-Timestamp.
 *
 * Invariants: the answer is HTTP 200 with {"Response":{..., "RequestId"}};
 * either an Error {Code, Message} or Host, Generation, Devices, FlowLogs;
 * with the "hx" key, never another host's devices; never InternalError
 * (on tmpfs the store does not fail). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "base/buf.h"
#include "base/log.h"
#include "control/control.h"
#include "fuzz.h"
#include "store/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static char g_dir[256];
static struct store *g_store;
static struct agent_key g_any, g_hx;

static void teardown(void)
{
    store_close(g_store);
    g_store = NULL;
    if (g_dir[0])
        fuzz_remove_dir(g_dir);
}

static struct resource res(enum res_kind kind, const char *id, const char *vpc, const char *sub,
                           const char *host, const char *dev)
{
    struct resource r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    snprintf(r.region, sizeof r.region, "ap-guangzhou");
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.vpc_id, sizeof r.vpc_id, "%s", vpc);
    snprintf(r.subnet_id, sizeof r.subnet_id, "%s", sub);
    snprintf(r.host, sizeof r.host, "%s", host);
    snprintf(r.host_device, sizeof r.host_device, "%s", dev);
    return r;
}

static void populate(void)
{
    struct serr se = {{0}};
    struct account a;
    struct resource items[] = {
        res(RES_VPC, "vpc-fuzz0001", "", "", "", ""),
        res(RES_SUBNET, "subnet-fuzz0001", "vpc-fuzz0001", "", "", ""),
        res(RES_ENI, "eni-fuzz0001", "vpc-fuzz0001", "subnet-fuzz0001", "hx", "vx1"),
        res(RES_ENI, "eni-fuzz0002", "vpc-fuzz0001", "subnet-fuzz0001", "hy", "vy2"),
    };
    snprintf(items[2].addrs, sizeof items[2].addrs, "10.0.0.7,fd00::7");
    if (store_account_create(g_store, 0, &a, &se) != STORE_OK ||
        store_inventory_import(g_store, a.uin, items, 4, &se) != STORE_OK)
        goto fail;
    const enum res_kind kinds[] = {RES_VPC, RES_ENI};
    const char *rids[] = {"vpc-fuzz0001", "eni-fuzz0002"};
    for (int i = 0; i < 2; i++) {
        struct flowlog fl;
        memset(&fl, 0, sizeof fl);
        snprintf(fl.id, sizeof fl.id, "fl-fuzz000%d", i);
        snprintf(fl.uin, sizeof fl.uin, "%s", a.uin);
        snprintf(fl.region, sizeof fl.region, "ap-guangzhou");
        snprintf(fl.name, sizeof fl.name, "f%d", i);
        snprintf(fl.vpc_id, sizeof fl.vpc_id, "vpc-fuzz0001");
        fl.resource_kind = kinds[i];
        snprintf(fl.resource_id, sizeof fl.resource_id, "%s", rids[i]);
        snprintf(fl.traffic_type, sizeof fl.traffic_type, "ALL");
        snprintf(fl.storage_type, sizeof fl.storage_type, "cls");
        fl.enable = 1;
        fl.created_at = 1700000000;
        if (store_flowlog_create(g_store, &fl, 0, &se) != STORE_OK)
            goto fail;
    }
    if (store_agent_key_create(g_store, NULL, &g_any, &se) != STORE_OK ||
        store_agent_key_create(g_store, "hx", &g_hx, &se) != STORE_OK)
        goto fail;
    return;
fail:
    fprintf(stderr, "fuzz_control: %s\n", se.msg);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct serr se = {{0}};
    (void)argc;
    (void)argv;
    g_log_level = LOG_OFF;
    if (fuzz_scratch_dir(g_dir, sizeof g_dir, "flowlogd-fuzzctl-") != 0) {
        perror("mkdtemp");
        abort();
    }
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL); /* before atexit: see fuzz_api.c */
    atexit(teardown);
    if (!(g_store = store_open_sqlite(g_dir, &se))) {
        fprintf(stderr, "fuzz_control: %s\n", se.msg);
        abort();
    }
    populate();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char *body, ts[64], line[600];
    const char *payload;
    size_t plen;
    struct buf auth;
    unsigned mode;
    const struct agent_key *key;

    if (n < 1)
        return 0;
    mode = d[0] % 4u;
    if (!(body = malloc(n))) /* NUL-terminated, as the http layer hands it */
        return 0;
    memcpy(body, d + 1, n - 1);
    body[n - 1] = '\0';
    payload = body;
    plen = n - 1;
    key = mode == 1 ? &g_hx : &g_any;
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    if (mode == 2 || mode == 3) { /* the first line is a header's value */
        size_t k = strcspn(body, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(k < sizeof line - 1 ? k : sizeof line - 1), body);
        payload = body[k] ? body + k + 1 : body + k;
        plen = n - 1 - (size_t)(payload - body);
        if (mode == 3)
            snprintf(ts, sizeof ts, "%.*s", (int)sizeof ts - 1, line);
    }
    struct http_header hdr[4] = {{"Content-Type", "application/json"},
                                 {"Host", "127.0.0.1:8080"},
                                 {"X-TC-Timestamp", ts},
                                 {"Authorization", ""}};
    struct auth_header ah[2] = {{"Content-Type", "application/json"}, {"Host", "127.0.0.1:8080"}};
    struct tc3_request tr = {"POST", "", ah, 2, payload, plen, 0};
    buf_init(&auth, 0);
    if (mode == 2)
        hdr[3].value = line;
    else if (tc3_authorization(&tr, key->secret_id, key->secret_key, CONTROL_SERVICE, ts,
                               "content-type;host", &auth) == 0)
        hdr[3].value = auth.data;

    struct http_request req;
    struct http_reply out;
    memset(&req, 0, sizeof req);
    memset(&out, 0, sizeof out);
    req.method = "POST";
    req.path = CONTROL_PATH;
    req.query = "";
    req.headers = hdr;
    req.nheaders = 4;
    req.body = payload;
    req.body_len = plen;
    req.client_ip = "127.0.0.1";
    control_reply(g_store, &req, (int64_t)time(NULL), &out);
    FUZZ_CHECK(out.status == 200 && out.body != NULL);
    json_error_t je;
    json_t *j = json_loadb(out.body, out.body_len, 0, &je);
    json_t *r = json_object_get(j, "Response"), *e = json_object_get(r, "Error");
    FUZZ_CHECK(json_is_object(r));
    FUZZ_CHECK(json_is_string(json_object_get(r, "RequestId")));
    if (e) {
        const char *code = json_string_value(json_object_get(e, "Code"));
        FUZZ_CHECK(code && strcmp(code, "InternalError") != 0);
        FUZZ_CHECK(json_is_string(json_object_get(e, "Message")));
    } else {
        const char *host = json_string_value(json_object_get(r, "Host"));
        FUZZ_CHECK(host && json_is_string(json_object_get(r, "Generation")));
        FUZZ_CHECK(json_is_array(json_object_get(r, "Devices")));
        FUZZ_CHECK(json_is_array(json_object_get(r, "FlowLogs")));
        if (mode == 1)
            FUZZ_CHECK(strcmp(host, "hx") == 0);
    }
    json_decref(j);
    free(out.body);
    buf_free(&auth);
    free(body);
    return 0;
}
