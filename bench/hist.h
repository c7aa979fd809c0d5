/* hist.h: a log-linear latency histogram in microseconds (HDR style).
 *
 * Values below 128 µs have their own bucket; above, every power of two is
 * split into 64 equal buckets, so any value is known to within 1/64 (1.6 %).
 * Covers up to 2^40 µs. Merging is adding counts. */
#ifndef FLOWLOGD_BENCH_HIST_H
#define FLOWLOGD_BENCH_HIST_H

#include <stdint.h>

#define HIST_LINEAR 128
#define HIST_SUB 64
#define HIST_MAX_EXP 40
#define HIST_BUCKETS (HIST_LINEAR + (HIST_MAX_EXP - 7) * HIST_SUB)

struct hist {
    uint64_t n, sum, min, max;
    uint64_t counts[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t us);
void hist_merge(struct hist *into, const struct hist *from);
/** The value at quantile q (0..1): the highest value of the bucket holding
 * it, capped at the maximum seen. 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

#endif
