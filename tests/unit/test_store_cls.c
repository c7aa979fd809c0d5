/* test_store_cls.c: the cls service's part of the store on each backend
 * (SQLite on either engine, or PostgreSQL with FLOWLOGD_TEST_STORE):
 * logsets and topics with their rules (names, counts, tenancy), uploads
 * (idempotent batches, a closed topic), the scan (order with equal times,
 * the after-position both ways, the snapshot bound), a topic's delete
 * (its logs, its flow logs DELETED), retention, and the topic owner an
 * agent key may upload for. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "store_fixture.h"
#include <stdio.h>
#include <string.h>

#define RG "ap-guangzhou"

static int setup(void **state)
{
    return store_fx_setup(state, "flowlogd-store-cls", 2);
}

static void mk_logset(struct store *s, const char *uin, const char *id, const char *name, int want)
{
    struct serr e = {{0}};
    struct cls_logset ls;
    memset(&ls, 0, sizeof ls);
    snprintf(ls.uin, sizeof ls.uin, "%s", uin);
    snprintf(ls.region, sizeof ls.region, RG);
    snprintf(ls.id, sizeof ls.id, "%s", id);
    snprintf(ls.name, sizeof ls.name, "%s", name);
    ls.created_at = 1700000000;
    assert_int_equal(store_cls_logset_create(s, &ls, &e), want);
}

static void mk_topic(struct store *s, const char *uin, const char *ls, const char *id,
                     const char *name, uint32_t period, int want)
{
    struct serr e = {{0}};
    struct cls_topic t;
    memset(&t, 0, sizeof t);
    snprintf(t.uin, sizeof t.uin, "%s", uin);
    snprintf(t.region, sizeof t.region, RG);
    snprintf(t.id, sizeof t.id, "%s", id);
    snprintf(t.logset_id, sizeof t.logset_id, "%s", ls);
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.storage_type, sizeof t.storage_type, "hot");
    t.period = period;
    t.status = 1;
    t.partition_count = 1;
    t.created_at = 1700000000;
    assert_int_equal(store_cls_topic_create(s, &t, &e), want);
}

/* Uploads n logs at times[i] with content n=<base+i>, as one group (batch
 * named `batch`, or none). Returns the count stored. */
static uint64_t put(struct store *s, const char *uin, const char *topic, const int64_t *times,
                    size_t n, int base, const char *batch, int want)
{
    struct serr e = {{0}};
    struct cls_kv kv[64];
    char val[64][16];
    struct cls_log logs[64];
    struct cls_kv tag = {"__flowlogd_batch__", batch, 18, batch ? strlen(batch) : 0};
    struct cls_group g = {"src", "file", "", batch ? &tag : NULL, batch ? 1 : 0, logs, n};
    uint64_t stored = 0;
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        snprintf(val[i], sizeof val[i], "%d", base + (int)i);
        kv[i] = (struct cls_kv){"n", val[i], 1, strlen(val[i])};
        logs[i] = (struct cls_log){times[i], &kv[i], 1};
    }
    assert_int_equal(store_cls_logs_put(s, uin, RG, topic, &g, 1, "__flowlogd_batch__", &stored, &e),
                     want);
    return stored;
}

struct seen {
    int n[256];
    int64_t t[256];
    uint64_t seq[256];
    size_t count, stop_after;
};

static int on_log(void *ud, const struct cls_stored_log *l)
{
    struct seen *s = ud;
    if (s->count < 256) {
        s->n[s->count] = -1;
        for (size_t i = 0; i < l->n; i++)
            if (strcmp(l->contents[i].key, "n") == 0)
                s->n[s->count] = atoi(l->contents[i].value);
        s->t[s->count] = l->time_ms;
        s->seq[s->count] = l->seq;
    }
    s->count++;
    return s->stop_after && s->count >= s->stop_after;
}

static void test_logsets_topics(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    mk_logset(f->s, f->a.uin, "ls-a", "flow", STORE_OK);
    mk_logset(f->s, f->a.uin, "ls-a", "other", STORE_EXISTS);  /* id taken */
    mk_logset(f->s, f->a.uin, "ls-a2", "flow", STORE_EXISTS);  /* name taken */
    mk_logset(f->s, f->b.uin, "ls-b", "flow", STORE_OK);       /* another tenant's name */
    mk_topic(f->s, f->a.uin, "ls-a", "t-a", "t", 7, STORE_OK);
    mk_topic(f->s, f->a.uin, "ls-a", "t-a2", "t", 7, STORE_EXISTS);
    mk_topic(f->s, f->b.uin, "ls-a", "t-b", "t", 7, STORE_NOTFOUND); /* not b's logset */
    assert_int_equal(store_cls_logset_delete(f->s, f->a.uin, RG, "ls-a", &e), STORE_INUSE);
    assert_int_equal(store_cls_logset_delete(f->s, f->b.uin, RG, "ls-a", &e), STORE_NOTFOUND);
    assert_int_equal(store_cls_topic_delete(f->s, f->b.uin, RG, "t-a", &e), STORE_NOTFOUND);
    assert_int_equal(store_cls_topic_delete(f->s, f->a.uin, RG, "t-a", &e), STORE_OK);
    assert_int_equal(store_cls_logset_delete(f->s, f->a.uin, RG, "ls-a", &e), STORE_OK);
}

