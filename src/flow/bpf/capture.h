/* capture.h: the in-kernel capture of one network namespace: loads the tc
 * programs (flowcap.bpf.c, embedded as a libbpf skeleton), attaches them at
 * clsact ingress and egress of the devices it is told to watch, and drains
 * a closed window's per-CPU tables.
 *
 * Windows are epoch-aligned, `window_s` seconds long. The kernel fills the
 * table half of the current window's parity; capture_drain(w) empties the
 * half of window w, which must be closed (drain it a little after its end,
 * and before the window after the next one begins).
 *
 * Not thread-safe: one capture belongs to one thread. */
#ifndef FLOWLOGD_FLOW_BPF_CAPTURE_H
#define FLOWLOGD_FLOW_BPF_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "flow/flow_key.h"

struct capture; /* opaque */

struct capture_opts {
    const char *netns;    /* a name under /run/netns, a path, or NULL: the caller's */
    uint32_t window_s;    /* 1..600 */
    uint32_t table_flows; /* entries per table half (each entry per CPU) */
};

/** Loads the programs for the namespace. NULL with the reason in err[errlen]
 * (no CAP_BPF, no BTF in the kernel, no such namespace ...). */
struct capture *capture_open(const struct capture_opts *o, char *err, size_t errlen);

/** Detaches everything this capture attached and unloads it (NULL is fine). */
void capture_close(struct capture *c);

/** Watches device `dev` (in the capture's namespace) as resource `slot`
 * (< FLOWCAP_MAX_SLOTS): attaches at its ingress and egress (replacing a
 * filter a previous flowlogd left there). Returns 0, or -1 with err. */
int capture_watch(struct capture *c, const char *dev, uint32_t slot, char *err, size_t errlen);

/** Watches device `dev` as a shared device: a bridge port or an uplink that
 * carries several ENIs' traffic, which never crosses a device of their own
 * here. Each packet on it is counted for the ENI its source address belongs
 * to (out of it) and for the one its destination address belongs to (into
 * it), after capture_set_byaddr; a packet of neither is not counted. Returns
 * 0, or -1 with err. */
int capture_watch_shared(struct capture *c, const char *dev, char *err, size_t errlen);

/** Stops watching `dev`. Returns 0, or -1 with err. */
int capture_unwatch(struct capture *c, const char *dev, char *err, size_t errlen);

/** Attributes drops of packets towards `addr` (16 bytes, IPv4 v4-mapped)
 * to `slot`, inbound (slot 0xffffffff: forget it). Returns 0 or -1. */
int capture_set_addr(struct capture *c, const uint8_t addr[16], uint32_t slot);

/** Attributes packets on shared devices from and to `addr` (16 bytes, IPv4
 * v4-mapped) to the ENI `slot`, and a verdict's drop of such a packet
 * anywhere in the namespace to its REJECT (slot 0xffffffff: forget it).
 * Returns 0 or -1. */
int capture_set_byaddr(struct capture *c, const uint8_t addr[16], uint32_t slot);

/** Parses a textual IPv4 or IPv6 address into the 16-byte form. 0 or -1. */
int capture_parse_addr(const char *s, uint8_t out[16]);

/** The window number (start / window_s) of CLOCK_REALTIME `now_ns`. */
uint64_t capture_window_of(const struct capture *c, uint64_t now_ns);

typedef int (*capture_entry_fn)(void *arg, const struct flow_key *k, const struct flow_val *v);
typedef void (*capture_skip_fn)(void *arg, uint32_t slot, uint8_t dir, uint64_t packets);

/** Drains window `w` (closed): calls entry() once per CPU copy of each flow
 * (copies with no packets are left out; merge them: flow.h's
 * flow_table_merge), and skip() for each (slot, direction) whose packets
 * did not fit in the table. Empties that half for window w + 2. Returns 0;
 * 1 if the half already holds a later window's packets (drained too late:
 * the caller must say SKIPDATA for every slot); -1 on a map error. */
int capture_drain(struct capture *c, uint64_t w, capture_entry_fn entry, capture_skip_fn skip,
                  void *arg);

/** Cumulative in-kernel cost of the tc programs (bpf_stats, when
 * kernel.bpf_stats_enabled is 1): run count and nanoseconds. 0 or -1. */
int capture_prog_stats(const struct capture *c, uint64_t *runs, uint64_t *ns);

#endif
