/* retention.h: the cls service's retention: a thread that deletes the logs
 * older than their topic's Period, every interval. */
#ifndef FLOWLOGD_SERVER_RETENTION_H
#define FLOWLOGD_SERVER_RETENTION_H

#include <stdint.h>

#include "store/store.h"

/* How often the logs past their Period are deleted (ms), unless
 * FLOWLOGD_CLS_RETENTION_MS says otherwise (tests). */
#define RETENTION_DEFAULT_MS 60000

struct retention;

/** Starts the thread over `st` (borrowed: it must outlive retention_stop);
 * NULL when the store keeps no CLS logs or the thread cannot start. */
struct retention *retention_start(struct store *st, uint64_t interval_ms);

/** Stops and joins the thread (NULL is fine). */
void retention_stop(struct retention *r);

#endif
