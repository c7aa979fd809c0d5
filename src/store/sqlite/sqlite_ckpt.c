/* sqlite_ckpt.c: the tuned engine's checkpoints: a checkpointer thread
 * with its own connection, the writer's WAL hook and its RESTART.
 *
 * The writer connection has no autocheckpoint: wal_hook()
 * replaces it. SQLite calls it on the writer thread after every commit (the
 * batch is durable by then) with the number of frames in the WAL.
 * - Once the WAL holds pages frames, and again every pages / 2
 *   more, the hook wakes the checkpointer thread. It runs PASSIVE
 *   checkpoints on its own connection: they copy committed frames into the
 *   database file, never wait for the writer or for readers, and stop short
 *   of frames that a reader still needs; the thread fsyncs the database file
 *   after each (see ckpt_sync_db). It repeats a pass while
 *   the last one copied more than tail frames (the writer kept adding
 *   during it), so that it ends close behind the writer, then reports that
 *   it caught up.
 * - A PASSIVE checkpoint running alongside commits almost never lets the WAL
 *   start again from its beginning (that needs every frame copied at the
 *   moment a write transaction begins), so the file would keep growing. So
 *   once the checkpointer reports it caught up, the writer, after waking the
 *   batch's callers and before the next batch, runs a RESTART checkpoint
 *   itself: it copies the frames left, fsyncs the database file and waits
 *   (at most VALVE_TRIES * VALVE_SLEEP_US per lock) for readers of older
 *   frames; the next commit then writes from the start of the WAL. The
 *   writes wait meanwhile, ~6 us per frame copied, so the writer first
 *   reads how many are left (the wal-index, lock-free: sq_vfs_wal_backlog)
 *   and, above restart_backlog (pages / 64, at least 128), wakes the
 *   checkpointer for another round instead (with ~800 left, up to 2,000, a
 *   RESTART held the writes 5-6 ms: a p99 request's whole wait).
 * - Safety valve: if the WAL reaches hard frames all the same (the
 *   checkpointer fell behind, readers kept it from catching up), the writer
 *   runs that RESTART whatever is left to copy; if readers still hold old
 *   frames it tries again valve_step frames later (pages / 2; / 4 under
 *   a WAL ceiling, which the file should not pass by much).
 * - Idle: once no write came for SQ_CKPT_IDLE_MS (and the store has a WAL
 *   ceiling), the writer empties the WAL file with a TRUNCATE checkpoint
 *   (sq_ckpt_idle: the same patience with readers as the RESTART), so that
 *   after a burst the file does not keep its size until the next one; if
 *   many frames are left to copy it first wakes the checkpointer and waits
 *   another round, so that a write arriving meanwhile waits little.
 * Checkpoints only copy committed frames, so durability does not depend on
 * them. At close the last connection (the writer's) checkpoints what is left
 * and removes the WAL, as SQLite does.
 */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "store/sqlite/sqlite_ckpt.h"
#include "store/sqlite/sqlite_vfs.h"

/* Checkpoints start once the WAL holds CKPT_PAGES_DEFAULT frames
 * (FLOWLOGD_SQLITE_CKPT_PAGES); the writer restarts the WAL when the
 * checkpointer has caught up and few frames are left to copy (the file
 * peaks at ~350 MB under sustained creates), and in any case at
 * CKPT_HARD_FACTOR times as many (144,000 frames, ~590 MB). Measured with
 * creates at 64 connections: 16,000 beat 4,000, 8,000 and 10,000 (fewer
 * passes copy each hot page fewer times, and fewer database fsyncs compete
 * with the writer's); once the RESTART waited for a short backlog
 * (RESTART_BACKLOG_DIVISOR), 32,000 beat 16,000 and 48,000 beat 32,000
 * (+7-10 % creates in 20 s runs; the 90/10 mix -1-5 %: its reads search a
 * longer WAL). Fewer restarts alone (restarting at 48,000 with passes from
 * 32,000) did not help: the passes are what costs. */
