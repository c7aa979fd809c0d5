/* ratelimit.h: token buckets per key (account + action). Time is passed in. */
#ifndef FLOWLOGD_RATELIMIT_RATELIMIT_H
#define FLOWLOGD_RATELIMIT_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/** A limiter whose buckets refill at `rate` per second up to `burst`
 * tokens (defaults; a call may override the rate). Thread-safe. Idle
 * buckets are forgotten after a while so memory stays bounded. */
struct ratelimit *rl_new(uint32_t rate, uint32_t burst);

/** Takes one token from the bucket of `key` at time now_ms. `rate`
 * overrides the default rate (and burst) when non-zero. Returns 1 if the
 * request may pass, 0 if it is over the limit. A clock that steps back
 * refills nothing. rate == UINT32_MAX means unlimited. */
int rl_take(struct ratelimit *rl, const char *key, uint64_t now_ms, uint32_t rate);

/** Number of buckets held now (for tests and metrics). Takes every
 * stripe's lock in turn, so the count is approximate under load. */
size_t rl_size(struct ratelimit *rl);

/** Frees the limiter and all its buckets. NULL is a no-op. */
void rl_free(struct ratelimit *rl);

#endif
