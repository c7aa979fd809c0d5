/* test_ratelimit.c: token buckets with an injected clock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ratelimit/ratelimit.h"

/* Takes n times from key at time t; returns how many passed. */
static int take_n(struct ratelimit *rl, const char *key, uint64_t t, uint32_t rate, int n)
{
    int passed = 0;
    for (int i = 0; i < n; i++)
        passed += rl_take(rl, key, t, rate);
    return passed;
}

static void test_burst_then_reject(void **state)
{
    struct ratelimit *rl = rl_new(20, 20);
    (void)state;
    assert_non_null(rl);
    assert_int_equal(take_n(rl, "100/vpc/DescribeFlowLogs", 1000, 0, 20), 20);
    assert_int_equal(rl_take(rl, "100/vpc/DescribeFlowLogs", 1000, 0), 0);
    rl_free(rl);
}

static void test_refill(void **state)
{
    struct ratelimit *rl = rl_new(20, 20);
    const char *k = "100/vpc/CreateFlowLog";
    (void)state;
    assert_int_equal(take_n(rl, k, 1000, 0, 21), 20);
    assert_int_equal(rl_take(rl, k, 1049, 0), 0); /* 0.98 token */
    assert_int_equal(rl_take(rl, k, 1050, 0), 1); /* 50 ms = 1 token at 20/s */
    assert_int_equal(rl_take(rl, k, 1050, 0), 0);
    assert_int_equal(rl_take(rl, k, 1100, 0), 1);
    /* a long pause refills to the burst, no further */
    assert_int_equal(take_n(rl, k, 1000000, 0, 30), 20);
    rl_free(rl);
}

static void test_clock_step_back(void **state)
{
    struct ratelimit *rl = rl_new(20, 20);
    const char *k = "100/vpc/EnableFlowLogs";
    (void)state;
    assert_int_equal(take_n(rl, k, 10000, 0, 20), 20);
    assert_int_equal(rl_take(rl, k, 5000, 0), 0);  /* back 5 s: nothing */
    assert_int_equal(rl_take(rl, k, 10000, 0), 0); /* catching up credits nothing twice */
    assert_int_equal(rl_take(rl, k, 10049, 0), 0);
    assert_int_equal(rl_take(rl, k, 10050, 0), 1);
    /* a step back of more than a minute re-bases the bucket, still no refill */
    assert_int_equal(take_n(rl, k, 200000, 0, 30), 20);
    assert_int_equal(rl_take(rl, k, 1000, 0), 0);
    assert_int_equal(rl_take(rl, k, 1050, 0), 1);
    assert_int_equal(rl_take(rl, k, 1050, 0), 0);
    rl_free(rl);
}

static void test_override(void **state)
{
    struct ratelimit *rl = rl_new(20, 20);
    (void)state;
    assert_int_equal(take_n(rl, "a", 0, 5, 10), 5); /* burst = rate when overridden */
    assert_int_equal(rl_take(rl, "a", 199, 5), 0);
    assert_int_equal(rl_take(rl, "a", 200, 5), 1); /* 200 ms at 5/s */
    assert_int_equal(take_n(rl, "b", 0, 100, 150), 100);
    assert_int_equal(take_n(rl, "b", 10, 100, 5), 1); /* 10 ms at 100/s */
    /* default burst first, then a lower override clamps what was saved */
    assert_int_equal(take_n(rl, "c", 0, 0, 1), 1);
    assert_int_equal(take_n(rl, "c", 0, 3, 10), 3);
    rl_free(rl);
}

static void test_defaults(void **state)
{
    struct ratelimit *rl = rl_new(0, 0); /* 20/s, burst 20 */
    struct ratelimit *r2 = rl_new(10, 0); /* burst = rate */
    struct ratelimit *r3 = rl_new(1, 5);  /* burst above rate */
    (void)state;
    assert_int_equal(take_n(rl, "k", 0, 0, 30), 20);
    assert_int_equal(take_n(r2, "k", 0, 0, 30), 10);
    assert_int_equal(take_n(r3, "k", 0, 0, 30), 5);
    assert_int_equal(take_n(r3, "k", 999, 0, 2), 0);
    assert_int_equal(take_n(r3, "k", 1000, 0, 2), 1);
    rl_free(rl);
    rl_free(r2);
    rl_free(r3);
    rl_free(NULL);
}

