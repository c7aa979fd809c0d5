/* flowcap.bpf.c: the tc programs that aggregate a watched device's packets
 * into flows in the kernel, and the drop tracer that turns the host's own
 * verdicts (netfilter, tc actions, qdiscs) into REJECT.
 *
 * Built with clang -target bpf; loaded by capture.c through its generated
 * skeleton. One loaded object serves the watched devices of one network
 * namespace (the one the agent attached it in).
 *
 * Counting: a packet is counted once per watched device it crosses, in the
 * window of the moment it crosses (realtime, epoch-aligned windows), into
 * the half of the table chosen by the window number's parity, so the agent
 * drains a closed window while the kernel fills the other half. The table
 * is an mmapable array with one open-addressing region per CPU and half
 * (flowcap_abi.h), keyed by struct flow_key (flow/flow_key.h); the drainer
 * reads it through mmap and merges the CPUs' entries. A key whose bounded
 * probes find no room is not counted there: its packets go to the skip
 * counter of (half, slot, direction), and that window says SKIPDATA.
 *
 * Verdicts: tc ingress of an ENI's host-side device runs before the host's
 * firewall, so it counts a packet leaving the ENI as ACCEPT and remembers it
 * (per CPU: the skb, its key, its half, what it added). If the same skb is
 * then dropped for a verdict reason on the same CPU (the firewall runs
 * synchronously inside the same receive call), the tracer moves exactly
 * those counts from the ACCEPT entry to the REJECT entry. Traffic towards an
 * ENI is counted at tc egress of its device, which runs after the firewall:
 * what reaches it was accepted (a qdisc drop right after is moved like
 * above); a packet dropped before reaching it is attributed to the ENI by
 * its destination address (the addrs map) and counted as REJECT.
 *
 * Shared devices (FLOWCAP_DEV_BY_ADDR: a bridge port or an uplink carrying
 * several ENIs' traffic that never crosses a device of their own here): a
 * packet is counted for the ENI of its source address (out) and for the ENI
 * of its destination address (in), both found in the byaddr map; a verdict's
 * drop of a packet from or to such an address that no watched device saw is
 * that ENI's REJECT. See docs/ARCHITECTURE.md, "Data plane". */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "flow/flow_key.h"
#include "flow/bpf/flowcap_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ==== Kernel types, read with CO-RE (relocated against the kernel's BTF) ==== */

struct ns_common___fl { unsigned int inum; } __attribute__((preserve_access_index));
struct net___fl { struct ns_common___fl ns; } __attribute__((preserve_access_index));
struct net_device___fl {
    int ifindex;
    struct { struct net___fl *net; } nd_net;
} __attribute__((preserve_access_index));
struct skb_shared_info___fl { unsigned short gso_segs; } __attribute__((preserve_access_index));
struct sk_buff___fl {
    struct net_device___fl *dev;
    unsigned int len;
    int skb_iif;
    unsigned char *head;
    unsigned char *data;
    unsigned int end;
    unsigned short network_header;
} __attribute__((preserve_access_index));

enum skb_drop_reason___fl {
    SKB_DROP_REASON_NETFILTER_DROP___fl,
    SKB_DROP_REASON_TC_EGRESS___fl,
    SKB_DROP_REASON_TC_INGRESS___fl,
    SKB_DROP_REASON_QDISC_DROP___fl,
    SKB_DROP_REASON_QDISC_OVERLIMIT___fl,
    SKB_DROP_REASON_QDISC_CONGESTED___fl,
    SKB_DROP_REASON_CAKE_FLOOD___fl,
    SKB_DROP_REASON_FQ_BAND_LIMIT___fl,
    SKB_DROP_REASON_FQ_HORIZON_LIMIT___fl,
    SKB_DROP_REASON_FQ_FLOW_LIMIT___fl,
};

/* ==== Maps and configuration ==== */

