/// An IPv6 address as two host-order 64-bit halves; `description` is RFC 5952 text.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        high = h; low = l
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        return out
    }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<8).map { i in
            let half = i < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(i % 4)))
        }
    }

    public init(groups: [UInt16]) {
        precondition(groups.count == 8)
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(groups[i]) }
        for i in 4..<8 { l = l << 16 | UInt64(groups[i]) }
        high = h; low = l
    }

    /// Parses RFC 4291 §2.2 text: hex groups, one `::`, optional trailing dotted IPv4.
    public init?(_ text: Substring) {
        guard !text.isEmpty, text.count <= 45 else { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        var sawDoubleColon = false
        let parts: [Substring]
        if let range = text.firstRange(of: "::") {
            sawDoubleColon = true
            let left = text[text.startIndex..<range.lowerBound]
            let right = text[range.upperBound...]
            if right.contains("::") { return nil }
            guard let l = IPv6Address.parseGroups(left, allowV4Tail: false),
                  let r = IPv6Address.parseGroups(right, allowV4Tail: true) else { return nil }
            head = l; tail = r
            parts = []
        } else {
            parts = [text]
            guard let g = IPv6Address.parseGroups(text, allowV4Tail: true) else { return nil }
            head = g
        }
        _ = parts
        if sawDoubleColon {
            guard head.count + tail.count <= 7 else { return nil }
            self.init(groups: head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail)
        } else {
            guard head.count == 8 else { return nil }
            self.init(groups: head)
        }
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    private static func parseGroups(_ s: Substring, allowV4Tail: Bool) -> [UInt16]? {
        if s.isEmpty { return [] }
        var out: [UInt16] = []
        let pieces = s.split(separator: ":", omittingEmptySubsequences: false)
        for (i, p) in pieces.enumerated() {
            if allowV4Tail && i == pieces.count - 1 && p.contains(".") {
                guard let v4 = IPv4Address(p) else { return nil }
                out.append(UInt16(v4.value >> 16)); out.append(UInt16(truncatingIfNeeded: v4.value))
                continue
            }
            guard !p.isEmpty, p.count <= 4, let v = UInt16(p, radix: 16) else { return nil }
            out.append(v)
        }
        return out
    }

    /// RFC 5952: lowercase, no leading zeros, longest run (≥2) of zero groups as `::`.
    public var description: String {
        let g = groups
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        func hex(_ range: Range<Int>) -> String { range.map { String(g[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }

    public static func < (l: Self, r: Self) -> Bool { (l.high, l.low) < (r.high, r.low) }

    public static let any = IPv6Address(high: 0, low: 0)
}
