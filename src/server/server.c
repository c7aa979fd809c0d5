/* server.c: `flowlogd serve`, the composition root: options, the store,
 * the API front, the HTTP server, signals and an orderly shutdown. */
#include "server/server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "base/log.h"
#include "base/util.h"
#include "cli/opts.h"
#include "http/http.h"
#include "store/sqlite/sqlite.h"
#include "store/store.h"

static const char serve_usage[] =
    "usage: flowlogd serve --listen HOST:PORT --data DIR [options]\n"
    "\n"
    "Serves the Tencent Cloud API 3.0 (vpc 2017-03-12 flow logs) over HTTP/1.1.\n"
    "Prints \"listening on HOST:PORT\" when ready. SIGTERM or SIGINT stops it.\n"
    "  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080; port 0 = any)\n"
    "  --data DIR             data directory (created if absent, mode 0700)\n"
    "  --rate-limit N         requests/s per (account, action), burst N (default 20)\n"
    "  --io-threads N         HTTP poll threads (default: number of cores)\n"
    "  --workers N            request handler threads (default 32)\n"
    "  --max-connections N    open connections at most (default 4096)\n"
    "  --idle-timeout S       close a connection idle this long (default 60)\n"
    "  --log-level L          debug, info (default), warn, error\n"
    "  --sqlite-engine E      tuned (default; $FLOWLOGD_SQLITE_ENGINE if set) or plain:\n"
    "                         SQLite's own VFS, reads and checkpoints (docs/ARCHITECTURE.md)\n"
    "  --quiet                no per-request log lines\n";

static int parse_uint_opt(const struct opts *o, const char *name, uint64_t max, uint64_t *out)
{
    const char *v = opts_get(o, name);
    if (!v)
        return 0;
    if (parse_u64(v, strlen(v), out) != 0 || *out > max) {
        fprintf(stderr, "flowlogd: --%s must be a number up to %llu\n", name,
                (unsigned long long)max);
        return -1;
    }
    return 0;
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
    uint64_t rate = 20, io = 0, workers = 32, maxconn = 4096, idle = 60;
    const char *listen = "127.0.0.1:8080", *lvl, *engine;
    sigset_t stop_signals;
    int rc = 1, sig;

    if (opts_parse(&o, argc, argv,
                   "listen,data,rate-limit,io-threads,workers,max-connections,idle-timeout,"
                   "log-level,sqlite-engine",
                   "quiet", serve_usage) != 0)
        return o.help ? 0 : 2;
    if (!opts_get(&o, "data") || o.npos) {
        fputs(serve_usage, stderr);
        return 2;
    }
    if (opts_get(&o, "listen"))
        listen = opts_get(&o, "listen");
    if (!(engine = opts_get(&o, "sqlite-engine")))
        engine = getenv("FLOWLOGD_SQLITE_ENGINE");
    if (engine && *engine && !store_sqlite_engine_known(engine)) {
        fprintf(stderr, "flowlogd: --sqlite-engine wants tuned or plain, got %s\n", engine);
        return 2;
    }
    if (parse_listen(listen, host, sizeof host, &hcfg.port) != 0) {
        fprintf(stderr, "flowlogd: --listen wants HOST:PORT, got %s\n", listen);
        return 2;
    }
    if (parse_uint_opt(&o, "rate-limit", UINT32_MAX, &rate) || parse_uint_opt(&o, "io-threads", 256, &io) ||
        parse_uint_opt(&o, "workers", 4096, &workers) ||
        parse_uint_opt(&o, "max-connections", 1000000, &maxconn) ||
        parse_uint_opt(&o, "idle-timeout", 86400, &idle))
        return 2;
    if ((lvl = opts_get(&o, "log-level"))) {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        int found = 0;
        for (int i = 0; i < 4; i++)
            if (strcmp(lvl, names[i]) == 0)
                g_log_level = (enum log_level)i, found = 1;
        if (!found) {
            fprintf(stderr, "flowlogd: unknown --log-level %s\n", lvl);
            return 2;
        }
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

    if (!(st = store_open_sqlite_engine(opts_get(&o, "data"), engine, &se))) {
        log_error("cannot open the store in %s: %s", opts_get(&o, "data"), se.msg);
        goto done;
    }
    acfg.rate_limit = (uint32_t)rate;
    acfg.log_requests = !opts_get(&o, "quiet");
    if (!(api = api_new(st, &acfg))) {
        log_error("out of memory");
        goto done;
    }
    hcfg.host = host;
    hcfg.io_threads = (unsigned)io;
    hcfg.workers = (unsigned)workers;
    hcfg.max_body = (10u << 20) + 1;
    /* a GET's 32 KiB query (the API's own limit, answered in the envelope)
     * plus the SDK's ~1.5 KB of headers, with room to spare; libmicrohttpd
     * zeroes a pool of about this size per request, so no more */
    hcfg.max_header_bytes = 40u << 10;
    hcfg.max_connections = (unsigned)maxconn;
    hcfg.idle_timeout_s = (unsigned)idle;
    hcfg.quick = api_http_quick;
    if (!(http = http_start(&hcfg, api_http_handler, api, err, sizeof err))) {
        log_error("cannot listen on %s: %s", listen, err);
        goto done;
    }
    log_info("listening on %s:%u (store %s, %s engine, in %s)", host, http_port(http), st->name,
             store_sqlite_engine(st), opts_get(&o, "data"));
    printf("listening on %s:%u\n", host, http_port(http));
    fflush(stdout);

    while (sigwait(&stop_signals, &sig) != 0)
        ;
    log_info("shutting down (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
done:
    http_stop(http);
    api_free(api);
    store_close(st);
    return rc;
}
