/* hist.c: the log-linear latency histogram. */
#include "hist.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
    unsigned e, shift;
    if (v < HIST_LINEAR)
        return (unsigned)v;
    if (v >> HIST_MAX_EXP)
        v = (1ull << HIST_MAX_EXP) - 1;
    e = 63u - (unsigned)__builtin_clzll(v); /* 7 .. 39 */
    shift = e - 6;                          /* v >> shift is in [64, 128) */
    return HIST_LINEAR + (shift - 1) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

/* The highest value that falls in bucket i. */
static uint64_t bucket_top(unsigned i)
{
    unsigned shift;
    uint64_t top;
    if (i < HIST_LINEAR)
        return i;
    shift = (i - HIST_LINEAR) / HIST_SUB + 1;
    top = (i - HIST_LINEAR) % HIST_SUB + HIST_SUB;
    return ((top + 1) << shift) - 1;
}

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof *h);
}

void hist_add(struct hist *h, uint64_t us)
{
    h->counts[bucket_of(us)]++;
    if (h->n == 0 || us < h->min)
        h->min = us;
    if (us > h->max)
        h->max = us;
    h->n++;
    h->sum += us;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    if (!from->n)
        return;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    if (into->n == 0 || from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
    into->n += from->n;
    into->sum += from->sum;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    uint64_t want, seen = 0;
    if (!h->n)
        return 0;
    if (q <= 0)
        return h->min;
    want = (uint64_t)(q * (double)h->n + 0.999999);
    if (want < 1)
        want = 1;
    if (want > h->n)
        want = h->n;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            uint64_t t = bucket_top(i);
            return t > h->max ? h->max : t;
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->n ? (double)h->sum / (double)h->n : 0.0;
}
