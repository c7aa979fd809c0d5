/* notify.c: see notify.h. */
#include "server/notify.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "base/log.h"

void notify_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "ready");
}

void notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started, stopping;
    uint64_t interval_us;
    int (*alive)(void *);
    void *ud;
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wd.mu);
    while (!wd.stopping) {
        struct timespec until;
        uint64_t half = wd.interval_us / 2;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(half / 1000000);
        until.tv_nsec += (long)(half % 1000000) * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_mutex_unlock(&wd.mu);
        if (wd.alive(wd.ud))
            sd_notify(0, "WATCHDOG=1");
        else
            log_warn("watchdog: the store's writer is not alive; no keep-alive sent");
        pthread_mutex_lock(&wd.mu);
        if (!wd.stopping)
            pthread_cond_timedwait(&wd.cv, &wd.mu, &until);
    }
    pthread_mutex_unlock(&wd.mu);
    return NULL;
}

int notify_watchdog_start(int (*alive)(void *), void *ud)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    wd.interval_us = usec;
    wd.alive = alive;
    wd.ud = ud;
    wd.stopping = 0;
    if (pthread_create(&wd.thread, NULL, watchdog_main, NULL) != 0)
        return -1;
    wd.started = 1;
    log_info("watchdog: keep-alive every %llu ms", (unsigned long long)usec / 2000);
    return 0;
}

void notify_watchdog_stop(void)
{
    if (!wd.started)
        return;
    pthread_mutex_lock(&wd.mu);
    wd.stopping = 1;
    pthread_cond_signal(&wd.cv);
    pthread_mutex_unlock(&wd.mu);
    pthread_join(wd.thread, NULL);
    wd.started = 0;
}
