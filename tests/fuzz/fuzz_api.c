/* fuzz_api.c: the whole API front (api_handle) over a real SQLite store.
 *
 * LLVMFuzzerInitialize opens a store in a fresh temporary directory
 * ($FUZZ_TMPDIR, else /dev/shm, else /tmp: tmpfs keeps the fsyncs cheap)
 * with one account, one unrestricted key and a small inventory, and an API
 * front without rate limit. The directory (flowlogd-fuzz-<pid>-XXXXXX) is
 * removed at a normal exit; one left by a crash is removed by the next
 * run's start.
 *
 * Input, split at NUL bytes:
 *   mode \0 method \0 path \0 query \0 (header-name \0 header-value \0)* body
 * (the body is always the last part; with fewer than 5 parts it is empty
 * and missing parts default to "POST", "/", "").
 * mode[0] % 3 says how the request is signed:
 *   0  as sent: the signature nearly always fails, which exercises every
 *      check before it (transport, common parameters, Authorization form,
 *      timestamp, SecretId);
 *   1  TC3 by the harness, like the SDKs: X-TC-Timestamp = now and an
 *      Authorization over content-type;host with the real key, service =
 *      the Host header's first label, are put before the fuzzer's headers
 *      (the first occurrence of a header wins);
 *   2  v1 by the harness: "Signature=..&SecretId=..&Timestamp=now&Nonce=1&"
 *      is put before the query (GET) or the form body (POST), the signature
 *      computed with SignatureMethod as the fuzzer sent it (HmacSHA1 when
 *      absent) over the Host header as sent.
 * Modes 1 and 2 get through to the permission, input mapping and the action
 * handlers, which then read and write the store. Three flow logs with fixed
 * ids (fl-aaaa0001 ENI/cls, fl-aaaa0002 CCN, fl-aaaa0003 subnet/ckafka) and
 * the inventory are restored after a successful Delete*, Attach* or
 * Detach*, so the by-id actions keep finding something.
 *
 * The store keeps what earlier inputs did (flow logs, VPCs, subnets...
 * created, deleted), so a run is not exactly reproducible input by input.
 * It grows with what the fuzzer creates (in tmpfs: a few tens of MB in ten
 * minutes, the WAL being checkpointed every ~40 MB).
 *
 * FUZZ_API_VERBOSE=1 prints each answer to stderr (useful when replaying
 * one input: build-fuzz/fuzz_api FILE).
 *
 * Invariants of every answer:
 *  - status 200 (an API answer), 404 (path not "/") or 405 (method);
 *  - a content type, and a malloc'd body whose length is body_len;
 *  - a 200 body is JSON {"Response": {...,"RequestId": "<uuid>"}} and an
 *    error has string Code and Message, the Code non-empty;
 *  - the key's SecretKey appears nowhere in the body (unless the input
 *    itself held it; see has_secret for why this check is hidden from the
 *    fuzzer).
 */
#define _GNU_SOURCE /* memmem */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/input.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "cli/cli.h"
#include "fuzz.h"
#include "http/http.h"
#include "store/store.h"
#include "validate/validate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
static void ensure_fixtures(void);
static void restore_state(void);
static int flowlog_exists(const char *id);

#define MAX_PARTS 48
#define MAX_HEADERS 32

