/* retention.c: see retention.h. One pass deletes in steps (the store's
 * job deletes at most a bounded number of logs per commit), so writes are
 * not held up behind a large expiry. */
#include "server/retention.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"

struct retention {
    struct store *st;
    uint64_t interval_ms;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static void *run(void *arg)
{
    struct retention *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec ts;
        uint64_t deleted = 0;
        struct serr e = {{0}};
        int rc;

        pthread_mutex_unlock(&r->mu);
        rc = store_cls_logs_expire(r->st, (int64_t)now_ms(), &deleted, &e);
        if (rc != STORE_OK)
            log_warn("cls retention: %s", e.msg);
        else if (deleted)
            log_info("cls retention: %llu logs past their topic's Period deleted",
                     (unsigned long long)deleted);
        pthread_mutex_lock(&r->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(r->interval_ms / 1000);
        ts.tv_nsec += (long)(r->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

struct retention *retention_start(struct store *st, uint64_t interval_ms)
{
    struct retention *r;
    if (!store_has_cls(st) || !(r = calloc(1, sizeof *r)))
        return NULL;
    r->st = st;
    r->interval_ms = interval_ms ? interval_ms : RETENTION_DEFAULT_MS;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->th, NULL, run, r) != 0) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        free(r);
        return NULL;
    }
    return r;
}

void retention_stop(struct retention *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}