#define CKPT_PAGES_DEFAULT 48000
#define CKPT_HARD_FACTOR 3
#define CKPT_TAIL_DIVISOR 8 /* "caught up": a pass copied at most pages / 8 frames */
#define RESTART_BACKLOG_DIVISOR 64 /* the RESTART waits for at most pages / 64 to copy, */
#define RESTART_BACKLOG_MIN 128    /* or this many (~1 ms of copying): no point in fewer */
#define CKPT_PAGES_MIN 64
#define CKPT_PAGES_MAX 1000000
#define CKPT_PASSES 4 /* background passes per wake-up, at most */
/* The WAL's ceiling (FLOWLOGD_SQLITE_WAL_MB, default 64 MB, sqlite_conn.c;
 * 0: none). With a ceiling, the hard limit (the writer's RESTART whatever it
 * costs) is 90 % of it and the background checkpoints start at half of that
 * (unless FLOWLOGD_SQLITE_CKPT_PAGES asks for fewer: the larger the interval
 * between checkpoints, the fewer times a hot page is copied), a valve
 * RESTART that readers refused is tried again pages / 4 frames later (not
 * / 2), and journal_size_limit is the ceiling: the file is cut back to it
 * when the WAL starts again, so it stays under the ceiling whenever the
 * RESTARTs succeed (a reader that keeps old frames can hold one back: the
 * WAL then grows until the reader lets go). Once the writes stop for
 * SQ_CKPT_IDLE_MS the writer empties the file (sq_ckpt_idle). */
#define CKPT_CEILING_FACTOR 2 /* hard limit / checkpoint threshold under a ceiling */
/* Without a ceiling, journal_size_limit is WAL_LIMIT_BYTES, raised to 1.25
 * times the hard limit if that is more, so that the file keeps its size
 * from one cycle to the next instead of growing anew (every fsync of a
 * growing file also commits its new size). */
#define WAL_LIMIT_BYTES (64LL * 1024 * 1024)
#define WAL_FRAME_BYTES (4096 + 24) /* a frame of the default page size */
#define VALVE_SLEEP_US 200
#define VALVE_TRIES 25 /* the writer's RESTART waits at most ~5 ms for each lock */

/* Applies FLOWLOGD_SQLITE_WAL_MB (see WAL_CEILING_MB_DEFAULT) to the
 * thresholds. STORE_ERR for a value that is not a number. */
static int wal_ceiling(struct sq_ckpt *k, struct serr *e)
{
    long long frames;

    if (sq_env_wal_ceiling(&k->wal_ceiling, e) != STORE_OK)
        return STORE_ERR;
    if (k->wal_ceiling == 0)
        return STORE_OK; /* no ceiling: the thresholds as they are */
    frames = k->wal_ceiling / WAL_FRAME_BYTES * 9 / 10; /* 1 MB: 229, above CKPT_PAGES_MIN */
    if (k->hard > frames) {
        k->hard = (int)frames;
        if (k->pages > k->hard / CKPT_CEILING_FACTOR)
            k->pages = k->hard / CKPT_CEILING_FACTOR;
        k->tail = k->pages / CKPT_TAIL_DIVISOR;
        k->restart_backlog = k->pages / RESTART_BACKLOG_DIVISOR;
        if (k->restart_backlog < RESTART_BACKLOG_MIN)
            k->restart_backlog = RESTART_BACKLOG_MIN;
        k->valve_step = k->pages / 4;
    }
    k->idle_truncate = 1;
    return STORE_OK;
}

long long sq_ckpt_wal_limit(const struct sq_ckpt *k)
{
    long long hard = (long long)k->hard * WAL_FRAME_BYTES;
    if (k->wal_ceiling > 0)
        return k->wal_ceiling;
    return hard + hard / 4 > WAL_LIMIT_BYTES ? hard + hard / 4 : WAL_LIMIT_BYTES;
}

int sq_ckpt_init(struct sq_ckpt *k, struct serr *e)
{
    memset(k, 0, sizeof *k);
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    k->pages = (int)sq_env_long("FLOWLOGD_SQLITE_CKPT_PAGES", CKPT_PAGES_DEFAULT);
    if (k->pages < CKPT_PAGES_MIN)
        k->pages = CKPT_PAGES_MIN;
    if (k->pages > CKPT_PAGES_MAX)
        k->pages = CKPT_PAGES_MAX;
    k->tail = k->pages / CKPT_TAIL_DIVISOR;
    k->restart_backlog = k->pages / RESTART_BACKLOG_DIVISOR;
    if (k->restart_backlog < RESTART_BACKLOG_MIN)
        k->restart_backlog = RESTART_BACKLOG_MIN;
    k->hard = k->pages * CKPT_HARD_FACTOR;
    k->valve_step = k->pages / 2;
    k->state = CK_IDLE;
    k->gen = 1;
    if (wal_ceiling(k, e) != STORE_OK)
        return STORE_ERR;
    k->wr.valve_at = k->hard;
    return STORE_OK;
}

