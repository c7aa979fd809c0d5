/* table.c: the window's flow table and the packet parser of the offline
 * path.
 *
 * Open addressing over an index of 64-bit cells (high 32 bits: the key's
 * hash, low 32: entry number + 1, 0 = empty) with linear probing; the
 * entries themselves live in a dense array in insertion order, so a scan at
 * drain touches only live flows and the output order is stable. The index
 * has at least twice as many cells as the table has entries, so the load
 * stays <= 50% and a probe always ends. */
#include "flow/flow.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct flow_entry {
    struct flow_key k;
    struct flow_val v;
};

#define SKIP_SLOTS 256

struct flow_table {
    uint64_t *cells;
    uint32_t mask;
    struct flow_entry *e;
    size_t n, max;
    /* skips per slot; once more than SKIP_SLOTS slots skipped, skip_any
     * counts for every slot (each then says SKIPDATA: never silent) */
    struct {
        uint32_t slot;
        uint64_t n;
    } skip[SKIP_SLOTS];
    size_t nskip;
    uint64_t skip_any;
    /* flows grouped by slot for flow_table_each: (slot << 32 | entry), built
     * on the first call after a change, only when the table holds more than
     * one slot (the agent: one slot per watched resource) */
    uint64_t *order;
    int multi, order_valid;
};

/* Zeroed memory for the index and the entries, asking for transparent huge
 * pages: a table of 100k+ flows is touched at random, and with 4 KiB pages
 * nearly every packet would also miss the TLB. */
static void *big_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (n >= (2u << 20))
        madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

static void big_free(void *p, size_t n)
{
    if (p)
        munmap(p, n);
}

struct flow_table *flow_table_new(size_t max_flows)
{
    if (max_flows < 1 || max_flows > (1u << 28))
        return NULL;
    size_t cells = 16;
    while (cells < max_flows * 2)
        cells <<= 1;
    struct flow_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->mask = (uint32_t)(cells - 1);
    t->max = max_flows;
    t->cells = big_alloc(cells * sizeof *t->cells);
    t->e = big_alloc(max_flows * sizeof *t->e);
    t->order = big_alloc(max_flows * sizeof *t->order);
    if (!t->cells || !t->e || !t->order) {
        flow_table_free(t);
        return NULL;
    }
    return t;
}

void flow_table_free(struct flow_table *t)
{
    if (!t)
        return;
    big_free(t->cells, ((size_t)t->mask + 1) * sizeof *t->cells);
    big_free(t->e, t->max * sizeof *t->e);
    big_free(t->order, t->max * sizeof *t->order);
    free(t);
}

void flow_table_clear(struct flow_table *t)
{
    memset(t->cells, 0, ((size_t)t->mask + 1) * sizeof *t->cells);
    t->n = 0;
    t->nskip = 0;
    t->skip_any = 0;
    t->multi = 0;
    t->order_valid = 0;
}

size_t flow_table_count(const struct flow_table *t)
{
    return t->n;
}

size_t flow_table_capacity(const struct flow_table *t)
{
    return t->max;
}

void flow_table_note_skipped(struct flow_table *t, uint32_t slot, uint64_t n)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < t->nskip; i++)
        if (t->skip[i].slot == slot) {
            t->skip[i].n += n;
            return;
        }
    if (t->nskip < SKIP_SLOTS) {
        t->skip[t->nskip].slot = slot;
        t->skip[t->nskip++].n = n;
        return;
    }
    t->skip_any += n;
}

uint64_t flow_table_skipped(const struct flow_table *t, uint32_t slot)
{
    uint64_t n = t->skip_any;
    for (size_t i = 0; i < t->nskip; i++)
        if (t->skip[i].slot == slot)
            n += t->skip[i].n;
    return n;
}

