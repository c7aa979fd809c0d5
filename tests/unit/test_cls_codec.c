/* test_cls_codec.c: the cls columns' encodings both store backends share
 * (store/cls_codec.c): tags and contents round-trip, NULL strings as "",
 * and a malformed column is refused, not read past its end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/cls_codec.h"

static void tags_round_trip(void **state)
{
    (void)state;
    struct tag in[3] = {{"env", "prod"}, {"team", NULL}, {NULL, "x"}};
    size_t len = 0, n = 99;
    char *p = cls_tags_encode(in, 3, &len);
    assert_non_null(p);
    assert_int_equal(len, sizeof "env\0prod\0team\0\0\0x");
    assert_memory_equal(p, "env\0prod\0team\0\0\0x", len);
    struct tag *out = cls_tags_decode(p, len, &n);
    assert_non_null(out);
    assert_int_equal(n, 3);
    assert_string_equal(out[0].key, "env");
    assert_string_equal(out[0].value, "prod");
    assert_string_equal(out[1].key, "team");
    assert_string_equal(out[1].value, "");
    assert_string_equal(out[2].key, "");
    assert_string_equal(out[2].value, "x");
    free(out);
    free(p);
}

static void tags_none_and_malformed(void **state)
{
    (void)state;
    size_t len = 99, n = 99;
    char *p = cls_tags_encode(NULL, 0, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_null(cls_tags_decode(p, len, &n));
    assert_int_equal(n, 0);
    free(p);
    n = 99;
    assert_null(cls_tags_decode(NULL, 0, &n));
    assert_int_equal(n, 0);
    /* not NUL-terminated: refused rather than read past the end */
    n = 99;
    assert_null(cls_tags_decode("k\0v", 3, &n));
    assert_int_equal(n, 0);
    /* an odd string count: the last key without a value is dropped */
    struct tag *t = cls_tags_decode("k\0v\0lone", sizeof "k\0v\0lone", &n);
    assert_non_null(t);
    assert_int_equal(n, 1);
    assert_string_equal(t[0].key, "k");
    assert_string_equal(t[0].value, "v");
    free(t);
}

static void varint_widths(void **state)
{
    (void)state;
    unsigned char b[16];
    assert_int_equal(cls_varint_put(b, 0), 1);
    assert_int_equal(b[0], 0);
    assert_int_equal(cls_varint_put(b, 127), 1);
    assert_int_equal(b[0], 127);
    assert_int_equal(cls_varint_put(b, 128), 2);
    assert_int_equal(b[0], 0x80);
    assert_int_equal(b[1], 1);
    assert_int_equal(cls_varint_put(b, 300), 2);
    assert_int_equal(b[0], 0xac);
    assert_int_equal(b[1], 0x02);
}

/* Appends a pair as a backend writes it. */
static size_t put_pair(unsigned char *p, const char *k, size_t kl, const char *v, size_t vl)
{
    size_t at = cls_varint_put(p, kl);
    memcpy(p + at, k, kl);
    at += kl;
    p[at++] = '\0';
    at += cls_varint_put(p + at, vl);
    memcpy(p + at, v, vl);
    at += vl;
    p[at++] = '\0';
    return at;
}

static void contents_round_trip(void **state)
{
    (void)state;
    static char big[200];
    unsigned char *col = malloc(64 * 300);
    struct cls_kv *kv = NULL;
    size_t cap = 0, len = 0;
    memset(big, 'v', sizeof big);
    assert_non_null(col);
    len += put_pair(col + len, "status", 6, "200", 3);
    len += put_pair(col + len, "body", 4, big, sizeof big); /* a two-byte length */
    len += put_pair(col + len, "", 0, "", 0);
    for (int i = 0; i < 40; i++) /* more than the first 32 slots */
        len += put_pair(col + len, "k", 1, "v", 1);
    long n = cls_kv_decode(col, len, &kv, &cap);
    assert_int_equal(n, 43);
    assert_true(cap >= 43);
    assert_int_equal(kv[0].klen, 6);
    assert_memory_equal(kv[0].key, "status", 6);
    assert_int_equal(kv[0].vlen, 3);
    assert_memory_equal(kv[0].value, "200", 3);
    assert_int_equal(kv[1].vlen, sizeof big);
    assert_memory_equal(kv[1].value, big, sizeof big);
    assert_int_equal(kv[2].klen, 0);
    assert_int_equal(kv[2].vlen, 0);
    assert_memory_equal(kv[42].key, "k", 1);
    /* an empty column: no pairs */
    assert_int_equal(cls_kv_decode(col, 0, &kv, &cap), 0);
    free(kv);
    free(col);
}

static void contents_malformed(void **state)
{
    (void)state;
    unsigned char col[64];
    struct cls_kv *kv = NULL;
    size_t cap = 0;
    size_t len = put_pair(col, "key", 3, "value", 5);
    /* every proper prefix is cut inside a pair: refused */
    for (size_t cut = 1; cut < len; cut++)
        assert_int_equal(cls_kv_decode(col, cut, &kv, &cap), -1);
    assert_int_equal(cls_kv_decode(col, len, &kv, &cap), 1);
    /* a length past the end of the column */
    col[0] = 100;
    assert_int_equal(cls_kv_decode(col, len, &kv, &cap), -1);
    /* a varint that never ends */
    memset(col, 0xff, sizeof col);
    assert_int_equal(cls_kv_decode(col, sizeof col, &kv, &cap), -1);
    free(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tags_round_trip),     cmocka_unit_test(tags_none_and_malformed),
        cmocka_unit_test(varint_widths),       cmocka_unit_test(contents_round_trip),
        cmocka_unit_test(contents_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
