/* test_flowcap.c: the tc programs' parsing and counting, run in the kernel
 * on crafted frames with BPF_PROG_TEST_RUN (no network needed): IPv4/IPv6
 * ports and bytes, a GSO TCP packet counted per segment with its real header
 * length, OR-ed TCP flags and SYN-ACK, ICMP id and type/code, IPv6
 * extension headers, a non-first fragment, an in-band VLAN tag, non-IP
 * ignored, an unwatched device ignored, a shared device attributing by
 * address, a full table counting what it skipped, and a key whose bounded
 * probes found no room counted as skipped too. Needs CAP_BPF (root): otherwise every test is skipped with the
 * reason, and with CI=true that is a failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "flow/bpf/flowcap_abi.h"
#include "flow/flow_key.h"
#include "flowcap.skel.h"

#define SLOT 7

static struct flowcap *skel;
static uint32_t slots; /* entries per region (CPU and half) of skel's table */
static char why[256];

static int setup_skel(uint32_t table)
{
    skel = flowcap__open();
    if (!skel) {
        snprintf(why, sizeof why, "cannot open the BPF object: %s", strerror(errno));
        return -1;
    }
    int ncpu = libbpf_num_possible_cpus();
    slots = table;
    bpf_map__set_max_entries(skel->maps.table, (uint32_t)ncpu * 2 * table);
    bpf_map__set_max_entries(skel->maps.fill, (uint32_t)ncpu * 2 * (table + 1));
    bpf_map__set_max_entries(skel->maps.skips, (uint32_t)ncpu * 2 * FLOWCAP_MAX_SLOTS * 2);
    skel->rodata->cfg_slots = table;
    skel->rodata->cfg_ncpu = (uint32_t)ncpu;
    int rc = flowcap__load(skel);
    if (rc) {
        snprintf(why, sizeof why, "cannot load the tc programs: %s (needs CAP_BPF: root)",
                 strerror(-rc));
        flowcap__destroy(skel);
        skel = NULL;
        return -1;
    }
    /* BPF_PROG_TEST_RUN runs a packet on the loopback device: ifindex 1 */
    uint32_t ifx = 1;
    struct flowcap_dev d = {.slot = SLOT, .l2len = 14};
    bpf_map__update_elem(skel->maps.devs, &ifx, sizeof ifx, &d, sizeof d, 0);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (setup_skel(1024) != 0) {
        if (getenv("CI") && strcmp(getenv("CI"), "true") == 0) {
            fprintf(stderr, "test_flowcap: %s, and CI=true: failing\n", why);
            return -1;
        }
        fprintf(stderr, "test_flowcap: skipped: %s\n", why);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    flowcap__destroy(skel);
    return 0;
}

/* ==== frames ==== */

static size_t eth(uint8_t *f, uint16_t type)
{
    memset(f, 0, 12);
    f[0] = 2;
    f[6] = 2;
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
    return 14;
}

static size_t ip4(uint8_t *p, uint8_t proto, uint16_t tot_len, uint16_t frag, const uint8_t src[4],
                  const uint8_t dst[4])
{
    memset(p, 0, 20);
    p[0] = 0x45;
    p[2] = (uint8_t)(tot_len >> 8);
    p[3] = (uint8_t)tot_len;
    p[6] = (uint8_t)(frag >> 8);
    p[7] = (uint8_t)frag;
    p[8] = 64;
    p[9] = proto;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    return 20;
}

static void ports(uint8_t *p, uint16_t s, uint16_t d)
{
    p[0] = (uint8_t)(s >> 8);
    p[1] = (uint8_t)s;
    p[2] = (uint8_t)(d >> 8);
    p[3] = (uint8_t)d;
}

static const uint8_t A[4] = {10, 0, 0, 1}, B[4] = {10, 0, 0, 2};

/* Runs the ingress program (direction out) on frame f; gso_segs as given. */
static void run(const uint8_t *f, size_t len, uint32_t gso_segs)
{
    struct __sk_buff ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.gso_segs = gso_segs;
    ctx.gso_size = gso_segs > 1 ? 1448 : 0;
    DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = (uint32_t)len,
                        .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = 1);
    assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.flowcap_ingress), &o), 0);
}

/* The entries of key k in either half and every CPU's region, summed (read
 * through mmap, as the drainer does); 0 if none. */
