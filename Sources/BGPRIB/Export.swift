import BGPWire
import NetCore

/// This speaker's identity for import/export rules.
public struct LocalSpeaker: Hashable, Sendable {
    public var asn: UInt32
    public var routerID: IPv4Address
    /// Route-reflector cluster ID (RFC 4456; the router ID when we reflect and none is set);
    /// nil = not a route reflector.
    public var clusterID: IPv4Address?
    public init(asn: UInt32, routerID: IPv4Address, clusterID: IPv4Address? = nil) {
        self.asn = asn; self.routerID = routerID; self.clusterID = clusterID
    }
}

/// Where a path came from, as export rules see it.
public struct PathSource: Hashable, Sendable {
    public var type: PeerType
    public var routerID: IPv4Address
    /// The peer is a route-reflector client of ours.
    public var isRRClient: Bool
    public init(type: PeerType, routerID: IPv4Address, isRRClient: Bool = false) {
        self.type = type; self.routerID = routerID; self.isRRClient = isRRClient
    }
}

/// A peer's outbound policy. Peers with equal policies form one update group and share every
/// export computation.
public struct ExportPolicy: Hashable, Sendable {
    public var type: PeerType
    public var asn: UInt32
    public var isRRClient: Bool
    public var nextHopMode: NextHopMode
    /// `export: all`; false = nothing is sent (RFC 8212's default for eBGP).
    public var exportAll: Bool
    public var families: Set<IPFamily>
    public var filters: [RouteFilter]
    /// Our address on the session: next hop self for its family.
    public var localAddress: IPAddress?
    public init(type: PeerType, asn: UInt32, isRRClient: Bool = false, nextHopMode: NextHopMode = .auto,
                exportAll: Bool = true, families: Set<IPFamily> = [.v4], filters: [RouteFilter] = [],
                localAddress: IPAddress? = nil) {
        self.type = type; self.asn = asn; self.isRRClient = isRRClient; self.nextHopMode = nextHopMode
        self.exportAll = exportAll; self.families = families; self.filters = filters; self.localAddress = localAddress
    }
}

/// Why an UPDATE's path is not accepted (treated as withdrawn).
public enum ImportRejection: Hashable, Sendable, CustomStringConvertible {
    case asLoop(asn: UInt32, occurrences: Int, allowed: Int)
    case originatorIsUs
    case clusterLoop(IPv4Address)
    public var description: String {
        switch self {
        case let .asLoop(a, n, allowed): "AS_PATH loop: own AS \(a) appears \(n) times (allowas-in \(allowed))"
        case .originatorIsUs: "ORIGINATOR_ID is our router ID"
        case let .clusterLoop(c): "our cluster ID \(c) is in CLUSTER_LIST"
        }
    }
}

public enum RIBPolicy {
    /// Import checks: AS loop (own AS allowed up to `allowASIn` times, RFC 4271 §9.1.2), and the
    /// RFC 4456 §8 ORIGINATOR_ID / CLUSTER_LIST loop checks on iBGP paths.
    public static func importCheck(_ attrs: PathAttributes, from type: PeerType, local: LocalSpeaker,
                                   allowASIn: Int = 0) -> ImportRejection? {
        if let path = attrs.asPath, path.contains(local.asn) {
            let n = path.segments.reduce(0) { $0 + $1.asns.lazy.filter { $0 == local.asn }.count }
            if n > allowASIn { return .asLoop(asn: local.asn, occurrences: n, allowed: allowASIn) }
        }
        if type == .ibgp {
            if attrs.originatorID == local.routerID { return .originatorIsUs }
            let cluster = local.clusterID ?? local.routerID
            if !attrs.clusterList.isEmpty, attrs.clusterList.contains(cluster) { return .clusterLoop(cluster) }
        }
        return nil
    }

    /// The attributes to send a path to a peer with policy `to`, or nil when it must not go there.
    /// - nothing without `export: all`, nothing of a family the session does not carry;
    /// - export filters (Calico BGPFilter semantics) first, on the route as in the Loc-RIB;
    /// - eBGP: not to a peer whose AS is in the path; prepend our AS; next hop self (unless
    ///   `nextHop: keep`); no LOCAL_PREF; MED only for our own routes; no ORIGINATOR_ID/CLUSTER_LIST;
    /// - iBGP: iBGP-learned paths only by reflection (RFC 4456 §6: from a client to everyone, from
    ///   a non-client to clients), adding ORIGINATOR_ID and our cluster ID; LOCAL_PREF set; next
    ///   hop kept (self for our own announcements without one, or with `nextHop: self`).
    /// `prefix` matters only to filters.
    public static func export(_ a: RouteAttributes, prefix: IPPrefix, from src: PathSource, to t: ExportPolicy,
                              local: LocalSpeaker) -> RouteAttributes? {
        guard t.exportAll, t.families.contains(prefix.family) else { return nil }
        var out = a
        if !t.filters.isEmpty {
            var p = out.path
            let subject = FilterSubject(prefix: prefix, peerType: t.type, learnedFromPeer: src.type != .local)
            if case .rejected = RouteFilter.evaluate(t.filters, direction: .exporting, subject: subject, attrs: &p) {
                return nil
            }
            if p != out.path { out.path = p }
        }
        var localNextHop: IPAddress? = t.localAddress.flatMap { $0.family == prefix.family ? $0 : nil }
        switch t.type {
        case .local:
            return nil
        case .ebgp:
            if out.contains(as: t.asn) { return nil }
            var p = out.path
            p.asPath = (p.asPath ?? .empty).prepending(local.asn)
            p.localPref = nil
            if src.type != .local { p.med = nil }
            p.originatorID = nil
            p.clusterList = []
            out.path = p
            if t.nextHopMode == .keep, !out.nextHop.isUnspecified, out.nextHop.family == prefix.family { return out }
            // For a family other than the session's, an explicit announcement next hop.
            if localNextHop == nil, src.type == .local, out.nextHop.family == prefix.family, !out.nextHop.isUnspecified {
                localNextHop = out.nextHop
            }
            guard let nh = localNextHop else { return nil }
            out.nextHop = nh
            return out
        case .ibgp:
            var p = out.path
            if src.type == .ibgp {
                guard let cluster = local.clusterID else { return nil }
                guard src.isRRClient || t.isRRClient else { return nil }
                if p.originatorID == nil { p.originatorID = src.routerID }
                p.clusterList.insert(cluster, at: 0)
            }
            if p.localPref == nil { p.localPref = BestPath.defaultLocalPref }
            if p.asPath == nil { p.asPath = .empty }
            if p != out.path { out.path = p }
            if t.nextHopMode == .self_ || out.nextHop.isUnspecified || out.nextHop.family != prefix.family {
                guard let nh = localNextHop else { return nil }
                out.nextHop = nh
            }
            return out
        }
    }
}

extension IPAddress {
    /// 0.0.0.0 or ::, used for "next hop self" before a session's local address is known.
    public var isUnspecified: Bool {
        switch self { case .v4(let a): a.value == 0; case .v6(let a): a.high == 0 && a.low == 0 }
    }
    public static func unspecified(_ f: IPFamily) -> IPAddress { f == .v4 ? .v4(.any) : .v6(.any) }
}