void sq_ckpt_fini(struct sq_ckpt *k)
{
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
}

/* The writer connection's busy handler while it runs a RESTART: short
 * sleeps, and a bound, so that a long reader cannot stall the writes. */
static int valve_busy(void *arg, int n)
{
    (void)arg;
    if (n >= VALVE_TRIES)
        return 0;
    usleep(VALVE_SLEEP_US);
    return 1;
}

/* Called by SQLite on the writer thread after each commit of the writer
 * connection, with the WAL's size in frames. Must return SQLITE_OK (an error
 * would be reported as the COMMIT's, though it committed). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct sq_ckpt *k = arg;
    int wrapped = k->wr.restarted || frames < k->wr.wal_frames;

    (void)db;
    (void)name;
    k->wr.wal_frames = frames;
    if (wrapped) {
        k->wr.restarted = 0;
        k->wr.asked_at = 0;
        k->wr.valve_at = k->hard;
    } else if (frames < k->pages) {
        return SQLITE_OK;
    }
    pthread_mutex_lock(&k->mu);
    if (wrapped) {
        k->stats.wraps++;
        k->gen++;
        if (k->state == CK_DUE || k->state == CK_CAUGHT_UP)
            k->state = CK_IDLE; /* a request for, or a result of, the old WAL */
    }
    if (frames > k->stats.max_frames)
        k->stats.max_frames = frames;
    if (frames >= k->pages && frames - k->wr.asked_at >= k->pages / 2 &&
        (k->state == CK_IDLE || k->state == CK_DUE)) {
        k->state = CK_DUE;
        k->wr.asked_at = frames;
        pthread_cond_signal(&k->cv);
    }
    pthread_mutex_unlock(&k->mu);
    return SQLITE_OK;
}

void sq_ckpt_after_batch(void *arg)
{
    struct sq_ckpt *k = arg;
    sqlite3 *db = k->w->db;
    int caught_up, rc, nlog = -1, nckpt = -1;

    if (k->wr.wal_frames < k->pages)
        return;
    pthread_mutex_lock(&k->mu);
    caught_up = k->state == CK_CAUGHT_UP;
    pthread_mutex_unlock(&k->mu);
    if (k->wr.wal_frames < k->wr.valve_at) {
        if (!caught_up)
            return;
        if (sq_vfs_wal_backlog(k->w_main) > k->restart_backlog) {
            /* another round of passes shortens it */
            pthread_mutex_lock(&k->mu);
            if (k->state == CK_CAUGHT_UP) {
                k->state = CK_DUE;
                pthread_cond_signal(&k->cv);
            }
            pthread_mutex_unlock(&k->mu);
            return;
        }
    }
    sqlite3_busy_handler(db, valve_busy, NULL);
    atomic_fetch_add(&k->active, 1);
    rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, &nlog, &nckpt);
    atomic_fetch_sub(&k->active, 1);
    sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        k->wr.restarted = 1;
    else if (nlog >= 0 && k->wr.wal_frames >= k->wr.valve_at)
        k->wr.valve_at = k->wr.wal_frames + k->valve_step; /* readers held old frames */
    /* nlog < 0: the checkpointer (or another process) holds the checkpoint
     * lock; the next batch tries again. Readers holding old frames (nlog >=
     * 0, not OK): wait for the checkpointer's next report rather than wait
     * for them again at every batch. */
    pthread_mutex_lock(&k->mu);
    if (nlog >= 0 && caught_up) {
        k->stats.restarts++;
        if (k->state == CK_CAUGHT_UP)
            k->state = CK_IDLE;
    } else if (nlog >= 0) {
        k->stats.valves++;
    }
    if (rc != SQLITE_OK)
        k->stats.failed++;
    pthread_mutex_unlock(&k->mu);
}

int sq_ckpt_idle_wanted(void *arg)
{
    struct sq_ckpt *k = arg;
    return k->idle_truncate && k->wr.wal_frames > 0;
}

