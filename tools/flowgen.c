/* flowgen: a deterministic traffic generator with ground truth.
 *
 * Writes a pcap (Ethernet, nanosecond timestamps) of C concurrent
 * conversations -- TCP with SYN/SYN-ACK/ACK, data, FIN or RST; UDP; DNS;
 * ICMP echo; IPv6 TCP, UDP and ICMPv6 echo; GRE -- frame sizes 60 to 1514
 * bytes, packets evenly spaced over the duration, and for each window size
 * asked for, the exact flow-log records (Tencent's default line, window
 * bounds as start/end) that the capture must give: PREFIX.W.txt.
 *
 * The truth is computed from the generator's own knowledge of which
 * conversation and direction each packet belongs to (no 5-tuple hashing);
 * addresses are assigned so that no two conversations share a 5-tuple. The
 * records of a window are in the order of their first packet in the window,
 * NODATA lines for empty windows between the first and the last packet.
 *
 * Same arguments, same bytes: everything comes from a seeded splitmix64.
 * Builds with only libc: cc -O2 -o flowgen tools/flowgen.c */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NW_MAX 8

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint32_t rnd_range(uint32_t lo, uint32_t hi) /* inclusive */
{
    return lo + (uint32_t)(rnd() % ((uint64_t)hi - lo + 1));
}

enum { T_TCP, T_UDP, T_DNS, T_ICMP, T_TCP6, T_UDP6, T_ICMP6, T_GRE };

struct rec {
    uint8_t src[16], dst[16];
    uint16_t sp, dp;
    uint8_t proto, v6, ports, dir, aws_flags;
    uint64_t packets, bytes, first, last;
};

struct win {
    uint32_t len;
    uint64_t cur; /* current window start; UINT64_MAX before the first packet */
    struct rec *r;
    size_t n, cap;
    FILE *out;
};

struct conv {
    int live;
    uint8_t type, v6, proto;
    uint8_t c[16], s[16]; /* client, server (v4 in the last 4 bytes) */
    uint16_t cport, sport;
    uint32_t step, data_left;
    int rst;
    uint8_t close_k;
    uint32_t rec[2][NW_MAX];
    uint64_t recw[2][NW_MAX]; /* window start + 1 the rec index belongs to */
};

static struct win wins[NW_MAX];
static int nwin;
static const char *account = "-", *ifid = "-";
/* --first-last: start/end are the record's first and last packet (whole
 * seconds); --extended: version 5 and three more fields, tcp-flags (AWS: FIN
 * 1, SYN 2, RST 4, SYN-ACK 18), type and flow-direction (the client side,
 * --src-net and --src-net6, is the interface: its packets are egress) */
static int first_last, extended;

static void put_addr(FILE *f, const uint8_t *a, int v6)
{
    char s[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? a : a + 12, s, sizeof s);
    fputs(s, f);
}

static void flush_window(struct win *w)
{
    uint64_t end = w->cur + w->len;
    const char *ver = extended ? "5" : "2";
    if (w->n == 0)
        fprintf(w->out, "%s %s %s - - - - - - - %" PRIu64 " %" PRIu64 " - NODATA%s\n", ver,
                account, ifid, w->cur, end, extended ? " - - -" : "");
    for (size_t i = 0; i < w->n; i++) {
        struct rec *r = &w->r[i];
        fprintf(w->out, "%s %s %s ", ver, account, ifid);
        put_addr(w->out, r->src, r->v6);
        fputc(' ', w->out);
        put_addr(w->out, r->dst, r->v6);
        if (r->ports)
            fprintf(w->out, " %u %u", r->sp, r->dp);
        else
            fputs(" - -", w->out);
        uint64_t st = first_last ? r->first / 1000000000ull : w->cur;
        uint64_t en = first_last ? r->last / 1000000000ull : end;
        fprintf(w->out, " %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " ACCEPT OK", r->proto,
                r->packets, r->bytes, st, en);
        if (extended) {
            if (r->proto == 6)
                fprintf(w->out, " %u", r->aws_flags);
            else
                fputs(" -", w->out);
            fprintf(w->out, " %s %s", r->v6 ? "IPv6" : "IPv4", r->dir ? "ingress" : "egress");
        }
        fputc('\n', w->out);
    }
    w->n = 0;
}

