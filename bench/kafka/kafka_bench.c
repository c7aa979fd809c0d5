/* kafka_bench: records/s into librdkafka's mock cluster, side by side in one
 * run: a bare librdkafka producer (JSON payloads made beforehand, the same
 * producer settings: idempotent, acks=all, lz4, linger 20 ms) and flowlogd's
 * Kafka sink (sink_write of whole windows: spool write + fsync, read back,
 * a JSON object per record, produce, acknowledgement, spool file removed).
 * The mock cluster runs in another process (kmock), so this process's CPU
 * time is the producer's alone: records per CPU second is "per core".
 * Not a test: it judges nothing. `make bench-kafka`.
 * usage: kafka_bench KMOCK [RECORDS] [RECORDS_PER_WINDOW] */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "sink/sink.h"
#include "sink/spool.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long delivered, failed;

static void dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *o)
{
    (void)rk;
    (void)o;
    if (m->err)
        failed++;
    else
        delivered++;
}

/* One window's record lines: ENI records as the engine prints them. */
static void make_window(struct buf *b, uint64_t start, long n, long base)
{
    buf_reset(b);
    for (long i = 0; i < n; i++) {
        long x = base + i;
        buf_printf(b,
                   "2 1251762227 eni-%08lx 10.%ld.%ld.%ld 172.16.%ld.%ld %ld 443 6 %ld %ld "
                   "%" PRIu64 " %" PRIu64 " ACCEPT OK\n",
                   x % 16, (x >> 16) & 255, (x >> 8) & 255, x & 255, (x >> 8) & 255, x & 255,
                   1024 + x % 60000, 1 + x % 97, 60 + x % 150000, start, start + 60);
    }
}

static void report(const char *name, long n, double wall, double cpu)
{
    printf("%-28s %9ld records  %7.3f s wall  %7.3f s CPU  %9.0f records/s  %9.0f records/s "
           "per core\n",
           name, n, wall, cpu, n / wall, n / cpu);
    fflush(stdout);
}

