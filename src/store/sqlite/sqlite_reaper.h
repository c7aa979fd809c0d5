/* sqlite_reaper.h: the tuned engine's reaper thread: while any reader keeps
 * a read transaction between reads, it calls `reap` every REAP_MS (see
 * sqlite_reader.c); it sleeps while none does. */
#ifndef FLOWLOGD_STORE_SQLITE_REAPER_H
#define FLOWLOGD_STORE_SQLITE_REAPER_H

#include <pthread.h>

struct sq_reaper {
    pthread_mutex_t mu; /* holding, stopping */
    pthread_cond_t cv;  /* holding became non-zero, or stopping */
    int holding;        /* readers that keep a transaction */
    int stopping;
    pthread_t thread;
    int started;
    void (*reap)(void *arg); /* called without mu */
    void *arg;
};

void sq_reaper_init(struct sq_reaper *r, void (*reap)(void *), void *arg);
int sq_reaper_start(struct sq_reaper *r);
void sq_reaper_stop(struct sq_reaper *r);
void sq_reaper_fini(struct sq_reaper *r);
/** holding += d (a reader began or stopped keeping its transaction); wakes
 * the thread on 0 -> 1. */
void sq_reaper_holding(struct sq_reaper *r, int d);

#endif
