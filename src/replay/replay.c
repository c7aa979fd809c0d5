/* replay.c: the offline path. libpcap reads the file; each frame's IP
 * packet goes through flow_key_from_ip and flow_table_add; when a packet
 * belongs to a later window, the window in progress is written (and any
 * empty windows between say NODATA) and the table cleared. */
#include "replay/replay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_FLUSH (4u << 20)

int flow_cidr_parse(const char *s, struct flow_region_cidr *c)
{
    char host[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof host)
        return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    memset(c, 0, sizeof *c);
    int v4 = 0;
    if (inet_pton(AF_INET, host, c->addr + 12) == 1) {
        c->addr[10] = c->addr[11] = 0xff;
        v4 = 1;
    } else if (inet_pton(AF_INET6, host, c->addr) != 1) {
        return -1;
    }
    unsigned bits = v4 ? 32 : 128;
    if (slash) {
        char *end;
        errno = 0;
        unsigned long b = strtoul(slash + 1, &end, 10);
        if (errno || *end || end == slash + 1 || b > bits)
            return -1;
        bits = (unsigned)b;
    }
    c->prefix = (uint8_t)(v4 ? 96 + bits : bits);
    return 0;
}

static int in_cidr(const struct flow_region_cidr *c, const uint8_t *a)
{
    int full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(a, c->addr, (size_t)full) != 0)
        return 0;
    return !rest || !((a[full] ^ c->addr[full]) & (0xff00 >> rest) & 0xff);
}

struct out {
    int fd;
    struct buf b;
};

