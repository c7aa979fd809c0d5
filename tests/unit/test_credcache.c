/* test_credcache.c: the credential and signing-key cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api/credcache.h"

static struct key_info key_of(const char *id, const char *actions)
{
    struct key_info k;
    memset(&k, 0, sizeof k);
    snprintf(k.secret_id, sizeof k.secret_id, "%s", id);
    snprintf(k.secret_key, sizeof k.secret_key, "secret-of-%s", id);
    snprintf(k.actions, sizeof k.actions, "%s", actions);
    snprintf(k.account.uin, sizeof k.account.uin, "uin-%s", id);
    k.account.app_id = 1250000000;
    k.account.flowlog_quota = 100;
    k.account.rate_limit = 7;
    return k;
}

static void test_hit_copies_everything(void **state)
{
    struct credcache *cc = credcache_new(4, 1000);
    struct key_info a = key_of("AKIDa", ""), b = key_of("AKIDb", ",DescribeFlowLogs,"), out;
    unsigned char sig[32], got[32];
    int have = -1;

    (void)state;
    memset(sig, 0xab, sizeof sig);
    assert_non_null(cc);
    assert_int_equal(credcache_get(cc, "AKIDa", 0, NULL, NULL, &out, got, &have), 0);
    credcache_put(cc, &a, 0, NULL, NULL, NULL);
    credcache_put(cc, &b, 0, "2026-11-28", "vpc", sig);

    memset(&out, 0x55, sizeof out);
    assert_int_equal(credcache_get(cc, "AKIDa", 10, "2026-11-28", "vpc", &out, got, &have), 1);
    assert_int_equal(have, 0); /* no signing key stored for a */
    assert_string_equal(out.secret_key, "secret-of-AKIDa");
    assert_string_equal(out.actions, "");
    assert_string_equal(out.account.uin, "uin-AKIDa");
    assert_int_equal(out.account.rate_limit, 7);

    assert_int_equal(credcache_get(cc, "AKIDb", 10, "2026-11-28", "vpc", &out, got, &have), 1);
    assert_int_equal(have, 1);
    assert_memory_equal(got, sig, 32);
    assert_string_equal(out.actions, ",DescribeFlowLogs,");
    /* another date or service: the key, but not its signing key */
    assert_int_equal(credcache_get(cc, "AKIDb", 10, "2026-11-29", "vpc", &out, got, &have), 1);
    assert_int_equal(have, 0);
    assert_int_equal(credcache_get(cc, "AKIDb", 10, "2026-11-28", "tag", &out, got, &have), 1);
    assert_int_equal(have, 0);
    credcache_free(cc);
}

static void test_expiry_and_replacement(void **state)
{
    struct credcache *cc = credcache_new(2, 1000); /* one set of 4: every key collides */
    struct key_info a = key_of("AKIDa", ",CreateFlowLog,"), b = key_of("AKIDb", ""), out;
    unsigned char got[32];
    int have;

    (void)state;
    assert_non_null(cc);
    credcache_put(cc, &a, 0, NULL, NULL, NULL);
    assert_int_equal(credcache_get(cc, "AKIDa", 999, NULL, NULL, &out, got, &have), 1);
    assert_int_equal(credcache_get(cc, "AKIDa", 1000, NULL, NULL, &out, got, &have), 0);
    credcache_put(cc, &b, 1005, NULL, NULL, NULL);
    assert_int_equal(credcache_get(cc, "AKIDa", 1006, NULL, NULL, &out, got, &have), 0);
    assert_int_equal(credcache_get(cc, "AKIDb", 1006, NULL, NULL, &out, got, &have), 1);
    assert_string_equal(out.actions, "");
    credcache_put(cc, &a, 1007, NULL, NULL, NULL); /* a fresh entry for a */
    assert_int_equal(credcache_get(cc, "AKIDa", 1008, NULL, NULL, &out, got, &have), 1);
    assert_string_equal(out.actions, ",CreateFlowLog,");
    credcache_free(cc); /* LeakSanitizer: the entries' actions go with them */
}

/* Four keys share a set without evicting each other; a fifth evicts the
 * one that expires first. */
static void test_set_holds_four(void **state)
{
    struct credcache *cc = credcache_new(2, 1000);
    struct key_info k[5];
    char id[16];
    struct key_info out;
    unsigned char got[32];
    int have;

    (void)state;
    assert_non_null(cc);
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "AKID%d", i);
        k[i] = key_of(id, i % 2 ? ",DeleteFlowLog," : "");
    }
    for (int i = 0; i < 4; i++)
        credcache_put(cc, &k[i], (uint64_t)i, NULL, NULL, NULL);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 4; i++)
            assert_int_equal(credcache_get(cc, k[i].secret_id, 10, NULL, NULL, &out, got, &have),
                             1);
    credcache_put(cc, &k[4], 20, NULL, NULL, NULL); /* AKID0 expires first (1000) */
    assert_int_equal(credcache_get(cc, "AKID0", 21, NULL, NULL, &out, got, &have), 0);
    for (int i = 1; i < 5; i++)
        assert_int_equal(credcache_get(cc, k[i].secret_id, 21, NULL, NULL, &out, got, &have), 1);
    credcache_free(cc);
}

/* credcache_clear (an admin reset): every entry gone, restricted keys'
 * action copies freed (ASan's leak check), the cache usable after. */
static void test_clear(void **state)
{
    struct credcache *cc = credcache_new(4, 1000);
    struct key_info a = key_of("AKIDa", ""), b = key_of("AKIDb", ",DescribeFlowLogs,"), out;
    unsigned char sig[32], got[32];
    int have;

    (void)state;
    memset(sig, 1, sizeof sig);
    assert_non_null(cc);
    credcache_put(cc, &a, 0, NULL, NULL, NULL);
    credcache_put(cc, &b, 0, "2026-11-28", "vpc", sig);
    credcache_clear(cc);
    assert_int_equal(credcache_get(cc, "AKIDa", 1, NULL, NULL, &out, got, &have), 0);
    assert_int_equal(credcache_get(cc, "AKIDb", 1, NULL, NULL, &out, got, &have), 0);
    credcache_put(cc, &b, 2, NULL, NULL, NULL);
    assert_int_equal(credcache_get(cc, "AKIDb", 3, NULL, NULL, &out, got, &have), 1);
    assert_string_equal(out.actions, ",DescribeFlowLogs,");
    credcache_clear(NULL);
    credcache_free(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_copies_everything),
        cmocka_unit_test(test_expiry_and_replacement),
        cmocka_unit_test(test_set_holds_four),
        cmocka_unit_test(test_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
