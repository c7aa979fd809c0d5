/* test_cls_body.c: UploadLog's body parser (protobuf LogGroupList, lz4,
 * CLS's limits): round trips through the encoder, and each malformed or
 * oversized body answered with its own result and nothing kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lz4.h>

#include "cls/body.h"

static const struct cls_kv kv_a[] = {{"action", "ACCEPT", 6, 6}, {"dstport", "22", 7, 2}};
static const struct cls_kv kv_b[] = {{"action", "REJECT", 6, 6}};
static const struct cls_kv tags[] = {{"__flowlogd_batch__", "agent1/fl-1/60/0", 18, 16}};

static unsigned char *sample(int lz4, size_t *len)
{
    static const struct cls_log logs[] = {{1700000000123, kv_a, 2}, {1700000001, kv_b, 1}};
    static const struct cls_group g = {"10.0.0.1", "flowlog", "", tags, 1, logs, 2};
    return cls_body_encode(&g, 1, lz4, len);
}

static void check_sample(const struct cls_body *b)
{
    assert_int_equal(b->ngroups, 1);
    assert_int_equal(b->nlogs, 2);
    assert_string_equal(b->groups[0].source, "10.0.0.1");
    assert_string_equal(b->groups[0].filename, "flowlog");
    assert_int_equal(b->groups[0].ntags, 1);
    assert_string_equal(b->groups[0].tags[0].value, "agent1/fl-1/60/0");
    assert_int_equal(b->groups[0].logs[0].time_ms, 1700000000123LL);
    assert_int_equal(b->groups[0].logs[1].time_ms, 1700000001000LL); /* seconds made ms */
    assert_int_equal(b->groups[0].logs[0].n, 2);
    assert_string_equal(b->groups[0].logs[0].contents[1].key, "dstport");
    assert_string_equal(b->groups[0].logs[0].contents[1].value, "22");
    assert_int_equal(b->groups[0].logs[0].contents[1].vlen, 2);
}

static void test_plain_round_trip(void **state)
{
    size_t n;
    unsigned char *p = sample(0, &n);
    struct cls_body b;
    (void)state;
    assert_non_null(p);
    assert_int_equal(cls_body_parse(p, n, NULL, &b, NULL, 0), CLS_BODY_OK);
    check_sample(&b);
    cls_body_free(&b);
    assert_int_equal(cls_body_parse(p, n, "", &b, NULL, 0), CLS_BODY_OK);
    cls_body_free(&b);
    free(p);
}

static void test_lz4_round_trip(void **state)
{
    size_t n;
    unsigned char *p = sample(1, &n);
    struct cls_body b;
    char why[128];
    (void)state;
    assert_int_equal(cls_body_parse(p, n, "lz4", &b, why, sizeof why), CLS_BODY_OK);
    check_sample(&b);
    cls_body_free(&b);
    /* the compressed bytes read as protobuf are not a LogGroupList */
    assert_int_not_equal(cls_body_parse(p, n, NULL, &b, why, sizeof why), CLS_BODY_OK);
    assert_null(b.groups);
    free(p);
}

