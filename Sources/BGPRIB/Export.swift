import BGPWire
import NetCore

/// This speaker's identity for import/export rules.
public struct LocalSpeaker: Hashable, Sendable {
    public var asn: UInt32
    public var routerID: IPv4Address
    /// Route-reflector cluster ID (RFC 4456; defaults to the router ID); nil = not a route reflector.
    public var clusterID: IPv4Address?
    public var nextHop: IPv4Address
    public init(asn: UInt32, routerID: IPv4Address, clusterID: IPv4Address? = nil, nextHop: IPv4Address) {
        self.asn = asn; self.routerID = routerID; self.clusterID = clusterID; self.nextHop = nextHop
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
    /// Import checks: AS loop (own AS allowed up to `allowASIn` times) on eBGP paths, and the
    /// RFC 4456 §8 ORIGINATOR_ID / CLUSTER_LIST loop checks on iBGP paths.
    public static func importCheck(_ attrs: PathAttributes, from peer: PeerInfo, local: LocalSpeaker,
                                   allowASIn: Int = 0) -> ImportRejection? {
        if let path = attrs.asPath {
            let n = path.segments.reduce(0) { $0 + $1.asns.lazy.filter { $0 == local.asn }.count }
            if n > allowASIn { return .asLoop(asn: local.asn, occurrences: n, allowed: allowASIn) }
        }
        if peer.type == .ibgp {
            if attrs.originatorID == local.routerID { return .originatorIsUs }
            let cluster = local.clusterID ?? local.routerID
            if attrs.clusterList.contains(cluster) { return .clusterLoop(cluster) }
        }
        return nil
    }

    /// The attributes to send `path` to `to`, or nil when it must not be advertised there.
    /// iBGP-learned paths go to iBGP peers only via route reflection (RFC 4456 §6); eBGP export
    /// prepends our AS, sets next hop self and drops LOCAL_PREF; iBGP export sets LOCAL_PREF.
    public static func export(_ path: PathCandidate, to: PeerInfo, local: LocalSpeaker) -> PathAttributes? {
        if path.peer.address == to.address { return nil }
        var a = path.attrs
        switch to.type {
        case .local: return nil
        case .ebgp:
            a.asPath = (a.asPath ?? .empty).prepending(local.asn)
            a.nextHop = local.nextHop
            a.localPref = nil
            a.originatorID = nil
            a.clusterList = []
            return a
        case .ibgp:
            switch path.peer.type {
            case .local:
                if a.nextHop == nil { a.nextHop = local.nextHop }
            case .ebgp:
                break
            case .ibgp:
                guard let cluster = local.clusterID else { return nil }
                // From a client: to everyone; from a non-client: to clients only.
                guard path.peer.isRRClient || to.isRRClient else { return nil }
                if a.originatorID == nil { a.originatorID = path.peer.routerID }
                a.clusterList.insert(cluster, at: 0)
            }
            a.localPref = path.localPref
            if a.asPath == nil { a.asPath = .empty }
            return a
        }
    }
}
