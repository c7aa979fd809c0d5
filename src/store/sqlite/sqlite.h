/* sqlite.h: what the SQLite store offers beyond store.h: the choice of
 * engine at open, and diagnostics. */
#ifndef FLOWLOGD_STORE_SQLITE_SQLITE_H
#define FLOWLOGD_STORE_SQLITE_SQLITE_H

#include <stdint.h>

#include "store/store.h"

/** Opens the store in `dir` with the engine `engine`: "tuned" (the
 * default, also for NULL or "") or "plain" (SQLite's own VFS, reads and
 * checkpoints; see docs/ARCHITECTURE.md). store_open_sqlite (store.h) is
 * this with the engine named by $FLOWLOGD_SQLITE_ENGINE. NULL with e set. */
struct store *store_open_sqlite_engine(const char *dir, const char *engine, struct serr *e);

/** 1 if `engine` names an engine of store_open_sqlite_engine, else 0. */
int store_sqlite_engine_known(const char *engine);

/** The engine of a store opened by store_open_sqlite*: "tuned" or "plain". */
const char *store_sqlite_engine(struct store *s);

/** Group-commit counters of a store opened by store_open_sqlite: `commits`
 * is the number of write transactions the writer committed, `jobs` the
 * number of write operations they carried (jobs / commits = mean batch).
 * Either pointer may be NULL. `s` must come from store_open_sqlite. */
void store_sqlite_stats(struct store *s, uint64_t *commits, uint64_t *jobs);

/** Everything the engine counts (tests, diagnostics). The checkpoint
 * figures are the tuned engine's (zero for the plain engine, whose
 * checkpoints are SQLite's own). */
struct store_sqlite_info {
    const char *engine;
    uint64_t commits, jobs;
    int wal_buffered;          /* the writer's WAL writes are coalesced */
    int ckpt_pages, ckpt_hard; /* thresholds, in WAL frames */
    int valve_step;            /* frames between valve RESTARTs that readers refused */
    long long wal_ceiling;     /* bytes (FLOWLOGD_SQLITE_WAL_MB), 0: none */
    int idle_truncate;         /* an idle writer empties the WAL file */
    uint64_t ckpt_runs;        /* background passes */
    uint64_t ckpt_restarts;    /* RESTARTs after the checkpointer caught up */
    uint64_t ckpt_valves;      /* RESTARTs at the hard limit */
    uint64_t ckpt_failed;      /* RESTARTs that did not finish */
    uint64_t ckpt_wraps;       /* times the WAL started again */
    int ckpt_max_frames;       /* largest WAL seen after a commit */
    /* resource pages past Offset 0 without filters (sqlite_pagekeys.h):
     * seeks from where an earlier page ended, and those that skipped */
    uint64_t page_seeks, page_skips;
};
void store_sqlite_info(struct store *s, struct store_sqlite_info *out);

/** Copies the database of data directory `dir` into the file `to` with
 * SQLite's online backup (one read transaction: a consistent snapshot,
 * while a server may be writing). The copy is written beside `to`,
 * fsync'd, then renamed over it; mode 0600, journal mode DELETE (no -wal).
 * STORE_OK, or STORE_ERR with e set (and no `to` made). */
int store_sqlite_backup(const char *dir, const char *to, struct serr *e);

#endif
