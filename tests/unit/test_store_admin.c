/* test_store_admin.c: the store's admin operations (reset of one account or
 * of all, accounts and keys with given ids) on each store (SQLite, or
 * PostgreSQL with FLOWLOGD_TEST_STORE), and the seeded id generators. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "store_fixture.h"
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "store/store.h"

#define RG "ap-guangzhou"

static int setup(void **state)
{
    return store_fx_setup(state, "flowlogd-store-admin", 2);
}

static void fl_put(struct store *s, const char *uin, const char *id, const char *vpc)
{
    struct serr e = {{0}};
    struct flowlog fl;
    struct tag tags[] = {{"k", "v"}};
    memset(&fl, 0, sizeof fl);
    snprintf(fl.id, sizeof fl.id, "%s", id);
    snprintf(fl.uin, sizeof fl.uin, "%s", uin);
    snprintf(fl.region, sizeof fl.region, RG);
    snprintf(fl.name, sizeof fl.name, "n");
    snprintf(fl.vpc_id, sizeof fl.vpc_id, "%s", vpc);
    fl.resource_kind = RES_VPC;
    snprintf(fl.resource_id, sizeof fl.resource_id, "%s", vpc);
    snprintf(fl.traffic_type, sizeof fl.traffic_type, "ALL");
    snprintf(fl.storage_type, sizeof fl.storage_type, "cls");
    fl.enable = 1;
    fl.created_at = 1700000000;
    fl.tags = tags;
    fl.ntags = 1;
    assert_int_equal(store_flowlog_create(s, &fl, 0, &e), STORE_OK);
}

static void count_cb(void *ud, const struct flowlog *fl)
{
    (void)fl;
    ++*(int *)ud;
}

/* flow logs of uin in RG */
static int flowlogs_of(struct store *s, const char *uin)
{
    struct flowlog_query q = {.uin = uin, .region = RG};
    struct serr e = {{0}};
    uint64_t total = 0;
    int n = 0;
    assert_int_equal(store_flowlog_query(s, &q, count_cb, &n, &total, &e), STORE_OK);
    return (int)total;
}

/* one account, a key, a VPC and a flow log with a tag */
static void populate(struct store *s, const struct account *a, const char *sid, const char *vpc,
                     const char *fl)
{
    struct serr e = {{0}};
    struct resource r;
    memset(&r, 0, sizeof r);
    r.kind = RES_VPC;
    snprintf(r.region, sizeof r.region, RG);
    snprintf(r.id, sizeof r.id, "%s", vpc);
    assert_int_equal(store_inventory_import(s, a->uin, &r, 1, &e), STORE_OK);
    assert_int_equal(store_key_put(s, a->uin, sid, "secretsecretsecret", NULL, &e), STORE_OK);
    fl_put(s, a->uin, fl, vpc);
}

static void test_reset_one_account(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct key_info k;
    struct resource r;

    populate(f->s, &f->a, "AKIDaaaa", "vpc-aaaaaaaa", "fl-aaaaaaaa");
    populate(f->s, &f->b, "AKIDbbbb", "vpc-bbbbbbbb", "fl-bbbbbbbb");
    if (store_reset(f->s, f->a.uin, &e) != STORE_OK)
        fail_msg("reset: %s", e.msg);
    /* a is gone, every row of it; b is whole */
    assert_int_equal(store_key_lookup(f->s, "AKIDaaaa", &k, &e), STORE_NOTFOUND);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_VPC, "vpc-aaaaaaaa", &r, &e),
                     STORE_NOTFOUND);
    assert_int_equal(flowlogs_of(f->s, f->a.uin), 0);
    assert_int_equal(store_key_create(f->s, f->a.uin, NULL, &k, &e), STORE_NOTFOUND);
    assert_int_equal(store_key_lookup(f->s, "AKIDbbbb", &k, &e), STORE_OK);
    assert_int_equal(flowlogs_of(f->s, f->b.uin), 1);
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
    /* unknown account */
    assert_int_equal(store_reset(f->s, f->a.uin, &e), STORE_NOTFOUND);
    /* the same ids may be used again, by another account */
    populate(f->s, &f->b, "AKIDaaaa", "vpc-aaaaaaaa", "fl-aaaaaaaa");
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
}

