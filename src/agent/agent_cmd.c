/* agent_cmd.c: `flowlogd agent`: the data plane's agent of one host,
 * asking the control plane (POST /agent/v1/assignments on the server's
 * public listener) over HTTP(S), signed with TC3-HMAC-SHA256 by its agent
 * key (`flowlogd agent-key create`; credential scope service
 * "flowlogd-agent"). agent.c does the rest. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/metrics_listen.h"
#include "sink/sink.h"
#include "auth/tc3_post.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/opts.h"

/* the control plane's path and credential scope service (control/control.h:
 * the agent does not link the server's layers) */
#define AGENT_CONTROL_PATH "/agent/v1/assignments"
#define AGENT_CONTROL_SERVICE "flowlogd-agent"

static const char synopsis[] =
    "usage: flowlogd agent --control URL --host NAME --records DIR --key-file FILE\n"
    "                      [--capture-window S] [--table FLOWS] [--poll-ms MS] [--windows N]\n"
    "                      [--metrics-listen HOST:PORT [--metrics-token-file FILE]]\n"
    "Captures, in the kernel, the traffic of the devices the control plane (the flowlogd\n"
    "server at URL, e.g. http://10.0.0.1:8080) binds to host NAME for enabled flow logs,\n"
    "and writes each flow log's records per capture window under DIR (one file per flow\n"
    "log and window; `flowlogd records --data DIR FLOWLOG-ID` prints them). FILE holds the\n"
    "agent key as `flowlogd agent-key create` printed it ({\"SecretId\",\"SecretKey\"}).\n"
    "With --cls-endpoint the records of the flow logs stored in CLS are also uploaded to\n"
    "their topics there, from the files, at least once (a cursor per flow log under\n"
    "DIR/.agent/cursors: a failed or interrupted delivery resumes).\n"
    "The control plane is asked every --poll-ms; while it does not answer the agent keeps\n"
    "capturing with what it was last told. Exits non-zero at once, saying why, where the\n"
    "tc programs cannot be loaded (no CAP_BPF, no BTF).\n";

