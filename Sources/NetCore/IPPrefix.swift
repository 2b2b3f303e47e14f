/// Why a prefix text was rejected; `description` is the user-facing reason.
public enum PrefixParseError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingLength(String)
    case badAddress(String)
    case badLength(String)
    case notMasked(String, canonical: String)

    public var description: String {
        switch self {
        case .missingLength(let t): "\"\(t)\" is not a CIDR: expected ADDRESS/LENGTH"
        case .badAddress(let t): "\"\(t)\" has an invalid IP address"
        case .badLength(let t): "\"\(t)\" has an invalid prefix length"
        case .notMasked(let t, let c): "\"\(t)\" is not strictly masked (did you mean \(c)?)"
        }
    }
}

/// An IP prefix (network address plus length). The stored address may have host bits set only
/// when created through `init(unmasked:)`-style APIs; `masked` clears them.
public struct IPPrefix: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    /// Creates a prefix, clearing host bits.
    public init(_ address: IPAddress, length: Int) {
        precondition(length >= 0 && length <= address.family.bitWidth, "prefix length out of range")
        self.address = IPPrefix.mask(address, length)
        self.length = length
    }

    /// Host route for one address (/32 or /128).
    public init(host: IPAddress) { self.init(host, length: host.family.bitWidth) }

    /// Strict parse: `ADDR/LEN` with host bits clear. Use `parse(_:strict:)` for the error.
    public init?(_ text: String) {
        guard case .success(let p) = IPPrefix.parse(text, strict: true) else { return nil }
        self = p
    }

    /// Parses `ADDR/LEN`. With `strict`, host bits set is an error naming the masked form;
    /// without it they are cleared.
    public static func parse(_ text: String, strict: Bool) -> Result<IPPrefix, PrefixParseError> {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .failure(.missingLength(text)) }
        guard let addr = IPAddress(parts[0]) else { return .failure(.badAddress(text)) }
        guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), parts[1].count <= 3,
              let len = Int(parts[1]), len <= addr.family.bitWidth
        else { return .failure(.badLength(text)) }
        let p = IPPrefix(addr, length: len)
        if strict && p.address != addr { return .failure(.notMasked(text, canonical: p.description)) }
        return .success(p)
    }

    public var family: IPFamily { address.family }

    public var description: String { "\(address)/\(length)" }

    /// True when `other` lies inside this prefix (equal counts).
    public func contains(_ other: IPPrefix) -> Bool {
        other.family == family && other.length >= length && IPPrefix.mask(other.address, length) == address
    }

    public func contains(_ addr: IPAddress) -> Bool {
        addr.family == family && IPPrefix.mask(addr, length) == address
    }

    /// True when the two prefixes share any address.
    public func overlaps(_ other: IPPrefix) -> Bool { contains(other) || other.contains(self) }

    /// Number of addresses, saturating at UInt64.max for huge IPv6 prefixes.
    public var addressCount: UInt64 {
        let hostBits = family.bitWidth - length
        return hostBits >= 64 ? UInt64.max : (1 << UInt64(hostBits))
    }

    /// The address at `offset` from the network address (offset must fit the prefix).
    public func address(at offset: UInt64) -> IPAddress {
        switch address {
        case .v4(let a): return .v4(IPv4Address(a.value &+ UInt32(truncatingIfNeeded: offset)))
        case .v6(let a):
            let (low, overflow) = a.low.addingReportingOverflow(offset)
            return .v6(IPv6Address(high: a.high &+ (overflow ? 1 : 0), low: low))
        }
    }

    /// Offset of `addr` from the network address, if inside the prefix.
    public func offset(of addr: IPAddress) -> UInt64? {
        guard contains(addr) else { return nil }
        switch (address, addr) {
        case (.v4(let n), .v4(let a)): return UInt64(a.value - n.value)
        case (.v6(let n), .v6(let a)): return a.low &- n.low
        default: return nil
        }
    }

    /// Calico's key form: `10.244.1.0-26` ("/" replaced by "-").
    public var keyForm: String { "\(address)-\(length)" }

    /// Parses the key form back.
    public init?(keyForm text: String) {
        guard let dash = text.lastIndex(of: "-") else { return nil }
        self.init(String(text[text.startIndex..<dash]) + "/" + String(text[text.index(after: dash)...]))
    }

    public static func < (l: Self, r: Self) -> Bool {
        l.address == r.address ? l.length < r.length : l.address < r.address
    }

    static func mask(_ addr: IPAddress, _ length: Int) -> IPAddress {
        switch addr {
        case .v4(let a):
            let m: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            return .v4(IPv4Address(a.value & m))
        case .v6(let a):
            let hm: UInt64 = length >= 64 ? ~0 : (length == 0 ? 0 : ~UInt64(0) << UInt64(64 - length))
            let lm: UInt64 = length <= 64 ? 0 : (length == 128 ? ~0 : ~UInt64(0) << UInt64(128 - length))
            return .v6(IPv6Address(high: a.high & hm, low: a.low & lm))
        }
    }
}
