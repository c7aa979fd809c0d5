/* test_store_resource.c: the store's resource and tag operations against
 * the store.h contract: resource_create, resource_delete (the rules that
 * bind flow logs), resource_attach, resource_query, flowlog_tags_modify. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sqlite/sqlite.h"
#include "store/store.h"
#include "validate/validate.h"

#define RG "ap-guangzhou"

static int setup(void **state)
{
    return store_fx_setup(state, "flowlogd-res", 2);
}

static int teardown(void **state)
{
    return store_fx_teardown(state);
}

/* ==== helpers ==== */

static struct resource res(enum res_kind kind, const char *id, const char *vpc,
                           const char *subnet, const char *name, int64_t created)
{
    struct resource r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    snprintf(r.region, sizeof r.region, RG);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.vpc_id, sizeof r.vpc_id, "%s", vpc ? vpc : "");
    snprintf(r.subnet_id, sizeof r.subnet_id, "%s", subnet ? subnet : "");
    snprintf(r.name, sizeof r.name, "%s", name ? name : "");
    r.created_at = created;
    return r;
}

static int create(struct store_fx *f, const char *uin, struct resource r, struct serr *e)
{
    return store_resource_create(f->s, uin, &r, e);
}

#define MAXR 64

struct seen {
    size_t n;
    char ids[MAXR][160];
    char attrs[MAXR][128];
    char instance[MAXR][80];
};

static void on_res(void *ud, const struct resource *r)
{
    struct seen *s = ud;
    assert_true(s->n < MAXR);
    snprintf(s->ids[s->n], sizeof s->ids[0], "%s", r->id);
    snprintf(s->attrs[s->n], sizeof s->attrs[0], "%s", r->attrs ? r->attrs : "(null)");
    snprintf(s->instance[s->n], sizeof s->instance[0], "%s", r->instance_id);
    s->n++;
}