static int lookup(const struct flow_key *k, struct flow_val *sum)
{
    int ncpu = libbpf_num_possible_cpus();
    size_t n = (size_t)ncpu * 2 * slots, len = n * sizeof(struct flowcap_entry);
    long page = sysconf(_SC_PAGESIZE);
    len = (len + (size_t)page - 1) / (size_t)page * (size_t)page;
    struct flowcap_entry *t =
        mmap(NULL, len, PROT_READ, MAP_SHARED, bpf_map__fd(skel->maps.table), 0);
    assert_true(t != MAP_FAILED);
    int found = 0;
    memset(sum, 0, sizeof *sum);
    for (size_t i = 0; i < n; i++) {
        if (!t[i].used || memcmp(&t[i].key, k, sizeof *k) != 0)
            continue;
        found = 1;
        sum->packets += t[i].val.packets;
        sum->bytes += t[i].val.bytes;
        sum->tcp_flags |= t[i].val.tcp_flags;
    }
    munmap(t, len);
    return found;
}

static struct flow_key key4(uint8_t proto, uint16_t sport, uint16_t dport)
{
    struct flow_key k;
    memset(&k, 0, sizeof k);
    k.slot = SLOT;
    k.src[10] = k.src[11] = k.dst[10] = k.dst[11] = 0xff;
    memcpy(k.src + 12, A, 4);
    memcpy(k.dst + 12, B, 4);
    k.sport = sport;
    k.dport = dport;
    k.proto = proto;
    k.family = FLOW_FAMILY_V4;
    k.dir = FLOW_DIR_OUT;
    k.action = FLOW_ACCEPT;
    return k;
}

/* The packets of (SLOT, out) skipped in either half, on any CPU. */
static uint64_t skipped_out(void)
{
    int ncpu = libbpf_num_possible_cpus();
    uint64_t sum = 0;
    for (uint32_t r = 0; r < (uint32_t)ncpu * 2; r++) {
        uint32_t i = r * FLOWCAP_MAX_SLOTS * 2 + SLOT * 2 + FLOW_DIR_OUT;
        uint64_t v = 0;
        assert_int_equal(bpf_map__lookup_elem(skel->maps.skips, &i, sizeof i, &v, sizeof v, 0), 0);
        sum += v;
    }
    return sum;
}

#define NEED_BPF()                                                                                \
    do {                                                                                          \
        if (!skel)                                                                                \
            skip();                                                                               \
    } while (0)

/* ==== cases ==== */

static void udp_v4_bytes_and_ports(void **state)
{
    (void)state;
    NEED_BPF();
    uint8_t f[256];
    size_t n = eth(f, 0x0800);
    n += ip4(f + n, 17, 20 + 8 + 100, 0, A, B);
    ports(f + n, 4000, 5000);
    f[n + 4] = 0;
    f[n + 5] = 108;
    n += 8 + 100;
    run(f, n, 1);
    run(f, n, 0); /* gso_segs 0 is one packet */
    struct flow_key k = key4(17, 4000, 5000);
    struct flow_val v;
    assert_true(lookup(&k, &v));
    assert_int_equal(v.packets, 2);
    assert_int_equal(v.bytes, 2 * 128);
    assert_int_equal(v.tcp_flags, 0);
}

static void padded_frame_counts_ip_bytes(void **state)
{
    (void)state;
    NEED_BPF();
    uint8_t f[64];
    memset(f, 0xee, sizeof f); /* 60-byte minimum frame: trailing padding */
    size_t n = eth(f, 0x0800);
    n += ip4(f + n, 17, 20 + 8 + 2, 0, A, B);
    ports(f + n, 4001, 5000);
    run(f, 60, 1);
    struct flow_key k = key4(17, 4001, 5000);
    struct flow_val v;
    assert_true(lookup(&k, &v));
    assert_int_equal(v.bytes, 30);
}