static const char inventory[] =
    "{\"Region\":\"ap-guangzhou\","
    "\"Vpcs\":[{\"VpcId\":\"vpc-aaaa0001\",\"VpcName\":\"prod\",\"CidrBlock\":\"10.0.0.0/16\"},"
    "{\"VpcId\":\"vpc-aaaa0002\"}],"
    "\"Subnets\":[{\"SubnetId\":\"subnet-aaaa0001\",\"VpcId\":\"vpc-aaaa0001\"}],"
    "\"Instances\":[{\"InstanceId\":\"ins-aaaa0001\",\"InstanceType\":\"S5.MEDIUM4\"},"
    "{\"InstanceId\":\"ins-aaaa0002\",\"InstanceType\":\"KO1.LARGE8\"}],"
    "\"NetworkInterfaces\":["
    "{\"NetworkInterfaceId\":\"eni-aaaa0001\",\"VpcId\":\"vpc-aaaa0001\","
    "\"SubnetId\":\"subnet-aaaa0001\",\"InstanceId\":\"ins-aaaa0001\"},"
    "{\"NetworkInterfaceId\":\"eni-aaaa0002\",\"VpcId\":\"vpc-aaaa0001\","
    "\"SubnetId\":\"subnet-aaaa0001\"},"
    "{\"NetworkInterfaceId\":\"eni-aaaa0003\",\"VpcId\":\"vpc-aaaa0001\","
    "\"SubnetId\":\"subnet-aaaa0001\",\"InstanceId\":\"ins-aaaa0002\"}],"
    "\"Ccns\":[{\"CcnId\":\"ccn-aaaa0001\"}],"
    "\"NatGateways\":[{\"NatGatewayId\":\"nat-aaaa0001\",\"VpcId\":\"vpc-aaaa0001\","
    "\"NatProductVersion\":2},{\"NatGatewayId\":\"nat-aaaa0002\",\"VpcId\":\"vpc-aaaa0001\","
    "\"NatProductVersion\":1,\"HasDnatRule\":true}],"
    "\"DirectConnectGateways\":[{\"DirectConnectGatewayId\":\"dcg-aaaa0001\","
    "\"VpcId\":\"vpc-aaaa0001\"}],"
    "\"ClsTopics\":[{\"TopicId\":\"0f8e7d6c-1111-4222-8333-444455556666\"}],"
    "\"CkafkaInstances\":[{\"InstanceId\":\"ckafka-aaaa0001\",\"Topics\":[\"t1\"]},"
    "{\"InstanceId\":\"ckafka-aaaa0002\",\"Edition\":\"standard\",\"Topics\":[\"t2\"]}]}";

static char g_dir[4096];
static struct store *g_store;
static struct api *g_api;
static struct key_info g_key;
static struct account g_acct;
static struct resource *g_items; /* the parsed inventory, re-imported after deletes */
static size_t g_nitems;
static int g_verbose; /* FUZZ_API_VERBOSE=1: print every answer (to replay one input) */

/* ==== Set-up and tear-down ==== */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_api: %s: %s\n", what, detail);
    exit(1);
}

static void teardown(void)
{
    api_free(g_api);
    g_api = NULL;
    store_close(g_store);
    g_store = NULL;
    free(g_items);
    g_items = NULL;
    if (g_dir[0])
        fuzz_remove_dir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct serr se = {{0}};
    char err[256];
    struct api_config cfg;

    (void)argc;
    (void)argv;
    g_log_level = LOG_OFF;
    g_verbose = getenv("FUZZ_API_VERBOSE") && atoi(getenv("FUZZ_API_VERBOSE")) > 0;
    if (fuzz_scratch_dir(g_dir, sizeof g_dir, "flowlogd-fuzz-") != 0)
        die("mkdtemp", strerror(errno));
    /* OpenSSL registers its own atexit cleanup on first use; initialise it
     * first so teardown (which stops the store's writer thread, a user of
     * RAND_bytes) runs before that cleanup. Otherwise LeakSanitizer reports
     * OpenSSL's per-thread state at exit. */
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    atexit(teardown);
    if (!(g_store = store_open_sqlite(g_dir, &se)))
        die("store_open_sqlite", se.msg);
    if (store_account_create(g_store, 0, &g_acct, &se) != STORE_OK)
        die("account_create", se.msg);
    if (store_key_create(g_store, g_acct.uin, "", &g_key, &se) != STORE_OK)
        die("key_create", se.msg);
    if (inventory_parse(inventory, sizeof inventory - 1, NULL, g_acct.uin, &g_items, &g_nitems,
                        err, sizeof err) != 0)
        die("inventory_parse", err);
    if (store_inventory_import(g_store, g_acct.uin, g_items, g_nitems, &se) != STORE_OK)
        die("inventory_import", se.msg);
    memset(&cfg, 0, sizeof cfg);
    cfg.rate_limit = UINT32_MAX; /* unlimited: the limiter is not under test */
    if (!(g_api = api_new(g_store, &cfg)))
        die("api_new", "out of memory");
    ensure_fixtures();
    if (!flowlog_exists("fl-aaaa0001") || !flowlog_exists("fl-aaaa0002") ||
        !flowlog_exists("fl-aaaa0003"))
        die("fixtures", "a fixed flow log could not be created");
    return 0;
}

