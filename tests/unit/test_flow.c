/* test_flow.c: the flow engine: golden record lines (v2, V1, ICMP,
 * other protocols, NODATA, SKIPDATA, CCN, extended fields, IPv6, first/last
 * packet), window arithmetic at boundaries, the per-CPU merge, overflow ->
 * SKIPDATA, the TrafficType filter, the packet parser, format parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "flow/flow.h"

#define NS 1000000000ull

static struct flow_key key4(const char *src, const char *dst, uint8_t proto, uint16_t sp,
                            uint16_t dp)
{
    struct flow_key k;
    memset(&k, 0, sizeof k);
    k.src[10] = k.src[11] = k.dst[10] = k.dst[11] = 0xff;
    assert_int_equal(inet_pton(AF_INET, src, k.src + 12), 1);
    assert_int_equal(inet_pton(AF_INET, dst, k.dst + 12), 1);
    k.family = FLOW_FAMILY_V4;
    k.proto = proto;
    k.sport = sp;
    k.dport = dp;
    k.dir = FLOW_DIR_OUT;
    return k;
}

static struct flow_key key6(const char *src, const char *dst, uint8_t proto, uint16_t sp,
                            uint16_t dp)
{
    struct flow_key k;
    memset(&k, 0, sizeof k);
    assert_int_equal(inet_pton(AF_INET6, src, k.src), 1);
    assert_int_equal(inet_pton(AF_INET6, dst, k.dst), 1);
    k.family = FLOW_FAMILY_V6;
    k.proto = proto;
    k.sport = sp;
    k.dport = dp;
    return k;
}

static struct flow_log_desc eni_desc(void)
{
    struct flow_log_desc d;
    memset(&d, 0, sizeof d);
    d.account_id = "1251762227";
    d.resource_id = "eni-lq6mkcis";
    d.win_start = 1431280800;
    d.win_end = 1431281100;
    return d;
}

static void line_is(const struct flow_log_desc *d, const struct flow_key *k,
                    const struct flow_val *v, const char *want)
{
    char got[FLOW_RECORD_MAX + 1];
    size_t n = flow_format_record(got, d, k, v);
    got[n] = '\0';
    assert_string_equal(got, want);
}

static struct flow_val val(uint64_t packets, uint64_t bytes)
{
    struct flow_val v = {.packets = packets, .bytes = bytes};
    v.first_ns = 1431280876ull * NS + 5;
    v.last_ns = 1431280934ull * NS + 999999999;
    return v;
}

static void test_v2_lines(void **state)
{
    (void)state;
    struct flow_log_desc d = eni_desc();
    struct flow_key k = key4("172.31.16.139", "172.31.16.21", 6, 20641, 22);
    struct flow_val v = val(20, 4249);
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis 172.31.16.139 172.31.16.21 20641 22 6 20 4249 "
            "1431280800 1431281100 ACCEPT OK\n");
    k.action = FLOW_REJECT;
    k.sport = 0;
    k.dport = 65535;
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis 172.31.16.139 172.31.16.21 0 65535 6 20 4249 "
            "1431280800 1431281100 REJECT OK\n");
    d.version_v1 = 1;
    d.first_last = 1;
    line_is(&d, &k, &v,
            "V1 1251762227 eni-lq6mkcis 172.31.16.139 172.31.16.21 0 65535 6 20 4249 "
            "1431280876 1431280934 REJECT OK\n");
    /* big counters, edge addresses */
    d = eni_desc();
    k = key4("0.0.0.0", "255.255.255.255", 17, 53, 1);
    v = val(UINT64_MAX, 10000000000ull);
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis 0.0.0.0 255.255.255.255 53 1 17 18446744073709551615 "
            "10000000000 1431280800 1431281100 ACCEPT OK\n");
    d.account_id = NULL; /* unknown: '-' */
    line_is(&d, &k, &v,
            "2 - eni-lq6mkcis 0.0.0.0 255.255.255.255 53 1 17 18446744073709551615 "
            "10000000000 1431280800 1431281100 ACCEPT OK\n");
}