static void test_upload_scan(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    int64_t t1[] = {1000, 3000, 2000, 2000};
    int64_t t2[] = {2000, 5000};
    struct seen s;
    uint64_t max_seq = 0;
    struct cls_scan q = {f->a.uin, RG, "t-1", 0, 10000, 0, 0, 0, 0, 0};

    mk_logset(f->s, f->a.uin, "ls-1", "l", STORE_OK);
    mk_topic(f->s, f->a.uin, "ls-1", "t-1", "t", 30, STORE_OK);
    assert_int_equal(put(f->s, f->a.uin, "t-1", t1, 4, 0, "b/1", STORE_OK), 4);
    assert_int_equal(put(f->s, f->a.uin, "t-1", t1, 4, 0, "b/1", STORE_OK), 0); /* a retry */
    put(f->s, f->b.uin, "t-1", t1, 1, 0, NULL, STORE_NOTFOUND);                /* b's? no */

    /* ascending: time, then arrival (n=2 before n=3 at 2000) */
    memset(&s, 0, sizeof s);
    assert_int_equal(store_cls_logs_scan(f->s, &q, on_log, &s, &max_seq, &e), STORE_OK);
    assert_int_equal(s.count, 4);
    assert_int_equal(s.n[0], 0);
    assert_int_equal(s.n[1], 2);
    assert_int_equal(s.n[2], 3);
    assert_int_equal(s.n[3], 1);
    assert_true(max_seq >= s.seq[3]);

    /* more logs arrive; the snapshot of the first scan does not see them */
    assert_int_equal(put(f->s, f->a.uin, "t-1", t2, 2, 10, NULL, STORE_OK), 2);
    q.max_seq = max_seq;
    q.after = 1;
    q.after_time = s.t[1];
    q.after_seq = s.seq[1];
    memset(&s, 0, sizeof s);
    assert_int_equal(store_cls_logs_scan(f->s, &q, on_log, &s, NULL, &e), STORE_OK);
    assert_int_equal(s.count, 2); /* n=3 and n=1: not the new 10 (2000) nor 11 (5000) */
    assert_int_equal(s.n[0], 3);
    assert_int_equal(s.n[1], 1);

    /* descending, without a bound: everything, newest first */
    q = (struct cls_scan){f->a.uin, RG, "t-1", 0, 10000, 1, 0, 0, 0, 0};
    memset(&s, 0, sizeof s);
    assert_int_equal(store_cls_logs_scan(f->s, &q, on_log, &s, NULL, &e), STORE_OK);
    assert_int_equal(s.count, 6);
    assert_int_equal(s.n[0], 11);
    assert_int_equal(s.n[1], 1);
    assert_int_equal(s.n[2], 10); /* 2000: latest arrival first */
    assert_int_equal(s.n[5], 0);
    /* a range [2000, 2000], stopping after one */
    q = (struct cls_scan){f->a.uin, RG, "t-1", 2000, 2000, 0, 0, 0, 0, 0};
    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    assert_int_equal(store_cls_logs_scan(f->s, &q, on_log, &s, NULL, &e), STORE_OK);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.n[0], 2);
    /* another tenant: no such topic */
    q.uin = f->b.uin;
    assert_int_equal(store_cls_logs_scan(f->s, &q, on_log, &s, NULL, &e), STORE_NOTFOUND);
}

static void test_closed_delete_expire(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct cls_topic t;
    int64_t now = 1800000000000LL, day = 86400000LL;
    int64_t times[] = {now - 3 * day, now - day / 2, now};
    struct seen s;
    struct cls_scan q = {f->a.uin, RG, "t-2", 0, INT64_MAX, 0, 0, 0, 0, 0};
    uint64_t deleted = 0;

    mk_logset(f->s, f->a.uin, "ls-2", "l", STORE_OK);
    mk_topic(f->s, f->a.uin, "ls-2", "t-2", "t", 1, STORE_OK);
    assert_int_equal(put(f->s, f->a.uin, "t-2", times, 3, 0, NULL, STORE_OK), 3);
    assert_int_equal(store_cls_logs_expire(f->s, now, &deleted, &e), STORE_OK);
    assert_int_equal(deleted, 1);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_cls_logs_scan(f->s, &q, on_log, &s, NULL, &e), STORE_OK);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.n[0], 1);

    /* closed: nothing goes in */
    memset(&t, 0, sizeof t);
    snprintf(t.uin, sizeof t.uin, "%s", f->a.uin);
    snprintf(t.region, sizeof t.region, RG);
    snprintf(t.id, sizeof t.id, "t-2");
    snprintf(t.name, sizeof t.name, "t");
    snprintf(t.storage_type, sizeof t.storage_type, "hot");
    t.period = 1;
    t.partition_count = 1;
    t.status = 0;
    assert_int_equal(store_cls_topic_update(f->s, &t, 0, &e), STORE_OK);
    put(f->s, f->a.uin, "t-2", times, 1, 0, NULL, STORE_INUSE);

    /* no enabled flow log delivers to it: no owner for an agent */
    {
        struct account owner;
        assert_int_equal(store_cls_topic_owner(f->s, "t-2", &owner, &e), STORE_NOTFOUND);
    }
    assert_int_equal(store_cls_topic_delete(f->s, f->a.uin, RG, "t-2", &e), STORE_OK);
    assert_int_equal(store_cls_logs_scan(f->s, &q, on_log, &s, NULL, &e), STORE_NOTFOUND);
    /* the same id again is a new, empty topic */
    mk_topic(f->s, f->a.uin, "ls-2", "t-2", "t", 1, STORE_OK);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_cls_logs_scan(f->s, &q, on_log, &s, NULL, &e), STORE_OK);
    assert_int_equal(s.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logsets_topics, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_upload_scan, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_closed_delete_expire, setup, store_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