/* ==== Flow logs with known ids, and keeping the state ====
 *
 * Flow-log ids are random and the fuzzer cannot read answers, so it could
 * never name a flow log it created. These three have fixed ids (the seeds
 * and the dictionary use them) and are put back, with the inventory, after
 * any request that may have deleted or detached something, so Describe,
 * Modify, Enable, Disable and Delete keep finding rows. */

static void fixture(const char *id, const char *type, const char *res, const char *vpc,
                    const char *storage, const char *sid, const char *topic, uint32_t period)
{
    static const struct tag tags[] = {{"team", "web"}, {"env", ""}};
    struct flowlog fl;
    struct serr se = {{0}};

    memset(&fl, 0, sizeof fl);
    snprintf(fl.id, sizeof fl.id, "%s", id);
    snprintf(fl.uin, sizeof fl.uin, "%s", g_acct.uin);
    snprintf(fl.region, sizeof fl.region, "ap-guangzhou");
    snprintf(fl.vpc_id, sizeof fl.vpc_id, "%s", vpc);
    snprintf(fl.name, sizeof fl.name, "fixture-%s", id);
    fl.resource_kind = resource_type_find(type)->kind;
    snprintf(fl.resource_id, sizeof fl.resource_id, "%s", res);
    snprintf(fl.traffic_type, sizeof fl.traffic_type, "ALL");
    if (strcmp(storage, "cls") == 0)
        snprintf(fl.cloud_log_id, sizeof fl.cloud_log_id, "0f8e7d6c-1111-4222-8333-444455556666");
    snprintf(fl.cloud_log_region, sizeof fl.cloud_log_region, "ap-guangzhou");
    snprintf(fl.cloud_log_state, sizeof fl.cloud_log_state, "SUCCESS");
    snprintf(fl.storage_type, sizeof fl.storage_type, "%s", storage);
    snprintf(fl.storage_id, sizeof fl.storage_id, "%s", sid);
    snprintf(fl.storage_topic, sizeof fl.storage_topic, "%s", topic);
    fl.period = period;
    fl.enable = 1;
    fl.created_at = (int64_t)time(NULL);
    fl.tags = tags;
    fl.ntags = 2;
    /* STORE_EXISTS when the fuzzer gave the resource a flow log of its own */
    store_flowlog_create(g_store, &fl, 1000, &se);
}

static void count_cb(void *ud, const struct flowlog *fl)
{
    (void)fl;
    ++*(int *)ud;
}

static int flowlog_exists(const char *id)
{
    struct serr se = {{0}};
    int n = 0;
    return store_flowlog_get(g_store, g_acct.uin, "ap-guangzhou", id, count_cb, &n, &se) ==
               STORE_OK && n > 0;
}

/* After a successful Delete*, Attach or Detach: the inventory (an upsert,
 * so deleted resources come back and attachments are reset) and the fixed
 * flow logs. */
static void restore_state(void)
{
    struct serr se = {{0}};
    store_inventory_import(g_store, g_acct.uin, g_items, g_nitems, &se);
    ensure_fixtures();
}

static void ensure_fixtures(void)
{
    if (!flowlog_exists("fl-aaaa0001"))
        fixture("fl-aaaa0001", "NETWORKINTERFACE", "eni-aaaa0001", "vpc-aaaa0001", "cls", "", "",
                0);
    if (!flowlog_exists("fl-aaaa0002"))
        fixture("fl-aaaa0002", "CCN", "ccn-aaaa0001", "", "cls", "", "", 600);
    if (!flowlog_exists("fl-aaaa0003"))
        fixture("fl-aaaa0003", "SUBNET", "subnet-aaaa0001", "vpc-aaaa0001", "ckafka",
                "ckafka-aaaa0001", "t1", 0);
}

