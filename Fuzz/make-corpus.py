#!/usr/bin/env python3
"""Generates Tests/BGPWireTests/Corpus/bad-inputs.txt: one malformed (or edge) BGP message per
line with the exact NOTIFICATION and RFC 7606 action BGPWire must produce.

Line format:  name ; context ; hex ; expectation
  context      comma list: as4 (default) | as2, addpath4, extmsg, enh4, ebgp   ("-" = defaults)
  expectation  ok | CODE/SUBCODE[/DATAHEX] ACTION   (ACTION: reset | withdraw | discard)
Run: python3 Fuzz/make-corpus.py > Tests/BGPWireTests/Corpus/bad-inputs.txt
"""
import struct

def msg(t, body, length=None):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body) if length is None else length, t) + body

def attr(flags, code, value, ext=False):
    if ext or len(value) > 255:
        return struct.pack("!BBH", flags | 0x10, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value

def update(withdrawn=b"", attrs=b"", nlri=b""):
    return msg(2, struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", len(attrs)) + attrs + nlri)

def open_msg(version=4, asn=65001, hold=90, bgpid=0x0a000001, params=None):
    caps = bytes.fromhex("01040001000141040000fde9")
    if params is None:
        params = b"\x02" + bytes([len(caps)]) + caps
    return msg(1, struct.pack("!BHHIB", version, asn, hold, bgpid, len(params)) + params)

ORIGIN = attr(0x40, 1, b"\x00")
ASPATH = attr(0x40, 2, b"\x02\x01" + struct.pack("!I", 65001))
ASPATH2 = attr(0x40, 2, b"\x02\x01" + struct.pack("!H", 65001))
NH = attr(0x40, 3, bytes([192, 0, 2, 1]))
BASE = ORIGIN + ASPATH + NH
NLRI = bytes([24, 198, 51, 100])
V6NLRI = bytes([48, 0x20, 0x01, 0x0d, 0xb8, 0, 1])
V6NH = bytes.fromhex("20010db8000000000000000000000001")

def mp_reach(afi, safi, nh, nlri):
    return struct.pack("!HBB", afi, safi, len(nh)) + nh + b"\x00" + nlri

cases = []
def case(name, data, expect, ctx="-"):
    cases.append((name, ctx, data.hex(), expect))

# --- Message header (RFC 4271 §6.1)
case("header-marker-not-ones", b"\xfe" + msg(4, b"")[1:], "1/1 reset")
case("header-length-18", msg(4, b"", length=18), "1/2/0012 reset")
case("header-update-length-4097", msg(2, b"\x00\x00\x00\x00" + b"\x00" * 4074), "1/2/1001 reset")
case("header-keepalive-length-20", msg(4, b"\x00"), "1/2/0014 reset")
case("header-bad-type-6", msg(6, b""), "1/3/06 reset")
case("header-bad-type-0", msg(0, b"\x00\x00"), "1/3/00 reset")
case("header-open-length-28", msg(1, b"\x04" + b"\x00" * 8), "1/2/001c reset")
case("header-notification-length-20", msg(3, b"\x06"), "1/2/0014 reset")
case("header-route-refresh-length-22", msg(5, b"\x00\x01\x00"), "1/2/0016 reset")
m = msg(1, b"\x04" + b"\x00" * 4080)
case("header-open-over-4096-with-extended-messages", m, "1/2/" + m[16:18].hex() + " reset", "extmsg")
big = update(attrs=BASE, nlri=NLRI * 1300)
case("update-5219-bytes-without-extended-messages", big, "1/2/" + big[16:18].hex() + " reset")
case("update-5219-bytes-with-extended-messages", big, "ok", "extmsg")

# --- OPEN (RFC 4271 §6.2, RFC 5492, RFC 9072)
case("open-version-3", open_msg(version=3), "2/1/0004 reset")
case("open-hold-time-1", open_msg(hold=1), "2/6 reset")
case("open-hold-time-2", open_msg(hold=2), "2/6 reset")
case("open-hold-time-0-ok", open_msg(hold=0), "ok")
case("open-bgp-id-zero", open_msg(bgpid=0), "2/3 reset")
case("open-my-as-zero-rfc7607", open_msg(asn=0), "2/2/0000 reset")
case("open-4octet-as-zero-rfc7607", open_msg(params=b"\x02\x06\x41\x04\x00\x00\x00\x00"), "2/2/00000000 reset")
case("open-param-type-1", open_msg(params=b"\x01\x02\xab\xcd"), "2/4 reset")
case("open-param-length-overruns", open_msg(params=b"\x02\x09\x01\x04\x00\x01\x00\x01"), "2/0 reset")
case("open-capability-overruns-param", open_msg(params=b"\x02\x04\x01\x04\x00\x01"), "2/0 reset")
case("open-mp-capability-length-3", open_msg(params=b"\x02\x05\x01\x03\x00\x01\x01"), "2/0 reset")
case("open-4octet-capability-length-2", open_msg(params=b"\x02\x04\x41\x02\xfd\xe9"), "2/0 reset")
case("open-graceful-restart-length-3", open_msg(params=b"\x02\x05\x40\x03\x00\x78\x00"), "2/0 reset")
case("open-addpath-mode-4", open_msg(params=b"\x02\x06\x45\x04\x00\x01\x01\x04"), "2/0 reset")
caps = bytes.fromhex("01040001000141040000fde9")
ext = b"\xff\xff" + struct.pack("!H", 3 + len(caps)) + b"\x02" + struct.pack("!H", len(caps)) + caps
case("open-rfc9072-extended-parameters-ok", msg(1, struct.pack("!BHHI", 4, 65001, 90, 0x0a000001) + ext), "ok")
case("open-unknown-capability-ok", open_msg(params=b"\x02\x05\xee\x03abc"), "ok")

# --- UPDATE framing (RFC 4271 §6.3, RFC 7606 §4, §5.3)
case("update-withdrawn-length-overruns", msg(2, b"\x00\x10" + NLRI + b"\x00\x00"), "3/1 reset")
case("update-attribute-length-overruns", msg(2, b"\x00\x00\x00\x40" + BASE), "3/1 reset")
case("update-attribute-overruns-section",
     msg(2, b"\x00\x00" + struct.pack("!H", len(BASE) + 3) + BASE + b"\x40\x05\x04" + NLRI), "3/1 reset")
case("update-two-bytes-left-in-section", msg(2, b"\x00\x00" + struct.pack("!H", len(BASE) + 2) + BASE + b"\x40\x05"), "3/1 reset")
case("update-nlri-length-33", update(attrs=BASE, nlri=bytes([33, 1, 2, 3, 4, 5])), "3/10 reset")
case("update-nlri-truncated", update(attrs=BASE, nlri=bytes([24, 198, 51])), "3/10 reset")
case("update-withdrawn-length-40", update(withdrawn=bytes([40, 1, 2, 3, 4, 5])), "3/10 reset")
case("update-addpath-nlri-missing-path-id", update(attrs=BASE, nlri=b"\x00\x00\x01"), "3/10 reset", "addpath4")
case("update-addpath-ok", update(attrs=BASE, nlri=b"\x00\x00\x00\x07" + NLRI), "ok", "addpath4")

# --- Attribute errors: treat-as-withdraw (RFC 7606 §7)
def with_attr(a, skip=None, nlri=NLRI):
    parts = {1: ORIGIN, 2: ASPATH, 3: NH}
    body = b"".join(v for k, v in parts.items() if k != skip)
    return update(attrs=body + a if skip is None else a + body, nlri=nlri)

bad = attr(0x40, 1, b"\x03")
case("origin-value-3", update(attrs=bad + ASPATH + NH, nlri=NLRI), "3/6/" + bad.hex() + " withdraw")
bad = attr(0x40, 1, b"\x00\x00")
case("origin-length-2", update(attrs=bad + ASPATH + NH, nlri=NLRI), "3/5/" + bad.hex() + " withdraw")
bad = attr(0xc0, 1, b"\x00")
case("origin-flags-optional", update(attrs=bad + ASPATH + NH, nlri=NLRI), "3/4/" + bad.hex() + " withdraw")
case("as-path-segment-type-5", update(attrs=ORIGIN + attr(0x40, 2, b"\x05\x01\x00\x00\xfd\xe9") + NH, nlri=NLRI), "3/11 withdraw")
case("as-path-zero-length-segment", update(attrs=ORIGIN + attr(0x40, 2, b"\x02\x00") + NH, nlri=NLRI), "3/11 withdraw")
case("as-path-segment-overrun", update(attrs=ORIGIN + attr(0x40, 2, b"\x02\x02\x00\x00\xfd\xe9") + NH, nlri=NLRI), "3/11 withdraw")
case("as-path-2octet-odd-length", update(attrs=ORIGIN + attr(0x40, 2, b"\x02\x01\xfd") + NH, nlri=NLRI), "3/11 withdraw", "as2")
bad = attr(0x40, 3, b"\xc0\x00\x02\x01\x01")
case("next-hop-length-5", update(attrs=ORIGIN + ASPATH + bad, nlri=NLRI), "3/5/" + bad.hex() + " withdraw")
bad = attr(0x40, 3, b"\x00\x00\x00\x00")
case("next-hop-zero", update(attrs=ORIGIN + ASPATH + bad, nlri=NLRI), "3/8/" + bad.hex() + " withdraw")
bad = attr(0x40, 3, b"\xe0\x00\x00\x05")
case("next-hop-multicast", update(attrs=ORIGIN + ASPATH + bad, nlri=NLRI), "3/8/" + bad.hex() + " withdraw")
# Attributes appended to a valid ORIGIN/AS_PATH/NEXT_HOP: (name, attribute, subcode); data = the attribute.
for name, bad, sub in [
    ("med-length-3", attr(0x80, 4, b"\x00\x00\x01"), 5),
    ("med-flags-transitive", attr(0xc0, 4, b"\x00\x00\x00\x01"), 4),
    ("local-pref-length-2", attr(0x40, 5, b"\x00\x64"), 5),
    ("communities-length-3", attr(0xc0, 8, b"\xfd\xe9\x00"), 5),
    ("communities-length-0", attr(0xc0, 8, b""), 5),
    ("originator-id-length-5", attr(0x80, 9, b"\x0a\x00\x00\x01\x01"), 5),
    ("cluster-list-length-6", attr(0x80, 10, b"\x0a\x00\x00\x01\x01\x02"), 5),
    ("ext-communities-length-7", attr(0xc0, 16, b"\x00\x02\xfd\xe9\x00\x00\x00"), 5),
    ("large-community-length-11", attr(0xc0, 32, b"\x00" * 11), 5),
]:
    case(name, with_attr(bad), f"3/{sub}/{bad.hex()} withdraw")
case("missing-origin", update(attrs=ASPATH + NH, nlri=NLRI), "3/3/01 withdraw")
case("missing-as-path", update(attrs=ORIGIN + NH, nlri=NLRI), "3/3/02 withdraw")
case("missing-next-hop", update(attrs=ORIGIN + ASPATH, nlri=NLRI), "3/3/03 withdraw")
case("missing-attributes-without-nlri-ok", update(withdrawn=NLRI), "ok")
case("mp-reach-without-next-hop-attribute-ok",
     update(attrs=attr(0x80, 14, mp_reach(2, 1, V6NH, V6NLRI)) + ORIGIN + ASPATH), "ok")

case("as-path-as-zero-rfc7607", update(attrs=ORIGIN + attr(0x40, 2, b"\x02\x02\x00\x00\xfd\xe9\x00\x00\x00\x00") + NH, nlri=NLRI), "3/11 withdraw")

# --- From an external peer (RFC 7606 §7.5, §7.9, §7.10)
case("local-pref-from-ebgp-disregarded-ok", with_attr(attr(0x40, 5, b"\x00\x00\x00\x64")), "ok", "ebgp")
bad = attr(0x80, 9, b"\x0a\x00\x00\x01")
case("originator-id-from-ebgp", with_attr(bad), "3/9/" + bad.hex() + " discard", "ebgp")
bad = attr(0x80, 10, b"\x0a\x00\x00\x01")
case("cluster-list-from-ebgp", with_attr(bad), "3/9/" + bad.hex() + " discard", "ebgp")
bad = attr(0x80, 10, b"\x0a\x00\x00")
case("cluster-list-malformed-from-ebgp", with_attr(bad), "3/5/" + bad.hex() + " withdraw", "ebgp")

# --- Attribute errors: attribute discard
bad = attr(0x40, 6, b"\x00")
case("atomic-aggregate-length-1", with_attr(bad), "3/5/" + bad.hex() + " discard")
bad = attr(0xc0, 7, b"\x00\x00\xfd\xe9\x0a\x00\x00")
case("aggregator-length-7", with_attr(bad), "3/5/" + bad.hex() + " discard")
bad = attr(0xc0, 7, b"\x00\x00\xfd\xe9\x0a\x00\x00\x01")
case("aggregator-length-8-from-2octet-peer", update(attrs=ORIGIN + ASPATH2 + NH + bad, nlri=NLRI), "3/5/" + bad.hex() + " discard", "as2")
bad = attr(0xc0, 7, b"\xfd\xe9\x0a\x00\x00\x01")
case("aggregator-length-6-from-4octet-peer", with_attr(bad), "3/5/" + bad.hex() + " discard")
case("duplicate-med", with_attr(attr(0x80, 4, b"\x00\x00\x00\x01") + attr(0x80, 4, b"\x00\x00\x00\x02")), "3/1 discard")
case("duplicate-origin", with_attr(ORIGIN), "3/1 discard")
case("as4-path-malformed-from-2octet-peer",
     update(attrs=ORIGIN + ASPATH2 + NH + attr(0xc0, 17, b"\x02\x02\x00\x00"), nlri=NLRI), "3/11 discard", "as2")
case("as4-path-confed-from-2octet-peer",
     update(attrs=ORIGIN + ASPATH2 + NH + attr(0xc0, 17, b"\x03\x01\x00\x01\x00\x00"), nlri=NLRI), "3/11 discard", "as2")
bad = attr(0xc0, 7, b"\x00\x00\x00\x00\x0a\x00\x00\x01")
case("aggregator-as-zero-rfc7607", with_attr(bad), "3/9/" + bad.hex() + " discard")
case("as4-path-as-zero-from-2octet-peer",
     update(attrs=ORIGIN + ASPATH2 + NH + attr(0xc0, 17, b"\x02\x01\x00\x00\x00\x00"), nlri=NLRI), "3/11 discard", "as2")
bad = attr(0xc0, 18, b"\x00\x01\x00\x00\x0a\x00")
case("as4-aggregator-length-6", with_attr(bad), "3/5/" + bad.hex() + " discard")

# --- Session reset attributes
case("duplicate-mp-reach",
     update(attrs=attr(0x80, 14, mp_reach(2, 1, V6NH, V6NLRI)) * 2 + ORIGIN + ASPATH), "3/1 reset")
case("duplicate-mp-unreach", update(attrs=attr(0x80, 15, b"\x00\x02\x01") * 2), "3/1 reset")
bad = attr(0x80, 14, mp_reach(2, 1, V6NH + b"\x00" * 4, V6NLRI))
case("mp-reach-ipv6-next-hop-length-20", update(attrs=bad + ORIGIN + ASPATH), "3/9/" + bad.hex() + " reset")
bad = attr(0x80, 14, mp_reach(2, 1, V6NH, bytes([129]) + b"\x00" * 17))
case("mp-reach-ipv6-prefix-length-129", update(attrs=bad + ORIGIN + ASPATH), "3/9/" + bad.hex() + " reset")
bad = attr(0x80, 14, mp_reach(1, 1, V6NH, NLRI))
case("mp-reach-ipv4-with-ipv6-next-hop-not-negotiated", update(attrs=bad + ORIGIN + ASPATH), "3/9/" + bad.hex() + " reset")
case("mp-reach-ipv4-with-ipv6-next-hop-rfc8950-ok", update(attrs=bad + ORIGIN + ASPATH), "ok", "enh4")
bad = attr(0x80, 14, struct.pack("!HBB", 2, 1, 16) + V6NH)
case("mp-reach-missing-reserved-octet", update(attrs=bad + ORIGIN + ASPATH), "3/9/" + bad.hex() + " reset")
bad = attr(0x80, 15, b"\x00\x02")
case("mp-unreach-length-2", update(attrs=bad), "3/5/" + bad.hex() + " reset")
bad = attr(0x80, 15, b"\x00\x02\x01\x40\x20\x01")
case("mp-unreach-prefix-truncated", update(attrs=bad), "3/9/" + bad.hex() + " reset")
bad = attr(0xc0, 14, mp_reach(2, 1, V6NH, V6NLRI))
case("mp-reach-flags-transitive", update(attrs=bad + ORIGIN + ASPATH), "3/4/" + bad.hex() + " reset")
bad = attr(0x40, 40, b"\x01\x02")
case("unknown-well-known-attribute", with_attr(bad), "3/2/" + bad.hex() + " reset")
case("unknown-optional-non-transitive-dropped-ok", with_attr(attr(0x80, 99, b"\x01\x02")), "ok")
case("unknown-optional-transitive-kept-ok", with_attr(attr(0xc0, 99, b"\x01\x02")), "ok")

# --- ROUTE-REFRESH (RFC 7313 §5)
m = msg(5, b"\x00\x01\x01\x01\x00")
case("route-refresh-borr-body-5", m, "7/1/" + m.hex() + " reset")
m = msg(5, b"\x00\x02\x02\x01\xaa\xbb")
case("route-refresh-eorr-body-6", m, "7/1/" + m.hex() + " reset")
case("route-refresh-reserved-subtype-ok", msg(5, b"\x00\x01\x07\x01"), "ok")

print(__doc__.strip().replace("\n", "\n# ").join(["# ", ""]))
for c in cases:
    print(" ; ".join(c))