static void gso_tcp_counts_every_segment(void **state)
{
    (void)state;
    NEED_BPF();
    /* one GSO packet of 2 segments (a test run takes at most a page): 32-byte TCP
     * header (timestamps), 2 x 1448 B of payload */
    static uint8_t f[14 + 20 + 32 + 2896];
    size_t n = eth(f, 0x0800);
    n += ip4(f + n, 6, (uint16_t)(20 + 32 + 2896), 0x4000, A, B);
    ports(f + n, 40000, 7000);
    f[n + 12] = 8 << 4; /* doff 8 */
    f[n + 13] = 0x18;   /* PSH ACK */
    run(f, sizeof f, 2);
    /* and a SYN-ACK alone */
    uint8_t g[14 + 20 + 40];
    memset(g, 0, sizeof g);
    n = eth(g, 0x0800);
    n += ip4(g + n, 6, 60, 0, A, B);
    ports(g + n, 40000, 7000);
    g[n + 12] = 10 << 4;
    g[n + 13] = 0x12;
    run(g, sizeof g, 1);
    struct flow_key k = key4(6, 40000, 7000);
    struct flow_val v;
    assert_true(lookup(&k, &v));
    assert_int_equal(v.packets, 3);
    /* every segment: 20 + 32 header bytes; the payload once; the SYN-ACK 60 */
    assert_int_equal(v.bytes, 2896 + 2 * 52 + 60);
    assert_int_equal(v.tcp_flags, 0x18 | 0x12 | FLOWCAP_TCP_SYNACK);
}

static void icmp_id_and_type_code(void **state)
{
    (void)state;
    NEED_BPF();
    uint8_t f[14 + 20 + 8 + 56];
    memset(f, 0, sizeof f);
    size_t n = eth(f, 0x0800);
    n += ip4(f + n, 1, 84, 0, A, B);
    f[n] = 8; /* echo request */
    f[n + 4] = 0x12;
    f[n + 5] = 0x34;
    run(f, sizeof f, 1);
    f[n] = 3; /* port unreachable: no identifier */
    f[n + 1] = 3;
    run(f, sizeof f, 1);
    struct flow_key k = key4(1, 0x1234, 8 << 8);
    struct flow_val v;
    assert_true(lookup(&k, &v));
    assert_int_equal(v.packets, 1);
    assert_int_equal(v.bytes, 84);
    k = key4(1, 0, 3 << 8 | 3);
    assert_true(lookup(&k, &v));
}

static void ipv6_extension_header_and_fragment(void **state)
{
    (void)state;
    NEED_BPF();
    uint8_t f[14 + 40 + 8 + 8 + 20];
    memset(f, 0, sizeof f);
    size_t n = eth(f, 0x86dd);
    uint8_t *ip = f + n;
    ip[0] = 0x60;
    ip[4] = 0;
    ip[5] = 8 + 8 + 20; /* payload length */
    ip[6] = 0;          /* hop-by-hop options first */
    ip[7] = 64;
    ip[8] = 0xfd;
    ip[23] = 1;
    ip[24] = 0xfd;
    ip[39] = 2;
    ip[40] = 17; /* hop-by-hop: next header UDP, length 0 (8 bytes) */
    ports(ip + 48, 5353, 53);
    run(f, sizeof f, 1);
    struct flow_key k;
    memset(&k, 0, sizeof k);
    k.slot = SLOT;
    k.src[0] = k.dst[0] = 0xfd;
    k.src[15] = 1;
    k.dst[15] = 2;
    k.sport = 5353;
    k.dport = 53;
    k.proto = 17;
    k.family = FLOW_FAMILY_V6;
    k.dir = FLOW_DIR_OUT;
    struct flow_val v;
    assert_true(lookup(&k, &v));
    assert_int_equal(v.bytes, 40 + 36);

    /* an IPv4 fragment that is not the first: no ports */
    uint8_t g[14 + 20 + 16];
    memset(g, 0, sizeof g);
    n = eth(g, 0x0800);
    n += ip4(g + n, 17, 36, 185, A, B); /* offset 185 * 8 */
    ports(g + n, 1111, 2222);           /* payload bytes that only look like ports */
    run(g, sizeof g, 1);
    k = key4(17, 0, 0);
    assert_true(lookup(&k, &v));
    assert_int_equal(v.bytes, 36);
}

static void vlan_nonip_and_unwatched(void **state)
{
    (void)state;
    NEED_BPF();
    uint8_t f[14 + 4 + 20 + 8 + 10];
    memset(f, 0, sizeof f);
    eth(f, 0x8100);
    f[14] = 0;
    f[15] = 42;
    f[16] = 0x08;
    f[17] = 0x00;
    ip4(f + 18, 17, 38, 0, A, B);
    ports(f + 38, 4242, 5000);
    run(f, sizeof f, 1);
    struct flow_key k = key4(17, 4242, 5000);
    struct flow_val v;
    assert_true(lookup(&k, &v));
    assert_int_equal(v.bytes, 38);

    uint8_t arp[60];
    memset(arp, 0, sizeof arp);
    eth(arp, 0x0806);
    run(arp, sizeof arp, 1); /* not IP: nothing, and no crash */

    /* the device is no longer watched: nothing counted */
    uint32_t ifx = 1;
    bpf_map__delete_elem(skel->maps.devs, &ifx, sizeof ifx, 0);
    uint8_t g[14 + 20 + 8];
    size_t n = eth(g, 0x0800);
    n += ip4(g + n, 17, 28, 0, A, B);
    ports(g + n, 4343, 5000);
    run(g, sizeof g, 1);
    k = key4(17, 4343, 5000);
    assert_false(lookup(&k, &v));
    struct flowcap_dev d = {.slot = SLOT, .l2len = 14};
    bpf_map__update_elem(skel->maps.devs, &ifx, sizeof ifx, &d, sizeof d, 0);
}

