import BGPWire
import NetCore

/// Where a path came from.
public enum PeerType: Hashable, Sendable {
    case ebgp, ibgp, local
}

/// The neighbour a path was learned from (`.local` for locally originated routes).
public struct PeerInfo: Hashable, Sendable {
    public var address: IPAddress
    public var routerID: IPv4Address
    public var asn: UInt32
    public var type: PeerType
    /// The peer is a route-reflector client of ours (RFC 4456).
    public var isRRClient: Bool
    public init(address: IPAddress, routerID: IPv4Address, asn: UInt32, type: PeerType, isRRClient: Bool = false) {
        self.address = address; self.routerID = routerID; self.asn = asn; self.type = type; self.isRRClient = isRRClient
    }
}

/// What the decision process looks at in a path (RFC 4271 §9.1.2.2, RFC 4456 §9). The RIB
/// engine ranks its compact paths through this; `PathCandidate` is the self-contained form.
public protocol RankedPath {
    /// Local preference above everything (Cisco weight / BIRD preference); higher wins.
    var weight: UInt32 { get }
    /// LOCAL_PREF with the RFC default of 100 when absent.
    var localPref: UInt32 { get }
    /// Originated by this speaker.
    var isLocal: Bool { get }
    /// AS_PATH length for selection: AS_SET counts 1, confederation segments 0.
    var asPathLength: Int { get }
    var origin: Origin { get }
    /// Missing MED counts as 0 (RFC 4271 §9.1.2.2 c).
    var med: UInt32 { get }
    /// The neighbour AS for MED comparison: the first AS of AS_PATH, nil for a local/empty path.
    var neighborAS: UInt32? { get }
    var isEBGP: Bool { get }
    /// ORIGINATOR_ID when present (RFC 4456 §9), else the peer's router ID.
    var effectiveRouterID: IPv4Address { get }
    var clusterListLength: Int { get }
    var peerAddress: IPAddress { get }
}

/// One path to a prefix as seen by the decision process.
public struct PathCandidate: Hashable, Sendable, RankedPath {
    public var prefix: IPPrefix
    public var peer: PeerInfo
    public var attributes: InternedAttributes
    /// Local preference above everything (Cisco weight / BIRD preference); higher wins.
    public var weight: UInt32
    /// Kept through a graceful restart of the peer, to be swept if not refreshed.
    public var stale: Bool
    public init(prefix: IPPrefix, peer: PeerInfo, attributes: InternedAttributes, weight: UInt32 = 0, stale: Bool = false) {
        self.prefix = prefix; self.peer = peer; self.attributes = attributes; self.weight = weight; self.stale = stale
    }

    public var attrs: PathAttributes { attributes.value }
    /// LOCAL_PREF with the RFC default of 100 when absent.
    public var localPref: UInt32 { attrs.localPref ?? BestPath.defaultLocalPref }
    /// AS_PATH length for selection: AS_SET counts 1, confederation segments 0.
    public var asPathLength: Int { attrs.asPath?.length ?? 0 }
    public var origin: Origin { attrs.origin ?? .incomplete }
    /// Missing MED counts as 0 (RFC 4271 §9.1.2.2 c).
    public var med: UInt32 { attrs.med ?? 0 }
    /// The neighbour AS for MED comparison: the first AS of AS_PATH, nil for a local/empty path.
    public var neighborAS: UInt32? { attrs.asPath?.firstAS }
    /// ORIGINATOR_ID when present (RFC 4456 §9), else the peer's router ID.
    public var effectiveRouterID: IPv4Address { attrs.originatorID ?? peer.routerID }
    public var isLocal: Bool { peer.type == .local }
    public var isEBGP: Bool { peer.type == .ebgp }
    public var clusterListLength: Int { attrs.clusterList.count }
    public var peerAddress: IPAddress { peer.address }
}

/// Why a path lost (or won) the comparison, in decision order.
public enum LossReason: Hashable, Sendable, CustomStringConvertible {
    case weight(winner: UInt32, loser: UInt32)
    case localPref(winner: UInt32, loser: UInt32)
    case locallyOriginated
    case asPathLength(winner: Int, loser: Int)
    case origin(winner: Origin, loser: Origin)
    case med(winner: UInt32, loser: UInt32)
    case ebgpOverIBGP
    case routerID(winner: IPv4Address, loser: IPv4Address)
    case clusterListLength(winner: Int, loser: Int)
    case peerAddress(winner: IPAddress, loser: IPAddress)
    /// Nothing distinguishes them (same peer, same attributes).
    case identical

