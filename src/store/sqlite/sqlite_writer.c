/* sqlite_writer.c: the writer thread and group commit (both engines).
 *
 * Protocol. A write operation is a job on the caller's stack, appended to
 * the queue under wr->mu; the caller then releases wr->mu and sleeps on the
 * job's own `done` word (a futex, FUTEX_WAIT while it is 0). The writer
 * takes every job queued at that moment (at most BATCH_MAX) under wr->mu,
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
 * Only after COMMIT returned (or the batch failed) does the writer take wr->mu
 * again, to add the batch to the counters (before any caller can return, so
 * a caller that returned sees its write counted) and to take the next batch.
 * Then it appends the finished batch to the waker thread's list (under
 * its lock) and runs the next batch: waking a caller costs a system call
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
 * The waker is optional: the plain engine's writer wakes its callers
 * itself. After each batch the writer runs the engine's after_batch hook
 * (the tuned engine's RESTART checkpoint, sqlite_ckpt.c); while its queue
 * is empty and the engine's idle_wanted hook says so, it wakes after
 * idle_ms without a job and runs on_idle (the tuned engine's TRUNCATE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "store/sqlite/sqlite_thread.h"
#include "store/sqlite/sqlite_writer.h"
#include "store/store_util.h"

#define BATCH_MAX 256
#define BEGIN_TRIES 6 /* each waits up to the busy timeout for the CLI's lock */

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

/* Takes up to BATCH_MAX jobs from the queue (wr->mu held, queue not empty);
 * *last is the batch's last job. */
