/* sqlite.h: what the SQLite store offers beyond store.h (diagnostics). */
#ifndef FLOWLOGD_STORE_SQLITE_SQLITE_H
#define FLOWLOGD_STORE_SQLITE_SQLITE_H

#include <stdint.h>

#include "store/store.h"

/** Group-commit counters of a store opened by store_open_sqlite: `commits`
 * is the number of write transactions the writer committed, `jobs` the
 * number of write operations they carried (jobs / commits = mean batch).
 * Either pointer may be NULL. `s` must come from store_open_sqlite. */
void store_sqlite_stats(struct store *s, uint64_t *commits, uint64_t *jobs);

#endif
