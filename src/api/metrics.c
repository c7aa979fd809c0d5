/* metrics.c: see metrics.h. */
#include "api/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/action.h"
#include "base/apierr.h"

/* latency bucket bounds, in microseconds (le="0.0005" ... "2.5", then +Inf) */
static const uint64_t bounds_us[] = {500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
                                     250000, 500000, 1000000, 2500000};
#define NB (sizeof bounds_us / sizeof bounds_us[0])

struct per_action {
    atomic_uint_fast64_t codes[API_E__COUNT];
    atomic_uint_fast64_t buckets[NB + 1]; /* not cumulative; the last is +Inf */
    atomic_uint_fast64_t sum_us;
};

struct api_metrics {
    size_t n; /* actions + 1 ("-") */
    struct per_action a[];
};

struct api_metrics *api_metrics_new(void)
{
    size_t n = action_count() + 1;
    struct api_metrics *m = calloc(1, sizeof *m + n * sizeof m->a[0]);
    if (m)
        m->n = n;
    return m;
}

void api_metrics_free(struct api_metrics *m)
{
    free(m);
}

void api_metrics_count(struct api_metrics *m, const struct action_def *def, int err,
                       uint64_t latency_us)
{
    struct per_action *p;
    size_t b = 0;
    if (!m)
        return;
    p = &m->a[def ? action_index(def) : m->n - 1];
    if (err >= 0 && err < API_E__COUNT)
        atomic_fetch_add_explicit(&p->codes[err], 1, memory_order_relaxed);
    while (b < NB && latency_us > bounds_us[b])
        b++;
    atomic_fetch_add_explicit(&p->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->sum_us, latency_us, memory_order_relaxed);
}

static int printf_buf(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int printf_buf(struct buf *out, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    return buf_append(out, line, (size_t)n);
}

static void labels(const struct api_metrics *m, size_t i, const char **service,
                   const char **action)
{
    const struct action_def *d = i + 1 < m->n ? action_at(i) : NULL;
    *service = d ? d->service : "-";
    *action = d ? d->name : "-";
}

int api_metrics_write(const struct api_metrics *m, struct buf *out)
{
    int bad = 0;
    const char *svc, *act;

    bad |= printf_buf(out, "# HELP flowlogd_requests_total API answers, by service, action "
                           "and code (OK or the error code).\n"
                           "# TYPE flowlogd_requests_total counter\n");
    for (size_t i = 0; i < m->n; i++) {
        labels(m, i, &svc, &act);
        for (int e = 0; e < API_E__COUNT; e++) {
            uint64_t v = atomic_load_explicit(&m->a[i].codes[e], memory_order_relaxed);
            if (v)
                bad |= printf_buf(out,
                                  "flowlogd_requests_total{service=\"%s\",action=\"%s\",code=\"%s\"} "
                                  "%llu\n",
                                  svc, act, e == API_E_OK ? "OK" : apierr_code(e),
                                  (unsigned long long)v);
        }
    }
    bad |= printf_buf(out, "# HELP flowlogd_request_duration_seconds Time from a request's "
                           "arrival to its answer, by service and action.\n"
                           "# TYPE flowlogd_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n; i++) {
        uint64_t cum = 0, sum;
        labels(m, i, &svc, &act);
        for (size_t b = 0; b <= NB; b++)
            cum += atomic_load_explicit(&m->a[i].buckets[b], memory_order_relaxed);
        if (!cum)
            continue;
        cum = 0;
        for (size_t b = 0; b <= NB; b++) {
            cum += atomic_load_explicit(&m->a[i].buckets[b], memory_order_relaxed);
            if (b < NB)
                bad |= printf_buf(out,
                                  "flowlogd_request_duration_seconds_bucket{service=\"%s\","
                                  "action=\"%s\",le=\"%g\"} %llu\n",
                                  svc, act, (double)bounds_us[b] / 1e6, (unsigned long long)cum);
            else
                bad |= printf_buf(out,
                                  "flowlogd_request_duration_seconds_bucket{service=\"%s\","
                                  "action=\"%s\",le=\"+Inf\"} %llu\n",
                                  svc, act, (unsigned long long)cum);
        }
        sum = atomic_load_explicit(&m->a[i].sum_us, memory_order_relaxed);
        bad |= printf_buf(out,
                          "flowlogd_request_duration_seconds_sum{service=\"%s\",action=\"%s\"} "
                          "%.6f\n"
                          "flowlogd_request_duration_seconds_count{service=\"%s\",action=\"%s\"} "
                          "%llu\n",
                          svc, act, (double)sum / 1e6, svc, act, (unsigned long long)cum);
    }
    return bad ? -1 : 0;
}
