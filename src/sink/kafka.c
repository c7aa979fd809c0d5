/* kafka.c: the CKafka sink. sink_write puts the window into the on-disk
 * spool (spool.c: fsync'd before it returns) and a sender thread produces
 * the spooled windows with librdkafka, one JSON object per record, and
 * removes a window's file once every record of it is acknowledged
 * (acks=all, idempotent producer, lz4). At-least-once: a window whose
 * delivery was cut (a crash, a failed delivery) is produced again whole;
 * each record carries __RECORD_ID__ (flow log id, window start, index),
 * the same on every attempt, for a consumer to de-duplicate on. */
#include "sink/sink.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "sink/spool.h"

#define KAFKA_MAX_INFLIGHT_FILES 64
#define KAFKA_RETRY_MS 1000
#define KAFKA_MAX_FIELDS 64

struct ktopic {
    char *name;
    rd_kafka_topic_t *rkt;
    struct ktopic *next;
};

struct producer {
    char *brokers;
    rd_kafka_t *rk;
    int dead; /* a fatal error (idempotence): replaced, polled until closed */
    struct ktopic *topics;
    struct producer *next;
};

/* One spooled window being delivered. */
struct kfile {
    uint64_t seq;
    struct spool_win w;
    struct producer *p;
    size_t n, acked, failed;
    int produced; /* every record handed to librdkafka */
    uint64_t retry_at_ms;
    char first_err[160];
    struct kfile *next;
};

