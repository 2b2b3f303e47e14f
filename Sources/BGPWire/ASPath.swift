/// One AS_PATH segment (RFC 4271 §4.3, RFC 5065 for the confederation types).
public struct ASPathSegment: Hashable, Sendable {
    public enum Kind: UInt8, Hashable, Sendable {
        case set = 1
        case sequence = 2
        case confedSequence = 3
        case confedSet = 4
    }
    public var kind: Kind
    public var asns: [UInt32]

    public init(_ kind: Kind, _ asns: [UInt32]) { self.kind = kind; self.asns = asns }

    var isConfederation: Bool { kind == .confedSequence || kind == .confedSet }

    /// Contribution to the path length used in best-path selection (RFC 4271 §9.1.2.2: a SET
    /// counts 1, confederation segments 0, RFC 5065 §5.3).
    public var pathLength: Int {
        switch kind { case .sequence: asns.count; case .set: 1; case .confedSequence, .confedSet: 0 }
    }
}

/// An AS_PATH (or AS4_PATH) value. Decoded as received; the 2/4-octet width is the context's.
public struct ASPath: Hashable, Sendable, CustomStringConvertible {
    public var segments: [ASPathSegment]

    public init(_ segments: [ASPathSegment] = []) { self.segments = segments }

    /// A path of one AS_SEQUENCE.
    public init(sequence asns: [UInt32]) { segments = asns.isEmpty ? [] : [ASPathSegment(.sequence, asns)] }

    public static let empty = ASPath()

    /// The RFC 4271 §9.1.2.2 path length.
    public var length: Int { segments.reduce(0) { $0 + $1.pathLength } }

    /// The neighbouring AS (first AS of a leading AS_SEQUENCE), if any.
    public var firstAS: UInt32? {
        guard let s = segments.first, s.kind == .sequence else { return nil }
        return s.asns.first
    }

    /// The originating AS (last AS of a trailing AS_SEQUENCE), if any.
    public var originAS: UInt32? {
        guard let s = segments.last, s.kind == .sequence else { return nil }
        return s.asns.last
    }

    /// Every AS in the path, in order, for loop detection.
    public func contains(_ asn: UInt32) -> Bool { segments.contains { $0.asns.contains(asn) } }

    /// The path with `asn` prepended `count` times (to a leading sequence, or a new one).
    public func prepending(_ asn: UInt32, count: Int = 1) -> ASPath {
        var out = self
        let add = [UInt32](repeating: asn, count: count)
        if let first = out.segments.first, first.kind == .sequence, first.asns.count + count <= 255 {
            out.segments[0].asns = add + first.asns
        } else {
            out.segments.insert(ASPathSegment(.sequence, add), at: 0)
        }
        return out
    }

    /// True if any AS needs 4 octets.
    public var needsFourOctets: Bool { segments.contains { $0.asns.contains { $0 > 0xffff } } }

    public var description: String {
        segments.map { s -> String in
            let list = s.asns.map(String.init).joined(separator: " ")
            switch s.kind {
            case .sequence: return list
            case .set: return "{\(list)}"
            case .confedSequence: return "(\(list))"
            case .confedSet: return "[\(list)]"
            }
        }.joined(separator: " ")
    }

    /// Decodes an AS_PATH value; throws `malformed` (with its action) on RFC 7606 §7.2 errors:
    /// unknown segment type, zero-length segment, a segment overrunning the attribute, AS 0
    /// (RFC 7607).
    init(parsing r: inout WireReader, asWidth: Int, malformed: WireError) throws(WireError) {
        r.truncation = malformed
        segments = []
        while !r.isAtEnd {
            let t = try r.u8()
            guard let kind = ASPathSegment.Kind(rawValue: t) else {
                var e = malformed; e.reason = "AS_PATH segment type \(t) is not defined"; throw e
            }
            let n = Int(try r.u8())
            guard n > 0 else { var e = malformed; e.reason = "AS_PATH segment of length 0"; throw e }
            var asns: [UInt32] = []
            asns.reserveCapacity(n)
            for _ in 0..<n {
                let asn = asWidth == 4 ? try r.u32() : UInt32(try r.u16())
                // RFC 7607 §2: AS 0 in AS_PATH/AS4_PATH makes the attribute malformed.
                guard asn != 0 else { var e = malformed; e.reason = "AS 0 in the path (RFC 7607)"; throw e }
                asns.append(asn)
            }
            segments.append(ASPathSegment(kind, asns))
        }
    }

    /// Encodes with `asWidth` octets per AS; ASes that do not fit 2 octets become AS_TRANS.
    /// Segments longer than 255 ASes are split.
    func encode(into w: inout WireWriter, asWidth: Int) {
        for s in segments {
            var i = 0
            repeat {
                let chunk = s.asns[i..<min(i + 255, s.asns.count)]
                w.u8(s.kind.rawValue); w.u8(UInt8(chunk.count))
                for a in chunk {
                    if asWidth == 4 { w.u32(a) } else { w.u16(a > 0xffff ? UInt16(ASTrans) : UInt16(a)) }
                }
                i += 255
            } while i < s.asns.count
        }
    }
}

/// RFC 6793 AS_TRANS.
public let ASTrans: UInt32 = 23456
