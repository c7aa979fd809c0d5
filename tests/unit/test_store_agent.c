/* test_store_agent.c: the data plane's part of the store on each backend
 * (SQLite, or PostgreSQL with FLOWLOGD_TEST_STORE): host bindings from the
 * inventory and from resource_bind, a host's snapshot (only its own
 * resources, only enabled flow logs that may cover them), the bindings in
 * the state dump, bindings deleted with their resource, agent keys. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "store_fixture.h"
#include <stdio.h>
#include <string.h>

#include "control/assign.h"
#include "control/control.h"
#include "store/store.h"
#include "validate/validate.h"

#define RG "ap-guangzhou"

static int setup(void **state)
{
    return store_fx_setup(state, "flowlogd-store-agent", 2);
}

static struct resource res(enum res_kind kind, const char *id, const char *vpc,
                           const char *subnet)
{
    struct resource r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    snprintf(r.region, sizeof r.region, RG);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.vpc_id, sizeof r.vpc_id, "%s", vpc ? vpc : "");
    snprintf(r.subnet_id, sizeof r.subnet_id, "%s", subnet ? subnet : "");
    return r;
}

static void bind_to(struct resource *r, const char *host, const char *dev, const char *ns)
{
    snprintf(r->host, sizeof r->host, "%s", host);
    snprintf(r->host_device, sizeof r->host_device, "%s", dev);
    snprintf(r->host_netns, sizeof r->host_netns, "%s", ns ? ns : "");
}

static void fl_put(struct store *s, const char *uin, const char *id, const char *type,
                   const char *rid, const char *vpc)
{
    struct serr e = {{0}};
    struct flowlog fl;
    memset(&fl, 0, sizeof fl);
    snprintf(fl.id, sizeof fl.id, "%s", id);
    snprintf(fl.uin, sizeof fl.uin, "%s", uin);
    snprintf(fl.region, sizeof fl.region, RG);
    snprintf(fl.name, sizeof fl.name, "%s", id);
    snprintf(fl.vpc_id, sizeof fl.vpc_id, "%s", vpc);
    fl.resource_kind = resource_type_find(type) ? resource_type_find(type)->kind : 0;
    snprintf(fl.resource_id, sizeof fl.resource_id, "%s", rid);
    snprintf(fl.traffic_type, sizeof fl.traffic_type, "ALL");
    snprintf(fl.storage_type, sizeof fl.storage_type, "cls");
    fl.enable = 1;
    fl.created_at = 1700000000;
    assert_int_equal(store_flowlog_create(s, &fl, 0, &e), STORE_OK);
}

/* tenant a: vpc A with subnet A and ENIs 1 (host h1), 2 (h2), 3 (unbound);
 * tenant b: its own VPC and ENI on h1 */
static void populate(struct store_fx *f)
{
    struct serr e = {{0}};
    struct resource a[6] = {
        res(RES_VPC, "vpc-aaaaaaaa", NULL, NULL),
        res(RES_SUBNET, "subnet-aaaaaaaa", "vpc-aaaaaaaa", NULL),
        res(RES_ENI, "eni-aaaaaaa1", "vpc-aaaaaaaa", "subnet-aaaaaaaa"),
        res(RES_ENI, "eni-aaaaaaa2", "vpc-aaaaaaaa", "subnet-aaaaaaaa"),
        res(RES_ENI, "eni-aaaaaaa3", "vpc-aaaaaaaa", "subnet-aaaaaaaa"),
        res(RES_NAT, "nat-aaaaaaaa", "vpc-aaaaaaaa", NULL),
    };
    bind_to(&a[2], "h1", "veth1", "hostns");
    bind_to(&a[3], "h2", "veth2", NULL);
    bind_to(&a[5], "h1", "natdev", NULL);
    assert_int_equal(store_inventory_import(f->s, f->a.uin, a, 6, &e), STORE_OK);
    struct resource b[3] = {
        res(RES_VPC, "vpc-bbbbbbbb", NULL, NULL),
        res(RES_SUBNET, "subnet-bbbbbbbb", "vpc-bbbbbbbb", NULL),
        res(RES_ENI, "eni-bbbbbbb1", "vpc-bbbbbbbb", "subnet-bbbbbbbb"),
    };
    bind_to(&b[2], "h1", "vethb", NULL);
    if (store_inventory_import(f->s, f->b.uin, b, 3, &e) != STORE_OK)
        fail_msg("import: %s", e.msg);
}