/* Runs a query and returns the ids seen, comma-joined, in order. */
static const char *query(struct store_fx *f, struct resource_query *q, uint64_t *total, char *out,
                         size_t cap)
{
    struct seen s;
    struct serr e = {{0}};
    size_t len = 0;
    memset(&s, 0, sizeof s);
    assert_int_equal(store_resource_query(f->s, q, on_res, &s, total, &e), STORE_OK);
    out[0] = '\0';
    for (size_t i = 0; i < s.n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", s.ids[i]);
    return out;
}

static void q_init(struct resource_query *q, const char *uin, enum res_kind kind)
{
    memset(q, 0, sizeof *q);
    q->uin = uin;
    q->region = RG;
    q->kind = kind;
}

static void flowlog(struct store_fx *f, const char *id, const char *type, const char *rid,
                    const char *vpc, const struct tag *tags, size_t ntags)
{
    struct flowlog fl;
    struct serr e = {{0}};
    memset(&fl, 0, sizeof fl);
    snprintf(fl.id, sizeof fl.id, "%s", id);
    snprintf(fl.uin, sizeof fl.uin, "%s", f->a.uin);
    snprintf(fl.region, sizeof fl.region, RG);
    snprintf(fl.vpc_id, sizeof fl.vpc_id, "%s", vpc);
    snprintf(fl.name, sizeof fl.name, "fl");
    fl.resource_kind = resource_type_find(type)->kind;
    snprintf(fl.resource_id, sizeof fl.resource_id, "%s", rid);
    snprintf(fl.traffic_type, sizeof fl.traffic_type, "ALL");
    snprintf(fl.storage_type, sizeof fl.storage_type, "cls");
    fl.enable = 1;
    fl.created_at = 1700000000;
    fl.tags = tags;
    fl.ntags = ntags;
    if (store_flowlog_create(f->s, &fl, 0, &e) != STORE_OK)
        fail_msg("flowlog_create %s: %s", id, e.msg);
}

struct tagsseen {
    int hit;
    char text[2048]; /* "k=v;k=v;" */
};

static void on_fl(void *ud, const struct flowlog *fl)
{
    struct tagsseen *t = ud;
    size_t len = 0;
    t->hit = 1;
    t->text[0] = '\0';
    for (size_t i = 0; i < fl->ntags; i++)
        len += (size_t)snprintf(t->text + len, sizeof t->text - len, "%s=%s;", fl->tags[i].key,
                                fl->tags[i].value);
}

static const char *tags_of(struct store_fx *f, const char *id, int *rc)
{
    static struct tagsseen t;
    struct serr e = {{0}};
    memset(&t, 0, sizeof t);
    *rc = store_flowlog_get(f->s, f->a.uin, RG, id, on_fl, &t, &e);
    return t.text;
}

static void integrity(struct store_fx *f)
{
    struct serr e = {{0}};
    if (store_integrity_check(f->s, &e) != STORE_OK)
        fail_msg("integrity_check: %s", e.msg);
}

/* A VPC with two subnets, two ENIs in the first one (one attached to an
 * inventory instance), a NAT, a DCG and a CCN, all for tenant a. */
static void world(struct store_fx *f)
{
    struct serr e = {{0}};
    struct resource ins = res(RES_INSTANCE, "ins-aaaaaaaa", NULL, NULL, "", 0);
    assert_int_equal(store_inventory_import(f->s, f->a.uin, &ins, 1, &e), STORE_OK);
    ins = res(RES_INSTANCE, "ins-bbbbbbbb", NULL, NULL, "", 0);
    assert_int_equal(store_inventory_import(f->s, f->a.uin, &ins, 1, &e), STORE_OK);
    assert_int_equal(create(f, f->a.uin, res(RES_VPC, "vpc-aaaaaaaa", NULL, NULL, "v", 10), &e),
                     STORE_OK);
    assert_int_equal(
        create(f, f->a.uin, res(RES_SUBNET, "subnet-aaaaaaaa", "vpc-aaaaaaaa", NULL, "s1", 11), &e),
        STORE_OK);
    assert_int_equal(
        create(f, f->a.uin, res(RES_SUBNET, "subnet-bbbbbbbb", "vpc-aaaaaaaa", NULL, "s2", 12), &e),
        STORE_OK);
    assert_int_equal(create(f, f->a.uin,
                            res(RES_ENI, "eni-aaaaaaaa", "vpc-aaaaaaaa", "subnet-aaaaaaaa", "e1", 13),
                            &e),
                     STORE_OK);
    assert_int_equal(create(f, f->a.uin,
                            res(RES_ENI, "eni-bbbbbbbb", "vpc-aaaaaaaa", "subnet-aaaaaaaa", "e2", 14),
                            &e),
                     STORE_OK);
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-aaaaaaaa", "ins-aaaaaaaa", &e),
                     STORE_OK);
    assert_int_equal(create(f, f->a.uin, res(RES_NAT, "nat-aaaaaaaa", "vpc-aaaaaaaa", NULL, "n", 15),
                            &e),
                     STORE_OK);
    assert_int_equal(create(f, f->a.uin, res(RES_DCG, "dcg-aaaaaaaa", "vpc-aaaaaaaa", NULL, "d", 16),
                            &e),
                     STORE_OK);
    assert_int_equal(create(f, f->a.uin, res(RES_CCN, "ccn-aaaaaaaa", NULL, NULL, "c", 17), &e),
                     STORE_OK);
}

/* ==== create ==== */

