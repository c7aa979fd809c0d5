/* sqlite_writer.h: the group-commit writer thread and its waker, used by
 * both engines (see sqlite_writer.c). */
#ifndef FLOWLOGD_STORE_SQLITE_WRITER_H
#define FLOWLOGD_STORE_SQLITE_WRITER_H

#include <pthread.h>
#include <stdint.h>

#include "store/sqlite/sqlite_engine.h"

/** The waker thread: wakes the callers of finished batches, so that the
 * writer goes on with the next batch at once. */
struct sq_waker {
    pthread_mutex_t mu; /* the list and stopping */
    pthread_cond_t cv;  /* list not empty or stopping */
    struct wjob *head, *tail;
    int stopping;
    pthread_t thread;
    int started;
};

/** The writer: one thread, one connection, a queue of jobs. */
struct sq_writer {
    struct conn *w;        /* only the writer thread uses it once started */
    pthread_mutex_t mu;    /* queue, stopping, counters (not the jobs' wake-up) */
    pthread_cond_t work;   /* queue not empty or stopping */
    struct wjob *head, *tail;
    int stopping;
    uint64_t commits, jobs;
    uint64_t queued;              /* jobs in the queue now (under mu) */
    struct store_hist commit_hist; /* each batch, BEGIN to COMMIT returned */
    pthread_t thread;
    int started;
    struct sq_waker *waker; /* NULL: the writer wakes the callers itself */
    /* run on the writer thread after each batch (its callers handed over)
     * and before the next: the tuned engine's RESTART checkpoint */
    void (*after_batch)(void *arg);
    void *after_arg;
    /* with an empty queue: if idle_wanted(idle_arg) (on the writer thread),
     * the writer runs on_idle(idle_arg) once no job came for idle_ms (the
     * tuned engine's TRUNCATE of the WAL); set before sq_writer_start */
    int (*idle_wanted)(void *arg);
    void (*on_idle)(void *arg);
    void *idle_arg;
    unsigned idle_ms;
};

/** Initialises wr's locks (before sq_writer_start; sq_writer_fini undoes). */
void sq_writer_init(struct sq_writer *wr, struct conn *w, struct sq_waker *waker,
                    void (*after_batch)(void *), void *after_arg);
/** Starts the waker (if any) and the writer thread. 0 or -1. */
int sq_writer_start(struct sq_writer *wr);
/** Drains the queue, stops the writer and then the waker. */
void sq_writer_stop(struct sq_writer *wr);
void sq_writer_fini(struct sq_writer *wr);

int sq_writer_write(struct sq_writer *wr, wjob_fn fn, void *arg, struct serr *e);
int sq_writer_write_async(struct sq_writer *wr, struct wjob *j);
void sq_writer_counts(struct sq_writer *wr, uint64_t *commits, uint64_t *jobs);

/** The commit latency histogram and the jobs queued now (for /metrics). */
void sq_writer_figures(struct sq_writer *wr, const struct store_hist **commit, uint64_t *queued);

#endif