static struct assign_snap snapshot(struct store *s, const char *host)
{
    struct assign_snap snap;
    struct serr e = {{0}};
    assign_snap_init(&snap);
    struct host_sink sink = assign_snap_sink(&snap);
    if (store_host_snapshot(s, host, &sink, &e) != STORE_OK)
        fail_msg("snapshot: %s", e.msg);
    assert_false(snap.oom);
    return snap;
}

static int has_res(const struct assign_snap *s, const char *id)
{
    for (size_t i = 0; i < s->nres; i++)
        if (strcmp(s->res[i].r.id, id) == 0)
            return 1;
    return 0;
}

static int has_fl(const struct assign_snap *s, const char *id)
{
    for (size_t i = 0; i < s->nfl; i++)
        if (strcmp(s->fl[i].id, id) == 0)
            return 1;
    return 0;
}

static void test_snapshot_is_the_hosts(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    populate(f);
    fl_put(f->s, f->a.uin, "fl-aaaaavpc", "VPC", "vpc-aaaaaaaa", "vpc-aaaaaaaa");
    fl_put(f->s, f->a.uin, "fl-aaaaeni3", "NETWORKINTERFACE", "eni-aaaaaaa3", "vpc-aaaaaaaa");
    fl_put(f->s, f->a.uin, "fl-aaaaeni2", "NETWORKINTERFACE", "eni-aaaaaaa2", "vpc-aaaaaaaa");
    fl_put(f->s, f->b.uin, "fl-bbbbbvpc", "VPC", "vpc-bbbbbbbb", "vpc-bbbbbbbb");

    struct assign_snap s = snapshot(f->s, "h1");
    assert_int_equal(s.nres, 3); /* eni 1, the NAT, tenant b's ENI */
    assert_true(has_res(&s, "eni-aaaaaaa1") && has_res(&s, "nat-aaaaaaaa") &&
                has_res(&s, "eni-bbbbbbb1"));
    for (size_t i = 0; i < s.nres; i++)
        if (strcmp(s.res[i].r.id, "eni-aaaaaaa1") == 0) {
            assert_string_equal(s.res[i].r.host_device, "veth1");
            assert_string_equal(s.res[i].r.host_netns, "hostns");
            assert_string_equal(s.res[i].r.subnet_id, "subnet-aaaaaaaa");
            assert_string_equal(s.res[i].acct.uin, f->a.uin);
            assert_int_equal(s.res[i].acct.app_id, f->a.app_id);
        }
    /* the VPC flow logs cover h1's ENIs; eni 2 and 3's own are not h1's */
    assert_int_equal(s.nfl, 2);
    assert_true(has_fl(&s, "fl-aaaaavpc") && has_fl(&s, "fl-bbbbbvpc"));
    assign_snap_free(&s);

    s = snapshot(f->s, "h2");
    assert_int_equal(s.nres, 1);
    assert_int_equal(s.nfl, 2); /* the VPC's and eni 2's */
    assert_true(has_fl(&s, "fl-aaaaavpc") && has_fl(&s, "fl-aaaaeni2"));
    assign_snap_free(&s);

    /* a disabled flow log is not handed out */
    const char *ids[] = {"fl-aaaaeni2"};
    assert_int_equal(store_flowlog_set_enable(f->s, f->a.uin, RG, ids, 1, 0, &e), STORE_OK);
    s = snapshot(f->s, "h2");
    assert_int_equal(s.nfl, 1);
    assert_false(has_fl(&s, "fl-aaaaeni2"));
    assign_snap_free(&s);

    s = snapshot(f->s, "nohost");
    assert_int_equal(s.nres + s.nfl, 0);
    assign_snap_free(&s);
}

/* A CKafka flow log's assignment carries its instance's Brokers from the
 * inventory (where the agent's Kafka sink delivers), and a change of them
 * is a new Generation. */