/* Counts a packet of conversation cv, direction d (0: client to server). */
static void truth(struct conv *cv, int d, uint64_t ts, uint32_t ip_len, uint16_t sp,
                  uint16_t dp, int ports, uint8_t tcp_flags)
{
    for (int i = 0; i < nwin; i++) {
        struct win *w = &wins[i];
        uint64_t ws = ts / 1000000000ull;
        ws -= ws % w->len;
        if (w->cur == UINT64_MAX)
            w->cur = ws;
        if (ws != w->cur) {
            flush_window(w);
            for (w->cur += w->len; w->cur < ws; w->cur += w->len)
                flush_window(w);
        }
        struct rec *r;
        if (cv->recw[d][i] == ws + 1) {
            r = &w->r[cv->rec[d][i]];
        } else {
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 4096;
                w->r = realloc(w->r, w->cap * sizeof *w->r);
                if (!w->r) {
                    fputs("flowgen: out of memory\n", stderr);
                    exit(1);
                }
            }
            cv->rec[d][i] = (uint32_t)w->n;
            cv->recw[d][i] = ws + 1;
            r = &w->r[w->n++];
            memset(r, 0, sizeof *r);
            memcpy(r->src, d ? cv->s : cv->c, 16);
            memcpy(r->dst, d ? cv->c : cv->s, 16);
            r->sp = sp;
            r->dp = dp;
            r->proto = cv->proto;
            r->v6 = cv->v6;
            r->ports = (uint8_t)ports;
            r->dir = (uint8_t)d;
            r->first = ts;
        }
        r->packets++;
        r->bytes += ip_len;
        r->last = ts;
        r->aws_flags |= (uint8_t)(tcp_flags & 0x07);
        if ((tcp_flags & 0x12) == 0x12)
            r->aws_flags |= 0x12;
    }
}

/* ==== address plan ==== */
struct net {
    uint8_t a[16];
    int v6;
    unsigned prefix;
    uint64_t hosts;
};

static int parse_net(const char *s, struct net *n)
{
    char host[64];
    const char *sl = strchr(s, '/');
    size_t len = sl ? (size_t)(sl - s) : strlen(s);
    if (!sl || len >= sizeof host)
        return -1;
    memcpy(host, s, len);
    host[len] = 0;
    memset(n, 0, sizeof *n);
    n->prefix = (unsigned)atoi(sl + 1);
    if (inet_pton(AF_INET, host, n->a + 12) == 1) {
        n->a[10] = n->a[11] = 0xff;
        if (n->prefix > 30)
            return -1;
        n->hosts = (1ull << (32 - n->prefix)) - 2;
    } else if (inet_pton(AF_INET6, host, n->a) == 1) {
        n->v6 = 1;
        if (n->prefix > 120)
            return -1;
        n->hosts = n->prefix <= 80 ? (1ull << 48) : (1ull << (128 - n->prefix)) - 2;
    } else {
        return -1;
    }
    return 0;
}

/* host number h (0-based) of net n into a */
static void host_addr(const struct net *n, uint64_t h, uint8_t *a)
{
    memcpy(a, n->a, 16);
    uint64_t v = h + 1;
    for (int i = 15; i >= 8 && v; i--) {
        unsigned sum = a[i] + (unsigned)(v & 0xff);
        a[i] = (uint8_t)sum;
        v = (v >> 8) + (sum >> 8);
    }
}

static struct net src4, dst4, src6, dst6;
static uint64_t next_idx;

