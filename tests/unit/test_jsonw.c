/* test_jsonw.c: the streaming JSON writer gives jansson's compact text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"

/* Writes s with jw and with jansson; both texts must be equal, whether the
 * writer escapes in place (no ceiling) or aside (a ceiling). */
static void same_string(const char *s)
{
    static const size_t maxima[] = {0, 1 << 20};
    json_t *j = json_string(s);
    char *want;

    assert_non_null(j);
    want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    for (size_t i = 0; i < sizeof maxima / sizeof maxima[0]; i++) {
        struct jw w;
        jw_init(&w, maxima[i]);
        jw_kstr(&w, "k", s);
        jw_str(&w, s);
        assert_false(jw_failed(&w));
        assert_int_equal(strncmp(w.b.data, "\"k\":", 4), 0);
        assert_int_equal(strncmp(w.b.data + 4, want, strlen(want)), 0);
        assert_int_equal(w.b.data[4 + strlen(want)], ',');
        assert_string_equal(w.b.data + 5 + strlen(want), want);
        jw_free(&w);
    }
    free(want);
    json_decref(j);
}

static void test_strings_like_jansson(void **state)
{
    char one[2] = {0, 0};
    (void)state;
    for (int c = 1; c < 128; c++) {
        one[0] = (char)c;
        same_string(one);
    }
    same_string("");
    same_string("plain ascii / with slash");
    same_string("tab\there \"quoted\" back\\slash \x01\x1f\x7f end");
    same_string("城市（中国）上海【浦东】 😀 \xe2\x80\xa8");
}

static void test_invalid_utf8_fails(void **state)
{
    static const char *const bad[] = {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80",
                                      "\xf4\x90\x80\x80"};
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct jw w;
        jw_init(&w, 0);
        jw_str(&w, bad[i]);
        assert_true(jw_failed(&w));
        assert_null(json_string(bad[i])); /* jansson refuses them too */
        jw_free(&w);
    }
}

/* A nested document built both ways. */
static void test_document_like_jansson(void **state)
{
    struct jw w;
    json_t *tree = json_pack("{s:[{s:s,s:I,s:b,s:[]},{}],s:I,s:I,s:o,s:{s:n}}", "A", "k", "v",
                             "n", (json_int_t)-42, "t", 1, "e", "Z", (json_int_t)INT64_MIN,
                             "M", (json_int_t)INT64_MAX, "F", json_false(), "T", "x");
    char *want = json_dumps(tree, JSON_COMPACT);
    (void)state;

    jw_init(&w, 0);
    jw_obj(&w);
    jw_key(&w, "A");
    jw_arr(&w);
    jw_obj(&w);
    jw_kstr(&w, "k", "v");
    jw_kint(&w, "n", -42);
    jw_kbool(&w, "t", 1);
    jw_key(&w, "e");
    jw_arr(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_obj(&w);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_kint(&w, "Z", INT64_MIN);
    jw_kint(&w, "M", INT64_MAX);
    jw_kbool(&w, "F", 0);
    jw_key(&w, "T");
    jw_json(&w, json_object_get(tree, "T"));
    jw_obj_end(&w);
    assert_false(jw_failed(&w));
    assert_string_equal(w.b.data, want);

    jw_reset(&w); /* reuse after reset starts clean, without a comma */
    jw_int(&w, 7);
    assert_string_equal(w.b.data, "7");
    free(want);
    json_decref(tree);
    jw_free(&w);
}

static void test_ceiling_is_sticky(void **state)
{
    struct jw w;
    (void)state;
    jw_init(&w, 8);
    jw_str(&w, "0123456789");
    assert_true(jw_failed(&w));
    jw_int(&w, 1);
    assert_true(jw_failed(&w));
    jw_reset(&w);
    assert_false(jw_failed(&w));
    jw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_like_jansson), cmocka_unit_test(test_invalid_utf8_fails),
        cmocka_unit_test(test_document_like_jansson), cmocka_unit_test(test_ceiling_is_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
