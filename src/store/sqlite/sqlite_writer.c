/* sqlite_writer.c: the writer thread and group commit.
 *
 * Protocol. A write operation is a job on the caller's stack, appended to
 * the queue under s->mu; the caller then releases s->mu and sleeps on the
 * job's own `done` word (a futex, FUTEX_WAIT while it is 0). The writer
 * takes every job queued at that moment (at most BATCH_MAX) under s->mu,
 * and without holding it runs
 *     BEGIN IMMEDIATE
 *       SAVEPOINT job; <job 1>; RELEASE job     (or ROLLBACK TO job; RELEASE job)
 *       SAVEPOINT job; <job 2>; ...
 *     COMMIT                                     (synchronous=FULL: one fsync)
 * A job that fails (not found, exists, quota, a statement error) is rolled
 * back to its savepoint and keeps its own result; the others are unaffected.
 * If BEGIN, a savepoint step or COMMIT fails, or SQLite aborted the
 * transaction, the batch is rolled back and every job of it gets STORE_ERR
 * with the reason.
 * Only after COMMIT returned (or the batch failed) does the writer take s->mu
 * again, to add the batch to the counters (before any caller can return, so
 * a caller that returned sees its write counted) and to take the next batch.
 * Then it appends the finished batch to the waker thread's list (under
 * s->wake_mu) and runs the next batch: waking a caller costs a system call
 * and, more, the writer's place on the CPU (the woken thread preempts it),
 * ~10 us per job that the writer, the bottleneck of creates, now spends on
 * the next batch. The waker wakes the callers one by one: it reads j->next,
 * stores done = 1 (release: rc and *err were written before the hand-over)
 * and FUTEX_WAKEs the word. From that store on the job may be gone (its
 * caller may have returned); the wake only passes the word's address to the
 * kernel, which never writes there (at worst another futex waiter at that
 * stack address wakes spuriously, which every futex waiter tolerates).
 * So STORE_OK always means durable. While a batch runs, new jobs queue up
 * and form the next batch.
 *
 * Checkpoints. The writer connection has no autocheckpoint: wal_hook()
 * replaces it. SQLite calls it on the writer thread after every commit (the
 * batch is durable by then) with the number of frames in the WAL.
 * - Once the WAL holds ckpt_pages frames, and again every ckpt_pages / 2
 *   more, the hook wakes the checkpointer thread. It runs PASSIVE
 *   checkpoints on its own connection: they copy committed frames into the
 *   database file, never wait for the writer or for readers, and stop short
 *   of frames that a reader still needs; the thread fsyncs the database file
 *   after each (see ckpt_sync_db). It repeats a pass while
 *   the last one copied more than ckpt_tail frames (the writer kept adding
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
 *   and, above restart_backlog (ckpt_pages / 64, at least 128), wakes the
 *   checkpointer for another round instead (with ~800 left, up to 2,000, a
 *   RESTART held the writes 5-6 ms: a p99 request's whole wait).
 * - Safety valve: if the WAL reaches ckpt_hard frames all the same (the
 *   checkpointer fell behind, readers kept it from catching up), the writer
 *   runs that RESTART whatever is left to copy; if readers still hold old
 *   frames it tries again valve_step frames later (ckpt_pages / 2; / 4 under
 *   a WAL ceiling, which the file should not pass by much).
 * - Idle: once no write came for WAL_IDLE_TRUNCATE_MS (and the store has a
 *   WAL ceiling, sqlite.c), the writer empties the WAL file with a TRUNCATE
 *   checkpoint (the same patience with readers as the RESTART), so that
 *   after a burst the file does not keep its size until the next one; if
 *   many frames are left to copy it first wakes the checkpointer and waits
 *   another round, so that a write arriving meanwhile waits little.
 * Checkpoints only copy committed frames, so durability does not depend on
 * them. At close the last connection (the writer's) checkpoints what is left
 * and removes the WAL, as SQLite does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "store/sqlite/sqlite_int.h"

#define BATCH_MAX 256
#define BEGIN_TRIES 6 /* each waits up to the busy timeout for the CLI's lock */
#define CKPT_PASSES 4 /* background passes per wake-up, at most */
#define VALVE_SLEEP_US 200
#define VALVE_TRIES 25 /* the writer's RESTART waits at most ~5 ms for each lock */
#define WAL_IDLE_TRUNCATE_MS 1000

