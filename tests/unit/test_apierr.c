/* test_apierr.c: the error list's messages. Every zh-CN message is wholly
 * Chinese (issue 13 §4): a template's ASCII words are parameter names,
 * product terms or ids from an allow list, and the errors whose argument is
 * an English detail (a parser's reason, a store message) do not show it in
 * zh-CN. en-US messages show the argument where the template has one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/apierr.h"

/* ASCII words a zh-CN template may hold: parameter and header names, product
 * and protocol terms, resource-name syntax. */
static const char *const allowed[] = {
    "Action", "Version", "Region", "Authorization", "Timestamp", "Token", "JSON", "VPC", "ID",
    "VpcId", "qcloud", "tencent", "project", "qcs", "vpc", "uin", "fl", "DeleteTags",
    "ReplaceTags", "Id", "PaginationToken", "KO", "DPDK", "NAT", "ALL", "DNAT", "Ckafka",
    "ResourceId", "CIDR", "Content-Type", "application", "json", "x-www-form-urlencoded", NULL};

static int word_allowed(const char *w, size_t n)
{
    for (size_t i = 0; allowed[i]; i++)
        if (strlen(allowed[i]) == n && memcmp(allowed[i], w, n) == 0)
            return 1;
    return 0;
}

static void test_zh_wholly_chinese(void **state)
{
    char msg[1024];
    (void)state;
    for (int id = 1; id < API_E__COUNT; id++) {
        const char *p;
        apierr_message((enum api_err)id, LANG_ZH, "", msg, sizeof msg);
        for (p = msg; *p;) {
            if (isalpha((unsigned char)*p)) {
                const char *w = p;
                while (isalnum((unsigned char)*p) || *p == '-')
                    p++;
                if (!word_allowed(w, (size_t)(p - w)))
                    fail_msg("%s: zh-CN message has the word \"%.*s\": %s", apierr_code(id),
                             (int)(p - w), w, msg);
            } else {
                p++;
            }
        }
    }
}

/* These take an English detail: zh-CN must not show it, en-US must. */
static void test_details_stay_out_of_zh(void **state)
{
    static const enum api_err detail[] = {
        API_E_PROTOCOL, API_E_AUTH_INVALID, API_E_TOO_LARGE, API_E_BODY_NOT_OBJECT,
        API_E_IN_USE, API_E_LIMIT, API_E_UNSUPPORTED, API_E_SUBNET_RANGE,
        API_E_SUBNET_CONFLICT, API_E_ATTACH_EXISTS, API_E_INVALID_STATE};
    char msg[1024];
    (void)state;
    for (size_t i = 0; i < sizeof detail / sizeof detail[0]; i++) {
        apierr_message(detail[i], LANG_ZH, "an English reason", msg, sizeof msg);
        if (strstr(msg, "English"))
            fail_msg("%s: zh-CN shows the detail: %s", apierr_code(detail[i]), msg);
        apierr_message(detail[i], LANG_EN, "an English reason", msg, sizeof msg);
        assert_non_null(strstr(msg, "an English reason"));
    }
}

/* A detail's ids and CIDR blocks are kept in zh-CN, joined by "、". */
static void test_ids_in_zh(void **state)
{
    char msg[256];
    (void)state;
    apierr_message(API_E_IN_USE, LANG_ZH, "vpc-aaaa0001 still contains subnet-bbbb0002.", msg,
                   sizeof msg);
    assert_string_equal(msg, "资源被占用：vpc-aaaa0001、subnet-bbbb0002。");
    apierr_message(API_E_SUBNET_RANGE, LANG_ZH, "10.9.0.0/24 is not inside vpc-aaaa0001 (10.0.0.0/16)",
                   msg, sizeof msg);
    assert_non_null(strstr(msg, "：10.9.0.0/24、vpc-aaaa0001、10.0.0.0/16（"));
    apierr_message(API_E_LIMIT, LANG_ZH, "100 flow logs in ap-guangzhou (quota 100)", msg,
                   sizeof msg);
    assert_string_equal(msg, "超过配额限制。");
    apierr_message(API_E_IN_USE, LANG_ZH, NULL, msg, sizeof msg);
    assert_string_equal(msg, "资源被占用。");
    /* a small buffer cuts, never overruns */
    apierr_message(API_E_IN_USE, LANG_ZH, "vpc-aaaa0001 subnet-bbbb0002", msg, 20);
    assert_true(strlen(msg) < 20);
}

/* The token errors: one wire code, four causes, each its own message. */
static void test_token_messages(void **state)
{
    static const enum api_err ids[] = {API_E_AUTH_TOKEN, API_E_AUTH_TOKEN_MISSING,
                                       API_E_AUTH_TOKEN_EXPIRED, API_E_AUTH_TOKEN_INVALID};
    char a[256], b[256];
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(apierr_code(ids[i]), "AuthFailure.TokenFailure");
        apierr_message(ids[i], LANG_ZH, "", a, sizeof a);
        for (size_t j = 0; j < i; j++) {
            apierr_message(ids[j], LANG_ZH, "", b, sizeof b);
            assert_string_not_equal(a, b);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zh_wholly_chinese),
        cmocka_unit_test(test_details_stay_out_of_zh),
        cmocka_unit_test(test_ids_in_zh),
        cmocka_unit_test(test_token_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
