/* sqlite_reader.c: reads. Each thread that reads gets its own connection
 * (opened on first use, closed when the thread exits), so reads never wait
 * for each other or for the writer (WAL).
 *
 * Read transactions kept between reads. Beginning and ending a read
 * transaction in WAL mode takes a shared lock on a read-mark slot of the
 * wal-index (a mutex shared by every connection of the process, and an
 * fcntl when no sibling holds that slot) and measures the database file:
 * with the two poll threads contending for that mutex it was ~15 % of a
 * DescribeFlowLogs. So a reader keeps its transaction open after a read,
 * and the next read reuses it if nothing changed since it began:
 * - before a transaction begins (before its first read) the reader copies
 *   the wal-index stamp (sq_vfs_wal_stamp: the published WAL header and
 *   the checkpoint's progress; every commit, checkpoint and WAL restart of
 *   any connection in any process changes it);
 * - the next read compares the stamp again: equal means that no commit was
 *   published since the copy, so the open snapshot is the latest one and
 *   the read sees every commit made before it began, exactly as a new
 *   transaction would (a commit is acknowledged to a client only after its
 *   header was published, so a request that follows the answer sees the
 *   change); different, and the transaction is ended and a new one begun.
 *   A stamp copied while a commit is being published may be torn; it then
 *   differs from the next copy and only costs a new transaction.
 * - an open read transaction keeps checkpoints from copying frames newer
 *   than its snapshot and from restarting the WAL, and a reader that holds
 *   its read-mark slot between reads leaves a checkpoint no moment to take
 *   it. So while this store's checkpointer runs its passes or the writer
 *   its RESTART (ckpt_active), readers keep nothing: each read begins a
 *   transaction and ends it, as before. A checkpoint's progress is part of
 *   the stamp, so a reader that sees the WAL fully copied begins again
 *   (reading the database file only), which lets a RESTART through. An
 *   idle reader's transaction is ended by the reaper thread, which every
 *   REAP_MS ends the transactions of readers that began no read since its
 *   last look (so after REAP_MS to 2 * REAP_MS of idleness, well within
 *   the writer's RESTART patience of ~5 ms). The reaper sleeps while no
 *   reader holds a transaction.
 * FLOWLOGD_SQLITE_HOLD_READS=0 ends every transaction at the end of its
 * read, as SQLite's autocommit would.
 *
 * Threads and memory: a conn is used by its owner thread from enter to
 * leave under c->hold_mu; the reaper touches a conn only under the list's
 * lock (conns_mu, so the conn cannot be closed meanwhile) and a trylock of
 * hold_mu (so it never waits for a read). Lock order: conns_mu, hold_mu,
 * reap_mu. The list owns the conns; a thread's exit (reader_dtor) or
 * sq_readers_stop closes them. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "store/sqlite/sqlite_int.h"

#define REAP_MS 2

/* A checkpoint of this store is running: its passes take the read marks
 * of slots that no reader holds, and a RESTART waits until readers let go
 * of the WAL; a reader that kept its slot between reads would hold them
 * back (measured: RESTARTs refused, the WAL past its hard limit). */
static int checkpointing(struct store_sqlite *s)
{
    return atomic_load_explicit(&s->ckpt_active, memory_order_relaxed) > 0;
}

/* holding +1 or -1 (a conn's held changed); wakes the reaper on 0 -> 1 */
static void holding_add(struct store_sqlite *s, int d)
{
    pthread_mutex_lock(&s->reap_mu);
    s->holding += d;
    if (d > 0 && s->holding == 1)
        pthread_cond_signal(&s->reap_cv);
    pthread_mutex_unlock(&s->reap_mu);
}

/* Ends c's open transaction (c claimed by the caller). */
static void end_txn(struct conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sq_exec_id(c, ST_R_COMMIT, NULL);
}

/* One look over the readers: ends the transactions of those idle since the
 * last look. */
static void reap_idle(struct store_sqlite *s)
{
    pthread_mutex_lock(&s->conns_mu);
    for (struct conn *c = s->readers; c; c = c->next) {
        if (pthread_mutex_trylock(&c->hold_mu) != 0)
            continue; /* reading now */
        if (c->held && c->uses == c->reaper_saw) {
            end_txn(c);
            c->held = 0;
            holding_add(s, -1);
        }
        c->reaper_saw = c->uses;
        pthread_mutex_unlock(&c->hold_mu);
    }
    pthread_mutex_unlock(&s->conns_mu);
}