static void test_bad_inputs(void **state)
{
    size_t n;
    unsigned char *p = sample(0, &n), *z = sample(1, &n);
    size_t np;
    struct cls_body b;
    char why[128];
    unsigned char lying[] = {0x0a, 0x7f, 0x0a, 0x02}; /* group of 127 bytes, 2 present */
    unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    (void)state;
    free(p);
    p = sample(0, &np);
    assert_int_equal(cls_body_parse(lying, sizeof lying, NULL, &b, why, sizeof why),
                     CLS_BODY_PROTOBUF);
    assert_string_equal(why, "the body is not a protobuf LogGroupList");
    assert_int_equal(cls_body_parse(junk, sizeof junk, NULL, &b, why, sizeof why),
                     CLS_BODY_PROTOBUF);
    assert_int_equal(cls_body_parse(junk, sizeof junk, "lz4", &b, why, sizeof why), CLS_BODY_LZ4);
    assert_int_equal(cls_body_parse(p, np, "gzip", &b, why, sizeof why), CLS_BODY_COMPRESS_TYPE);
    assert_int_equal(cls_body_parse(p, 0, NULL, &b, why, sizeof why), CLS_BODY_EMPTY);
    /* a truncated lz4 block */
    assert_int_equal(cls_body_parse(z, n - 3, "lz4", &b, why, sizeof why), CLS_BODY_LZ4);
    /* a message missing a required field: Log without time */
    {
        unsigned char no_time[] = {0x0a, 0x04, 0x0a, 0x02, 0x12, 0x00};
        assert_int_equal(cls_body_parse(no_time, sizeof no_time, NULL, &b, why, sizeof why),
                         CLS_BODY_PROTOBUF);
    }
    /* an empty list */
    assert_int_equal(cls_body_parse("\x0a\x00", 2, NULL, &b, why, sizeof why), CLS_BODY_EMPTY);
    free(p);
    free(z);
}

static void test_limits(void **state)
{
    struct cls_log *logs = calloc(CLS_MAX_GROUP_LOGS + 1, sizeof *logs);
    struct cls_group g = {"", "", "", NULL, 0, logs, CLS_MAX_GROUP_LOGS + 1};
    struct cls_body b;
    unsigned char *p;
    size_t n;
    char why[128], *big;
    (void)state;
    for (size_t i = 0; i <= CLS_MAX_GROUP_LOGS; i++)
        logs[i] = (struct cls_log){1700000000000, kv_b, 1};
    p = cls_body_encode(&g, 1, 0, &n);
    assert_int_equal(cls_body_parse(p, n, NULL, &b, why, sizeof why), CLS_BODY_TOO_MANY_LOGS);
    free(p);
    g.nlogs = CLS_MAX_GROUP_LOGS;
    p = cls_body_encode(&g, 1, 0, &n);
    assert_int_equal(cls_body_parse(p, n, NULL, &b, why, sizeof why), CLS_BODY_OK);
    assert_int_equal(b.nlogs, CLS_MAX_GROUP_LOGS);
    cls_body_free(&b);
    free(p);

    /* a value over 1 MB */
    big = malloc(CLS_MAX_VALUE + 2);
    memset(big, 'x', CLS_MAX_VALUE + 1);
    big[CLS_MAX_VALUE + 1] = '\0';
    {
        struct cls_kv kv = {"k", big, 1, CLS_MAX_VALUE + 1};
        struct cls_log l = {1700000000000, &kv, 1};
        struct cls_group g1 = {"", "", "", NULL, 0, &l, 1};
        p = cls_body_encode(&g1, 1, 0, &n);
        assert_int_equal(cls_body_parse(p, n, NULL, &b, why, sizeof why),
                         CLS_BODY_VALUE_TOO_LARGE);
        free(p);
        /* 6 values of 1 MB: over 5 MB before and after lz4 */
        struct cls_kv six[6];
        big[CLS_MAX_VALUE - 10] = '\0';
        for (int i = 0; i < 6; i++)
            six[i] = (struct cls_kv){"k", big, 1, CLS_MAX_VALUE - 10};
        l = (struct cls_log){1700000000000, six, 6};
        p = cls_body_encode(&g1, 1, 0, &n);
        assert_true(n > CLS_MAX_BODY);
        assert_int_equal(cls_body_parse(p, n, NULL, &b, why, sizeof why), CLS_BODY_TOO_LARGE);
        free(p);
        p = cls_body_encode(&g1, 1, 1, &n);
        assert_true(n < CLS_MAX_BODY);
        assert_int_equal(cls_body_parse(p, n, "lz4", &b, why, sizeof why), CLS_BODY_TOO_LARGE);
        free(p);
    }
    free(big);
    free(logs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_round_trip),
        cmocka_unit_test(test_lz4_round_trip),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
