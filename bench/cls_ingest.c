/* cls_ingest.c: `flowlogd-bench cls-ingest`: UploadLog ingest through the
 * CLS sink (src/sink/cls.c), as the agent delivers windows: THREADS
 * threads, each with its own sink (one keep-alive connection), each sending
 * WINDOWS windows of RECORDS flow records (so batches of 10,000 logs,
 * lz4, TC3-signed). Prints records/s end to end: the line parse, protobuf
 * and lz4 on this side, the signature, body parse and durable commit on the
 * server's. Not a test: numbers only (docs/PERFORMANCE.md). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "sink/sink.h"

static const char usage[] =
    "usage: flowlogd-bench cls-ingest --url URL --secret-id ID --secret-key KEY --topic ID\n"
    "                                 [--region R] [--threads 2] [--windows 20]\n"
    "                                 [--records 10000]\n";

struct worker {
    pthread_t th;
    struct sink_cls_config cfg;
    const char *topic, *region;
    uint64_t windows, records, index;
    int failed;
    char err[512];
};

/* One window's records: Tencent's 14 fields, distinct flows. */
static char *make_records(uint64_t w, uint64_t n, uint64_t start, size_t *len)
{
    size_t cap = n * 160 + 1, at = 0;
    char *p = malloc(cap);
    if (!p)
        return NULL;
    for (uint64_t i = 0; i < n; i++)
        at += (size_t)snprintf(p + at, cap - at,
                               "2 1234567890 eni-bench%04llu 10.%llu.%llu.%llu 172.16.%llu.%llu "
                               "%llu %llu 6 %llu %llu %llu %llu %s OK\n",
                               (unsigned long long)(w % 10000), (unsigned long long)(i >> 16 & 255),
                               (unsigned long long)(i >> 8 & 255), (unsigned long long)(i & 255),
                               (unsigned long long)(i % 200), (unsigned long long)(i % 250 + 1),
                               (unsigned long long)(1024 + i % 60000),
                               (unsigned long long)(i % 3 ? 443 : 22),
                               (unsigned long long)(1 + i % 50),
                               (unsigned long long)(60 + (i * 37) % 90000),
                               (unsigned long long)start, (unsigned long long)(start + 60),
                               i % 5 ? "ACCEPT" : "REJECT");
    *len = at;
    return p;
}

static void *run(void *arg)
{
    struct worker *wk = arg;
    struct sink *s = sink_cls_open(&wk->cfg, wk->err, sizeof wk->err);
    struct sink_dest d = {0};
    char flid[32];
    if (!s) {
        wk->failed = 1;
        return NULL;
    }
    d.storage_type = "cls";
    d.cls_topic_id = wk->topic;
    d.cls_region = wk->region;
    d.host = "bench-host";
    snprintf(flid, sizeof flid, "fl-bench%03llu", (unsigned long long)wk->index);
    for (uint64_t w = 0; w < wk->windows && !wk->failed; w++) {
        uint64_t start = 1700000000 + (wk->index * wk->windows + w) * 60;
        size_t len;
        char *rec = make_records(w, wk->records, start, &len);
        struct sink_window sw = {flid, start, start + 60, rec, len, wk->records, &d};
        if (!rec || sink_write(s, &sw, wk->err, sizeof wk->err) != 0)
            wk->failed = 1;
        free(rec);
    }
    sink_close(s);
    return NULL;
}

int bench_cls_ingest_main(int argc, char **argv)
{
    const char *url = NULL, *sid = NULL, *skey = NULL, *topic = NULL, *region = NULL;
    const char *threads_s = NULL, *windows_s = NULL, *records_s = NULL;
    const struct bopt opts[] = {{"url", &url, NULL},         {"secret-id", &sid, NULL},
                                {"secret-key", &skey, NULL}, {"topic", &topic, NULL},
                                {"region", &region, NULL},   {"threads", &threads_s, NULL},
                                {"windows", &windows_s, NULL}, {"records", &records_s, NULL},
                                {NULL, NULL, NULL}};
    uint64_t threads, windows, records, t0, t1;
    struct worker *wk;
    int rc = 0;

    if (bopt_parse(argc, argv, opts, usage) != 0)
        return 2;
    if (!url || !sid || !skey || !topic || bopt_u64("threads", threads_s, 2, &threads) != 0 ||
        bopt_u64("windows", windows_s, 20, &windows) != 0 ||
        bopt_u64("records", records_s, 10000, &records) != 0 || threads == 0) {
        fputs(usage, stderr);
        return 2;
    }
    if (!(wk = calloc(threads, sizeof *wk)))
        return 1;
    t0 = bench_now_us();
    for (uint64_t i = 0; i < threads; i++) {
        wk[i].cfg = (struct sink_cls_config){url, sid, skey, NULL, region ? region : BENCH_REGION,
                                             "bench", NULL, 120, 3};
        wk[i].topic = topic;
        wk[i].region = region ? region : BENCH_REGION;
        wk[i].windows = windows;
        wk[i].records = records;
        wk[i].index = i;
        pthread_create(&wk[i].th, NULL, run, &wk[i]);
    }
    for (uint64_t i = 0; i < threads; i++)
        pthread_join(wk[i].th, NULL);
    t1 = bench_now_us();
    for (uint64_t i = 0; i < threads; i++)
        if (wk[i].failed) {
            fprintf(stderr, "cls-ingest: thread %llu: %s\n", (unsigned long long)i, wk[i].err);
            rc = 1;
        }
    if (!rc)
        printf("cls-ingest: %llu records in %llu windows of %llu from %llu threads in %.3f s: "
               "%.0f records/s\n",
               (unsigned long long)(threads * windows * records),
               (unsigned long long)(threads * windows), (unsigned long long)records,
               (unsigned long long)threads, (double)(t1 - t0) / 1e6,
               (double)(threads * windows * records) / ((double)(t1 - t0) / 1e6));
    free(wk);
    return rc;
}