/* BEGIN IMMEDIATE, retried while another process holds the write lock. */
static int begin_write(struct conn *c, struct serr *e)
{
    sqlite3_stmt *st = sq_stmt(c, ST_W_BEGIN, e);
    int rc = SQLITE_ERROR;
    if (!st)
        return STORE_ERR;
    for (int tries = 1;; tries++) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            sq_fail(c->db, "begin", e);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return STORE_OK;
        if ((rc & 0xff) != SQLITE_BUSY || tries >= BEGIN_TRIES)
            return STORE_ERR;
    }
}

/* Runs one batch in one transaction. Returns 1 if it committed, else 0
 * (every job then carries STORE_ERR). */
static int run_batch(struct conn *c, struct wjob *batch)
{
    struct serr be = {{0}};
    struct wjob *j;
    int committed = 0;

    if (begin_write(c, &be) != STORE_OK)
        goto fail;
    for (j = batch; j; j = j->next) {
        if (sq_exec_id(c, ST_W_SAVEPOINT, &be) != STORE_OK)
            goto fail;
        j->rc = j->fn(c, j->arg, j->err);
        if (sqlite3_get_autocommit(c->db)) {
            /* SQLite rolled the whole transaction back (I/O error, full disk) */
            sq_err(&be, STORE_ERR, "transaction aborted: %s",
                   j->rc != STORE_OK ? j->err->msg : sqlite3_errmsg(c->db));
            goto fail;
        }
        if (j->rc != STORE_OK && sq_exec_id(c, ST_W_ROLLBACK_TO, &be) != STORE_OK)
            goto fail;
        if (sq_exec_id(c, ST_W_RELEASE, &be) != STORE_OK)
            goto fail;
    }
    if (sq_exec_id(c, ST_W_COMMIT, &be) != STORE_OK)
        goto fail;
    committed = 1;
fail:
    if (!committed) {
        if (!sqlite3_get_autocommit(c->db))
            sq_exec_id(c, ST_W_ROLLBACK, NULL);
        for (j = batch; j; j = j->next) {
            j->rc = STORE_ERR;
            memcpy(j->err, &be, sizeof be);
        }
    }
    return committed;
}

