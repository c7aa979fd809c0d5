/* test_assign.c: the data plane's coverage rules (control/assign.c), pure:
 * which resources of a host each flow log covers, what the agent's
 * document lists, and that it changes its Generation when (and only when)
 * the assignment changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "control/assign.h"
#include "validate/validate.h"

static struct resource res(enum res_kind kind, const char *region, const char *id,
                           const char *vpc, const char *subnet, const char *dev)
{
    struct resource r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    snprintf(r.region, sizeof r.region, "%s", region);
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.vpc_id, sizeof r.vpc_id, "%s", vpc);
    snprintf(r.subnet_id, sizeof r.subnet_id, "%s", subnet);
    snprintf(r.host, sizeof r.host, "h1");
    snprintf(r.host_device, sizeof r.host_device, "%s", dev);
    return r;
}

static struct flowlog fl(const char *uin, const char *region, const char *id, const char *type,
                         const char *rid, int enable)
{
    struct flowlog f;
    memset(&f, 0, sizeof f);
    snprintf(f.uin, sizeof f.uin, "%s", uin);
    snprintf(f.region, sizeof f.region, "%s", region);
    snprintf(f.id, sizeof f.id, "%s", id);
    f.resource_kind = resource_type_find(type) ? resource_type_find(type)->kind : 0;
    snprintf(f.resource_id, sizeof f.resource_id, "%s", rid);
    snprintf(f.traffic_type, sizeof f.traffic_type, "ALL");
    snprintf(f.storage_type, sizeof f.storage_type, "cls");
    snprintf(f.cloud_log_id, sizeof f.cloud_log_id, "a0b1c2d3-0000-4000-8000-000000000001");
    f.enable = enable;
    return f;
}

#define GZ "ap-guangzhou"
#define SH "ap-shanghai"

static void test_covers(void **state)
{
    (void)state;
    struct resource eni = res(RES_ENI, GZ, "eni-11111111", "vpc-11111111", "subnet-11111111",
                              "v1");
    struct resource nat = res(RES_NAT, GZ, "nat-11111111", "vpc-11111111", "", "n1");
    struct resource dcg = res(RES_DCG, GZ, "dcg-11111111", "vpc-11111111", "", "d1");
    struct resource ccn = res(RES_CCN, GZ, "ccn-11111111", "", "", "c1");
    const struct {
        const char *name, *uin, *region, *type, *rid;
        int enable;
        const struct resource *r;
        int want;
    } cases[] = {
        {"eni-own", "1", GZ, "NETWORKINTERFACE", "eni-11111111", 1, &eni, 1},
        {"eni-other", "1", GZ, "NETWORKINTERFACE", "eni-22222222", 1, &eni, 0},
        {"eni-subnet", "1", GZ, "SUBNET", "subnet-11111111", 1, &eni, 1},
        {"eni-other-subnet", "1", GZ, "SUBNET", "subnet-22222222", 1, &eni, 0},
        {"eni-vpc", "1", GZ, "VPC", "vpc-11111111", 1, &eni, 1},
        {"eni-other-vpc", "1", GZ, "VPC", "vpc-22222222", 1, &eni, 0},
        {"disabled", "1", GZ, "NETWORKINTERFACE", "eni-11111111", 0, &eni, 0},
        {"another-tenant", "2", GZ, "VPC", "vpc-11111111", 1, &eni, 0},
        {"another-region", "1", SH, "VPC", "vpc-11111111", 1, &eni, 0},
        {"nat-own", "1", GZ, "NAT", "nat-11111111", 1, &nat, 1},
        {"vpc-not-nat", "1", GZ, "VPC", "vpc-11111111", 1, &nat, 0},
        {"nat-not-eni", "1", GZ, "NAT", "eni-11111111", 1, &eni, 0},
        {"dcg-own", "1", GZ, "DCG", "dcg-11111111", 1, &dcg, 1},
        {"vpc-not-dcg", "1", GZ, "VPC", "vpc-11111111", 1, &dcg, 0},
        {"ccn-own", "1", GZ, "CCN", "ccn-11111111", 1, &ccn, 1},
        {"ccn-any-region", "1", SH, "CCN", "ccn-11111111", 1, &ccn, 1},
        {"ccn-other", "1", GZ, "CCN", "ccn-22222222", 1, &ccn, 0},
        {"unknown-type", "1", GZ, "BOGUS", "eni-11111111", 1, &eni, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct flowlog f = fl(cases[i].uin, cases[i].region, "fl-11111111", cases[i].type,
                              cases[i].rid, cases[i].enable);
        int got = assign_covers(&f, "1", cases[i].r);
        if (got != cases[i].want)
            fail_msg("%s: covers %d, want %d", cases[i].name, got, cases[i].want);
    }
}

static void snap_add(struct assign_snap *s, const char *uin, uint64_t appid,
                     const struct resource *r)
{
    struct host_sink k = assign_snap_sink(s);
    struct account a;
    memset(&a, 0, sizeof a);
    snprintf(a.uin, sizeof a.uin, "%s", uin);
    a.app_id = appid;
    k.resource(k.ud, &a, r);
}

static void snap_fl(struct assign_snap *s, const struct flowlog *f)
{
    struct host_sink k = assign_snap_sink(s);
    k.flowlog(k.ud, f);
}

static json_t *flowlog_named(json_t *doc, const char *id)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(doc, "FlowLogs"), i, o)
        if (strcmp(json_string_value(json_object_get(o, "FlowLogId")), id) == 0)
            return o;
    return NULL;
}

static void test_document(void **state)
{
    (void)state;
    struct assign_snap s;
    assign_snap_init(&s);
    struct resource e1 = res(RES_ENI, GZ, "eni-11111111", "vpc-11111111", "subnet-11111111", "v1");
    struct resource e2 = res(RES_ENI, GZ, "eni-22222222", "vpc-11111111", "subnet-22222222", "v2");
    struct resource idle = res(RES_ENI, GZ, "eni-33333333", "vpc-33333333", "subnet-33333333",
                               "v3");
    snprintf(e1.host_netns, sizeof e1.host_netns, "ns1");
    snprintf(e1.addrs, sizeof e1.addrs, "10.0.1.7,fd00::7");
    snap_add(&s, "1", 1250000001, &e1);
    snap_add(&s, "1", 1250000001, &e2);
    snap_add(&s, "1", 1250000001, &idle);
    struct flowlog vpc = fl("1", GZ, "fl-vvvvvvvv", "VPC", "vpc-11111111", 1);
    struct flowlog own = fl("1", GZ, "fl-eeeeeeee", "NETWORKINTERFACE", "eni-11111111", 1);
    struct flowlog other = fl("1", GZ, "fl-oooooooo", "NETWORKINTERFACE", "eni-99999999", 1);
    snprintf(own.traffic_type, sizeof own.traffic_type, "REJECT");
    snap_fl(&s, &vpc);
    snap_fl(&s, &own);
    snap_fl(&s, &other);

    json_t *doc = assign_document(&s, "h1");
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "Host")), "h1");
    assert_int_equal(strlen(json_string_value(json_object_get(doc, "Generation"))), 64);
    /* the idle ENI is not watched: no enabled flow log covers it */
    json_t *devs = json_object_get(doc, "Devices");
    assert_int_equal(json_array_size(devs), 2);
    json_t *d0 = json_array_get(devs, 0);
    assert_string_equal(json_string_value(json_object_get(d0, "ResourceId")), "eni-11111111");
    assert_string_equal(json_string_value(json_object_get(d0, "Device")), "v1");
    assert_string_equal(json_string_value(json_object_get(d0, "Netns")), "ns1");
    assert_string_equal(json_string_value(json_object_get(d0, "Kind")), "eni");
    json_t *ad = json_object_get(d0, "Addresses");
    assert_int_equal(json_array_size(ad), 2);
    assert_string_equal(json_string_value(json_array_get(ad, 0)), "10.0.1.7");
    assert_string_equal(json_string_value(json_array_get(ad, 1)), "fd00::7");
    assert_int_equal(json_array_size(json_object_get(json_array_get(devs, 1), "Addresses")), 0);
    /* a flow log of no resource of this host is left out */
    assert_int_equal(json_array_size(json_object_get(doc, "FlowLogs")), 2);
    assert_null(flowlog_named(doc, "fl-oooooooo"));
    /* the VPC's covers both ENIs; eni 1 is in both flow logs */
    json_t *v = flowlog_named(doc, "fl-vvvvvvvv");
    assert_non_null(v);
    assert_int_equal(json_array_size(json_object_get(v, "Resources")), 2);
    assert_string_equal(json_string_value(json_object_get(v, "AppId")), "1250000001");
    assert_string_equal(json_string_value(json_object_get(v, "Format")), "default");
    assert_string_equal(json_string_value(json_object_get(v, "Fields")),
                        "version account-id interface-id srcaddr dstaddr srcport dstport "
                        "protocol packets bytes start end action log-status");
    assert_string_equal(json_string_value(json_object_get(v, "CloudLogId")),
                        "a0b1c2d3-0000-4000-8000-000000000001");
    json_t *o = flowlog_named(doc, "fl-eeeeeeee");
    assert_non_null(o);
    assert_int_equal(json_array_size(json_object_get(o, "Resources")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "TrafficType")), "REJECT");

    /* the same snapshot, the same Generation; a disabled flow log, another */
    json_t *again = assign_document(&s, "h1");
    assert_string_equal(json_string_value(json_object_get(doc, "Generation")),
                        json_string_value(json_object_get(again, "Generation")));
    s.fl[1].enable = 0;
    json_t *changed = assign_document(&s, "h1");
    assert_string_not_equal(json_string_value(json_object_get(doc, "Generation")),
                            json_string_value(json_object_get(changed, "Generation")));
    assert_null(flowlog_named(changed, "fl-eeeeeeee"));
    json_decref(doc);
    json_decref(again);
    json_decref(changed);
    assign_snap_free(&s);
}