static void test_icmp_and_other_protocols(void **state)
{
    (void)state;
    struct flow_log_desc d = eni_desc();
    /* echo request: id 4660, type 8 code 0 -> 2048; reply -> 0 */
    struct flow_key k = key4("203.0.113.12", "172.31.16.139", 1, 4660, 8 << 8);
    struct flow_val v = val(4, 336);
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis 203.0.113.12 172.31.16.139 4660 2048 1 4 336 "
            "1431280800 1431281100 ACCEPT OK\n");
    k = key4("172.31.16.139", "203.0.113.12", 1, 4660, 0);
    k.action = FLOW_REJECT;
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis 172.31.16.139 203.0.113.12 4660 0 1 4 336 "
            "1431280800 1431281100 REJECT OK\n");
    /* destination unreachable, port unreachable: type 3 code 3 */
    k = key4("10.0.0.1", "10.0.0.2", 1, 0, 3 << 8 | 3);
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis 10.0.0.1 10.0.0.2 0 771 1 4 336 "
            "1431280800 1431281100 ACCEPT OK\n");
    /* GRE, ESP: '-' ports */
    k = key4("10.0.0.1", "10.0.0.2", 47, 0, 0);
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis 10.0.0.1 10.0.0.2 - - 47 4 336 "
            "1431280800 1431281100 ACCEPT OK\n");
    k.proto = 50;
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis 10.0.0.1 10.0.0.2 - - 50 4 336 "
            "1431280800 1431281100 ACCEPT OK\n");
}

static void test_ipv6(void **state)
{
    (void)state;
    struct flow_log_desc d = eni_desc();
    struct flow_key k = key6("2001:db8::1", "2001:db8:0:1::a", 6, 443, 50000);
    struct flow_val v = val(3, 180);
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis 2001:db8::1 2001:db8:0:1::a 443 50000 6 3 180 "
            "1431280800 1431281100 ACCEPT OK\n");
    k = key6("fe80::1", "ff02::1", 58, 7, 128 << 8);
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis fe80::1 ff02::1 7 32768 58 3 180 "
            "1431280800 1431281100 ACCEPT OK\n");
    /* a v4-mapped address as IPv6 family stays IPv6 text */
    k = key6("::ffff:10.0.0.1", "::", 17, 1, 2);
    line_is(&d, &k, &v,
            "2 1251762227 eni-lq6mkcis ::ffff:10.0.0.1 :: 1 2 17 3 180 "
            "1431280800 1431281100 ACCEPT OK\n");
}

/* The hand-rolled IPv6 text equals glibc's inet_ntop on addresses with
 * every pattern of zero groups (and the mapped/compatible forms). */
static void test_ipv6_text_like_inet_ntop(void **state)
{
    (void)state;
    struct flow_format f;
    char err[64];
    assert_int_equal(flow_format_parse(&f, "srcaddr", err, sizeof err), 0);
    struct flow_log_desc d = eni_desc();
    d.format = &f;
    struct flow_val v = val(1, 1);
    uint64_t x = 12345;
    for (unsigned mask = 0; mask < 256 * 8; mask++) {
        struct flow_key k = key6("::", "::", 6, 1, 2);
        for (int g = 0; g < 8; g++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            unsigned word = (mask >> g & 1) ? 0 : (unsigned)(x >> 40) & 0xffff;
            if ((mask >> 8) == 1 && word)
                word &= 0xf; /* short groups */
            if ((mask >> 8) == 2 && g == 5)
                word = 0xffff; /* mapped forms */
            k.src[2 * g] = (uint8_t)(word >> 8);
            k.src[2 * g + 1] = (uint8_t)word;
        }
        char want[INET6_ADDRSTRLEN + 1], got[FLOW_RECORD_MAX + 1];
        assert_non_null(inet_ntop(AF_INET6, k.src, want, INET6_ADDRSTRLEN));
        strcat(want, "\n");
        got[flow_format_record(got, &d, &k, &v)] = '\0';
        assert_string_equal(got, want);
    }
}

static void test_status_lines(void **state)
{
    (void)state;
    struct flow_log_desc d = eni_desc();
    d.win_start = 1431280876;
    d.win_end = 1431280934;
    d.version_v1 = 1;
    char got[FLOW_RECORD_MAX + 1];
    got[flow_format_status(got, &d, "NODATA")] = '\0';
    assert_string_equal(got,
                        "V1 1251762227 eni-lq6mkcis - - - - - - - 1431280876 1431280934 - NODATA\n");
    got[flow_format_status(got, &d, "SKIPDATA")] = '\0';
    assert_string_equal(
        got, "V1 1251762227 eni-lq6mkcis - - - - - - - 1431280876 1431280934 - SKIPDATA\n");
    /* first_last does not apply to a line without packets */
    d.first_last = 1;
    d.version_v1 = 0;
    got[flow_format_status(got, &d, "NODATA")] = '\0';
    assert_string_equal(got,
                        "2 1251762227 eni-lq6mkcis - - - - - - - 1431280876 1431280934 - NODATA\n");
}