static void test_create(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct resource r, got;
    struct resource_query q;
    struct seen s;

    r = res(RES_VPC, "vpc-11111111", NULL, NULL, "main", 100);
    snprintf(r.cidr, sizeof r.cidr, "10.0.0.0/16");
    r.attrs = "{\"DomainName\":\"x.local\"}";
    assert_int_equal(store_resource_create(f->s, f->a.uin, &r, &e), STORE_OK);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_VPC, "vpc-11111111", &got, &e),
                     STORE_OK);
    assert_string_equal(got.name, "main");
    assert_string_equal(got.cidr, "10.0.0.0/16");
    assert_int_equal(got.created_at, 100);

    /* attrs come back through resource_query */
    q_init(&q, f->a.uin, RES_VPC);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_resource_query(f->s, &q, on_res, &s, NULL, &e), STORE_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.attrs[0], "{\"DomainName\":\"x.local\"}");

    /* ids are unique across tenants and kinds: the caller draws again */
    assert_int_equal(create(f, f->b.uin, res(RES_VPC, "vpc-11111111", NULL, NULL, "x", 1), &e),
                     STORE_CONFLICT);
    assert_int_equal(create(f, f->a.uin, res(RES_CCN, "vpc-11111111", NULL, NULL, "x", 1), &e),
                     STORE_CONFLICT);

    /* parents must exist for the same tenant and region */
    assert_int_equal(
        create(f, f->a.uin, res(RES_SUBNET, "subnet-11111111", "vpc-99999999", NULL, "s", 1), &e),
        STORE_NOTFOUND);
    assert_non_null(strstr(e.msg, "vpc-99999999"));
    assert_int_equal(
        create(f, f->b.uin, res(RES_SUBNET, "subnet-11111111", "vpc-11111111", NULL, "s", 1), &e),
        STORE_NOTFOUND);
    assert_int_equal(
        create(f, f->a.uin, res(RES_SUBNET, "subnet-11111111", "vpc-11111111", NULL, "s", 1), &e),
        STORE_OK);
    assert_int_equal(create(f, f->a.uin, res(RES_VPC, "vpc-22222222", NULL, NULL, "v2", 1), &e),
                     STORE_OK);
    /* an ENI's subnet must be in its VPC */
    assert_int_equal(create(f, f->a.uin,
                            res(RES_ENI, "eni-11111111", "vpc-22222222", "subnet-11111111", "e", 1),
                            &e),
                     STORE_NOTFOUND);
    assert_non_null(strstr(e.msg, "subnet-11111111 in vpc-22222222"));
    assert_int_equal(create(f, f->a.uin,
                            res(RES_ENI, "eni-11111111", "vpc-11111111", "subnet-99999999", "e", 1),
                            &e),
                     STORE_NOTFOUND);
    assert_non_null(strstr(e.msg, "subnet-99999999"));
    r = res(RES_ENI, "eni-11111111", "vpc-11111111", "subnet-11111111", "e", 1);
    snprintf(r.instance_id, sizeof r.instance_id, "ins-99999999");
    assert_int_equal(store_resource_create(f->s, f->a.uin, &r, &e), STORE_NOTFOUND);
    assert_non_null(strstr(e.msg, "ins-99999999"));

    /* an unknown account, a bad kind, no id */
    assert_int_equal(create(f, "000000000000", res(RES_CCN, "ccn-11111111", NULL, NULL, "c", 1), &e),
                     STORE_NOTFOUND);
    assert_int_equal(create(f, f->a.uin, res((enum res_kind)0, "ccn-11111111", NULL, NULL, "c", 1),
                            &e),
                     STORE_ERR);
    assert_int_equal(create(f, f->a.uin, res(RES_CCN, "", NULL, NULL, "c", 1), &e), STORE_ERR);

    /* a task record */
    r = res(RES_TASK, "6e1de69a-3788-48ea-a880-d909f904f7f5", NULL, NULL, "SUCCESS", 5);
    assert_int_equal(store_resource_create(f->s, f->a.uin, &r, &e), STORE_OK);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_TASK,
                                        "6e1de69a-3788-48ea-a880-d909f904f7f5", &got, &e),
                     STORE_OK);
    assert_string_equal(got.name, "SUCCESS");
    integrity(f);
}

/* ==== query ==== */