struct sink_kafka {
    struct sink base; /* must be first */
    struct spool *spool;
    char *client_id;
    int linger_ms;
    char **conf; /* extra key=value */
    size_t nconf;
    struct producer *producers; /* the sender thread's alone */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    struct sink_kafka_stats st; /* under mu */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ==== records -> JSON ==== */

static int word_eq(const char *a, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(a, lit, n) == 0;
}

/* Splits s (space-separated, up to end or '\n') into at most max words. */
static size_t split(const char *s, const char *end, const char **w, size_t *wl, size_t max)
{
    size_t n = 0;
    while (s < end && *s != '\n') {
        while (s < end && *s == ' ')
            s++;
        if (s >= end || *s == '\n')
            break;
        const char *b = s;
        while (s < end && *s != ' ' && *s != '\n')
            s++;
        if (n == max)
            return max + 1;
        w[n] = b;
        wl[n++] = (size_t)(s - b);
    }
    return n;
}

/* Writes s[0..n) as a JSON string at p (room for 6 n + 2 bytes). */
static char *put_json_str(char *p, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hex[c >> 4];
            p[5] = hex[c & 15];
            p += 6;
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    return p;
}

/** One record as the JSON object the sink produces, appended to out:
 * {"field":"value", ..., "__RECORD_ID__":"<flowlog>:<start>:<index>"}.
 * 0, or -1 when the line has not one word per field (or out of memory). */
int sink_kafka_record_json(struct buf *out, const char *fields, const char *line, size_t len,
                           const char *flowlog_id, uint64_t win_start, uint64_t index)
{
    const char *fw[KAFKA_MAX_FIELDS], *vw[KAFKA_MAX_FIELDS];
    size_t fl[KAFKA_MAX_FIELDS], vl[KAFKA_MAX_FIELDS];
    size_t flen = strlen(fields);
    size_t nf = split(fields, fields + flen, fw, fl, KAFKA_MAX_FIELDS);
    size_t nv = split(line, line + len, vw, vl, KAFKA_MAX_FIELDS);
    if (nf == 0 || nf > KAFKA_MAX_FIELDS || nv != nf)
        return -1;
    char id[160];
    int il = snprintf(id, sizeof id, "%s:%" PRIu64 ":%" PRIu64, flowlog_id, win_start, index);
    size_t idl = (size_t)il < sizeof id ? (size_t)il : sizeof id - 1;
    if (buf_reserve(out, 6 * (flen + len + idl) + 6 * nf + 64) != 0)
        return -1;
    char *p = out->data + out->len;
    *p++ = '{';
    for (size_t i = 0; i < nf; i++) {
        p = put_json_str(p, fw[i], fl[i]);
        *p++ = ':';
        p = put_json_str(p, vw[i], vl[i]);
        *p++ = ',';
    }
    memcpy(p, "\"__RECORD_ID__\":", 16);
    p = put_json_str(p + 16, id, idl);
    *p++ = '}';
    out->len = (size_t)(p - out->data);
    return 0;
}

/* The position of the interface-id (or ccn-id) field among `fields`, or -1:
 * the message key of each record (one ENI's records in one partition, also
 * in a VPC's or subnet's flow log). */
static int key_field(const char *fields)
{
    const char *fw[KAFKA_MAX_FIELDS];
    size_t fl[KAFKA_MAX_FIELDS];
    size_t nf = split(fields, fields + strlen(fields), fw, fl, KAFKA_MAX_FIELDS);
    for (size_t i = 0; i < nf && nf <= KAFKA_MAX_FIELDS; i++)
        if (word_eq(fw[i], fl[i], "interface-id") || word_eq(fw[i], fl[i], "ccn-id"))
            return (int)i;
    return -1;
}

/* Word `idx` of line[0..len): *k, *kl (unchanged when there is none). */
static void nth_word(const char *line, size_t len, int idx, const char **k, size_t *kl)
{
    const char *w[KAFKA_MAX_FIELDS];
    size_t wl[KAFKA_MAX_FIELDS];
    size_t n = split(line, line + len, w, wl, KAFKA_MAX_FIELDS);
    if (idx >= 0 && (size_t)idx < n && n <= KAFKA_MAX_FIELDS && !(wl[idx] == 1 && *w[idx] == '-')) {
        *k = w[idx];
        *kl = wl[idx];
    }
}

/* The line that stands for a window dropped whole: the flow log's own
 * fields as its first record has them, the window's bounds, SKIPDATA, and
 * `-` elsewhere. */
static int skipdata_line(struct buf *out, const char *fields, const char *first, size_t flen,
                         uint64_t start, uint64_t end)
{
    static const char *const own[] = {"version", "account-id", "interface-id", "ccn-id",
                                      "region-id", "vpc-id", "subnet-id", "instance-id",
                                      "region", NULL};
    const char *fw[KAFKA_MAX_FIELDS], *vw[KAFKA_MAX_FIELDS];
    size_t fl[KAFKA_MAX_FIELDS], vl[KAFKA_MAX_FIELDS];
    size_t nf = split(fields, fields + strlen(fields), fw, fl, KAFKA_MAX_FIELDS);
    size_t nv = split(first, first + flen, vw, vl, KAFKA_MAX_FIELDS);
    if (nf == 0 || nf > KAFKA_MAX_FIELDS || nv != nf)
        return -1;
    if (buf_reserve(out, flen + strlen(fields) + 16 * nf + 64) != 0)
        return -1;
    char *p = out->data + out->len;
    for (size_t i = 0; i < nf; i++) {
        if (i)
            *p++ = ' ';
        int kept = 0;
        for (size_t j = 0; own[j]; j++)
            if (word_eq(fw[i], fl[i], own[j]))
                kept = 1;
        if (kept) {
            memcpy(p, vw[i], vl[i]);
            p += vl[i];
        } else if (word_eq(fw[i], fl[i], "start") || word_eq(fw[i], fl[i], "end")) {
            p += sprintf(p, "%" PRIu64, word_eq(fw[i], fl[i], "start") ? start : end);
        } else if (word_eq(fw[i], fl[i], "log-status")) {
            memcpy(p, "SKIPDATA", 8);
            p += 8;
        } else {
            *p++ = '-';
        }
    }
    *p++ = '\n';
    out->len = (size_t)(p - out->data);
    return 0;
}

/* ==== producers (the sender thread's) ==== */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    struct kfile *f = m->_private;
    if (!f)
        return;
    if (m->err) {
        if (!f->failed)
            snprintf(f->first_err, sizeof f->first_err, "%s", rd_kafka_err2str(m->err));
        f->failed++;
    } else {
        f->acked++;
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    log_warn("kafka: %s: %s (%s)", rd_kafka_name(rk), reason,
             rd_kafka_err2name((rd_kafka_resp_err_t)err));
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *msg)
{
    (void)rk;
    /* errors reach error_cb too: logged once, there */
    if (level <= 2)
        log_warn("kafka: %s: %s", fac, msg);
    else
        log_debug("kafka: %s: %s", fac, msg);
}

static struct producer *producer_get(struct sink_kafka *k, const char *brokers, char *err,
                                     size_t errlen)
{
    for (struct producer *p = k->producers; p; p = p->next)
        if (!p->dead && strcmp(p->brokers, brokers) == 0)
            return p;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char linger[32];
    snprintf(linger, sizeof linger, "%d", k->linger_ms);
    const char *kv[][2] = {
        {"bootstrap.servers", brokers},
        {"client.id", k->client_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.codec", "lz4"},
        {"linger.ms", linger},
        /* a record waits for the broker as long as it takes: the spool
         * bounds what waits, not a timeout that would fail it */
        {"message.timeout.ms", "0"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(c, kv[i][0], kv[i][1], err, errlen) != RD_KAFKA_CONF_OK)
            goto bad;
    for (size_t i = 0; i < k->nconf; i++) {
        char *eq = strchr(k->conf[i], '=');
        char key[128];
        size_t kl = eq ? (size_t)(eq - k->conf[i]) : 0;
        if (!eq || kl >= sizeof key) {
            snprintf(err, errlen, "kafka setting %s: not key=value", k->conf[i]);
            goto bad;
        }
        memcpy(key, k->conf[i], kl);
        key[kl] = '\0';
        if (rd_kafka_conf_set(c, key, eq + 1, err, errlen) != RD_KAFKA_CONF_OK)
            goto bad;
    }
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rd_kafka_conf_set_error_cb(c, error_cb);
    rd_kafka_conf_set_log_cb(c, log_cb);
    struct producer *p = calloc(1, sizeof *p);
    if (!p || !(p->brokers = strdup(brokers))) {
        free(p);
        snprintf(err, errlen, "out of memory");
        goto bad;
    }
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, errlen);
    if (!p->rk) {
        free(p->brokers);
        free(p);
        goto bad;
    }
    p->next = k->producers;
    k->producers = p;
    return p;
bad:
    rd_kafka_conf_destroy(c);
    return NULL;
}

static rd_kafka_topic_t *topic_get(struct producer *p, const char *name)
{
    for (struct ktopic *t = p->topics; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t->rkt;
    struct ktopic *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name)) || !(t->rkt = rd_kafka_topic_new(p->rk, name, NULL))) {
        if (t)
            free(t->name);
        free(t);
        return NULL;
    }
    t->next = p->topics;
    p->topics = t;
    return t->rkt;
}