static void test_reset_all(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct key_info k;
    struct account a;

    populate(f->s, &f->a, "AKIDaaaa", "vpc-aaaaaaaa", "fl-aaaaaaaa");
    populate(f->s, &f->b, "AKIDbbbb", "vpc-bbbbbbbb", "fl-bbbbbbbb");
    int any = -1;
    assert_int_equal(store_account_any(f->s, &any, &e), STORE_OK);
    assert_int_equal(any, 1);
    if (store_reset(f->s, NULL, &e) != STORE_OK)
        fail_msg("reset: %s", e.msg);
    assert_int_equal(store_account_any(f->s, &any, &e), STORE_OK);
    assert_int_equal(any, 0);
    assert_int_equal(store_key_lookup(f->s, "AKIDaaaa", &k, &e), STORE_NOTFOUND);
    assert_int_equal(store_key_lookup(f->s, "AKIDbbbb", &k, &e), STORE_NOTFOUND);
    assert_int_equal(flowlogs_of(f->s, f->b.uin), 0);
    assert_int_equal(store_integrity_check(f->s, &e), STORE_OK);
    /* durable: seen after a reopen; an empty store resets too */
    store_close(f->s);
    assert_non_null(f->s = fixture_reopen(f->data, &e));
    assert_int_equal(store_key_lookup(f->s, "AKIDbbbb", &k, &e), STORE_NOTFOUND);
    assert_int_equal(store_reset(f->s, NULL, &e), STORE_OK);
    /* the old Uin may be taken again */
    memset(&a, 0, sizeof a);
    snprintf(a.uin, sizeof a.uin, "%s", f->a.uin);
    assert_int_equal(store_account_put(f->s, &a, NULL, NULL, &a, &e), STORE_OK);
}

static void test_account_put(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct account want, got;
    struct key_info k;

    memset(&want, 0, sizeof want);
    want.app_id = 1251234567;
    snprintf(want.uin, sizeof want.uin, "100000000042");
    want.flowlog_quota = 3;
    assert_int_equal(store_account_put(f->s, &want, "AKIDknownknownknown", "knownsecret", &got, &e),
                     STORE_OK);
    assert_int_equal(got.app_id, 1251234567);
    assert_string_equal(got.uin, "100000000042");
    assert_int_equal(got.flowlog_quota, 3);
    assert_int_equal(store_key_lookup(f->s, "AKIDknownknownknown", &k, &e), STORE_OK);
    assert_string_equal(k.secret_key, "knownsecret");
    assert_string_equal(k.account.uin, "100000000042");
    assert_int_equal(k.account.app_id, 1251234567);
    assert_string_equal(k.actions, "");

    /* taken Uin, AppId, SecretId: STORE_EXISTS, nothing written */
    want.app_id = 0;
    assert_int_equal(store_account_put(f->s, &want, NULL, NULL, &got, &e), STORE_EXISTS);
    assert_non_null(strstr(e.msg, "Uin"));
    memset(&want, 0, sizeof want);
    want.app_id = 1251234567;
    assert_int_equal(store_account_put(f->s, &want, NULL, NULL, &got, &e), STORE_EXISTS);
    assert_non_null(strstr(e.msg, "AppId"));
    memset(&want, 0, sizeof want);
    snprintf(want.uin, sizeof want.uin, "100000000043");
    assert_int_equal(store_account_put(f->s, &want, "AKIDknownknownknown", "x", &got, &e),
                     STORE_EXISTS);
    assert_non_null(strstr(e.msg, "SecretId"));
    assert_int_equal(store_key_create(f->s, "100000000043", NULL, &k, &e), STORE_NOTFOUND);

    /* nothing given: drawn ids, the default quota, no key */
    assert_int_equal(store_account_put(f->s, NULL, NULL, NULL, &got, &e), STORE_OK);
    assert_int_equal(strlen(got.uin), 12);
    assert_true(got.app_id >= 1000000000u);
    assert_int_equal(got.flowlog_quota, STORE_DEFAULT_FLOWLOG_QUOTA);
    /* a key needs both halves */
    assert_int_equal(store_account_put(f->s, NULL, "AKIDx", "", &got, &e), STORE_ERR);
}

