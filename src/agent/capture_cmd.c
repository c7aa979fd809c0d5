/* capture_cmd.c: `flowlogd capture`, the in-kernel capture driven by hand:
 * watch the given devices of one network namespace and print, at each
 * window's end, its flows merged over the CPUs, per resource, direction and
 * verdict; with --flowlog and --records, also write those flow logs'
 * Tencent records for each window to the files sink (flowlogd records reads
 * them). The per-CPU copies are merged in the engine's window table
 * (flow/flow.h) and the records made by its record writer. This is the
 * agent's capture path driven by hand: how an operator checks a host, and
 * how the live tests look at the kernel side. */
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
#include "flow/flow.h"
#include "sink/sink.h"

static const char synopsis[] =
    "usage: flowlogd capture [--netns NS] [--window SECONDS] [--table FLOWS] [--windows N]\n"
    "                        --watch DEV=ID[,ADDR...] [--watch ...]\n"
    "                        [--shared DEV ... --by-address ID=ADDR[,ADDR...] ...]\n"
    "Watches each DEV (in network namespace NS: a name under /run/netns or a path) as the\n"
    "resource ID (ADDRs: its addresses, for drops of traffic towards it), and prints each\n"
    "capture window's flows when it closes (N windows, default until SIGINT/SIGTERM).\n"
    "--shared DEV watches a device that carries several ENIs' traffic (a bridge port, an\n"
    "uplink) where their own devices are not seen: each packet on it belongs to the ENI\n"
    "--by-address lists for its source address (out) and/or destination address (in);\n"
    "a verdict's drop of such a packet anywhere in NS is that ENI's REJECT.\n"
    "  FLOW <start> <end> <ID> in|out ACCEPT|REJECT <src> <dst> <sport> <dport> <proto>\n"
    "       <packets> <bytes> <tcp-flags>\n"
    "  SKIPDATA <start> <end> <ID> in|out <packets>   (the table was full)\n"
    "  NODATA <start> <end> <ID>                       (no packet at all)\n"
    "  END <start> <end>\n"
    "--flowlog FLOWLOG-ID=ID[:ACCEPT|REJECT|ALL][:format=F][:period=S] (repeatable) with\n"
    "--records DIR and --account APPID: also writes that flow log's records of resource ID\n"
    "(TrafficType filter, NODATA/SKIPDATA) for each window to DIR/FLOWLOG-ID/. F: default\n"
    "(Tencent's ENI/NAT/DCG line), ccn (the CCN line) or field names separated by commas;\n"
    "S: the flow log's own window (a CCN's Period), a multiple of --window.\n"
    "--region R: the records' region-id and region; --attached-vpc CIDR=REGION (repeatable):\n"
    "a CCN's attached VPCs, which give srcregionid and dstregionid.\n"
    "after a line READY <window-start> once the programs are attached.\n"
    "--stats: also print to stderr, per window, the lines and the microseconds the drain,\n"
    "merge and printing took, and at the end the tc programs' bpf_stats (run count and\n"
    "nanoseconds; kernel.bpf_stats_enabled=1 makes the kernel count them).\n";

