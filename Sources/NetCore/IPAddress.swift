/// Address family, named as Calico and the kernel name them.
public enum IPFamily: Int, Hashable, Sendable, CustomStringConvertible {
    case v4 = 4
    case v6 = 6
    public var description: String { self == .v4 ? "IPv4" : "IPv6" }
    /// Bits in an address of this family.
    public var bitWidth: Int { self == .v4 ? 32 : 128 }
}

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses either family; an IPv6 literal may be wrapped in brackets.
    public init?(_ text: Substring) {
        if text.contains(":") {
            var t = text
            if t.first == "[" && t.last == "]" { t = t.dropFirst().dropLast() }
            guard let a = IPv6Address(t) else { return nil }
            self = .v6(a)
        } else {
            guard let a = IPv4Address(text) else { return nil }
            self = .v4(a)
        }
    }

    public init?(_ text: String) { self.init(Substring(text)) }

    public var family: IPFamily {
        switch self { case .v4: .v4; case .v6: .v6 }
    }

    public var bytes: [UInt8] {
        switch self { case .v4(let a): a.bytes; case .v6(let a): a.bytes }
    }

    public var description: String {
        switch self { case .v4(let a): a.description; case .v6(let a): a.description }
    }

    /// IPv4 sorts before IPv6; within a family, numeric order.
    public static func < (l: Self, r: Self) -> Bool {
        switch (l, r) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v6(let a), .v6(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}