/* The 44 key bytes read as five 8-byte words and one 4-byte word. */
static inline uint64_t key_hash(const struct flow_key *k)
{
    const unsigned char *p = (const unsigned char *)k;
    uint64_t h = 0x9e3779b97f4a7c15ull, w;
    for (int i = 0; i < 5; i++) {
        memcpy(&w, p + 8 * i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    uint32_t w4;
    memcpy(&w4, p + 40, 4);
    h = (h ^ w4) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 32);
}

/* Prefetch hints for the batch path. */
static inline void prefetch_cell(const struct flow_table *t, uint64_t h)
{
    __builtin_prefetch(&t->cells[(uint32_t)h & t->mask], 1, 3);
}

static inline void prefetch_entry(const struct flow_table *t, uint64_t h)
{
    uint64_t c = t->cells[(uint32_t)h & t->mask];
    if (c && (uint32_t)(c >> 32) == (uint32_t)(h >> 32)) {
        const char *e = (const char *)&t->e[(uint32_t)c - 1];
        __builtin_prefetch(e, 1, 3);
        __builtin_prefetch(e + sizeof(struct flow_entry) - 1, 1, 3);
    }
}

/* The entry for k, created (zeroed counters, first_ns = UINT64_MAX) if new;
 * NULL when the table is full. */
static inline struct flow_entry *lookup_h(struct flow_table *t, const struct flow_key *k,
                                          uint64_t h)
{
    uint32_t tag = (uint32_t)(h >> 32);
    uint32_t i = (uint32_t)h & t->mask;
    for (;;) {
        uint64_t c = t->cells[i];
        if (c == 0)
            break;
        if ((uint32_t)(c >> 32) == tag) {
            struct flow_entry *e = &t->e[(uint32_t)c - 1];
            if (memcmp(&e->k, k, sizeof *k) == 0)
                return e;
        }
        i = (i + 1) & t->mask;
    }
    if (t->n == t->max)
        return NULL;
    if (t->n && k->slot != t->e[0].k.slot)
        t->multi = 1;
    t->order_valid = 0;
    struct flow_entry *e = &t->e[t->n++];
    e->k = *k;
    memset(&e->v, 0, sizeof e->v);
    e->v.first_ns = UINT64_MAX;
    t->cells[i] = (uint64_t)tag << 32 | (uint32_t)t->n;
    return e;
}

static inline struct flow_entry *lookup(struct flow_table *t, const struct flow_key *k)
{
    return lookup_h(t, k, key_hash(k));
}

static inline void count(struct flow_entry *e, uint32_t ip_bytes, uint32_t tcp_flags,
                         uint64_t ts_ns)
{
    e->v.packets++;
    e->v.bytes += ip_bytes;
    if (ts_ns < e->v.first_ns)
        e->v.first_ns = ts_ns;
    if (ts_ns > e->v.last_ns)
        e->v.last_ns = ts_ns;
    if ((tcp_flags & 0x12) == 0x12)
        tcp_flags |= FLOW_TCP_SYNACK;
    e->v.tcp_flags |= tcp_flags;
}

int flow_table_add(struct flow_table *t, const struct flow_key *k, uint32_t ip_bytes,
                   uint32_t tcp_flags, uint64_t ts_ns)
{
    struct flow_entry *e = lookup(t, k);
    if (!e) {
        flow_table_note_skipped(t, k->slot, 1);
        return -1;
    }
    count(e, ip_bytes, tcp_flags, ts_ns);
    return 0;
}

#define BATCH 256
#define AHEAD_CELL 16 /* packets ahead whose index cell is prefetched */
#define AHEAD_ENTRY 8 /* ... and whose entry (found through the cell) is */

size_t flow_table_add_batch(struct flow_table *t, const struct flow_pkt *p, size_t n)
{
    uint64_t h[BATCH];
    size_t skipped = 0;
    while (n) {
        size_t m = n < BATCH ? n : BATCH;
        for (size_t i = 0; i < m; i++)
            h[i] = key_hash(&p[i].k);
        for (size_t i = 0; i < m && i < AHEAD_CELL; i++)
            prefetch_cell(t, h[i]);
        for (size_t i = 0; i < m && i < AHEAD_ENTRY; i++)
            prefetch_entry(t, h[i]);
        for (size_t i = 0; i < m; i++) {
            if (i + AHEAD_CELL < m)
                prefetch_cell(t, h[i + AHEAD_CELL]);
            if (i + AHEAD_ENTRY < m)
                prefetch_entry(t, h[i + AHEAD_ENTRY]);
            struct flow_entry *e = lookup_h(t, &p[i].k, h[i]);
            if (!e) {
                flow_table_note_skipped(t, p[i].k.slot, 1);
                skipped++;
                continue;
            }
            count(e, p[i].ip_bytes, p[i].tcp_flags, p[i].ts_ns);
        }
        p += m;
        n -= m;
    }
    return skipped;
}

int flow_table_merge(struct flow_table *t, const struct flow_key *k, const struct flow_val *v)
{
    struct flow_entry *e = lookup(t, k);
    if (!e) {
        flow_table_note_skipped(t, k->slot, v->packets ? v->packets : 1);
        return -1;
    }
    e->v.packets += v->packets;
    e->v.bytes += v->bytes;
    if (v->first_ns < e->v.first_ns)
        e->v.first_ns = v->first_ns;
    if (v->last_ns > e->v.last_ns)
        e->v.last_ns = v->last_ns;
    e->v.tcp_flags |= v->tcp_flags;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int flow_table_each(const struct flow_table *t, uint32_t slot,
                    int (*fn)(void *arg, const struct flow_key *k, const struct flow_val *v),
                    void *arg)
{
    if (!t->multi) { /* one slot (replay, or one resource): every entry or none */
        if (t->n == 0 || t->e[0].k.slot != slot)
            return 0;
        for (size_t i = 0; i < t->n; i++) {
            int rc = fn(arg, &t->e[i].k, &t->e[i].v);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (!t->order_valid) { /* the grouping is a cache: building it changes no flow */
        struct flow_table *w = (struct flow_table *)t;
        for (size_t i = 0; i < t->n; i++)
            w->order[i] = (uint64_t)t->e[i].k.slot << 32 | (uint32_t)i;
        qsort(w->order, t->n, sizeof *w->order, cmp_u64);
        w->order_valid = 1;
    }
    /* the first (slot, 0) at or after slot << 32 */
    size_t lo = 0, hi = t->n;
    uint64_t want = (uint64_t)slot << 32;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->order[mid] < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < t->n && (uint32_t)(t->order[i] >> 32) == slot; i++) {
        const struct flow_entry *e = &t->e[(uint32_t)t->order[i]];
        int rc = fn(arg, &e->k, &e->v);
        if (rc)
            return rc;
    }
    return 0;
}

/* ==== Packet parsing (offline) ==== */

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Ports (or ICMP id/type-code) and TCP flags from the transport header at
 * p (n bytes captured). */
static void transport(struct flow_key *k, const uint8_t *p, size_t n, uint32_t *tcp_flags)
{
    switch (k->proto) {
    case 6: /* TCP */
        if (n >= 14) {
            k->sport = rd16(p);
            k->dport = rd16(p + 2);
            *tcp_flags = p[13] | (uint32_t)(p[12] & 1) << 8;
        }
        break;
    case 17:  /* UDP */
    case 132: /* SCTP: same port layout; printed as '-' like any non-TCP/UDP */
        if (n >= 4 && k->proto == 17) {
            k->sport = rd16(p);
            k->dport = rd16(p + 2);
        }
        break;
    case 1:  /* ICMP */
    case 58: /* ICMPv6 */
        if (n >= 2) {
            uint8_t type = p[0];
            k->dport = (uint16_t)(type << 8 | p[1]);
            int echo = k->proto == 1 ? (type == 0 || type == 8) : (type == 128 || type == 129);
            if (echo && n >= 6)
                k->sport = rd16(p + 4);
        }
        break;
    default:
        break;
    }
}

int flow_key_from_ip(struct flow_key *k, const uint8_t *pkt, size_t caplen, uint32_t *ip_bytes,
                     uint32_t *tcp_flags)
{
    *tcp_flags = 0;
    k->sport = k->dport = 0;
    if (caplen < 1)
        return -1;
    if (pkt[0] >> 4 == 4) {
        size_t ihl = (size_t)(pkt[0] & 15) * 4;
        if (caplen < 20 || ihl < 20)
            return -1;
        memset(k->src, 0, 10);
        k->src[10] = k->src[11] = 0xff;
        memcpy(k->src + 12, pkt + 12, 4);
        memset(k->dst, 0, 10);
        k->dst[10] = k->dst[11] = 0xff;
        memcpy(k->dst + 12, pkt + 16, 4);
        k->family = FLOW_FAMILY_V4;
        k->proto = pkt[9];
        *ip_bytes = rd16(pkt + 2);
        if ((rd16(pkt + 6) & 0x1fff) == 0 && caplen > ihl)
            transport(k, pkt + ihl, caplen - ihl, tcp_flags);
        return 0;
    }
    if (pkt[0] >> 4 == 6) {
        if (caplen < 40)
            return -1;
        memcpy(k->src, pkt + 8, 16);
        memcpy(k->dst, pkt + 24, 16);
        k->family = FLOW_FAMILY_V6;
        *ip_bytes = 40u + rd16(pkt + 4);
        uint8_t nh = pkt[6];
        size_t off = 40;
        int first = 1;
        /* walk the extension headers: hop-by-hop, routing, fragment, dest */
        for (int hops = 0; hops < 8; hops++) {
            if (nh == 0 || nh == 43 || nh == 60) {
                if (caplen < off + 8)
                    break;
                nh = pkt[off];
                off += (size_t)(pkt[off + 1] + 1) * 8;
            } else if (nh == 44) {
                if (caplen < off + 8)
                    break;
                if ((rd16(pkt + off + 2) & 0xfff8) != 0)
                    first = 0;
                nh = pkt[off];
                off += 8;
            } else {
                break;
            }
        }
        k->proto = nh;
        if (first && caplen > off)
            transport(k, pkt + off, caplen - off, tcp_flags);
        return 0;
    }
    return -1;
}
