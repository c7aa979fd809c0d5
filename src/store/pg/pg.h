/* pg.h: what callers outside store/pg may see of the PostgreSQL store
 * besides store.h (no libpq types). */
#ifndef FLOWLOGD_STORE_PG_PG_H
#define FLOWLOGD_STORE_PG_PG_H

#include <stdint.h>

#include "store/store.h"

/** Group-commit counters of a store opened by store_open_pg: committed
 * create batches, creates in them, batches replayed one job per
 * transaction, in-doubt commits settled by a lookup. */
void store_pg_stats(struct store *st, uint64_t *commits, uint64_t *jobs, uint64_t *replays,
                    uint64_t *settled);

/** What store_pg_migrate_from_sqlite copied: accounts, keys, resources,
 * flow logs, flow-log tag rows, host bindings, agent keys. */
struct pg_migrate_stats {
    uint64_t rows[11]; /* in the order cli/migrate.c prints them */
};

/** Copies the SQLite data directory `dir` into the (empty) PostgreSQL store
 * at `url`, in one transaction, then runs the PostgreSQL store's integrity
 * check. STORE_OK, or STORE_ERR with the reason (nothing copied). */
int store_pg_migrate_from_sqlite(const char *dir, const char *url, struct pg_migrate_stats *out,
                                 struct serr *e);

#endif