/* A shared device (FLOWCAP_DEV_BY_ADDR): each packet is counted for the ENI
 * of its source address (out) and the ENI of its destination address (in),
 * at either hook; a packet of no listed address is not counted; IPv6 too. */
static void shared_device_by_address(void **state)
{
    (void)state;
    NEED_BPF();
    uint32_t ifx = 1;
    struct flowcap_dev d = {.slot = SLOT, .l2len = 14, .flags = FLOWCAP_DEV_BY_ADDR};
    assert_int_equal(bpf_map__update_elem(skel->maps.devs, &ifx, sizeof ifx, &d, sizeof d, 0), 0);
    struct flowcap_addr a;
    memset(&a, 0, sizeof a);
    a.addr[10] = a.addr[11] = 0xff;
    memcpy(a.addr + 12, A, 4);
    uint32_t sa = 21, sb = 22;
    assert_int_equal(bpf_map__update_elem(skel->maps.byaddr, &a, sizeof a, &sa, sizeof sa, 0), 0);
    uint8_t f[14 + 20 + 8 + 12];
    size_t n = eth(f, 0x0800);
    n += ip4(f + n, 17, 40, 0, A, B);
    ports(f + n, 4100, 5100);
    run(f, sizeof f, 1); /* A -> B: only A is listed: A's out */
    struct flow_key k = key4(17, 4100, 5100), kb;
    k.slot = sa;
    k.dir = FLOW_DIR_OUT;
    struct flow_val v;
    assert_true(lookup(&k, &v));
    assert_int_equal(v.packets, 1);
    assert_int_equal(v.bytes, 40);
    kb = k;
    kb.slot = SLOT; /* the device's own slot is not used on a shared device */
    assert_false(lookup(&kb, &v));

    /* B listed too: the same packet is A's out and B's in */
    memcpy(a.addr + 12, B, 4);
    assert_int_equal(bpf_map__update_elem(skel->maps.byaddr, &a, sizeof a, &sb, sizeof sb, 0), 0);
    ports(f + 14 + 20, 4101, 5101);
    run(f, sizeof f, 1);
    k = key4(17, 4101, 5101);
    k.slot = sa;
    assert_true(lookup(&k, &v));
    assert_int_equal(v.packets, 1);
    kb = k;
    kb.slot = sb;
    kb.dir = FLOW_DIR_IN;
    assert_true(lookup(&kb, &v));
    assert_int_equal(v.packets, 1);
    assert_int_equal(v.bytes, 40);

    /* neither address listed: not counted */
    static const uint8_t C[4] = {10, 9, 9, 9}, D[4] = {10, 9, 9, 8};
    n = eth(f, 0x0800);
    ip4(f + n, 17, 40, 0, C, D);
    ports(f + n + 20, 4102, 5102);
    run(f, sizeof f, 1);
    k = key4(17, 4102, 5102);
    memcpy(k.src + 12, C, 4);
    memcpy(k.dst + 12, D, 4);
    for (uint32_t s = 0; s < 64; s++)
        for (uint8_t dir = 0; dir < 2; dir++) {
            k.slot = s;
            k.dir = dir;
            assert_false(lookup(&k, &v));
        }

    /* IPv6: a listed destination only: its in */
    uint8_t g[14 + 40 + 8];
    memset(g, 0, sizeof g);
    n = eth(g, 0x86dd);
    g[n] = 0x60;
    g[n + 5] = 8;
    g[n + 6] = 17;
    g[n + 7] = 64;
    uint8_t s6[16] = {0xfd, 0x93, 0, 4, [15] = 2}, d6[16] = {0xfd, 0x93, 0, 5, [15] = 2};
    memcpy(g + n + 8, s6, 16);
    memcpy(g + n + 24, d6, 16);
    ports(g + n + 40, 4103, 5103);
    memcpy(a.addr, d6, 16);
    assert_int_equal(bpf_map__update_elem(skel->maps.byaddr, &a, sizeof a, &sb, sizeof sb, 0), 0);
    run(g, sizeof g, 1);
    memset(&k, 0, sizeof k);
    memcpy(k.src, s6, 16);
    memcpy(k.dst, d6, 16);
    k.sport = 4103;
    k.dport = 5103;
    k.proto = 17;
    k.family = FLOW_FAMILY_V6;
    k.slot = sb;
    k.dir = FLOW_DIR_IN;
    assert_true(lookup(&k, &v));
    assert_int_equal(v.packets, 1);
    assert_int_equal(v.bytes, 48);
    k.slot = sb;
    k.dir = FLOW_DIR_OUT;
    assert_false(lookup(&k, &v));

    /* back to a device of its own for the other cases */
    d.flags = 0;
    bpf_map__update_elem(skel->maps.devs, &ifx, sizeof ifx, &d, sizeof d, 0);
}