static rd_kafka_t *bare_producer(const char *bootstrap)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bootstrap}, {"enable.idempotence", "true"},
                           {"acks", "all"},                  {"compression.codec", "lz4"},
                           {"linger.ms", "20"},              {"message.timeout.ms", "0"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(c, kv[i][0], kv[i][1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "kafka_bench: %s\n", err);
            exit(1);
        }
    rd_kafka_conf_set_dr_msg_cb(c, dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka_bench: %s\n", err);
        exit(1);
    }
    return rk;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: kafka_bench BOOTSTRAP SPOOL_DIR [RECORDS] [RECORDS_PER_WINDOW]\n");
        return 2;
    }
    const char *bootstrap = argv[1], *spool = argv[2];
    long n = argc > 3 ? atol(argv[3]) : 1000000;
    long per = argc > 4 ? atol(argv[4]) : 100000;
    if (n <= 0 || per <= 0)
        return 2;
    long nwin = (n + per - 1) / per;
    struct buf win, json;
    buf_init(&win, 0);
    buf_init(&json, 0);

    /* 1. the bare producer: the same records as JSON, made beforehand */
    {
        rd_kafka_t *rk = bare_producer(bootstrap);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, "bare", NULL);
        char **vals = malloc(sizeof *vals * (size_t)n);
        size_t *lens = malloc(sizeof *lens * (size_t)n);
        long k = 0;
        for (long w = 0; w < nwin; w++) {
            long m = w == nwin - 1 ? n - w * per : per;
            make_window(&win, 1700000000 + 60 * (uint64_t)w, m, w * per);
            const char *p = win.data;
            for (long i = 0; i < m; i++, k++) {
                const char *nl = strchr(p, '\n');
                buf_reset(&json);
                sink_kafka_record_json(&json, SINK_KAFKA_DEFAULT_FIELDS, p, (size_t)(nl - p),
                                       "fl-bench", 1700000000 + 60 * (uint64_t)w, (uint64_t)i);
                vals[k] = malloc(json.len);
                memcpy(vals[k], json.data, json.len);
                lens[k] = json.len;
                p = nl + 1;
            }
        }
        /* connected before the clock starts, as the sink's producer is */
        const struct rd_kafka_metadata *md;
        rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        rd_kafka_metadata_destroy(md);
        double w0 = now_s(), c0 = cpu_s();
        for (long i = 0; i < n; i++) {
            const char *key = strstr(vals[i], "eni-");
            while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, vals[i],
                                    lens[i], key, 12, NULL) != 0)
                rd_kafka_poll(rk, 10);
            rd_kafka_poll(rk, 0);
        }
        rd_kafka_flush(rk, 600000);
        double wall = now_s() - w0, cpu = cpu_s() - c0;
        if (delivered != n || failed)
            fprintf(stderr, "bare producer: %ld delivered, %ld failed of %ld\n", delivered,
                    failed, n);
        report("bare librdkafka producer", n, wall, cpu);
        for (long i = 0; i < n; i++)
            free(vals[i]);
        free(vals);
        free(lens);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
    }

    /* 2. flowlogd's Kafka sink: windows of text lines through the spool */
    {
        char err[512];
        struct sink_kafka_opts o = {.spool_dir = spool, .linger_ms = -1};
        struct sink *s = sink_kafka_open(&o, err, sizeof err);
        if (!s) {
            fprintf(stderr, "kafka_bench: %s\n", err);
            return 1;
        }
        struct sink_dest d = {.storage_type = "ckafka", .ckafka_topic = "sink",
                              .ckafka_brokers = bootstrap, .resource_id = "eni-00000001",
                              .fields = SINK_KAFKA_DEFAULT_FIELDS};
        /* the windows are made beforehand too: only the sink is timed */
        struct buf *wins = calloc((size_t)nwin, sizeof *wins);
        long *counts = calloc((size_t)nwin, sizeof *counts);
        for (long w = 0; w < nwin; w++) {
            counts[w] = w == nwin - 1 ? n - w * per : per;
            buf_init(&wins[w], 0);
            make_window(&wins[w], 1700000000 + 60 * (uint64_t)w, counts[w], w * per);
        }
        /* a first small window connects the producer before the clock starts */
        make_window(&win, 1600000000, 1, 0);
        struct sink_window sw0 = {.flowlog_id = "fl-warm", .win_start = 1600000000,
                                  .win_end = 1600000060, .records = win.data, .len = win.len,
                                  .nrecords = 1, .dest = &d};
        if (sink_write(s, &sw0, err, sizeof err) != 0 || sink_kafka_drain(s, 60000) != 0) {
            fprintf(stderr, "kafka_bench: warm-up: %s\n", err);
            return 1;
        }
        struct sink_kafka_stats st0;
        sink_kafka_stats(s, &st0);
        double w0 = now_s(), c0 = cpu_s();
        for (long w = 0; w < nwin; w++) {
            struct sink_window sw = {.flowlog_id = "fl-bench",
                                     .win_start = 1700000000 + 60 * (uint64_t)w,
                                     .win_end = 1700000060 + 60 * (uint64_t)w,
                                     .records = wins[w].data, .len = wins[w].len,
                                     .nrecords = (size_t)counts[w], .dest = &d};
            if (sink_write(s, &sw, err, sizeof err) != 0) {
                fprintf(stderr, "kafka_bench: %s\n", err);
                return 1;
            }
        }
        double spooled = now_s() - w0;
        if (sink_kafka_drain(s, 600000) != 0)
            fprintf(stderr, "kafka_bench: the sink did not drain in 600 s\n");
        double wall = now_s() - w0, cpu = cpu_s() - c0;
        struct sink_kafka_stats st;
        sink_kafka_stats(s, &st);
        long sent = (long)(st.records_sent - st0.records_sent);
        if (sent != n)
            fprintf(stderr, "sink: %ld of %ld records acknowledged\n", sent, n);
        report("flowlogd Kafka sink", n, wall, cpu);
        printf("  (of which writing the %ld windows to the spool, fsync'd: %.3f s)\n", nwin,
               spooled);
        sink_close(s);
        for (long w = 0; w < nwin; w++)
            buf_free(&wins[w]);
        free(wins);
        free(counts);
    }
    buf_free(&win);
    buf_free(&json);
    return 0;
}
