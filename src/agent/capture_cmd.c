/* capture_cmd.c: `flowlogd capture`, the in-kernel capture driven by hand:
 * watch the given devices of one network namespace and print, at each
 * window's end, its flows merged over the CPUs, per resource, direction and
 * verdict. The agent (`flowlogd agent`) runs the same capture for the
 * enabled flow logs the control plane names; this command is how an
 * operator checks a host, and how the live tests look at the kernel side. */
#define _GNU_SOURCE
#include "agent/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/opts.h"
#include "flow/bpf/capture.h"
#include "flow/bpf/flowcap_abi.h"

static const char synopsis[] =
    "usage: flowlogd capture [--netns NS] [--window SECONDS] [--table FLOWS] [--windows N]\n"
    "                        --watch DEV=ID[,ADDR...] [--watch ...]\n"
    "Watches each DEV (in network namespace NS: a name under /run/netns or a path) as the\n"
    "resource ID (ADDRs: its addresses, for drops of traffic towards it), and prints each\n"
    "capture window's flows when it closes (N windows, default until SIGINT/SIGTERM):\n"
    "  FLOW <start> <end> <ID> in|out ACCEPT|REJECT <src> <dst> <sport> <dport> <proto>\n"
    "       <packets> <bytes> <tcp-flags>\n"
    "  SKIPDATA <start> <end> <ID> in|out <packets>   (the table was full)\n"
    "  NODATA <start> <end> <ID>                       (no packet at all)\n"
    "  END <start> <end>\n"
    "after a line READY <window-start> once the programs are attached.\n";

static const struct opt capture_opts_table[] = {
    {"netns", OPT_STR, "NS", NULL, 0, 0, 0, "network namespace of the devices"},
    {"window", OPT_UINT, "SECONDS", "60", 1, 600, 0, "capture window"},
    {"table", OPT_UINT, "FLOWS", "65536", 1, 1u << 24, 0, "flows per CPU and window"},
    {"windows", OPT_UINT, "N", NULL, 1, 1000000, 0, "stop after N windows"},
    {"watch", OPT_STR, "DEV=ID[,ADDR...]", NULL, 0, 0, 0, "a device to watch (repeatable)"},
    {"log-level", OPT_CHOICE, "debug,info,warn,error", "info", 0, 0, 0, "log level"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

#define MAX_RES 256

struct res {
    char id[64];
    int seen;
    uint64_t skipped[2];
};

struct window_buf {
    struct {
        struct flow_key k;
        struct flow_val v;
    } *e;
    size_t n, cap;
    struct res *res;
    size_t nres;
    int oom;
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int collect(void *arg, const struct flow_key *k, const struct flow_val *v)
{
    struct window_buf *b = arg;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        void *e = realloc(b->e, cap * sizeof *b->e);
        if (!e) {
            b->oom = 1;
            return -1;
        }
        b->e = e;
        b->cap = cap;
    }
    b->e[b->n].k = *k;
    b->e[b->n].v = *v;
    b->n++;
    return 0;
}

static void on_skip(void *arg, uint32_t slot, uint8_t dir, uint64_t packets)
{
    struct window_buf *b = arg;
    if (slot < b->nres)
        b->res[slot].skipped[dir & 1] += packets;
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct flow_key));
}

static void addr_str(const struct flow_key *k, const uint8_t *a, char *out, size_t n)
{
    if (k->family == FLOW_FAMILY_V4)
        inet_ntop(AF_INET, a + 12, out, (socklen_t)n);
    else
        inet_ntop(AF_INET6, a, out, (socklen_t)n);
}