/* set by the loader before load (max_entries) or through the mmapped .bss */
volatile __u64 cfg_window_ns = 300ULL * 1000000000ULL; /* capture window */
volatile __u64 cfg_rt_off_ns;     /* CLOCK_REALTIME - CLOCK_BOOTTIME */
volatile __u32 cfg_netns_inum;    /* the netns this object watches */
volatile __u64 half_window[2];    /* last window number seen in each half */

/* the table's shape, fixed before load (the verifier knows them) */
const volatile __u32 cfg_slots = 65536; /* entries per region (CPU and half) */
const volatile __u32 cfg_ncpu = 1;      /* possible CPUs: regions 2 * cfg_ncpu */

/* the flow table (flowcap_abi.h): ncpu * 2 regions of cfg_slots entries */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 2 * 65536); /* the loader sets ncpu * 2 * slots */
    __type(key, __u32);
    __type(value, struct flowcap_entry);
} table SEC(".maps");

/* the regions' fill lists: ncpu * 2 * (slots + 1) words (of 64 bits: an
 * array's elements are 8-byte aligned, so that is what a mapping sees) */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 2 * 65537);
    __type(key, __u32);
    __type(value, __u64);
} fill SEC(".maps");

/* ifindex -> the device's slot and link-header length */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FLOWCAP_MAX_SLOTS);
    __type(key, __u32);
    __type(value, struct flowcap_dev);
} devs SEC(".maps");

/* an ENI's addresses (16 bytes, IPv4 v4-mapped) -> its slot */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FLOWCAP_MAX_ADDRS);
    __type(key, struct flowcap_addr);
    __type(value, __u32);
} addrs SEC(".maps");

/* the addresses of ENIs seen on shared devices (FLOWCAP_DEV_BY_ADDR): a
 * packet from one is that ENI's "out", a packet to one its "in"; a verdict
 * drop of such a packet anywhere in the namespace is that ENI's REJECT */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FLOWCAP_MAX_ADDRS);
    __type(key, struct flowcap_addr);
    __type(value, __u32);
} byaddr SEC(".maps");

/* packets not counted because the table had no room: [cpu][half][slot][dir]
 * (each CPU its own counters, read and cleared by the drainer through mmap) */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 2 * FLOWCAP_MAX_SLOTS * 2); /* the loader sets ncpu times this */
    __type(key, __u32);
    __type(value, __u64);
} skips SEC(".maps");

/* the last packet counted on this CPU, for a verdict that follows it: on
 * a shared device one packet can be two ENIs' (its source's and its
 * destination's), so up to two keys */
struct last_pkt {
    __u64 skb;
    struct flow_key key[2];
    __u32 idx[2];    /* their entries in the table */
    __u32 n;         /* keys counted (a key the full table skipped is not here) */
    __u32 half;
    __u32 ifindex;
    __u32 egress;    /* counted at tc egress (after the firewall), else ingress */
    __u64 packets, bytes;
    __u32 tcp_flags, pad;
    __u64 now;
    __u64 prev_first[2], prev_last[2]; /* the entries' times before this packet */
    __u64 win, win_start, win_end; /* this CPU's last window: no division per packet */
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct last_pkt);
} lastpkt SEC(".maps");

/* ==== Parsing: headers copied into a buffer, from an skb or kernel memory ==== */

#define HDR_MAX 128

struct parsed {
    __u64 packets, bytes;
    __u32 tcp_flags;
};

static __always_inline void v4mapped(__u8 *dst, const __u8 *a)
{
    __builtin_memset(dst, 0, 10);
    dst[10] = 0xff;
    dst[11] = 0xff;
    dst[12] = a[0];
    dst[13] = a[1];
    dst[14] = a[2];
    dst[15] = a[3];
}

