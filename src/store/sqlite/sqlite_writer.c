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
 * Then, without s->mu, it wakes the batch's callers one by one: it reads
 * j->next, stores done = 1 (release: rc and *err are written before it) and
 * FUTEX_WAKEs the word. From that store on the job may be gone (its caller
 * may have returned); the wake only passes the word's address to the kernel,
 * which never writes there (at worst another futex waiter at that stack
 * address wakes spuriously, which every futex waiter tolerates).
 * So STORE_OK always means durable. While a batch runs, new jobs queue up
 * and form the next batch.
 */
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "store/sqlite/sqlite_int.h"

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

/* Takes up to BATCH_MAX jobs from the queue (s->mu held, queue not empty). */
static struct wjob *take_batch(struct store_sqlite *s, uint64_t *n)
{
    struct wjob *batch = s->head, *last = s->head;
    for (*n = 1; last->next && *n < BATCH_MAX; ++*n)
        last = last->next;
    s->head = last->next;
    if (!s->head)
        s->tail = NULL;
    last->next = NULL;
    return batch;
}

/* Publishes the results of a finished batch and wakes its callers (without
 * s->mu). A job must not be touched once its `done` is set. */
static void wake_batch(struct wjob *j)
{
    struct wjob *next;
    for (; j; j = next) {
        next = j->next;
        atomic_store_explicit(&j->done, 1, memory_order_release);
        syscall(SYS_futex, (void *)&j->done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

static void *writer_main(void *arg)
{
    struct store_sqlite *s = arg;
    struct wjob *batch, *finished;
    uint64_t n;
    int committed;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work, &s->mu);
        if (!s->head)
            break; /* stopping and drained */
        batch = take_batch(s, &n);
        pthread_mutex_unlock(&s->mu);
        while (batch) {
            committed = run_batch(s->w, batch);
            pthread_mutex_lock(&s->mu);
            s->commits += (uint64_t)committed;
            s->jobs += n;
            finished = batch;
            batch = s->head ? take_batch(s, &n) : NULL; /* queued while it ran */
            pthread_mutex_unlock(&s->mu);
            wake_batch(finished);
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sq_writer_start(struct store_sqlite *s)
{
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
        return -1;
    s->writer_started = 1;
    return 0;
}

void sq_writer_stop(struct store_sqlite *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    s->writer_started = 0;
}

int sq_write(struct store_sqlite *s, wjob_fn fn, void *arg, struct serr *e)
{
    struct serr local;
    struct wjob j = {.fn = fn, .arg = arg, .err = e ? e : &local, .rc = STORE_ERR, .done = 0};

    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return sq_err(j.err, STORE_ERR, "the store is closing");
    }
    if (s->tail)
        s->tail->next = &j;
    else
        s->head = &j;
    s->tail = &j;
    pthread_cond_signal(&s->work); /* the writer sleeps only on an empty queue */
    pthread_mutex_unlock(&s->mu);
    futex_wait_zero(&j.done);
    return j.rc;
}
