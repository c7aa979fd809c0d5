/* inject.c: the live data-plane benchmark's packet injector. Sends minimal
 * IPv4/UDP frames (60 bytes on the wire before FCS) over an AF_PACKET socket
 * on one device, as fast as sendmmsg goes or at a given rate, cycling over
 * FLOWS source ports, for SECONDS. Run it inside the benchmark's own network
 * namespace, with addresses and MACs the benchmark assigned.
 *
 * usage: inject DEV SRC-MAC DST-MAC SRC-IP DST-IP FLOWS SECONDS [PPS]
 * prints: sent=N seconds=S pps=R */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256
#define FRAME 60

static int parse_mac(const char *s, uint8_t m[6])
{
    unsigned v[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        m[i] = (uint8_t)v[i];
    return 0;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: inject DEV SRC-MAC DST-MAC SRC-IP DST-IP FLOWS SECONDS [PPS]\n");
        return 2;
    }
    uint8_t smac[6], dmac[6];
    struct in_addr sip, dip;
    if (parse_mac(argv[2], smac) || parse_mac(argv[3], dmac) || inet_pton(AF_INET, argv[4], &sip) != 1 ||
        inet_pton(AF_INET, argv[5], &dip) != 1) {
        fprintf(stderr, "inject: bad address\n");
        return 2;
    }
    unsigned flows = (unsigned)strtoul(argv[6], NULL, 10);
    double secs = strtod(argv[7], NULL), pps = argc > 8 ? strtod(argv[8], NULL) : 0;
    if (flows < 1 || flows > 60000 || secs <= 0) {
        fprintf(stderr, "inject: FLOWS 1..60000, SECONDS > 0\n");
        return 2;
    }
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        perror("inject: socket");
        return 1;
    }
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1]),
                              .sll_halen = 6};
    memcpy(sll.sll_addr, dmac, 6);
    if (!sll.sll_ifindex) {
        perror("inject: device");
        return 1;
    }
    /* one frame per flow, prebuilt */
    uint8_t(*frames)[FRAME] = calloc(flows, FRAME);
    if (!frames)
        return 1;
    for (unsigned f = 0; f < flows; f++) {
        uint8_t *p = frames[f];
        memcpy(p, dmac, 6);
        memcpy(p + 6, smac, 6);
        p[12] = 0x08;
        uint8_t *ip = p + 14;
        ip[0] = 0x45;
        ip[3] = 46; /* 20 + 8 + 18 */
        ip[8] = 64;
        ip[9] = 17;
        memcpy(ip + 12, &sip, 4);
        memcpy(ip + 16, &dip, 4);
        uint16_t c = csum(ip, 20);
        ip[10] = (uint8_t)(c >> 8);
        ip[11] = (uint8_t)c;
        uint8_t *udp = ip + 20;
        uint16_t sport = (uint16_t)(10000 + f);
        udp[0] = (uint8_t)(sport >> 8);
        udp[1] = (uint8_t)sport;
        udp[2] = 0x13;
        udp[3] = 0x88; /* 5000 */
        udp[5] = 26;
    }
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &sll;
        msgs[i].msg_hdr.msg_namelen = sizeof sll;
        iov[i].iov_len = FRAME;
    }
    unsigned long long sent = 0;
    unsigned f = 0;
    double t0 = now_s(), t = t0;
    while ((t = now_s()) - t0 < secs) {
        if (pps > 0 && (double)sent > (t - t0) * pps) {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
            continue;
        }
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = frames[f];
            f = f + 1 == flows ? 0 : f + 1;
        }
        int n = sendmmsg(fd, msgs, BATCH, 0);
        if (n < 0) {
            perror("inject: sendmmsg");
            return 1;
        }
        sent += (unsigned)n;
        if (n < BATCH) /* resume with the frames not sent */
            f = (unsigned)(((unsigned long long)f + flows - (unsigned)(BATCH - n)) % flows);
    }
    printf("sent=%llu seconds=%.3f pps=%.0f\n", sent, t - t0, (double)sent / (t - t0));
    return 0;
}
