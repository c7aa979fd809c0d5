/* test_clsq_oom.c: the query library when memory runs out. Every
 * allocation of a whole query's life (parse, aggregation, answer, free) is
 * failed in turn; each run must end in a CLS error or an answer, never a
 * crash, and leave nothing allocated. The allocator is replaced in this
 * program (glibc's documented way: malloc, calloc, realloc, free over the
 * __libc_* functions), so the test runs in the plain build only: under the
 * sanitizers, which own the allocator, it says so and skips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cls/clsq.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

#ifndef UNDER_SANITIZER
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static int armed;            /* count and fail only inside a run */
static long fail_at = -1;    /* the allocation to fail (0-based), -1: none */
static long n_allocs;        /* allocations so far in this run */
static long live;            /* allocated and not yet freed in this run */
static int hit;              /* the run reached fail_at */

static int fail_now(void)
{
    if (!armed) return 0;
    if (n_allocs++ == fail_at) { hit = 1; return 1; }
    return 0;
}

void *malloc(size_t n)
{
    if (fail_now()) return NULL;
    void *p = __libc_malloc(n);
    if (p && armed) live++;
    return p;
}

void *calloc(size_t n, size_t m)
{
    if (fail_now()) return NULL;
    void *p = __libc_calloc(n, m);
    if (p && armed) live++;
    return p;
}

void *realloc(void *p, size_t n)
{
    if (fail_now()) return NULL;
    void *q = __libc_realloc(p, n);
    if (q && !p && armed) live++;
    return q;
}

void free(void *p)
{
    if (p && armed) live--;
    __libc_free(p);
}
#endif

#ifndef UNDER_SANITIZER
static const char *const keys[] = {"action", "dstport", "srcaddr", "bytes"};
static const char *const rows[][4] = {
    {"REJECT", "22", "10.0.1.5", "1500"},
    {"ACCEPT", "443", "10.0.1.6", "-"},
    {"ACCEPT", "22", "10.0.1.7", "300"},
    {"A\xff", "80", "10.0.1.5", "7"},
};

/** One query's life. Returns 0 with an answer, 1 with a CLS error. */
static int run(const char *query)
{
    struct clsq *q = NULL;
    struct clsq_err e = {0};
    if (clsq_parse(query, strlen(query), CLSQ_CQL, &q, &e) != 0) {
        assert_non_null(e.code);
        assert_null(q);
        return 1;
    }
    int rc = 0;
    for (size_t r = 0; r < 4; r++) {
        size_t vl[4];
        for (size_t k = 0; k < 4; k++) vl[k] = strlen(rows[r][k]);
        struct clsq_log l = {.time_ms = 1700000000000 + (int64_t)r * 70000, .n = 4, .keys = keys,
                             .vals = rows[r], .vlens = vl};
        (void)clsq_match(q, &l);
    }
    struct clsq_hint h[4];
    (void)clsq_hints(q, h, 4);
    if (clsq_has_analysis(q)) {
        struct clsq_agg *a = clsq_agg_new(q, NULL, &e);
        if (!a) {
            rc = 1;
        } else {
            for (int rep = 0; rep < 3 && rc == 0; rep++)
                for (size_t r = 0; r < 4 && rc == 0; r++) {
                    size_t vl[4];
                    for (size_t k = 0; k < 4; k++) vl[k] = strlen(rows[r][k]);
                    struct clsq_log l = {.time_ms = 1700000000000 + (int64_t)(rep * 4 + r) * 70000,
                                         .n = 4, .keys = keys, .vals = rows[r], .vlens = vl};
                    if (clsq_match(q, &l) && clsq_agg_add(a, &l, &e) != 0) rc = 1;
                }
            json_t *res = NULL;
            if (rc == 0) {
                if (clsq_agg_result(a, &res, &e) != 0) rc = 1;
                else json_decref(res);
            }
            clsq_agg_free(a);
        }
        if (rc) assert_non_null(e.code);
    }
    clsq_free(q);
    return rc;
}

static const char *const queries[] = {
    "action:REJECT AND srcaddr:10.0.1.* OR NOT (bytes:>100 AND \"x y\") dstport:(22 OR 443)",
    "bytes:[1 TO 2000} | select dstport, sum(bytes) as b, count(distinct srcaddr) as u, "
    "min(action) as m group by dstport having count(*) > 0 order by b desc limit 2",
    "* | select histogram(cast(__TIMESTAMP__ as timestamp), interval 1 minute) as t, count(*) as c "
    "group by t order by t",
    "* | select srcaddr, bytes, cast(bytes as varchar) as s where bytes > 0 and srcaddr like '10.%' "
    "and dstport in (22, 443, 80) order by bytes desc limit 1, 2",
    "* | select count(*) as c, avg(bytes) as a where action = 'it''s' or bytes between 1 and 9",
    "(a OR | select nosuch(x)",
};
#endif

static void test_every_allocation_fails(void **state)
{
    (void)state;
#ifdef UNDER_SANITIZER
    print_message("skipped: the sanitizers own the allocator; the plain build (make unit) runs this test\n");
    skip();
#else
    size_t total_runs = 0;
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        for (fail_at = 0;; fail_at++) {
            n_allocs = 0;
            live = 0;
            hit = 0;
            armed = 1;
            int rc = run(queries[i]);
            armed = 0;
            total_runs++;
            if (live != 0) {
                fprintf(stderr, "query %zu, allocation %ld failed: %ld blocks left allocated\n", i, fail_at, live);
                fail();
            }
            if (!hit) {
                /* every allocation was failed once; this run had none to fail */
                assert_true(rc == 0 || i == sizeof queries / sizeof *queries - 1);
                break;
            }
        }
    }
    print_message("%zu runs, each failing one allocation\n", total_runs);
#endif
}

int main(void)
{
    /* libc's one-time state (the time zone gmtime_r reads) is made before
     * the runs count allocations: it is kept for the process, not leaked */
    time_t t0 = 0;
    struct tm tm;
    (void)gmtime_r(&t0, &tm);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails),
    };
    return cmocka_run_group_tests_name("clsq_oom", tests, NULL, NULL);
}