static void test_query(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct resource_query q;
    char out[512];
    uint64_t total = 0;
    const char *ids[3];

    world(f);
    /* created_at then id; tenancy */
    q_init(&q, f->a.uin, RES_ENI);
    assert_string_equal(query(f, &q, &total, out, sizeof out), "eni-aaaaaaaa,eni-bbbbbbbb");
    assert_int_equal(total, 2);
    q_init(&q, f->b.uin, RES_ENI);
    assert_string_equal(query(f, &q, &total, out, sizeof out), "");
    assert_int_equal(total, 0);
    q_init(&q, f->a.uin, RES_ENI);
    q.region = "ap-shanghai";
    assert_string_equal(query(f, &q, &total, out, sizeof out), "");

    /* filters */
    q_init(&q, f->a.uin, RES_SUBNET);
    q.vpc_id = "vpc-aaaaaaaa";
    assert_string_equal(query(f, &q, &total, out, sizeof out), "subnet-aaaaaaaa,subnet-bbbbbbbb");
    q.name = "s2";
    assert_string_equal(query(f, &q, &total, out, sizeof out), "subnet-bbbbbbbb");
    assert_int_equal(total, 1);
    q_init(&q, f->a.uin, RES_ENI);
    q.instance_id = "ins-aaaaaaaa";
    assert_string_equal(query(f, &q, &total, out, sizeof out), "eni-aaaaaaaa");
    q.instance_id = "";
    assert_string_equal(query(f, &q, &total, out, sizeof out), "eni-bbbbbbbb");
    q_init(&q, f->a.uin, RES_ENI);
    q.subnet_id = "subnet-bbbbbbbb";
    assert_string_equal(query(f, &q, &total, out, sizeof out), "");

    /* ids, including an unknown one and one with a quote */
    ids[0] = "subnet-bbbbbbbb";
    ids[1] = "subnet-zzzzzzzz";
    ids[2] = "sub\"net";
    q_init(&q, f->a.uin, RES_SUBNET);
    q.ids = ids;
    q.nids = 3;
    assert_string_equal(query(f, &q, &total, out, sizeof out), "subnet-bbbbbbbb");
    assert_int_equal(total, 1);

    /* paging: total counts every match, limit 0 is no limit */
    for (int i = 0; i < 10; i++) {
        char id[32];
        snprintf(id, sizeof id, "ccn-p000000%d", i);
        /* equal creation times: ties by id */
        assert_int_equal(create(f, f->a.uin, res(RES_CCN, id, NULL, NULL, "p", 50), &e), STORE_OK);
    }
    q_init(&q, f->a.uin, RES_CCN);
    q.offset = 3;
    q.limit = 2;
    assert_string_equal(query(f, &q, &total, out, sizeof out), "ccn-p0000002,ccn-p0000003");
    assert_int_equal(total, 11);
    q.offset = 10;
    q.limit = 5;
    assert_string_equal(query(f, &q, &total, out, sizeof out), "ccn-p0000009");
    q.offset = 0;
    q.limit = 0;
    query(f, &q, NULL, out, sizeof out);
    assert_int_equal(strlen(out), 11 * 12 + 10);
}

/* ==== delete ==== */

static void test_delete_rules(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct resource r;
    struct tag t[2] = {{"env", "prod"}, {"team", "net"}};
    int rc;

    world(f);
    /* unknown, another tenant's */
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_VPC, "vpc-zzzzzzzz", &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_resource_delete(f->s, f->b.uin, RG, RES_VPC, "vpc-aaaaaaaa", &e),
                     STORE_NOTFOUND);
    /* a VPC with things in it, naming the first */
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_VPC, "vpc-aaaaaaaa", &e),
                     STORE_INUSE);
    assert_non_null(strstr(e.msg, "subnet-aaaaaaaa"));
    assert_non_null(strstr(e.msg, "5 more"));
    /* a subnet with ENIs */
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_SUBNET, "subnet-aaaaaaaa", &e),
                     STORE_INUSE);
    assert_non_null(strstr(e.msg, "eni-aaaaaaaa"));
    /* an attached ENI */
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_ENI, "eni-aaaaaaaa", &e),
                     STORE_INUSE);
    assert_non_null(strstr(e.msg, "ins-aaaaaaaa"));
    /* an instance with an ENI attached */
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_INSTANCE, "ins-aaaaaaaa", &e),
                     STORE_INUSE);

    /* CCN and DCG with a flow log cannot go */
    flowlog(f, "fl-ccn00001", "CCN", "ccn-aaaaaaaa", "", NULL, 0);
    flowlog(f, "fl-dcg00001", "DCG", "dcg-aaaaaaaa", "vpc-aaaaaaaa", NULL, 0);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_CCN, "ccn-aaaaaaaa", &e),
                     STORE_HAS_FLOWLOG);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_DCG, "dcg-aaaaaaaa", &e),
                     STORE_HAS_FLOWLOG);
    assert_int_equal(store_flowlog_delete(f->s, f->a.uin, RG, "fl-ccn00001", &e), STORE_OK);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_CCN, "ccn-aaaaaaaa", &e),
                     STORE_OK);
    assert_int_equal(store_flowlog_delete(f->s, f->a.uin, RG, "fl-dcg00001", &e), STORE_OK);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_DCG, "dcg-aaaaaaaa", &e),
                     STORE_OK);

    /* ENI, NAT, subnet, VPC take their flow log (and its tags) with them */
    flowlog(f, "fl-eni00001", "NETWORKINTERFACE", "eni-bbbbbbbb", "vpc-aaaaaaaa", t, 2);
    flowlog(f, "fl-nat00001", "NAT", "nat-aaaaaaaa", "vpc-aaaaaaaa", t, 1);
    flowlog(f, "fl-sub00001", "SUBNET", "subnet-bbbbbbbb", "vpc-aaaaaaaa", NULL, 0);
    flowlog(f, "fl-vpc00001", "VPC", "vpc-aaaaaaaa", "vpc-aaaaaaaa", t, 2);
    flowlog(f, "fl-eni00002", "NETWORKINTERFACE", "eni-aaaaaaaa", "vpc-aaaaaaaa", NULL, 0);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_ENI, "eni-bbbbbbbb", &e),
                     STORE_OK);
    tags_of(f, "fl-eni00001", &rc);
    assert_int_equal(rc, STORE_NOTFOUND);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_ENI, "eni-bbbbbbbb", &r, &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_NAT, "nat-aaaaaaaa", &e),
                     STORE_OK);
    tags_of(f, "fl-nat00001", &rc);
    assert_int_equal(rc, STORE_NOTFOUND);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_SUBNET, "subnet-bbbbbbbb", &e),
                     STORE_OK);
    tags_of(f, "fl-sub00001", &rc);
    assert_int_equal(rc, STORE_NOTFOUND);
    /* detach and delete the last ENI, then the subnet and the VPC */
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-aaaaaaaa", NULL, &e), STORE_OK);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_ENI, "eni-aaaaaaaa", &e),
                     STORE_OK);
    tags_of(f, "fl-eni00002", &rc);
    assert_int_equal(rc, STORE_NOTFOUND);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_SUBNET, "subnet-aaaaaaaa", &e),
                     STORE_OK);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_VPC, "vpc-aaaaaaaa", &e),
                     STORE_OK);
    tags_of(f, "fl-vpc00001", &rc);
    assert_int_equal(rc, STORE_NOTFOUND);
    integrity(f); /* flow-log counts and tag rows agree */
}