/* Reads the L4 ports or ICMP fields at h[off]. */
static __always_inline void parse_l4(const __u8 *h, __u32 off, __u32 n, struct flow_key *k,
                                     struct parsed *p, __u32 *l4len)
{
    off &= HDR_MAX - 1;
    *l4len = 0;
    if (k->proto == IPPROTO_TCP) {
        if (off + 20 > n || off + 20 > HDR_MAX)
            return;
        k->sport = (__u16)(h[off] << 8 | h[off + 1]);
        k->dport = (__u16)(h[off + 2] << 8 | h[off + 3]);
        p->tcp_flags = h[off + 13] | ((h[off + 12] & 1) << 8);
        if ((h[off + 13] & 0x12) == 0x12)
            p->tcp_flags |= FLOWCAP_TCP_SYNACK;
        *l4len = (__u32)(h[off + 12] >> 4) * 4;
    } else if (k->proto == IPPROTO_UDP) {
        if (off + 8 > n || off + 8 > HDR_MAX)
            return;
        k->sport = (__u16)(h[off] << 8 | h[off + 1]);
        k->dport = (__u16)(h[off + 2] << 8 | h[off + 3]);
        *l4len = 8;
    } else if (k->proto == IPPROTO_ICMP || k->proto == 58 /* ICMPv6 */) {
        if (off + 8 > n || off + 8 > HDR_MAX)
            return;
        __u8 type = h[off], code = h[off + 1];
        k->dport = (__u16)(type << 8 | code);
        int echo = k->proto == IPPROTO_ICMP ? (type == 0 || type == 8)
                                            : (type == 128 || type == 129);
        if (echo)
            k->sport = (__u16)(h[off + 4] << 8 | h[off + 5]);
    }
}

/* Parses the IP packet whose first n bytes are in h (n <= HDR_MAX).
 * l3len: the packet's bytes from the IP header on; segs: its GSO segments.
 * Returns 0, or -1 for what is not IPv4/IPv6. */
static __always_inline int parse_ip(const __u8 *h, __u32 n, __u64 l3len, __u32 segs,
                                    struct flow_key *k, struct parsed *p)
{
    __u32 hdr, l4len = 0;
    if (n < 20)
        return -1;
    __u8 ver = h[0] >> 4;
    if (segs == 0)
        segs = 1;
    if (ver == 4) {
        hdr = (__u32)(h[0] & 0xf) * 4;
        if (hdr < 20)
            return -1;
        k->family = FLOW_FAMILY_V4;
        k->proto = h[9];
        v4mapped(k->src, h + 12);
        v4mapped(k->dst, h + 16);
        __u16 frag = (__u16)((h[6] & 0x1f) << 8 | h[7]);
        if (frag == 0)
            parse_l4(h, hdr, n, k, p, &l4len);
        if (segs == 1) {
            p->bytes = (__u16)(h[2] << 8 | h[3]);
        } else {
            p->bytes = l3len + (__u64)(segs - 1) * (hdr + l4len);
        }
    } else if (ver == 6) {
        if (n < 40)
            return -1;
        k->family = FLOW_FAMILY_V6;
        __builtin_memcpy(k->src, h + 8, 16);
        __builtin_memcpy(k->dst, h + 24, 16);
        __u8 nh = h[6];
        hdr = 40;
        /* extension headers: hop-by-hop, routing, destination options, fragment */
#pragma unroll
        for (int i = 0; i < 4; i++) {
            if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
                break;
            if (hdr + 8 > n || hdr + 8 > HDR_MAX)
                break;
            __u8 next = h[hdr & (HDR_MAX - 1)];
            if (nh == 44) {
                __u16 fo = (__u16)(h[(hdr + 2) & (HDR_MAX - 1)] << 8 |
                                   h[(hdr + 3) & (HDR_MAX - 1)]) & 0xfff8;
                hdr += 8;
                nh = next;
                if (fo != 0) {
                    nh = 0xff; /* not the first fragment: no L4 header */
                    break;
                }
            } else {
                hdr += ((__u32)h[(hdr + 1) & (HDR_MAX - 1)] + 1) * 8;
                nh = next;
            }
        }
        if (nh == 0xff) {
            k->proto = 44;
        } else {
            k->proto = nh;
            parse_l4(h, hdr, n, k, p, &l4len);
        }
        if (segs == 1)
            p->bytes = 40 + (__u16)(h[4] << 8 | h[5]);
        else
            p->bytes = l3len + (__u64)(segs - 1) * (hdr + l4len);
    } else {
        return -1;
    }
    p->packets = segs;
    return 0;
}

