import NetCore

/// An AFI/SAFI pair (RFC 4760). Unknown values are kept, so capabilities and MP attributes for
/// families we do not decode still round-trip.
public struct AddressFamily: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var afi: UInt16
    public var safi: UInt8

    public init(afi: UInt16, safi: UInt8) { self.afi = afi; self.safi = safi }

    public static let afiIPv4: UInt16 = 1
    public static let afiIPv6: UInt16 = 2
    public static let afiL2VPN: UInt16 = 25
    public static let safiUnicast: UInt8 = 1
    public static let safiMulticast: UInt8 = 2
    public static let safiLabeledUnicast: UInt8 = 4
    public static let safiEVPN: UInt8 = 70
    public static let safiVPN: UInt8 = 128
    public static let safiFlowSpec: UInt8 = 133

    public static let ipv4Unicast = AddressFamily(afi: 1, safi: 1)
    public static let ipv6Unicast = AddressFamily(afi: 2, safi: 1)
    public static let ipv4Multicast = AddressFamily(afi: 1, safi: 2)
    public static let ipv6Multicast = AddressFamily(afi: 2, safi: 2)
    public static let ipv4LabeledUnicast = AddressFamily(afi: 1, safi: 4)
    public static let ipv6LabeledUnicast = AddressFamily(afi: 2, safi: 4)
    public static let ipv4VPN = AddressFamily(afi: 1, safi: 128)
    public static let ipv6VPN = AddressFamily(afi: 2, safi: 128)
    public static let l2vpnEVPN = AddressFamily(afi: 25, safi: 70)
    public static let ipv4FlowSpec = AddressFamily(afi: 1, safi: 133)

    /// True for the families whose NLRI are plain RFC 4271 prefixes (unicast and multicast of
    /// IPv4/IPv6): the ones this codec decodes into `NLRI` values.
    public var hasPrefixNLRI: Bool {
        (afi == Self.afiIPv4 || afi == Self.afiIPv6) && (safi == Self.safiUnicast || safi == Self.safiMulticast)
    }

    /// The IP family of the NLRI, for AFI 1 and 2.
    public var ipFamily: IPFamily? {
        switch afi { case Self.afiIPv4: .v4; case Self.afiIPv6: .v6; default: nil }
    }

    public static func < (l: Self, r: Self) -> Bool { (l.afi, l.safi) < (r.afi, r.safi) }

    public var description: String {
        let a: String = switch afi { case 1: "ipv4"; case 2: "ipv6"; case 25: "l2vpn"; default: "afi\(afi)" }
        let s: String = switch safi {
        case 1: "unicast"; case 2: "multicast"; case 4: "labeled-unicast"; case 70: "evpn"
        case 128: "vpn"; case 133: "flowspec"; default: "safi\(safi)"
        }
        return "\(a)-\(s)"
    }
}