static void test_ccn(void **state)
{
    (void)state;
    struct flow_region_cidr r[3];
    memset(r, 0, sizeof r);
    r[0].addr[10] = r[0].addr[11] = 0xff;
    inet_pton(AF_INET, "10.0.0.0", r[0].addr + 12);
    r[0].prefix = 96 + 16;
    r[0].region = "ap-guangzhou";
    r[1].addr[10] = r[1].addr[11] = 0xff;
    inet_pton(AF_INET, "10.0.5.0", r[1].addr + 12);
    r[1].prefix = 96 + 24; /* longer prefix wins */
    r[1].region = "ap-beijing";
    inet_pton(AF_INET6, "2001:db8::", r[2].addr);
    r[2].prefix = 32;
    r[2].region = "ap-shanghai";
    struct flow_log_desc d = eni_desc();
    d.format = &flow_format_ccn;
    d.resource_id = "ccn-2y7cs5jl";
    d.region_id = "ap-guangzhou";
    d.regions = r;
    d.n_regions = 3;
    d.win_start = 1700000040;
    d.win_end = 1700000100;
    struct flow_key k = key4("10.0.1.2", "10.0.5.9", 6, 1234, 80);
    struct flow_val v = val(10, 1000);
    line_is(&d, &k, &v,
            "2 ap-guangzhou ccn-2y7cs5jl 10.0.1.2 10.0.5.9 1234 80 6 ap-guangzhou ap-beijing "
            "10 1000 1700000040 1700000100 ACCEPT OK\n");
    /* ICMP: '-' ports in CCN; an address outside every CIDR: '-' region */
    k = key4("10.0.1.2", "192.168.1.1", 1, 9, 2048);
    k.action = FLOW_REJECT;
    line_is(&d, &k, &v,
            "2 ap-guangzhou ccn-2y7cs5jl 10.0.1.2 192.168.1.1 - - 1 ap-guangzhou - "
            "10 1000 1700000040 1700000100 REJECT OK\n");
    k = key6("2001:db8::5", "2001:db9::5", 17, 5, 6);
    line_is(&d, &k, &v,
            "2 ap-guangzhou ccn-2y7cs5jl 2001:db8::5 2001:db9::5 5 6 17 ap-shanghai - "
            "10 1000 1700000040 1700000100 ACCEPT OK\n");
    char got[FLOW_RECORD_MAX + 1];
    got[flow_format_status(got, &d, "NODATA")] = '\0';
    assert_string_equal(got, "2 ap-guangzhou ccn-2y7cs5jl - - - - - - - - - 1700000040 "
                             "1700000100 - NODATA\n");
}