/* Merges the per-CPU copies (sorted by key) and prints the window. */
static void print_window(struct window_buf *b, uint64_t start, uint64_t end, int late)
{
    qsort(b->e, b->n, sizeof *b->e, key_cmp);
    for (size_t i = 0; i < b->n;) {
        struct flow_key k = b->e[i].k;
        struct flow_val v = b->e[i].v;
        size_t j = i + 1;
        for (; j < b->n && memcmp(&b->e[j].k, &k, sizeof k) == 0; j++) {
            v.packets += b->e[j].v.packets;
            v.bytes += b->e[j].v.bytes;
            v.tcp_flags |= b->e[j].v.tcp_flags;
        }
        i = j;
        if (k.slot >= b->nres)
            continue;
        b->res[k.slot].seen = 1;
        char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
        addr_str(&k, k.src, src, sizeof src);
        addr_str(&k, k.dst, dst, sizeof dst);
        printf("FLOW %llu %llu %s %s %s %s %s %u %u %u %llu %llu %u\n", (unsigned long long)start,
               (unsigned long long)end, b->res[k.slot].id, k.dir == FLOW_DIR_IN ? "in" : "out",
               k.action == FLOW_REJECT ? "REJECT" : "ACCEPT", src, dst, k.sport, k.dport, k.proto,
               (unsigned long long)v.packets, (unsigned long long)v.bytes,
               v.tcp_flags & 0x1ffu);
    }
    for (size_t s = 0; s < b->nres; s++) {
        struct res *r = &b->res[s];
        for (int d = 0; d < 2; d++)
            if (r->skipped[d] || late || b->oom)
                printf("SKIPDATA %llu %llu %s %s %llu\n", (unsigned long long)start,
                       (unsigned long long)end, r->id, d ? "out" : "in",
                       (unsigned long long)r->skipped[d]);
        if (!r->seen && !r->skipped[0] && !r->skipped[1] && !late && !b->oom)
            printf("NODATA %llu %llu %s\n", (unsigned long long)start, (unsigned long long)end,
                   r->id);
        r->seen = 0;
        r->skipped[0] = r->skipped[1] = 0;
    }
    printf("END %llu %llu\n", (unsigned long long)start, (unsigned long long)end);
    fflush(stdout);
    b->n = 0;
    b->oom = 0;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int agent_capture_main(int argc, char **argv)
{
    struct opts o;
    if (opts_parse(&o, argc, argv, capture_opts_table, synopsis) != 0)
        return o.help ? 0 : 2;
    const char *ll = opts_get(&o, "log-level");
    if (ll && strcmp(ll, "debug") == 0)
        g_log_level = LOG_DEBUG;
    struct capture_opts co = {.netns = opts_get(&o, "netns"),
                              .window_s = (uint32_t)opts_uint(&o, "window"),
                              .table_flows = (uint32_t)opts_uint(&o, "table")};
    uint32_t nwin = (uint32_t)opts_uint(&o, "windows");
    const char *watch[OPTS_MAX];
    int nwatch = opts_all(&o, "watch", watch, OPTS_MAX);
    static struct res res[MAX_RES];
    struct window_buf b = {.res = res};
    char err[512];
    int rc = 1;

    struct capture *c = capture_open(&co, err, sizeof err);
    if (!c) {
        fprintf(stderr, "capture: %s\n", err);
        return 1;
    }
    for (int i = 0; i < nwatch; i++) {
        char spec[512];
        snprintf(spec, sizeof spec, "%s", watch[i]);
        char *eq = strchr(spec, '=');
        if (!eq || eq == spec || !eq[1] || b.nres == MAX_RES) {
            fprintf(stderr, "capture: --watch %s: DEV=ID[,ADDR...]\n", watch[i]);
            goto out;
        }
        *eq = 0;
        char *save = NULL, *id = strtok_r(eq + 1, ",", &save);
        if (!id || strlen(id) >= sizeof res[0].id) {
            fprintf(stderr, "capture: --watch %s: bad resource id\n", watch[i]);
            goto out;
        }
        uint32_t slot = (uint32_t)b.nres++;
        snprintf(res[slot].id, sizeof res[slot].id, "%s", id);
        if (capture_watch(c, spec, slot, err, sizeof err) != 0) {
            fprintf(stderr, "capture: %s\n", err);
            goto out;
        }
        for (char *a = strtok_r(NULL, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
            uint8_t addr[16];
            if (capture_parse_addr(a, addr) != 0 || capture_set_addr(c, addr, slot) != 0) {
                fprintf(stderr, "capture: --watch: address %s: not an IP address\n", a);
                goto out;
            }
        }
    }
    if (b.nres == 0) {
        fprintf(stderr, "capture: nothing to watch (--watch DEV=ID)\n");
        opts_usage(stderr, capture_opts_table, synopsis);
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uint64_t win_ns = (uint64_t)co.window_s * 1000000000u;
    /* drain a window this long after its end: stragglers on other CPUs are done */
    uint64_t grace = win_ns / 4 < 200000000u ? win_ns / 4 : 200000000u;
    uint64_t w = capture_window_of(c, realtime_ns());
    printf("READY %llu\n", (unsigned long long)(w * co.window_s));
    fflush(stdout);
    for (uint32_t done = 0; !nwin || done < nwin;) {
        uint64_t due = (w + 1) * win_ns + grace, now = realtime_ns();
        if (!g_stop && now < due) {
            uint64_t d = due - now;
            if (d > 100000000u)
                d = 100000000u;
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)d};
            nanosleep(&ts, NULL);
            continue;
        }
        int late = capture_drain(c, w, collect, on_skip, &b);
        if (late < 0)
            goto out;
        print_window(&b, w * co.window_s, (w + 1) * co.window_s, late);
        done++;
        w++;
        if (g_stop)
            break;
    }
    rc = 0;
out:
    capture_close(c);
    free(b.e);
    return rc;
}