/* Sleeps while *w is 0 (spurious and interrupted wake-ups re-check). */
static void futex_wait_zero(atomic_int *w)
{
    while (!atomic_load_explicit(w, memory_order_acquire))
        syscall(SYS_futex, (void *)w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

/* Takes up to BATCH_MAX jobs from the queue (s->mu held, queue not empty);
 * *last is the batch's last job. */
static struct wjob *take_batch(struct store_sqlite *s, uint64_t *n, struct wjob **last)
{
    struct wjob *batch = s->head, *l = s->head;
    for (*n = 1; l->next && *n < BATCH_MAX; ++*n)
        l = l->next;
    s->head = l->next;
    if (!s->head)
        s->tail = NULL;
    l->next = NULL;
    *last = l;
    return batch;
}

/* Publishes the results of finished batches and wakes their callers (the
 * waker, without any lock). A job must not be touched once its `done` is set. */
static void wake_batch(struct wjob *j)
{
    struct wjob *next;
    for (; j; j = next) {
        next = j->next;
        if (j->complete) {
            j->complete(j); /* an asynchronous job: its owner takes over */
            continue;
        }
        atomic_store_explicit(&j->done, 1, memory_order_release);
        syscall(SYS_futex, (void *)&j->done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

void sq_stop_thread(pthread_mutex_t *mu, pthread_cond_t *cv, int *flag, pthread_t t,
                   int *started)
{
    if (!*started)
        return;
    pthread_mutex_lock(mu);
    *flag = 1;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
    pthread_join(t, NULL);
    *started = 0;
}

/* ==== checkpoints ==== */

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
    struct store_sqlite *s = arg;
    int wrapped = s->restart_asked || frames < s->wal_frames;

    (void)db;
    (void)name;
    s->wal_frames = frames;
    if (wrapped) {
        s->restart_asked = 0;
        s->ckpt_from = 0;
        s->valve_at = s->ckpt_hard;
    } else if (frames < s->ckpt_pages) {
        return SQLITE_OK;
    }
    pthread_mutex_lock(&s->ckpt_mu);
    if (wrapped) {
        s->ckpt_stats.wraps++;
        if (++s->ckpt_gen == 0) /* 0 means "no result" */
            s->ckpt_gen = 1;
        s->ckpt_due = 0; /* a request for the old WAL */
    }
    if (frames > s->ckpt_stats.max_frames)
        s->ckpt_stats.max_frames = frames;
    if (frames >= s->ckpt_pages && frames - s->ckpt_from >= s->ckpt_pages / 2 &&
        !s->ckpt_running && s->ckpt_done_gen != s->ckpt_gen) {
        s->ckpt_due = 1;
        s->ckpt_from = frames;
        pthread_cond_signal(&s->ckpt_cv);
    }
    pthread_mutex_unlock(&s->ckpt_mu);
    return SQLITE_OK;
}

/* Between batches (callers woken): the RESTART that lets the WAL start
 * again, once the checkpointer caught up and the frames left to copy are
 * few (the RESTART copies them while the writes wait: ~6 us each), or once
 * the WAL reached the valve. */
static void ckpt_after_batch(struct store_sqlite *s)
{
    sqlite3 *db = s->w->db;
    int caught_up, rc, nlog = -1, nckpt = -1;

    if (s->wal_frames < s->ckpt_pages)
        return;
    pthread_mutex_lock(&s->ckpt_mu);
    caught_up = s->ckpt_done_gen == s->ckpt_gen;
    pthread_mutex_unlock(&s->ckpt_mu);
    if (s->wal_frames < s->valve_at) {
        if (!caught_up)
            return;
        if (sq_vfs_wal_backlog(s->w->mainf) > s->restart_backlog) {
            /* another round of passes shortens it */
            pthread_mutex_lock(&s->ckpt_mu);
            if (s->ckpt_done_gen == s->ckpt_gen && !s->ckpt_running) {
                s->ckpt_done_gen = 0;
                s->ckpt_due = 1;
                pthread_cond_signal(&s->ckpt_cv);
            }
            pthread_mutex_unlock(&s->ckpt_mu);
            return;
        }
    }
    sqlite3_busy_handler(db, valve_busy, NULL);
    atomic_fetch_add(&s->ckpt_active, 1);
    rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, &nlog, &nckpt);
    atomic_fetch_sub(&s->ckpt_active, 1);
    sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK)
        s->restart_asked = 1;
    else if (nlog >= 0 && s->wal_frames >= s->valve_at)
        s->valve_at = s->wal_frames + s->valve_step; /* readers held old frames */
    /* nlog < 0: the checkpointer (or another process) holds the checkpoint
     * lock; the next batch tries again. Readers holding old frames (nlog >=
     * 0, not OK): wait for the checkpointer's next report rather than wait
     * for them again at every batch. */
    pthread_mutex_lock(&s->ckpt_mu);
    if (nlog >= 0 && caught_up) {
        s->ckpt_stats.restarts++;
        if (s->ckpt_done_gen == s->ckpt_gen)
            s->ckpt_done_gen = 0;
    } else if (nlog >= 0) {
        s->ckpt_stats.valves++;
    }
    if (rc != SQLITE_OK)
        s->ckpt_stats.failed++;
    pthread_mutex_unlock(&s->ckpt_mu);
}

/* The writer, idle (s->mu not held) with frames in the WAL: see "Idle"
 * above. */
static void wal_idle(struct store_sqlite *s)
{
    sqlite3 *db = s->w->db;
    int rc, nlog = -1, nckpt = -1;

    if (sq_vfs_wal_backlog(s->w->mainf) > s->restart_backlog) {
        pthread_mutex_lock(&s->ckpt_mu);
        if (!s->ckpt_running) {
            if (s->ckpt_done_gen == s->ckpt_gen)
                s->ckpt_done_gen = 0;
            s->ckpt_due = 1;
            pthread_cond_signal(&s->ckpt_cv);
        }
        pthread_mutex_unlock(&s->ckpt_mu);
        return;
    }
    sqlite3_busy_handler(db, valve_busy, NULL);
    atomic_fetch_add(&s->ckpt_active, 1);
    rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &nlog, &nckpt);
    atomic_fetch_sub(&s->ckpt_active, 1);
    sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS);
    if (rc == SQLITE_OK) {
        s->restart_asked = 1; /* the next commit starts a new WAL (wal_hook) */
        s->wal_frames = 0;
    }
}