static void test_empty_and_ccn(void **state)
{
    (void)state;
    struct assign_snap s;
    assign_snap_init(&s);
    json_t *doc = assign_document(&s, "h9");
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "Devices")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "FlowLogs")), 0);
    json_decref(doc);
    struct resource c = res(RES_CCN, GZ, "ccn-11111111", "", "", "c1");
    snprintf(c.addrs, sizeof c.addrs, "vpc-11111111 ap-guangzhou 10.1.0.0/16,- ap-beijing 10.2.0.0/16");
    snap_add(&s, "1", 7, &c);
    struct flowlog f = fl("1", SH, "fl-cccccccc", "CCN", "ccn-11111111", 1);
    f.period = 60;
    snap_fl(&s, &f);
    doc = assign_document(&s, "h9");
    json_t *o = flowlog_named(doc, "fl-cccccccc");
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "Format")), "ccn");
    assert_int_equal(json_integer_value(json_object_get(o, "Period")), 60);
    assert_non_null(strstr(json_string_value(json_object_get(o, "Fields")), "srcregionid"));
    json_t *att = json_object_get(json_array_get(json_object_get(doc, "Devices"), 0), "AttachedVpcs");
    assert_int_equal(json_array_size(att), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(att, 1), "Region")),
                        "ap-beijing");
    assert_string_equal(json_string_value(json_object_get(json_array_get(att, 1), "CidrBlock")),
                        "10.2.0.0/16");
    json_decref(doc);
    assign_snap_free(&s);
}