static const struct opt capture_opts_table[] = {
    {"netns", OPT_STR, "NS", NULL, 0, 0, 0, "network namespace of the devices"},
    {"window", OPT_UINT, "SECONDS", "60", 1, 600, 0, "capture window"},
    {"table", OPT_UINT, "FLOWS", "65536", 1, 1u << 24, 0, "flows per CPU and window"},
    {"windows", OPT_UINT, "N", NULL, 1, 1000000, 0, "stop after N windows"},
    {"watch", OPT_STR, "DEV=ID[,ADDR...]", NULL, 0, 0, 0, "a device to watch (repeatable)"},
    {"shared", OPT_STR, "DEV", NULL, 0, 0, 0, "a shared device, by address (repeatable)"},
    {"by-address", OPT_STR, "ID=ADDR[,ADDR...]", NULL, 0, 0, 0,
     "an ENI seen on shared devices by its addresses (repeatable)"},
    {"log-level", OPT_CHOICE, "debug,info,warn,error", "info", 0, 0, 0, "log level"},
    {"flowlog", OPT_STR, "FLOWLOG-ID=ID[:TYPE]", NULL, 0, 0, 0, "records of ID (repeatable)"},
    {"records", OPT_STR, "DIR", NULL, 0, 0, 0, "files sink directory for --flowlog"},
    {"account", OPT_STR, "APPID", NULL, 0, 0, 0, "account-id of the records"},
    {"region", OPT_STR, "REGION", NULL, 0, 0, 0, "region-id and region of the records"},
    {"attached-vpc", OPT_STR, "CIDR=REGION", NULL, 0, 0, 0,
     "a CCN's attached VPC (repeatable)"},
    {"stats", OPT_FLAG, NULL, NULL, 0, 0, 0, "per-window drain times and bpf_stats to stderr"},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL},
};

#define MAX_RES 256
#define MAX_FLOWLOGS 64

struct res {
    char id[64];
    uint64_t skipped[2]; /* this window's packets the kernel table had no room for */
};

struct flowlog_spec {
    char id[64];
    uint32_t slot;
    int traffic_type;
    struct flow_format format;
    uint32_t period;       /* 0: the capture window; else a multiple of it */
    struct flow_table *acc; /* period > window: the period's flows so far */
    uint64_t acc_start;    /* the period being accumulated (0: none yet) */
    int acc_partial;       /* it began before the capture did: SKIPDATA */
};

/* what every flow log's records share */
struct records_ctx {
    const char *account, *region;
    const struct flow_region_cidr *regions;
    size_t nregions;
    uint32_t window_s;
};

