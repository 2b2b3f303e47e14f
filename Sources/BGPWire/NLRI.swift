import NetCore

/// One prefix in an UPDATE, with its ADD-PATH Path Identifier when the family negotiated it
/// (RFC 7911). Small and allocation-free.
public struct NLRI: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var prefix: IPPrefix
    public var pathID: UInt32?

    public init(_ prefix: IPPrefix, pathID: UInt32? = nil) { self.prefix = prefix; self.pathID = pathID }

    public static func < (l: Self, r: Self) -> Bool {
        l.prefix == r.prefix ? (l.pathID ?? 0) < (r.pathID ?? 0) : l.prefix < r.prefix
    }

    public var description: String { pathID.map { "\(prefix) path-id \($0)" } ?? prefix.description }

    /// Wire size of this NLRI (path ID, length octet, prefix octets).
    public func encodedSize(addPath: Bool) -> Int { (addPath ? 4 : 0) + 1 + (prefix.length + 7) / 8 }

    /// Appends the RFC 4271 §4.3 encoding (plus the Path Identifier when `addPath`).
    public func encode(into w: inout WireWriter, addPath: Bool) {
        if addPath { w.u32(pathID ?? 0) }
        w.u8(UInt8(prefix.length))
        let n = (prefix.length + 7) / 8
        switch prefix.address {
        case .v4(let a):
            for i in 0..<n { w.u8(UInt8(truncatingIfNeeded: a.value >> UInt32(24 - 8 * i))) }
        case .v6(let a):
            for i in 0..<n {
                let half = i < 8 ? a.high : a.low
                w.u8(UInt8(truncatingIfNeeded: half >> UInt64(56 - 8 * (i % 8))))
            }
        }
    }
}

extension NLRI {
    /// Decodes a run of prefixes of `family` filling `r`, appending to `out`. Host bits past the
    /// prefix length are cleared. A length beyond the family width or a prefix overrunning the
    /// field throws `error` (3/10 for the classic fields, 3/9 inside MP attributes; session reset,
    /// RFC 7606 §5.3). The hot loop of the codec: one bounds check per field, no allocation
    /// beyond `out`.
    static func decodeAll(_ r: inout WireReader, family: IPFamily, addPath: Bool, into out: inout [NLRI],
                          error: WireError) throws(WireError) {
        let buf = r.storage
        let end = r.end
        let width = family.bitWidth
        var p = r.position
        while p < end {
            var pathID: UInt32?
            if addPath {
                guard end - p >= 5 else { throw error }
                pathID = UInt32(buf[p]) << 24 | UInt32(buf[p + 1]) << 16 | UInt32(buf[p + 2]) << 8 | UInt32(buf[p + 3])
                p += 4
            }
            let length = Int(buf[p])
            p += 1
            guard length <= width else {
                var e = error
                e.reason += ": prefix length \(length) exceeds \(width)"
                throw e
            }
            let n = (length + 7) >> 3
            guard end - p >= n else { throw error }
            var high: UInt64 = 0, low: UInt64 = 0
            var i = 0
            while i < n && i < 8 { high |= UInt64(buf[p + i]) << UInt64(56 - 8 * i); i += 1 }
            while i < n { low |= UInt64(buf[p + i]) << UInt64(120 - 8 * i); i += 1 }
            p += n
            let address: IPAddress = width == 32
                ? .v4(IPv4Address(UInt32(truncatingIfNeeded: high >> 32)))
                : .v6(IPv6Address(high: high, low: low))
            out.append(NLRI(IPPrefix(address, length: length), pathID: pathID))
        }
        r.position = end
    }
}