static void test_kafka_brokers(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    char err[256] = "";
    populate(f);
    struct resource k = res(RES_CKAFKA, "ckafka-aaaaaaaa", NULL, NULL);
    snprintf(k.edition, sizeof k.edition, "profession");
    snprintf(k.brokers, sizeof k.brokers, "127.0.0.1:9092,127.0.0.1:9093");
    assert_int_equal(store_inventory_import(f->s, f->a.uin, &k, 1, &e), STORE_OK);
    struct flowlog fl;
    memset(&fl, 0, sizeof fl);
    snprintf(fl.id, sizeof fl.id, "fl-aaaakafk");
    snprintf(fl.uin, sizeof fl.uin, "%s", f->a.uin);
    snprintf(fl.region, sizeof fl.region, RG);
    snprintf(fl.name, sizeof fl.name, "kafka");
    snprintf(fl.vpc_id, sizeof fl.vpc_id, "vpc-aaaaaaaa");
    fl.resource_kind = RES_ENI;
    snprintf(fl.resource_id, sizeof fl.resource_id, "eni-aaaaaaa1");
    snprintf(fl.traffic_type, sizeof fl.traffic_type, "ALL");
    snprintf(fl.storage_type, sizeof fl.storage_type, "ckafka");
    snprintf(fl.storage_id, sizeof fl.storage_id, "ckafka-aaaaaaaa");
    snprintf(fl.storage_topic, sizeof fl.storage_topic, "flowlog");
    fl.enable = 1;
    fl.created_at = 1700000000;
    assert_int_equal(store_flowlog_create(f->s, &fl, 0, &e), STORE_OK);
    fl_put(f->s, f->a.uin, "fl-aaaaavpc", "VPC", "vpc-aaaaaaaa", "vpc-aaaaaaaa");

    json_t *doc = control_assignments(f->s, "h1", err, sizeof err);
    if (!doc)
        fail_msg("assignments: %s", err);
    json_t *fls = json_object_get(doc, "FlowLogs"), *o;
    size_t i;
    int seen = 0;
    json_array_foreach(fls, i, o) {
        const char *id = json_string_value(json_object_get(o, "FlowLogId"));
        const char *b = json_string_value(json_object_get(o, "Brokers"));
        assert_non_null(b);
        if (strcmp(id, "fl-aaaakafk") == 0) {
            assert_string_equal(b, "127.0.0.1:9092,127.0.0.1:9093");
            assert_string_equal(json_string_value(json_object_get(o, "StorageTopic")), "flowlog");
            seen++;
        } else {
            assert_string_equal(b, ""); /* a CLS flow log has none */
        }
    }
    assert_int_equal(seen, 1);
    snprintf(k.brokers, sizeof k.brokers, "kafka.example:19092");
    assert_int_equal(store_inventory_import(f->s, f->a.uin, &k, 1, &e), STORE_OK);
    json_t *doc2 = control_assignments(f->s, "h1", err, sizeof err);
    assert_non_null(doc2);
    assert_string_not_equal(json_string_value(json_object_get(doc, "Generation")),
                            json_string_value(json_object_get(doc2, "Generation")));
    json_decref(doc);
    json_decref(doc2);
}

