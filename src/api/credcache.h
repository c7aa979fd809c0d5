/* credcache.h: a bounded cache of credentials by SecretId, with the TC3
 * signing key derived for the last (date, service) seen. It saves a store
 * read and three HMACs on nearly every request. Entries live at most
 * `ttl_ms`, so an admin change reaches a running server within that time.
 * Only found keys are cached: an unknown SecretId always asks the store, so a
 * key created by the CLI while the server runs works at once. */
#ifndef FLOWLOGD_API_CREDCACHE_H
#define FLOWLOGD_API_CREDCACHE_H

#include <stdint.h>

#include "store/store.h"

struct credcache;

/** A cache of 2^bits entries (at least 4), in sets of 4. NULL on OOM. */
struct credcache *credcache_new(unsigned bits, uint64_t ttl_ms);

/** Copies the cached key of `secret_id` into *out. Returns 1 on a hit. When
 * `date` and `service` are given and match the cached derivation, also copies
 * the derived key into signing[32] and sets *have_signing = 1. */
int credcache_get(struct credcache *cc, const char *secret_id, uint64_t now_ms,
                  const char *date, const char *service, struct key_info *out,
                  unsigned char signing[32], int *have_signing);

/** Stores `key` (and, when date/service are given, its derived signing key). */
void credcache_put(struct credcache *cc, const struct key_info *key, uint64_t now_ms,
                   const char *date, const char *service, const unsigned char signing[32]);

/** Forgets every entry (after keys were deleted: an admin reset). Any
 * thread. */
void credcache_clear(struct credcache *cc);

/** Frees the cache, wiping the secrets it held. NULL is fine. */
void credcache_free(struct credcache *cc);

#endif