static void conv_new(struct conv *cv, uint32_t mean)
{
    uint64_t idx = next_idx++;
    memset(cv, 0, sizeof *cv);
    cv->live = 1;
    uint32_t r = rnd_range(0, 99);
    cv->type = r < 45 ? T_TCP : r < 60 ? T_UDP : r < 75 ? T_DNS : r < 85 ? T_ICMP
             : r < 92 ? T_TCP6 : r < 95 ? T_UDP6 : r < 98 ? T_ICMP6 : T_GRE;
    uint64_t h = idx % src4.hosts, round = idx / src4.hosts;
    if (round >= 64512) {
        fputs("flowgen: the address plan is too small for this many conversations "
              "(widen --src-net)\n", stderr);
        exit(1);
    }
    /* GRE has no ports: only where (client, server) is unique */
    if (cv->type == T_GRE && round >= dst4.hosts)
        cv->type = T_UDP;
    cv->v6 = cv->type == T_TCP6 || cv->type == T_UDP6 || cv->type == T_ICMP6;
    cv->cport = (uint16_t)(1024 + round);
    if (cv->v6) {
        host_addr(&src6, idx % src6.hosts, cv->c);
        host_addr(&dst6, rnd() % dst6.hosts, cv->s);
    } else {
        host_addr(&src4, h, cv->c);
        host_addr(&dst4, cv->type == T_GRE ? round : rnd() % dst4.hosts, cv->s);
    }
    switch (cv->type) {
    case T_TCP:
    case T_TCP6:
        cv->proto = 6;
        cv->sport = (uint16_t)(r & 1 ? 443 : 80 + rnd_range(0, 3) * 1000);
        cv->rst = rnd_range(0, 19) == 0;
        break;
    case T_UDP:
    case T_UDP6:
        cv->proto = 17;
        cv->sport = (uint16_t)rnd_range(1000, 9999);
        break;
    case T_DNS:
        cv->proto = 17;
        cv->sport = 53;
        break;
    case T_ICMP:
        cv->proto = 1;
        break;
    case T_ICMP6:
        cv->proto = 58;
        break;
    default:
        cv->proto = 47;
        break;
    }
    uint32_t len = rnd_range(1, mean * 2 - 1);
    cv->data_left = cv->type == T_DNS ? 2 * rnd_range(1, 2) : len;
}

/* ==== pcap ==== */
static FILE *pcap;
static uint32_t snaplen = 65535;
static int usec; /* microsecond timestamps (magic a1b2c3d4), for older readers */
static uint8_t frame[1600];