static void test_extended_fields(void **state)
{
    (void)state;
    struct flow_format f;
    char err[128];
    assert_int_equal(flow_format_parse(&f,
                                       "${version} ${account-id} ${interface-id} ${srcaddr} "
                                       "${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} "
                                       "${bytes} ${start} ${end} ${action} ${log-status} "
                                       "${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} "
                                       "${type} ${pkt-srcaddr} ${pkt-dstaddr}",
                                       err, sizeof err),
                     0);
    assert_int_equal(f.version, 3);
    assert_int_equal(f.n, 21);
    struct flow_log_desc d = eni_desc();
    d.format = &f;
    d.vpc_id = "vpc-2z9zm1wa";
    d.subnet_id = "subnet-bthucmmy";
    d.instance_id = "ins-3vmw2bq6";
    /* client side: SYN, ACKs, FIN -> 3 (ACK only counts with SYN) */
    struct flow_key k = key4("10.0.0.5", "10.0.1.7", 6, 40000, 443);
    struct flow_val v = val(10, 800);
    v.tcp_flags = 0x02 | 0x10 | 0x18 | 0x11;
    line_is(&d, &k, &v,
            "3 1251762227 eni-lq6mkcis 10.0.0.5 10.0.1.7 40000 443 6 10 800 1431280800 "
            "1431281100 ACCEPT OK vpc-2z9zm1wa subnet-bthucmmy ins-3vmw2bq6 3 IPv4 10.0.0.5 "
            "10.0.1.7\n");
    /* server side: SYN-ACK, FIN -> 19; RST alone -> 4 */
    v.tcp_flags = 0x12 | FLOW_TCP_SYNACK | 0x11;
    line_is(&d, &k, &v,
            "3 1251762227 eni-lq6mkcis 10.0.0.5 10.0.1.7 40000 443 6 10 800 1431280800 "
            "1431281100 ACCEPT OK vpc-2z9zm1wa subnet-bthucmmy ins-3vmw2bq6 19 IPv4 10.0.0.5 "
            "10.0.1.7\n");
    v.tcp_flags = 0x14;
    line_is(&d, &k, &v,
            "3 1251762227 eni-lq6mkcis 10.0.0.5 10.0.1.7 40000 443 6 10 800 1431280800 "
            "1431281100 ACCEPT OK vpc-2z9zm1wa subnet-bthucmmy ins-3vmw2bq6 4 IPv4 10.0.0.5 "
            "10.0.1.7\n");
    /* v5 fields; non-TCP tcp-flags '-'; IPv6 type */
    assert_int_equal(flow_format_parse(&f, "version,interface-id,flow-direction,region,"
                                           "tcp-flags,type,srcaddr", err, sizeof err), 0);
    assert_int_equal(f.version, 5);
    d.region = "ap-guangzhou";
    k = key6("2001:db8::1", "2001:db8::2", 17, 1, 2);
    k.dir = FLOW_DIR_IN;
    line_is(&d, &k, &v, "5 eni-lq6mkcis ingress ap-guangzhou - IPv6 2001:db8::1\n");
    k.dir = FLOW_DIR_OUT;
    line_is(&d, &k, &v, "5 eni-lq6mkcis egress ap-guangzhou - IPv6 2001:db8::1\n");
    char got[FLOW_RECORD_MAX + 1];
    got[flow_format_status(got, &d, "NODATA")] = '\0';
    assert_string_equal(got, "5 eni-lq6mkcis - ap-guangzhou - - -\n");
    /* errors */
    assert_int_equal(flow_format_parse(&f, "version bogus-field", err, sizeof err), -1);
    assert_non_null(strstr(err, "bogus-field"));
    assert_int_equal(flow_format_parse(&f, " , ", err, sizeof err), -1);
    assert_int_equal(flow_format_parse(&f, "default", err, sizeof err), 0);
    assert_memory_equal(&f, &flow_format_eni, sizeof f);
    assert_int_equal(flow_format_parse(&f, "ccn", err, sizeof err), 0);
    assert_int_equal(f.ccn, 1);
    /* a very long string field is cut, never overflows */
    char big[4096];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    d = eni_desc();
    d.account_id = big;
    d.resource_id = big;
    char line[FLOW_RECORD_MAX + 1];
    size_t n = flow_format_record(line, &d, &k, &v);
    assert_true(n < FLOW_RECORD_MAX);
}

/* Each field the admin can add, alone after version: its golden value for
 * an outbound IPv4 TCP flow, an inbound IPv6 UDP flow and a NODATA line,
 * through the one-line formatter and the window writer (its template). */