static void producers_poll(struct sink_kafka *k, int timeout_ms)
{
    int first = 1;
    for (struct producer *p = k->producers; p; p = p->next) {
        rd_kafka_poll(p->rk, first ? timeout_ms : 0);
        first = 0;
    }
    if (!k->producers && timeout_ms > 0) {
        struct timespec ts = {0, (long)timeout_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void producers_free(struct sink_kafka *k)
{
    /* what librdkafka still holds is not lost: its windows stay spooled */
    for (struct producer *p = k->producers; p; p = p->next) {
        rd_kafka_flush(p->rk, 500);
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(p->rk, 0);
    }
    while (k->producers) {
        struct producer *p = k->producers;
        k->producers = p->next;
        while (p->topics) {
            struct ktopic *t = p->topics;
            p->topics = t->next;
            rd_kafka_topic_destroy(t->rkt);
            free(t->name);
            free(t);
        }
        rd_kafka_destroy(p->rk);
        free(p->brokers);
        free(p);
    }
}

static int stopping(struct sink_kafka *k)
{
    pthread_mutex_lock(&k->mu);
    int s = k->stop;
    pthread_mutex_unlock(&k->mu);
    return s;
}

/* Hands every record of f to librdkafka; waits (polling) while its queue is
 * full. 0; 1 when asked to stop first; -1 on a window that cannot be sent
 * (logged). */
static int produce_file(struct sink_kafka *k, struct kfile *f, struct buf *jb)
{
    char err[512];
    f->acked = f->failed = 0;
    f->n = 0;
    f->produced = 0;
    f->first_err[0] = '\0';
    if (f->p && !f->p->dead && rd_kafka_fatal_error(f->p->rk, err, sizeof err)) {
        /* an idempotent producer that hit a fatal error takes nothing more:
         * a new one is made (the old one is polled until close, so the
         * reports of what it held still arrive) */
        log_error("kafka: the producer for %s had a fatal error (%s); making a new one",
                  f->p->brokers, err);
        f->p->dead = 1;
    }
    if (f->p && f->p->dead)
        f->p = NULL;
    if (!f->p && !(f->p = producer_get(k, f->w.brokers, err, sizeof err))) {
        log_error("kafka: window %" PRIu64 "-%" PRIu64 " of %s: no producer for %s: %s",
                  f->w.win_start, f->w.win_end, f->w.flowlog_id, f->w.brokers, err);
        return -1;
    }
    rd_kafka_topic_t *rkt = topic_get(f->p, f->w.topic);
    if (!rkt) {
        log_error("kafka: topic %s: %s", f->w.topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    const char *p = f->w.records, *end = f->w.records + f->w.len;
    uint64_t idx = 0;
    int kf = key_field(f->w.fields);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        buf_reset(jb);
        if (sink_kafka_record_json(jb, f->w.fields, p, ll, f->w.flowlog_id, f->w.win_start,
                                   idx) != 0) {
            log_error("kafka: window %" PRIu64 "-%" PRIu64 " of %s: record %" PRIu64
                      " does not have one value per field (%s)",
                      f->w.win_start, f->w.win_end, f->w.flowlog_id, idx, f->w.fields);
            return -1;
        }
        const char *key = f->w.key;
        size_t kl = strlen(key);
        nth_word(p, ll, kf, &key, &kl);
        for (;;) {
            int rc = rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, jb->data,
                                      jb->len, key, kl, f);
            if (rc == 0)
                break;
            rd_kafka_resp_err_t e = rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                /* what was handed over reports back; the window is retried */
                snprintf(f->first_err, sizeof f->first_err, "%s", rd_kafka_err2str(e));
                f->failed += 1;
                f->n++;
                return 0;
            }
            rd_kafka_poll(f->p->rk, 50);
            if (stopping(k))
                return 1;
        }
        f->n++;
        idx++;
        p = nl ? nl + 1 : end;
    }
    f->produced = 1;
    return 0;
}

static void *sender(void *arg)
{
    struct sink_kafka *k = arg;
    struct kfile *head = NULL, **tail = &head; /* in flight or waiting to retry */
    size_t ninflight = 0;
    uint64_t last = 0;
    struct buf jb;
    buf_init(&jb, 0);
    char err[512];
    while (!stopping(k)) {
        int busy = 0;
        uint64_t seq;
        if (ninflight < KAFKA_MAX_INFLIGHT_FILES && spool_next(k->spool, last, &seq) == 0) {
            last = seq;
            busy = 1;
            struct kfile *f = calloc(1, sizeof *f);
            if (!f) {
                last = seq - 1;
                producers_poll(k, 100);
                continue;
            }
            f->seq = seq;
            if (spool_read(k->spool, seq, &f->w, err, sizeof err) != 0) {
                log_error("kafka: %s", err);
                free(f);
                continue;
            }
            int rc = produce_file(k, f, &jb);
            *tail = f;
            tail = &f->next;
            ninflight++;
            if (rc == 1)
                break;
            if (rc < 0) {
                f->produced = 0;
                f->retry_at_ms = now_ms() + KAFKA_RETRY_MS;
            }
        }
        producers_poll(k, busy ? 0 : 20);
        /* settle the windows whose every record reported back */
        uint64_t now = now_ms();
        for (struct kfile **pp = &head; *pp;) {
            struct kfile *f = *pp;
            if (!f->produced && f->retry_at_ms && now >= f->retry_at_ms) {
                f->retry_at_ms = 0;
                pthread_mutex_lock(&k->mu);
                k->st.resends++;
                pthread_mutex_unlock(&k->mu);
                if (produce_file(k, f, &jb) < 0)
                    f->retry_at_ms = now + KAFKA_RETRY_MS;
            }
            if (!f->produced || f->acked + f->failed < f->n) {
                if (!f->produced && !f->retry_at_ms && f->acked + f->failed >= f->n)
                    f->retry_at_ms = now + KAFKA_RETRY_MS; /* cut short: all reported */
                pp = &f->next;
                continue;
            }
            if (f->failed) {
                log_warn("kafka: window %" PRIu64 "-%" PRIu64 " of %s: %zu of %zu records not "
                         "delivered (%s); it stays spooled and is sent again whole",
                         f->w.win_start, f->w.win_end, f->w.flowlog_id, f->failed, f->n,
                         f->first_err);
                f->produced = 0;
                f->retry_at_ms = now + KAFKA_RETRY_MS;
                pp = &f->next;
                continue;
            }
            /* counted before the file goes: sink_kafka_drain returns when
             * the spool is empty, and the counts are then whole */
            pthread_mutex_lock(&k->mu);
            k->st.windows_sent++;
            k->st.records_sent += f->n;
            pthread_mutex_unlock(&k->mu);
            if (spool_remove(k->spool, f->seq) != 0)
                log_warn("kafka: cannot remove spool file %" PRIu64 ": %s (sent again on a "
                         "restart)", f->seq, strerror(errno));
            pthread_mutex_lock(&k->mu);
            pthread_cond_broadcast(&k->cv);
            pthread_mutex_unlock(&k->mu);
            *pp = f->next;
            if (tail == &f->next)
                tail = pp;
            spool_win_free(&f->w);
            free(f);
            ninflight--;
        }
        if (!busy && !head) {
            pthread_mutex_lock(&k->mu);
            if (!k->stop) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 50 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&k->cv, &k->mu, &ts);
            }
            pthread_mutex_unlock(&k->mu);
        }
    }
    producers_free(k); /* the last delivery reports still point at the files */
    while (head) {
        struct kfile *f = head;
        head = f->next;
        spool_win_free(&f->w);
        free(f);
    }
    buf_free(&jb);
    return NULL;
}