static void pcap_header(void)
{
    uint32_t h[6] = {usec ? 0xa1b2c3d4 : 0xa1b23c4d, 2 | 4u << 16, 0, 0, 65535, 1};
    fwrite(h, 4, 6, pcap);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t csum_v4(const uint8_t *p)
{
    uint32_t s = 0;
    for (int i = 0; i < 20; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Emits one packet of cv in direction d; returns 1 when the conversation
 * ends with it. */
static int conv_packet(struct conv *cv, uint64_t ts)
{
    int d = 0, done = 0;
    uint8_t flags = 0;
    uint32_t frame_len = rnd_range(60, 1514);
    uint32_t l4 = cv->proto == 6 ? 20 : cv->proto == 47 ? 4 : 8;
    uint32_t iph = cv->v6 ? 40 : 20;
    int control = 0;
    uint8_t itype = 0;
    if (cv->proto == 6) {
        static const uint8_t hs_flags[3] = {0x02, 0x12, 0x10}, close_flags[4] = {0x11, 0x10, 0x11, 0x10};
        static const int hs_dir[3] = {0, 1, 0}, close_dir[4] = {0, 1, 1, 0};
        if (cv->step < 3) {
            flags = hs_flags[cv->step];
            d = hs_dir[cv->step++];
            control = 1;
        } else if (cv->data_left) {
            cv->data_left--;
            flags = 0x18;
            d = (int)(rnd() & 1);
        } else if (cv->rst) {
            flags = 0x14;
            d = (int)(rnd() & 1);
            control = 1;
            done = 1;
        } else {
            flags = close_flags[cv->close_k];
            d = close_dir[cv->close_k];
            control = 1;
            if (++cv->close_k == 4)
                done = 1;
        }
    } else if (cv->proto == 1 || cv->proto == 58) {
        d = (int)(cv->step++ & 1);
        itype = cv->proto == 1 ? (d ? 0 : 8) : (d ? 129 : 128);
        if (cv->data_left == 0 && d == 1)
            done = 1;
        if (d == 1 && cv->data_left)
            cv->data_left--;
    } else if (cv->type == T_DNS) {
        d = (int)(cv->step++ & 1);
        frame_len = d ? rnd_range(90, 512) : rnd_range(60, 120);
        if (--cv->data_left == 0)
            done = 1;
    } else if (cv->proto == 17) {
        d = (int)(rnd() & 1);
        if (cv->data_left-- <= 1)
            done = 1;
    } else {
        d = 0;
        if (cv->data_left-- <= 1)
            done = 1;
    }
    if (control)
        frame_len = cv->v6 ? 74 : 60;
    uint32_t ip_len = frame_len - 14;
    if (ip_len < iph + l4)
        ip_len = iph + l4;
    if (!cv->v6 && ip_len + 14 < 60)
        frame_len = 60; /* Ethernet padding: not part of the IP length */
    else
        frame_len = ip_len + 14;

    const uint8_t *sa = d ? cv->s : cv->c, *da = d ? cv->c : cv->s;
    uint16_t sp = d ? cv->sport : cv->cport, dp = d ? cv->cport : cv->sport;
    memset(frame, 0, 14 + iph + l4);
    frame[0] = 0x02;
    frame[5] = 0x02;
    frame[6] = 0x02;
    frame[11] = 0x01;
    put16(frame + 12, cv->v6 ? 0x86dd : 0x0800);
    uint8_t *ip = frame + 14, *l = ip + iph;
    if (cv->v6) {
        ip[0] = 0x60;
        put16(ip + 4, (uint16_t)(ip_len - 40));
        ip[6] = cv->proto;
        ip[7] = 64;
        memcpy(ip + 8, sa, 16);
        memcpy(ip + 24, da, 16);
    } else {
        ip[0] = 0x45;
        put16(ip + 2, (uint16_t)ip_len);
        ip[8] = 64;
        ip[9] = cv->proto;
        memcpy(ip + 12, sa + 12, 4);
        memcpy(ip + 16, da + 12, 4);
        put16(ip + 10, csum_v4(ip));
    }
    int ports = 1;
    uint16_t ksp = sp, kdp = dp;
    if (cv->proto == 6) {
        put16(l, sp);
        put16(l + 2, dp);
        l[12] = 0x50;
        l[13] = flags;
    } else if (cv->proto == 17) {
        put16(l, sp);
        put16(l + 2, dp);
        put16(l + 4, (uint16_t)(ip_len - iph));
    } else if (cv->proto == 1 || cv->proto == 58) {
        l[0] = itype;
        put16(l + 4, cv->cport); /* identifier */
        put16(l + 6, (uint16_t)(cv->step / 2));
        ksp = cv->cport;
        kdp = (uint16_t)(itype << 8);
    } else {
        put16(l + 2, 0x0800);
        ports = 0;
        ksp = kdp = 0;
    }
    uint32_t cap = frame_len < snaplen ? frame_len : snaplen;
    uint32_t frac = (uint32_t)(ts % 1000000000ull);
    uint32_t rh[4] = {(uint32_t)(ts / 1000000000ull), usec ? frac / 1000 : frac, cap, frame_len};
    fwrite(rh, 4, 4, pcap);
    size_t hdr = 14 + iph + l4;
    if (cap <= hdr) {
        fwrite(frame, 1, cap, pcap);
    } else {
        static const uint8_t zeros[1600];
        fwrite(frame, 1, hdr, pcap);
        fwrite(zeros, 1, cap - hdr, pcap);
    }
    truth(cv, d, ts, ip_len, ksp, kdp, ports, cv->proto == 6 ? flags : 0);
    return done;
}

static const char usage[] =
    "usage: flowgen --out FILE.pcap [--truth PREFIX] [--windows 10,60,300] [--packets N]\n"
    "               [--flows C] [--duration S] [--start EPOCH] [--seed N] [--snaplen N]\n"
    "               [--src-net CIDR] [--dst-net CIDR] [--src-net6 CIDR] [--dst-net6 CIDR]\n"
    "               [--account-id A] [--interface-id ID] [--usec] [--first-last] [--extended]\n"
    "Defaults: 100000 packets, 1000 concurrent conversations, 300 s from 1700000000,\n"
    "seed 1, 10.0.0.0/8 -> 172.16.0.0/12, 2001:db8:1::/64 -> 2001:db8:2::/64.\n"
    "--usec writes microsecond timestamps (the classic pcap magic) instead of nanoseconds.\n"
    "--first-last: the truth's start/end are each record's first and last packet\n"
    "(replay --first-last); --extended: the truth has version 5 and tcp-flags, type,\n"
    "flow-direction appended (replay --local SRC-NET,SRC-NET6 --format with them).\n"
    "Truth: PREFIX.W.txt per window W, in `flowlogd replay --capture-window W` order.\n";

int main(int argc, char **argv)
{
    const char *out = NULL, *prefix = NULL, *windows = "60";
    uint64_t packets = 100000, flows = 1000, duration = 300, start = 1700000000, seed = 1;
    const char *s4 = "10.0.0.0/8", *d4 = "172.16.0.0/12", *s6 = "2001:db8:1::/64",
               *d6 = "2001:db8:2::/64";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        int flag = !strcmp(a, "--usec") || !strcmp(a, "--first-last") || !strcmp(a, "--extended");
        if (!v && !flag) {
            fputs(usage, stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--truth")) prefix = v;
        else if (!strcmp(a, "--windows")) windows = v;
        else if (!strcmp(a, "--packets")) packets = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--flows")) flows = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--duration")) duration = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--start")) start = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--usec")) { usec = 1; i--; }
        else if (!strcmp(a, "--first-last")) { first_last = 1; i--; }
        else if (!strcmp(a, "--extended")) { extended = 1; i--; }
        else if (!strcmp(a, "--snaplen")) snaplen = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--src-net")) s4 = v;
        else if (!strcmp(a, "--dst-net")) d4 = v;
        else if (!strcmp(a, "--src-net6")) s6 = v;
        else if (!strcmp(a, "--dst-net6")) d6 = v;
        else if (!strcmp(a, "--account-id")) account = v;
        else if (!strcmp(a, "--interface-id")) ifid = v;
        else {
            fprintf(stderr, "flowgen: unknown option %s\n%s", a, usage);
            return 2;
        }
    }
    if (!out || packets == 0 || flows == 0 || duration == 0 || snaplen < 60) {
        fputs(usage, stderr);
        return 2;
    }
    if (parse_net(s4, &src4) || src4.v6 || parse_net(d4, &dst4) || dst4.v6 ||
        parse_net(s6, &src6) || !src6.v6 || parse_net(d6, &dst6) || !dst6.v6) {
        fputs("flowgen: --src-net/--dst-net take IPv4 CIDRs (/1 to /30), --src-net6/--dst-net6 "
              "IPv6 ones\n", stderr);
        return 2;
    }
    rng_state = seed;
    if (prefix) {
        for (const char *p = windows; *p && nwin < NW_MAX;) {
            unsigned long w = strtoul(p, NULL, 10);
            if (w < 1 || w > 600) {
                fputs("flowgen: windows are 1 to 600 seconds\n", stderr);
                return 2;
            }
            char path[4096];
            snprintf(path, sizeof path, "%s.%lu.txt", prefix, w);
            wins[nwin].len = (uint32_t)w;
            wins[nwin].cur = UINT64_MAX;
            if (!(wins[nwin].out = fopen(path, "w"))) {
                perror(path);
                return 1;
            }
            nwin++;
            p += strcspn(p, ",");
            if (*p == ',')
                p++;
        }
    }
    if (!(pcap = fopen(out, "wb"))) {
        perror(out);
        return 1;
    }
    setvbuf(pcap, NULL, _IOFBF, 1 << 22);
    pcap_header();
    struct conv *cv = calloc(flows, sizeof *cv);
    if (!cv) {
        fputs("flowgen: out of memory\n", stderr);
        return 1;
    }
    uint32_t mean = (uint32_t)(packets / (2 * flows));
    if (mean < 4)
        mean = 4;
    uint64_t t0 = start * 1000000000ull, span = duration * 1000000000ull;
    for (uint64_t i = 0; i < packets; i++) {
        struct conv *c = &cv[rnd() % flows];
        if (!c->live)
            conv_new(c, mean);
        uint64_t ts = t0 + (uint64_t)((unsigned __int128)i * span / packets);
        if (conv_packet(c, ts))
            c->live = 0;
    }
    free(cv);
    for (int i = 0; i < nwin; i++) {
        if (wins[i].cur != UINT64_MAX)
            flush_window(&wins[i]);
        free(wins[i].r);
        if (fclose(wins[i].out) != 0) {
            perror("truth");
            return 1;
        }
    }
    if (fclose(pcap) != 0) {
        perror(out);
        return 1;
    }
    fprintf(stderr, "flowgen: %" PRIu64 " packets, %" PRIu64 " conversations\n", packets,
            next_idx);
    return 0;
}