/* ==== Signing on the fuzzer's behalf ==== */

/* The Host header's first label, lower case (what api.c expects). */
static void host_label(const char *host, char *out, size_t outlen)
{
    size_t n = 0;
    for (; host && host[n] && host[n] != '.' && host[n] != ':' && n + 1 < outlen; n++)
        out[n] = (char)((host[n] >= 'A' && host[n] <= 'Z') ? host[n] - 'A' + 'a' : host[n]);
    out[n] = '\0';
}

static const char *find(const struct http_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

/* Percent-encodes s (a base64 signature: '+', '/' and '=' matter). */
static int put_encoded(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (buf_append(b, s, 1) != 0)
                return -1;
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (buf_append(b, e, 3) != 0)
                return -1;
        }
    }
    return 0;
}

/* v1: returns the new parameter string (malloc'd) in *out, or leaves the
 * original when it does not decode. */
static void sign_v1(const char *method, const char *host, const char *orig, size_t olen,
                    const char *ts, struct buf *out)
{
    struct buf pre, sts;
    struct form_param *fp;
    struct auth_param *ap;
    size_t np = 0;
    int bad = 0;
    char sig[64];

    buf_init(&pre, 0);
    buf_init(&sts, 0);
    if (buf_printf(&pre, "SecretId=%s&Timestamp=%s&Nonce=1&", g_key.secret_id, ts) != 0 ||
        buf_append(&pre, orig, olen) != 0)
        abort();
    fp = form_decode(pre.data, pre.len, &np, &bad);
    if (!fp) { /* malformed: send it unsigned, the API answers that */
        buf_append(out, orig, olen);
        buf_free(&pre);
        return;
    }
    ap = calloc(np + 1, sizeof *ap);
    if (!ap)
        abort();
    for (size_t i = 0; i < np; i++) {
        ap[i].name = fp[i].name;
        ap[i].value = fp[i].value;
    }
    FUZZ_CHECK(v1_string_to_sign(method, host ? host : "", ap, np, &sts) == 0);
    {
        const char *m = form_get(fp, np, "SignatureMethod");
        v1_signature(m ? m : "HmacSHA1", g_key.secret_key, sts.data, sts.len, sig);
    }
    if (buf_puts(out, "Signature=") != 0 || put_encoded(out, sig) != 0 ||
        buf_append(out, "&", 1) != 0 || buf_append(out, pre.data, pre.len) != 0)
        abort();
    free(ap);
    form_free(fp, np);
    buf_free(&sts);
    buf_free(&pre);
}

/* ==== Checking the answer ==== */

/* True if the key's SecretKey occurs in s[0..n). Deliberately free of
 * coverage instrumentation and of intercepted functions (strstr, memmem,
 * memcmp): libFuzzer feeds the operands of those to its mutator, so a
 * plain strstr taught the fuzzer the key within a minute, after which it
 * sent the key as X-TC-Version and found it echoed back ("the API version
 * `...` does not exist"): the client's own bytes, not a leak. */
__attribute__((no_sanitize("coverage"))) static int has_secret(const char *s, size_t n)
{
    const char *k = g_key.secret_key;
    size_t kn = 0, i, j;

    while (k[kn])
        kn++;
    for (i = 0; kn && i + kn <= n; i++) {
        for (j = 0; j < kn && s[i + j] == k[j]; j++)
            ;
        if (j == kn)
            return 1;
    }
    return 0;
}

