/* sqlite_reaper.c: the reaper thread of the tuned engine's readers. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "store/sqlite/sqlite_reaper.h"
#include "store/sqlite/sqlite_thread.h"

#define REAP_MS 2

void sq_reaper_init(struct sq_reaper *r, void (*reap)(void *), void *arg)
{
    pthread_condattr_t ca;

    memset(r, 0, sizeof *r);
    r->reap = reap;
    r->arg = arg;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
}

void sq_reaper_holding(struct sq_reaper *r, int d)
{
    pthread_mutex_lock(&r->mu);
    r->holding += d;
    if (d > 0 && r->holding == 1)
        pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void *reaper_main(void *arg)
{
    struct sq_reaper *r = arg;
    struct timespec until;

    pthread_setname_np(pthread_self(), "flowlogd-reaper");
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        if (!r->holding) {
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += REAP_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &until) != ETIMEDOUT)
            ;
        if (r->stopping)
            break;
        pthread_mutex_unlock(&r->mu);
        r->reap(r->arg);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int sq_reaper_start(struct sq_reaper *r)
{
    if (pthread_create(&r->thread, NULL, reaper_main, r) != 0)
        return -1;
    r->started = 1;
    return 0;
}

void sq_reaper_stop(struct sq_reaper *r)
{
    sq_stop_thread(&r->mu, &r->cv, &r->stopping, r->thread, &r->started);
}

void sq_reaper_fini(struct sq_reaper *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}