static void test_key_put(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct key_info k;

    assert_int_equal(store_key_put(f->s, f->a.uin, "AKIDgiven1", "s1", "DescribeFlowLogs", &e),
                     STORE_OK);
    assert_int_equal(store_key_lookup(f->s, "AKIDgiven1", &k, &e), STORE_OK);
    assert_string_equal(k.secret_key, "s1");
    assert_string_equal(k.actions, ",DescribeFlowLogs,");
    assert_string_equal(k.account.uin, f->a.uin);
    assert_int_equal(store_key_put(f->s, f->b.uin, "AKIDgiven1", "s2", NULL, &e), STORE_EXISTS);
    assert_int_equal(store_key_put(f->s, "999999999999", "AKIDgiven2", "s2", NULL, &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_key_put(f->s, f->a.uin, "AKIDgiven3", "s3", "Bad Name", &e), STORE_ERR);
    assert_int_equal(store_key_put(f->s, f->a.uin, "", "s3", NULL, &e), STORE_ERR);
}

/* state_dump: every row once, from one snapshot, with what each carries. */
struct seen {
    int accounts, keys, resources, flowlogs, tags;
    char key_uin[24], fl_region[32];
};
static void see_account(void *ud, const struct account *a)
{
    struct seen *s = ud;
    s->accounts++;
    assert_int_equal(a->flowlog_quota, STORE_DEFAULT_FLOWLOG_QUOTA);
}
static void see_key(void *ud, const struct key_info *k)
{
    struct seen *s = ud;
    s->keys++;
    snprintf(s->key_uin, sizeof s->key_uin, "%s", k->account.uin);
}
static void see_resource(void *ud, const char *uin, const struct resource *r)
{
    struct seen *s = ud;
    (void)uin;
    s->resources++;
    assert_int_equal(r->kind, RES_VPC);
    assert_non_null(r->attrs);
}
static void see_flowlog(void *ud, const struct flowlog *fl)
{
    struct seen *s = ud;
    s->flowlogs++;
    s->tags += (int)fl->ntags;
    snprintf(s->fl_region, sizeof s->fl_region, "%s", fl->region);
}

static void test_state_dump(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct seen s = {0};
    const struct state_sink sink = {&s, see_account, see_key, see_resource, see_flowlog, NULL, NULL};

    populate(f->s, &f->a, "AKIDaaaa", "vpc-aaaaaaaa", "fl-aaaaaaaa");
    assert_int_equal(store_state_dump(f->s, &sink, &e), STORE_OK);
    assert_int_equal(s.accounts, 2);
    assert_int_equal(s.keys, 1);
    assert_string_equal(s.key_uin, f->a.uin);
    assert_int_equal(s.resources, 1);
    assert_int_equal(s.flowlogs, 1);
    assert_int_equal(s.tags, 1);
    assert_string_equal(s.fl_region, RG);
    assert_int_equal(store_reset(f->s, NULL, &e), STORE_OK);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_state_dump(f->s, &sink, &e), STORE_OK);
    assert_int_equal(s.accounts + s.keys + s.resources + s.flowlogs, 0);
}

/* state_dump's cls part: every logset and topic with its fields and tags,
 * across accounts, gone with a reset. */
struct seen_cls {
    int logsets, topics;
    char topic_tags[64], logset_tag[32];
    uint32_t period;
    int status;
};
static void see_nothing_a(void *ud, const struct account *a) { (void)ud, (void)a; }
static void see_nothing_k(void *ud, const struct key_info *k) { (void)ud, (void)k; }
static void see_nothing_r(void *ud, const char *uin, const struct resource *r)
{
    (void)ud, (void)uin, (void)r;
}
static void see_nothing_f(void *ud, const struct flowlog *fl) { (void)ud, (void)fl; }
static void see_logset(void *ud, const struct cls_logset *ls)
{
    struct seen_cls *s = ud;
    s->logsets++;
    if (ls->ntags)
        snprintf(s->logset_tag, sizeof s->logset_tag, "%s=%s", ls->tags[0].key, ls->tags[0].value);
}
static void see_topic(void *ud, const struct cls_topic *t)
{
    struct seen_cls *s = ud;
    s->topics++;
    if (strcmp(t->name, "tagged") == 0) {
        assert_string_equal(t->logset_id, "ls-0000000000000000000000000000001");
        assert_string_equal(t->describes, "d");
        assert_string_equal(t->region, RG);
        s->period = t->period;
        s->status = t->status;
        for (size_t i = 0; i < t->ntags; i++)
            snprintf(s->topic_tags + strlen(s->topic_tags),
                     sizeof s->topic_tags - strlen(s->topic_tags), "%s=%s;", t->tags[i].key,
                     t->tags[i].value);
    }
}