static struct wjob *take_batch(struct sq_writer *wr, uint64_t *n, struct wjob **last)
{
    struct wjob *batch = wr->head, *l = wr->head;
    for (*n = 1; l->next && *n < BATCH_MAX; ++*n)
        l = l->next;
    wr->head = l->next;
    wr->queued -= *n;
    if (!wr->head)
        wr->tail = NULL;
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

/* ==== the writer thread ==== */

/* Hands a finished batch (first .. last) to the waker, or wakes its callers
 * here without one. */
static void hand_over(struct sq_writer *wr, struct wjob *first, struct wjob *last)
{
    struct sq_waker *k = wr->waker;
    if (!k) {
        wake_batch(first);
        return;
    }
    pthread_mutex_lock(&k->mu);
    if (k->tail)
        k->tail->next = first;
    else
        k->head = first;
    k->tail = last;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

static void *waker_main(void *arg)
{
    struct sq_waker *k = arg;
    struct wjob *list;

    pthread_setname_np(pthread_self(), "flowlogd-waker");
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->head && !k->stopping)
            pthread_cond_wait(&k->cv, &k->mu);
        if (!k->head)
            break; /* stopping and every caller woken */
        list = k->head;
        k->head = k->tail = NULL;
        pthread_mutex_unlock(&k->mu);
        wake_batch(list);
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* Waits (wr->mu held) for a job or for stopping; with the engine's idle
 * work to do, wakes after idle_ms without a job to run it. */
static void writer_wait(struct sq_writer *wr)
{
    struct timespec at;

    if (!wr->on_idle || !wr->idle_wanted(wr->idle_arg)) {
        pthread_cond_wait(&wr->work, &wr->mu);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_sec += wr->idle_ms / 1000;
    at.tv_nsec += (long)(wr->idle_ms % 1000) * 1000000L;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec++;
        at.tv_nsec -= 1000000000L;
    }
    if (pthread_cond_timedwait(&wr->work, &wr->mu, &at) == ETIMEDOUT && !wr->head &&
        !wr->stopping) {
        pthread_mutex_unlock(&wr->mu);
        wr->on_idle(wr->idle_arg);
        pthread_mutex_lock(&wr->mu);
    }
}

static void *writer_main(void *arg)
{
    struct sq_writer *wr = arg;
    struct wjob *batch, *last, *finished, *finished_last;
    uint64_t n;
    int committed;

    pthread_setname_np(pthread_self(), "flowlogd-writer");
    pthread_mutex_lock(&wr->mu);
    for (;;) {
        while (!wr->head && !wr->stopping)
            writer_wait(wr);
        if (!wr->head)
            break; /* stopping and drained */
        batch = take_batch(wr, &n, &last);
        pthread_mutex_unlock(&wr->mu);
        while (batch) {
            uint64_t t0 = mono_us();
            committed = run_batch(wr->w, batch);
            if (committed)
                store_hist_add(&wr->commit_hist, mono_us() - t0);
            pthread_mutex_lock(&wr->mu);
            wr->commits += (uint64_t)committed;
            wr->jobs += n;
            finished = batch;
            finished_last = last;
            batch = wr->head ? take_batch(wr, &n, &last) : NULL; /* queued while it ran */
            pthread_mutex_unlock(&wr->mu);
            hand_over(wr, finished, finished_last);
            if (wr->after_batch)
                wr->after_batch(wr->after_arg);
        }
        pthread_mutex_lock(&wr->mu);
    }
    pthread_mutex_unlock(&wr->mu);
    return NULL;
}

void sq_writer_init(struct sq_writer *wr, struct conn *w, struct sq_waker *waker,
                    void (*after_batch)(void *), void *after_arg)
{
    memset(wr, 0, sizeof *wr);
    wr->w = w;
    wr->waker = waker;
    wr->after_batch = after_batch;
    wr->after_arg = after_arg;
    pthread_mutex_init(&wr->mu, NULL);
    pthread_cond_init(&wr->work, NULL);
    if (waker) {
        memset(waker, 0, sizeof *waker);
        pthread_mutex_init(&waker->mu, NULL);
        pthread_cond_init(&waker->cv, NULL);
    }
}

int sq_writer_start(struct sq_writer *wr)
{
    if (wr->waker) {
        if (pthread_create(&wr->waker->thread, NULL, waker_main, wr->waker) != 0)
            return -1;
        wr->waker->started = 1;
    }
    if (pthread_create(&wr->thread, NULL, writer_main, wr) != 0)
        return -1; /* sq_writer_stop stops the waker */
    wr->started = 1;
    return 0;
}

/* The writer first (it drains the queue into the waker's list), then the
 * waker once that list is empty. */
void sq_writer_stop(struct sq_writer *wr)
{
    sq_stop_thread(&wr->mu, &wr->work, &wr->stopping, wr->thread, &wr->started);
    if (wr->waker)
        sq_stop_thread(&wr->waker->mu, &wr->waker->cv, &wr->waker->stopping,
                       wr->waker->thread, &wr->waker->started);
}

void sq_writer_fini(struct sq_writer *wr)
{
    pthread_mutex_destroy(&wr->mu);
    pthread_cond_destroy(&wr->work);
    if (wr->waker) {
        pthread_mutex_destroy(&wr->waker->mu);
        pthread_cond_destroy(&wr->waker->cv);
    }
}

/* Appends j to the writer's queue; STORE_ERR once the store is closing. */
static int enqueue(struct sq_writer *wr, struct wjob *j)
{
    pthread_mutex_lock(&wr->mu);
    if (wr->stopping || !wr->started) {
        pthread_mutex_unlock(&wr->mu);
        return sq_err(j->err, STORE_ERR, "the store is closing");
    }
    j->next = NULL;
    if (wr->tail)
        wr->tail->next = j;
    else
        wr->head = j;
    wr->tail = j;
    wr->queued++;
    pthread_cond_signal(&wr->work); /* the writer sleeps only on an empty queue */
    pthread_mutex_unlock(&wr->mu);
    return STORE_OK;
}

int sq_writer_write(struct sq_writer *wr, wjob_fn fn, void *arg, struct serr *e)
{
    struct serr local;
    struct wjob j = {.fn = fn, .arg = arg, .err = e ? e : &local, .rc = STORE_ERR, .done = 0};

    if (enqueue(wr, &j) != STORE_OK)
        return STORE_ERR;
    futex_wait_zero(&j.done);
    return j.rc;
}

int sq_writer_write_async(struct sq_writer *wr, struct wjob *j)
{
    j->rc = STORE_ERR; /* `done` is not used: j->complete replaces the wake-up */
    return enqueue(wr, j);
}

void sq_writer_counts(struct sq_writer *wr, uint64_t *commits, uint64_t *jobs)
{
    pthread_mutex_lock(&wr->mu);
    if (commits)
        *commits = wr->commits;
    if (jobs)
        *jobs = wr->jobs;
    pthread_mutex_unlock(&wr->mu);
}

void sq_writer_figures(struct sq_writer *wr, const struct store_hist **commit, uint64_t *queued)
{
    *commit = &wr->commit_hist;
    pthread_mutex_lock(&wr->mu);
    *queued = wr->queued;
    pthread_mutex_unlock(&wr->mu);
}
