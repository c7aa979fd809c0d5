/* test_ratelimit_shared.c: the cluster's limiter (GCRA in Redis).
 *
 * The URL rules and the behaviour with no Redis run anywhere. The cases on a
 * real Redis start a throwaway one with scripts/redis-test-server.sh (run
 * from the repository's root, as `make unit` does) or use
 * $FLOWLOGD_TEST_REDIS; without redis-server they are skipped, saying why
 * (with CI=true, a failure). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/util.h"
#include "ratelimit/shared.h"

static char redis_url[128], redis_dir[128], why_skip[128];

static int have_redis(void)
{
    if (redis_url[0])
        return 1;
    if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
        fail_msg("cannot run under CI: %s", why_skip);
    printf("# SKIP: %s\n", why_skip);
    skip();
    return 0;
}

static int take_n(struct rl_shared *s, const char *key, uint32_t rate, uint32_t burst, int n)
{
    int passed = 0;
    for (int i = 0; i < n; i++) {
        enum rl_shared_verdict v = rl_shared_take(s, key, rate, burst);
        assert_true(v == RL_SHARED_PASS || v == RL_SHARED_REJECT);
        passed += v == RL_SHARED_PASS;
    }
    return passed;
}

/* A key no earlier run used (the Redis may be shared). */
static void fresh_key(char *out, size_t n, const char *what)
{
    uint64_t r = 0;
    (void)rand_bytes(&r, sizeof r);
    snprintf(out, n, "%016llx/vpc/%s", (unsigned long long)r, what);
}

static void test_urls(void **state)
{
    static const char *const bad[] = {"", "http://x", "redis://", "redis://h:0", "redis://h:70000",
                                      "redis://h:12x", "redis://h/x", "unix:", "unix:relative",
                                      "redis://nopass@h", NULL};
    char err[256];
    struct rl_shared *s;
    (void)state;
    for (const char *const *u = bad; *u; u++) {
        err[0] = '\0';
        s = rl_shared_new(*u, err, sizeof err);
        assert_null(s);
        assert_non_null(strstr(err, "--rate-limit-redis wants"));
    }
    s = rl_shared_new("redis://:sekrit@10.0.0.5:6380/3", err, sizeof err);
    assert_non_null(s);
    assert_string_equal(rl_shared_where(s), "redis://***@10.0.0.5:6380/3");
    rl_shared_free(s);
    s = rl_shared_new("redis://localhost", err, sizeof err);
    assert_non_null(s);
    assert_string_equal(rl_shared_where(s), "redis://localhost:6379/0");
    rl_shared_free(s);
    s = rl_shared_new("unix:///run/redis/redis.sock", err, sizeof err);
    assert_non_null(s);
    assert_string_equal(rl_shared_where(s), "unix:/run/redis/redis.sock");
    rl_shared_free(s);
}

/* Nothing listens: down at once, then down without trying for a while; the
 * metrics say so. */
static void test_down(void **state)
{
    char err[256];
    struct buf b;
    /* port 1 on loopback: refused (nothing of ours listens there) */
    struct rl_shared *s = rl_shared_new("redis://127.0.0.1:1", err, sizeof err);
    (void)state;
    assert_non_null(s);
    assert_int_equal(rl_shared_take(s, "1/vpc/X", 20, 20), RL_SHARED_DOWN);
    assert_int_equal(rl_shared_take(s, "1/vpc/X", 20, 20), RL_SHARED_DOWN);
    assert_int_equal(rl_shared_take(s, "1/vpc/Y", 20, 20), RL_SHARED_DOWN);
    buf_init(&b, 0);
    assert_int_equal(rl_shared_metrics(s, &b), 0);
    assert_non_null(strstr(b.data, "flowlogd_ratelimit_shared_up 0\n"));
    assert_non_null(strstr(b.data, "flowlogd_ratelimit_shared_decisions_total{outcome=\"local\"} 3\n"));
    assert_non_null(strstr(b.data, "flowlogd_ratelimit_shared_seconds_count 0\n"));
    buf_free(&b);
    rl_shared_free(s);
}

static void test_burst_then_reject(void **state)
{
    char err[256], k[64], k2[64];
    struct rl_shared *s;
    struct buf b;
    (void)state;
    if (!have_redis())
        return;
    s = rl_shared_new(redis_url, err, sizeof err);
    assert_non_null(s);
    fresh_key(k, sizeof k, "DescribeFlowLogs");
    fresh_key(k2, sizeof k2, "DescribeFlowLogs");
    /* 1/s so that the time the calls take refills nothing that matters */
    assert_int_equal(take_n(s, k, 1, 20, 20), 20);
    assert_int_equal(rl_shared_take(s, k, 1, 20), RL_SHARED_REJECT);
    assert_int_equal(rl_shared_take(s, k, 1, 20), RL_SHARED_REJECT);
    assert_int_equal(take_n(s, k2, 1, 5, 6), 5); /* another key: its own bucket */
    buf_init(&b, 0);
    assert_int_equal(rl_shared_metrics(s, &b), 0);
    assert_non_null(strstr(b.data, "flowlogd_ratelimit_shared_up 1\n"));
    assert_non_null(strstr(b.data, "{outcome=\"pass\"} 25\n"));
    assert_non_null(strstr(b.data, "{outcome=\"reject\"} 3\n"));
    assert_non_null(strstr(b.data, "flowlogd_ratelimit_shared_seconds_count 28\n"));
    buf_free(&b);
    rl_shared_free(s);
}

