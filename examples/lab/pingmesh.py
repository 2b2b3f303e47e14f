#!/usr/bin/env python3
"""Pings every (source namespace, destination address) pair every 50 ms until each has answered
once or the deadline passes, from one process: a raw ICMP socket per source namespace (made
after setns(2) into it, so it stays bound there), one echo request per pending pair per round.
For each pair that answers, OUTDIR/ok.K (K: the pair's 1-based line number) holds the epoch
time of its first reply.

One process instead of a `ping` per pair: with 380 pairs (10 nodes, 2 pods each) the forks of
`ip netns exec ping` kept both cores busy and the figure measured them, not the cluster.

Usage: pingmesh.py PAIRS DEADLINE OUTDIR   (PAIRS: lines "SOURCE_NETNS DEST_IPV4"; DEADLINE: epoch s)
"""
import ctypes
import os
import select
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
ROUND = 0.05
libc = ctypes.CDLL(None, use_errno=True)


def socket_in(ns):
    """A non-blocking raw ICMP socket in network namespace `ns` (this thread returns to its own)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {ns}")
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to our own namespace")
    finally:
        os.close(target)
        os.close(own)
    s.setblocking(False)
    return s


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def echo(ident, seq):
    payload = b"twill-lab-pingmesh"
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, checksum(head + payload), ident, seq) + payload


def main():
    pairs_file, deadline, outdir = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    pairs = [line.split() for line in open(pairs_file) if line.strip()]
    for k, p in enumerate(pairs, 1):
        if len(p) != 2 or ":" in p[1]:
            sys.exit(f"pingmesh: {pairs_file} line {k}: want \"SOURCE_NETNS DEST_IPV4\", got {' '.join(p)!r}")
    sockets = {}   # source namespace -> (socket, ident)
    for src, _ in pairs:
        if src not in sockets:
            sockets[src] = (socket_in(src), (os.getpid() + len(sockets)) & 0xFFFF)
    by_fd = {s.fileno(): (src, s, ident) for src, (s, ident) in sockets.items()}
    # pending: (source, seq) -> (pair number, destination); seq = pair number (16 bits)
    pending = {(src, k & 0xFFFF): (k, dst) for k, (src, dst) in enumerate(pairs, 1)}
    while pending and time.time() < deadline:
        for (src, seq), (_, dst) in list(pending.items()):
            s, ident = sockets[src]
            try:
                s.sendto(echo(ident, seq), (dst, 0))
            except OSError:
                pass   # no route yet (ENETUNREACH...): next round
        round_end = time.time() + ROUND
        while pending and (left := round_end - time.time()) > 0:
            ready, _, _ = select.select(list(by_fd), [], [], left)
            for fd in ready:
                src, s, ident = by_fd[fd]
                while True:
                    try:
                        data, (addr, _) = s.recvfrom(2048)
                    except BlockingIOError:
                        break
                    ihl = (data[0] & 0x0F) * 4
                    if len(data) < ihl + 8:
                        continue
                    typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
                    hit = pending.get((src, rseq))
                    if typ == 0 and rid == ident and hit and hit[1] == addr:
                        with open(f"{outdir}/ok.{hit[0]}", "w") as f:
                            f.write(f"{time.time():.6f}\n")
                        del pending[(src, rseq)]
    return 0


if __name__ == "__main__":
    sys.exit(main())