static int out_flush(struct out *o)
{
    size_t off = 0;
    while (off < o->b.len) {
        ssize_t w = write(o->fd, o->b.data + off, o->b.len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    buf_reset(&o->b);
    return 0;
}

#define REPLAY_BATCH 256

static void count_batch(struct flow_table *t, const struct flow_pkt *b, size_t n,
                        struct flow_replay_stats *st)
{
    size_t skipped = flow_table_add_batch(t, b, n);
    st->skipped += skipped;
    st->packets += n - skipped;
}

/* Writes the window starting at `start` from table t (NULL: empty). */
static int emit_window(const struct flow_replay_opts *o, struct flow_table *t, uint64_t start,
                       uint64_t extra_skips, struct out *out, struct flow_replay_stats *st)
{
    struct flow_log_desc d = o->desc;
    d.slot = 0;
    d.win_start = start;
    d.win_end = flow_window_end(start, o->window_s);
    d.skipped += extra_skips;
    size_t n = 0, before = out->b.len;
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    int rc = flow_write_records(t, &d, &out->b, &n);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    st->write_cpu_ns += (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000ll + (b.tv_nsec - a.tv_nsec));
    if (rc != 0)
        return -1;
    st->windows++;
    st->records += n;
    if (o->window_cb) {
        int r = o->window_cb(o->window_ud, start, d.win_end, out->b.data + before,
                             out->b.len - before, n);
        out->b.len = before;
        return r ? -2 : 0;
    }
    return out->b.len >= OUT_FLUSH ? out_flush(out) : 0;
}

/* The IP packet inside a frame of link type `dlt`, or NULL. */
static const uint8_t *ip_of(int dlt, const uint8_t *p, size_t caplen, size_t *iplen)
{
    size_t off;
    uint16_t et;
    switch (dlt) {
    case DLT_EN10MB:
        if (caplen < 14)
            return NULL;
        off = 12;
        et = (uint16_t)(p[off] << 8 | p[off + 1]);
        for (int tags = 0; (et == 0x8100 || et == 0x88a8) && tags < 2; tags++) {
            off += 4;
            if (caplen < off + 2)
                return NULL;
            et = (uint16_t)(p[off] << 8 | p[off + 1]);
        }
        off += 2;
        if (et != 0x0800 && et != 0x86dd)
            return NULL;
        break;
    case DLT_LINUX_SLL:
        if (caplen < 16)
            return NULL;
        et = (uint16_t)(p[14] << 8 | p[15]);
        if (et != 0x0800 && et != 0x86dd)
            return NULL;
        off = 16;
        break;
    case DLT_LINUX_SLL2:
        if (caplen < 20)
            return NULL;
        et = (uint16_t)(p[0] << 8 | p[1]);
        if (et != 0x0800 && et != 0x86dd)
            return NULL;
        off = 20;
        break;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        off = 0;
        break;
    default:
        return NULL;
    }
    if (caplen <= off)
        return NULL;
    *iplen = caplen - off;
    return p + off;
}

int flow_replay_pcap(const struct flow_replay_opts *o, int out_fd, struct flow_replay_stats *st,
                     char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    int rc = -1;
    struct flow_table *t = NULL;
    struct out out = {.fd = out_fd};
    buf_init(&out.b, 0);
    memset(st, 0, sizeof *st);

    /* our own FILE with a 1 MiB buffer: libpcap freads each record, and
     * with stdio's 4 KiB default that is a read(2) per 4 KiB */
    FILE *in = fopen(o->path, "rb");
    if (!in) {
        snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
        return -1;
    }
    char *inbuf = malloc(1u << 20); /* glibc ignores the size without a buffer */
    if (inbuf)
        setvbuf(in, inbuf, _IOFBF, 1u << 20);
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(in, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!p) {
        snprintf(err, errlen, "%s: %s", o->path, ebuf);
        fclose(in);
        free(inbuf);
        return -1;
    }
    int dlt = pcap_datalink(p);
    if (dlt != DLT_EN10MB && dlt != DLT_LINUX_SLL && dlt != DLT_LINUX_SLL2 && dlt != DLT_RAW &&
        dlt != DLT_IPV4 && dlt != DLT_IPV6) {
        snprintf(err, errlen, "%s: link type %s is not supported (Ethernet, Linux cooked, raw IP)",
                 o->path, pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
        goto done;
    }
    t = flow_table_new(o->max_flows);
    if (!t) {
        snprintf(err, errlen, "no memory for a table of %zu flows", o->max_flows);
        goto done;
    }
    /* the offset after the last whole record: counted for a pcap file
     * (24-byte file header, 16-byte record headers), asked of stdio for
     * pcapng (whose blocks libpcap reads through the same FILE) */
    FILE *f = pcap_file(p);
    int ng = pcap_major_version(p) == 1 && pcap_minor_version(p) == 0;
    uint64_t good = 24;
    if (ng && f)
        good = (uint64_t)ftell(f);
    uint64_t cur = UINT64_MAX;     /* start of the window being built */
    struct pcap_pkthdr *h;
    const u_char *data;
    int r;
    /* packets are parsed into a batch (libpcap's buffer is reused by the
     * next read) and counted a batch at a time; a packet of a later window
     * first counts the batch and writes the window */
    struct flow_pkt batch[REPLAY_BATCH];
    size_t nb = 0;
    while ((r = pcap_next_ex(p, &h, &data)) == 1) {
        size_t iplen;
        const uint8_t *ip = ip_of(dlt, data, h->caplen, &iplen);
        struct flow_pkt *b = &batch[nb];
        if (!ip || flow_key_from_ip(&b->k, ip, iplen, &b->ip_bytes, &b->tcp_flags) != 0) {
            st->non_ip++;
            goto next;
        }
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
        uint64_t w = flow_window_start_ns(ts, o->window_s);
        if (w != cur) {
            if (cur != UINT64_MAX && w < cur) {
                st->late++;
                goto next;
            }
            if (cur != UINT64_MAX) {
                count_batch(t, batch, nb, st);
                batch[0] = *b;
                b = &batch[0];
                nb = 0;
                if (emit_window(o, t, cur, 0, &out, st) != 0)
                    goto write_failed;
                for (uint64_t g = cur + o->window_s; g < w; g += o->window_s)
                    if (emit_window(o, NULL, g, 0, &out, st) != 0)
                        goto write_failed;
                flow_table_clear(t);
            }
            cur = w;
        }
        b->ts_ns = ts;
        b->k.slot = 0;
        b->k.action = FLOW_ACCEPT;
        b->k.dir = FLOW_DIR_OUT;
        if (o->nlocal) {
            int src_local = 0, dst_local = 0;
            for (size_t i = 0; i < o->nlocal; i++) {
                src_local |= in_cidr(&o->local[i], b->k.src);
                dst_local |= in_cidr(&o->local[i], b->k.dst);
            }
            if (!src_local && dst_local)
                b->k.dir = FLOW_DIR_IN;
        }
        if (++nb == REPLAY_BATCH) {
            count_batch(t, batch, nb, st);
            nb = 0;
        }
    next:
        if (!ng)
            good += 16u + h->caplen;
        else if (f)
            good = (uint64_t)ftell(f);
    }
    count_batch(t, batch, nb, st);
    int broken = r == PCAP_ERROR;
    if (cur != UINT64_MAX && emit_window(o, t, cur, broken ? 1 : 0, &out, st) != 0)
        goto write_failed;
    if (out_flush(&out) != 0)
        goto write_failed;
    if (broken) {
        st->bad_offset = good;
        snprintf(err, errlen, "%s: capture truncated or corrupt at byte %llu: %s", o->path,
                 (unsigned long long)st->bad_offset, pcap_geterr(p));
        rc = 1;
        goto done;
    }
    rc = 0;
    goto done;
write_failed:
    if (o->window_cb)
        snprintf(err, errlen, "delivering the records: %s",
                 o->window_err && *o->window_err ? o->window_err : "failed");
    else
        snprintf(err, errlen, "writing the records: %s", strerror(errno));
    rc = -1;
done:
    buf_free(&out.b);
    flow_table_free(t);
    pcap_close(p); /* closes `in` */
    free(inbuf);
    return rc;
}
