/* flow.h: the flow engine shared by the agent's drainer and the offline
 * replay: a window's flow table (bounded, sized at creation), epoch-aligned
 * window arithmetic, and the record writer that turns a window's table into
 * Tencent's flow-log lines.
 *
 * A table holds the flows of one capture window for any number of watched
 * resources (struct flow_key.slot tells them apart). Userspace fills it either
 * packet by packet (replay: flow_table_add) or from the kernel's per-CPU
 * tables at drain (flow_table_merge, once per CPU copy of an entry). When the
 * window closes, flow_write_records() writes each flow log's lines and
 * flow_table_clear() empties the table for the next window.
 *
 * Nothing here reads the clock: times are passed in. Not thread-safe: one
 * table belongs to one thread at a time. */
#ifndef FLOWLOGD_FLOW_FLOW_H
#define FLOWLOGD_FLOW_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "flow/flow_key.h"

/* ==== The window table ==== */

struct flow_table; /* opaque */

/** A table for at most `max_flows` flows (1 to 2^28). Memory is allocated
 * once here (about 110 bytes per flow, touched as flows arrive) and never grows: a flow that does not
 * fit is skipped and counted, per slot (flow_table_skipped). NULL on OOM or a
 * bad size. */
struct flow_table *flow_table_new(size_t max_flows);

/** Frees the table (NULL is fine). */
void flow_table_free(struct flow_table *t);

/** Empties the table and its skip counters, keeping its memory. */
void flow_table_clear(struct flow_table *t);

/** Counts one packet of `ip_bytes` IP bytes (header and payload) seen at
 * `ts_ns` (CLOCK_REALTIME ns) with TCP flags `tcp_flags` (0 if not TCP)
 * for flow `k`. Returns 0, or -1 when the table is full (the packet is then
 * counted as skipped for k->slot). */
int flow_table_add(struct flow_table *t, const struct flow_key *k, uint32_t ip_bytes,
                   uint32_t tcp_flags, uint64_t ts_ns);

/** One packet for flow_table_add_batch. */
struct flow_pkt {
    struct flow_key k;
    uint32_t ip_bytes, tcp_flags;
    uint64_t ts_ns;
};

/** flow_table_add for n packets in order, faster: the index cells and
 * entries of the whole batch are prefetched before any is touched (a table
 * of 100k+ flows does not fit in the caches). Returns the number of packets
 * skipped because the table was full. */
size_t flow_table_add_batch(struct flow_table *t, const struct flow_pkt *p, size_t n);

/** Merges a drained kernel entry (one CPU's copy): packets and bytes add,
 * first_ns takes the minimum, last_ns the maximum, tcp_flags OR. Calling it
 * once per CPU copy gives the flow's exact totals. Returns 0, or -1 when the
 * table is full (the entry's packets are then counted as skipped). */
int flow_table_merge(struct flow_table *t, const struct flow_key *k, const struct flow_val *v);

/** Records that `n` entries of `slot` were lost before they reached this
 * table (a full kernel table, a restart mid-window): the slot's records for
 * this window then say SKIPDATA. */
void flow_table_note_skipped(struct flow_table *t, uint32_t slot, uint64_t n);

/** Flows in the table, and the capacity given at creation. */
size_t flow_table_count(const struct flow_table *t);
size_t flow_table_capacity(const struct flow_table *t);

/** Packets or entries skipped for `slot` in this window (0 if none). */
uint64_t flow_table_skipped(const struct flow_table *t, uint32_t slot);

/** Calls fn for every flow of `slot`, in the order the flows were first
 * seen. Stops early when fn returns non-zero and returns that value; 0
 * otherwise. With several slots in the table, the first call after a change
 * groups the flows by slot (O(n log n), 8 bytes per flow allocated at
 * creation); each call then costs only the slot's own flows, so writing
 * every resource's records of a window is O(n log n), not O(slots * n). */
int flow_table_each(const struct flow_table *t, uint32_t slot,
                    int (*fn)(void *arg, const struct flow_key *k, const struct flow_val *v),
                    void *arg);

/** Fills `k` from an IP packet (`len` bytes from the IP header; `caplen` of
 * them captured), as the tc programs do: addresses (IPv4 v4-mapped), ports,
 * ICMP id/type-code, protocol, family. *ip_bytes gets the IP length from the
 * header, *tcp_flags the TCP flags. `slot`, `dir` and `action` are left to
 * the caller. Returns 0, or -1 when the packet is not IPv4/IPv6 or too short
 * to hold its IP header. A non-first fragment or a truncated transport
 * header gives ports 0. */
int flow_key_from_ip(struct flow_key *k, const uint8_t *pkt, size_t caplen, uint32_t *ip_bytes,
                     uint32_t *tcp_flags);

/* ==== Windows: epoch-aligned ==== */

/** The start (seconds since the epoch) of the `len_s`-second window holding
 * time `t_s`: windows are [k*len_s, (k+1)*len_s). len_s >= 1. */
static inline uint64_t flow_window_start(uint64_t t_s, uint32_t len_s)
{
    return t_s - t_s % len_s;
}

/** The same for a CLOCK_REALTIME time in nanoseconds. */
static inline uint64_t flow_window_start_ns(uint64_t t_ns, uint32_t len_s)
{
    return flow_window_start(t_ns / 1000000000u, len_s);
}

/** The end of the window starting at `start_s` (exclusive: the next
 * window's start); records print it as `end`. */
