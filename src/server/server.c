/* server.c: `flowlogd serve`, the composition root: options, the store,
 * the API front, the HTTP server, signals and an orderly shutdown. */
#include "server/server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/health.h"
#include "api/api.h"
#include "base/log.h"
#include "base/opts.h"
#include "console/console.h"
#include "base/util.h"
#include "http/http.h"
#include "server/notify.h"
#include "store/store.h"

static const char serve_synopsis[] =
    "usage: flowlogd serve --listen HOST:PORT (--data DIR | --store URL) [options]\n"
    "\n"
    "Serves the Tencent Cloud API 3.0 (vpc 2017-03-12 flow logs) over HTTP/1.1.\n"
    "Prints \"listening on HOST:PORT\" when ready. SIGTERM or SIGINT stops it.\n"
    "GET /healthz and /readyz answer without authentication (200, or 503 while not ready).\n"
    "The web console is at /console/ (it signs its calls in the browser).\n"
    "Under systemd (Type=notify) it says READY=1 and STOPPING=1 and feeds WatchdogSec=.\n";

/* The options of `serve`: the one place of their names, defaults, ranges
 * and help. A new option is a row here, read below with opts_str/opts_uint. */
static const struct opt serve_opts[] = {
    {"listen", OPT_STR, "HOST:PORT", "127.0.0.1:8080", 0, 0, 0,
     "address to listen on (port 0 = any)"},
    OPT_DATA_OR_STORE,
    {"rate-limit", OPT_UINT, "N", OPT_NUM(API_DEFAULT_RATE_LIMIT), 0, UINT32_MAX, 0,
     "requests/s per (account, action), burst N"},
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
    {"log-level", OPT_CHOICE, "debug,info,warn,error", "info", 0, 0, 0, "log level"},
    {"quiet", OPT_FLAG, NULL, NULL, 0, 0, 0, "no per-request log lines"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

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

/* The public listener's routes: the health paths, the console's files,
 * else the API. */
static void route(void *ud, const struct http_request *req, struct http_ctx *ctx,
                  struct http_reply *out)
{
    if (!health_reply(req, out) && !console_reply(req, out))
        api_http_handler(ud, req, ctx, out);
}

static int route_quick(void *ud, const struct http_request *req)
{
    return health_path(req) || console_path(req) || api_http_quick(ud, req);
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

int server_main(int argc, char **argv)
{
    struct opts o;
    struct serr se = {{0}};
    struct store *st = NULL;
    struct api *api = NULL;
    struct http_server *http = NULL;
    struct api_config acfg = {0};
    struct http_config hcfg = {0};
    char host[256], err[256];
    const char *listen, *lvl;
    sigset_t stop_signals;
    int rc = 1, sig;

    if (opts_parse(&o, argc, argv, serve_opts, serve_synopsis) != 0)
        return o.help ? 0 : 2;
    if (o.npos) {
        fprintf(stderr, "flowlogd: serve takes no arguments\n");
        opts_usage(stderr, serve_opts, serve_synopsis);
        return 2;
    }
    if (!opts_get(&o, "data") == !opts_get(&o, "store")) {
        fputs("flowlogd: give exactly one of --data DIR (SQLite) and --store URL (PostgreSQL)\n",
              stderr);
        return 2;
    }
    if (opts_get(&o, "store") && !store_is_pg_url(opts_get(&o, "store"))) {
        fputs("flowlogd: --store wants a postgresql:// URL (--data DIR for SQLite)\n", stderr);
        return 2;
    }
    listen = opts_str(&o, "listen");
    if (parse_listen(listen, host, sizeof host, &hcfg.port) != 0) {
        fprintf(stderr, "flowlogd: --listen wants HOST:PORT, got %s\n", listen);
        return 2;
    }
    /* the SQLite store reads its tuning from the environment (no thread runs yet) */
    if (opts_get(&o, "wal-limit-mb")) {
        char v[24];
        snprintf(v, sizeof v, "%llu", (unsigned long long)opts_uint(&o, "wal-limit-mb"));
        setenv("FLOWLOGD_SQLITE_WAL_MB", v, 1);
    }
    lvl = opts_str(&o, "log-level");
    for (int i = 0; i < 4; i++) {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        if (strcmp(lvl, names[i]) == 0)
            g_log_level = (enum log_level)i;
    }

    /* SIGTERM and SIGINT stay blocked in every thread (the mask is
     * inherited by the threads started below) and the main thread takes
     * them with sigwait. With a handler and pause(), a signal delivered to
     * another thread, or between the flag test and pause(), was lost and the
     * server never stopped (seen by the start-up benchmark). */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!(st = opts_get(&o, "store") ? store_open_pg(opts_get(&o, "store"), &se)
                                     : store_open_sqlite(opts_get(&o, "data"), &se))) {
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
    if (!(http = http_start(&hcfg, route, api, err, sizeof err))) {
        log_error("cannot listen on %s: %s", listen, err);
        goto done;
    }
    log_info("listening on %s:%u (store %s%s%s)", host, http_port(http), st->name,
             opts_get(&o, "data") ? " in " : "", opts_get(&o, "data") ? opts_get(&o, "data") : "");
    printf("listening on %s:%u\n", host, http_port(http));
    fflush(stdout);
    health_set(HEALTH_READY);
    {
        char status[sizeof host + 32];
        snprintf(status, sizeof status, "listening on %s:%u", host, http_port(http));
        notify_ready(status);
    }
    if (notify_watchdog_start(store_alive, st) != 0)
        log_warn("cannot start the watchdog thread");

    while (sigwait(&stop_signals, &sig) != 0)
        ;
    health_set(HEALTH_STOPPING);
    notify_stopping();
    log_info("shutting down (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
done:
    notify_watchdog_stop();
    http_stop(http);
    api_free(api);
    store_close(st);
    return rc;
}
