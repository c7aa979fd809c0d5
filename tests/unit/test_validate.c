/* test_validate.c: field rules, the error catalogue, base helpers and the
 * inventory file parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/apierr.h"
#include "base/util.h"
#include "cli/cli.h"
#include "validate/validate.h"

/* ==== tags ==== */

static void test_tags_table(void **state)
{
    (void)state;
    static const struct {
        const char *name, *key, *value;
        enum api_err want;
    } cases[] = {
        {"plain", "city", "shanghai", API_E_OK},
        {"cjk-and-fullwidth", "城市（中国）", "上海【浦东】", API_E_OK},
        {"allowed-punct", "a+b-c=d.e_f:g/h@i(j)[k] l", "x+-=._:/@()[] y", API_E_OK},
        {"empty-key", "", "v", API_E_TAG_KEY_LEN},
        {"reserved-qcloud", "qcloud:x", "v", API_E_TAG_RESERVED},
        {"reserved-any-case", "QCloud-x", "v", API_E_TAG_RESERVED},
        {"reserved-tencent", "tencent", "v", API_E_TAG_RESERVED},
        {"reserved-project", "Project", "v", API_E_TAG_RESERVED},
        {"bad-key-char", "a#b", "v", API_E_TAG_KEY},
        {"bad-key-emoji", "a\xf0\x9f\x98\x80", "v", API_E_TAG_KEY},
        {"bad-val-char", "k", "a;b", API_E_TAG_VAL},
        {"bad-val-utf8", "k", "\xc3\x28", API_E_TAG_VAL},
        {"empty-value-ok", "k", "", API_E_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tag_in t = {cases[i].key, cases[i].value};
        struct apierr e = {0};
        enum api_err got = check_tags(&t, 1, &e);
        if (got != cases[i].want)
            fail_msg("case %s: got %s want %s", cases[i].name, apierr_code(got),
                     apierr_code(cases[i].want));
    }
}

static void test_tags_lengths(void **state)
{
    (void)state;
    char key[128 * 3 + 1], val[256 * 3 + 1];
    struct tag_in t = {key, "v"};
    struct apierr e;
    /* 127 CJK characters (381 bytes) pass: the limit is in characters */
    key[0] = '\0';
    for (int i = 0; i < 127; i++)
        strcat(key, "中");
    assert_int_equal(check_tags(&t, 1, &e), API_E_OK);
    strcat(key, "中");
    assert_int_equal(check_tags(&t, 1, &e), API_E_TAG_KEY_LEN);
    t.key = "k";
    t.value = val;
    memset(val, 'v', 255);
    val[255] = '\0';
    assert_int_equal(check_tags(&t, 1, &e), API_E_OK);
    val[255] = 'v';
    val[256] = '\0';
    assert_int_equal(check_tags(&t, 1, &e), API_E_TAG_VAL);
}

static void test_tags_count_and_dups(void **state)
{
    (void)state;
    struct tag_in tags[51];
    char keys[51][8];
    struct apierr e;
    for (int i = 0; i < 51; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        tags[i] = (struct tag_in){keys[i], "v"};
    }
    assert_int_equal(check_tags(tags, 50, &e), API_E_OK);
    assert_int_equal(check_tags(tags, 51, &e), API_E_TAG_TOO_MANY);
    tags[7].key = "k3";
    assert_int_equal(check_tags(tags, 10, &e), API_E_TAG_DUP_KEY);
    assert_string_equal(e.arg, "k3");
    /* count is checked before duplicates, duplicates before per-tag rules */
    tags[0].key = "";
    assert_int_equal(check_tags(tags, 51, &e), API_E_TAG_TOO_MANY);
    assert_int_equal(check_tags(tags, 10, &e), API_E_TAG_DUP_KEY);
}

/* ==== ids, lengths, regions ==== */

static void test_ids(void **state)
{
    (void)state;
    struct apierr e;
    assert_true(id_has_form("vpc-1a2b3c4d", "vpc"));
    assert_false(id_has_form("vpc-1a2b3c4", "vpc"));
    assert_false(id_has_form("vpc-1a2b3c4dd", "vpc"));
    assert_false(id_has_form("vpc-1A2b3c4d", "vpc"));
    assert_false(id_has_form("subnet-1a2b3c4d", "vpc"));
    assert_false(id_has_form("vpc_1a2b3c4d", "vpc"));
    assert_int_equal(check_id("eni-12345678", "eni", "ResourceId", &e), API_E_OK);
    assert_int_equal(check_id("eni-xxxxxxx", "eni", "ResourceId", &e), API_E_VALUE_MALFORMED);
    assert_string_equal(e.arg, "ResourceId");
    assert_string_equal(resource_prefix("NETWORKINTERFACE"), "eni");
    assert_string_equal(resource_prefix("SUBNET"), "subnet");
    assert_null(resource_prefix("network"));
    assert_true(is_uuid("0f8e7d6c-1111-4222-8333-444455556666"));
    assert_true(is_uuid("0F8E7D6C-1111-4222-8333-444455556666"));
    assert_false(is_uuid("0f8e7d6c-1111-4222-8333-44445555666"));
    assert_false(is_uuid("0f8e7d6c11114222833344445555666600000"));
    for (int i = 0; i < 100; i++) {
        char id[16], uuid[37];
        assert_int_equal(gen_id("fl", id, sizeof id), 0);
        assert_true(id_has_form(id, "fl"));
        assert_int_equal(gen_uuid(uuid), 0);
        assert_true(is_uuid(uuid));
    }
}

static void test_chars_and_regions(void **state)
{
    (void)state;
    struct apierr e;
    char name[61 * 3 + 1] = "";
    for (int i = 0; i < 60; i++)
        strcat(name, "流");
    assert_int_equal(check_chars(name, 60, "FlowLogName", &e), API_E_OK);
    strcat(name, "流");
    assert_int_equal(check_chars(name, 60, "FlowLogName", &e), API_E_VALUE_RANGE);
    assert_int_equal(check_chars("\xff", 60, "FlowLogName", &e), API_E_VALUE_MALFORMED);
    assert_int_equal(utf8_count("\xed\xa0\x80", 3), -1); /* a surrogate */
    assert_int_equal(utf8_count("\xc0\xaf", 2), -1);     /* an overlong '/' */
    assert_true(region_known("ap-guangzhou"));
    assert_true(region_known("eu-frankfurt"));
    assert_false(region_known("ap-guangzhou-1"));
    assert_false(region_known(""));
}

static void test_numbers(void **state)
{
    (void)state;
    uint64_t u;
    int64_t i;
    assert_int_equal(parse_u64("18446744073709551615", 20, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(parse_u64("18446744073709551616", 20, &u), -1);
    assert_int_equal(parse_u64("", 0, &u), -1);
    assert_int_equal(parse_u64("+1", 2, &u), -1);
    assert_int_equal(parse_u64("1 ", 2, &u), -1);
    assert_int_equal(parse_i64("-9223372036854775808", 20, &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(parse_i64("9223372036854775808", 19, &i), -1);
}

/* ==== the error catalogue ==== */

static void test_catalogue(void **state)
{
    (void)state;
    char msg[1024];
    for (int id = 1; id < API_E__COUNT; id++) {
        assert_true(strlen(apierr_code((enum api_err)id)) > 0);
        assert_true(apierr_message((enum api_err)id, LANG_EN, "X", msg, sizeof msg) > 0);
        assert_true(apierr_message((enum api_err)id, LANG_ZH, "X", msg, sizeof msg) > 0);
        assert_null(strstr(msg, "{}"));
    }
    apierr_message(API_E_PARAM_MISSING, LANG_EN, "VpcId", msg, sizeof msg);
    assert_string_equal(msg, "The request is missing the required parameter `VpcId`.");
    apierr_message(API_E_PARAM_MISSING, LANG_ZH, "VpcId", msg, sizeof msg);
    assert_string_equal(msg, "缺少必选参数`VpcId`。");
    assert_string_equal(apierr_code(API_E_RATE_LIMITED), "RequestLimitExceeded");
    assert_string_equal(apierr_code(API_E_FLOWLOG_EXISTS),
                        "UnsupportedOperation.FlowLogInstanceExisted");
    /* a short buffer is cut, never overrun */
    assert_int_equal(apierr_message(API_E_PARAM_MISSING, LANG_EN, "VpcId", msg, 8), 7);
}

/* ==== inventory file ==== */

static const char good_inventory[] =
    "{ \"Region\": \"ap-guangzhou\","
    "  \"Vpcs\": [{\"VpcId\": \"vpc-1a2b3c4d\", \"VpcName\": \"prod\", \"CidrBlock\": \"10.0.0.0/16\"}],"
    "  \"Subnets\": [{\"SubnetId\": \"subnet-1a2b3c4d\", \"VpcId\": \"vpc-1a2b3c4d\", \"CidrBlock\": \"10.0.1.0/24\"}],"
    "  \"Instances\": [{\"InstanceId\": \"ins-1a2b3c4d\", \"InstanceType\": \"S5.MEDIUM4\"}],"
    "  \"NetworkInterfaces\": [{\"NetworkInterfaceId\": \"eni-1a2b3c4d\", \"VpcId\": \"vpc-1a2b3c4d\","
    "                         \"SubnetId\": \"subnet-1a2b3c4d\", \"InstanceId\": \"ins-1a2b3c4d\"}],"
    "  \"Ccns\": [{\"CcnId\": \"ccn-1a2b3c4d\"}],"
    "  \"NatGateways\": [{\"NatGatewayId\": \"nat-1a2b3c4d\", \"VpcId\": \"vpc-1a2b3c4d\","
    "                   \"NatProductVersion\": 2, \"HasDnatRule\": false}],"
    "  \"DirectConnectGateways\": [{\"DirectConnectGatewayId\": \"dcg-1a2b3c4d\", \"VpcId\": \"vpc-1a2b3c4d\"}],"
    "  \"ClsTopics\": [{\"TopicId\": \"0f8e7d6c-1111-4222-8333-444455556666\", \"Region\": \"ap-shanghai\"},"
    "                 {\"TopicId\": \"0f8e7d6c-1111-4222-8333-444455557777\"}],"
    "  \"CkafkaInstances\": [{\"InstanceId\": \"ckafka-1a2b3c4d\", \"Edition\": \"profession\", \"Topics\": [\"flowlogs\", \"t2\"],"
    "                        \"Brokers\": \"127.0.0.1:9092,kafka-2.example:19092,[::1]:9093\"}] }";

static void test_inventory_good(void **state)
{
    (void)state;
    struct resource *items;
    size_t n;
    char err[256];
    int kinds[16] = {0};
    assert_int_equal(inventory_parse(good_inventory, strlen(good_inventory), NULL, "1", &items, &n,
                                     err, sizeof err),
                     0);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        kinds[items[i].kind]++;
        if (items[i].kind == RES_CLS_TOPIC && strcmp(items[i].id, "0f8e7d6c-1111-4222-8333-444455556666") == 0)
            assert_string_equal(items[i].region, "ap-shanghai");
        else
            assert_string_equal(items[i].region, "ap-guangzhou");
        if (items[i].kind == RES_NAT)
            assert_int_equal(items[i].nat_version, 2);
        if (items[i].kind == RES_ENI)
            assert_string_equal(items[i].instance_id, "ins-1a2b3c4d");
        if (items[i].kind == RES_CKAFKA)
            assert_string_equal(items[i].brokers, "127.0.0.1:9092,kafka-2.example:19092,[::1]:9093");
    }
    assert_int_equal(kinds[RES_CKAFKA_TOPIC], 2);
    assert_int_equal(kinds[RES_CLS_TOPIC], 2);
    free(items);
}

static void test_inventory_bad(void **state)
{
    (void)state;
    static const struct {
        const char *name, *json, *want; /* want: a substring of the message */
    } cases[] = {
        {"not-json", "{", "not valid JSON"},
        {"not-object", "[]", "one JSON object"},
        {"unknown-section", "{\"Routers\": []}", "unknown key \"Routers\""},
        {"bad-region", "{\"Region\": \"mars-1\"}", "Region"},
        {"bad-vpc-id", "{\"Vpcs\": [{\"VpcId\": \"vpc-xyz\"}]}", "Vpcs[0] (vpc-xyz)"},
        {"subnet-unknown-vpc",
         "{\"Subnets\": [{\"SubnetId\": \"subnet-00000001\", \"VpcId\": \"vpc-00000009\"}]}",
         "Subnets[0] (subnet-00000001): VpcId vpc-00000009 is not a known VPC"},
        {"eni-subnet-in-other-vpc",
         "{\"Vpcs\": [{\"VpcId\": \"vpc-00000001\"}, {\"VpcId\": \"vpc-00000002\"}],"
         " \"Subnets\": [{\"SubnetId\": \"subnet-00000001\", \"VpcId\": \"vpc-00000001\"}],"
         " \"NetworkInterfaces\": [{\"NetworkInterfaceId\": \"eni-00000001\", \"VpcId\": "
         "\"vpc-00000002\", \"SubnetId\": \"subnet-00000001\"}]}",
         "NetworkInterfaces[0] (eni-00000001)"},
        {"duplicate", "{\"Vpcs\": [{\"VpcId\": \"vpc-00000001\"}, {\"VpcId\": \"vpc-00000001\"}]}",
         "appears twice"},
        {"unknown-key", "{\"Vpcs\": [{\"VpcId\": \"vpc-00000001\", \"Colour\": 1}]}",
         "unknown key \"Colour\""},
        {"nat-version", "{\"Vpcs\": [{\"VpcId\": \"vpc-00000001\"}], \"NatGateways\": "
                        "[{\"NatGatewayId\": \"nat-00000001\", \"VpcId\": \"vpc-00000001\", "
                        "\"NatProductVersion\": 3}]}",
         "NatProductVersion"},
        {"cls-not-uuid", "{\"ClsTopics\": [{\"TopicId\": \"abc\"}]}", "not a UUID"},
        {"kafka-edition", "{\"CkafkaInstances\": [{\"InstanceId\": \"ckafka-00000001\", "
                          "\"Edition\": \"basic\"}]}",
         "Edition"},
        {"dup-keys", "{\"Vpcs\": [], \"Vpcs\": []}", "not valid JSON"},
        {"kafka-brokers-no-port", "{\"CkafkaInstances\": [{\"InstanceId\": \"ckafka-00000001\", "
                                  "\"Brokers\": \"127.0.0.1\"}]}",
         "Brokers \"127.0.0.1\" must be a list of host:port"},
        {"kafka-brokers-port", "{\"CkafkaInstances\": [{\"InstanceId\": \"ckafka-00000001\", "
                               "\"Brokers\": \"h:9092,h:70000\"}]}",
         "must be a list of host:port"},
        {"kafka-brokers-space", "{\"CkafkaInstances\": [{\"InstanceId\": \"ckafka-00000001\", "
                                "\"Brokers\": \"h:9092, h:9093\"}]}",
         "must be a list of host:port"},
        {"kafka-brokers-empty-entry", "{\"CkafkaInstances\": [{\"InstanceId\": "
                                      "\"ckafka-00000001\", \"Brokers\": \"h:9092,\"}]}",
         "must be a list of host:port"},
        {"kafka-brokers-type", "{\"CkafkaInstances\": [{\"InstanceId\": \"ckafka-00000001\", "
                               "\"Brokers\": [\"h:9092\"]}]}",
         "Brokers"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct resource *items = (struct resource *)1;
        size_t n = 99;
        char err[256] = "";
        int rc = inventory_parse(cases[i].json, strlen(cases[i].json), NULL, "1", &items, &n,
                                 err, sizeof err);
        if (rc != -1 || items != NULL || n != 0 || !strstr(err, cases[i].want))
            fail_msg("case %s: rc=%d err=\"%s\" want \"%s\"", cases[i].name, rc, err,
                     cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_table),     cmocka_unit_test(test_tags_lengths),
        cmocka_unit_test(test_tags_count_and_dups), cmocka_unit_test(test_ids),
        cmocka_unit_test(test_chars_and_regions), cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_catalogue),      cmocka_unit_test(test_inventory_good),
        cmocka_unit_test(test_inventory_bad),
    };
    return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