/* Waits (s->mu held) for a job or for stopping; with a WAL to empty, wakes
 * after WAL_IDLE_TRUNCATE_MS of idleness to run wal_idle. */
static void writer_wait(struct store_sqlite *s)
{
    struct timespec at;

    if (!s->idle_truncate || s->wal_frames == 0) {
        pthread_cond_wait(&s->work, &s->mu);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_sec += WAL_IDLE_TRUNCATE_MS / 1000;
    at.tv_nsec += (long)(WAL_IDLE_TRUNCATE_MS % 1000) * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    if (pthread_cond_timedwait(&s->work, &s->mu, &at) == ETIMEDOUT && !s->head &&
        !s->stopping) {
        pthread_mutex_unlock(&s->mu);
        wal_idle(s);
        pthread_mutex_lock(&s->mu);
    }
}

/* fsyncs the database file of c; 0 or -1. A PASSIVE checkpoint syncs the
 * database file only if no commit landed while it copied, which under load
 * is almost never: without this the pages the passes copied would stay dirty
 * until the writer's RESTART, which would then wait for all of them (9-15 ms
 * instead of 2-4). A failure only makes the pass count as not caught up: the
 * writer's RESTART fsyncs on its own descriptor, and Linux reports a
 * write-back error to every descriptor that was open when it happened, so
 * that RESTART fails too rather than letting the WAL start again. */
static int ckpt_sync_db(struct conn *c)
{
    sqlite3_file *f = c->mainf;
    if (!f || !f->pMethods)
        return -1;
    return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK ? 0 : -1;
}

/* Background PASSIVE passes until one copies at most ckpt_tail frames.
 * Returns 1 if the checkpointer caught up with the writer, else 0. */
static int ckpt_passes(struct store_sqlite *s, uint64_t *passes)
{
    int nlog, nckpt, prev = 0, rc;

    for (int i = 0; i < CKPT_PASSES; i++) {
        nlog = nckpt = -1;
        rc = sqlite3_wal_checkpoint_v2(s->ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
        if (rc != SQLITE_OK || nlog < 0 || nckpt < prev)
            return 0; /* the writer's RESTART holds the lock, or the WAL started again */
        ++*passes;
        if (nckpt < nlog && nckpt == prev)
            return 0; /* readers hold the frames left */
        if (nckpt > prev && ckpt_sync_db(s->ck) != 0)
            return 0;
        if (nckpt == nlog && nckpt - prev <= s->ckpt_tail)
            return 1;
        prev = nckpt;
    }
    return nckpt == nlog;
}

static void *ckpt_main(void *arg)
{
    struct store_sqlite *s = arg;
    uint64_t passes;
    unsigned gen;
    int caught_up;

    pthread_setname_np(pthread_self(), "flowlogd-ckpt");
    pthread_mutex_lock(&s->ckpt_mu);
    for (;;) {
        while (!s->ckpt_due && !s->ckpt_stopping)
            pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
        if (s->ckpt_stopping)
            break;
        s->ckpt_due = 0;
        s->ckpt_running = 1;
        gen = s->ckpt_gen;
        pthread_mutex_unlock(&s->ckpt_mu);
        passes = 0;
        atomic_fetch_add(&s->ckpt_active, 1);
        caught_up = ckpt_passes(s, &passes);
        atomic_fetch_sub(&s->ckpt_active, 1);
        pthread_mutex_lock(&s->ckpt_mu);
        s->ckpt_running = 0;
        s->ckpt_stats.runs += passes;
        if (caught_up && gen == s->ckpt_gen)
            s->ckpt_done_gen = gen; /* for the writer's next ckpt_after_batch */
    }
    pthread_mutex_unlock(&s->ckpt_mu);
    return NULL;
}

int sq_ckpt_start(struct store_sqlite *s)
{
    s->ckpt_gen = 1;
    s->valve_at = s->ckpt_hard;
    if (pthread_create(&s->ckpt, NULL, ckpt_main, s) != 0)
        return -1;
    s->ckpt_started = 1;
    sqlite3_wal_hook(s->w->db, wal_hook, s); /* replaces the autocheckpoint */
    return 0;
}

void sq_ckpt_stop(struct store_sqlite *s)
{
    sq_stop_thread(&s->ckpt_mu, &s->ckpt_cv, &s->ckpt_stopping, s->ckpt, &s->ckpt_started);
}

void sq_ckpt_stats(struct store_sqlite *s, struct sq_ckpt_stats *out)
{
    pthread_mutex_lock(&s->ckpt_mu);
    *out = s->ckpt_stats;
    pthread_mutex_unlock(&s->ckpt_mu);
}

/* ==== the writer thread ==== */

/* Hands a finished batch (first .. last) to the waker. */
static void hand_to_waker(struct store_sqlite *s, struct wjob *first, struct wjob *last)
{
    pthread_mutex_lock(&s->wake_mu);
    if (s->wake_tail)
        s->wake_tail->next = first;
    else
        s->wake_head = first;
    s->wake_tail = last;
    pthread_cond_signal(&s->wake_cv);
    pthread_mutex_unlock(&s->wake_mu);
}

static void *waker_main(void *arg)
{
    struct store_sqlite *s = arg;
    struct wjob *list;

    pthread_setname_np(pthread_self(), "flowlogd-waker");
    pthread_mutex_lock(&s->wake_mu);
    for (;;) {
        while (!s->wake_head && !s->wake_stopping)
            pthread_cond_wait(&s->wake_cv, &s->wake_mu);
        if (!s->wake_head)
            break; /* stopping and every caller woken */
        list = s->wake_head;
        s->wake_head = s->wake_tail = NULL;
        pthread_mutex_unlock(&s->wake_mu);
        wake_batch(list);
        pthread_mutex_lock(&s->wake_mu);
    }
    pthread_mutex_unlock(&s->wake_mu);
    return NULL;
}

static void *writer_main(void *arg)
{
    struct store_sqlite *s = arg;
    struct wjob *batch, *last, *finished, *finished_last;
    uint64_t n;
    int committed;

    pthread_setname_np(pthread_self(), "flowlogd-writer");
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping)
            writer_wait(s);
        if (!s->head)
            break; /* stopping and drained */
        batch = take_batch(s, &n, &last);
        pthread_mutex_unlock(&s->mu);
        while (batch) {
            committed = run_batch(s->w, batch);
            pthread_mutex_lock(&s->mu);
            s->commits += (uint64_t)committed;
            s->jobs += n;
            finished = batch;
            finished_last = last;
            batch = s->head ? take_batch(s, &n, &last) : NULL; /* queued while it ran */
            pthread_mutex_unlock(&s->mu);
            hand_to_waker(s, finished, finished_last);
            ckpt_after_batch(s);
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sq_writer_start(struct store_sqlite *s)
{
    if (pthread_create(&s->waker, NULL, waker_main, s) != 0)
        return -1;
    s->waker_started = 1;
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
        return -1; /* sq_writer_stop stops the waker */
    s->writer_started = 1;
    return 0;
}

/* The writer first (it drains the queue into the waker's list), then the
 * waker once that list is empty. */
void sq_writer_stop(struct store_sqlite *s)
{
    sq_stop_thread(&s->mu, &s->work, &s->stopping, s->writer, &s->writer_started);
    sq_stop_thread(&s->wake_mu, &s->wake_cv, &s->wake_stopping, s->waker, &s->waker_started);
}

/* Appends j to the writer's queue; STORE_ERR once the store is closing. */
static int enqueue(struct store_sqlite *s, struct wjob *j)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return sq_err(j->err, STORE_ERR, "the store is closing");
    }
    j->next = NULL;
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    pthread_cond_signal(&s->work); /* the writer sleeps only on an empty queue */
    pthread_mutex_unlock(&s->mu);
    return STORE_OK;
}

int sq_write(struct store_sqlite *s, wjob_fn fn, void *arg, struct serr *e)
{
    struct serr local;
    struct wjob j = {.fn = fn, .arg = arg, .err = e ? e : &local, .rc = STORE_ERR, .done = 0};

    if (enqueue(s, &j) != STORE_OK)
        return STORE_ERR;
    futex_wait_zero(&j.done);
    return j.rc;
}

int sq_write_async(struct store_sqlite *s, struct wjob *j)
{
    j->rc = STORE_ERR; /* `done` is not used: j->complete replaces the wake-up */
    return enqueue(s, j);
}
