/* flowcap_abi.h: the map shapes shared by the tc programs (flowcap.bpf.c)
 * and their loader (capture.c), besides struct flow_key / flow_val. */
#ifndef FLOWLOGD_FLOWCAP_ABI_H
#define FLOWLOGD_FLOWCAP_ABI_H

#include <linux/types.h>

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

#endif