static void full_table_counts_skipped(void **state)
{
    (void)state;
    NEED_BPF();
    /* a fresh object with 4 flows per CPU and half */
    struct flowcap *big = skel;
    if (setup_skel(4) != 0)
        fail_msg("%s", why);
    /* on one CPU: each CPU has its own 4 entries per half */
    cpu_set_t old, one;
    assert_int_equal(sched_getaffinity(0, sizeof old, &old), 0);
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    uint8_t f[14 + 20 + 8];
    size_t n = eth(f, 0x0800);
    n += ip4(f + n, 17, 28, 0, A, B);
    for (uint16_t p = 0; p < 10; p++) {
        ports(f + n, (uint16_t)(6000 + p), 5000);
        run(f, sizeof f, 1);
    }
    assert_int_equal(sched_setaffinity(0, sizeof old, &old), 0);
    /* the packets of the 6 flows that found no room, on (half, slot, out) */
    uint64_t skipped = skipped_out();
    uint64_t counted = 0;
    for (uint16_t p = 0; p < 10; p++) {
        struct flow_key k = key4(17, (uint16_t)(6000 + p), 5000);
        struct flow_val v;
        if (lookup(&k, &v))
            counted += v.packets;
    }
    /* 4 fit (8 if a window boundary fell between the runs); the rest were counted as skipped */
    assert_true(counted == 4 || counted == 8);
    assert_int_equal(counted + skipped, 10);
    flowcap__destroy(skel);
    skel = big;
    slots = 1024;
}

/* Keys whose probes all land on taken entries are skipped and counted even
 * though the region has room: 17 keys of one bucket in a 64-entry region,
 * on one CPU, give 16 entries (FLOWCAP_PROBES) and one skipped packet; the
 * region's fill list names exactly the 16 entries taken. */
static void bounded_probes_count_skipped(void **state)
{
    (void)state;
    NEED_BPF();
    struct flowcap *big = skel;
    uint32_t big_slots = slots;
    if (setup_skel(64) != 0)
        fail_msg("%s", why);
    cpu_set_t old, one;
    assert_int_equal(sched_getaffinity(0, sizeof old, &old), 0);
    int cpu = sched_getcpu();
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    /* 17 source ports whose keys hash to one bucket */
    uint16_t sp[FLOWCAP_PROBES + 1];
    uint32_t bucket = 0, got = 0;
    for (uint32_t p = 1000; p < 65535 && got < FLOWCAP_PROBES + 1; p++) {
        struct flow_key k = key4(17, (uint16_t)p, 5000);
        uint32_t b = flowcap_hash(&k) % 64;
        if (got == 0)
            bucket = b;
        if (b == bucket)
            sp[got++] = (uint16_t)p;
    }
    assert_int_equal(got, FLOWCAP_PROBES + 1);
    /* the program's clock here is CLOCK_BOOTTIME (the loader sets no offset) */
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    uint64_t w0 = (uint64_t)ts.tv_sec / 300;
    uint8_t f[14 + 20 + 8];
    size_t n = eth(f, 0x0800);
    n += ip4(f + n, 17, 28, 0, A, B);
    for (uint32_t i = 0; i < got; i++) {
        ports(f + n, sp[i], 5000);
        run(f, sizeof f, 1);
    }
    clock_gettime(CLOCK_BOOTTIME, &ts);
    uint64_t w1 = (uint64_t)ts.tv_sec / 300;
    assert_int_equal(sched_setaffinity(0, sizeof old, &old), 0);
    uint64_t skipped = skipped_out();
    uint64_t counted = 0;
    for (uint32_t i = 0; i < got; i++) {
        struct flow_key k = key4(17, sp[i], 5000);
        struct flow_val v;
        if (lookup(&k, &v))
            counted += v.packets;
    }
    assert_int_equal(counted + skipped, got);
    if (w0 == w1) {
        assert_int_equal(skipped, 1);
        /* the fill list of this CPU's region of the window's half (the other half's is empty) */
        uint32_t total = 0;
        for (uint32_t half = 0; half < 2; half++) {
            uint32_t fi = ((uint32_t)cpu * 2 + half) * (64 + 1);
            uint64_t cnt = 0;
            assert_int_equal(
                bpf_map__lookup_elem(skel->maps.fill, &fi, sizeof fi, &cnt, sizeof cnt, 0), 0);
            total += cnt;
        }
        assert_int_equal(total, FLOWCAP_PROBES);
    }
    flowcap__destroy(skel);
    skel = big;
    slots = big_slots;
}