/* ==== attach / detach ==== */

static void test_attach(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct resource r;

    world(f);
    /* the same instance again: nothing to do */
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-aaaaaaaa", "ins-aaaaaaaa", &e),
                     STORE_OK);
    /* another instance: attached elsewhere */
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-aaaaaaaa", "ins-bbbbbbbb", &e),
                     STORE_INUSE);
    assert_non_null(strstr(e.msg, "ins-aaaaaaaa"));
    /* unknown ENI or instance, another tenant */
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-zzzzzzzz", "ins-aaaaaaaa", &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-bbbbbbbb", "ins-zzzzzzzz", &e),
                     STORE_NOTFOUND);
    assert_non_null(strstr(e.msg, "ins-zzzzzzzz"));
    assert_int_equal(store_resource_attach(f->s, f->b.uin, RG, "eni-bbbbbbbb", "ins-aaaaaaaa", &e),
                     STORE_NOTFOUND);
    /* attach the free one, detach both; detaching again fails */
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-bbbbbbbb", "ins-bbbbbbbb", &e),
                     STORE_OK);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_ENI, "eni-bbbbbbbb", &r, &e),
                     STORE_OK);
    assert_string_equal(r.instance_id, "ins-bbbbbbbb");
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-bbbbbbbb", "", &e), STORE_OK);
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-aaaaaaaa", NULL, &e), STORE_OK);
    assert_int_equal(store_resource_get(f->s, f->a.uin, RG, RES_ENI, "eni-aaaaaaaa", &r, &e),
                     STORE_OK);
    assert_string_equal(r.instance_id, "");
    assert_int_equal(store_resource_attach(f->s, f->a.uin, RG, "eni-aaaaaaaa", NULL, &e),
                     STORE_INUSE);
    assert_non_null(strstr(e.msg, "not attached"));
}

/* ==== tags ==== */

