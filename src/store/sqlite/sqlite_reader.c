/* sqlite_reader.c: the tuned engine's reads. Each thread that reads gets its own connection
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
 *   its RESTART (sq_ckpt_running), readers keep nothing: each read begins a
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
 * lock (rs->mu, so the conn cannot be closed meanwhile) and a trylock of
 * hold_mu (so it never waits for a read). Lock order: rs->mu, hold_mu,
 * the reaper's mu. The list owns the conns; a thread's exit (reader_dtor) or
 * sq_readers_stop closes them. */

#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_reader.h"
#include "store/sqlite/sqlite_vfs.h"

/** A reader connection and what the engine keeps about it. */
struct held_reader {
    struct conn c; /* what the domain files see */
    struct sq_readers *owner;
    struct held_reader *prev, *next; /* the owner's list */
    pthread_mutex_t hold_mu;  /* the owner's from enter to leave; the reaper's to end a hold */
    sqlite3_file *mainf;      /* the database file (its wal-index stamp); NULL */
    int stamped;              /* `stamp` was taken before the open transaction began */
    int held;                 /* the transaction stays open between reads */
    unsigned uses, reaper_saw; /* reads begun; `uses` when the reaper last looked */
    struct sq_wal_stamp stamp;
};

static struct held_reader *of_conn(struct conn *c)
{
    return (struct held_reader *)c; /* c is the first member */
}

/* A checkpoint of this store is running: its passes take the read marks
 * of slots that no reader holds, and a RESTART waits until readers let go
 * of the WAL; a reader that kept its slot between reads would hold them
 * back (measured: RESTARTs refused, the WAL past its hard limit). */
static int checkpointing(const struct sq_readers *rs)
{
    return rs->ckpt && sq_ckpt_running(rs->ckpt);
}

/* Ends r's open transaction (r claimed by the caller). */
static void end_txn(struct held_reader *r)
{
    if (!sqlite3_get_autocommit(r->c.db))
        sq_exec_id(&r->c, ST_R_COMMIT, NULL);
}

static void reader_free(struct held_reader *r)
{
    sq_conn_fini(&r->c);
    pthread_mutex_destroy(&r->hold_mu);
    free(r);
}

/* One look over the readers: ends the transactions of those idle since the
 * last look (the reaper thread). */
static void reap_idle(void *arg)
{
    struct sq_readers *rs = arg;
    pthread_mutex_lock(&rs->mu);
    for (struct held_reader *r = rs->list; r; r = r->next) {
        if (pthread_mutex_trylock(&r->hold_mu) != 0)
            continue; /* reading now */
        if (r->held && r->uses == r->reaper_saw) {
            end_txn(r);
            r->held = 0;
            sq_reaper_holding(&rs->reaper, -1);
        }
        r->reaper_saw = r->uses;
        pthread_mutex_unlock(&r->hold_mu);
    }
    pthread_mutex_unlock(&rs->mu);
}

/* Thread exit: the thread's reader connection goes away with it. */
static void reader_dtor(void *p)
{
    struct held_reader *r = p;
    struct sq_readers *rs = r->owner;
    pthread_mutex_lock(&rs->mu);
    if (r->prev)
        r->prev->next = r->next;
    else
        rs->list = r->next;
    if (r->next)
        r->next->prev = r->prev;
    pthread_mutex_unlock(&rs->mu);
    if (r->held)
        sq_reaper_holding(&rs->reaper, -1);
    reader_free(r);
}

int sq_readers_start(struct sq_readers *rs, struct serr *e)
{
    pthread_mutex_init(&rs->mu, NULL);
    sq_reaper_init(&rs->reaper, reap_idle, rs);
    if (pthread_key_create(&rs->key, reader_dtor) != 0) {
        pthread_mutex_destroy(&rs->mu);
        sq_reaper_fini(&rs->reaper);
        return sq_err(e, STORE_ERR, "pthread_key_create failed");
    }
    rs->key_made = 1;
    if (sq_reaper_start(&rs->reaper) != 0)
        return sq_err(e, STORE_ERR, "cannot start the reaper thread");
    return STORE_OK;
}

void sq_readers_stop(struct sq_readers *rs)
{
    struct held_reader *r, *next;

    if (!rs->key_made)
        return;
    sq_reaper_stop(&rs->reaper);
    pthread_key_delete(rs->key); /* thread-exit destructors no longer run */
    pthread_mutex_lock(&rs->mu);
    for (r = rs->list; r; r = next) {
        next = r->next;
        reader_free(r);
    }
    rs->list = NULL;
    pthread_mutex_unlock(&rs->mu);
    pthread_mutex_destroy(&rs->mu);
    sq_reaper_fini(&rs->reaper);
    rs->key_made = 0;
}

/* This thread's reader, opened on first use. NULL with e set. */
static struct held_reader *this_reader(struct sq_readers *rs, struct serr *e)
{
    struct held_reader *r = pthread_getspecific(rs->key);
    if (r)
        return r;
    if (!(r = calloc(1, sizeof *r))) {
        sq_err(e, STORE_ERR, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->hold_mu, NULL);
    r->owner = rs;
    if (sq_conn_init(&r->c, rs->path, rs->vfs, rs->pragmas, e) != STORE_OK) {
        reader_free(r);
        return NULL;
    }
    /* the database file: its wal-index stamp */
    if (sqlite3_file_control(r->c.db, "main", SQLITE_FCNTL_FILE_POINTER, &r->mainf) != SQLITE_OK)
        r->mainf = NULL;
    if (pthread_setspecific(rs->key, r) != 0) {
        reader_free(r);
        sq_err(e, STORE_ERR, "pthread_setspecific failed");
        return NULL;
    }
    pthread_mutex_lock(&rs->mu);
    r->next = rs->list;
    if (rs->list)
        rs->list->prev = r;
    rs->list = r;
    pthread_mutex_unlock(&rs->mu);
    return r;
}

int sq_readers_begin(struct sq_readers *rs, struct conn **out, struct serr *e)
{
    struct held_reader *r = this_reader(rs, e);
    struct sq_wal_stamp now;
    int have;

    if (!r)
        return STORE_ERR;
    if (r->c.busy) /* only this thread sets it */
        return sq_err(e, STORE_ERR, "store called again from inside a row callback");
    pthread_mutex_lock(&r->hold_mu);
    r->c.busy = 1;
    r->uses++;
    *out = &r->c;
    have = rs->hold && sq_vfs_wal_stamp(r->mainf, &now) == 0;
    if (!sqlite3_get_autocommit(r->c.db)) {
        if (have && r->stamped && !checkpointing(rs) && memcmp(&now, &r->stamp, sizeof now) == 0)
            return STORE_OK; /* nothing published since it began: the latest snapshot */
        end_txn(r);
    }
    /* `now` was copied before the new transaction's first read, so it is
     * never newer than its snapshot */
    r->stamped = have;
    if (have)
        r->stamp = now;
    if (sq_exec_id(&r->c, ST_R_BEGIN, e) != STORE_OK) {
        r->c.busy = 0;
        pthread_mutex_unlock(&r->hold_mu);
        return STORE_ERR;
    }
    return STORE_OK;
}

void sq_readers_end(struct sq_readers *rs, struct conn *c)
{
    struct held_reader *r = of_conn(c);
    int keep = r->stamped && !sqlite3_get_autocommit(c->db) && !checkpointing(rs);

    if (!keep)
        end_txn(r);
    if (keep != r->held) {
        r->held = keep;
        sq_reaper_holding(&rs->reaper, keep ? 1 : -1);
    }
    c->busy = 0;
    pthread_mutex_unlock(&r->hold_mu);
}
