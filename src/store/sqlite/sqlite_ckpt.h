/* sqlite_ckpt.h: the tuned engine's checkpointer (see sqlite_ckpt.c). */
#ifndef FLOWLOGD_STORE_SQLITE_CKPT_H
#define FLOWLOGD_STORE_SQLITE_CKPT_H

#include <pthread.h>
#include <stdatomic.h>

#include "store/sqlite/sqlite_engine.h"

/** The handshake between the writer thread and the checkpointer thread:
 * one state, under sq_ckpt.mu.
 *   IDLE      nothing asked (or the last passes did not catch up)
 *   DUE       the writer asked for passes; the checkpointer will run them
 *   RUNNING   the checkpointer is running passes
 *   CAUGHT_UP its passes caught up with the WAL of the current generation:
 *             the writer may run its RESTART
 *   STOP      the store is closing (final; nothing leaves it)
 * The WAL starting again (a new generation) turns DUE and CAUGHT_UP into
 * IDLE; passes that were RUNNING then report for the old WAL and end IDLE. */
enum ck_state { CK_IDLE, CK_DUE, CK_RUNNING, CK_CAUGHT_UP, CK_STOP };

struct sq_ckpt {
    /* set before the thread starts */
    struct conn *w;        /* the writer's connection (the hook, the RESTART) */
    sqlite3_file *w_main;  /* its database file (the backlog, lock-free) */
    struct conn *ck;       /* the checkpointer's own connection */
    sqlite3_file *ck_main; /* its database file (synced after a pass) */
    int pages;             /* WAL frames that start a background checkpoint */
    int tail;              /* a pass that copied at most this many "caught up" */
    int restart_backlog;   /* the RESTART waits for at most this many frames to copy */
    int hard;              /* WAL frames above which the writer RESTARTs whatever it costs */
    int valve_step;        /* after such a RESTART failed (readers), frames until the next try */
    long long wal_ceiling; /* bytes, 0: none (FLOWLOGD_SQLITE_WAL_MB) */
    int idle_truncate;     /* the idle writer empties the WAL file (sq_ckpt_idle) */
    /* > 0 while a checkpoint runs (passes or the RESTART): readers then
     * keep no read transaction between reads (sqlite_reader.c) */
    atomic_int active;

    pthread_mutex_t mu; /* state, gen, stats */
    pthread_cond_t cv;  /* state became DUE or STOP */
    enum ck_state state;
    unsigned gen;       /* WAL generation: +1 each time the WAL starts again */
    struct sq_ckpt_stats stats;
    pthread_t thread;
    int started;

    /* the writer thread's own bookkeeping (no lock) */
    struct {
        int wal_frames;    /* WAL frames after the writer's last commit */
        int asked_at;      /* wal_frames when the checkpointer was last asked */
        int valve_at;      /* RESTART whatever it costs once wal_frames reaches this */
        int restarted;     /* a RESTART succeeded: the next commit starts the WAL again */
    } wr;
};

/** Sets the thresholds from FLOWLOGD_SQLITE_CKPT_PAGES (or the default) and
 * the WAL's ceiling (FLOWLOGD_SQLITE_WAL_MB, see sqlite_ckpt.c) and
 * initialises the lock; sq_ckpt_fini undoes it (also after a failure).
 * STORE_OK, or STORE_ERR for a ceiling that is not a number. */
int sq_ckpt_init(struct sq_ckpt *k, struct serr *e);
/** journal_size_limit for the engine's connections: the ceiling; without
 * one, 64 MB or 1.25 times the hard limit if that is more. */
long long sq_ckpt_wal_limit(const struct sq_ckpt *k);
/** The writer's idle hooks (sqlite_writer.h): a WAL to empty, and the
 * TRUNCATE checkpoint that empties it. */
int sq_ckpt_idle_wanted(void *k);
void sq_ckpt_idle(void *k);
#define SQ_CKPT_IDLE_MS 1000
/** Starts the thread on k->ck and installs the WAL hook on k->w (in place
 * of SQLite's autocheckpoint). 0 or -1. */
int sq_ckpt_start(struct sq_ckpt *k);
/** The writer's after_batch hook (sqlite_writer.h): the RESTART. */
void sq_ckpt_after_batch(void *k);
/** Stops and joins the thread (the connections stay open). */
void sq_ckpt_stop(struct sq_ckpt *k);
void sq_ckpt_fini(struct sq_ckpt *k);
void sq_ckpt_stats(struct sq_ckpt *k, struct sq_ckpt_stats *out);

/** A checkpoint is running (relaxed: a hint for readers). */
static inline int sq_ckpt_running(const struct sq_ckpt *k)
{
    return atomic_load_explicit(&k->active, memory_order_relaxed) > 0;
}

#endif