static void test_tags_modify(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct tag t[3] = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
    struct tag set[2] = {{"b", "20"}, {"d", "4"}};
    const char *del[2] = {"a", "nope"};
    struct tag many[50];
    char keys[50][8];
    struct flowlog_query q;
    struct tag pair = {"d", "4"};
    uint64_t total = 0;
    int rc;

    flowlog(f, "fl-tag00001", "CCN", "ccn-tttttttt", "", t, 3);
    /* delete a, replace b in place, append d */
    assert_int_equal(store_flowlog_tags_modify(f->s, f->a.uin, RG, "fl-tag00001", set, 2, del, 2,
                                               &e),
                     STORE_OK);
    assert_string_equal(tags_of(f, "fl-tag00001", &rc), "b=20;c=3;d=4;");
    integrity(f);
    /* the filters of DescribeFlowLogs see them */
    memset(&q, 0, sizeof q);
    q.uin = f->a.uin;
    q.region = RG;
    q.tag_pairs = &pair;
    q.ntag_pairs = 1;
    assert_int_equal(store_flowlog_query(f->s, &q, NULL, NULL, &total, &e), STORE_OK);
    assert_int_equal(total, 1);
    pair.key = "a";
    pair.value = "1";
    assert_int_equal(store_flowlog_query(f->s, &q, NULL, NULL, &total, &e), STORE_OK);
    assert_int_equal(total, 0);

    /* unknown, another tenant's, another region */
    assert_int_equal(store_flowlog_tags_modify(f->s, f->a.uin, RG, "fl-zzzzzzzz", set, 1, NULL, 0,
                                               &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_flowlog_tags_modify(f->s, f->b.uin, RG, "fl-tag00001", set, 1, NULL, 0,
                                               &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_flowlog_tags_modify(f->s, f->a.uin, "ap-shanghai", "fl-tag00001", set,
                                               1, NULL, 0, &e),
                     STORE_NOTFOUND);

    /* 50 keys at most after the merge; over it nothing changes */
    for (int i = 0; i < 50; i++) {
        snprintf(keys[i], sizeof keys[i], "k%02d", i);
        many[i] = (struct tag){keys[i], "v"};
    }
    assert_int_equal(store_flowlog_tags_modify(f->s, f->a.uin, RG, "fl-tag00001", many, 48, NULL,
                                               0, &e),
                     STORE_QUOTA);
    assert_string_equal(tags_of(f, "fl-tag00001", &rc), "b=20;c=3;d=4;");
    assert_int_equal(store_flowlog_tags_modify(f->s, f->a.uin, RG, "fl-tag00001", many, 47, NULL,
                                               0, &e),
                     STORE_OK);
    del[0] = "b";
    del[1] = "c";
    /* deletions count before additions: 50 - 2 + 3 is too many, 50 - 2 + 2 fits */
    assert_int_equal(store_flowlog_tags_modify(f->s, f->a.uin, RG, "fl-tag00001", many + 47, 3,
                                               del, 2, &e),
                     STORE_QUOTA);
    assert_int_equal(store_flowlog_tags_modify(f->s, f->a.uin, RG, "fl-tag00001", many + 47, 2,
                                               del, 2, &e),
                     STORE_OK);
    assert_true(strncmp(tags_of(f, "fl-tag00001", &rc), "d=4;k00=v;k01=v;", 16) == 0);
    integrity(f);
    /* remove everything */
    {
        const char *all[51];
        all[0] = "d";
        for (int i = 0; i < 50; i++)
            all[i + 1] = keys[i];
        assert_int_equal(store_flowlog_tags_modify(f->s, f->a.uin, RG, "fl-tag00001", NULL, 0, all,
                                                   51, &e),
                         STORE_OK);
        assert_string_equal(tags_of(f, "fl-tag00001", &rc), "");
    }
    integrity(f);
}

/* ==== survives a reopen (the migration) ==== */

static void test_reopen(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct resource_query q;
    struct seen s;
    struct resource r = res(RES_CCN, "ccn-keep0001", NULL, NULL, "kept", 7);

    r.attrs = "{\"QosLevel\":\"PT\"}";
    assert_int_equal(store_resource_create(f->s, f->a.uin, &r, &e), STORE_OK);
    store_close(f->s);
    f->s = fixture_reopen(f->data, &e);
    if (!f->s)
        fail_msg("reopen: %s", e.msg);
    q_init(&q, f->a.uin, RES_CCN);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_resource_query(f->s, &q, on_res, &s, NULL, &e), STORE_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.attrs[0], "{\"QosLevel\":\"PT\"}");
    integrity(f);
}

/* ==== TotalCount without counting, pages that seek (schema 9) ==== */

/* The unfiltered TotalCount of (uin, kind), checked against the rows an
 * unlimited page returns (integrity() checks the counters against
 * count(*) too). */
static void count_row(void *ud, const struct resource *r)
{
    (void)r;
    (*(uint64_t *)ud)++;
}

static uint64_t count_of(struct store_fx *f, const char *uin, enum res_kind kind)
{
    struct resource_query q;
    struct serr e = {{0}};
    uint64_t total = 0, listed = 0;
    q_init(&q, uin, kind);
    assert_int_equal(store_resource_query(f->s, &q, NULL, NULL, &total, &e), STORE_OK);
    q.limit = 0; /* every row, counted one by one */
    assert_int_equal(store_resource_query(f->s, &q, count_row, &listed, NULL, &e), STORE_OK);
    assert_int_equal(listed, total);
    return total;
}

static struct resource eni(int n, int64_t created)
{
    char id[32];
    snprintf(id, sizeof id, "eni-p%07d", n);
    return res(RES_ENI, id, "vpc-pppppppp", "subnet-pppppppp", "", created);
}

static void import_enis(struct store_fx *f, const char *uin, int from, int n, int64_t created)
{
    struct serr e = {{0}};
    struct resource *v = calloc((size_t)n, sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < n; i++)
        v[i] = eni(from + i, created + (i % 7)); /* ties in creation time: ordered by id */
    if (store_inventory_import(f->s, uin, v, (size_t)n, &e) != STORE_OK)
        fail_msg("import: %s", e.msg);
    free(v);
}

static void test_counts(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct account c;

    assert_int_equal(count_of(f, f->a.uin, RES_ENI), 0);
    world(f); /* 2 ENIs by create, 2 instances by import */
    assert_int_equal(count_of(f, f->a.uin, RES_ENI), 2);
    assert_int_equal(count_of(f, f->a.uin, RES_INSTANCE), 2);
    assert_int_equal(count_of(f, f->a.uin, RES_SUBNET), 2);
    import_enis(f, f->a.uin, 0, 30, 100);
    assert_int_equal(count_of(f, f->a.uin, RES_ENI), 32);
    /* a re-import of the same ENIs (changed) adds nothing */
    import_enis(f, f->a.uin, 20, 20, 200);
    assert_int_equal(count_of(f, f->a.uin, RES_ENI), 42);
    /* the other tenant, another region: their own counts */
    import_enis(f, f->b.uin, 100, 5, 100);
    assert_int_equal(count_of(f, f->b.uin, RES_ENI), 5);
    assert_int_equal(count_of(f, f->a.uin, RES_ENI), 42);
    /* deletes; a refused delete changes nothing */
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_ENI, "eni-p0000003", &e),
                     STORE_OK);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_ENI, "eni-aaaaaaaa", &e),
                     STORE_INUSE);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_ENI, "eni-p0000003", &e),
                     STORE_NOTFOUND);
    assert_int_equal(count_of(f, f->a.uin, RES_ENI), 41);
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_SUBNET, "subnet-bbbbbbbb", &e),
                     STORE_OK);
    assert_int_equal(count_of(f, f->a.uin, RES_SUBNET), 1);
    integrity(f);

    /* an account deleted (reset of one uin): its counts are 0, the other's stay */
    assert_int_equal(store_reset(f->s, f->b.uin, &e), STORE_OK);
    assert_int_equal(count_of(f, f->b.uin, RES_ENI), 0);
    assert_int_equal(count_of(f, f->a.uin, RES_ENI), 41);
    integrity(f);
    /* made again with the same uin: counts from 0 */
    memset(&c, 0, sizeof c);
    c.app_id = f->b.app_id;
    snprintf(c.uin, sizeof c.uin, "%s", f->b.uin);
    assert_int_equal(store_account_put(f->s, &c, NULL, NULL, &f->b, &e), STORE_OK);
    assert_int_equal(count_of(f, f->b.uin, RES_ENI), 0);
    import_enis(f, f->b.uin, 100, 3, 100);
    assert_int_equal(count_of(f, f->b.uin, RES_ENI), 3);
    /* a reset of everything */
    assert_int_equal(store_reset(f->s, NULL, &e), STORE_OK);
    assert_int_equal(count_of(f, f->a.uin, RES_ENI), 0);
    assert_int_equal(count_of(f, f->b.uin, RES_ENI), 0);
    integrity(f);
}

