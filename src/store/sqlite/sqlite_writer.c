/* sqlite_writer.c: the writer thread and group commit.
 *
 * Protocol. A write operation is a job on the caller's stack, appended to
 * the queue under s->mu; the caller then sleeps on the job's own condition
 * variable. The writer takes every job queued at that moment (at most
 * BATCH_MAX), and without holding s->mu runs
 *     BEGIN IMMEDIATE
 *       SAVEPOINT job; <job 1>; RELEASE job     (or ROLLBACK TO job; RELEASE job)
 *       SAVEPOINT job; <job 2>; ...
 *     COMMIT                                     (synchronous=FULL: one fsync)
 * A job that fails (not found, exists, quota, a statement error) is rolled
 * back to its savepoint and keeps its own result; the others are unaffected.
 * Only after COMMIT returned does the writer take s->mu, mark every job of
 * the batch done and signal it, so STORE_OK always means durable. If BEGIN,
 * a savepoint step or COMMIT fails, or SQLite aborted the transaction, the
 * batch is rolled back and every job of it gets STORE_ERR with the reason.
 * While a batch runs, new jobs queue up and form the next batch.
 */
#include <string.h>

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

static void *writer_main(void *arg)
{
    struct store_sqlite *s = arg;
    struct wjob *batch, *last, *j, *next;
    uint64_t n;
    int committed;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work, &s->mu);
        if (!s->head)
            break; /* stopping and drained */
        batch = last = s->head;
        for (n = 1; last->next && n < BATCH_MAX; n++)
            last = last->next;
        s->head = last->next;
        if (!s->head)
            s->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->mu);

        committed = run_batch(s->w, batch);

        pthread_mutex_lock(&s->mu);
        s->commits += (uint64_t)committed;
        s->jobs += n;
        for (j = batch; j; j = next) {
            next = j->next; /* j is gone once its caller wakes */
            j->done = 1;
            pthread_cond_signal(&j->cv);
        }
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
    struct wjob j = {.fn = fn, .arg = arg, .err = e ? e : &local, .rc = STORE_ERR};

    pthread_cond_init(&j.cv, NULL);
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        sq_err(j.err, STORE_ERR, "the store is closing");
        j.done = 1;
    } else {
        if (s->tail)
            s->tail->next = &j;
        else
            s->head = &j;
        s->tail = &j;
        pthread_cond_signal(&s->work); /* the writer sleeps only on an empty queue */
    }
    while (!j.done)
        pthread_cond_wait(&j.cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&j.cv);
    return j.rc;
}
