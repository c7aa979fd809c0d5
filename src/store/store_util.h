/* store_util.h: rules both store backends (sqlite/, pg/) apply the same way,
 * so that they cannot drift apart. Not part of store.h: the actions never
 * call these. */
#ifndef FLOWLOGD_STORE_STORE_UTIL_H
#define FLOWLOGD_STORE_STORE_UTIL_H

#include <stddef.h>

#include "store/store.h"

/** Normalises a key's action list "A, B,,A" into ",A,B," (duplicates
 * dropped; NULL or blank gives "", every action) in out[cap]. Names are
 * letters and digits. STORE_OK, or STORE_ERR with the reason in e. */
int store_normalize_actions(const char *in, char *out, size_t cap, struct serr *e);

/** Counts one sample of `us` microseconds in h. Any thread. */
void store_hist_add(struct store_hist *h, uint64_t us);

struct buf;
/** Appends h as the samples of Prometheus histogram `name` (its _bucket
 * lines with `labels`, e.g. "store=\"sqlite\"" or "", then _sum and
 * _count; the HELP and TYPE lines are the caller's). 0, or -1 (OOM). */
int store_hist_write(const struct store_hist *h, const char *name, const char *labels,
                     struct buf *out);

#endif
