/* replay.h: the flow engine over a capture file (libpcap): the same table
 * and record writer as the agent, fed packet by packet, windows aligned to
 * the epoch. For forensics, exact-truth tests and the benchmark. */
#ifndef FLOWLOGD_REPLAY_REPLAY_H
#define FLOWLOGD_REPLAY_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "flow/flow.h"

#define REPLAY_LOCAL_MAX 16

struct flow_replay_opts {
    const char *path;         /* a pcap or pcapng file */
    uint32_t window_s;        /* capture window, 1..600 */
    struct flow_log_desc desc; /* account, interface id, format, first_last, V1 */
    size_t max_flows;         /* table size: flows per window */
    /* Direction: a packet from one of these networks is "out" (egress),
     * one to them "in" (ingress); with none, or neither, "out". */
    struct flow_region_cidr local[REPLAY_LOCAL_MAX];
    size_t nlocal;
    /* With window_cb, each window's records go to it (records: `len` bytes
     * of `n` lines) instead of to out_fd; non-zero stops the replay (-1,
     * err "delivering the records: ..." plus what the callback left in
     * window_err, if set). */
    int (*window_cb)(void *ud, uint64_t win_start, uint64_t win_end, const char *records,
                     size_t len, size_t n);
    void *window_ud;
    const char *window_err;
};

struct flow_replay_stats {
    uint64_t packets;  /* counted */
    uint64_t non_ip;   /* frames that were not IPv4/IPv6 (not counted) */
    uint64_t late;     /* packets older than the window being built (not counted) */
    uint64_t skipped;  /* packets that found the table full (SKIPDATA) */
    uint64_t windows, records;
    uint64_t bad_offset; /* where the capture broke, when rc == 1 */
    uint64_t write_cpu_ns; /* thread CPU time spent in the record writer */
};

/** Replays o->path and writes the records to fd `out_fd`, one window at a
 * time, in time order. Returns 0; 1 when the capture is truncated or corrupt
 * (the records read before the break are written, the broken window ends
 * with a SKIPDATA line, err says where: "at byte N: ..."); -1 on any other
 * failure (open, write, OOM), with err[errlen] saying why. */
int flow_replay_pcap(const struct flow_replay_opts *o, int out_fd, struct flow_replay_stats *st,
                     char *err, size_t errlen);

/** Parses "a.b.c.d/n" or "x::y/n" (no "/n": a host) into c (region NULL).
 * Returns 0 or -1. */
int flow_cidr_parse(const char *s, struct flow_region_cidr *c);

#endif