/* ==== the sink ==== */

static int kafka_write(struct sink *s, const struct sink_window *w, char *err, size_t errlen)
{
    struct sink_kafka *k = (struct sink_kafka *)s;
    const struct sink_dest *d = w->dest;
    /* beside other sinks (the agent's list), a flow log stored elsewhere is
     * not this sink's */
    if (d && d->storage_type && *d->storage_type && strcmp(d->storage_type, "ckafka") != 0)
        return 0;
    if (!d || !d->ckafka_topic || !*d->ckafka_topic || !d->ckafka_brokers ||
        !*d->ckafka_brokers) {
        snprintf(err, errlen, "flow log %s: no CKafka topic and brokers to deliver to",
                 w->flowlog_id);
        return -1;
    }
    if (w->len == 0)
        return 0;
    const char *fields = d->fields && *d->fields ? d->fields : SINK_KAFKA_DEFAULT_FIELDS;
    /* every line must map onto the fields: checked here, not found later */
    const char *fw[KAFKA_MAX_FIELDS];
    size_t fl[KAFKA_MAX_FIELDS];
    size_t nf = split(fields, fields + strlen(fields), fw, fl, KAFKA_MAX_FIELDS);
    size_t lines = 0;
    for (const char *p = w->records, *end = w->records + w->len; p < end; lines++) {
        size_t words = 0;
        int in = 0;
        for (; p < end && *p != '\n'; p++) {
            if (*p != ' ' && !in)
                words++;
            in = *p != ' ';
        }
        p++;
        if (nf == 0 || nf > KAFKA_MAX_FIELDS || words != nf) {
            snprintf(err, errlen, "flow log %s: record %zu has not one value per field of \"%s\"",
                     w->flowlog_id, lines, fields);
            return -1;
        }
    }
    struct buf jb;
    buf_init(&jb, 0);
    struct spool_win sw = {
        .flowlog_id = (char *)w->flowlog_id, .win_start = w->win_start, .win_end = w->win_end,
        .topic = (char *)d->ckafka_topic, .brokers = (char *)d->ckafka_brokers,
        .key = (char *)(d->resource_id ? d->resource_id : ""), .fields = (char *)fields,
        .nrecords = lines, .records = (char *)w->records, .len = w->len,
    };
    int rc = spool_put(k->spool, &sw, 0, NULL, err, errlen);
    if (rc == 1) {
        struct spool_stats ss;
        spool_stats(k->spool, &ss);
        const char *nl = memchr(w->records, '\n', w->len);
        buf_reset(&jb);
        if (skipdata_line(&jb, fields, w->records,
                          nl ? (size_t)(nl - w->records) : w->len, w->win_start,
                          w->win_end) != 0) {
            buf_free(&jb);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        log_warn("kafka: spool full (%" PRIu64 " of %" PRIu64 " bytes): window %" PRIu64
                 "-%" PRIu64 " of %s dropped (%zu records), a SKIPDATA record sent in its place",
                 ss.bytes, ss.max_bytes, w->win_start, w->win_end, w->flowlog_id, lines);
        sw.records = jb.data;
        sw.len = jb.len;
        sw.nrecords = 1;
        rc = spool_put(k->spool, &sw, 1, NULL, err, errlen);
        if (rc == 0) {
            pthread_mutex_lock(&k->mu);
            k->st.windows_dropped++;
            k->st.records_dropped += lines;
            pthread_mutex_unlock(&k->mu);
        }
    }
    buf_free(&jb);
    if (rc != 0)
        return -1;
    pthread_mutex_lock(&k->mu);
    k->st.windows_spooled++;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    return 0;
}

static void kafka_close(struct sink *s)
{
    struct sink_kafka *k = (struct sink_kafka *)s;
    if (k->started) {
        pthread_mutex_lock(&k->mu);
        k->stop = 1;
        pthread_cond_broadcast(&k->cv);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->thread, NULL);
    }
    spool_close(k->spool);
    for (size_t i = 0; i < k->nconf; i++)
        free(k->conf[i]);
    free(k->conf);
    free(k->client_id);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static const struct sink_ops kafka_ops = {kafka_write, kafka_close};

struct sink *sink_kafka_open(const struct sink_kafka_opts *o, char *err, size_t errlen)
{
    if (!o || !o->spool_dir || !*o->spool_dir) {
        snprintf(err, errlen, "the Kafka sink needs a spool directory");
        return NULL;
    }
    struct sink_kafka *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    k->base.ops = &kafka_ops;
    k->base.name = "kafka";
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    k->linger_ms = o->linger_ms >= 0 ? o->linger_ms : SINK_KAFKA_DEFAULT_LINGER_MS;
    k->client_id = strdup(o->client_id ? o->client_id : "flowlogd");
    size_t n = 0;
    while (o->conf && o->conf[n])
        n++;
    k->conf = calloc(n + 1, sizeof *k->conf);
    if (!k->client_id || !k->conf)
        goto oom;
    for (; k->nconf < n; k->nconf++)
        if (!(k->conf[k->nconf] = strdup(o->conf[k->nconf])))
            goto oom;
    /* the settings are checked now, not at the first window */
    if (n) {
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        for (size_t i = 0; i < n; i++) {
            char *eq = strchr(k->conf[i], '=');
            if (!eq) {
                snprintf(err, errlen, "kafka setting %s: not key=value", k->conf[i]);
                rd_kafka_conf_destroy(c);
                goto fail;
            }
            *eq = '\0';
            int bad = rd_kafka_conf_set(c, k->conf[i], eq + 1, err, errlen) != RD_KAFKA_CONF_OK;
            *eq = '=';
            if (bad) {
                rd_kafka_conf_destroy(c);
                goto fail;
            }
        }
        rd_kafka_conf_destroy(c);
    }
    k->spool = spool_open(o->spool_dir,
                          o->spool_max_bytes ? o->spool_max_bytes : SINK_KAFKA_DEFAULT_SPOOL_MAX,
                          err, errlen);
    if (!k->spool)
        goto fail;
    struct spool_stats ss;
    spool_stats(k->spool, &ss);
    if (ss.files)
        log_info("kafka: spool %s: %" PRIu64 " windows (%" PRIu64 " bytes) from before, sending",
                 o->spool_dir, ss.files, ss.bytes);
    if (ss.bad)
        log_warn("kafka: spool %s holds %" PRIu64 " .bad files that were not sent", o->spool_dir,
                 ss.bad);
    if (pthread_create(&k->thread, NULL, sender, k) != 0) {
        snprintf(err, errlen, "cannot start the Kafka sender thread");
        goto fail;
    }
    k->started = 1;
    return &k->base;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    kafka_close(&k->base);
    return NULL;
}

void sink_kafka_stats(struct sink *s, struct sink_kafka_stats *st)
{
    struct sink_kafka *k = (struct sink_kafka *)s;
    struct spool_stats ss;
    spool_stats(k->spool, &ss);
    pthread_mutex_lock(&k->mu);
    *st = k->st;
    pthread_mutex_unlock(&k->mu);
    st->spool_files = ss.files;
    st->spool_bytes = ss.bytes;
    st->spool_bad = ss.bad;
}

int sink_kafka_drain(struct sink *s, int timeout_ms)
{
    struct sink_kafka *k = (struct sink_kafka *)s;
    uint64_t until = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        struct spool_stats ss;
        spool_stats(k->spool, &ss);
        if (ss.files == 0)
            return 0;
        if (now_ms() >= until)
            return 1;
        pthread_mutex_lock(&k->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&k->cv, &k->mu, &ts);
        pthread_mutex_unlock(&k->mu);
    }
}