static void test_each_field(void **state)
{
    (void)state;
    static const struct {
        const char *field;
        const char *tcp4_out, *udp6_in, *nodata;
        int version;
    } cases[] = {
        {"tcp-flags", "19", "-", "-", 3},
        {"flow-direction", "egress", "ingress", "-", 5},
        {"pkt-srcaddr", "10.0.0.5", "2001:db8::9", "-", 3},
        {"pkt-dstaddr", "10.0.1.7", "2001:db8::5", "-", 3},
        {"type", "IPv4", "IPv6", "-", 3},
        {"vpc-id", "vpc-2z9zm1wa", "vpc-2z9zm1wa", "vpc-2z9zm1wa", 3},
        {"subnet-id", "subnet-bthucmmy", "subnet-bthucmmy", "subnet-bthucmmy", 3},
        {"instance-id", "ins-3vmw2bq6", "ins-3vmw2bq6", "ins-3vmw2bq6", 3},
        {"region", "ap-guangzhou", "ap-guangzhou", "ap-guangzhou", 4},
        {"srcaddr", "10.0.0.5", "2001:db8::9", "-", 2},
        {"protocol", "6", "17", "-", 2},
        {"action", "ACCEPT", "REJECT", "-", 2},
        {"log-status", "OK", "OK", "NODATA", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char spec[64], err[128], want[256], got[FLOW_RECORD_MAX + 1];
        struct flow_format f;
        snprintf(spec, sizeof spec, "version %s", cases[i].field);
        assert_int_equal(flow_format_parse(&f, spec, err, sizeof err), 0);
        assert_int_equal(f.version, cases[i].version);
        struct flow_log_desc d = eni_desc();
        d.format = &f;
        d.vpc_id = "vpc-2z9zm1wa";
        d.subnet_id = "subnet-bthucmmy";
        d.instance_id = "ins-3vmw2bq6";
        d.region = "ap-guangzhou";
        struct flow_key k4 = key4("10.0.0.5", "10.0.1.7", 6, 40000, 443);
        struct flow_val v = val(10, 800);
        v.tcp_flags = 0x12 | FLOW_TCP_SYNACK | 0x11 | 0x10;
        snprintf(want, sizeof want, "%d %s\n", cases[i].version, cases[i].tcp4_out);
        got[flow_format_record(got, &d, &k4, &v)] = '\0';
        assert_string_equal(got, want);
        struct flow_key k6 = key6("2001:db8::9", "2001:db8::5", 17, 53, 5353);
        k6.dir = FLOW_DIR_IN;
        k6.action = FLOW_REJECT;
        snprintf(want, sizeof want, "%d %s\n", cases[i].version, cases[i].udp6_in);
        got[flow_format_record(got, &d, &k6, &v)] = '\0';
        assert_string_equal(got, want);
        snprintf(want, sizeof want, "%d %s\n", cases[i].version, cases[i].nodata);
        got[flow_format_status(got, &d, "NODATA")] = '\0';
        assert_string_equal(got, want);
        /* the window writer's template gives the same lines */
        struct flow_table *t = flow_table_new(8);
        assert_int_equal(flow_table_merge(t, &k4, &v), 0);
        assert_int_equal(flow_table_merge(t, &k6, &v), 0);
        struct buf out;
        buf_init(&out, 0);
        size_t n;
        assert_int_equal(flow_write_records(t, &d, &out, &n), 0);
        assert_int_equal(n, 2);
        snprintf(want, sizeof want, "%d %s\n%d %s\n", cases[i].version, cases[i].tcp4_out,
                 cases[i].version, cases[i].udp6_in);
        assert_string_equal(out.data, want);
        buf_free(&out);
        flow_table_free(t);
    }
}

static void test_windows(void **state)
{
    (void)state;
    assert_int_equal(flow_window_start(0, 60), 0);
    assert_int_equal(flow_window_start(59, 60), 0);
    assert_int_equal(flow_window_start(60, 60), 60);
    assert_int_equal(flow_window_start(1700000099, 300), 1699999800);
    assert_int_equal(flow_window_start(1700000100, 300), 1700000100);
    assert_int_equal(flow_window_end(1700000100, 300), 1700000400);
    assert_int_equal(flow_window_start(12345, 1), 12345);
    /* the last nanosecond of a window and the first of the next */
    assert_int_equal(flow_window_start_ns(60 * NS - 1, 60), 0);
    assert_int_equal(flow_window_start_ns(60 * NS, 60), 60);
    assert_int_equal(flow_window_start_ns(UINT64_MAX, 600), (UINT64_MAX / NS) / 600 * 600);
}

static void test_merge_per_cpu(void **state)
{
    (void)state;
    struct flow_table *t = flow_table_new(16);
    assert_non_null(t);
    struct flow_key k = key4("10.0.0.1", "10.0.0.2", 6, 1000, 80);
    /* the same flow seen on three CPUs */
    struct flow_val a = {.packets = 3, .bytes = 300, .first_ns = 50 * NS, .last_ns = 55 * NS,
                         .tcp_flags = 0x02};
    struct flow_val b = {.packets = 2, .bytes = 120, .first_ns = 40 * NS, .last_ns = 45 * NS,
                         .tcp_flags = 0x10};
    struct flow_val c = {.packets = 1, .bytes = 40, .first_ns = 57 * NS, .last_ns = 59 * NS,
                         .tcp_flags = 0x01};
    assert_int_equal(flow_table_merge(t, &k, &a), 0);
    assert_int_equal(flow_table_merge(t, &k, &b), 0);
    assert_int_equal(flow_table_merge(t, &k, &c), 0);
    struct flow_key k2 = k;
    k2.action = FLOW_REJECT; /* a different record */
    assert_int_equal(flow_table_merge(t, &k2, &c), 0);
    assert_int_equal(flow_table_count(t), 2);
    struct buf out;
    buf_init(&out, 0);
    struct flow_log_desc d = eni_desc();
    d.win_start = 0;
    d.win_end = 60;
    d.first_last = 1;
    size_t n;
    assert_int_equal(flow_write_records(t, &d, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out.data,
                        "2 1251762227 eni-lq6mkcis 10.0.0.1 10.0.0.2 1000 80 6 6 460 40 59 "
                        "ACCEPT OK\n"
                        "2 1251762227 eni-lq6mkcis 10.0.0.1 10.0.0.2 1000 80 6 1 40 57 59 "
                        "REJECT OK\n");
    /* clear: the next window starts empty and says NODATA */
    flow_table_clear(t);
    buf_reset(&out);
    assert_int_equal(flow_write_records(t, &d, &out, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(out.data,
                        "2 1251762227 eni-lq6mkcis - - - - - - - 0 60 - NODATA\n");
    buf_free(&out);
    flow_table_free(t);
}

static void test_overflow_skipdata(void **state)
{
    (void)state;
    struct flow_table *t = flow_table_new(4);
    assert_int_equal(flow_table_capacity(t), 4);
    for (int i = 0; i < 6; i++) {
        struct flow_key k = key4("10.0.0.1", "10.0.0.2", 17, (uint16_t)(100 + i), 53);
        k.slot = 7;
        int rc = flow_table_add(t, &k, 60, 0, 10 * NS);
        assert_int_equal(rc, i < 4 ? 0 : -1);
        rc = flow_table_add(t, &k, 60, 0, 11 * NS); /* existing flows still count */
        assert_int_equal(rc, i < 4 ? 0 : -1);
    }
    assert_int_equal(flow_table_count(t), 4);
    assert_int_equal(flow_table_skipped(t, 7), 4);
    assert_int_equal(flow_table_skipped(t, 8), 0);
    struct buf out;
    buf_init(&out, 0);
    struct flow_log_desc d = eni_desc();
    d.slot = 7;
    size_t n;
    assert_int_equal(flow_write_records(t, &d, &out, &n), 0);
    assert_int_equal(n, 5);
    const char *last = strstr(out.data, "SKIPDATA");
    assert_non_null(last);
    assert_string_equal(last - strlen("2 1251762227 eni-lq6mkcis - - - - - - - 1431280800 "
                                      "1431281100 - "),
                        "2 1251762227 eni-lq6mkcis - - - - - - - 1431280800 1431281100 - "
                        "SKIPDATA\n");
    /* another slot in the same table: nothing seen -> NODATA */
    buf_reset(&out);
    d.slot = 8;
    assert_int_equal(flow_write_records(t, &d, &out, &n), 0);
    assert_int_equal(n, 1);
    assert_non_null(strstr(out.data, " NODATA\n"));
    /* skips noted from outside (a lost kernel entry) also say SKIPDATA */
    flow_table_note_skipped(t, 8, 3);
    buf_reset(&out);
    assert_int_equal(flow_write_records(t, &d, &out, &n), 0);
    assert_non_null(strstr(out.data, " SKIPDATA\n"));
    /* the desc's own count does too, on an empty table */
    flow_table_clear(t);
    buf_reset(&out);
    d.skipped = 1;
    assert_int_equal(flow_write_records(t, &d, &out, &n), 0);
    assert_int_equal(n, 1);
    assert_non_null(strstr(out.data, " SKIPDATA\n"));
    /* more skipping slots than the per-slot list holds: every slot says so */
    for (uint32_t s = 100; s < 400; s++)
        flow_table_note_skipped(t, s, 1);
    assert_true(flow_table_skipped(t, 399) >= 1);
    assert_true(flow_table_skipped(t, 5000) >= 1);
    buf_free(&out);
    flow_table_free(t);
    assert_null(flow_table_new(0));
}

static void test_traffic_type(void **state)
{
    (void)state;
    struct flow_table *t = flow_table_new(8);
    struct flow_key a = key4("10.0.0.1", "10.0.0.2", 6, 1, 2);
    struct flow_key r = key4("10.0.0.1", "10.0.0.3", 6, 1, 2);
    r.action = FLOW_REJECT;
    flow_table_add(t, &a, 100, 0, 1 * NS);
    flow_table_add(t, &r, 100, 0, 1 * NS);
    struct buf out;
    buf_init(&out, 0);
    struct flow_log_desc d = eni_desc();
    size_t n;
    d.traffic_type = FLOW_TT_ALL;
    flow_write_records(t, &d, &out, &n);
    assert_int_equal(n, 2);
    buf_reset(&out);
    d.traffic_type = FLOW_TT_ACCEPT;
    flow_write_records(t, &d, &out, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(out.data, "10.0.0.2 1 2 6 1 100 1431280800 1431281100 ACCEPT OK\n"));
    buf_reset(&out);
    d.traffic_type = FLOW_TT_REJECT;
    flow_write_records(t, &d, &out, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(out.data, "10.0.0.3 1 2 6 1 100 1431280800 1431281100 REJECT OK\n"));
    /* traffic that was all filtered out is not NODATA: there was traffic */
    flow_table_clear(t);
    flow_table_add(t, &a, 100, 0, 1 * NS);
    buf_reset(&out);
    flow_write_records(t, &d, &out, &n);
    assert_int_equal(n, 0);
    /* an output ceiling is reported */
    struct buf small;
    buf_init(&small, 100);
    d.traffic_type = FLOW_TT_ALL;
    assert_int_equal(flow_write_records(t, &d, &small, &n), -1);
    buf_free(&small);
    buf_free(&out);
    flow_table_free(t);
}

static void test_parser(void **state)
{
    (void)state;
    /* IPv4 TCP SYN-ACK, total length 52 */
    uint8_t p4[60] = {0x45, 0, 0, 52, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                      0x01, 0xbb, 0x9c, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x12};
    struct flow_key k;
    memset(&k, 0, sizeof k);
    uint32_t bytes, flags;
    assert_int_equal(flow_key_from_ip(&k, p4, sizeof p4, &bytes, &flags), 0);
    assert_int_equal(bytes, 52);
    assert_int_equal(flags, 0x12);
    assert_int_equal(k.sport, 443);
    assert_int_equal(k.dport, 40000);
    assert_int_equal(k.proto, 6);
    assert_int_equal(k.family, FLOW_FAMILY_V4);
    assert_int_equal(k.src[15], 1);
    assert_int_equal(k.src[10], 0xff);
    /* a non-first fragment: ports 0 */
    p4[6] = 0x00;
    p4[7] = 0x10;
    assert_int_equal(flow_key_from_ip(&k, p4, sizeof p4, &bytes, &flags), 0);
    assert_int_equal(k.sport, 0);
    /* ICMP echo request id 0x1234 */
    uint8_t ic[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
                      8, 0, 0, 0, 0x12, 0x34, 0, 1};
    assert_int_equal(flow_key_from_ip(&k, ic, sizeof ic, &bytes, &flags), 0);
    assert_int_equal(k.sport, 0x1234);
    assert_int_equal(k.dport, 2048);
    ic[20] = 3; /* unreachable: id not applicable */
    ic[21] = 1;
    assert_int_equal(flow_key_from_ip(&k, ic, sizeof ic, &bytes, &flags), 0);
    assert_int_equal(k.sport, 0);
    assert_int_equal(k.dport, 0x301);
    /* IPv6 with a hop-by-hop header, then UDP */
    uint8_t p6[40 + 8 + 8] = {0x60, 0, 0, 0, 0, 16, 0, 64};
    p6[8] = 0x20;
    p6[24] = 0x20;
    p6[40] = 17; /* hop-by-hop: next = UDP, length 0 (8 bytes) */
    p6[48] = 0;
    p6[49] = 53;
    p6[50] = 0x13;
    p6[51] = 0x88;
    assert_int_equal(flow_key_from_ip(&k, p6, sizeof p6, &bytes, &flags), 0);
    assert_int_equal(k.family, FLOW_FAMILY_V6);
    assert_int_equal(k.proto, 17);
    assert_int_equal(bytes, 56);
    assert_int_equal(k.sport, 53);
    assert_int_equal(k.dport, 5000);
    /* garbage */
    uint8_t g[3] = {0x45, 0, 0};
    assert_int_equal(flow_key_from_ip(&k, g, sizeof g, &bytes, &flags), -1);
    g[0] = 0x10;
    assert_int_equal(flow_key_from_ip(&k, g, sizeof g, &bytes, &flags), -1);
    assert_int_equal(flow_key_from_ip(&k, g, 0, &bytes, &flags), -1);
    /* truncated transport: ports 0, no crash */
    assert_int_equal(flow_key_from_ip(&k, p4, 21, &bytes, &flags), 0);
}

static void test_many_flows_distinct(void **state)
{
    (void)state;
    enum { N = 50000 };
    struct flow_table *t = flow_table_new(N);
    for (int round = 0; round < 2; round++)
        for (uint32_t i = 0; i < N; i++) {
            struct flow_key k = key4("10.0.0.1", "10.0.0.2", 17, (uint16_t)i, (uint16_t)(i >> 16));
            k.slot = i % 3;
            assert_int_equal(flow_table_add(t, &k, 100, 0, (uint64_t)i), 0);
        }
    assert_int_equal(flow_table_count(t), N);
    struct buf out;
    buf_init(&out, 0);
    struct flow_log_desc d = eni_desc();
    size_t total = 0, n;
    for (uint32_t s = 0; s < 3; s++) {
        d.slot = s;
        buf_reset(&out);
        assert_int_equal(flow_write_records(t, &d, &out, &n), 0);
        total += n;
        assert_null(strstr(out.data, " 1 100 ")); /* every flow got both packets */
    }
    assert_int_equal(total, N);
    buf_free(&out);
    flow_table_free(t);
}

/* Many slots interleaved: each(slot) gives exactly the slot's flows, in the
 * order they were first seen, also after more inserts and a clear. */
struct order_ctx {
    uint32_t slot;
    long last, n;
};

static int check_order(void *arg, const struct flow_key *k, const struct flow_val *v)
{
    struct order_ctx *c = arg;
    (void)v;
    assert_int_equal(k->slot, c->slot);
    assert_true((long)k->sport > c->last);
    c->last = k->sport;
    c->n++;
    return 0;
}

static void test_each_by_slot(void **state)
{
    (void)state;
    struct flow_table *t = flow_table_new(60000);
    for (int round = 0; round < 3; round++) {
        for (uint32_t i = 0; i < 50000; i++) {
            struct flow_key k = key4("10.0.0.1", "10.0.0.2", 17, (uint16_t)i, 53);
            k.slot = (i * 7919u) % 1000 + 5;
            if (round < 2 || i % 2)
                assert_int_equal(flow_table_add(t, &k, 100, 0, i), 0);
        }
        long total = 0;
        for (uint32_t s = 0; s < 1010; s++) {
            struct order_ctx c = {.slot = s, .last = -1};
            flow_table_each(t, s, check_order, &c);
            if (s < 5 || s >= 1005)
                assert_int_equal(c.n, 0);
            total += c.n;
        }
        assert_int_equal(total, round < 2 ? 50000 : 25000);
        if (round == 1)
            flow_table_clear(t);
    }
    flow_table_free(t);
}

/* flow_table_add_batch == flow_table_add one by one: same flows in the same
 * order, same counters, same skips (a table that fills up mid-batch). */
static int collect(void *arg, const struct flow_key *k, const struct flow_val *v)
{
    struct buf *b = arg;
    return buf_append(b, k, sizeof *k) || buf_append(b, v, sizeof *v);
}

static void test_batch_equals_single(void **state)
{
    (void)state;
    enum { N = 5000 };
    static struct flow_pkt p[N];
    uint64_t x = 99;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        memset(&p[i], 0, sizeof p[i]);
        p[i].k = key4("10.1.0.1", "10.2.0.2", (x >> 60) & 1 ? 6 : 17, (uint16_t)((x >> 20) % 700),
                      53);
        p[i].k.slot = (uint32_t)(x >> 40) % 3;
        p[i].ip_bytes = 40 + (uint32_t)(x >> 50) % 1400;
        p[i].tcp_flags = (uint32_t)(x >> 8) & 0x3f;
        p[i].ts_ns = 1000 + (uint64_t)i;
    }
    for (size_t cap = 100; cap <= 4000; cap *= 40) { /* 100: overflows; 4000: fits */
        struct flow_table *a = flow_table_new(cap), *b = flow_table_new(cap);
        size_t skipped_a = 0;
        for (int i = 0; i < N; i++)
            skipped_a += flow_table_add(a, &p[i].k, p[i].ip_bytes, p[i].tcp_flags, p[i].ts_ns) != 0;
        size_t skipped_b = 0;
        for (int i = 0; i < N;) { /* uneven batch sizes */
            size_t m = (size_t)(1 + (i * 7) % 300);
            if (m > (size_t)(N - i))
                m = (size_t)(N - i);
            skipped_b += flow_table_add_batch(b, p + i, m);
            i += (int)m;
        }
        assert_int_equal(skipped_a, skipped_b);
        assert_int_equal(flow_table_count(a), flow_table_count(b));
        for (uint32_t s = 0; s < 3; s++) {
            struct buf ba, bb;
            buf_init(&ba, 0);
            buf_init(&bb, 0);
            flow_table_each(a, s, collect, &ba);
            flow_table_each(b, s, collect, &bb);
            assert_int_equal(ba.len, bb.len);
            assert_memory_equal(ba.data, bb.data, ba.len);
            assert_int_equal(flow_table_skipped(a, s), flow_table_skipped(b, s));
            buf_free(&ba);
            buf_free(&bb);
        }
        if (cap == 100)
            assert_true(skipped_a > 0);
        else
            assert_int_equal(skipped_a, 0);
        flow_table_free(a);
        flow_table_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_lines),
        cmocka_unit_test(test_icmp_and_other_protocols),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_ipv6_text_like_inet_ntop),
        cmocka_unit_test(test_status_lines),
        cmocka_unit_test(test_ccn),
        cmocka_unit_test(test_each_field),
        cmocka_unit_test(test_extended_fields),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_merge_per_cpu),
        cmocka_unit_test(test_overflow_skipdata),
        cmocka_unit_test(test_traffic_type),
        cmocka_unit_test(test_parser),
        cmocka_unit_test(test_many_flows_distinct),
        cmocka_unit_test(test_batch_equals_single),
        cmocka_unit_test(test_each_by_slot),
    };
    return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
