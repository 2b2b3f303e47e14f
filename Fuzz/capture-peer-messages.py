#!/usr/bin/env python3
"""Records the BGP messages a real daemon sends, for Tests/BGPWireTests/Vectors.

Listens on ADDR:PORT (loopback only), accepts one connection, answers the peer's OPEN with
a plain OPEN (AS 65001, MP IPv4/IPv6 unicast, route refresh, 4-octet AS, extended message)
and a KEEPALIVE, then prints every message received for SECONDS as `TYPE HEX` lines.
Usage: capture-peer-messages.py ADDR PORT SECONDS [CAPABILITIES-HEX] > out.txt
(CAPABILITIES-HEX replaces the capability TLVs we advertise, e.g. to ask for ADD-PATH.)
"""
import socket, struct, sys, time

addr, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
names = {1: "open", 2: "update", 3: "notification", 4: "keepalive", 5: "route-refresh"}

def msg(t, body):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), t) + body

caps = bytes.fromhex(sys.argv[4] if len(sys.argv) > 4 else "0104000100010104000200010200" "4104" "0000fde9" "0600")
open_body = struct.pack("!BHHIB", 4, 65001, 90, 0x0a000001, len(caps) + 2) + b"\x02" + bytes([len(caps)]) + caps

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port)); srv.listen(1); srv.settimeout(30)
conn, _ = srv.accept(); conn.settimeout(0.5)
buf = b""; sent_open = False; deadline = time.time() + seconds
while time.time() < deadline:
    try:
        data = conn.recv(65536)
        if not data: break
        buf += data
    except socket.timeout:
        pass
    while len(buf) >= 19:
        length, t = struct.unpack("!HB", buf[16:19])
        if len(buf) < length: break
        m, buf = buf[:length], buf[length:]
        print(names.get(t, str(t)), m.hex(), flush=True)
        if t == 1 and not sent_open:
            conn.sendall(msg(1, open_body) + msg(4, b"")); sent_open = True
        elif t == 4:
            conn.sendall(msg(4, b""))
conn.close()