/* ENIs bound to one device (a bridge port, a VM's interface with several
 * ENIs' addresses) are Shared: watched by address. A device of one ENI is
 * not; nor the same name in another namespace; nor a NAT gateway's. */
static void test_shared(void **state)
{
    (void)state;
    struct assign_snap s;
    assign_snap_init(&s);
    struct resource a = res(RES_ENI, GZ, "eni-aaaaaaaa", "vpc-11111111", "subnet-11111111", "br0");
    struct resource b = res(RES_ENI, GZ, "eni-bbbbbbbb", "vpc-11111111", "subnet-11111111", "br0");
    struct resource c = res(RES_ENI, GZ, "eni-cccccccc", "vpc-11111111", "subnet-11111111", "br0");
    struct resource d = res(RES_ENI, GZ, "eni-dddddddd", "vpc-11111111", "subnet-11111111", "v4");
    struct resource n = res(RES_NAT, GZ, "nat-eeeeeeee", "vpc-11111111", "", "v4");
    snprintf(a.addrs, sizeof a.addrs, "10.0.1.2");
    snprintf(b.addrs, sizeof b.addrs, "10.0.1.3");
    snprintf(c.host_netns, sizeof c.host_netns, "other");
    snap_add(&s, "1", 1250000001, &a);
    snap_add(&s, "1", 1250000001, &b);
    snap_add(&s, "1", 1250000001, &c);
    snap_add(&s, "1", 1250000001, &d);
    snap_add(&s, "1", 1250000001, &n);
    assert_int_equal(assign_shared(&s, 0), 1);
    assert_int_equal(assign_shared(&s, 1), 1);
    assert_int_equal(assign_shared(&s, 2), 0); /* br0 in another namespace */
    assert_int_equal(assign_shared(&s, 3), 0); /* v4: the NAT's is no ENI's */
    assert_int_equal(assign_shared(&s, 4), 0);
    /* only eni a is covered: its device is still shared with b (b's traffic
     * crosses it), and the document says so */
    struct flowlog own = fl("1", GZ, "fl-aaaaaaaa", "NETWORKINTERFACE", "eni-aaaaaaaa", 1);
    snap_fl(&s, &own);
    json_t *doc = assign_document(&s, "h1");
    assert_non_null(doc);
    json_t *devs = json_object_get(doc, "Devices");
    assert_int_equal(json_array_size(devs), 1);
    assert_true(json_is_true(json_object_get(json_array_get(devs, 0), "Shared")));
    json_decref(doc);
    /* b unbound from br0: no longer shared, and the Generation changes */
    json_t *before = assign_document(&s, "h1");
    snprintf(s.res[1].r.host_device, sizeof s.res[1].r.host_device, "v2");
    json_t *after = assign_document(&s, "h1");
    assert_true(json_is_false(
        json_object_get(json_array_get(json_object_get(after, "Devices"), 0), "Shared")));
    assert_string_not_equal(json_string_value(json_object_get(before, "Generation")),
                            json_string_value(json_object_get(after, "Generation")));
    json_decref(before);
    json_decref(after);
    assign_snap_free(&s);
}

/* A flow log whose record format the admin set: the agent is told the
 * fields (and "fields"); an unparsable stored format falls back. */
static void test_admin_format(void **state)
{
    (void)state;
    struct flowlog f = fl("1", GZ, "fl-ffffffff", "NETWORKINTERFACE", "eni-11111111", 1);
    char fields[512];
    snprintf(f.record_format, sizeof f.record_format,
             "version interface-id srcaddr tcp-flags flow-direction");
    assert_string_equal(assign_format(&f, fields, sizeof fields), "fields");
    assert_string_equal(fields, "version interface-id srcaddr tcp-flags flow-direction");
    snprintf(f.record_format, sizeof f.record_format, "version nosuchfield");
    assert_string_equal(assign_format(&f, fields, sizeof fields), "default");
    f.record_format[0] = '\0';
    assert_string_equal(assign_format(&f, fields, sizeof fields), "default");
    assert_non_null(strstr(fields, "log-status"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_covers),
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_empty_and_ccn),
        cmocka_unit_test(test_shared),
        cmocka_unit_test(test_admin_format),
    };
    return cmocka_run_group_tests_name("assign", tests, NULL, NULL);
}
