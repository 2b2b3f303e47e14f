import BGPRIB
import BGPWire
import NetCore

/// Turns an `OutboundBatch` into UPDATE messages.
///
/// IPv4 without ADD-PATH takes the fast path, as BIRD's bucket encoder does: the path attributes
/// of a set are encoded once (cached per update group, attribute set and AS width, so every peer
/// of a group shares them) and each message is those bytes followed by as many NLRI as fit.
/// IPv6 and ADD-PATH sessions go through BGPWire's full encoder.
struct UpdateEncoder {
    private struct Key: Hashable {
        var group: Int
        var attributes: RouteAttributes
        var fourOctetAS: Bool
    }
    private var cache: [Key: [UInt8]] = [:]

    /// Attribute sets cached; the cache is dropped whole past `limit` (old groups' sets).
    var cachedCount: Int { cache.count }
    private let limit = 32_768

    mutating func encode(_ batch: OutboundBatch, context: WireContext) -> [[UInt8]] {
        let ctx = context.encode
        let max = ctx.maxMessageSize
        var out: [[UInt8]] = []
        let fast4 = !ctx.addPath.contains(.ipv4Unicast)
        var slow = OutboundBatch()
        var w4: [IPPrefix] = []
        for p in batch.withdrawn {
            if p.family == .v4 && fast4 { w4.append(p) } else { slow.withdrawn.append(p) }
        }
        if !w4.isEmpty { Self.withdrawals(w4, max: max, into: &out) }
        for (attrs, prefixes) in batch.announced {
            guard fast4, case .v4 = attrs.nextHop else {
                slow.announced.append((attrs, prefixes))
                continue
            }
            var v4: [IPPrefix] = []
            v4.reserveCapacity(prefixes.count)
            for p in prefixes {
                if p.family == .v4 { v4.append(p) } else { slow.announced.append((attrs, [p])) }
            }
            guard !v4.isEmpty else { continue }
            let key = Key(group: batch.group, attributes: attrs, fourOctetAS: ctx.fourOctetAS)
            let attrBytes: [UInt8]
            if let hit = cache[key] { attrBytes = hit } else {
                guard let b = Self.attributeBytes(attrs, ctx) else {
                    slow.announced.append((attrs, v4))
                    continue
                }
                if cache.count >= limit { cache.removeAll(keepingCapacity: true) }
                cache[key] = b
                attrBytes = b
            }
            // A set too large for even one prefix cannot be sent (BIRD drops it the same way).
            guard attrBytes.count + 23 + 5 <= max else { continue }
            Self.announcements(attrBytes, v4, max: max, into: &out)
        }
        if !slow.isEmpty {
            var announce: [IPPrefix: RouteAttributes] = [:]
            for (a, ps) in slow.announced { for p in ps { announce[p] = a } }
            out += WireBridge.encodeUpdates(announce: announce, withdraw: slow.withdrawn, context: context)
        }
        return out
    }

    /// The path attribute section (with NEXT_HOP) of an IPv4 UPDATE for `attrs`.
    static func attributeBytes(_ attrs: RouteAttributes, _ ctx: EncodeContext) -> [UInt8]? {
        guard case .v4(let nh) = attrs.nextHop else { return nil }
        var path = attrs.path
        if path.origin == nil { path.origin = .igp }
        if path.asPath == nil { path.asPath = .empty }
        path.nextHop = nh
        // An UPDATE with no NLRI: 19 header + 2 (withdrawn length 0) + 2 (attribute length) + attributes.
        guard let m = try? UpdateMessage(attributes: path).encoded(context: ctx), m.count >= 23 else { return nil }
        return Array(m[23...])
    }

    private static func header(_ m: inout [UInt8]) {
        m.append(contentsOf: repeatElement(0xff, count: 16))
        m.append(contentsOf: [0, 0, 2])  // length (patched), type UPDATE
    }

    private static func finish(_ m: inout [UInt8]) {
        m[16] = UInt8(m.count >> 8)
        m[17] = UInt8(m.count & 0xff)
    }

    private static func appendNLRI(_ p: IPPrefix, _ m: inout [UInt8]) {
        guard case .v4(let a) = p.address else { return }
        m.append(UInt8(p.length))
        let v = a.value
        let n = (p.length + 7) / 8
        if n > 0 { m.append(UInt8(v >> 24)) }
        if n > 1 { m.append(UInt8((v >> 16) & 0xff)) }
        if n > 2 { m.append(UInt8((v >> 8) & 0xff)) }
        if n > 3 { m.append(UInt8(v & 0xff)) }
    }

    static func announcements(_ attrs: [UInt8], _ prefixes: [IPPrefix], max: Int, into out: inout [[UInt8]]) {
        var i = 0
        while i < prefixes.count {
            var m: [UInt8] = []
            m.reserveCapacity(Swift.min(max, 23 + attrs.count + 5 * (prefixes.count - i)))
            header(&m)
            m.append(contentsOf: [0, 0, UInt8(attrs.count >> 8), UInt8(attrs.count & 0xff)])
            m.append(contentsOf: attrs)
            while i < prefixes.count, m.count + 5 <= max {
                appendNLRI(prefixes[i], &m)
                i += 1
            }
            finish(&m)
            out.append(m)
        }
    }

    static func withdrawals(_ prefixes: [IPPrefix], max: Int, into out: inout [[UInt8]]) {
        var i = 0
        while i < prefixes.count {
            var m: [UInt8] = []
            m.reserveCapacity(Swift.min(max, 23 + 5 * (prefixes.count - i)))
            header(&m)
            m.append(contentsOf: [0, 0])  // withdrawn routes length (patched)
            while i < prefixes.count, m.count + 5 + 2 <= max {
                appendNLRI(prefixes[i], &m)
                i += 1
            }
            let wl = m.count - 21
            m[19] = UInt8(wl >> 8)
            m[20] = UInt8(wl & 0xff)
            m.append(contentsOf: [0, 0])  // no path attributes
            finish(&m)
            out.append(m)
        }
    }
}
