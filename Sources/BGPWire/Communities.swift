/// An RFC 1997 community (AS:value in 32 bits).
public struct Community: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }
    public init(asn: UInt16, local: UInt16) { value = UInt32(asn) << 16 | UInt32(local) }
    public var asn: UInt16 { UInt16(value >> 16) }
    public var local: UInt16 { UInt16(truncatingIfNeeded: value) }

    public static let noExport = Community(0xFFFF_FF01)
    public static let noAdvertise = Community(0xFFFF_FF02)
    public static let noExportSubconfed = Community(0xFFFF_FF03)
    public static let noPeer = Community(0xFFFF_FF04)
    public static let gracefulShutdown = Community(0xFFFF_0000)
    public static let llgrStale = Community(0xFFFF_0006)
    public static let noLLGR = Community(0xFFFF_0007)

    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }
    public var description: String { "\(asn):\(local)" }
}

/// An RFC 4360 extended community, kept as its 8 octets.
public struct ExtendedCommunity: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var type: UInt8 { UInt8(value >> 56) }
    public var subtype: UInt8 { UInt8(truncatingIfNeeded: value >> 48) }

    /// Two-octet-AS specific route target (type 0x00, subtype 0x02).
    public static func routeTarget(asn: UInt16, local: UInt32) -> ExtendedCommunity {
        ExtendedCommunity(0x0002 << 48 | UInt64(asn) << 32 | UInt64(local))
    }

    public static func < (l: Self, r: Self) -> Bool { l.value < r.value }
    public var description: String {
        var hex = String(value, radix: 16)
        while hex.count < 16 { hex = "0" + hex }
        return "0x" + hex
    }
}

/// An RFC 8092 large community.
public struct LargeCommunity: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var global: UInt32
    public var local1: UInt32
    public var local2: UInt32
    public init(_ global: UInt32, _ local1: UInt32, _ local2: UInt32) {
        self.global = global; self.local1 = local1; self.local2 = local2
    }
    public static func < (l: Self, r: Self) -> Bool { (l.global, l.local1, l.local2) < (r.global, r.local1, r.local2) }
    public var description: String { "\(global):\(local1):\(local2)" }
}
