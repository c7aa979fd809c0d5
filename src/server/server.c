/* server.c: `flowlogd serve`, the composition root: options, the store,
 * the API front, the HTTP server, signals and an orderly shutdown. */
#include "server/server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin/admin.h"
#include "admin/state.h"
#include "admin/health.h"
#include "api/api.h"
#include "ratelimit/shared.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/opts.h"
#include "console/console.h"
#include "control/control.h"
#include "validate/inventory.h"
#include "agent/agent.h"
#include "agent/dp_metrics.h"
#include "sink/sink.h"
#include "base/util.h"
#include "http/http.h"
#include "server/notify.h"
#include "server/retention.h"
#include "sink/sink.h"
#include "store/sqlite/sqlite.h"
#include "store/store.h"
#include "store/store_util.h"
#include "tls/cert.h"

static const char serve_synopsis[] =
    "usage: flowlogd serve --listen HOST:PORT (--data DIR | --store URL) [options]\n"
    "\n"
    "Serves the Tencent Cloud API 3.0 (vpc 2017-03-12 flow logs) over HTTP/1.1.\n"
    "Prints \"listening on HOST:PORT\" when ready. SIGTERM or SIGINT stops it.\n"
    "GET /healthz and /readyz answer without authentication (200, or 503 while not ready).\n"
    "With --admin-token-file, the admin API listens on --admin-listen (never on --listen).\n"
    "The web console is at /console/ (it signs its calls in the browser).\n"
    "Under systemd (Type=notify) it says READY=1 and STOPPING=1 and feeds WatchdogSec=.\n"
    "Options come from the command line, then FLOWLOGD_<OPTION> variables (FLOWLOGD_RATE_LIMIT),\n"
    "then the [serve] section of --config FILE, then the defaults. SIGHUP reads them again and\n"
    "applies log-level, log-format, rate-limit, cors-origins, the admin token and the TLS\n"
    "certificate and key (a bad file changes nothing).\n";

/* The options of `serve`: the one place of their names, defaults, ranges
 * and help. A new option is a row here, read below with opts_str/opts_uint. */
