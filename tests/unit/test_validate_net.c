/* test_validate_net.c: the address rules of the resource actions
 * (validate.h ipv4_parse, cidr_parse) and the region list's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "validate/validate.h"

static void test_ipv4(void **state)
{
    static const char *const bad[] = {"",          "1.2.3",       "1.2.3.4.5",  "256.1.1.1",
                                      "01.2.3.4",  "1.2.3.4 ",    " 1.2.3.4",   "1..3.4",
                                      "1.2.3.-4",  "1.2.3.4/32",  "a.b.c.d",    "1.2.3.1000",
                                      "1.2.3.",    NULL};
    uint32_t a;
    (void)state;
    assert_int_equal(ipv4_parse("10.0.1.5", &a), 0);
    assert_int_equal(a, 0x0a000105u);
    assert_int_equal(ipv4_parse("0.0.0.0", &a), 0);
    assert_int_equal(a, 0);
    assert_int_equal(ipv4_parse("255.255.255.255", &a), 0);
    assert_int_equal(a, 0xffffffffu);
    for (size_t i = 0; bad[i]; i++)
        if (ipv4_parse(bad[i], &a) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(ipv4_parse(NULL, &a), -1);
}

static void test_cidr(void **state)
{
    static const char *const bad[] = {"10.0.0.0",     "10.0.0.0/",   "10.0.0.0/33", "10.0.0.1/16",
                                      "10.0.0.0/016", "10.0.0.0/-1", "10.0.0/8",    "10.0.0.0/8x",
                                      "/8",           "10.0.0.0//8", NULL};
    uint32_t n;
    int p;
    (void)state;
    assert_int_equal(cidr_parse("10.0.0.0/16", &n, &p), 0);
    assert_int_equal(n, 0x0a000000u);
    assert_int_equal(p, 16);
    assert_int_equal(cidr_parse("172.16.0.0/12", &n, &p), 0);
    assert_int_equal(cidr_parse("0.0.0.0/0", &n, &p), 0);
    assert_int_equal(p, 0);
    assert_int_equal(cidr_parse("192.168.1.7/32", &n, &p), 0);
    assert_int_equal(p, 32);
    assert_int_equal(cidr_parse("10.0.1.0/24", &n, &p), 0);
    for (size_t i = 0; bad[i]; i++)
        if (cidr_parse(bad[i], &n, &p) == 0)
            fail_msg("accepted \"%s\"", bad[i]);
}

static void test_regions(void **state)
{
    size_t n = 0;
    (void)state;
    assert_string_equal(region_at(0), "ap-guangzhou");
    for (; region_at(n); n++)
        assert_true(region_known(region_at(n)));
    assert_true(n >= 20);
    assert_null(region_at(n + 1));
}

/* The regions issue 13 names, one of each kind; and ids that are not regions. */
static void test_region_list(void **state)
{
    static const char *const want[] = {
        "ap-beijing-fsi", "ap-shanghai-fsi", "ap-shenzhen-fsi", "ap-taipei", "ap-shenzhen",
        "ap-qingyuan", "ap-tianjin", "ap-hongkong", "ap-singapore", "ap-jakarta",
        "na-toronto", "eu-moscow", "sa-saopaulo", "ap-xian-ec", "ap-hangzhou-ec",
        "ap-changsha-ec", "ap-shenyang-ec", "ap-guiyang", NULL};
    static const char *const not_regions[] = {"ap-guangzhou-3", "AP-GUANGZHOU", "ap-mars",
                                              "ap-guangzhou ", "", "ap-xian", NULL};
    (void)state;
    for (size_t i = 0; want[i]; i++)
        if (!region_known(want[i]))
            fail_msg("%s is not known", want[i]);
    for (size_t i = 0; not_regions[i]; i++)
        if (region_known(not_regions[i]))
            fail_msg("\"%s\" is taken for a region", not_regions[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_region_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
