/* fuzz_flow.c: the flow engine's input side: the packet parser, the table
 * and the record writer.
 *
 * Input: byte 0 picks the record format and options; the rest is a run of
 * packets, each a 2-byte big-endian length then that many bytes of IP
 * packet (a short tail is one more packet).
 *
 * Invariants:
 *  - flow_key_from_ip reads only within the packet (ASan), gives family 4
 *    or 6 on success, and for a non-TCP packet no TCP flags;
 *  - the table never holds more flows than its capacity; packets counted
 *    plus packets skipped equal packets parsed;
 *  - every line the writer makes ends with '\n', has the format's number of
 *    fields, and fits FLOW_RECORD_MAX; the window says NODATA iff nothing
 *    parsed, SKIPDATA iff something was skipped.
 */
#include <stdint.h>
#include <string.h>

#include "flow/flow.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static const char *const formats[] = {
    "default",
    "ccn",
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status tcp-flags flow-direction pkt-srcaddr pkt-dstaddr type vpc-id "
    "subnet-id instance-id region",
    "${srcregionid} ${dstregionid} ${tcp-flags}",
};

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 1)
        return 0;
    uint8_t sel = d[0];
    d++;
    n--;
    struct flow_format fmt;
    char err[128];
    FUZZ_CHECK(flow_format_parse(&fmt, formats[sel % 4], err, sizeof err) == 0);
    size_t cap = (sel & 0x10) ? 2 : 64;
    struct flow_table *t = flow_table_new(cap);
    FUZZ_CHECK(t != NULL);
    size_t parsed = 0, counted = 0;
    while (n > 0) {
        size_t len = n >= 2 ? (size_t)(d[0] << 8 | d[1]) : n;
        const uint8_t *p = n >= 2 ? d + 2 : d;
        size_t avail = n >= 2 ? n - 2 : n;
        if (len > avail)
            len = avail;
        /* a copy of exactly len bytes, so ASan sees any overread */
        uint8_t *pkt = malloc(len ? len : 1);
        FUZZ_CHECK(pkt != NULL);
        memcpy(pkt, p, len);
        struct flow_key k;
        memset(&k, 0, sizeof k);
        uint32_t bytes, flags;
        if (flow_key_from_ip(&k, pkt, len, &bytes, &flags) == 0) {
            FUZZ_CHECK(k.family == FLOW_FAMILY_V4 || k.family == FLOW_FAMILY_V6);
            FUZZ_CHECK(k.proto == 6 || flags == 0);
            k.dir = (uint8_t)(parsed & 1);
            k.action = (uint8_t)((parsed >> 1) & 1);
            parsed++;
            if (flow_table_add(t, &k, bytes, flags, 1700000000000000000ull + parsed) == 0)
                counted++;
        }
        free(pkt);
        d = p + len;
        n = avail - len;
    }
    FUZZ_CHECK(flow_table_count(t) <= cap);
    FUZZ_CHECK(counted + flow_table_skipped(t, 0) == parsed);

    struct flow_region_cidr r = {.prefix = 96 + 8, .region = "ap-guangzhou"};
    r.addr[10] = r.addr[11] = 0xff;
    r.addr[12] = 10;
    struct flow_log_desc desc = {
        .account_id = "1251762227", .resource_id = "eni-fuzz0001", .format = &fmt,
        .win_start = 1700000000, .win_end = 1700000060, .first_last = (sel >> 2) & 1,
        .version_v1 = (sel >> 3) & 1, .traffic_type = (sel >> 5) % 3, .regions = &r,
        .n_regions = 1, .region_id = "ap-guangzhou", .vpc_id = "vpc-1",
    };
    struct buf out;
    buf_init(&out, 0);
    size_t lines = 0;
    FUZZ_CHECK(flow_write_records(t, &desc, &out, &lines) == 0);
    size_t seen = 0;
    int nodata = 0, skipdata = 0;
    for (const char *s = out.data; s && *s;) {
        const char *nl = strchr(s, '\n');
        FUZZ_CHECK(nl != NULL);
        FUZZ_CHECK((size_t)(nl - s) < FLOW_RECORD_MAX);
        size_t fields = 1;
        for (const char *c = s; c < nl; c++)
            fields += *c == ' ';
        FUZZ_CHECK(fields == fmt.n);
        if (nl - s >= 7 && memcmp(nl - 7, " NODATA", 7) == 0)
            nodata++;
        if (nl - s >= 9 && memcmp(nl - 9, " SKIPDATA", 9) == 0)
            skipdata++;
        seen++;
        s = nl + 1;
    }
    FUZZ_CHECK(seen == lines);
    if (fmt.field[fmt.n - 1] == FF_LOG_STATUS) {
        FUZZ_CHECK(nodata == (parsed == 0));
        FUZZ_CHECK(skipdata == (counted < parsed));
    }
    buf_free(&out);
    flow_table_free(t);
    return 0;
}