static const struct opt serve_opts[] = {
    {"listen", OPT_STR, "HOST:PORT", "127.0.0.1:8080", 0, 0, 0,
     "address to listen on (port 0 = any); not by default when --tls-listen is given"},
    {"tls-listen", OPT_STR, "HOST:PORT", NULL, 0, 0, 0,
     "serve the same API over HTTPS there too (TLS 1.2/1.3; with --tls-cert, --tls-key)"},
    {"tls-cert", OPT_STR, "FILE", NULL, 0, 0, 0,
     "its PEM certificate (then any chain), e.g. DIR/tls/server.pem from `flowlogd cert`"},
    {"tls-key", OPT_STR, "FILE", NULL, 0, 0, 0, "its PEM private key, unencrypted"},
    OPT_DATA_OR_STORE,
    {"rate-limit", OPT_UINT, "N", OPT_NUM(API_DEFAULT_RATE_LIMIT), 0, UINT32_MAX, 0,
     "requests/s per (account, action), burst N"},
    {"rate-limit-redis", OPT_STR, "URL", NULL, 0, 0, 0,
     "hold the rate limit across nodes in this Redis (redis://[:PASSWORD@]HOST[:PORT][/DB] or "
     "unix:PATH); while it is down each node applies its own buckets"},
    {"io-threads", OPT_UINT, "N", NULL, 0, 256, 0,
     "HTTP poll threads (default: number of cores)"},
    {"workers", OPT_UINT, "N", OPT_NUM(HTTP_DEFAULT_WORKERS), 0, 4096, 0,
     "request handler threads"},
    {"max-connections", OPT_UINT, "N", OPT_NUM(HTTP_DEFAULT_MAX_CONNECTIONS), 0, 1000000, 0,
     "open connections at most"},
    {"idle-timeout", OPT_UINT, "S", "60", 0, 86400, 0,
     "close a connection idle this long, in seconds; 0 = never"},
    {"wal-limit-mb", OPT_UINT, "N", "64", 0, 1u << 20, 0,
     "the SQLite WAL's ceiling in MB, 0 = none (as FLOWLOGD_SQLITE_WAL_MB); emptied when idle"},
    {"sqlite-engine", OPT_CHOICE, "tuned,plain", NULL, 0, 0, 0,
     "the SQLite store's engine (default tuned, or $FLOWLOGD_SQLITE_ENGINE); plain: SQLite's "
     "own VFS, reads and checkpoints"},
    {"log-level", OPT_CHOICE, "debug,info,warn,error", "info", 0, 0, 0, "log level"},
    {"log-format", OPT_CHOICE, "text,json", "text", 0, 0, 0,
     "log lines as text or as one JSON object each"},
    {"quiet", OPT_FLAG, NULL, NULL, 0, 0, 0, "no per-request log lines"},
    {"cors-origins", OPT_STR, "LIST", NULL, 0, 0, 0,
     "browser origins allowed to call the API (comma-separated, * = any); none by default"},
    {"admin-listen", OPT_STR, "HOST:PORT", "127.0.0.1:8081", 0, 0, 0,
     "the admin API's address (reset, accounts, keys, inventory, seed); started only "
     "with --admin-token-file"},
    {"admin-token-file", OPT_STR, "FILE", NULL, 0, 0, 0,
     "the admin API's bearer token is this file's first line; without it, no admin listener"},
    {"capture", OPT_FLAG, NULL, NULL, 0, 0, 0,
     "run the data plane's agent inside the server: capture the devices bound to this host "
     "for enabled flow logs (root: CAP_BPF, CAP_NET_ADMIN)"},
    {"capture-window", OPT_UINT, "S", "300", 1, 600, 0, "the capture window in seconds"},
    {"capture-host", OPT_STR, "NAME", NULL, 0, 0, 0,
     "with --capture: the host name the bindings name (default: this host's name)"},
    {"capture-records", OPT_STR, "DIR", NULL, 0, 0, 0,
     "with --capture: where the records go (default: the data directory's records/)"},
    {"init", OPT_STR, "DIR", NULL, 0, 0, 0,
     "on an empty store, apply DIR's *.account.json and *.inventory.json before ready"},
    {"config", OPT_STR, "FILE", NULL, 0, 0, 0,
     "read options from the [serve] section of this INI file"},
    {"check-config", OPT_FLAG, NULL, NULL, 0, 0, 0,
     "check the options and the configuration file, say what is wrong, and exit"},
    {"print-config", OPT_CHOICE, "sample,man", NULL, 0, 0, 0,
     "print the options as a sample configuration file or a man page list, and exit"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

/* Options never read from the environment or the file. */
static const char *const cli_only[] = {"config", "check-config", "print-config", NULL};

/* The running server's state the routes and the reload share. */
struct srv {
    struct api *api;
    struct store *store;
    struct http_server *http, *https;
    const char *data_dir; /* the SQLite store's, or NULL */
    uint64_t started_us;
    pthread_rwlock_t cors_mu;
    char *cors; /* ",a,b," or NULL (none); under cors_mu */
    const struct opts *started; /* the options the server started with */
    struct admin *admin;        /* the admin API, or NULL */
};

static int cors_allowed(struct srv *sv, const char *origin)
{
    char want[512];
    int ok;
    if (!origin || !*origin || strlen(origin) > sizeof want - 3 || strchr(origin, ','))
        return 0;
    snprintf(want, sizeof want, ",%s,", origin);
    pthread_rwlock_rdlock(&sv->cors_mu);
    ok = sv->cors && (strstr(sv->cors, ",*,") || strstr(sv->cors, want));
    pthread_rwlock_unlock(&sv->cors_mu);
    return ok;
}

static void cors_set(struct srv *sv, const char *list)
{
    char *n = NULL, *old;
    if (list && *list) {
        size_t len = strlen(list), j = 0;
        if ((n = malloc(len + 3))) {
            n[j++] = ',';
            for (size_t i = 0; i < len; i++)
                if (list[i] != ' ')
                    n[j++] = list[i];
            n[j++] = ',';
            n[j] = '\0';
        }
    }
    pthread_rwlock_wrlock(&sv->cors_mu);
    old = sv->cors;
    sv->cors = n;
    pthread_rwlock_unlock(&sv->cors_mu);
    free(old);
}

/* CORS for an allowed Origin: the preflight (OPTIONS) answered here, and
 * the origin named on every other answer. 1 if the request was answered. */
static int cors(struct srv *sv, const struct http_request *req, struct http_reply *out,
                int answered)
{
    const char *origin = http_header(req, "Origin");
    int preflight = !answered && strcmp(req->method, "OPTIONS") == 0 && strcmp(req->path, "/") == 0;
    if ((!answered && !preflight) || !cors_allowed(sv, origin))
        return 0;
    if (preflight) {
        out->status = 204;
        out->content_type = "";
        out->body = NULL;
        out->body_len = 0;
        out->extra[out->nextra++] = (struct http_header){"Access-Control-Allow-Methods",
                                                          "POST, GET, OPTIONS"};
        out->extra[out->nextra++] = (struct http_header){
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, X-TC-Action, X-TC-Version, X-TC-Timestamp, "
            "X-TC-Region, X-TC-Token, X-TC-Language, X-TC-RequestClient, X-TC-Content-SHA256"};
        out->extra[out->nextra++] = (struct http_header){"Access-Control-Max-Age", "600"};
    }
    out->extra[out->nextra++] = (struct http_header){"Access-Control-Allow-Origin", origin};
    out->extra[out->nextra++] = (struct http_header){"Vary", "Origin"};
    return preflight;
}

/* Reads and checks --tls-cert and --tls-key into *cert and *key (the key is
 * freed with tls_free_secret). Returns 0, or -1 after logging why. */
static int load_tls(const char *cert_path, const char *key_path, char **cert, char **key)
{
    char err[512], warn[128];

    *cert = *key = NULL;
    if (!(*cert = tls_read_file(cert_path, 1 << 20, err, sizeof err)) ||
        !(*key = tls_read_file(key_path, 1 << 20, err, sizeof err))) {
        log_error("TLS: %s", err);
        goto fail;
    }
    switch (tls_check_pair(*cert, *key, time(NULL), err, sizeof err, warn, sizeof warn)) {
    case 0:
        break;
    case TLS_BAD_CERT:
        log_error("TLS: --tls-cert %s: %s", cert_path, err);
        goto fail;
    case TLS_BAD_KEY:
        log_error("TLS: --tls-key %s: %s", key_path, err);
        goto fail;
    default:
        log_error("TLS: --tls-key %s: %s --tls-cert %s", key_path, err, cert_path);
        goto fail;
    }
    if (warn[0])
        log_warn("TLS: --tls-cert %s: %s; clients will refuse it", cert_path, warn);
    return 0;
fail:
    free(*cert);
    tls_free_secret(*key);
    *cert = *key = NULL;
    return -1;
}

/* "HOST:PORT", "[v6]:PORT" or "PORT". */
static int parse_listen(const char *s, char *host, size_t hostlen, unsigned short *port)
{
    const char *colon = strrchr(s, ':');
    uint64_t p;
    size_t hl;
    if (!colon) {
        snprintf(host, hostlen, "127.0.0.1");
        colon = s - 1;
        hl = 0;
    } else {
        const char *h = s;
        hl = (size_t)(colon - s);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
            h++, hl -= 2;
        if (hl == 0 || hl >= hostlen)
            return -1;
        memcpy(host, h, hl);
        host[hl] = '\0';
    }
    if (parse_u64(colon + 1, strlen(colon + 1), &p) != 0 || p > 65535)
        return -1;
    *port = (unsigned short)p;
    return 0;
}

/* The public listener's routes: a CORS preflight, the health paths, the
 * console's files, the data plane's control plane (agents, on a worker: it
 * reads the store), else the API; an allowed origin is named on every
 * answer. */
static void route(void *ud, const struct http_request *req, struct http_ctx *ctx,
                  struct http_reply *out)
{
    struct srv *sv = ud;
    out->nextra = 0;
    if (cors(sv, req, out, 0))
        return;
    if (control_path(req))
        control_reply(sv->store, req, (int64_t)time(NULL), out);
    else if (!health_reply(req, out) && !console_reply(req, out))
        api_http_handler(sv->api, req, ctx, out);
    (void)cors(sv, req, out, 1);
}

static int route_quick(void *ud, const struct http_request *req, const void **note)
{
    struct srv *sv = ud;
    if (control_path(req))
        return strcmp(req->method, "OPTIONS") == 0;
    return health_path(req) || console_path(req) || strcmp(req->method, "OPTIONS") == 0 ||
           api_http_quick(sv->api, req, note);
}

static int route_bulk(void *ud, const struct http_request *req, const void **note)
{
    struct srv *sv = ud;
    return api_http_bulk(sv->api, req, note);
}

/* The bulk lane (http.h): the resource Describe* and GetResources on their
 * own worker at nice 19. FLOWLOGD_BULK_PRIORITY=idle (SCHED_IDLE), normal
 * (the pool without a lower priority) or off (one pool for every worker's
 * request) are for measuring what the lane buys (docs/PERFORMANCE.md). */
static void bulk_config(struct http_config *h, struct srv *sv)
{
    const char *p = getenv("FLOWLOGD_BULK_PRIORITY");
    (void)sv;
    if (p && strcmp(p, "off") == 0)
        return;
    h->bulk = route_bulk;
    h->bulk_priority = !p || !*p || strcmp(p, "low") == 0 ? HTTP_BULK_LOW
                       : strcmp(p, "idle") == 0           ? HTTP_BULK_IDLE
                       : strcmp(p, "normal") == 0         ? HTTP_BULK_NORMAL
                                                          : HTTP_BULK_LOW;
}

static int put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(struct buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= sizeof line ? -1 : buf_append(b, line, (size_t)n);
}

/* The process's metrics in Prometheus's text format (served by the admin
 * listener at /metrics): build info, uptime, open connections, the API's
 * answers and latency (api_metrics), the store's commits and WAL. */
static int write_metrics(struct srv *sv, struct buf *b)
{
    int bad = 0;
    bad |= put(b, "# HELP flowlogd_build_info The running build.\n"
                  "# TYPE flowlogd_build_info gauge\n"
                  "flowlogd_build_info{version=\"%s\"} 1\n",
               FLOWLOGD_VERSION);
    bad |= put(b, "# HELP flowlogd_uptime_seconds Seconds since the server started.\n"
                  "# TYPE flowlogd_uptime_seconds gauge\n"
                  "flowlogd_uptime_seconds %.3f\n",
               (double)(mono_us() - sv->started_us) / 1e6);
    bad |= put(b, "# HELP flowlogd_open_connections Connections open now, by listener.\n"
                  "# TYPE flowlogd_open_connections gauge\n");
    if (sv->http)
        bad |= put(b, "flowlogd_open_connections{listener=\"http\"} %u\n",
                   http_open_connections(sv->http));
    if (sv->https)
        bad |= put(b, "flowlogd_open_connections{listener=\"https\"} %u\n",
                   http_open_connections(sv->https));
    bad |= api_metrics(sv->api, b);
    {
        /* the store's writer, either backend */
        struct store_writer_stats ws = {0};
        char labels[40];
        store_writer_stats(sv->store, &ws);
        snprintf(labels, sizeof labels, "store=\"%s\"", sv->store->name);
        bad |= put(b, "# HELP flowlogd_store_queue_depth Writes waiting for the store's writer now.\n"
                      "# TYPE flowlogd_store_queue_depth gauge\n"
                      "flowlogd_store_queue_depth{%s} %llu\n",
                   labels, (unsigned long long)ws.queue);
        if (ws.commit) {
            bad |= put(b, "# HELP flowlogd_store_commit_seconds The writer's transactions (group "
                          "commits), from BEGIN to COMMIT returned durable.\n"
                          "# TYPE flowlogd_store_commit_seconds histogram\n");
            bad |= store_hist_write(ws.commit, "flowlogd_store_commit_seconds", labels, b);
        }
        if (ws.fsync) {
            bad |= put(b, "# HELP flowlogd_store_fsync_seconds The fsyncs of the commits' WAL "
                          "writes (SQLite's tuned engine; process-wide).\n"
                          "# TYPE flowlogd_store_fsync_seconds histogram\n");
            bad |= store_hist_write(ws.fsync, "flowlogd_store_fsync_seconds", labels, b);
        }
    }
    if (sv->data_dir) {
        struct store_sqlite_info k;
        char wal[4200];
        struct stat sb;
        store_sqlite_info(sv->store, &k);
        bad |= put(b, "# HELP flowlogd_store_commits_total Write transactions the store's writer "
                      "committed (group commits).\n"
                      "# TYPE flowlogd_store_commits_total counter\n"
                      "flowlogd_store_commits_total %llu\n"
                      "# HELP flowlogd_store_jobs_total Writes those commits carried (jobs / "
                      "commits is the mean batch).\n"
                      "# TYPE flowlogd_store_jobs_total counter\n"
                      "flowlogd_store_jobs_total %llu\n",
                   (unsigned long long)k.commits, (unsigned long long)k.jobs);
        bad |= put(b, "# HELP flowlogd_store_checkpoints_total The tuned engine's checkpoint "
                      "work, by kind.\n"
                      "# TYPE flowlogd_store_checkpoints_total counter\n"
                      "flowlogd_store_checkpoints_total{kind=\"pass\"} %llu\n"
                      "flowlogd_store_checkpoints_total{kind=\"restart\"} %llu\n"
                      "flowlogd_store_checkpoints_total{kind=\"valve\"} %llu\n"
                      "flowlogd_store_checkpoints_total{kind=\"failed\"} %llu\n",
                   (unsigned long long)k.ckpt_runs, (unsigned long long)k.ckpt_restarts,
                   (unsigned long long)k.ckpt_valves, (unsigned long long)k.ckpt_failed);
        snprintf(wal, sizeof wal, "%s/flowlogd.db-wal", sv->data_dir);
        bad |= put(b, "# HELP flowlogd_store_wal_bytes The SQLite WAL file's size now.\n"
                      "# TYPE flowlogd_store_wal_bytes gauge\n"
                      "flowlogd_store_wal_bytes %lld\n"
                      "# HELP flowlogd_store_wal_ceiling_bytes The WAL's ceiling (0: none).\n"
                      "# TYPE flowlogd_store_wal_ceiling_bytes gauge\n"
                      "flowlogd_store_wal_ceiling_bytes %lld\n",
                   stat(wal, &sb) == 0 ? (long long)sb.st_size : 0LL, k.wal_ceiling);
    }
    /* the data plane: with --capture (from the start), or once an agent ran here */
    if ((sv->started && opts_get(sv->started, "capture")) || dp_metrics_active())
        bad |= dp_metrics_write(b, (uint64_t)time(NULL));
    return bad ? -1 : 0;
}

/* The admin listener's GET /metrics. */
static int srv_metrics(void *ud, struct buf *out)
{
    return write_metrics(ud, out);
}

/* The watchdog's liveness probe: a read through the store answers (a
 * stuck store stops the keep-alives, and the service manager restarts the
 * process). */
static int store_alive(void *ud)
{
    struct key_info ki;
    struct serr e = {{0}};
    int rc = store_key_lookup(ud, "AKIDflowlogdwatchdogprobe", &ki, &e);
    return health_get() != HEALTH_STOPPING && (rc == STORE_OK || rc == STORE_NOTFOUND);
}

/* The options in force: the command line, then FLOWLOGD_* variables, then
 * the [serve] section of --config FILE (named on the command line or in
 * FLOWLOGD_CONFIG), then the defaults. 0, or -1 with the reason in err
 * (empty if already said, or o->help). */
static int load_options(struct opts *o, int argc, char **argv, char *err, size_t errlen)
{
    const char *file;
    err[0] = '\0';
    if (opts_parse(o, argc, argv, serve_opts, serve_synopsis) != 0)
        return -1;
    if (o->npos) {
        snprintf(err, errlen, "serve takes no arguments");
        return -1;
    }
    if (opts_from_env(o, "FLOWLOGD_", cli_only, err, errlen) != 0)
        return -1;
    file = opts_get(o, "config") ? opts_get(o, "config") : getenv("FLOWLOGD_CONFIG");
    if (file && opts_from_ini(o, file, "serve", cli_only, err, errlen) != 0)
        return -1;
    if (!opts_get(o, "data") == !opts_get(o, "store")) {
        snprintf(err, errlen, "give exactly one of --data DIR (SQLite) and --store URL (PostgreSQL)");
        return -1;
    }
    if (opts_get(o, "store") && !store_is_pg_url(opts_get(o, "store"))) {
        snprintf(err, errlen, "--store wants a postgresql:// URL (--data DIR for SQLite)");
        return -1;
    }
    if (opts_get(o, "rate-limit-redis")) {
        /* the URL's form only (nothing connects here): --check-config says it */
        struct rl_shared *probe = rl_shared_new(opts_get(o, "rate-limit-redis"), err, errlen);
        if (!probe)
            return -1;
        rl_shared_free(probe);
    }
    return 0;
}

static void apply_logging(const struct opts *o)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    const char *lvl = opts_str(o, "log-level");
    for (int i = 0; i < 4; i++)
        if (strcmp(lvl, names[i]) == 0)
            g_log_level = (enum log_level)i;
    g_log_format = strcmp(opts_str(o, "log-format"), "json") == 0 ? LOG_JSON : LOG_TEXT;
}

/* SIGHUP: the options read again; a bad file or value changes nothing.
 * log-level, log-format, rate-limit and cors-origins take effect; the
 * others need a restart (said, not applied). */
static void reload(struct srv *sv, int argc, char **argv)
{
    static const char *const live[] = {"log-level", "log-format", "rate-limit", "cors-origins",
                                       "admin-token-file", "tls-cert", "tls-key", "config",
                                       "check-config", "print-config", "quiet", NULL};
    struct opts n;
    char err[512];

    notify_reloading();
    if (load_options(&n, argc, argv, err, sizeof err) != 0) {
        log_error("reload refused, the configuration in force stays: %s", err);
        opts_free(&n);
        notify_ready("reload refused");
        return;
    }
    if (sv->https) {
        /* the certificate and key are read again (the same paths may hold
         * renewed files): new handshakes use them, open connections keep
         * theirs; a bad or mismatched pair changes nothing */
        char *cert = NULL, *key = NULL;
        const char *cp = opts_get(&n, "tls-cert"), *kp = opts_get(&n, "tls-key");
        if (!cp || !kp || load_tls(cp, kp, &cert, &key) != 0 ||
            http_tls_reload(sv->https, cert, key, err, sizeof err) != 0) {
            if (cert && key)
                log_error("TLS: %s", err);
            log_error("reload refused, the configuration in force stays: %s",
                      !cp || !kp ? "--tls-cert and --tls-key are needed while serving HTTPS"
                                 : "the TLS certificate or key (said above)");
            free(cert);
            tls_free_secret(key);
            opts_free(&n);
            notify_ready("reload refused");
            return;
        }
        log_info("reload: TLS certificate %s and key %s in use for new connections", cp, kp);
        free(cert);
        tls_free_secret(key);
    }
    if (sv->admin && opts_get(&n, "admin-token-file")) {
        /* the token file is read again: a rotated token takes effect now */
        char *token = admin_read_token(opts_get(&n, "admin-token-file"), err, sizeof err);
        if (!token) {
            log_error("reload refused, the configuration in force stays: %s", err);
            opts_free(&n);
            notify_ready("reload refused");
            return;
        }
        admin_set_token(sv->admin, token);
        OPENSSL_cleanse(token, strlen(token));
        free(token);
    } else if (sv->admin || opts_get(&n, "admin-token-file")) {
        log_warn("reload: admin-token-file %s; it takes effect at the next start",
                 sv->admin ? "removed" : "added");
    }
    apply_logging(&n);
    api_set_rate_limit(sv->api, (uint32_t)opts_uint(&n, "rate-limit"));
    cors_set(sv, opts_get(&n, "cors-origins"));
    for (const struct opt *t = serve_opts; t->name; t++) {
        int is_live = 0;
        for (const char *const *l = live; *l; l++)
            is_live |= strcmp(*l, t->name) == 0;
        if (!is_live && opts_get(&n, t->name) && sv->started &&
            (!opts_get(sv->started, t->name) ||
             strcmp(opts_get(&n, t->name), opts_get(sv->started, t->name)) != 0))
            log_warn("reload: %s changed; it takes effect at the next start", t->name);
    }
    log_info("reloaded: log-level %s, log-format %s, rate-limit %llu, cors-origins %s",
             opts_str(&n, "log-level"), opts_str(&n, "log-format"),
             (unsigned long long)opts_uint(&n, "rate-limit"),
             opts_get(&n, "cors-origins") ? opts_get(&n, "cors-origins") : "(none)");
    opts_free(&n);
    notify_ready("reloaded");
}

/* ==== serve --capture: the agent inside the server ==== */

struct embedded {
    struct store *st;
    struct agent_cfg cfg;
    struct sink *cls; /* the flow logs' CLS topics, in this server's own store */
    atomic_int stop;
    pthread_t thread;
    int started;
    char host[256], records[4200];
    struct sink *kafka; /* CKafka flow logs: the Kafka sink beside the files sink */
    struct sink *extra[2]; /* the delivery sinks handed to the agent: cls, kafka */
};

/* the assignment straight from the store: no HTTP, no key */
static json_t *embedded_fetch(void *ud, char *err, size_t errlen)
{
    struct embedded *em = ud;
    return control_assignments(em->st, em->host, err, errlen);
}

static void embedded_ready(void *ud)
{
    (void)ud;
    health_capture(HEALTH_CAPTURE_CONNECTED);
}

static void *embedded_main(void *arg)
{
    struct embedded *em = arg;
    char err[512];
    if (agent_run(&em->cfg, err, sizeof err) != 0) {
        log_error("capture: the agent stopped: %s", err);
        health_capture(HEALTH_CAPTURE_WAITING); /* /readyz says so */
    }
    return NULL;
}

/* Starts the embedded agent; 0, or -1 (logged: why BPF cannot load here...). */
static int embedded_start(struct embedded *em, const struct opts *o, struct store *st)
{
    char err[512];
    memset(em, 0, sizeof *em);
    em->st = st;
    if (opts_get(o, "capture-host"))
        snprintf(em->host, sizeof em->host, "%s", opts_get(o, "capture-host"));
    else
        inventory_local_host(em->host, sizeof em->host);
    if (opts_get(o, "capture-records"))
        snprintf(em->records, sizeof em->records, "%s", opts_get(o, "capture-records"));
    else if (opts_get(o, "data"))
        snprintf(em->records, sizeof em->records, "%s/records", opts_get(o, "data"));
    else {
        log_error("capture: with --store, --capture-records DIR says where the records go");
        return -1;
    }
    uint32_t window = (uint32_t)opts_uint(o, "capture-window");
    if (agent_probe(window, err, sizeof err) != 0) {
        log_error("capture: %s", err);
        return -1;
    }
    em->cfg = (struct agent_cfg){.host = em->host, .records = em->records, .window_s = window,
                                 .table_flows = 65536, .poll_ms = 1000, .fetch = embedded_fetch,
                                 .fetch_ud = em, .stop = &em->stop, .on_ready = embedded_ready};
    em->cfg.extra_sinks = em->extra;
    em->cfg.nextra_sinks = 0;
    /* CLS delivery into this server's cls service (both backends keep CLS
     * logs; a store without them would have no topics to deliver to) */
    if (store_has_cls(st)) {
        if (!(em->cls = sink_cls_store_open(st, em->host, NULL, err, sizeof err))) {
            log_error("capture: %s", err);
            return -1;
        }
        em->extra[em->cfg.nextra_sinks++] = em->cls;
    }
    {
        char spool[4300];
        snprintf(spool, sizeof spool, "%s/.kafka-spool", em->records);
        struct sink_kafka_opts ko = {.spool_dir = spool, .linger_ms = -1};
        if (!(em->kafka = sink_kafka_open(&ko, err, sizeof err)))
            log_error("capture: no Kafka delivery (CKafka flow logs keep their files): %s", err);
        else
            em->extra[em->cfg.nextra_sinks++] = em->kafka;
    }
    health_capture(HEALTH_CAPTURE_WAITING);
    if (pthread_create(&em->thread, NULL, embedded_main, em) != 0) {
        log_error("capture: cannot start the agent's thread");
        sink_close(em->cls);
        em->cls = NULL;
        sink_close(em->kafka);
        em->kafka = NULL;
        return -1;
    }
    em->started = 1;
    log_info("capture: the agent of host %s runs in the server (%u s windows, records in %s)",
             em->host, window, em->records);
    return 0;
}

static void embedded_stop(struct embedded *em)
{
    if (!em->started)
        return;
    atomic_store(&em->stop, 1);
    pthread_join(em->thread, NULL);
    sink_close(em->cls); /* after the agent's delivery thread stopped */
    em->cls = NULL;
    em->started = 0;
    sink_close(em->kafka);
    em->kafka = NULL;
}

int server_main(int argc, char **argv)
{
    struct opts o;
    struct serr se = {{0}};
    struct store *st = NULL;
    struct api *api = NULL;
    struct retention *retention = NULL;
    struct http_server *http = NULL, *https = NULL, *admin_http = NULL;
    struct admin *admin = NULL;
    char admin_host[256];
    unsigned short admin_port = 0;
    const char *admin_token_file;
    struct api_config acfg = {0};
    struct http_config hcfg = {0}, tcfg;
    char host[256], tls_host[256], err[256];
    char *tls_cert = NULL, *tls_key = NULL;
    unsigned short tls_port = 0;
    const char *listen, *tls_listen, *tls_cert_path, *tls_key_path, *engine;
    struct srv sv = {.api = NULL};
    static struct embedded em; /* serve --capture's agent */
    int plain;
    sigset_t stop_signals;
    int rc = 1, sig;

    pthread_rwlock_init(&sv.cors_mu, NULL);

    if (opts_parse(&o, argc, argv, serve_opts, serve_synopsis) == 0 && opts_get(&o, "print-config")) {
        if (strcmp(opts_get(&o, "print-config"), "man") == 0)
            opts_write_man(stdout, serve_opts, cli_only);
        else
            opts_write_ini_sample(stdout, serve_opts, "serve", cli_only);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (load_options(&o, argc, argv, err, sizeof err) != 0) {
        rc = o.help ? 0 : 2;
        if (err[0])
            fprintf(stderr, "flowlogd: %s\n", err);
        goto done;
    }
    sv.started = &o;
    tls_listen = opts_get(&o, "tls-listen");
    tls_cert_path = opts_get(&o, "tls-cert");
    tls_key_path = opts_get(&o, "tls-key");
    if (!tls_listen != !tls_cert_path || !tls_listen != !tls_key_path) {
        fputs("flowlogd: --tls-listen, --tls-cert and --tls-key go together "
              "(`flowlogd cert --data DIR` makes a certificate and key)\n",
              stderr);
        rc = 2;
        goto done;
    }
    if (tls_listen && parse_listen(tls_listen, tls_host, sizeof tls_host, &tls_port) != 0) {
        fprintf(stderr, "flowlogd: --tls-listen wants HOST:PORT, got %s\n", tls_listen);
        rc = 2;
        goto done;
    }
    /* the plain listener: asked for, or the default when TLS is not */
    plain = opts_get(&o, "listen") || !tls_listen;
    listen = opts_str(&o, "listen");
    /* the SQLite engine: --sqlite-engine, else $FLOWLOGD_SQLITE_ENGINE, else tuned */
    if (!(engine = opts_get(&o, "sqlite-engine")))
        engine = getenv("FLOWLOGD_SQLITE_ENGINE");
    if (engine && *engine && !store_sqlite_engine_known(engine)) {
        fprintf(stderr, "flowlogd: FLOWLOGD_SQLITE_ENGINE wants tuned or plain, got %s\n", engine);
        rc = 2;
        goto done;
    }
    if (parse_listen(listen, host, sizeof host, &hcfg.port) != 0) {
        fprintf(stderr, "flowlogd: --listen wants HOST:PORT, got %s\n", listen);
        rc = 2;
        goto done;
    }
    admin_token_file = opts_get(&o, "admin-token-file");
    if (!admin_token_file && opts_get(&o, "admin-listen")) {
        fputs("flowlogd: --admin-listen needs --admin-token-file (the admin API's token)\n", stderr);
        rc = 2;
        goto done;
    }
    if (admin_token_file &&
        parse_listen(opts_str(&o, "admin-listen"), admin_host, sizeof admin_host, &admin_port) != 0) {
        fprintf(stderr, "flowlogd: --admin-listen wants HOST:PORT, got %s\n",
                opts_str(&o, "admin-listen"));
        rc = 2;
        goto done;
    }
    if (opts_get(&o, "check-config")) {
        printf("configuration OK%s%s\n", opts_get(&o, "config") ? ": " : "",
               opts_get(&o, "config") ? opts_get(&o, "config") : "");
        rc = 0;
        goto done;
    }
    /* the SQLite store reads its tuning from the environment (no thread runs yet) */
    if (opts_get(&o, "wal-limit-mb")) {
        char v[24];
        snprintf(v, sizeof v, "%llu", (unsigned long long)opts_uint(&o, "wal-limit-mb"));
        setenv("FLOWLOGD_SQLITE_WAL_MB", v, 1);
    }
    apply_logging(&o);

    /* SIGTERM and SIGINT stay blocked in every thread (the mask is
     * inherited by the threads started below) and the main thread takes
     * them with sigwait. With a handler and pause(), a signal delivered to
     * another thread, or between the flag test and pause(), was lost and the
     * server never stopped (seen by the start-up benchmark). */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP); /* a reload, taken the same way */
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (tls_listen && !http_tls_supported()) {
        log_error("TLS: this libmicrohttpd was built without TLS support");
        goto done;
    }
    if (tls_listen && load_tls(tls_cert_path, tls_key_path, &tls_cert, &tls_key) != 0)
        goto done;

    if (!(st = opts_get(&o, "store") ? store_open_pg(opts_get(&o, "store"), &se)
                                     : store_open_sqlite_engine(opts_get(&o, "data"), engine, &se))) {
        log_error("cannot open the store in %s: %s",
                  opts_get(&o, "data") ? opts_get(&o, "data") : "PostgreSQL", se.msg);
        goto done;
    }
    acfg.rate_limit = (uint32_t)opts_uint(&o, "rate-limit");
    acfg.log_requests = !opts_get(&o, "quiet");
    if (!(api = api_new(st, &acfg))) {
        log_error("out of memory");
        goto done;
    }
    if (opts_get(&o, "rate-limit-redis")) {
        struct rl_shared *shared = rl_shared_new(opts_get(&o, "rate-limit-redis"), err, sizeof err);
        if (!shared) {
            log_error("%s", err);
            goto done;
        }
        api_set_shared_limiter(api, shared);
        log_info("rate limit: cluster-wide in Redis at %s", rl_shared_where(shared));
    }
    sv.api = api;
    sv.store = st;
    sv.data_dir = opts_get(&o, "data");
    sv.started_us = mono_us();
    if (admin_token_file) {
        char *token = admin_read_token(admin_token_file, err, sizeof err);
        if (!token) {
            log_error("%s", err);
            goto done;
        }
        sv.admin = admin = admin_new(st, api, token);
        OPENSSL_cleanse(token, strlen(token));
        free(token);
        if (!admin) {
            log_error("out of memory");
            goto done;
        }
        admin_set_metrics(admin, srv_metrics, &sv);
    }
    /* --init: before any listener, so nothing is served (and /readyz is
     * not 200) until the files are in */
    if (opts_get(&o, "init")) {
        char ierr[1024];
        int applied;
        if (admin_init_dir(st, opts_get(&o, "init"), &applied, ierr, sizeof ierr) != 0) {
            log_error("init: %s", ierr);
            goto done;
        }
        log_info("init: %s", applied ? "applied the files of --init"
                                     : "the store has accounts; --init left it alone");
    }
    cors_set(&sv, opts_get(&o, "cors-origins"));
    hcfg.host = host;
    hcfg.io_threads = (unsigned)opts_uint(&o, "io-threads");
    hcfg.workers = (unsigned)opts_uint(&o, "workers");
    hcfg.max_body = api_max_body(api);
    /* a GET's 32 KiB query (the API's own limit, answered in the envelope)
     * plus the SDK's ~1.5 KB of headers, with room to spare; libmicrohttpd
     * zeroes a pool of about this size per request, so no more */
    hcfg.max_header_bytes = 40u << 10;
    hcfg.max_connections = (unsigned)opts_uint(&o, "max-connections");
    hcfg.idle_timeout_s = (unsigned)opts_uint(&o, "idle-timeout");
    hcfg.quick = route_quick;
    bulk_config(&hcfg, &sv);
    if (plain && !(http = http_start(&hcfg, route, &sv, err, sizeof err))) {
        log_error("%s (another process may listen there: choose another --listen)", err);
        goto done;
    }
    if (tls_listen) {
        /* a second server on the same handler: its own listening socket,
         * acceptor and poll threads, with libmicrohttpd's TLS */
        tcfg = hcfg;
        tcfg.host = tls_host;
        tcfg.port = tls_port;
        tcfg.tls_cert_pem = tls_cert;
        tcfg.tls_key_pem = tls_key;
        https = http_start(&tcfg, route, &sv, err, sizeof err);
        tls_free_secret(tls_key); /* the server keeps its own copy */
        tls_key = NULL;
        if (!https) {
            log_error("cannot serve HTTPS on %s: %s", tls_listen, err);
            goto done;
        }
    }
    sv.http = http;
    sv.https = https;
    if (admin) {
        /* the admin API: its own server, handler and (small) worker pool */
        struct http_config acfg_http = hcfg;
        acfg_http.host = admin_host;
        acfg_http.port = admin_port;
        acfg_http.workers = 2;
        acfg_http.io_threads = 1;
        /* few clients (test drivers, an operator); each may hold a body of
         * up to admin_max_body() before its token is checked */
        acfg_http.max_connections = 8;
        acfg_http.max_body = admin_max_body();
        acfg_http.tls_cert_pem = acfg_http.tls_key_pem = NULL;
        acfg_http.quick = admin_http_quick;
        if (!(admin_http = http_start(&acfg_http, admin_http_handler, admin, err, sizeof err))) {
            log_error("cannot serve the admin API on %s: %s (choose another --admin-listen)",
                      opts_str(&o, "admin-listen"), err);
            goto done;
        }
    }
    /* --capture: the agent runs beside the listeners; /readyz waits for it
     * to have its first assignment */
    if (opts_get(&o, "capture") && embedded_start(&em, &o, st) != 0)
        goto done;
    /* both listeners are up before either line: "listening" means ready, and
     * /readyz says so from the same moment */
    health_set(HEALTH_READY);
    if (http) {
        if (opts_get(&o, "data"))
            log_info("listening on %s:%u (store %s, %s engine, in %s)", host, http_port(http),
                     st->name, store_sqlite_engine(st), opts_get(&o, "data"));
        else
            log_info("listening on %s:%u (store %s)", host, http_port(http), st->name);
        printf("listening on %s:%u\n", host, http_port(http));
    }
    if (https) {
        if (opts_get(&o, "data"))
            log_info("listening on %s:%u (https; store %s, %s engine, in %s)", tls_host,
                     http_port(https), st->name, store_sqlite_engine(st), opts_get(&o, "data"));
        else
            log_info("listening on %s:%u (https; store %s)", tls_host, http_port(https), st->name);
        printf("listening on %s:%u (https)\n", tls_host, http_port(https));
    }
    if (admin_http) {
        if (strcmp(admin_host, "127.0.0.1") != 0 && strcmp(admin_host, "::1") != 0 &&
            strcmp(admin_host, "localhost") != 0)
            log_warn("the admin API listens on %s, not on loopback: anyone who can reach it "
                     "and has the token may delete everything", admin_host);
        log_info("admin API on %s:%u", admin_host, http_port(admin_http));
        printf("admin listening on %s:%u\n", admin_host, http_port(admin_http));
    }
    fflush(stdout);
    {
        char status[sizeof host + 32];
        if (http)
            snprintf(status, sizeof status, "listening on %s:%u", host, http_port(http));
        else
            snprintf(status, sizeof status, "listening on %s:%u (https)", tls_host,
                     http_port(https));
        notify_ready(status);
    }
    if (notify_watchdog_start(store_alive, st) != 0)
        log_warn("cannot start the watchdog thread");
    {
        const char *ms = getenv("FLOWLOGD_CLS_RETENTION_MS");
        retention = retention_start(st, ms ? strtoull(ms, NULL, 10) : 0);
    }

    for (;;) {
        if (sigwait(&stop_signals, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        reload(&sv, argc, argv);
    }
    health_set(HEALTH_STOPPING);
    notify_stopping();
    log_info("shutting down (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
done:
    embedded_stop(&em);
    notify_watchdog_stop();
    retention_stop(retention);
    http_stop(admin_http);
    admin_free(admin);
    http_stop(https);
    http_stop(http);
    free(tls_cert);
    tls_free_secret(tls_key);
    api_free(api);
    store_close(st);
    cors_set(&sv, NULL);
    pthread_rwlock_destroy(&sv.cors_mu);
    opts_free(&o);
    return rc;
}
