/* dp_metrics.c: the data plane's counters (see dp_metrics.h). */
#include "agent/dp_metrics.h"

#include "flow/flow.h"
#include "flow/flow_key.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define DP_SINKS 16
#define ADD(a, n) atomic_fetch_add_explicit(&(a), (n), memory_order_relaxed)
#define SET(a, n) atomic_store_explicit(&(a), (n), memory_order_relaxed)
#define GET(a) atomic_load_explicit(&(a), memory_order_relaxed)

/* record lines by (action, log-status) */
enum { RA_ACCEPT, RA_REJECT, RA_NONE, RA_N };
enum { RS_OK, RS_NODATA, RS_SKIPDATA, RS_N };
static const char *const ra_name[RA_N] = {"ACCEPT", "REJECT", "-"};
static const char *const rs_name[RS_N] = {"OK", "NODATA", "SKIPDATA"};

struct dp_sink {
    char name[24];
    _Atomic uint64_t ok, failed, records, last_end, spool_bytes, spool_windows;
};

static struct {
    _Atomic uint64_t packets[2], bytes[2], skipped, windows, flows, capacity;
    _Atomic uint64_t records[RA_N][RS_N];
    _Atomic int active;
    _Atomic size_t nsinks;
    struct dp_sink sinks[DP_SINKS + 1]; /* the last one: "other" */
    pthread_mutex_t lock;
} dp = {.lock = PTHREAD_MUTEX_INITIALIZER, .sinks[DP_SINKS] = {.name = "other"}};

void dp_metrics_entry(int action, uint64_t packets, uint64_t bytes)
{
    int a = action == FLOW_REJECT;
    ADD(dp.packets[a], packets);
    ADD(dp.bytes[a], bytes);
}

void dp_metrics_skipped(uint64_t packets)
{
    ADD(dp.skipped, packets);
}

void dp_metrics_window(uint64_t flows, uint64_t capacity)
{
    ADD(dp.windows, 1);
    SET(dp.flows, flows);
    SET(dp.capacity, capacity);
    SET(dp.active, 1);
}

/* The field at position `want` of a line [p, end), or NULL; *n its length. */
static const char *field_at(const char *p, const char *end, int want, size_t *n)
{
    for (int i = 0; p < end; i++) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *fe = sp ? sp : end;
        if (i == want) {
            *n = (size_t)(fe - p);
            return p;
        }
        if (!sp)
            break;
        p = sp + 1;
    }
    return NULL;
}

#define IS(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp((s), (lit), (n)) == 0)

void dp_metrics_records(const struct flow_format *fmt, const char *text, size_t len)
{
    int fa = -1, fs = -1;
    const char *p = text, *end = text + len;
    if (!fmt)
        fmt = &flow_format_eni;
    for (int i = 0; i < fmt->n; i++) {
        if (fmt->field[i] == FF_ACTION)
            fa = i;
        else if (fmt->field[i] == FF_LOG_STATUS)
            fs = i;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *v;
        size_t n = 0;
        int a = RA_NONE, s = RS_OK;
        if (le > p) {
            if (fa >= 0 && (v = field_at(p, le, fa, &n)))
                a = IS(v, n, "ACCEPT") ? RA_ACCEPT : IS(v, n, "REJECT") ? RA_REJECT : RA_NONE;
            if (fs >= 0 && (v = field_at(p, le, fs, &n)))
                s = IS(v, n, "NODATA") ? RS_NODATA : IS(v, n, "SKIPDATA") ? RS_SKIPDATA : RS_OK;
            ADD(dp.records[a][s], 1);
        }
        p = le + 1;
    }
}