static const struct opt agent_opts[] = {
    {"control", OPT_STR, "URL", NULL, 0, 0, 1, "the control plane (the server's public URL)"},
    {"host", OPT_STR, "NAME", NULL, 0, 0, 0, "this host's name (default: gethostname)"},
    {"records", OPT_STR, "DIR", NULL, 0, 0, 1, "where the records are written"},
    {"key-file", OPT_STR, "FILE", NULL, 0, 0, 1, "the agent key (JSON: SecretId, SecretKey)"},
    {"capture-window", OPT_UINT, "S", "300", 1, 600, 0, "capture window in seconds"},
    {"table", OPT_UINT, "FLOWS", "65536", 1, 1u << 24, 0, "flows per CPU and window"},
    {"poll-ms", OPT_UINT, "MS", "1000", 100, 60000, 0, "how often the control plane is asked"},
    {"windows", OPT_UINT, "N", NULL, 1, 1000000, 0, "stop after N windows"},
    {"cacert", OPT_STR, "FILE", NULL, 0, 0, 0, "for an https:// control plane: the CA to trust"},
    {"cls-endpoint", OPT_STR, "URL", NULL, 0, 0, 0,
     "where the records of CLS flow logs are uploaded (UploadLog); default: the control "
     "plane's own cls service, signed with the agent key; another endpoint is signed with "
     "TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY when they are set; \"none\": files only"},
    {"kafka-spool", OPT_STR, "DIR", NULL, 0, 0, 0,
     "the Kafka sink's spool for CKafka flow logs (default: RECORDS/.kafka-spool)"},
    {"log-level", OPT_CHOICE, "debug,info,warn,error", "info", 0, 0, 0, "log level"},
    {"metrics-listen", OPT_STR, "HOST:PORT", NULL, 0, 0, 0,
     "serve Prometheus's GET /metrics (the data plane's and sinks' counters) here"},
    {"metrics-token-file", OPT_STR, "FILE", NULL, 0, 0, 0,
     "with --metrics-listen: answer only `Authorization: Bearer <the file's first line>`"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

struct remote {
    char url[1024], hostport[256];
    char sid[64], skey[64];
    const char *host, *cacert;
    CURL *curl;
};

/* POSTs {"Host"} signed with the agent key; the Response object. */
static json_t *remote_fetch(void *ud, char *err, size_t errlen)
{
    struct remote *r = ud;
    struct buf resp;
    char *body = NULL;
    json_t *root = NULL, *out = NULL, *e;
    json_error_t je;
    long status = 0;

    buf_init(&resp, 64u << 20);
    json_t *in = json_pack("{s:s}", "Host", r->host);
    if (!in || !(body = json_dumps(in, JSON_COMPACT))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    struct tc3_post post = {r->url, r->hostport, AGENT_CONTROL_SERVICE, "application/json",
                            body, strlen(body), r->sid, r->skey, NULL, 0, 10000L, 3000L,
                            r->cacert};
    if (tc3_post(r->curl, &post, &resp, &status, err, errlen) != TC3_POST_OK)
        goto done;
    root = json_loadb(resp.data ? resp.data : "", resp.len, 0, &je);
    json_t *rsp = json_object_get(root, "Response");
    if (status != 200 || !json_is_object(rsp)) {
        snprintf(err, errlen, "%s: HTTP %ld, not an answer", r->url, status);
        goto done;
    }
    if ((e = json_object_get(rsp, "Error"))) {
        snprintf(err, errlen, "%s: %s", json_string_value(json_object_get(e, "Code")) ?: "?",
                 json_string_value(json_object_get(e, "Message")) ?: "");
        goto done;
    }
    out = json_incref(rsp);
done:
    json_decref(root);
    json_decref(in);
    free(body);
    buf_free(&resp);
    return out;
}

static atomic_int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

/* --metrics-listen (and its token file): started, or NULL (said why). */
static struct metrics_listener *metrics_start(const struct opts *o)
{
    char err[512], token[512] = "";
    const char *file = opts_get(o, "metrics-token-file");
    if (file) {
        FILE *f = fopen(file, "r");
        if (!f || !fgets(token, sizeof token, f)) {
            fprintf(stderr, "agent: --metrics-token-file %s: cannot read a token\n", file);
            if (f)
                fclose(f);
            return NULL;
        }
        fclose(f);
        token[strcspn(token, "\r\n")] = '\0';
        if (!token[0]) {
            fprintf(stderr, "agent: --metrics-token-file %s: the first line is empty\n", file);
            return NULL;
        }
    }
    struct metrics_listener *ml =
        metrics_listen_start(opts_get(o, "metrics-listen"), file ? token : NULL, err, sizeof err);
    memset(token, 0, sizeof token);
    if (!ml) {
        fprintf(stderr, "agent: --metrics-listen: %s\n", err);
        return NULL;
    }
    printf("metrics listening on port %u\n", metrics_listen_port(ml));
    fflush(stdout);
    return ml;
}

int agent_main(int argc, char **argv)
{
    struct opts o;
    struct remote r;
    char hostname[256], err[512];
    json_error_t je;
    int rc = 1;

    if (opts_parse(&o, argc, argv, agent_opts, synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos) {
        opts_usage(stderr, agent_opts, synopsis);
        return 2;
    }
    const char *ll = opts_get(&o, "log-level");
    if (ll && strcmp(ll, "debug") == 0)
        g_log_level = LOG_DEBUG;
    else if (ll && strcmp(ll, "warn") == 0)
        g_log_level = LOG_WARN;
    else if (ll && strcmp(ll, "error") == 0)
        g_log_level = LOG_ERROR;
    memset(&r, 0, sizeof r);
    const char *control = opts_get(&o, "control");
    const char *p = strstr(control, "://");
    size_t n = strcspn(p ? p + 3 : control, "/?");
    if (!p || (strncmp(control, "http://", 7) != 0 && strncmp(control, "https://", 8) != 0) ||
        n == 0 || n >= sizeof r.hostport) {
        fprintf(stderr, "agent: --control %s: an http:// or https:// URL\n", control);
        return 2;
    }
    memcpy(r.hostport, p + 3, n);
    snprintf(r.url, sizeof r.url, "%.*s%s", (int)(p + 3 + n - control), control,
             AGENT_CONTROL_PATH);
    json_t *key = json_load_file(opts_get(&o, "key-file"), 0, &je);
    const char *sid = json_string_value(json_object_get(key, "SecretId"));
    const char *skey = json_string_value(json_object_get(key, "SecretKey"));
    if (!sid || !skey || strlen(sid) >= sizeof r.sid || strlen(skey) >= sizeof r.skey) {
        fprintf(stderr, "agent: --key-file %s: not an agent key ({\"SecretId\",\"SecretKey\"}): %s\n",
                opts_get(&o, "key-file"), key ? "members missing" : je.text);
        json_decref(key);
        return 2;
    }
    snprintf(r.sid, sizeof r.sid, "%s", sid);
    snprintf(r.skey, sizeof r.skey, "%s", skey);
    json_decref(key);
    if (opts_get(&o, "host")) {
        snprintf(hostname, sizeof hostname, "%s", opts_get(&o, "host"));
    } else if (gethostname(hostname, sizeof hostname) != 0) {
        fprintf(stderr, "agent: no --host and no host name\n");
        return 2;
    }
    hostname[sizeof hostname - 1] = '\0';
    r.host = hostname;
    r.cacert = opts_get(&o, "cacert");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(r.curl = curl_easy_init())) {
        fprintf(stderr, "agent: libcurl cannot start\n");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* the CLS sink: each CLS flow log's windows to its topic, by default
     * on the control plane's own cls service with the agent key; a key in
     * the environment signs for another CLS-compatible endpoint */
    struct sink *cls = NULL;
    const char *cls_ep = opts_get(&o, "cls-endpoint");
    char base[1300];
    snprintf(base, sizeof base, "%.*s", (int)(p + 3 + n - control), control);
    if (!cls_ep || strcmp(cls_ep, "none") != 0) {
        const char *csid = getenv("TENCENTCLOUD_SECRET_ID");
        const char *cskey = getenv("TENCENTCLOUD_SECRET_KEY");
        int env_key = cls_ep && csid && *csid && cskey && *cskey;
        struct sink_cls_config cc = {.endpoint = cls_ep ? cls_ep : base,
                                     .secret_id = env_key ? csid : r.sid,
                                     .secret_key = env_key ? cskey : r.skey,
                                     .token = env_key ? getenv("TENCENTCLOUD_SESSION_TOKEN") : NULL,
                                     .region = "ap-guangzhou", .agent_id = hostname,
                                     .cacert = r.cacert, .timeout_s = 60, .retries = 5};
        if (!(cls = sink_cls_open(&cc, err, sizeof err))) {
            fprintf(stderr, "agent: --cls-endpoint: %s\n", err);
            curl_easy_cleanup(r.curl);
            curl_global_cleanup();
            return 2;
        }
    }
    struct agent_cfg cfg = {
        .host = hostname,
        .records = opts_get(&o, "records"),
        .window_s = (uint32_t)opts_uint(&o, "capture-window"),
        .table_flows = (uint32_t)opts_uint(&o, "table"),
        .poll_ms = (uint32_t)opts_uint(&o, "poll-ms"),
        .windows = opts_uint(&o, "windows"),
        .fetch = remote_fetch,
        .fetch_ud = &r,
        .stop = &g_stop,
    };
    struct metrics_listener *ml = NULL;
    if (opts_get(&o, "metrics-listen") && !(ml = metrics_start(&o))) {
        sink_close(cls);
        curl_easy_cleanup(r.curl);
        curl_global_cleanup();
        return 1;
    }
    struct sink *extra[2];
    size_t nextra = 0;
    if (cls)
        extra[nextra++] = cls;
    /* CKafka flow logs: the Kafka sink beside the files sink */
    char spool[4200];
    if (opts_get(&o, "kafka-spool"))
        snprintf(spool, sizeof spool, "%s", opts_get(&o, "kafka-spool"));
    else
        snprintf(spool, sizeof spool, "%s/.kafka-spool", cfg.records);
    struct sink_kafka_opts ko = {.spool_dir = spool, .linger_ms = -1};
    struct sink *kafka = NULL;
    /* only where the agent can run: otherwise it writes nothing (agent_run
     * says why) */
    if (agent_probe(cfg.window_s, err, sizeof err) == 0) {
        if (!(kafka = sink_kafka_open(&ko, err, sizeof err)))
            fprintf(stderr, "agent: no Kafka delivery (CKafka flow logs keep their files): %s\n",
                    err);
        else
            extra[nextra++] = kafka;
    }
    cfg.extra_sinks = nextra ? extra : NULL;
    cfg.nextra_sinks = nextra;
    if (agent_run(&cfg, err, sizeof err) != 0)
        fprintf(stderr, "agent: %s\n", err);
    else
        rc = 0;
    metrics_listen_stop(ml);
    sink_close(cls); /* after agent_run stopped its delivery */
    sink_close(kafka);
    curl_easy_cleanup(r.curl);
    curl_global_cleanup();
    return rc;
}