struct pageseen {
    size_t n;
    char text[8192];
};

static void on_page(void *ud, const struct resource *r)
{
    struct pageseen *p = ud;
    size_t len = strlen(p->text);
    snprintf(p->text + len, sizeof p->text - len, "%s%s", p->n ? "," : "", r->id);
    p->n++;
}

/* The page at offset/limit twice: without filters (the counter and the
 * page keys) and filtered by the VPC every ENI is in (plain OFFSET and
 * count(*)). Both must agree; returns the rows. */
static size_t page_both(struct store_fx *f, uint64_t offset, uint64_t limit, uint64_t *total)
{
    struct resource_query q;
    struct serr e = {{0}};
    struct pageseen a, b;
    uint64_t ta = 0, tb = 0;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    q_init(&q, f->a.uin, RES_ENI);
    q.offset = offset;
    q.limit = limit;
    assert_int_equal(store_resource_query(f->s, &q, on_page, &a, &ta, &e), STORE_OK);
    q.vpc_id = "vpc-pppppppp";
    assert_int_equal(store_resource_query(f->s, &q, on_page, &b, &tb, &e), STORE_OK);
    if (strcmp(a.text, b.text) != 0 || ta != tb)
        fail_msg("offset %llu limit %llu: paged [%s] (total %llu), by OFFSET [%s] (total %llu)",
                 (unsigned long long)offset, (unsigned long long)limit, a.text,
                 (unsigned long long)ta, b.text, (unsigned long long)tb);
    *total = ta;
    return a.n;
}

