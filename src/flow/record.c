/* record.c: record formats and the record writer. The writer is a
 * hand-rolled formatter (no printf): it runs once per flow per window. */
#include "flow/flow.h"

#include <stdio.h>
#include <string.h>

/* name, AWS version that introduced the field (2 for Tencent's own) */
static const struct {
    const char *name;
    uint8_t version;
} fields[FF__COUNT] = {
    [FF_VERSION] = {"version", 2},
    [FF_ACCOUNT_ID] = {"account-id", 2},
    [FF_INTERFACE_ID] = {"interface-id", 2},
    [FF_SRCADDR] = {"srcaddr", 2},
    [FF_DSTADDR] = {"dstaddr", 2},
    [FF_SRCPORT] = {"srcport", 2},
    [FF_DSTPORT] = {"dstport", 2},
    [FF_PROTOCOL] = {"protocol", 2},
    [FF_PACKETS] = {"packets", 2},
    [FF_BYTES] = {"bytes", 2},
    [FF_START] = {"start", 2},
    [FF_END] = {"end", 2},
    [FF_ACTION] = {"action", 2},
    [FF_LOG_STATUS] = {"log-status", 2},
    [FF_REGION_ID] = {"region-id", 2},
    [FF_CCN_ID] = {"ccn-id", 2},
    [FF_SRCREGIONID] = {"srcregionid", 2},
    [FF_DSTREGIONID] = {"dstregionid", 2},
    [FF_TCP_FLAGS] = {"tcp-flags", 3},
    [FF_FLOW_DIRECTION] = {"flow-direction", 5},
    [FF_PKT_SRCADDR] = {"pkt-srcaddr", 3},
    [FF_PKT_DSTADDR] = {"pkt-dstaddr", 3},
    [FF_TYPE] = {"type", 3},
    [FF_VPC_ID] = {"vpc-id", 3},
    [FF_SUBNET_ID] = {"subnet-id", 3},
    [FF_INSTANCE_ID] = {"instance-id", 3},
    [FF_REGION] = {"region", 4},
};

const struct flow_format flow_format_eni = {
    .n = 14, .ccn = 0, .version = 2,
    .field = {FF_VERSION, FF_ACCOUNT_ID, FF_INTERFACE_ID, FF_SRCADDR, FF_DSTADDR, FF_SRCPORT,
              FF_DSTPORT, FF_PROTOCOL, FF_PACKETS, FF_BYTES, FF_START, FF_END, FF_ACTION,
              FF_LOG_STATUS},
};

const struct flow_format flow_format_ccn = {
    .n = 16, .ccn = 1, .version = 2,
    .field = {FF_VERSION, FF_REGION_ID, FF_CCN_ID, FF_SRCADDR, FF_DSTADDR, FF_SRCPORT,
              FF_DSTPORT, FF_PROTOCOL, FF_SRCREGIONID, FF_DSTREGIONID, FF_PACKETS, FF_BYTES,
              FF_START, FF_END, FF_ACTION, FF_LOG_STATUS},
};

const char *flow_field_name(enum flow_field f)
{
    return (unsigned)f < FF__COUNT ? fields[f].name : "?";
}

int flow_format_parse(struct flow_format *f, const char *spec, char *err, size_t errlen)
{
    if (strcmp(spec, "default") == 0 || strcmp(spec, "eni") == 0) {
        *f = flow_format_eni;
        return 0;
    }
    if (strcmp(spec, "ccn") == 0) {
        *f = flow_format_ccn;
        return 0;
    }
    memset(f, 0, sizeof *f);
    f->version = 2;
    const char *p = spec;
    for (;;) {
        p += strspn(p, " ,\t");
        if (!*p)
            break;
        size_t n = strcspn(p, " ,\t");
        const char *name = p;
        size_t len = n;
        if (len >= 3 && name[0] == '$' && name[1] == '{' && name[len - 1] == '}') {
            name += 2;
            len -= 3;
        }
        int found = -1;
        for (int i = 0; i < FF__COUNT; i++)
            if (strlen(fields[i].name) == len && memcmp(fields[i].name, name, len) == 0)
                found = i;
        if (found < 0) {
            snprintf(err, errlen, "unknown record field '%.*s'", (int)(len > 64 ? 64 : len),
                     name);
            return -1;
        }
        if (f->n == FLOW_FORMAT_MAX) {
            snprintf(err, errlen, "more than %d record fields", FLOW_FORMAT_MAX);
            return -1;
        }
        if (found == FF_CCN_ID || found == FF_SRCREGIONID || found == FF_DSTREGIONID)
            f->ccn = 1;
        if (fields[found].version > f->version)
            f->version = fields[found].version;
        f->field[f->n++] = (uint8_t)found;
        p += n;
    }
    if (f->n == 0) {
        snprintf(err, errlen, "empty record format");
        return -1;
    }
    return 0;
}