void sq_ckpt_idle(void *arg)
{
    struct sq_ckpt *k = arg;
    sqlite3 *db = k->w->db;
    int rc, nlog = -1, nckpt = -1;

    if (sq_vfs_wal_backlog(k->w_main) > k->restart_backlog) {
        /* another round of passes first (a write arriving meanwhile waits little) */
        pthread_mutex_lock(&k->mu);
        if (k->state == CK_IDLE || k->state == CK_CAUGHT_UP) {
            k->state = CK_DUE;
            pthread_cond_signal(&k->cv);
        }
        pthread_mutex_unlock(&k->mu);
        return;
    }
    sqlite3_busy_handler(db, valve_busy, NULL);
    atomic_fetch_add(&k->active, 1);
    rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt);
    atomic_fetch_sub(&k->active, 1);
    sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK) {
        k->wr.restarted = 1; /* the next commit starts a new WAL (wal_hook) */
        k->wr.wal_frames = 0;
    }
}

/* fsyncs the checkpointer's database file; 0 or -1. A PASSIVE checkpoint
 * syncs the database file only if no commit landed while it copied, which
 * under load is almost never: without this the pages the passes copied
 * would stay dirty until the writer's RESTART, which would then wait for
 * all of them (9-15 ms instead of 2-4). A failure only makes the pass count
 * as not caught up: the writer's RESTART fsyncs on its own descriptor, and
 * Linux reports a write-back error to every descriptor that was open when
 * it happened, so that RESTART fails too rather than letting the WAL start
 * again. */
static int ckpt_sync_db(struct sq_ckpt *k)
{
    sqlite3_file *f = k->ck_main;
    if (!f || !f->pMethods)
        return -1;
    return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK ? 0 : -1;
}

/* Background PASSIVE passes until one copies at most `tail` frames.
 * Returns 1 if the checkpointer caught up with the writer, else 0. */
static int ckpt_passes(struct sq_ckpt *k, uint64_t *passes)
{
    int nlog = -1, nckpt = -1, prev = 0, rc;

    for (int i = 0; i < CKPT_PASSES; i++) {
        nlog = nckpt = -1;
        rc = sqlite3_wal_checkpoint_v2(k->ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
        if (rc != SQLITE_OK || nlog < 0 || nckpt < prev)
            return 0; /* the writer's RESTART holds the lock, or the WAL started again */
        ++*passes;
        if (nckpt < nlog && nckpt == prev)
            return 0; /* readers hold the frames left */
        if (nckpt > prev && ckpt_sync_db(k) != 0)
            return 0;
        if (nckpt == nlog && nckpt - prev <= k->tail)
            return 1;
        prev = nckpt;
    }
    return nckpt == nlog;
}

static void *ckpt_main(void *arg)
{
    struct sq_ckpt *k = arg;
    uint64_t passes;
    unsigned gen;
    int caught_up;

    pthread_setname_np(pthread_self(), "flowlogd-ckpt");
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (k->state != CK_DUE && k->state != CK_STOP)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->state == CK_STOP)
            break;
        k->state = CK_RUNNING;
        gen = k->gen;
        pthread_mutex_unlock(&k->mu);
        passes = 0;
        atomic_fetch_add(&k->active, 1);
        caught_up = ckpt_passes(k, &passes);
        atomic_fetch_sub(&k->active, 1);
        pthread_mutex_lock(&k->mu);
        k->stats.runs += passes;
        if (k->state == CK_RUNNING) /* not STOP */
            k->state = caught_up && gen == k->gen ? CK_CAUGHT_UP : CK_IDLE;
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

int sq_ckpt_start(struct sq_ckpt *k)
{
    if (pthread_create(&k->thread, NULL, ckpt_main, k) != 0)
        return -1;
    k->started = 1;
    sqlite3_wal_hook(k->w->db, wal_hook, k); /* replaces the autocheckpoint */
    return 0;
}

void sq_ckpt_stop(struct sq_ckpt *k)
{
    if (!k->started)
        return;
    pthread_mutex_lock(&k->mu);
    k->state = CK_STOP;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    k->started = 0;
}

void sq_ckpt_stats(struct sq_ckpt *k, struct sq_ckpt_stats *out)
{
    pthread_mutex_lock(&k->mu);
    *out = k->stats;
    pthread_mutex_unlock(&k->mu);
}
