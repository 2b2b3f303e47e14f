/// A 4-octet AS number (RFC 6793). Accepts Calico's forms: plain decimal (`64512`) and
/// asdot (`1.10` = 1·65536 + 10). Prints plain, as calicoctl does.
public struct ASNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }

    public init?(_ text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        func num(_ s: Substring) -> UInt32? {
            guard !s.isEmpty, s.count <= 10, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return UInt32(s)
        }
        switch parts.count {
        case 1:
            guard let v = num(parts[0]) else { return nil }
            value = v
        case 2:
            guard let hi = num(parts[0]), let lo = num(parts[1]), hi <= 0xffff, lo <= 0xffff else { return nil }
            value = hi << 16 | lo
        default: return nil
        }
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    /// RFC 6793 AS_TRANS, sent in the 2-octet field when the real AS does not fit.
    public static let trans = ASNumber(23456)
    public var fitsTwoOctets: Bool { value <= 0xffff }
    public var asdot: String { value > 0xffff ? "\(value >> 16).\(value & 0xffff)" : "\(value)" }
    public var description: String { "\(value)" }
    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }
}
