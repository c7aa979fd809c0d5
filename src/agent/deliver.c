/* deliver.c: see deliver.h. */
#define _GNU_SOURCE
#include "agent/deliver.h"
#include "agent/dp_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "sink/sink.h"

#define DELIVERY_MAX_SINKS 8
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

struct dsink {
    struct sink *s;
    uint64_t not_before_ms; /* backing off after a failure */
    uint32_t backoff_ms;
    int failing;            /* logged */
};

struct delivery {
    char records[4096];
    char cursors[4200];
    struct dsink sinks[DELIVERY_MAX_SINKS];
    size_t nsinks;
    pthread_mutex_t mu; /* routes, kicked, stop */
    pthread_cond_t cv;
    struct delivery_route *routes;
    size_t nroutes;
    int kicked, stop, threaded;
    pthread_t thread;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ==== cursors ==== */

static void cursor_path(const struct delivery *d, const struct sink *s, const char *fl, char *out,
                        size_t cap)
{
    snprintf(out, cap, "%s/%s/%s", d->cursors, s->name, fl);
}

/* 1 with *end, 0 when there is none, -1 on error */
static int cursor_get(const struct delivery *d, const struct sink *s, const char *fl,
                      uint64_t *end)
{
    char path[4600], buf[32];
    cursor_path(d, s, fl, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *e;
    errno = 0;
    *end = strtoull(buf, &e, 10);
    return errno || e == buf ? -1 : 1;
}

static int cursor_put(const struct delivery *d, const struct sink *s, const char *fl,
                      uint64_t end)
{
    char dir[4400], path[4600], tmp[4700], buf[32];
    snprintf(dir, sizeof dir, "%s/%s", d->cursors, s->name);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    cursor_path(d, s, fl, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", end);
    return file_replace_durably(dir, tmp, path, buf, (size_t)n);
}

/* ==== a pass ==== */

struct walk {
    struct delivery *d;
    struct dsink *ds;
    const struct delivery_route *r;
    long delivered;
    int failed;
};

static int deliver_one(void *ud, uint64_t start, uint64_t end, const char *records, size_t len)
{
    struct walk *w = ud;
    const struct delivery_route *r = w->r;
    struct sink_dest dest = {
        .storage_type = r->storage_type, .cls_topic_id = r->cls_topic,
        .cls_region = r->cls_region, .ckafka_id = r->ckafka_id, .ckafka_topic = r->ckafka_topic,
        .ckafka_brokers = r->brokers[0] ? r->brokers : NULL, .resource_id = r->resource_id,
        .host = r->host, .fields = r->fields, .account_uin = r->uin};
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += records[i] == '\n';
    struct sink_window sw = {.flowlog_id = r->flowlog_id, .win_start = start, .win_end = end,
                             .records = records, .len = len, .nrecords = n, .dest = &dest};
    char err[512];
    if (sink_write(w->ds->s, &sw, err, sizeof err) != 0) {
        dp_metrics_delivery(w->ds->s->name, 0, 0, end);
        if (!w->ds->failing)
            log_warn("agent: %s sink: %s window %" PRIu64 ": %s (the files keep it; retried)",
                     w->ds->s->name, r->flowlog_id, start, err);
        w->ds->failing = 1;
        w->failed = 1;
        return 1;
    }
    if (cursor_put(w->d, w->ds->s, r->flowlog_id, end) != 0) {
        log_error("agent: %s sink: cannot keep the cursor of %s: %s (that window may be sent "
                  "again)",
                  w->ds->s->name, r->flowlog_id, strerror(errno));
        w->failed = 1;
        return 1;
    }
    dp_metrics_delivery(w->ds->s->name, 1, n, end);
    if (w->ds->failing)
        log_info("agent: %s sink delivers again", w->ds->s->name);
    w->ds->failing = 0;
    w->delivered++;
    return 0;
}

/* Whether sink s takes route r: the CLS sink the flow logs stored in CLS
 * (StorageType "cls", the default), a Kafka sink those in CKafka; any
 * other sink every flow log. */
static int wants(const struct sink *s, const struct delivery_route *r)
{
    if (strcmp(s->name, "cls") == 0)
        return r->storage_type[0] == '\0' || strcmp(r->storage_type, "cls") == 0;
    if (strcmp(s->name, "kafka") == 0 || strcmp(s->name, "ckafka") == 0)
        return strcmp(r->storage_type, "ckafka") == 0;
    return 1;
}

/* Adds the windows of `fl` under the records directory that end after
 * `since` (what a delivery sink has yet to take: the files are its spool)
 * and their bytes. */
static void backlog_add(const struct delivery *d, const char *fl, uint64_t since,
                        uint64_t *windows, uint64_t *bytes)
{
    char dir[4200];
    struct dirent *e;
    snprintf(dir, sizeof dir, "%s/%s", d->records, fl);
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    while ((e = readdir(dp))) { /* "START-END.log" or "START-END.N.log" */
        char *p;
        struct stat sb;
        size_t n = strlen(e->d_name);
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || n < 4 ||
            strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        (void)strtoull(e->d_name, &p, 10);
        if (*p != '-')
            continue;
        uint64_t end = strtoull(p + 1, &p, 10);
        if (*p != '.' || end <= since || fstatat(dirfd(dp), e->d_name, &sb, 0) != 0)
            continue;
        (*windows)++;
        *bytes += (uint64_t)sb.st_size;
    }
    closedir(dp);
}

/* Each delivery sink's spool for the metrics: the windows past its cursors. */
static void backlog_report(struct delivery *d, const struct delivery_route *routes, size_t n)
{
    for (size_t k = 0; k < d->nsinks; k++) {
        uint64_t windows = 0, bytes = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t since;
            if (!wants(d->sinks[k].s, &routes[i]))
                continue;
            int c = cursor_get(d, d->sinks[k].s, routes[i].flowlog_id, &since);
            if (c < 0)
                continue;
            backlog_add(d, routes[i].flowlog_id, c == 0 ? 0 : since, &windows, &bytes);
        }
        dp_metrics_spool(d->sinks[k].s->name, bytes, windows);
    }
}

long delivery_pass(struct delivery *d)
{
    struct delivery_route *routes = NULL;
    size_t n;
    long total = 0;
    int failed = 0;

    pthread_mutex_lock(&d->mu);
    n = d->nroutes;
    if (n && (routes = malloc(n * sizeof *routes)))
        memcpy(routes, d->routes, n * sizeof *routes);
    pthread_mutex_unlock(&d->mu);
    if (n && !routes)
        return -1;
    uint64_t now = mono_ms();
    for (size_t k = 0; k < d->nsinks; k++) {
        struct dsink *ds = &d->sinks[k];
        if (ds->not_before_ms > now)
            continue;
        int sink_failed = 0;
        for (size_t i = 0; i < n && !sink_failed; i++) {
            uint64_t since;
            if (!wants(ds->s, &routes[i]))
                continue;
            int c = cursor_get(d, ds->s, routes[i].flowlog_id, &since);
            if (c < 0) {
                log_error("agent: %s sink: the cursor of %s is unreadable", ds->s->name,
                          routes[i].flowlog_id);
                sink_failed = 1;
                break;
            }
            if (c == 0) { /* new to this sink: everything its files hold (a start
                           * at "the window being captured" lost the first
                           * windows when the routes changed again before
                           * this pass) */
                since = 0;
                if (cursor_put(d, ds->s, routes[i].flowlog_id, since) != 0) {
                    sink_failed = 1;
                    break;
                }
            }
            struct walk w = {.d = d, .ds = ds, .r = &routes[i]};
            char err[512];
            if (sink_files_each(d->records, routes[i].flowlog_id, since, UINT64_MAX, deliver_one,
                                &w, err, sizeof err) < 0) {
                log_error("agent: %s sink: reading %s: %s", ds->s->name, routes[i].flowlog_id,
                          err);
                sink_failed = 1;
            }
            total += w.delivered;
            sink_failed |= w.failed;
        }
        if (sink_failed) {
            ds->backoff_ms = ds->backoff_ms ? ds->backoff_ms * 2 : BACKOFF_MIN_MS;
            if (ds->backoff_ms > BACKOFF_MAX_MS)
                ds->backoff_ms = BACKOFF_MAX_MS;
            ds->not_before_ms = mono_ms() + ds->backoff_ms;
            failed = 1;
        } else {
            ds->backoff_ms = 0;
        }
    }
    backlog_report(d, routes, n);
    free(routes);
    return failed ? -1 : total;
}

/* ==== the thread ==== */

static void *run(void *arg)
{
    struct delivery *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        if (!d->kicked) { /* a failed sink's back-off ends without a kick: wake anyway */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 500000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&d->cv, &d->mu, &ts);
        }
        if (d->stop)
            break;
        d->kicked = 0;
        pthread_mutex_unlock(&d->mu);
        delivery_pass(d);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

struct delivery *delivery_new(const char *records, struct sink **sinks, size_t nsinks, int thread,
                              char *err, size_t errlen)
{
    struct delivery *d = calloc(1, sizeof *d);
    if (!d || nsinks > DELIVERY_MAX_SINKS) {
        snprintf(err, errlen, d ? "too many delivery sinks" : "out of memory");
        free(d);
        return NULL;
    }
    snprintf(d->records, sizeof d->records, "%s", records);
    snprintf(d->cursors, sizeof d->cursors, "%s/.agent", records);
    mkdir(d->cursors, 0700);
    snprintf(d->cursors, sizeof d->cursors, "%s/.agent/cursors", records);
    if (mkdir(d->cursors, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", d->cursors, strerror(errno));
        free(d);
        return NULL;
    }
    for (size_t i = 0; i < nsinks; i++)
        d->sinks[d->nsinks++].s = sinks[i];
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (thread) {
        if (pthread_create(&d->thread, NULL, run, d) != 0) {
            snprintf(err, errlen, "cannot start the delivery thread");
            pthread_mutex_destroy(&d->mu);
            pthread_cond_destroy(&d->cv);
            free(d);
            return NULL;
        }
        d->threaded = 1;
    }
    return d;
}

void delivery_routes(struct delivery *d, const struct delivery_route *r, size_t n)
{
    struct delivery_route *copy = n ? malloc(n * sizeof *copy) : NULL;
    if (n && !copy) {
        log_error("agent: out of memory for the delivery's routes (kept the last ones)");
        return;
    }
    if (n)
        memcpy(copy, r, n * sizeof *copy);
    pthread_mutex_lock(&d->mu);
    free(d->routes);
    d->routes = copy;
    d->nroutes = n;
    d->kicked = 1;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void delivery_kick(struct delivery *d)
{
    pthread_mutex_lock(&d->mu);
    d->kicked = 1;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void delivery_stop(struct delivery *d)
{
    if (!d)
        return;
    if (d->threaded) {
        pthread_mutex_lock(&d->mu);
        d->stop = 1;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL);
    }
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d->routes);
    free(d);
}