/* Pages the tenant's ENIs as a pager does (Offset += Limit) while creates,
 * imports and deletes land between the pages, before and after the page's
 * position: every page equals what plain OFFSET gives at that moment. On
 * SQLite, the pages past the first seek (the page keys were used) and a
 * write from another connection (another process's `inventory import`)
 * is seen too. */
static void test_paging_seeks(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct store_sqlite_info k0, k1;
    uint64_t total = 0, offset = 0;
    unsigned seed = 11;
    int next = 1000, pages = 0;

    if (!fixture_pg())
        store_sqlite_info(f->s, &k0);
    import_enis(f, f->a.uin, 0, 200, 100);
    for (int pass = 0; pass < 3; pass++) {
        for (offset = 0;; ) {
            size_t got = page_both(f, offset, 9, &total);
            pages++;
            /* ...and the same page again, now from the keys */
            assert_int_equal(page_both(f, offset, 9, &total), got);
            if (offset >= total)
                break;
            offset += 9;
            switch (rand_r(&seed) % 6) {
            case 0: /* before the position */
                import_enis(f, f->a.uin, next, 2, 50);
                next += 2;
                break;
            case 1: /* after it */
                import_enis(f, f->a.uin, next, 1, 900);
                next += 1;
                break;
            case 2: { /* a delete somewhere */
                char id[32];
                snprintf(id, sizeof id, "eni-p%07d", (int)(rand_r(&seed) % 200));
                int rc = store_resource_delete(f->s, f->a.uin, RG, RES_ENI, id, &e);
                assert_true(rc == STORE_OK || rc == STORE_NOTFOUND);
                break;
            }
            case 3: { /* a create through the API, equal creation time to others */
                char id[32];
                snprintf(id, sizeof id, "eni-q%07d", next++);
                struct resource r = eni(0, 100);
                snprintf(r.id, sizeof r.id, "%s", id);
                r.vpc_id[0] = '\0';
                r.subnet_id[0] = '\0';
                assert_int_equal(store_resource_create(f->s, f->a.uin, &r, &e), STORE_OK);
                /* not in the VPC: the reference would miss it; take it out again */
                assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_ENI, id, &e),
                                 STORE_OK);
                break;
            }
            default: /* no write: the next page seeks */
                break;
            }
        }
    }
    assert_true(pages > 60);
    integrity(f);
    if (fixture_pg())
        return;
    store_sqlite_info(f->s, &k1);
    assert_true(k1.page_seeks - k0.page_seeks >= 40);

    /* a write by another connection of the file (another process) */
    {
        char path[160], sql[256];
        sqlite3 *db;
        size_t before = page_both(f, 18, 9, &total);
        uint64_t old_total = total;
        assert_int_equal(before, 9);
        snprintf(path, sizeof path, "%s/flowlogd.db", f->data);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        snprintf(sql, sizeof sql,
                 "INSERT INTO resources(uin, region, kind, id, vpc_id, created_at) VALUES "
                 "('%s', '%s', %d, 'eni-r0000001', 'vpc-pppppppp', 1)",
                 f->a.uin, RG, (int)RES_ENI);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        page_both(f, 18, 9, &total);
        assert_int_equal(total, old_total + 1);
        page_both(f, 27, 9, &total);
    }
    integrity(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_modify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging_seeks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
