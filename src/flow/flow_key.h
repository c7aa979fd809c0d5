/* flow_key.h: a flow's key and counters, the one shape shared by the tc
 * programs (kernel side, built with clang -target bpf), the agent's drainer
 * and the offline replay. Fixed size, no pointers, no padding holes, so the
 * same bytes are a BPF map key in the kernel and a hash key in userspace.
 *
 * Addresses are 16 bytes: IPv6 as is, IPv4 as the v4-mapped ::ffff:a.b.c.d.
 * Ports are in host byte order. For ICMP and ICMPv6, sport is the echo
 * identifier (0 for other messages) and dport is type << 8 | code.
 * For other protocols both are 0 (the record writer prints '-').
 *
 * dir is relative to the watched resource: FLOW_DIR_IN is traffic entering
 * it (on an ENI's host-side veth or tap: tc egress), FLOW_DIR_OUT traffic
 * leaving it (tc ingress). action is the host's verdict for the packet. */
#ifndef FLOWLOGD_FLOW_KEY_H
#define FLOWLOGD_FLOW_KEY_H

#include <linux/types.h>

enum { FLOW_DIR_IN = 0, FLOW_DIR_OUT = 1 };
enum { FLOW_ACCEPT = 0, FLOW_REJECT = 1 };
enum { FLOW_FAMILY_V4 = 4, FLOW_FAMILY_V6 = 6 };

struct flow_key {
    __u32 slot;     /* the watched resource (agent-assigned); 0 in replay */
    __u8 src[16];
    __u8 dst[16];
    __u16 sport;
    __u16 dport;
    __u8 proto;     /* IPPROTO_* */
    __u8 family;    /* FLOW_FAMILY_V4 or _V6 */
    __u8 dir;       /* FLOW_DIR_* */
    __u8 action;    /* FLOW_ACCEPT or FLOW_REJECT */
};                  /* 44 bytes */

struct flow_val {
    __u64 packets;  /* segments: a GSO packet counts gso_segs */
    __u64 bytes;    /* IP bytes (header + payload of every segment) */
    __u64 first_ns; /* first and last packet, CLOCK_REALTIME nanoseconds */
    __u64 last_ns;
    __u32 tcp_flags; /* OR of the TCP flags byte (and 0x100 for NS) */
    __u32 pad;
};                  /* 40 bytes */

#endif
