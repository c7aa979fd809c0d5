/* sqlite_engine.h: the seam between the SQLite store's domain files and the
 * machinery that runs their SQL (not for other layers).
 *
 * Layout of the backend (an arrow: "includes / calls"; no circle):
 *
 *   sqlite.c (root: store_open_sqlite, the ops table, the schema)
 *     -> sqlite_account.c sqlite_flowlog.c sqlite_resource.c sqlite_tags.c
 *        (the domain: plain SQL over a `struct conn`, through sqlite_domain.h)
 *     -> sqlite_engine.h: an engine, chosen at open
 *          sqlite_tuned.c   the tuned engine: its VFS (sqlite_vfs.c), read
 *                           transactions kept between reads and their reaper
 *                           (sqlite_reaper.c), the checkpointer
 *                           (sqlite_ckpt.c), the writer and its waker
 *          sqlite_plain.c   the plain engine: SQLite's own unix VFS, one read
 *                           transaction per read, SQLite's own checkpoints,
 *                           the same writer (no waker)
 *          sqlite_writer.c  the group-commit writer thread (and the waker)
 *   -> sqlite_int.h / sqlite_conn.c: one connection, the statement table,
 *      helpers (the bottom: includes nothing of the backend)
 *
 * A domain file sees a `struct conn` (a database handle and its prepared
 * statements) and four calls: begin and end a read, run a write job and
 * wait for it to be durable, or queue one and be called back. Threads,
 * mutexes, read-transaction reuse and checkpoints stay in the engines.
 */
#ifndef FLOWLOGD_STORE_SQLITE_ENGINE_H
#define FLOWLOGD_STORE_SQLITE_ENGINE_H

#include <stdatomic.h>
#include <stdint.h>

#include "store/sqlite/sqlite_int.h"

/** A write operation, run by the writer thread inside its own savepoint of
 * a group-commit transaction. */
typedef int (*wjob_fn)(struct conn *w, void *arg, struct serr *e);

/** A queued write. A blocking caller's lives on its stack until `done` is
 * 1; `done` is also the futex word the caller sleeps on. An asynchronous
 * one has `complete` instead, which is called (on the writer's or the
 * waker's thread) in place of the wake-up, once the job's batch committed
 * or failed; j->rc then holds the result (STORE_OK: durable). */
struct wjob {
    wjob_fn fn;
    void *arg;
    struct serr *err; /* never NULL */
    int rc;
    atomic_int done; /* set by the writer (release) after rc and *err */
    struct wjob *next;
    void (*complete)(struct wjob *j); /* NULL: a blocking caller waits on `done` */
    void *ud;                         /* complete's own pointer (its owner) */
};

/** Checkpoint counters of the tuned engine (sqlite_ckpt.c); zero for the
 * plain engine. */
struct sq_ckpt_stats {
    uint64_t runs;     /* background (PASSIVE) checkpoint passes that ran */
    uint64_t restarts; /* RESTARTs the writer ran because the checkpointer caught up */
    uint64_t valves;   /* RESTARTs the writer ran because the WAL reached ckpt_hard */
    uint64_t failed;   /* RESTARTs that did not finish (readers, the checkpoint lock) */
    uint64_t wraps;    /* times the WAL started again from its beginning */
    int max_frames;    /* largest WAL seen after a commit (from ckpt_pages up), in frames */
};

struct sq_engine_stats {
    const char *engine;    /* "tuned" or "plain" */
    uint64_t commits;      /* write transactions the writer committed */
    uint64_t jobs;         /* write operations they carried */
    int wal_buffered;      /* the writer's WAL writes are coalesced (tuned: sqlite_vfs.c) */
    int ckpt_pages;        /* WAL frames that start a background checkpoint (tuned) */
    int ckpt_hard;         /* the valve (tuned) */
    int valve_step;        /* frames between valve tries (tuned) */
    long long wal_ceiling; /* bytes, 0: none (FLOWLOGD_SQLITE_WAL_MB) */
    int idle_truncate;     /* an idle writer empties the WAL file */
    struct sq_ckpt_stats ckpt;
    const struct store_hist *commit_hist; /* the writer's (sq_writer_figures) */
    const struct store_hist *fsync_hist;  /* the WAL's fsyncs (tuned: sqlite_vfs.c), or NULL */
    uint64_t queued;                      /* writes waiting for the writer */
};

struct sq_engine;

struct sq_engine_ops {
    /** Gives this thread's reader connection, in a read transaction that
     * sees every commit acknowledged before the call; every statement up to
     * read_end sees that one snapshot. Fails if the thread is already inside
     * a read (a row callback calling the store again). */
    int (*read_begin)(struct sq_engine *g, struct conn **out, struct serr *e);
    void (*read_end)(struct sq_engine *g, struct conn *c);
    /** Runs fn(arg) on the writer and waits until its batch committed (or
     * failed). Returns the job's result; STORE_OK means durable. */
    int (*write)(struct sq_engine *g, wjob_fn fn, void *arg, struct serr *e);
    /** Queues j (fn, arg, err and complete set; the caller keeps it alive)
     * and returns at once: STORE_OK and j->complete(j) will run, or
     * STORE_ERR (closing) and it never runs. */
    int (*write_async)(struct sq_engine *g, struct wjob *j);
    void (*stats)(struct sq_engine *g, struct sq_engine_stats *out);
    /** Drains the writes, stops the threads, closes every connection (the
     * last one checkpoints and removes the WAL). No read may be running. */
    void (*close)(struct sq_engine *g);
};

struct sq_engine {
    const struct sq_engine_ops *ops;
};

/** Called once at open on the writer's connection, before any thread of
 * the engine starts (the schema: sqlite.c). STORE_OK or STORE_ERR. */
typedef int (*sq_prepare_fn)(struct conn *w, const char *path, struct serr *e);

/** Opens an engine on the database file `path` (which exists). NULL with e
 * set. */
struct sq_engine *sq_engine_open_tuned(const char *path, sq_prepare_fn prepare, struct serr *e);
struct sq_engine *sq_engine_open_plain(const char *path, sq_prepare_fn prepare, struct serr *e);

#endif