/* ==== Formatting helpers: each writes at p and returns the end ==== */

static inline char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static inline char *put_dash(char *p)
{
    *p++ = '-';
    return p;
}

static char *put_str(char *p, const char *s)
{
    if (!s || !*s)
        return put_dash(p);
    size_t n = strnlen(s, FLOW_STR_MAX);
    memcpy(p, s, n);
    return p + n;
}

static inline char *put_lit(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static inline char *put_u8(char *p, unsigned v)
{
    if (v >= 100) {
        *p++ = (char)('0' + v / 100);
        v %= 100;
        *p++ = (char)('0' + v / 10);
    } else if (v >= 10) {
        *p++ = (char)('0' + v / 10);
    }
    *p++ = (char)('0' + v % 10);
    return p;
}

static const char hexdig[] = "0123456789abcdef";

static inline char *put_hex16(char *p, unsigned v)
{
    int started = 0;
    for (int sh = 12; sh >= 0; sh -= 4) {
        unsigned d = (v >> sh) & 15;
        if (d || started || sh == 0) {
            *p++ = hexdig[d];
            started = 1;
        }
    }
    return p;
}

static inline char *put_v4(char *p, const uint8_t *a)
{
    p = put_u8(p, a[0]);
    *p++ = '.';
    p = put_u8(p, a[1]);
    *p++ = '.';
    p = put_u8(p, a[2]);
    *p++ = '.';
    return put_u8(p, a[3]);
}

/* IPv6 text as glibc's inet_ntop writes it (RFC 5952 compression of the
 * longest run of two or more zero groups, the first when tied; ::a.b.c.d
 * and ::ffff:a.b.c.d for the compatible and mapped forms). */
static char *put_v6(char *p, const uint8_t *a)
{
    unsigned w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)(a[2 * i] << 8 | a[2 * i + 1]);
    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    for (int i = 0; i < 8; i++) {
        if (w[i] == 0) {
            if (cur < 0) {
                cur = i;
                cur_len = 1;
            } else {
                cur_len++;
            }
            if (cur_len > best_len) {
                best = cur;
                best_len = cur_len;
            }
        } else {
            cur = -1;
        }
    }
    if (best_len < 2)
        best = -1;
    for (int i = 0; i < 8; i++) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best)
                *p++ = ':';
            continue;
        }
        if (i)
            *p++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
            return put_v4(p, a + 12);
        p = put_hex16(p, w[i]);
    }
    if (best >= 0 && best + best_len == 8)
        *p++ = ':';
    return p;
}

static char *put_addr(char *p, const uint8_t *a, uint8_t family)
{
    return family == FLOW_FAMILY_V4 ? put_v4(p, a + 12) : put_v6(p, a);
}

static int ports_apply(const struct flow_log_desc *d, const struct flow_key *k)
{
    if (k->proto == 6 || k->proto == 17)
        return 1;
    if ((k->proto == 1 || k->proto == 58) && !d->format->ccn)
        return 1;
    return 0;
}

/* AWS tcp-flags: FIN 1, SYN 2, RST 4, and ACK (16) only as SYN-ACK. */
static unsigned aws_tcp_flags(uint32_t f)
{
    unsigned out = f & 0x07;
    if (f & FLOW_TCP_SYNACK)
        out |= 0x12;
    return out;
}

static const char *region_of(const struct flow_log_desc *d, const uint8_t *a)
{
    const char *best = NULL;
    int best_len = -1;
    for (size_t i = 0; i < d->n_regions; i++) {
        const struct flow_region_cidr *r = &d->regions[i];
        int bits = r->prefix > 128 ? 128 : r->prefix;
        int full = bits / 8, rest = bits % 8;
        if (memcmp(a, r->addr, (size_t)full) != 0)
            continue;
        if (rest && ((a[full] ^ r->addr[full]) & (0xff00 >> rest) & 0xff))
            continue;
        if (bits > best_len) {
            best_len = bits;
            best = r->region;
        }
    }
    return best;
}

