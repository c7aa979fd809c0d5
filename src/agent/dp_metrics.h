/* dp_metrics.h: the data plane's counters for Prometheus, process-wide: what
 * the agent captured (packets and bytes by action, packets lost to a full
 * table, windows), the records it wrote (by action and log-status: REJECT,
 * NODATA, SKIPDATA), how full its last window's table was, and per sink
 * (files, cls, kafka) the windows delivered or refused, the records
 * delivered, the end of the newest window delivered (the lag is now minus
 * that) and what waits for a sink on disk (a delivery sink's: the record
 * files past its cursor, deliver.c). The agent (agent.c, deliver.c) calls
 * the hooks; `serve --capture` writes them on the admin
 * listener's /metrics. Every hook is thread-safe (relaxed atomics; the sink
 * table takes a mutex only to add a name). Time is passed in. */
#ifndef FLOWLOGD_AGENT_DP_METRICS_H
#define FLOWLOGD_AGENT_DP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct flow_format;

/** One drained table entry (a per-CPU copy: they add up): its action
 * (FLOW_ACCEPT or FLOW_REJECT), packets and bytes. */
void dp_metrics_entry(int action, uint64_t packets, uint64_t bytes);

/** Packets the kernel could not count (a full table half, a lost window). */
void dp_metrics_skipped(uint64_t packets);

/** A window closed and was drained: its table's flows and capacity. */
void dp_metrics_window(uint64_t flows, uint64_t capacity);

/** The record lines written for one flow log's window in `fmt` (NULL:
 * Tencent's ENI format): counted by their action and log-status fields. */
void dp_metrics_records(const struct flow_format *fmt, const char *text, size_t len);

/** A sink's answer for one flow log's window that ends at `win_end`
 * (seconds since the epoch): ok (nrecords delivered) or not. At most 16
 * sink names are told apart; more count as "other". */
void dp_metrics_delivery(const char *sink, int ok, uint64_t nrecords, uint64_t win_end);

/** A sink's spool now: its bytes and the windows waiting in it. */
void dp_metrics_spool(const char *sink, uint64_t bytes, uint64_t windows);

/** Whether any window or delivery was counted (an agent ran here). */
int dp_metrics_active(void);

/** Appends the flowlogd_dataplane_* and flowlogd_sink_* families at time
 * `now_s`. 0, or -1 (out of memory or over out's ceiling). */
int dp_metrics_write(struct buf *out, uint64_t now_s);

#endif