/* ==== Accounting ==== */

static __always_inline __u64 now_rt(void)
{
    return bpf_ktime_get_boot_ns() + cfg_rt_off_ns;
}

static __always_inline void count_skip(__u32 half, __u32 slot, __u32 dir, __u64 packets)
{
    __u32 cpu = bpf_get_smp_processor_id();
    if (cpu >= cfg_ncpu)
        cpu = 0; /* not expected (possible CPUs); the add below is atomic anyway */
    __u32 i = (cpu * 2 + (half & 1)) * FLOWCAP_MAX_SLOTS * 2 + (slot % FLOWCAP_MAX_SLOTS) * 2 +
              (dir & 1);
    __u64 *c = bpf_map_lookup_elem(&skips, &i);
    if (c)
        __sync_fetch_and_add(c, packets); /* rare: only a packet that found no room */
}

static __always_inline int key_eq(const struct flow_key *a, const struct flow_key *b)
{
    const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
    __u32 d = 0;
#pragma unroll
    for (int i = 0; i < 11; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

/* The entry of key k in this CPU's region of the half, taken if it is new
 * (its index in *idx); NULL if its probes found neither it nor room. */
static __always_inline struct flowcap_entry *find(__u32 half, const struct flow_key *k, __u32 *idx,
                                                  int *is_new)
{
    __u32 cpu = bpf_get_smp_processor_id();
    if (cpu >= cfg_ncpu)
        return NULL;
    __u32 region = cpu * 2 + (half & 1);
    __u32 base = region * cfg_slots;
    __u32 h = flowcap_hash(k) % cfg_slots;
    for (__u32 i = 0; i < FLOWCAP_PROBES; i++) {
        __u32 j = base + h;
        struct flowcap_entry *e = bpf_map_lookup_elem(&table, &j);
        if (!e)
            return NULL;
        if (!e->used) {
            /* take it: note it in the region's fill list for the drainer */
            __u32 fi = region * (cfg_slots + 1);
            __u64 *cnt = bpf_map_lookup_elem(&fill, &fi);
            if (!cnt || *cnt >= cfg_slots)
                return NULL;
            __u32 li = fi + 1 + (__u32)*cnt;
            __u64 *slot = bpf_map_lookup_elem(&fill, &li);
            if (!slot)
                return NULL;
            *slot = h;
            *cnt += 1;
            __builtin_memcpy(&e->key, k, sizeof *k);
            e->used = 1;
            *idx = j;
            *is_new = 1;
            return e;
        }
        if (key_eq(&e->key, k)) {
            *idx = j;
            *is_new = 0;
            return e;
        }
        h = h + 1 == cfg_slots ? 0 : h + 1;
    }
    return NULL;
}

/* Adds a packet to its entry in the half's table (this CPU's region: no
 * atomics). Returns the entry's first/last times before the packet in *pf /
 * *pl (0 for a new entry) and its index in *idx, or -1 if the table had no
 * room for it and it was skipped. */
static __always_inline int account(__u32 half, const struct flow_key *k, const struct parsed *p,
                                   __u64 now, __u64 *pf, __u64 *pl, __u32 *idx)
{
    int is_new = 0;
    struct flowcap_entry *e = find(half, k, idx, &is_new);
    if (!e) {
        count_skip(half, k->slot, k->dir, p->packets);
        return -1;
    }
    struct flow_val *v = &e->val;
    *pf = v->first_ns;
    *pl = v->last_ns;
    v->packets += p->packets;
    v->bytes += p->bytes;
    v->tcp_flags |= p->tcp_flags;
    if (v->first_ns == 0)
        v->first_ns = now;
    v->last_ns = now;
    return 0;
}

static __always_inline int on_packet(struct __sk_buff *skb, __u32 egress)
{
    __u32 ifindex = skb->ifindex;
    struct flowcap_dev *d = bpf_map_lookup_elem(&devs, &ifindex);
    if (!d)
        return TC_ACT_UNSPEC;
    __u32 l2 = d->l2len, flags = d->flags, dslot = d->slot;
    if (l2 == 14) {
        __u16 proto = bpf_ntohs(skb->protocol);
        if (proto == ETH_P_8021Q) {
            /* an in-band VLAN tag (not offloaded) shifts the IP header */
            __u8 et[2];
            if (bpf_skb_load_bytes(skb, 16, et, 2) != 0)
                return TC_ACT_UNSPEC;
            proto = (__u16)(et[0] << 8 | et[1]);
            l2 = 18;
        }
        if (proto != ETH_P_IP && proto != ETH_P_IPV6)
            return TC_ACT_UNSPEC;
    }
    if (skb->len <= l2)
        return TC_ACT_UNSPEC;
    __u64 n = (__u64)skb->len - l2;
    if (n > HDR_MAX)
        n = HDR_MAX;
    __u8 h[HDR_MAX];
    asm volatile("" : "+r"(n)); /* keep the bound checks on the register passed */
    if (n < 20 || n > HDR_MAX)
        return TC_ACT_UNSPEC;
    if (bpf_skb_load_bytes(skb, l2, h, n) != 0)
        return TC_ACT_UNSPEC;
    struct flow_key k = {};
    struct parsed p = {};
    if (parse_ip(h, (__u32)n, skb->len - l2, skb->gso_segs, &k, &p) != 0)
        return TC_ACT_UNSPEC;
    k.action = FLOW_ACCEPT;

    /* whose packet: the device's resource, in the hook's direction; or on a
     * shared device the ENIs of its source (out) and destination (in) */
    __u32 slots[2], dirs[2], nk = 0;
    if (flags & FLOWCAP_DEV_BY_ADDR) {
        struct flowcap_addr a = {};
        __builtin_memcpy(a.addr, k.src, 16);
        __u32 *s = bpf_map_lookup_elem(&byaddr, &a);
        if (s) {
            slots[0] = *s;
            dirs[0] = FLOW_DIR_OUT;
            nk = 1;
        }
        __builtin_memcpy(a.addr, k.dst, 16);
        s = bpf_map_lookup_elem(&byaddr, &a);
        if (s) {
            slots[nk & 1] = *s;
            dirs[nk & 1] = FLOW_DIR_IN;
            nk++;
        }
        if (nk == 0)
            return TC_ACT_UNSPEC;
    } else {
        slots[0] = dslot;
        dirs[0] = egress ? FLOW_DIR_IN : FLOW_DIR_OUT; /* the resource's view */
        nk = 1;
    }

    __u32 zero = 0;
    struct last_pkt *lp = bpf_map_lookup_elem(&lastpkt, &zero);
    __u64 now = now_rt(), w;
    if (lp && now >= lp->win_start && now < lp->win_end) {
        w = lp->win;
    } else {
        w = now / cfg_window_ns;
        if (lp) {
            lp->win = w;
            lp->win_start = w * cfg_window_ns;
            lp->win_end = lp->win_start + cfg_window_ns;
        }
    }
    __u32 half = (__u32)(w & 1);
    if (half_window[half] != w)
        half_window[half] = w;
    __u32 counted = 0;
    for (__u32 i = 0; i < 2; i++) { /* a bounded loop: the verifier walks both */
        if (i >= nk)
            break;
        k.slot = slots[i];
        k.dir = (__u8)dirs[i];
        __u64 pf, pl;
        __u32 idx;
        if (account(half, &k, &p, now, &pf, &pl, &idx) != 0 || !lp)
            continue;
        __builtin_memcpy(&lp->key[counted & 1], &k, sizeof k);
        lp->idx[counted & 1] = idx;
        lp->prev_first[counted & 1] = pf;
        lp->prev_last[counted & 1] = pl;
        counted++;
    }
    if (lp) {
        lp->skb = counted ? (__u64)(unsigned long)skb : 0;
        lp->n = counted;
        lp->half = half;
        lp->ifindex = ifindex;
        lp->egress = egress;
        lp->packets = p.packets;
        lp->bytes = p.bytes;
        lp->tcp_flags = p.tcp_flags;
        lp->now = now;
    }
    return TC_ACT_UNSPEC;
}

SEC("tc")
int flowcap_ingress(struct __sk_buff *skb)
{
    return on_packet(skb, 0); /* from the resource to the host (own device) */
}

SEC("tc")
int flowcap_egress(struct __sk_buff *skb)
{
    return on_packet(skb, 1); /* from the host to the resource (own device) */
}

/* ==== Verdicts: drops of the host's firewall, tc actions and qdiscs ==== */

#define REASON_IS(r, name)                                                            \
    (bpf_core_enum_value_exists(enum skb_drop_reason___fl, name##___fl) &&            \
     (r) == bpf_core_enum_value(enum skb_drop_reason___fl, name##___fl))

static __always_inline int is_verdict(__u64 r)
{
    return REASON_IS(r, SKB_DROP_REASON_NETFILTER_DROP) ||
           REASON_IS(r, SKB_DROP_REASON_TC_EGRESS) ||
           REASON_IS(r, SKB_DROP_REASON_TC_INGRESS) ||
           REASON_IS(r, SKB_DROP_REASON_QDISC_DROP) ||
           REASON_IS(r, SKB_DROP_REASON_QDISC_OVERLIMIT) ||
           REASON_IS(r, SKB_DROP_REASON_QDISC_CONGESTED) ||
           REASON_IS(r, SKB_DROP_REASON_CAKE_FLOOD) ||
           REASON_IS(r, SKB_DROP_REASON_FQ_BAND_LIMIT) ||
           REASON_IS(r, SKB_DROP_REASON_FQ_HORIZON_LIMIT) ||
           REASON_IS(r, SKB_DROP_REASON_FQ_FLOW_LIMIT);
}

static __always_inline void add_reject(__u32 half, struct flow_key *k, struct parsed *p, __u64 now)
{
    __u64 pf, pl;
    __u32 idx;
    k->action = FLOW_REJECT;
    account(half, k, p, now, &pf, &pl, &idx);
}

/* Has (slot, dir) been moved to REJECT already for this drop? */
static __always_inline int moved_has(const __u32 *ms, const __u32 *md, __u32 nm, __u32 slot,
                                     __u32 dir)
{
    return (nm > 0 && ms[0] == slot && md[0] == dir) || (nm > 1 && ms[1] == slot && md[1] == dir);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(flowcap_drop, struct sk_buff___fl *skb, void *location, __u64 reason)
{
    (void)location;
    if (!is_verdict(reason & 0xffffffff))
        return 0;
    struct net_device___fl *dev = BPF_CORE_READ(skb, dev);
    if (!dev || BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg_netns_inum)
        return 0;

    __u32 zero = 0;
    struct last_pkt *lp = bpf_map_lookup_elem(&lastpkt, &zero);
    struct flow_key k = {};
    struct parsed p = {};
    __u32 ms[2] = {}, md[2] = {}, nm = 0; /* (slot, dir) moved to REJECT */

    /* The packet our tc program counted last on this CPU? Only if it still
     * is where we counted it: a packet that later arrived on (or left by)
     * that device would have passed our program first and replaced it. */
    if (lp && lp->skb == (__u64)(unsigned long)skb) {
        int same = lp->egress ? BPF_CORE_READ(dev, ifindex) == (int)lp->ifindex
                              : BPF_CORE_READ(skb, skb_iif) == (int)lp->ifindex;
        lp->skb = 0;
        if (same) {
            for (__u32 i = 0; i < 2; i++) {
                if (i >= lp->n)
                    break;
                __u32 idx = lp->idx[i];
                struct flowcap_entry *e = bpf_map_lookup_elem(&table, &idx);
                struct flow_val *v = e && e->used && key_eq(&e->key, &lp->key[i]) ? &e->val : NULL;
                if (v && v->packets >= lp->packets && v->bytes >= lp->bytes) {
                    v->packets -= lp->packets;
                    v->bytes -= lp->bytes;
                    if (v->last_ns == lp->now) {
                        v->first_ns = lp->prev_first[i];
                        v->last_ns = lp->prev_last[i];
                    }
                }
                __builtin_memcpy(&k, &lp->key[i], sizeof k);
                p.packets = lp->packets;
                p.bytes = lp->bytes;
                p.tcp_flags = lp->tcp_flags; /* they also stay OR-ed in the ACCEPT entry */
                add_reject(lp->half, &k, &p, lp->now);
                ms[i] = lp->key[i].slot;
                md[i] = lp->key[i].dir;
                nm = i + 1;
            }
            if (lp->egress)
                return 0; /* past the firewall: a qdisc's drop, nothing else to say */
        }
    }

    /* A packet dropped before a watched device saw it: by address. */
    unsigned char *head = BPF_CORE_READ(skb, head);
    unsigned char *data = BPF_CORE_READ(skb, data);
    __u16 nh = BPF_CORE_READ(skb, network_header);
    unsigned int len = BPF_CORE_READ(skb, len);
    unsigned char *ip = head + nh;
    if (ip < data || (__u64)(ip - data) >= len)
        return 0;
    __u32 l3len = len - (__u32)(ip - data);
    __u64 n = l3len > HDR_MAX ? HDR_MAX : l3len;
    __u8 h[HDR_MAX];
    asm volatile("" : "+r"(n));
    if (n < 20 || n > HDR_MAX)
        return 0;
    if (bpf_probe_read_kernel(h, n, ip) != 0)
        return 0;
    unsigned int end = BPF_CORE_READ(skb, end);
    struct skb_shared_info___fl *sh = (void *)(head + end);
    __u16 segs = BPF_CORE_READ(sh, gso_segs);
    struct flow_key d = {};
    struct parsed dp = {};
    if (parse_ip(h, (__u32)n, l3len, segs, &d, &dp) != 0)
        return 0;
    __u64 now = now_rt();
    __u64 w = now / cfg_window_ns;
    __u32 half = (__u32)(w & 1);
    struct flowcap_addr a = {};
    /* towards an ENI with its own device: it never reached that device */
    __builtin_memcpy(a.addr, d.dst, 16);
    __u32 *slot = bpf_map_lookup_elem(&addrs, &a);
    if (slot && !moved_has(ms, md, nm, *slot, FLOW_DIR_IN)) {
        d.slot = *slot;
        d.dir = FLOW_DIR_IN;
        add_reject(half, &d, &dp, now);
    }
    /* to or from an ENI seen on a shared device */
    slot = bpf_map_lookup_elem(&byaddr, &a);
    if (slot && !moved_has(ms, md, nm, *slot, FLOW_DIR_IN)) {
        d.slot = *slot;
        d.dir = FLOW_DIR_IN;
        add_reject(half, &d, &dp, now);
    }
    __builtin_memcpy(a.addr, d.src, 16);
    slot = bpf_map_lookup_elem(&byaddr, &a);
    if (slot && !moved_has(ms, md, nm, *slot, FLOW_DIR_OUT)) {
        d.slot = *slot;
        d.dir = FLOW_DIR_OUT;
        add_reject(half, &d, &dp, now);
    }
    return 0;
}
