/* flowcap_abi.h: the map shapes shared by the tc programs (flowcap.bpf.c)
 * and their loader (capture.c), besides struct flow_key / flow_val. */
#ifndef FLOWLOGD_FLOWCAP_ABI_H
#define FLOWLOGD_FLOWCAP_ABI_H

#include <linux/types.h>

#include "flow/flow_key.h"

#define FLOWCAP_MAX_SLOTS 4096  /* watched resources per loaded object */
#define FLOWCAP_MAX_ADDRS 16384 /* ENI addresses for REJECT by destination */

/* flow_val.tcp_flags bit for a packet with both SYN and ACK (flow.h's
 * FLOW_TCP_SYNACK: AWS's tcp-flags reports ACK only as SYN-ACK) */
#define FLOWCAP_TCP_SYNACK 0x200u

/* flowcap_dev.flags: a shared device (a bridge port or an uplink carrying
 * several ENIs' traffic): each packet belongs to the ENI whose address (the
 * byaddr map) is its source (out of that ENI) and/or its destination (into
 * it); `slot` is unused and a packet of no listed address is not counted */
#define FLOWCAP_DEV_BY_ADDR 1u

/* value of the devs map, keyed by ifindex */
struct flowcap_dev {
    __u32 slot;  /* the resource the device belongs to */
    __u32 l2len; /* link header before IP: 14 (Ethernet) or 0 (tun, raw IP) */
    __u32 flags; /* FLOWCAP_DEV_* */
};

/* key of the addrs and byaddr maps: an address as in struct flow_key */
struct flowcap_addr {
    __u8 addr[16];
};

/* The flow table: one BPF_F_MMAPABLE array of ncpu * 2 regions of
 * cfg_slots entries each, region (cpu * 2 + half): each CPU writes only its
 * own regions (no atomics, no locks), the half is the window number's
 * parity. Open addressing, linear probing, at most FLOWCAP_PROBES probes
 * from the key's hash: a key that finds neither itself nor a free entry
 * there is skipped and counted (the skips map: SKIPDATA). The drainer reads
 * a closed half through mmap and zeroes what it read. */
#define FLOWCAP_PROBES 16

struct flowcap_entry {
    struct flow_key key; /* 44 bytes */
    __u32 used;          /* 1: the entry holds key (its val may be 0: moved to REJECT) */
    struct flow_val val; /* 40 bytes */
};                       /* 88 bytes */

/* The fill lists (a second BPF_F_MMAPABLE array of __u64): per region,
 * cfg_slots + 1 words: [0] how many entries the region has taken, then
 * their indexes in the order taken, so that a drain costs what the window
 * held, not the table's size. */

/* The hash of a key, the same in the kernel and in userspace (tests). */
static inline __u32 flowcap_hash(const struct flow_key *k)
{
    const __u32 *w = (const __u32 *)k;
    __u64 h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 11; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    return (__u32)h;
}

#endif
