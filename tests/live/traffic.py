#!/usr/bin/env python3
"""traffic.py: known traffic for the live data-plane tests, run inside the
test's own network namespaces (ip netns exec NS python3 traffic.py ...).
Every address it is given is one the test assigned in a namespace it made.

  udp SRC SPORT DST DPORT COUNT SIZE     COUNT datagrams of SIZE payload bytes
  udpflows SRC DST DPORT FIRST_SPORT N   one datagram (10 B) from each of N source ports
  icmp DST IDENT COUNT SIZE              COUNT echo requests (raw socket), no wait
  sink ADDR [ADDR...]                    absorb UDP 5000 and TCP 7000 on each ADDR
  tcp SRC DST PORT BYTES                 one TCP transfer; prints the sender's
                                         segs_out and bytes_sent (TCP_INFO) as JSON
"""
import json
import select
import socket
import struct
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp(src, sport, dst, dport, count, size):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.bind((src, int(sport)))
    for _ in range(int(count)):
        s.sendto(b"u" * int(size), (dst, int(dport)))
        time.sleep(0.002)  # keep the order and leave the ICMP rate limits alone
    s.close()


def udpflows(src, dst, dport, first, n):
    for p in range(int(first), int(first) + int(n)):
        s = socket.socket(family(dst), socket.SOCK_DGRAM)
        s.bind((src, p))
        s.sendto(b"f" * 10, (dst, int(dport)))
        s.close()


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF


def icmp(dst, ident, count, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    for seq in range(int(count)):
        payload = bytes((i & 0xFF for i in range(int(size))))
        hdr = struct.pack("!BBHHH", 8, 0, 0, int(ident), seq)
        c = checksum(hdr + payload)
        s.sendto(struct.pack("!BBHHH", 8, 0, c, int(ident), seq) + payload, (dst, 0))
        time.sleep(0.01)
    s.close()


def sink(*addrs):
    socks = []
    for a in addrs:
        u = socket.socket(family(a), socket.SOCK_DGRAM)
        u.bind((a, 5000))
        t = socket.socket(family(a), socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((a, 7000))
        t.listen(8)
        socks += [u, t]
    listeners = {s for s in socks if s.type == socket.SOCK_STREAM}
    print("ready", flush=True)
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            if s in listeners:
                c, _ = s.accept()
                socks.append(c)
            elif s.type == socket.SOCK_STREAM:
                if not s.recv(1 << 20):
                    s.close()
                    socks.remove(s)
            else:
                s.recv(65536)


def tcp(src, dst, port, nbytes):
    c = socket.socket(family(dst), socket.SOCK_STREAM)
    c.bind((src, 0))
    c.connect((dst, int(port)))
    data = b"t" * 65536
    left = int(nbytes)
    while left:
        left -= c.send(data[: min(left, len(data))])
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):  # until the peer's FIN: our ACK of it is sent on receipt
        pass
    time.sleep(0.2)
    info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
    segs_out, segs_in = struct.unpack_from("II", info, 136)
    bytes_sent, bytes_retrans = struct.unpack_from("QQ", info, 200)
    sport = c.getsockname()[1]
    c.close()
    print(json.dumps({"sport": sport, "segs_out": segs_out, "segs_in": segs_in,
                      "bytes_sent": bytes_sent, "bytes_retrans": bytes_retrans}))


if __name__ == "__main__":
    cmds = {"udp": udp, "udpflows": udpflows, "icmp": icmp, "sink": sink, "tcp": tcp}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.stderr.write(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](*sys.argv[2:])
