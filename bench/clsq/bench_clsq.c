/* bench_clsq.c: the CLS query library per record (`make bench-clsq`).
 *
 * Builds N flow-log records in memory (the 14 fields of the default record
 * line, values as the agent uploads them: strings), then times
 *   - clsq_match for search queries (key:value, wildcards, full text, range,
 *     a boolean mix) over every record, and
 *   - clsq_agg_add over every record plus clsq_agg_result for analysis
 *     queries (the group-by, global aggregates, histogram, distinct),
 * and prints ns per record and what that makes for the targets
 * (a scan of 10,000,000 records; a group-by over 1,000,000). This measures
 * the library alone: reading the records from the store is not in it.
 *
 * usage: bench/clsq/bench_clsq [N (default 1000000)] [ROUNDS (default 5)] [FILTER]
 * (FILTER: run only the queries containing that text)
 * Prints the median of ROUNDS per query, in this thread's CPU time (the
 * machine it runs on is shared: wall time would count other processes).
 * Not a test: no thresholds. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cls/clsq.h"

#define NF 14
static const char *const fields[NF] = {"version", "account-id", "interface-id", "srcaddr", "dstaddr",
                                       "srcport", "dstport", "protocol", "packets", "bytes",
                                       "start", "end", "action", "log-status"};

struct rec { const char *vals[NF]; size_t vlens[NF]; int64_t t; };

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    const char *only = argc > 3 ? argv[3] : "";
    if (n == 0 || rounds < 1) { fprintf(stderr, "usage: %s [N] [ROUNDS]\n", argv[0]); return 2; }
    struct rec *r = calloc(n, sizeof *r);
    char *pool = malloc(n * 160);
    if (!r || !pool) { perror("malloc"); return 1; }
    static const int ports[] = {22, 80, 443, 53, 3306, 6379, 8080, 123};
    char *p = pool;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = next();
        int64_t start = 1700000000 + (int64_t)(i / 200);
        char tmp[NF][40];
        snprintf(tmp[0], 40, "2");
        snprintf(tmp[1], 40, "100000000001");
        snprintf(tmp[2], 40, "eni-%08" PRIx64, x % 64);
        snprintf(tmp[3], 40, "10.0.%d.%d", (int)(x >> 8) % 4, (int)(x >> 16) % 250 + 1);
        snprintf(tmp[4], 40, "10.1.%d.%d", (int)(x >> 24) % 4, (int)(x >> 32) % 250 + 1);
        snprintf(tmp[5], 40, "%d", 32768 + (int)((x >> 40) % 28000));
        snprintf(tmp[6], 40, "%d", ports[(x >> 50) % 8]);
        snprintf(tmp[7], 40, "%d", (x >> 53) % 5 ? 6 : 17);
        snprintf(tmp[8], 40, "%d", 1 + (int)((x >> 20) % 100));
        snprintf(tmp[9], 40, "%d", 40 + (int)((x >> 12) % 150000));
        snprintf(tmp[10], 40, "%" PRId64, start);
        snprintf(tmp[11], 40, "%" PRId64, start + 60);
        snprintf(tmp[12], 40, "%s", (x >> 60) % 4 ? "ACCEPT" : "REJECT");
        snprintf(tmp[13], 40, "OK");
        for (int f = 0; f < NF; f++) {
            size_t l = strlen(tmp[f]);
            memcpy(p, tmp[f], l);
            r[i].vals[f] = p;
            r[i].vlens[f] = l;
            p += l;
        }
        r[i].t = start * 1000;
    }

    static const char *const searches[] = {
        "dstport:22", "action:REJECT AND srcaddr:10.0.1.*", "REJECT", "bytes:>100000",
        "(dstport:22 OR dstport:443) AND NOT action:ACCEPT", "interface-id:eni-0000003f", NULL};
    static const char *const analyses[] = {
        "* | select dstport, sum(bytes) as b group by dstport order by b desc limit 5",
        "* | select count(*) as c, sum(bytes) as b, avg(packets) as p",
        "* | select histogram(cast(__TIMESTAMP__ as timestamp), interval 1 minute) as t, count(*) as c group by t order by t",
        "* | select action, count(distinct srcaddr) as u group by action",
        "* | select srcaddr, dstaddr, dstport, sum(bytes) as b where action = 'ACCEPT' group by srcaddr, dstaddr, dstport order by b desc limit 10",
        NULL};

    printf("records: %zu, rounds: %d (median)\n\n", n, rounds);
    printf("%-100s %10s %10s %14s\n", "search query (clsq_match over every record)", "ns/rec", "matched", "10M scan (ms)");
    double *t = calloc((size_t)rounds, sizeof *t);
    for (int s = 0; searches[s]; s++) {
        if (!strstr(searches[s], only)) continue;
        struct clsq *q;
        struct clsq_err e;
        if (clsq_parse(searches[s], strlen(searches[s]), CLSQ_CQL, &q, &e) != 0) { fprintf(stderr, "%s: %s\n", searches[s], e.message); return 1; }
        size_t hits = 0;
        for (int k = 0; k < rounds; k++) {
            hits = 0;
            double t0 = now_ns();
            for (size_t i = 0; i < n; i++) {
                struct clsq_log l = {.time_ms = r[i].t, .n = NF, .keys = fields, .vals = r[i].vals, .vlens = r[i].vlens};
                hits += clsq_match(q, &l);
            }
            t[k] = (now_ns() - t0) / (double)n;
        }
        qsort(t, (size_t)rounds, sizeof *t, cmpd);
        printf("%-100s %10.1f %10zu %14.0f\n", searches[s], t[rounds / 2], hits, t[rounds / 2] * 1e7 / 1e6);
        clsq_free(q);
    }
    printf("\n%-100s %10s %10s %14s\n", "analysis query (clsq_agg_add over every record + result)", "ns/rec", "rows", "1M (ms)");
    for (int s = 0; analyses[s]; s++) {
        if (!strstr(analyses[s], only)) continue;
        struct clsq *q;
        struct clsq_err e;
        if (clsq_parse(analyses[s], strlen(analyses[s]), CLSQ_CQL, &q, &e) != 0) { fprintf(stderr, "%s: %s\n", analyses[s], e.message); return 1; }
        size_t rows = 0;
        for (int k = 0; k < rounds; k++) {
            struct clsq_limits lim = {.max_groups = 1000000, .max_memory = 1u << 30, .max_steps = UINT64_MAX};
            double t0 = now_ns();
            struct clsq_agg *a = clsq_agg_new(q, &lim, &e);
            for (size_t i = 0; i < n; i++) {
                struct clsq_log l = {.time_ms = r[i].t, .n = NF, .keys = fields, .vals = r[i].vals, .vlens = r[i].vlens};
                if (clsq_match(q, &l) && clsq_agg_add(a, &l, &e) != 0) { fprintf(stderr, "%s: %s\n", analyses[s], e.message); return 1; }
            }
            json_t *res;
            if (clsq_agg_result(a, &res, &e) != 0) { fprintf(stderr, "%s: %s\n", analyses[s], e.message); return 1; }
            t[k] = (now_ns() - t0) / (double)n;
            rows = json_array_size(json_object_get(res, "AnalysisRecords"));
            json_decref(res);
            clsq_agg_free(a);
        }
        qsort(t, (size_t)rounds, sizeof *t, cmpd);
        printf("%-100s %10.1f %10zu %14.0f\n", analyses[s], t[rounds / 2], rows, t[rounds / 2] * 1e6 / 1e6);
        clsq_free(q);
    }
    free(t);
    free(r);
    free(pool);
    return 0;
}