static void test_bind(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    populate(f);
    /* eni 3 moves to h2; eni 1 is unbound */
    assert_int_equal(store_resource_bind(f->s, f->a.uin, "eni-aaaaaaa3", "h2", "veth3", NULL, &e),
                     STORE_OK);
    assert_int_equal(store_resource_bind(f->s, f->a.uin, "eni-aaaaaaa1", "h1", "", NULL, &e),
                     STORE_OK);
    struct assign_snap s = snapshot(f->s, "h2");
    assert_int_equal(s.nres, 2);
    assert_true(has_res(&s, "eni-aaaaaaa3"));
    assign_snap_free(&s);
    s = snapshot(f->s, "h1");
    assert_false(has_res(&s, "eni-aaaaaaa1"));
    assign_snap_free(&s);
    /* another tenant's resource, a VPC, an unknown id: not found */
    assert_int_equal(store_resource_bind(f->s, f->b.uin, "eni-aaaaaaa3", "h2", "x", NULL, &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_resource_bind(f->s, f->a.uin, "vpc-aaaaaaaa", "h2", "x", NULL, &e),
                     STORE_NOTFOUND);
    assert_int_equal(store_resource_bind(f->s, f->a.uin, "eni-zzzzzzzz", "h2", "x", NULL, &e),
                     STORE_NOTFOUND);
    /* a re-import without HostDevice keeps a binding */
    struct resource again = res(RES_ENI, "eni-aaaaaaa3", "vpc-aaaaaaaa", "subnet-aaaaaaaa");
    assert_int_equal(store_inventory_import(f->s, f->a.uin, &again, 1, &e), STORE_OK);
    s = snapshot(f->s, "h2");
    assert_true(has_res(&s, "eni-aaaaaaa3"));
    assign_snap_free(&s);
}

struct dump_seen {
    int bound;
    char dev[16];
};

static void d_account(void *ud, const struct account *a)
{
    (void)ud;
    (void)a;
}
static void d_key(void *ud, const struct key_info *k)
{
    (void)ud;
    (void)k;
}
static void d_res(void *ud, const char *uin, const struct resource *r)
{
    struct dump_seen *d = ud;
    (void)uin;
    if (r->host_device[0]) {
        d->bound++;
        if (strcmp(r->id, "eni-aaaaaaa1") == 0)
            snprintf(d->dev, sizeof d->dev, "%s", r->host_device);
    }
}
static void d_fl(void *ud, const struct flowlog *fl)
{
    (void)ud;
    (void)fl;
}

static void test_dump_and_delete(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct dump_seen d = {0};
    const struct state_sink sink = {&d, d_account, d_key, d_res, d_fl, NULL, NULL};
    populate(f);
    assert_int_equal(store_state_dump(f->s, &sink, &e), STORE_OK);
    assert_int_equal(d.bound, 4);
    assert_string_equal(d.dev, "veth1");
    /* a deleted resource takes its binding with it */
    assert_int_equal(store_resource_delete(f->s, f->a.uin, RG, RES_ENI, "eni-aaaaaaa2", &e),
                     STORE_OK);
    struct assign_snap s = snapshot(f->s, "h2");
    assert_int_equal(s.nres, 0);
    assign_snap_free(&s);
    /* reset takes every binding */
    assert_int_equal(store_reset(f->s, NULL, &e), STORE_OK);
    s = snapshot(f->s, "h1");
    assert_int_equal(s.nres, 0);
    assign_snap_free(&s);
}

static void count_key(void *ud, const struct agent_key *k)
{
    (void)k;
    ++*(int *)ud;
}

static void test_agent_keys(void **state)
{
    struct store_fx *f = *state;
    struct serr e = {{0}};
    struct agent_key k1, k2, got;
    int n = 0;
    assert_int_equal(store_agent_key_create(f->s, "h1", &k1, &e), STORE_OK);
    assert_int_equal(store_agent_key_create(f->s, NULL, &k2, &e), STORE_OK);
    assert_int_equal(strncmp(k1.secret_id, "AKAG", 4), 0);
    assert_int_equal(strlen(k1.secret_key), 32);
    assert_string_not_equal(k1.secret_id, k2.secret_id);
    assert_int_equal(store_agent_key_lookup(f->s, k1.secret_id, &got, &e), STORE_OK);
    assert_string_equal(got.secret_key, k1.secret_key);
    assert_string_equal(got.host, "h1");
    assert_int_equal(store_agent_key_lookup(f->s, k2.secret_id, &got, &e), STORE_OK);
    assert_string_equal(got.host, "");
    /* a tenant's key is not an agent key, nor the other way round */
    struct key_info ki;
    assert_int_equal(store_agent_key_lookup(f->s, "AKIDnothere", &got, &e), STORE_NOTFOUND);
    assert_int_equal(store_key_lookup(f->s, k1.secret_id, &ki, &e), STORE_NOTFOUND);
    assert_int_equal(store_agent_key_list(f->s, count_key, &n, &e), STORE_OK);
    assert_int_equal(n, 2);
    assert_int_equal(store_agent_key_delete(f->s, k1.secret_id, &e), STORE_OK);
    assert_int_equal(store_agent_key_delete(f->s, k1.secret_id, &e), STORE_NOTFOUND);
    assert_int_equal(store_agent_key_lookup(f->s, k1.secret_id, &got, &e), STORE_NOTFOUND);
    n = 0;
    assert_int_equal(store_agent_key_list(f->s, count_key, &n, &e), STORE_OK);
    assert_int_equal(n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_is_the_hosts, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_kafka_brokers, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_bind, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_dump_and_delete, setup, store_fx_teardown),
        cmocka_unit_test_setup_teardown(test_agent_keys, setup, store_fx_teardown),
    };
    return cmocka_run_group_tests_name("store_agent", tests, NULL, NULL);
}
