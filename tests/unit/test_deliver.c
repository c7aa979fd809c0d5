/* test_deliver.c: the agent's delivery sinks behind the files sink
 * (agent/deliver.c): every window delivered once and in order, a failing
 * sink retried from the files after its back-off, cursors that survive a
 * restart, a new flow log starting at its first window, the thread. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/deliver.h"
#include "sink/sink.h"

/* a delivery sink that remembers what it got, and fails when told to */
struct fake {
    struct sink base;
    int fail_next;
    atomic_size_t n;   /* read by the test while the delivery thread writes */
    char got[64][128]; /* "FLOWLOG START END NRECORDS TOPIC HOST|records" */
};

static int fake_write(struct sink *s, const struct sink_window *w, char *err, size_t errlen)
{
    struct fake *f = (struct fake *)s;
    if (f->fail_next > 0) {
        f->fail_next--;
        snprintf(err, errlen, "told to fail");
        return -1;
    }
    size_t at = atomic_load(&f->n);
    assert_true(at < 64);
    snprintf(f->got[at], sizeof f->got[0], "%s %llu %llu %zu %s %s|%.*s", w->flowlog_id,
             (unsigned long long)w->win_start, (unsigned long long)w->win_end, w->nrecords,
             w->dest ? w->dest->cls_topic_id : "-", w->dest ? w->dest->host : "-", (int)w->len,
             w->records);
    atomic_store(&f->n, at + 1); /* after the entry: the test reads it once it sees n */
    return 0;
}

static void fake_close(struct sink *s)
{
    (void)s;
}

static const struct sink_ops fake_ops = {fake_write, fake_close};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void put(struct sink *files, const char *fl, uint64_t start, const char *records)
{
    char err[256];
    size_t n = 0;
    for (const char *p = records; *p; p++)
        n += *p == '\n';
    struct sink_window w = {.flowlog_id = fl, .win_start = start, .win_end = start + 10,
                            .records = records, .len = strlen(records), .nrecords = n};
    assert_int_equal(sink_write(files, &w, err, sizeof err), 0);
}

static struct delivery_route route(const char *fl)
{
    struct delivery_route r;
    memset(&r, 0, sizeof r);
    snprintf(r.flowlog_id, sizeof r.flowlog_id, "%s", fl);
    snprintf(r.cls_topic, sizeof r.cls_topic, "topic-of-%s", fl);
    snprintf(r.host, sizeof r.host, "h1");
    return r;
}

static void test_delivery(void **state)
{
    (void)state;
    char dir[] = "/tmp/flowlogd-deliver-XXXXXX", err[256];
    assert_non_null(mkdtemp(dir));
    struct sink *files = sink_files_open(dir, err, sizeof err);
    assert_non_null(files);
    struct fake fk = {.base = {&fake_ops, "fake"}};
    struct sink *sinks[] = {&fk.base};

    /* a flow log new to the sink: every window its files hold, the first too
     * (written before the delivery's first pass saw the flow log) */
    put(files, "fl-aaaaaaaa", 100, "a1\na1b\n");
    put(files, "fl-aaaaaaaa", 110, "a2\n");
    struct delivery *d = delivery_new(dir, sinks, 1, 0, err, sizeof err);
    assert_non_null(d);
    struct delivery_route r[2] = {route("fl-aaaaaaaa"), route("fl-bbbbbbbb")};
    delivery_routes(d, r, 1);
    assert_int_equal(delivery_pass(d), 2);
    assert_int_equal(fk.n, 2);
    assert_string_equal(fk.got[0], "fl-aaaaaaaa 100 110 2 topic-of-fl-aaaaaaaa h1|a1\na1b\n");
    assert_string_equal(fk.got[1], "fl-aaaaaaaa 110 120 1 topic-of-fl-aaaaaaaa h1|a2\n");
    assert_int_equal(delivery_pass(d), 0); /* nothing new */

    /* a failure: not delivered, retried from the files after the back-off */
    put(files, "fl-aaaaaaaa", 120, "a3\n");
    fk.fail_next = 1;
    assert_int_equal(delivery_pass(d), -1);
    assert_int_equal(fk.n, 2);
    assert_int_equal(delivery_pass(d), 0); /* backing off */
    usleep(600 * 1000);
    put(files, "fl-aaaaaaaa", 130, "a4\n");
    assert_int_equal(delivery_pass(d), 2);
    assert_int_equal(fk.n, 4);
    assert_string_equal(fk.got[2], "fl-aaaaaaaa 120 130 1 topic-of-fl-aaaaaaaa h1|a3\n");
    assert_string_equal(fk.got[3], "fl-aaaaaaaa 130 140 1 topic-of-fl-aaaaaaaa h1|a4\n");

    /* a restart: the cursor is on disk (nothing of fl-aaaaaaaa again); a new
     * flow log starts at its first window */
    delivery_stop(d);
    d = delivery_new(dir, sinks, 1, 0, err, sizeof err);
    assert_non_null(d);
    put(files, "fl-bbbbbbbb", 130, "b0\n");
    delivery_routes(d, r, 2);
    assert_int_equal(delivery_pass(d), 1);
    assert_string_equal(fk.got[4], "fl-bbbbbbbb 130 140 1 topic-of-fl-bbbbbbbb h1|b0\n");
    put(files, "fl-aaaaaaaa", 140, "a5\n");
    put(files, "fl-bbbbbbbb", 140, "b1\n");
    assert_int_equal(delivery_pass(d), 2);
    assert_int_equal(fk.n, 7);
    assert_string_equal(fk.got[5], "fl-aaaaaaaa 140 150 1 topic-of-fl-aaaaaaaa h1|a5\n");
    assert_string_equal(fk.got[6], "fl-bbbbbbbb 140 150 1 topic-of-fl-bbbbbbbb h1|b1\n");
    delivery_stop(d);

    /* the thread: a kick delivers */
    d = delivery_new(dir, sinks, 1, 1, err, sizeof err);
    assert_non_null(d);
    delivery_routes(d, r, 2);
    put(files, "fl-bbbbbbbb", 150, "b2\n");
    delivery_kick(d);
    for (int i = 0; i < 100 && atomic_load(&fk.n) < 8; i++)
        usleep(20 * 1000);
    delivery_stop(d);
    assert_int_equal(fk.n, 8);
    assert_string_equal(fk.got[7], "fl-bbbbbbbb 150 160 1 topic-of-fl-bbbbbbbb h1|b2\n");

    sink_close(files);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivery),
    };
    return cmocka_run_group_tests_name("deliver", tests, NULL, NULL);
}
