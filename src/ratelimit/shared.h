/* shared.h: the rate limit of a cluster, held in one Redis: a GCRA bucket
 * per key, tested and advanced by one Lua script (EVALSHA), on Redis's
 * clock. Every node of a cluster that names the same Redis shares the
 * buckets, so 20 requests/s per (account, action) hold across N nodes. */
#ifndef FLOWLOGD_RATELIMIT_SHARED_H
#define FLOWLOGD_RATELIMIT_SHARED_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct rl_shared;

/* What rl_shared_take says. */
enum rl_shared_verdict {
    RL_SHARED_DOWN = -1, /* Redis did not answer: the caller decides alone */
    RL_SHARED_REJECT = 0,
    RL_SHARED_PASS = 1,
};

/** A limiter on the Redis at `url`: redis://[:PASSWORD@]HOST[:PORT][/DB]
 * or unix:PATH. Connects lazily (a Redis that is down at start is not an
 * error: the first calls say RL_SHARED_DOWN). NULL with the reason in err
 * for a malformed URL or out of memory. */
struct rl_shared *rl_shared_new(const char *url, char *err, size_t errlen);

/** Takes one request from the bucket of `key` (rate per second, burst at
 * most `burst` requests at once). RL_SHARED_DOWN when Redis cannot be
 * reached or answers an error, at once (no connection attempt) for a second
 * after such a failure. Logs the change to down and back to up once each.
 * Thread-safe; blocks for one round trip to Redis (bounded by a 250 ms
 * timeout). */
enum rl_shared_verdict rl_shared_take(struct rl_shared *s, const char *key, uint32_t rate,
                                      uint32_t burst);

/** Appends the limiter's metrics (flowlogd_ratelimit_shared_*) in
 * Prometheus's text format. 0, or -1 (out of memory). */
int rl_shared_metrics(const struct rl_shared *s, struct buf *out);

/** The URL with any password replaced by "***", for logs. */
const char *rl_shared_where(const struct rl_shared *s);

/** Frees the limiter and its connections. No call may be running. NULL is a
 * no-op. */
void rl_shared_free(struct rl_shared *s);

#endif
