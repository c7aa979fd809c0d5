/* test_util.c: gen_uuid (RequestIds): form, uniqueness within and across
 * threads, and no replay in a forked child; gen_id_clustered (flow-log
 * ids): form, uniqueness, the clock prefix. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/util.h"

#define IDS_PER_THREAD 20000
#define THREADS 4

/* Version-4 shape: lower-case hex, "4" at 14, one of "89ab" at 19. */
static int v4_form(const char *u)
{
    for (int i = 0; i < 36; i++) {
        char c = u[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return u[36] == '\0' && u[14] == '4' && strchr("89ab", u[19]) != NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 37);
}

static void *make_ids(void *arg)
{
    char(*ids)[37] = arg;
    for (int i = 0; i < IDS_PER_THREAD; i++)
        if (gen_uuid(ids[i]) != 0)
            ids[i][0] = '\0';
    return NULL;
}

static void test_uuid_form_and_unique(void **state)
{
    char(*ids)[37] = calloc((size_t)THREADS * IDS_PER_THREAD, 37);
    pthread_t th[THREADS];
    size_t n = (size_t)THREADS * IDS_PER_THREAD;
    unsigned seen19[4] = {0};
    (void)state;
    assert_non_null(ids);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, make_ids, ids + (size_t)t * IDS_PER_THREAD),
                         0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (size_t i = 0; i < n; i++) {
        assert_true(v4_form(ids[i]));
        assert_true(is_uuid(ids[i]));
        seen19[strchr("89ab", ids[i][19]) - "89ab"]++;
    }
    for (int v = 0; v < 4; v++) /* the variant's two free bits vary */
        assert_true(seen19[v] > n / 8);
    qsort(ids, n, 37, cmp_id);
    for (size_t i = 1; i < n; i++)
        assert_true(memcmp(ids[i - 1], ids[i], 37) != 0);
    free(ids);
}

static int cmp_fl(const void *a, const void *b)
{
    return memcmp(a, b, 12);
}

/* Flow-log ids: "fl-" + 8 of [0-9a-z]; 36^4 in one 16 ms period are all
 * different, their first 4 characters are the period's (so they sort
 * together), and the last 4 do not count up one by one. */
static void test_clustered_ids(void **state)
{
    const size_t n = 36u * 36u * 36u * 36u;
    char(*ids)[12] = calloc(n, 12);
    const uint64_t ms = 1795445690123ULL; /* period 112215355632 */
    unsigned steps_of_one = 0;
    (void)state;
    assert_non_null(ids);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(gen_id_clustered("fl", ms, ids[i], sizeof ids[i]), 0);
        assert_int_equal(strlen(ids[i]), 11);
        assert_memory_equal(ids[i], "fl-", 3);
        for (int k = 3; k < 11; k++)
            assert_non_null(strchr("0123456789abcdefghijklmnopqrstuvwxyz", ids[i][k]));
        /* 112215355632 mod 36^4 = 210,672 = "4ik0" in base 36 */
        assert_memory_equal(ids[i] + 3, "4ik0", 4);
        if (i && strcmp(ids[i] + 7, ids[i - 1] + 7) > 0 &&
            ids[i][10] == ids[i - 1][10] + 1 && !memcmp(ids[i] + 7, ids[i - 1] + 7, 3))
            steps_of_one++;
    }
    assert_true(steps_of_one < n / 4);
    qsort(ids, n, 12, cmp_fl);
    for (size_t i = 1; i < n; i++)
        assert_true(memcmp(ids[i - 1], ids[i], 12) != 0);
    /* the next period sorts after this one; too short a buffer is refused */
    assert_int_equal(gen_id_clustered("fl", ms + 16, ids[0], sizeof ids[0]), 0);
    assert_memory_equal(ids[0] + 3, "4ik1", 4);
    assert_int_equal(gen_id_clustered("fl", ms, ids[0], 11), -1);
    free(ids);
}

/* A child forked after this thread made ids must not repeat the parent's
 * next one. */
static void test_uuid_fork(void **state)
{
    char parent[37], child[37] = "";
    int fd[2], status;
    pid_t pid;
    (void)state;
    assert_int_equal(gen_uuid(parent), 0);
    assert_int_equal(pipe(fd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[37];
        int ok = gen_uuid(id) == 0 && write(fd[1], id, sizeof id) == (ssize_t)sizeof id;
        _exit(ok ? 0 : 1);
    }
    close(fd[1]);
    assert_int_equal(read(fd[0], child, sizeof child), (ssize_t)sizeof child);
    close(fd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(gen_uuid(parent), 0);
    assert_true(v4_form(child));
    assert_string_not_equal(parent, child);
}

/* The hand-made formatters agree with gmtime_r + strftime: every day of
 * 1970-2100 at a varying time of day, leap days and century ends included,
 * and times before 1970. */
static void test_time_formats_like_strftime(void **state)
{
    char got[20], want[20];
    struct tm tm;
    (void)state;
    for (int64_t t = -86400LL * 365 * 3; t < 4102444800LL; t += 86400 + 3607) {
        time_t shifted = (time_t)t + 8 * 3600, plain = (time_t)t;
        fmt_time_cst((time_t)t, got);
        gmtime_r(&shifted, &tm);
        strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S", &tm);
        if (strcmp(got, want) != 0)
            fail_msg("fmt_time_cst(%lld) = %s, want %s", (long long)t, got, want);
        fmt_date_utc(plain, got);
        gmtime_r(&plain, &tm);
        strftime(want, sizeof want, "%Y-%m-%d", &tm);
        if (strcmp(got, want) != 0)
            fail_msg("fmt_date_utc(%lld) = %s, want %s", (long long)t, got, want);
    }
    fmt_time_cst((time_t)951782399 - 8 * 3600, got); /* 2000-02-28 23:59:59 CST */
    assert_string_equal(got, "2000-02-28 23:59:59");
    fmt_time_cst((time_t)951782400 - 8 * 3600, got);
    assert_string_equal(got, "2000-02-29 00:00:00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_form_and_unique),
        cmocka_unit_test(test_uuid_fork),
        cmocka_unit_test(test_clustered_ids),
        cmocka_unit_test(test_time_formats_like_strftime),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
