/* deliver.h: the agent's delivery sinks (CLS, Kafka, ...) behind the files
 * sink. The files sink is the durable copy, written by the capture loop;
 * delivery runs on a thread of its own, so that a slow or unreachable
 * destination never holds up the kernel's drains. For each delivery sink
 * and flow log a cursor (the end of the last window that sink acknowledged)
 * is kept in DIR/.agent/cursors/<sink>/<flow log>, written durably after
 * each acknowledgement: after a failure (retried with a back-off) or a
 * restart, delivery resumes from the files at the cursor. At least once: a
 * crash between an acknowledgement and its cursor's write sends that window
 * again (the CLS sink's batches carry an idempotency key of agent host, flow
 * log and window). A flow log a sink has no cursor for starts at the first
 * window written after the sink learned of it. */
#ifndef FLOWLOGD_AGENT_DELIVER_H
#define FLOWLOGD_AGENT_DELIVER_H

#include <stddef.h>
#include <stdint.h>

struct sink;
struct delivery;

/** A flow log to deliver and where (struct sink_dest's strings, copied). */
struct delivery_route {
    char flowlog_id[24];
    char storage_type[16], cls_topic[48], cls_region[32], ckafka_id[88], ckafka_topic[256];
    char brokers[512], resource_id[80], host[256], fields[512];
    uint64_t uin;
};

/** A delivery of the windows the files sink writes under `records` to
 * `sinks` (borrowed: the caller closes them after delivery_stop). With
 * `thread`, passes run on a thread of its own; without, only when
 * delivery_pass is called (tests). NULL with err. */
struct delivery *delivery_new(const char *records, struct sink **sinks, size_t nsinks, int thread,
                              char *err, size_t errlen);

/** The flow logs to deliver from now on (copied). A flow log that leaves
 * the list is no longer delivered (its cursor stays); one new to a sink is
 * delivered from the first window its files hold. */
void delivery_routes(struct delivery *d, const struct delivery_route *r, size_t n);

/** A window was written: deliver soon. */
void delivery_kick(struct delivery *d);

/** One pass over every sink and flow log (what the thread runs). Returns the
 * number of windows delivered, or -1 when a sink failed (it backs off). */
long delivery_pass(struct delivery *d);

/** Stops the thread (after the pass in progress) and frees d (NULL is
 * fine). */
void delivery_stop(struct delivery *d);

#endif