/* One field; k and v are NULL for a NODATA/SKIPDATA line. */
static char *put_field(char *p, const struct flow_log_desc *d, int field,
                       const struct flow_key *k, const struct flow_val *v, const char *status)
{
    switch (field) {
    case FF_VERSION:
        if (d->version_v1) {
            memcpy(p, "V1", 2);
            return p + 2;
        }
        return put_u64(p, d->format->version);
    case FF_ACCOUNT_ID:
        return put_str(p, d->account_id);
    case FF_INTERFACE_ID:
    case FF_CCN_ID:
        return put_str(p, d->resource_id);
    case FF_REGION_ID:
        return put_str(p, d->region_id);
    case FF_VPC_ID:
        return put_str(p, d->vpc_id);
    case FF_SUBNET_ID:
        return put_str(p, d->subnet_id);
    case FF_INSTANCE_ID:
        return put_str(p, d->instance_id);
    case FF_REGION:
        return put_str(p, d->region);
    case FF_START:
        if (k && d->first_last)
            return put_u64(p, v->first_ns / 1000000000u);
        return put_u64(p, d->win_start);
    case FF_END:
        if (k && d->first_last)
            return put_u64(p, v->last_ns / 1000000000u);
        return put_u64(p, d->win_end);
    case FF_LOG_STATUS:
        return put_str(p, status);
    default:
        break;
    }
    if (!k)
        return put_dash(p);
    switch (field) {
    case FF_SRCADDR:
    case FF_PKT_SRCADDR:
        return put_addr(p, k->src, k->family);
    case FF_DSTADDR:
    case FF_PKT_DSTADDR:
        return put_addr(p, k->dst, k->family);
    case FF_SRCPORT:
        return ports_apply(d, k) ? put_u64(p, k->sport) : put_dash(p);
    case FF_DSTPORT:
        return ports_apply(d, k) ? put_u64(p, k->dport) : put_dash(p);
    case FF_PROTOCOL:
        return put_u64(p, k->proto);
    case FF_PACKETS:
        return put_u64(p, v->packets);
    case FF_BYTES:
        return put_u64(p, v->bytes);
    case FF_ACTION:
        return k->action == FLOW_REJECT ? put_lit(p, "REJECT", 6) : put_lit(p, "ACCEPT", 6);
    case FF_SRCREGIONID:
        return put_str(p, region_of(d, k->src));
    case FF_DSTREGIONID:
        return put_str(p, region_of(d, k->dst));
    case FF_TCP_FLAGS:
        return k->proto == 6 ? put_u64(p, aws_tcp_flags(v->tcp_flags)) : put_dash(p);
    case FF_FLOW_DIRECTION:
        return k->dir == FLOW_DIR_IN ? put_lit(p, "ingress", 7) : put_lit(p, "egress", 6);
    case FF_TYPE:
        return put_lit(p, k->family == FLOW_FAMILY_V6 ? "IPv6" : "IPv4", 4);
    default:
        return put_dash(p);
    }
}

static size_t format_line(char *dst, const struct flow_log_desc *d, const struct flow_key *k,
                          const struct flow_val *v, const char *status)
{
    struct flow_log_desc dd;
    if (!d->format) {
        dd = *d;
        dd.format = &flow_format_eni;
        d = &dd;
    }
    char *p = dst;
    for (unsigned i = 0; i < d->format->n; i++) {
        if (i)
            *p++ = ' ';
        p = put_field(p, d, d->format->field[i], k, v, status);
    }
    *p++ = '\n';
    return (size_t)(p - dst);
}

size_t flow_format_record(char *dst, const struct flow_log_desc *d, const struct flow_key *k,
                          const struct flow_val *v)
{
    return format_line(dst, d, k, v, "OK");
}

size_t flow_format_status(char *dst, const struct flow_log_desc *d, const char *status)
{
    return format_line(dst, d, NULL, NULL, status);
}

/* A record line as a template: the fields that are the same on every
 * record of a flow log's window (version, ids, the window bounds, OK) are
 * formatted once into literal runs; only the flow's own fields are
 * formatted per record. */
