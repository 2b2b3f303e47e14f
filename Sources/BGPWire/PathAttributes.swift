import NetCore

/// Path attribute type codes (IANA "BGP Path Attributes").
public enum AttributeCode {
    public static let origin: UInt8 = 1
    public static let asPath: UInt8 = 2
    public static let nextHop: UInt8 = 3
    public static let multiExitDisc: UInt8 = 4
    public static let localPref: UInt8 = 5
    public static let atomicAggregate: UInt8 = 6
    public static let aggregator: UInt8 = 7
    public static let communities: UInt8 = 8
    public static let originatorID: UInt8 = 9
    public static let clusterList: UInt8 = 10
    public static let mpReachNLRI: UInt8 = 14
    public static let mpUnreachNLRI: UInt8 = 15
    public static let extendedCommunities: UInt8 = 16
    public static let as4Path: UInt8 = 17
    public static let as4Aggregator: UInt8 = 18
    public static let largeCommunities: UInt8 = 32
}

/// Attribute Flags bits (RFC 4271 §4.3).
public enum AttributeFlags {
    public static let optional: UInt8 = 0x80
    public static let transitive: UInt8 = 0x40
    public static let partial: UInt8 = 0x20
    public static let extendedLength: UInt8 = 0x10
}

/// ORIGIN values (RFC 4271 §5.1.1).
public enum Origin: UInt8, Hashable, Comparable, Sendable, CustomStringConvertible {
    case igp = 0
    case egp = 1
    case incomplete = 2
    public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }
    public var description: String { switch self { case .igp: "IGP"; case .egp: "EGP"; case .incomplete: "incomplete" } }
}

/// AGGREGATOR (merged with AS4_AGGREGATOR when the peer is a 2-octet speaker).
public struct Aggregator: Hashable, Sendable {
    public var asn: UInt32
    public var address: IPv4Address
    public init(asn: UInt32, address: IPv4Address) { self.asn = asn; self.address = address }
}

/// An attribute this codec does not interpret, kept for propagation. Only optional transitive
/// ones survive decoding, with the Partial bit set (RFC 4271 §5); `flags` never has Extended
/// Length (the encoder picks it).
public struct RawAttribute: Hashable, Sendable {
    public var flags: UInt8
    public var code: UInt8
    public var value: [UInt8]
    public init(flags: UInt8, code: UInt8, value: [UInt8]) {
        self.flags = flags & ~AttributeFlags.extendedLength; self.code = code; self.value = value
    }
}

/// The attributes describing a path (everything in an UPDATE except the NLRI-carrying
/// MP_REACH/MP_UNREACH and the RFC 6793 AS4_* attributes, which are folded into AS_PATH and
/// AGGREGATOR on decode and regenerated on encode). A plain `Hashable` value, so a RIB can
/// intern one per UPDATE and share it between prefixes.
public struct PathAttributes: Hashable, Sendable {
    public var origin: Origin?
    public var asPath: ASPath?
    /// The classic NEXT_HOP attribute (IPv4 NLRI outside MP_REACH).
    public var nextHop: IPv4Address?
    public var med: UInt32?
    public var localPref: UInt32?
    public var atomicAggregate: Bool
    public var aggregator: Aggregator?
    /// COMMUNITIES in received order (empty = absent).
    public var communities: [Community]
    public var originatorID: IPv4Address?
    public var clusterList: [IPv4Address]
    public var extendedCommunities: [ExtendedCommunity]
    public var largeCommunities: [LargeCommunity]
    /// Unrecognized optional transitive attributes, in type-code order.
    public var unknown: [RawAttribute]

    public init(origin: Origin? = nil, asPath: ASPath? = nil, nextHop: IPv4Address? = nil, med: UInt32? = nil,
                localPref: UInt32? = nil, atomicAggregate: Bool = false, aggregator: Aggregator? = nil,
                communities: [Community] = [], originatorID: IPv4Address? = nil, clusterList: [IPv4Address] = [],
                extendedCommunities: [ExtendedCommunity] = [], largeCommunities: [LargeCommunity] = [],
                unknown: [RawAttribute] = []) {
        self.origin = origin; self.asPath = asPath; self.nextHop = nextHop; self.med = med
        self.localPref = localPref; self.atomicAggregate = atomicAggregate; self.aggregator = aggregator
        self.communities = communities; self.originatorID = originatorID; self.clusterList = clusterList
        self.extendedCommunities = extendedCommunities; self.largeCommunities = largeCommunities
        self.unknown = unknown
    }

    /// No attribute at all (as in an IPv4 End-of-RIB).
    public var isEmpty: Bool { self == PathAttributes() }
}