static inline uint64_t flow_window_end(uint64_t start_s, uint32_t len_s)
{
    return start_s + len_s;
}

/* ==== Record formats ==== */

/* The fields a record can carry. The first fourteen are Tencent's ENI/NAT/
 * DCG line; the CCN line uses region-id, ccn-id, srcregionid, dstregionid;
 * the rest are AWS v3-v5 fields (docs/API.md, "Flow-log records"). */
enum flow_field {
    FF_VERSION, FF_ACCOUNT_ID, FF_INTERFACE_ID, FF_SRCADDR, FF_DSTADDR, FF_SRCPORT, FF_DSTPORT,
    FF_PROTOCOL, FF_PACKETS, FF_BYTES, FF_START, FF_END, FF_ACTION, FF_LOG_STATUS,
    FF_REGION_ID, FF_CCN_ID, FF_SRCREGIONID, FF_DSTREGIONID,
    FF_TCP_FLAGS, FF_FLOW_DIRECTION, FF_PKT_SRCADDR, FF_PKT_DSTADDR, FF_TYPE, FF_VPC_ID,
    FF_SUBNET_ID, FF_INSTANCE_ID, FF_REGION,
    FF__COUNT
};

#define FLOW_FORMAT_MAX 32

/** An ordered list of fields. `ccn` selects CCN semantics (ports `-` for
 * every protocol but TCP/UDP). `version` is what the version field prints:
 * 2, or the highest AWS version of the chosen fields (3 to 5). */
struct flow_format {
    uint8_t n, ccn, version;
    uint8_t field[FLOW_FORMAT_MAX];
};

extern const struct flow_format flow_format_eni; /* Tencent's 14 fields */
extern const struct flow_format flow_format_ccn; /* Tencent's CCN line */

/** Parses a format: "default" (or "eni"), "ccn", or field names separated by
 * spaces or commas, each optionally written ${name} as AWS does
 * ("version account-id ... tcp-flags"). Returns 0, or -1 with a message in
 * err[errlen] naming the unknown field. */
int flow_format_parse(struct flow_format *f, const char *spec, char *err, size_t errlen);

/** The field's name as it appears in a format (e.g. "tcp-flags"). */
const char *flow_field_name(enum flow_field f);

/* ==== The record writer ==== */

enum { FLOW_TT_ALL = 0, FLOW_TT_ACCEPT = 1, FLOW_TT_REJECT = 2 };

/** A CCN attachment's CIDR and its region, for srcregionid/dstregionid. */
struct flow_region_cidr {
    uint8_t addr[16];   /* as in flow_key: IPv4 v4-mapped */
    uint8_t prefix;     /* bits, over the 16 bytes (IPv4 /24 is 96 + 24) */
    const char *region; /* borrowed */
};

/** One flow log's view of one window, as the writer needs it. Strings are
 * borrowed; NULL prints `-`. */
struct flow_log_desc {
    uint32_t slot;            /* the resource's slot in the table */
    const char *account_id;   /* the account's AppId */
    const char *resource_id;  /* interface-id (ENI, NAT, DCG) or ccn-id */
    int traffic_type;         /* FLOW_TT_* */
    const struct flow_format *format; /* NULL: flow_format_eni */
    uint64_t win_start, win_end;      /* seconds since the epoch */
    int first_last;           /* start/end = first/last packet, not the window */
    int version_v1;           /* print version as "V1" (Tencent's examples) */
    uint64_t skipped;         /* lost before the table (added to the table's count) */
    const char *vpc_id, *subnet_id, *instance_id, *region; /* extended fields */
    const char *region_id;    /* CCN: the flow log's region */
    const struct flow_region_cidr *regions; /* CCN: attached VPC CIDRs */
    size_t n_regions;
};

/** The longest line the writer makes, newline included (string fields are
 * cut at FLOW_STR_MAX bytes). */
#define FLOW_RECORD_MAX 2560
#define FLOW_STR_MAX 64

/** flow_val.tcp_flags bit set when a packet carried both SYN and ACK: AWS's
 * tcp-flags reports ACK only as part of SYN-ACK (18), so the OR of the flag
 * bytes alone cannot tell a SYN-ACK from a SYN followed by ACKs. The tc
 * programs and flow_table_add set it per packet. */
#define FLOW_TCP_SYNACK 0x200u

/** Writes one record line (with '\n') for flow k/v into dst (at least
 * FLOW_RECORD_MAX bytes); returns its length. No filter is applied. */
size_t flow_format_record(char *dst, const struct flow_log_desc *d, const struct flow_key *k,
                          const struct flow_val *v);

/** Writes a NODATA or SKIPDATA line (flow fields `-`, start/end the window);
 * returns its length. status is "NODATA" or "SKIPDATA". */
size_t flow_format_status(char *dst, const struct flow_log_desc *d, const char *status);

/** Appends d's records for the window in `t` to out: one line per flow of
 * d->slot that passes the TrafficType filter; a SKIPDATA line (CCN too)
 * when anything of the slot was skipped; a NODATA line when the slot had no
 * traffic at all and nothing was skipped. *nrecords (if not NULL) gets the
 * number of lines. Returns 0, or -1 when `out` hit its ceiling or memory ran
 * out (out then holds the lines written before). */
int flow_write_records(const struct flow_table *t, const struct flow_log_desc *d,
                       struct buf *out, size_t *nrecords);

#endif