static void test_unlimited(void **state)
{
    struct ratelimit *rl = rl_new(20, 20), *all = rl_new(UINT32_MAX, 0);
    (void)state;
    assert_int_equal(take_n(rl, "k", 0, UINT32_MAX, 100000), 100000);
    assert_int_equal(rl_size(rl), 0); /* no bucket made */
    assert_int_equal(take_n(all, "k", 0, 0, 100000), 100000);
    assert_int_equal(take_n(all, "k", 0, 2, 5), 2); /* a per-call rate still limits */
    rl_free(rl);
    rl_free(all);
}

static void test_keys_independent(void **state)
{
    struct ratelimit *rl = rl_new(20, 20);
    (void)state;
    assert_int_equal(take_n(rl, "100/vpc/A", 0, 0, 25), 20);
    assert_int_equal(take_n(rl, "100/vpc/B", 0, 0, 25), 20);
    assert_int_equal(take_n(rl, "200/vpc/A", 0, 0, 25), 20);
    assert_int_equal(take_n(rl, "", 0, 0, 25), 20);
    assert_int_equal(rl_size(rl), 4);
    rl_free(rl);
}

static void test_eviction(void **state)
{
    struct ratelimit *rl = rl_new(20, 20);
    char key[32];
    (void)state;
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "old-%d", i);
        assert_int_equal(rl_take(rl, key, 0, 0), 1);
    }
    assert_int_equal(rl_size(rl), 10000);
    assert_int_equal(rl_take(rl, "recent", 30000, 0), 1);
    /* 61 s later the old keys are idle; new keys make every stripe sweep */
    for (int i = 0; i < 64 * 300; i++) {
        snprintf(key, sizeof key, "new-%d", i);
        assert_int_equal(rl_take(rl, key, 61000, 0), 1);
    }
    assert_int_equal(rl_size(rl), 64 * 300 + 1); /* "recent" (31 s idle) stays */
    rl_free(rl);
}

/* Churn: 1000 fresh keys a minute for 100 minutes stays bounded. */
static void test_memory_bounded(void **state)
{
    struct ratelimit *rl = rl_new(20, 20);
    char key[32];
    size_t most = 0;
    (void)state;
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 1000; i++) {
            snprintf(key, sizeof key, "r%d-%d", round, i);
            rl_take(rl, key, (uint64_t)round * 61000 + (uint64_t)i, 0);
        }
        if (rl_size(rl) > most)
            most = rl_size(rl);
    }
    /* per stripe: max(2 x live keys, 64) */
    assert_true(most <= 2 * 1000 + 64 * 64);
    rl_free(rl);
}

struct race {
    struct ratelimit *rl;
    pthread_barrier_t *start;
    int passed;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(r->start);
    for (int i = 0; i < 2000; i++) {
        r->passed += rl_take(r->rl, "hot", 7000, 0);
        rl_take(r->rl, i % 2 ? "cold-a" : "cold-b", 7000 + (uint64_t)i, 0);
    }
    return NULL;
}

static void test_concurrent_one_key(void **state)
{
    struct ratelimit *rl = rl_new(20, 20);
    pthread_barrier_t start;
    pthread_t th[8];
    struct race r[8];
    int total = 0;
    (void)state;
    pthread_barrier_init(&start, NULL, 8);
    for (int i = 0; i < 8; i++) {
        r[i] = (struct race){rl, &start, 0};
        assert_int_equal(pthread_create(&th[i], NULL, racer, &r[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += r[i].passed;
    }
    assert_int_equal(total, 20); /* frozen clock: exactly the burst */
    pthread_barrier_destroy(&start);
    rl_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_reject), cmocka_unit_test(test_refill),
        cmocka_unit_test(test_clock_step_back),   cmocka_unit_test(test_override),
        cmocka_unit_test(test_defaults),          cmocka_unit_test(test_unlimited),
        cmocka_unit_test(test_keys_independent),  cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_memory_bounded),    cmocka_unit_test(test_concurrent_one_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