/* A drain as capture.c does it (walk each region's fill list through mmap,
 * zero the entries, empty the list), then more packets: counted afresh. */
static void drained_region_counts_again(void **state)
{
    (void)state;
    NEED_BPF();
    int ncpu = libbpf_num_possible_cpus();
    size_t tl = (size_t)ncpu * 2 * slots * sizeof(struct flowcap_entry);
    size_t fl = (size_t)ncpu * 2 * (slots + 1) * sizeof(uint64_t);
    long page = sysconf(_SC_PAGESIZE);
    tl = (tl + (size_t)page - 1) / (size_t)page * (size_t)page;
    fl = (fl + (size_t)page - 1) / (size_t)page * (size_t)page;
    struct flowcap_entry *t = mmap(NULL, tl, PROT_READ | PROT_WRITE, MAP_SHARED,
                                   bpf_map__fd(skel->maps.table), 0);
    uint64_t *f = mmap(NULL, fl, PROT_READ | PROT_WRITE, MAP_SHARED,
                       bpf_map__fd(skel->maps.fill), 0);
    assert_true(t != MAP_FAILED && f != MAP_FAILED);
    uint8_t fr[14 + 20 + 8];
    size_t n = eth(fr, 0x0800);
    n += ip4(fr + n, 17, 28, 0, A, B);
    for (int round = 0; round < 3; round++) {
        /* drain everything */
        for (size_t r = 0; r < (size_t)ncpu * 2; r++) {
            uint64_t *list = f + r * (slots + 1);
            for (uint64_t i = 0; i < list[0]; i++) {
                assert_true(list[1 + i] < slots);
                struct flowcap_entry *e = &t[r * slots + list[1 + i]];
                assert_true(e->used);
                memset(e, 0, sizeof *e);
            }
            list[0] = 0;
        }
        for (size_t i = 0; i < (size_t)ncpu * 2 * slots; i++)
            assert_false(t[i].used); /* every taken entry was on a list */
        for (uint16_t p = 0; p < 20; p++) {
            ports(fr + n, (uint16_t)(7000 + p), 5000);
            run(fr, sizeof fr, 1);
        }
        uint64_t listed = 0;
        for (size_t r = 0; r < (size_t)ncpu * 2; r++)
            listed += f[r * (slots + 1)];
        assert_int_equal(listed, 20);
        for (uint16_t p = 0; p < 20; p++) {
            struct flow_key k = key4(17, (uint16_t)(7000 + p), 5000);
            struct flow_val v;
            assert_true(lookup(&k, &v));
            assert_int_equal(v.packets, 1);
        }
    }
    munmap(t, tl);
    munmap(f, fl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(udp_v4_bytes_and_ports),
        cmocka_unit_test(padded_frame_counts_ip_bytes),
        cmocka_unit_test(gso_tcp_counts_every_segment),
        cmocka_unit_test(icmp_id_and_type_code),
        cmocka_unit_test(ipv6_extension_header_and_fragment),
        cmocka_unit_test(vlan_nonip_and_unwatched),
        cmocka_unit_test(shared_device_by_address),
        cmocka_unit_test(full_table_counts_skipped),
        cmocka_unit_test(bounded_probes_count_skipped),
        cmocka_unit_test(drained_region_counts_again),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