struct tpl_part {
    int16_t field; /* -1: literal lit[off..off+len) */
    uint16_t off, len;
};

struct tpl {
    int n;
    struct tpl_part part[2 * FLOW_FORMAT_MAX + 2];
    char lit[FLOW_RECORD_MAX];
};

static int constant_field(const struct flow_log_desc *d, int f)
{
    switch (f) {
    case FF_VERSION: case FF_ACCOUNT_ID: case FF_INTERFACE_ID: case FF_CCN_ID:
    case FF_REGION_ID: case FF_VPC_ID: case FF_SUBNET_ID: case FF_INSTANCE_ID:
    case FF_REGION: case FF_LOG_STATUS:
        return 1;
    case FF_START: case FF_END:
        return !d->first_last;
    default:
        return 0;
    }
}

static void tpl_lit(struct tpl *t, char **lp, const char *from, size_t n)
{
    struct tpl_part *last = t->n ? &t->part[t->n - 1] : NULL;
    if (!last || last->field != -1) {
        last = &t->part[t->n++];
        last->field = -1;
        last->off = (uint16_t)(*lp - t->lit);
        last->len = 0;
    }
    if (from != *lp)
        memmove(*lp, from, n);
    *lp += n;
    last->len = (uint16_t)(last->len + n);
}

static void tpl_build(struct tpl *t, const struct flow_log_desc *d)
{
    char *lp = t->lit;
    t->n = 0;
    for (unsigned i = 0; i < d->format->n; i++) {
        int f = d->format->field[i];
        if (i)
            tpl_lit(t, &lp, " ", 1);
        if (constant_field(d, f)) {
            char *end = put_field(lp, d, f, NULL, NULL, "OK");
            tpl_lit(t, &lp, lp, (size_t)(end - lp));
        } else {
            struct tpl_part *pt = &t->part[t->n++];
            pt->field = (int16_t)f;
        }
    }
    tpl_lit(t, &lp, "\n", 1);
}

struct write_ctx {
    const struct flow_log_desc *d;
    struct buf *out;
    size_t lines, seen;
    struct tpl tpl;
};

static int write_one(void *arg, const struct flow_key *k, const struct flow_val *v)
{
    struct write_ctx *c = arg;
    c->seen++;
    int tt = c->d->traffic_type;
    if ((tt == FLOW_TT_ACCEPT && k->action != FLOW_ACCEPT) ||
        (tt == FLOW_TT_REJECT && k->action != FLOW_REJECT))
        return 0;
    if (buf_reserve(c->out, FLOW_RECORD_MAX + 1) != 0)
        return -1;
    char *p = c->out->data + c->out->len;
    for (int i = 0; i < c->tpl.n; i++) {
        const struct tpl_part *pt = &c->tpl.part[i];
        if (pt->field < 0) {
            memcpy(p, c->tpl.lit + pt->off, pt->len);
            p += pt->len;
        } else {
            p = put_field(p, c->d, pt->field, k, v, "OK");
        }
    }
    *p = '\0';
    c->out->len = (size_t)(p - c->out->data);
    c->lines++;
    return 0;
}

static int write_status(struct write_ctx *c, const char *status)
{
    if (buf_reserve(c->out, FLOW_RECORD_MAX + 1) != 0)
        return -1;
    c->out->len += format_line(c->out->data + c->out->len, c->d, NULL, NULL, status);
    c->out->data[c->out->len] = '\0';
    c->lines++;
    return 0;
}

int flow_write_records(const struct flow_table *t, const struct flow_log_desc *d,
                       struct buf *out, size_t *nrecords)
{
    struct flow_log_desc dd = *d;
    if (!dd.format)
        dd.format = &flow_format_eni;
    struct write_ctx c = {.d = &dd, .out = out};
    tpl_build(&c.tpl, &dd);
    int rc = t ? flow_table_each(t, dd.slot, write_one, &c) : 0;
    uint64_t skipped = dd.skipped + (t ? flow_table_skipped(t, dd.slot) : 0);
    if (rc == 0 && skipped)
        rc = write_status(&c, "SKIPDATA");
    else if (rc == 0 && c.seen == 0)
        rc = write_status(&c, "NODATA");
    if (nrecords)
        *nrecords = c.lines;
    return rc ? -1 : 0;
}