static void test_refill(void **state)
{
    char err[256], k[64];
    struct rl_shared *s;
    (void)state;
    if (!have_redis())
        return;
    s = rl_shared_new(redis_url, err, sizeof err);
    assert_non_null(s);
    fresh_key(k, sizeof k, "CreateFlowLog");
    /* 10/s, burst 10: empty it, wait 0.25 s: 2 (or more on a slow machine:
     * the wait is at least 0.25 s) come back, never 10 */
    while (rl_shared_take(s, k, 10, 10) == RL_SHARED_PASS)
        ;
    usleep(250000);
    {
        int n = take_n(s, k, 10, 10, 10);
        assert_true(n >= 2 && n < 10);
    }
    rl_shared_free(s);
}

struct racer {
    struct rl_shared *s;
    const char *key;
    int passed;
};

static void *race(void *p)
{
    struct racer *r = p;
    for (int i = 0; i < 25; i++)
        r->passed += rl_shared_take(r->s, r->key, 1, 40) == RL_SHARED_PASS;
    return NULL;
}

/* Two limiters (two nodes) and 8 threads on one key: the burst, once. */
static void test_two_nodes_one_bucket(void **state)
{
    char err[256], k[64];
    struct rl_shared *a, *b;
    struct racer r[8];
    pthread_t th[8];
    uint64_t t0;
    int total = 0;
    (void)state;
    if (!have_redis())
        return;
    a = rl_shared_new(redis_url, err, sizeof err);
    b = rl_shared_new(redis_url, err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    fresh_key(k, sizeof k, "DescribeFlowLogs");
    t0 = mono_us();
    for (int i = 0; i < 8; i++) {
        r[i] = (struct racer){i % 2 ? a : b, k, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += r[i].passed;
    }
    /* 200 attempts, burst 40 at 1/s: 40, plus one per second the race took */
    assert_true(total >= 40);
    assert_true((uint64_t)total <= 40 + (mono_us() - t0) / 1000000 + 1);
    rl_shared_free(a);
    rl_shared_free(b);
}

/* Redis killed: down (the caller decides); started again: back after the
 * retry pause, with the buckets it lost starting full. */
static void test_kill_and_back(void **state)
{
    char err[256], k[64], cmd[300];
    struct rl_shared *s;
    int i;
    (void)state;
    if (!have_redis())
        return;
    if (!redis_dir[0]) {
        printf("# SKIP: $FLOWLOGD_TEST_REDIS is not ours to kill\n");
        skip();
    }
    s = rl_shared_new(redis_url, err, sizeof err);
    assert_non_null(s);
    fresh_key(k, sizeof k, "CreateFlowLog");
    assert_int_equal(rl_shared_take(s, k, 20, 20), RL_SHARED_PASS);
    snprintf(cmd, sizeof cmd, "scripts/redis-test-server.sh kill %s", redis_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(rl_shared_take(s, k, 20, 20), RL_SHARED_DOWN);
    snprintf(cmd, sizeof cmd, "scripts/redis-test-server.sh restart %s", redis_dir);
    assert_int_equal(system(cmd), 0);
    /* within the retry pause and a little more, it answers again */
    for (i = 0; i < 40 && rl_shared_take(s, k, 20, 20) != RL_SHARED_PASS; i++)
        usleep(100000);
    assert_true(i < 40);
    rl_shared_free(s);
}

static int setup(void **state)
{
    FILE *f;
    char cmd[300];
    (void)state;
    if (getenv("FLOWLOGD_TEST_REDIS") && *getenv("FLOWLOGD_TEST_REDIS")) {
        snprintf(redis_url, sizeof redis_url, "%s", getenv("FLOWLOGD_TEST_REDIS"));
        return 0;
    }
    if (access("scripts/redis-test-server.sh", X_OK) != 0) {
        snprintf(why_skip, sizeof why_skip, "scripts/redis-test-server.sh not found (run from the repository)");
        return 0;
    }
    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        snprintf(why_skip, sizeof why_skip, "redis-server is not installed");
        return 0;
    }
    snprintf(redis_dir, sizeof redis_dir, "/tmp/flowlogd-redis-unit-XXXXXX");
    if (!mkdtemp(redis_dir)) {
        redis_dir[0] = '\0';
        snprintf(why_skip, sizeof why_skip, "cannot make a temp folder");
        return 0;
    }
    snprintf(cmd, sizeof cmd, "scripts/redis-test-server.sh start %s", redis_dir);
    if (!(f = popen(cmd, "r")) || !fgets(redis_url, sizeof redis_url, f)) {
        redis_url[0] = '\0';
        snprintf(why_skip, sizeof why_skip, "cannot start redis-server");
    }
    if (f)
        pclose(f);
    redis_url[strcspn(redis_url, "\n")] = '\0';
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    if (redis_dir[0]) {
        snprintf(cmd, sizeof cmd, "scripts/redis-test-server.sh stop %s", redis_dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_down),
        cmocka_unit_test(test_burst_then_reject),
        cmocka_unit_test(test_refill),
        cmocka_unit_test(test_two_nodes_one_bucket),
        cmocka_unit_test(test_kill_and_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