/* The sink named `name`, added on first use; the "other" row when full. */
static struct dp_sink *sink_of(const char *name)
{
    size_t n = atomic_load_explicit(&dp.nsinks, memory_order_acquire);
    if (!name || !*name)
        name = "-";
    for (size_t i = 0; i < n; i++)
        if (strcmp(dp.sinks[i].name, name) == 0)
            return &dp.sinks[i];
    pthread_mutex_lock(&dp.lock);
    n = atomic_load_explicit(&dp.nsinks, memory_order_relaxed);
    struct dp_sink *s = NULL;
    for (size_t i = 0; i < n && !s; i++)
        if (strcmp(dp.sinks[i].name, name) == 0)
            s = &dp.sinks[i];
    if (!s && n < DP_SINKS && strlen(name) < sizeof dp.sinks[n].name) {
        s = &dp.sinks[n];
        snprintf(s->name, sizeof s->name, "%s", name);
        atomic_store_explicit(&dp.nsinks, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&dp.lock);
    return s ? s : &dp.sinks[DP_SINKS];
}

void dp_metrics_delivery(const char *sink, int ok, uint64_t nrecords, uint64_t win_end)
{
    struct dp_sink *s = sink_of(sink);
    SET(dp.active, 1);
    if (!ok) {
        ADD(s->failed, 1);
        return;
    }
    ADD(s->ok, 1);
    ADD(s->records, nrecords);
    uint64_t prev = GET(s->last_end);
    while (prev < win_end && !atomic_compare_exchange_weak_explicit(
                                 &s->last_end, &prev, win_end, memory_order_relaxed,
                                 memory_order_relaxed))
        ;
}

void dp_metrics_spool(const char *sink, uint64_t bytes, uint64_t windows)
{
    struct dp_sink *s = sink_of(sink);
    SET(s->spool_bytes, bytes);
    SET(s->spool_windows, windows);
}

int dp_metrics_active(void)
{
    return GET(dp.active);
}

static int put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(struct buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= sizeof line ? -1 : buf_append(b, line, (size_t)n);
}

typedef unsigned long long ull;

int dp_metrics_write(struct buf *b, uint64_t now_s)
{
    int bad = 0;
    uint64_t flows = GET(dp.flows), cap = GET(dp.capacity);
    bad |= put(b, "# HELP flowlogd_dataplane_windows_total Capture windows closed and drained.\n"
                  "# TYPE flowlogd_dataplane_windows_total counter\n"
                  "flowlogd_dataplane_windows_total %llu\n",
               (ull)GET(dp.windows));
    bad |= put(b, "# HELP flowlogd_dataplane_packets_total Packets counted in the kernel, by "
                  "action (REJECT: dropped by a verdict of the host).\n"
                  "# TYPE flowlogd_dataplane_packets_total counter\n"
                  "flowlogd_dataplane_packets_total{action=\"ACCEPT\"} %llu\n"
                  "flowlogd_dataplane_packets_total{action=\"REJECT\"} %llu\n",
               (ull)GET(dp.packets[0]), (ull)GET(dp.packets[1]));
    bad |= put(b, "# HELP flowlogd_dataplane_bytes_total IP bytes counted in the kernel, by "
                  "action.\n"
                  "# TYPE flowlogd_dataplane_bytes_total counter\n"
                  "flowlogd_dataplane_bytes_total{action=\"ACCEPT\"} %llu\n"
                  "flowlogd_dataplane_bytes_total{action=\"REJECT\"} %llu\n",
               (ull)GET(dp.bytes[0]), (ull)GET(dp.bytes[1]));
    bad |= put(b, "# HELP flowlogd_dataplane_skipped_packets_total Packets not counted because "
                  "a window's table was full or the window was lost (their records say "
                  "SKIPDATA).\n"
                  "# TYPE flowlogd_dataplane_skipped_packets_total counter\n"
                  "flowlogd_dataplane_skipped_packets_total %llu\n",
               (ull)GET(dp.skipped));
    bad |= put(b, "# HELP flowlogd_dataplane_records_total Record lines written, by action "
                  "and log-status.\n"
                  "# TYPE flowlogd_dataplane_records_total counter\n");
    for (int a = 0; a < RA_N; a++)
        for (int s = 0; s < RS_N; s++)
            bad |= put(b, "flowlogd_dataplane_records_total{action=\"%s\",log_status=\"%s\"} %llu\n",
                       ra_name[a], rs_name[s], (ull)GET(dp.records[a][s]));
    bad |= put(b, "# HELP flowlogd_dataplane_table_flows Flows in the last drained window's "
                  "table.\n"
                  "# TYPE flowlogd_dataplane_table_flows gauge\n"
                  "flowlogd_dataplane_table_flows %llu\n"
                  "# HELP flowlogd_dataplane_table_capacity_flows The window table's capacity.\n"
                  "# TYPE flowlogd_dataplane_table_capacity_flows gauge\n"
                  "flowlogd_dataplane_table_capacity_flows %llu\n"
                  "# HELP flowlogd_dataplane_table_fill_ratio Flows over capacity in the last "
                  "drained window (1: full, records say SKIPDATA).\n"
                  "# TYPE flowlogd_dataplane_table_fill_ratio gauge\n"
                  "flowlogd_dataplane_table_fill_ratio %.6f\n",
               (ull)flows, (ull)cap, cap ? (double)flows / (double)cap : 0.0);

    size_t n = atomic_load_explicit(&dp.nsinks, memory_order_acquire);
    struct dp_sink *rows[DP_SINKS + 1];
    size_t nr = 0;
    for (size_t i = 0; i < n; i++)
        rows[nr++] = &dp.sinks[i];
    if (GET(dp.sinks[DP_SINKS].ok) || GET(dp.sinks[DP_SINKS].failed))
        rows[nr++] = &dp.sinks[DP_SINKS];
    bad |= put(b, "# HELP flowlogd_sink_windows_total Flow-log windows handed to a sink, by "
                  "result.\n"
                  "# TYPE flowlogd_sink_windows_total counter\n");
    for (size_t i = 0; i < nr; i++)
        bad |= put(b, "flowlogd_sink_windows_total{sink=\"%s\",result=\"ok\"} %llu\n"
                      "flowlogd_sink_windows_total{sink=\"%s\",result=\"failed\"} %llu\n",
                   rows[i]->name, (ull)GET(rows[i]->ok), rows[i]->name, (ull)GET(rows[i]->failed));
    bad |= put(b, "# HELP flowlogd_sink_records_total Record lines a sink acknowledged.\n"
                  "# TYPE flowlogd_sink_records_total counter\n");
    for (size_t i = 0; i < nr; i++)
        bad |= put(b, "flowlogd_sink_records_total{sink=\"%s\"} %llu\n", rows[i]->name,
                   (ull)GET(rows[i]->records));
    bad |= put(b, "# HELP flowlogd_sink_last_delivered_window_end_seconds End of the newest "
                  "window a sink acknowledged (seconds since the epoch; 0: none yet).\n"
                  "# TYPE flowlogd_sink_last_delivered_window_end_seconds gauge\n");
    for (size_t i = 0; i < nr; i++)
        bad |= put(b, "flowlogd_sink_last_delivered_window_end_seconds{sink=\"%s\"} %llu\n",
                   rows[i]->name, (ull)GET(rows[i]->last_end));
    bad |= put(b, "# HELP flowlogd_sink_delivery_lag_seconds Now minus the end of the newest "
                  "window a sink acknowledged (absent before its first).\n"
                  "# TYPE flowlogd_sink_delivery_lag_seconds gauge\n");
    for (size_t i = 0; i < nr; i++) {
        uint64_t e = GET(rows[i]->last_end);
        if (e)
            bad |= put(b, "flowlogd_sink_delivery_lag_seconds{sink=\"%s\"} %lld\n", rows[i]->name,
                       (long long)now_s - (long long)e);
    }
    bad |= put(b, "# HELP flowlogd_sink_spool_bytes Bytes waiting for a sink on disk (a "
                  "delivery sink's: the record files past its cursor; files: 0).\n"
                  "# TYPE flowlogd_sink_spool_bytes gauge\n");
    for (size_t i = 0; i < nr; i++)
        bad |= put(b, "flowlogd_sink_spool_bytes{sink=\"%s\"} %llu\n", rows[i]->name,
                   (ull)GET(rows[i]->spool_bytes));
    bad |= put(b, "# HELP flowlogd_sink_spool_windows Windows waiting in a sink's spool.\n"
                  "# TYPE flowlogd_sink_spool_windows gauge\n");
    for (size_t i = 0; i < nr; i++)
        bad |= put(b, "flowlogd_sink_spool_windows{sink=\"%s\"} %llu\n", rows[i]->name,
                   (ull)GET(rows[i]->spool_windows));
    return bad ? -1 : 0;
}
