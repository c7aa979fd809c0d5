/* metrics.h: the API's request counters for Prometheus: answers by service,
 * action and code, and a latency histogram by service and action. Counted
 * without a lock (one atomic add per answer into arrays indexed by action
 * and error id, so the series are bounded: an unknown action counts as
 * action "-"). Written in the text exposition format by api_metrics_write. */
#ifndef FLOWLOGD_API_METRICS_H
#define FLOWLOGD_API_METRICS_H

#include <stdint.h>

#include "base/buf.h"

struct action_def;
struct api_metrics;

struct api_metrics *api_metrics_new(void);
void api_metrics_free(struct api_metrics *m);

/** One answer: its action (NULL: not an action of the table), its error id
 * (API_E_OK for success) and its latency. Any thread. */
void api_metrics_count(struct api_metrics *m, const struct action_def *def, int err,
                       uint64_t latency_us);

/** Appends the families flowlogd_requests_total and
 * flowlogd_request_duration_seconds. 0, or -1 (out of memory). */
int api_metrics_write(const struct api_metrics *m, struct buf *out);

#endif