struct window_ctx {
    struct flow_table *t;
    struct res *res;
    size_t nres;
    uint64_t start, end;
    size_t lines, entries;
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* a drained entry (one CPU's copy) into the window table: the copies merge */
static int on_entry(void *arg, const struct flow_key *k, const struct flow_val *v)
{
    struct window_ctx *w = arg;
    w->entries++;
    flow_table_merge(w->t, k, v); /* a full table counts it as skipped for k->slot */
    return 0;
}

static void on_skip(void *arg, uint32_t slot, uint8_t dir, uint64_t packets)
{
    struct window_ctx *w = arg;
    if (slot < w->nres)
        w->res[slot].skipped[dir & 1] += packets;
    flow_table_note_skipped(w->t, slot, packets);
}

static void addr_str(const struct flow_key *k, const uint8_t *a, char *out, size_t n)
{
    if (k->family == FLOW_FAMILY_V4)
        inet_ntop(AF_INET, a + 12, out, (socklen_t)n);
    else
        inet_ntop(AF_INET6, a, out, (socklen_t)n);
}

static int print_flow(void *arg, const struct flow_key *k, const struct flow_val *v)
{
    struct window_ctx *w = arg;
    if (v->packets == 0)
        return 0;
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    addr_str(k, k->src, src, sizeof src);
    addr_str(k, k->dst, dst, sizeof dst);
    printf("FLOW %llu %llu %s %s %s %s %s %u %u %u %llu %llu %u\n", (unsigned long long)w->start,
           (unsigned long long)w->end, w->res[k->slot].id, k->dir == FLOW_DIR_IN ? "in" : "out",
           k->action == FLOW_REJECT ? "REJECT" : "ACCEPT", src, dst, k->sport, k->dport, k->proto,
           (unsigned long long)v->packets, (unsigned long long)v->bytes, v->tcp_flags & 0x1ffu);
    w->lines++;
    return 0;
}

/* Prints the window's flows, SKIPDATA and NODATA lines; returns the flow lines. */
static size_t print_window(struct window_ctx *w)
{
    w->lines = 0;
    for (uint32_t s = 0; s < w->nres; s++) {
        size_t before = w->lines;
        flow_table_each(w->t, s, print_flow, w);
        struct res *r = &w->res[s];
        uint64_t lost = flow_table_skipped(w->t, s);
        for (int d = 0; d < 2; d++)
            if (r->skipped[d])
                printf("SKIPDATA %llu %llu %s %s %llu\n", (unsigned long long)w->start,
                       (unsigned long long)w->end, r->id, d ? "out" : "in",
                       (unsigned long long)r->skipped[d]);
        if (lost > r->skipped[0] + r->skipped[1]) /* lost in userspace or drained late */
            printf("SKIPDATA %llu %llu %s - %llu\n", (unsigned long long)w->start,
                   (unsigned long long)w->end, r->id,
                   (unsigned long long)(lost - r->skipped[0] - r->skipped[1]));
        if (w->lines == before && lost == 0)
            printf("NODATA %llu %llu %s\n", (unsigned long long)w->start,
                   (unsigned long long)w->end, r->id);
        r->skipped[0] = r->skipped[1] = 0;
    }
    printf("END %llu %llu\n", (unsigned long long)w->start, (unsigned long long)w->end);
    fflush(stdout);
    return w->lines;
}

/* Writes one flow log's records of table t for [start, end) to the sink. */
static int write_one_log(const struct flowlog_spec *fl, const struct flow_table *t,
                         const char *resource_id, const struct records_ctx *rc, uint64_t start,
                         uint64_t end, uint64_t skipped, struct buf *out, struct sink *sink)
{
    struct flow_log_desc d = {
        .slot = fl->slot, .account_id = rc->account, .resource_id = resource_id,
        .traffic_type = fl->traffic_type, .format = &fl->format, .win_start = start,
        .win_end = end, .skipped = skipped, .region = rc->region, .region_id = rc->region,
        .regions = rc->regions, .n_regions = rc->nregions,
    };
    size_t n = 0;
    char err[256];
    buf_reset(out);
    if (flow_write_records(t, &d, out, &n) != 0) {
        fprintf(stderr, "capture: %s: records of window %llu do not fit in memory\n", fl->id,
                (unsigned long long)start);
        return -1;
    }
    struct sink_window sw = {.flowlog_id = fl->id, .win_start = start, .win_end = end,
                             .records = out->data, .len = out->len, .nrecords = n};
    if (sink_write(sink, &sw, err, sizeof err) != 0) {
        fprintf(stderr, "capture: %s: %s\n", fl->id, err);
        return -1;
    }
    return 0;
}

struct acc_ctx {
    struct flow_table *acc;
};

static int acc_merge(void *arg, const struct flow_key *k, const struct flow_val *v)
{
    struct acc_ctx *a = arg;
    flow_table_merge(a->acc, k, v); /* a full table counts it as skipped for k->slot */
    return 0;
}

/* Writes each flow log's records for the window to the sink; a flow log with
 * a longer period adds the window to its period and writes at the period's
 * end. 0 or -1. */
static int write_records(struct window_ctx *w, struct flowlog_spec *fl, size_t nfl,
                         const struct records_ctx *rc, struct sink *sink)
{
    struct buf out;
    buf_init(&out, 1u << 30);
    int rc_ = 0;
    for (size_t i = 0; i < nfl && rc_ == 0; i++) {
        struct flowlog_spec *f = &fl[i];
        const char *rid = w->res[f->slot].id;
        if (!f->acc) {
            rc_ = write_one_log(f, w->t, rid, rc, w->start, w->end, 0, &out, sink);
            continue;
        }
        uint64_t pstart = flow_window_start(w->start, f->period);
        if (f->acc_start != pstart) {
            flow_table_clear(f->acc);
            f->acc_start = pstart;
            f->acc_partial = w->start != pstart; /* the capture began inside it */
        }
        struct acc_ctx a = {.acc = f->acc};
        flow_table_each(w->t, f->slot, acc_merge, &a);
        uint64_t lost = flow_table_skipped(w->t, f->slot);
        if (lost)
            flow_table_note_skipped(f->acc, f->slot, lost);
        if (w->end == flow_window_end(pstart, f->period)) {
            rc_ = write_one_log(f, f->acc, rid, rc, pstart, w->end, f->acc_partial ? 1 : 0, &out,
                                sink);
            f->acc_start = 0;
        }
    }
    buf_free(&out);
    return rc_;
}

/* At stop: each flow log's period in progress, written as it is, SKIPDATA
 * (the capture ended inside it). 0 or -1. */
static int flush_periods(struct window_ctx *w, struct flowlog_spec *fl, size_t nfl,
                         const struct records_ctx *rc, struct sink *sink)
{
    struct buf out;
    buf_init(&out, 1u << 30);
    int rc_ = 0;
    for (size_t i = 0; i < nfl && rc_ == 0; i++) {
        struct flowlog_spec *f = &fl[i];
        if (!f->acc || !f->acc_start)
            continue;
        rc_ = write_one_log(f, f->acc, w->res[f->slot].id, rc, f->acc_start,
                            flow_window_end(f->acc_start, f->period), 1, &out, sink);
        f->acc_start = 0;
    }
    buf_free(&out);
    return rc_;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_flowlog(const char *spec, const struct res *res, size_t nres, uint32_t window_s,
                         struct flowlog_spec *out)
{
    char buf[1024];
    if (strlen(spec) >= sizeof buf)
        return -1;
    snprintf(buf, sizeof buf, "%s", spec);
    char *eq = strchr(buf, '=');
    if (!eq || eq == buf || (size_t)(eq - buf) >= sizeof out->id)
        return -1;
    *eq = 0;
    if (!sink_id_ok(buf))
        return -1;
    memcpy(out->id, buf, (size_t)(eq - buf) + 1); /* fits: checked above */
    out->traffic_type = FLOW_TT_ALL;
    out->format = flow_format_eni;
    out->period = 0;
    char *save = NULL, *rid = strtok_r(eq + 1, ":", &save);
    if (!rid)
        return -1;
    for (char *it = strtok_r(NULL, ":", &save); it; it = strtok_r(NULL, ":", &save)) {
        char ferr[128];
        if (strcmp(it, "ACCEPT") == 0) {
            out->traffic_type = FLOW_TT_ACCEPT;
        } else if (strcmp(it, "REJECT") == 0) {
            out->traffic_type = FLOW_TT_REJECT;
        } else if (strcmp(it, "ALL") == 0) {
            out->traffic_type = FLOW_TT_ALL;
        } else if (strncmp(it, "format=", 7) == 0) {
            if (flow_format_parse(&out->format, it + 7, ferr, sizeof ferr) != 0) {
                fprintf(stderr, "capture: --flowlog %s: %s\n", spec, ferr);
                return -1;
            }
        } else if (strncmp(it, "period=", 7) == 0) {
            char *end;
            unsigned long p = strtoul(it + 7, &end, 10);
            if (*end || p == 0 || p > 86400 || p % window_s) {
                fprintf(stderr, "capture: --flowlog %s: period must be a multiple of --window\n",
                        spec);
                return -1;
            }
            out->period = p == window_s ? 0 : (uint32_t)p;
        } else {
            return -1;
        }
    }
    for (size_t i = 0; i < nres; i++)
        if (strcmp(res[i].id, rid) == 0) {
            out->slot = (uint32_t)i;
            return 0;
        }
    return -1;
}

/* --attached-vpc CIDR=REGION: an address prefix and its region. 0 or -1. */
static int parse_attached(char *spec, struct flow_region_cidr *out)
{
    char *eq = strchr(spec, '='), *slash = strchr(spec, '/');
    if (!eq || !eq[1] || !slash || slash > eq)
        return -1;
    *eq = 0;
    *slash = 0;
    char *end;
    unsigned long bits = strtoul(slash + 1, &end, 10);
    if (*end || end == slash + 1 || capture_parse_addr(spec, out->addr) != 0)
        return -1;
    int v4 = strchr(spec, ':') == NULL;
    if (bits > (v4 ? 32u : 128u))
        return -1;
    out->prefix = (uint8_t)(v4 ? 96 + bits : bits);
    out->region = eq + 1;
    return 0;
}

/* --by-address ID=ADDR[,ADDR...]: a resource seen on the shared devices */
static int add_by_address(struct capture *c, struct window_ctx *wc, const char *arg)
{
    char spec[512];
    snprintf(spec, sizeof spec, "%s", arg);
    char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1] || (size_t)(eq - spec) >= sizeof wc->res[0].id) {
        fprintf(stderr, "capture: --by-address %s: ID=ADDR[,ADDR...]\n", arg);
        return -1;
    }
    *eq = 0;
    uint32_t slot = UINT32_MAX;
    for (size_t i = 0; i < wc->nres; i++)
        if (strcmp(wc->res[i].id, spec) == 0)
            slot = (uint32_t)i; /* also watched by a device of its own */
    if (slot == UINT32_MAX) {
        if (wc->nres == MAX_RES) {
            fprintf(stderr, "capture: at most %d resources\n", MAX_RES);
            return -1;
        }
        slot = (uint32_t)wc->nres++;
        memcpy(wc->res[slot].id, spec, (size_t)(eq - spec) + 1); /* fits: checked above */
    }
    char *save = NULL;
    for (char *a = strtok_r(eq + 1, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        uint8_t addr[16];
        if (capture_parse_addr(a, addr) != 0) {
            fprintf(stderr, "capture: --by-address: address %s: not an IP address\n", a);
            return -1;
        }
        if (capture_set_byaddr(c, addr, slot) != 0) {
            fprintf(stderr, "capture: --by-address: address %s: the map is full\n", a);
            return -1;
        }
    }
    return 0;
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
    const char *watch[OPTS_MAX], *fls[OPTS_MAX];
    int nwatch = opts_all(&o, "watch", watch, OPTS_MAX);
    int nfls = opts_all(&o, "flowlog", fls, OPTS_MAX);
    const char *records = opts_get(&o, "records"), *account = opts_get(&o, "account");
    if (nfls > 0 && (!records || !account)) {
        fprintf(stderr, "capture: --flowlog needs --records DIR and --account APPID\n");
        return 2;
    }
    static struct res res[MAX_RES];
    static struct flowlog_spec fl[MAX_FLOWLOGS];
    static char attached_buf[MAX_RES][256];
    static struct flow_region_cidr attached[MAX_RES];
    const char *att[OPTS_MAX];
    int natt = opts_all(&o, "attached-vpc", att, OPTS_MAX);
    struct records_ctx rctx = {.account = account, .region = opts_get(&o, "region"),
                               .regions = attached, .window_s = co.window_s};
    struct window_ctx wc = {.res = res};
    struct sink *sink = NULL;
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
        if (!eq || eq == spec || !eq[1] || wc.nres == MAX_RES) {
            fprintf(stderr, "capture: --watch %s: DEV=ID[,ADDR...]\n", watch[i]);
            goto out;
        }
        *eq = 0;
        char *save = NULL, *id = strtok_r(eq + 1, ",", &save);
        if (!id || strlen(id) >= sizeof res[0].id) {
            fprintf(stderr, "capture: --watch %s: bad resource id\n", watch[i]);
            goto out;
        }
        uint32_t slot = (uint32_t)wc.nres++;
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
    const char *shared[OPTS_MAX], *byaddr[OPTS_MAX];
    int nshared = opts_all(&o, "shared", shared, OPTS_MAX);
    int nbyaddr = opts_all(&o, "by-address", byaddr, OPTS_MAX);
    if ((nshared > 0) != (nbyaddr > 0)) {
        fprintf(stderr, "capture: --shared DEV and --by-address ID=ADDR go together\n");
        goto out;
    }
    for (int i = 0; i < nshared; i++)
        if (capture_watch_shared(c, shared[i], err, sizeof err) != 0) {
            fprintf(stderr, "capture: %s\n", err);
            goto out;
        }
    for (int i = 0; i < nbyaddr; i++)
        if (add_by_address(c, &wc, byaddr[i]) != 0)
            goto out;
    if (wc.nres == 0) {
        fprintf(stderr, "capture: nothing to watch (--watch DEV=ID)\n");
        opts_usage(stderr, capture_opts_table, synopsis);
        goto out;
    }
    if (nfls > MAX_FLOWLOGS) {
        fprintf(stderr, "capture: at most %d --flowlog\n", MAX_FLOWLOGS);
        goto out;
    }
    for (int i = 0; i < nfls; i++) {
        if (parse_flowlog(fls[i], res, wc.nres, co.window_s, &fl[i]) != 0) {
            fprintf(stderr,
                    "capture: --flowlog %s: FLOWLOG-ID=ID[:ACCEPT|REJECT|ALL][:format=F]"
                    "[:period=S], ID one of the watched resources\n",
                    fls[i]);
            goto out;
        }
        if (fl[i].period && !(fl[i].acc = flow_table_new(co.table_flows))) {
            fprintf(stderr, "capture: out of memory for a %u-flow table\n", co.table_flows);
            goto out;
        }
    }
    if (natt > MAX_RES) {
        fprintf(stderr, "capture: at most %d --attached-vpc\n", MAX_RES);
        goto out;
    }
    for (int i = 0; i < natt; i++) {
        snprintf(attached_buf[i], sizeof attached_buf[i], "%s", att[i]);
        if (strlen(att[i]) >= sizeof attached_buf[i] ||
            parse_attached(attached_buf[i], &attached[i]) != 0) {
            fprintf(stderr, "capture: --attached-vpc %s: CIDR=REGION\n", att[i]);
            goto out;
        }
        rctx.nregions++;
    }
    if (nfls > 0 && !(sink = sink_files_open(records, err, sizeof err))) {
        fprintf(stderr, "capture: --records %s: %s\n", records, err);
        goto out;
    }
    wc.t = flow_table_new(co.table_flows);
    if (!wc.t) {
        fprintf(stderr, "capture: out of memory for a %u-flow table\n", co.table_flows);
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* a stop request must not fail a drain in progress */
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
        uint64_t t0 = realtime_ns();
        flow_table_clear(wc.t);
        wc.entries = 0;
        wc.start = w * co.window_s;
        wc.end = (w + 1) * co.window_s;
        int late = capture_drain(c, w, on_entry, on_skip, &wc);
        if (late < 0)
            goto out;
        if (late) /* the half already held a later window: this one is not whole */
            for (uint32_t s = 0; s < wc.nres; s++)
                flow_table_note_skipped(wc.t, s, 1);
        uint64_t t1 = realtime_ns();
        size_t lines = print_window(&wc);
        if (sink && write_records(&wc, fl, (size_t)nfls, &rctx, sink) != 0)
            goto out;
        if (opts_get(&o, "stats"))
            fprintf(stderr, "STATS window=%llu entries=%zu flows=%zu us=%.1f drain_us=%.1f\n",
                    (unsigned long long)wc.start, wc.entries, lines,
                    (double)(realtime_ns() - t0) / 1000.0, (double)(t1 - t0) / 1000.0);
        done++;
        w++;
        /* stopping: drain every window up to the current one, then stop */
        if (g_stop && w > capture_window_of(c, realtime_ns()))
            break;
    }
    if (sink && flush_periods(&wc, fl, (size_t)nfls, &rctx, sink) != 0)
        goto out;
    rc = 0;
    uint64_t runs, ns;
    if (opts_get(&o, "stats") && capture_prog_stats(c, &runs, &ns) == 0)
        fprintf(stderr, "BPFSTATS runs=%llu ns=%llu\n", (unsigned long long)runs,
                (unsigned long long)ns);
out:
    for (int i = 0; i < nfls && i < MAX_FLOWLOGS; i++) {
        flow_table_free(fl[i].acc);
        fl[i].acc = NULL;
    }
    capture_close(c);
    sink_close(sink);
    flow_table_free(wc.t);
    return rc;
}