static void *reaper_main(void *arg)
{
    struct store_sqlite *s = arg;
    struct timespec until;

    pthread_setname_np(pthread_self(), "flowlogd-reaper");
    pthread_mutex_lock(&s->reap_mu);
    while (!s->reap_stopping) {
        if (!s->holding) {
            pthread_cond_wait(&s->reap_cv, &s->reap_mu);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += REAP_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!s->reap_stopping &&
               pthread_cond_timedwait(&s->reap_cv, &s->reap_mu, &until) != ETIMEDOUT)
            ;
        if (s->reap_stopping)
            break;
        pthread_mutex_unlock(&s->reap_mu);
        reap_idle(s);
        pthread_mutex_lock(&s->reap_mu);
    }
    pthread_mutex_unlock(&s->reap_mu);
    return NULL;
}

/* Thread exit: the thread's reader connection goes away with it. */
static void reader_dtor(void *p)
{
    struct conn *c = p;
    struct store_sqlite *s = c->owner;
    pthread_mutex_lock(&s->conns_mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->readers = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&s->conns_mu);
    if (c->held)
        holding_add(s, -1);
    sq_conn_close(c);
}

int sq_readers_start(struct store_sqlite *s, struct serr *e)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&s->conns_mu, NULL);
    pthread_mutex_init(&s->reap_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->reap_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_key_create(&s->key, reader_dtor) != 0) {
        pthread_mutex_destroy(&s->conns_mu);
        pthread_mutex_destroy(&s->reap_mu);
        pthread_cond_destroy(&s->reap_cv);
        return sq_err(e, STORE_ERR, "pthread_key_create failed");
    }
    s->readers_made = 1;
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0)
        return sq_err(e, STORE_ERR, "cannot start the reaper thread");
    s->reaper_started = 1;
    return STORE_OK;
}

void sq_readers_stop(struct store_sqlite *s)
{
    struct conn *c, *next;

    if (!s->readers_made)
        return;
    sq_stop_thread(&s->reap_mu, &s->reap_cv, &s->reap_stopping, s->reaper, &s->reaper_started);
    pthread_key_delete(s->key); /* thread-exit destructors no longer run */
    pthread_mutex_lock(&s->conns_mu);
    for (c = s->readers; c; c = next) {
        next = c->next;
        sq_conn_close(c);
    }
    s->readers = NULL;
    pthread_mutex_unlock(&s->conns_mu);
    pthread_mutex_destroy(&s->conns_mu);
    pthread_mutex_destroy(&s->reap_mu);
    pthread_cond_destroy(&s->reap_cv);
    s->readers_made = 0;
}

struct conn *sq_reader(struct store_sqlite *s, struct serr *e)
{
    struct conn *c = pthread_getspecific(s->key);
    if (c)
        return c;
    c = sq_conn_open(s, CONN_READER, e);
    if (!c)
        return NULL;
    if (pthread_setspecific(s->key, c) != 0) {
        sq_conn_close(c);
        sq_err(e, STORE_ERR, "pthread_setspecific failed");
        return NULL;
    }
    pthread_mutex_lock(&s->conns_mu);
    c->next = s->readers;
    if (s->readers)
        s->readers->prev = c;
    s->readers = c;
    pthread_mutex_unlock(&s->conns_mu);
    return c;
}

int sq_reader_enter(struct conn *c, struct serr *e)
{
    struct sq_wal_stamp now;
    int have;

    if (c->busy) /* only this thread sets it */
        return sq_err(e, STORE_ERR, "store called again from inside a row callback");
    pthread_mutex_lock(&c->hold_mu);
    c->busy = 1;
    c->uses++;
    have = c->owner->hold_reads && sq_vfs_wal_stamp(c->mainf, &now) == 0;
    if (!sqlite3_get_autocommit(c->db)) {
        if (have && c->stamped && !checkpointing(c->owner) &&
            memcmp(&now, &c->stamp, sizeof now) == 0)
            return STORE_OK; /* nothing published since it began: the latest snapshot */
        end_txn(c);
    }
    /* `now` was copied before the new transaction's first read, so it is
     * never newer than its snapshot */
    c->stamped = have;
    if (have)
        c->stamp = now;
    if (sq_exec_id(c, ST_R_BEGIN, e) != STORE_OK) {
        c->busy = 0;
        pthread_mutex_unlock(&c->hold_mu);
        return STORE_ERR;
    }
    return STORE_OK;
}

void sq_reader_leave(struct conn *c)
{
    int keep = c->stamped && !sqlite3_get_autocommit(c->db) && !checkpointing(c->owner);

    if (!keep)
        end_txn(c);
    if (keep != c->held) {
        c->held = keep;
        holding_add(c->owner, keep ? 1 : -1);
    }
    c->busy = 0;
    pthread_mutex_unlock(&c->hold_mu);
}