static void test_state_dump_cls(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct seen_cls s = {0};
    const struct state_sink sink = {&s,           see_nothing_a, see_nothing_k, see_nothing_r,
                                    see_nothing_f, see_logset,   see_topic};
    const struct tag lt[] = {{"team", "net"}}, tt[] = {{"env", "ci"}, {"owner", "me"}};
    struct cls_logset ls = {0};
    struct cls_topic t = {0};

    if (!store_has_cls(f->s))
        skip();
    snprintf(ls.uin, sizeof ls.uin, "%s", f->a.uin);
    snprintf(ls.region, sizeof ls.region, RG);
    snprintf(ls.id, sizeof ls.id, "ls-0000000000000000000000000000001");
    snprintf(ls.name, sizeof ls.name, "flows");
    ls.created_at = 1700000000;
    ls.tags = lt;
    ls.ntags = 1;
    assert_int_equal(store_cls_logset_create(f->s, &ls, &e), STORE_OK);
    snprintf(ls.uin, sizeof ls.uin, "%s", f->b.uin);
    snprintf(ls.id, sizeof ls.id, "ls-0000000000000000000000000000002");
    ls.ntags = 0;
    assert_int_equal(store_cls_logset_create(f->s, &ls, &e), STORE_OK);
    snprintf(t.uin, sizeof t.uin, "%s", f->a.uin);
    snprintf(t.region, sizeof t.region, RG);
    snprintf(t.id, sizeof t.id, "00000000-0000-4000-8000-000000000001");
    snprintf(t.logset_id, sizeof t.logset_id, "ls-0000000000000000000000000000001");
    snprintf(t.name, sizeof t.name, "tagged");
    snprintf(t.storage_type, sizeof t.storage_type, "hot");
    snprintf(t.describes, sizeof t.describes, "d");
    t.period = 7;
    t.partition_count = 1;
    t.status = 0;
    t.created_at = 1700000001;
    t.tags = tt;
    t.ntags = 2;
    assert_int_equal(store_cls_topic_create(f->s, &t, &e), STORE_OK);

    assert_int_equal(store_state_dump(f->s, &sink, &e), STORE_OK);
    assert_int_equal(s.logsets, 2);
    assert_int_equal(s.topics, 1);
    assert_string_equal(s.logset_tag, "team=net");
    assert_string_equal(s.topic_tags, "env=ci;owner=me;");
    assert_int_equal(s.period, 7);
    assert_int_equal(s.status, 0);
    assert_int_equal(store_reset(f->s, f->b.uin, &e), STORE_OK);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_state_dump(f->s, &sink, &e), STORE_OK);
    assert_int_equal(s.logsets, 1);
    assert_int_equal(s.topics, 1);
    assert_int_equal(store_reset(f->s, NULL, &e), STORE_OK);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_state_dump(f->s, &sink, &e), STORE_OK);
    assert_int_equal(s.logsets + s.topics, 0);
}

/* ids_seed: the same seed gives the same ids and RequestIds, another seed
 * others; the forms stay valid. */
static void test_seeded_ids(void **state)
{
    char a[3][40], b[3][40], u1[37], u2[37];
    (void)state;
    ids_seed(42);
    assert_int_equal(gen_id("vpc", a[0], sizeof a[0]), 0);
    assert_int_equal(gen_id_clustered("fl", 1700000000000ull, a[1], sizeof a[1]), 0);
    assert_int_equal(gen_uuid(u1), 0);
    ids_seed(42);
    assert_int_equal(gen_id("vpc", b[0], sizeof b[0]), 0);
    assert_int_equal(gen_id_clustered("fl", 1800000000000ull, b[1], sizeof b[1]), 0);
    assert_int_equal(gen_uuid(u2), 0);
    assert_string_equal(a[0], b[0]);
    assert_string_equal(a[1], b[1]);
    assert_string_equal(u1, u2);
    assert_true(id_has_form(a[0], "vpc"));
    assert_true(id_has_form(a[1], "fl"));
    assert_true(is_uuid(u1));
    assert_string_not_equal(a[0] + 4, a[1] + 3);
    ids_seed(43);
    assert_int_equal(gen_id("vpc", b[2], sizeof b[2]), 0);
    assert_string_not_equal(a[0], b[2]);
    assert_true(ids_seeded());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_one_account, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset_all, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_account_put, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_key_put, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_state_dump, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_state_dump_cls, setup, store_fx_teardown),
        cmocka_unit_test(test_seeded_ids),
    };
    return cmocka_run_group_tests_name("store_admin", tests, NULL, NULL);
}