static void check_reply(const struct http_reply *out, const uint8_t *in, size_t in_len)
{
    json_t *root, *resp, *rid, *err;
    json_error_t je;

    FUZZ_CHECK(out->status == 200 || out->status == 404 || out->status == 405);
    FUZZ_CHECK(out->content_type != NULL);
    FUZZ_CHECK(out->body != NULL);
    FUZZ_CHECK(strlen(out->body) == out->body_len);
    /* the secret never leaves the server, unless the client sent it itself */
    FUZZ_CHECK(!has_secret(out->body, out->body_len) || has_secret((const char *)in, in_len));
    if (out->status != 200)
        return;
    root = json_loadb(out->body, out->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        fprintf(stderr, "reply is not JSON (%s): %.300s\n", je.text, out->body);
    FUZZ_CHECK(root != NULL);
    resp = json_object_get(root, "Response");
    FUZZ_CHECK(json_is_object(resp));
    rid = json_object_get(resp, "RequestId");
    FUZZ_CHECK(json_is_string(rid) && is_uuid(json_string_value(rid)));
    err = json_object_get(resp, "Error");
    if (err) {
        json_t *code = json_object_get(err, "Code"), *msg = json_object_get(err, "Message");
        FUZZ_CHECK(json_is_object(err));
        FUZZ_CHECK(json_is_string(code) && json_string_length(code) > 0);
        FUZZ_CHECK(json_is_string(msg));
    }
    json_decref(root);
}

/* ==== The target ==== */

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct fuzz_parts p;
    struct http_header hs[MAX_HEADERS + 2];
    struct http_request req;
    struct http_reply out;
    struct buf auth, params;
    char ts[24];
    size_t nh = 2, last;
    int mode;

    if (fuzz_split(d, n, MAX_PARTS, &p) != 0)
        return 0;
    mode = p.n > 0 && p.len[0] > 0 ? (unsigned char)p.s[0][0] % 3 : 0;
    memset(&req, 0, sizeof req);
    req.method = fuzz_part(&p, 1, "POST");
    req.path = fuzz_part(&p, 2, "/");
    req.query = fuzz_part(&p, 3, "");
    req.body = "";
    req.client_ip = "127.0.0.1";
    last = p.n;
    if (p.n >= 5) {
        last = p.n - 1;
        req.body = p.s[last];
        req.body_len = p.len[last];
    }
    for (size_t i = 4; i < last && nh < MAX_HEADERS + 2; i += 2) {
        hs[nh].name = p.s[i];
        hs[nh].value = i + 1 < last ? p.s[i + 1] : "";
        nh++;
    }
    /* hs[0] and hs[1] are the harness's headers (modes 1); else skipped */
    req.headers = hs + 2;
    req.nheaders = nh - 2;

    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    buf_init(&auth, 0);
    buf_init(&params, 0);
    if (mode == 1) {
        struct tc3_request tr;
        char service[64];
        host_label(find(hs + 2, nh - 2, "Host"), service, sizeof service);
        tr.method = req.method;
        tr.query = req.query;
        tr.headers = (const struct auth_header *)(hs + 2);
        tr.nheaders = nh - 2;
        tr.body = req.body;
        tr.body_len = req.body_len;
        tr.host_keep_port = 0;
        if (tc3_authorization(&tr, g_key.secret_id, g_key.secret_key, service, ts,
                              "content-type;host", &auth) == 0) {
            hs[0] = (struct http_header){"X-TC-Timestamp", ts};
            hs[1] = (struct http_header){"Authorization", auth.data};
            req.headers = hs;
            req.nheaders = nh;
        }
    } else if (mode == 2) {
        const char *host = find(hs + 2, nh - 2, "Host");
        if (strcmp(req.method, "GET") == 0) {
            sign_v1(req.method, host, req.query, strlen(req.query), ts, &params);
            req.query = params.data ? params.data : "";
        } else {
            sign_v1(req.method, host, req.body, req.body_len, ts, &params);
            req.body = params.data ? params.data : "";
            req.body_len = params.len;
        }
    }

    memset(&out, 0, sizeof out);
    api_handle(g_api, &req, NULL, &out);
    if (g_verbose)
        fprintf(stderr, "mode %d %s -> %d %.*s\n", mode, req.method, out.status,
                (int)(out.body_len < 600 ? out.body_len : 600), out.body ? out.body : "");
    check_reply(&out, d, n);
    if (mode != 0 && out.status == 200 && !strstr(out.body, "\"Error\"") &&
        (memmem(d, n, "Delete", 6) || memmem(d, n, "tach", 4)))
        restore_state();
    free(out.body);
    buf_free(&auth);
    buf_free(&params);
    fuzz_parts_free(&p);
    return 0;
}