    /// The reason as `twillctl node routes` prints it, from the loser's point of view.
    public var description: String {
        switch self {
        case let .weight(w, l): "lower weight (\(l) < \(w))"
        case let .localPref(w, l): "lower LOCAL_PREF (\(l) < \(w))"
        case .locallyOriginated: "not locally originated"
        case let .asPathLength(w, l): "longer AS_PATH (\(l) > \(w))"
        case let .origin(w, l): "worse ORIGIN (\(l) > \(w))"
        case let .med(w, l): "higher MED (\(l) > \(w))"
        case .ebgpOverIBGP: "iBGP path (eBGP preferred)"
        case let .routerID(w, l): "higher router ID (\(l) > \(w))"
        case let .clusterListLength(w, l): "longer CLUSTER_LIST (\(l) > \(w))"
        case let .peerAddress(w, l): "higher peer address (\(l) > \(w))"
        case .identical: "identical path"
        }
    }

    /// Steps up to and including this one make paths multipath-equal when they tie here or later:
    /// true when the decision was taken after the IGP-metric-equivalent step (router ID onwards).
    public var isMultipathTieBreak: Bool {
        switch self {
        case .routerID, .clusterListLength, .peerAddress, .identical: true
        default: false
        }
    }
}

/// The BGP decision process (RFC 4271 §9.1.2.2, RFC 4456 §9) in BIRD/FRR order.
public enum BestPath {
    public static let defaultLocalPref: UInt32 = 100

    public struct Outcome: Sendable {
        /// True when `a` wins.
        public var aWins: Bool
        public var reason: LossReason
        public init(aWins: Bool, reason: LossReason) { self.aWins = aWins; self.reason = reason }
    }

    /// Compares two paths to the same prefix; the winner is the preferred one and `reason`
    /// explains why the other lost.
    public static func compare<P: RankedPath>(_ a: P, _ b: P) -> (winner: P, reason: LossReason) {
        let o = decide(a, b)
        return (o.aWins ? a : b, o.reason)
    }

    /// `compare` without copying the candidates.
    public static func decide<P: RankedPath>(_ a: P, _ b: P) -> Outcome {
        func pick<T: Comparable>(_ x: T, _ y: T, higherWins: Bool, _ r: (T, T) -> LossReason) -> Outcome? {
            if x == y { return nil }
            let aWins = higherWins ? x > y : x < y
            return Outcome(aWins: aWins, reason: aWins ? r(x, y) : r(y, x))
        }
        if let o = pick(a.weight, b.weight, higherWins: true, LossReason.weight) { return o }
        if let o = pick(a.localPref, b.localPref, higherWins: true, LossReason.localPref) { return o }
        let al = a.isLocal, bl = b.isLocal
        if al != bl { return Outcome(aWins: al, reason: .locallyOriginated) }
        if let o = pick(a.asPathLength, b.asPathLength, higherWins: false, LossReason.asPathLength) { return o }
        if let o = pick(a.origin, b.origin, higherWins: false, LossReason.origin) { return o }
        if a.neighborAS == b.neighborAS, let o = pick(a.med, b.med, higherWins: false, LossReason.med) { return o }
        let ae = a.isEBGP, be = b.isEBGP
        if ae != be { return Outcome(aWins: ae, reason: .ebgpOverIBGP) }
        // (IGP metric to the next hop would be compared here; all next hops are equal-cost today.)
        if let o = pick(a.effectiveRouterID, b.effectiveRouterID, higherWins: false, LossReason.routerID) { return o }
        if let o = pick(a.clusterListLength, b.clusterListLength, higherWins: false,
                        LossReason.clusterListLength) { return o }
        if let o = pick(a.peerAddress, b.peerAddress, higherWins: false, LossReason.peerAddress) { return o }
        return Outcome(aWins: true, reason: .identical)
    }

    /// True when `a` and `b` are equal through the IGP-metric step, so both may carry traffic (ECMP).
    public static func multipathEqual<P: RankedPath>(_ a: P, _ b: P) -> Bool {
        decide(a, b).reason.isMultipathTieBreak
    }
}
