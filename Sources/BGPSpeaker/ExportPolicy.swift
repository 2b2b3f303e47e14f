import NetCore

/// What the speaker knows about one established session when deciding what to send.
public struct ExportTarget: Sendable, Equatable {
    public var peer: PeerConfig
    public var localAS: ASNumber
    /// Our address on the session (next-hop self for its family).
    public var localAddress: IPAddress
    public init(peer: PeerConfig, localAS: ASNumber, localAddress: IPAddress) {
        self.peer = peer; self.localAS = localAS; self.localAddress = localAddress
    }
    public var ebgp: Bool { peer.isEBGP(localAS: localAS) }
}

/// Export rules of part 1, pure:
/// - nothing to eBGP peers without `export: all` (RFC 8212), nothing when `export: none`;
/// - never back to the peer it came from; iBGP-learned routes never to iBGP peers (RFC 4271 §9.2);
/// - not to a peer whose AS is already in the path (it would drop it as a loop);
/// - eBGP: prepend our AS, next hop self, no LOCAL_PREF, MED only for our own routes;
/// - iBGP: AS_PATH unchanged, LOCAL_PREF set (default 100), next hop kept (self for our own
///   announcements without `nextHop`).
/// Returns nil when the route is not sent.
public func exportAttributes(for route: Route, to target: ExportTarget) -> RouteAttributes? {
    guard target.peer.effectiveExport(localAS: target.localAS) == .all else { return nil }
    guard target.peer.addressFamilies.contains(UnicastFamily(route.prefix.family)) else { return nil }
    var localNextHop: IPAddress? = target.localAddress.family == route.prefix.family ? target.localAddress : nil
    switch route.source {
    case .local: break
    case .peer(let addr, let ebgp):
        if addr == target.peer.address { return nil }
        if !ebgp && !target.ebgp { return nil }
    }
    var a = route.attributes
    if target.ebgp {
        if a.contains(as: target.peer.asNumber.value) { return nil }
        a.path.asPath = a.asPath.prepending(target.localAS.value)
        a.path.localPref = nil
        if route.source != .local { a.path.med = nil }
        // Non-transitive attributes stop at the AS border (RFC 4456 ORIGINATOR_ID/CLUSTER_LIST too).
        a.path.originatorID = nil
        a.path.clusterList = []
        // Next hop self; for a family other than the session's, an explicit announcement next hop.
        if localNextHop == nil, route.source == .local, a.nextHop.family == route.prefix.family, !a.nextHop.isUnspecified {
            localNextHop = a.nextHop
        }
        guard let nh = localNextHop else { return nil }
        a.nextHop = nh
    } else {
        a.path.localPref = a.path.localPref ?? 100
        if a.nextHop.isUnspecified {
            guard let nh = localNextHop else { return nil }
            a.nextHop = nh
        }
    }
    return a
}

extension IPAddress {
    /// 0.0.0.0 or ::, used for "next hop self" before a session's local address is known.
    public var isUnspecified: Bool {
        switch self { case .v4(let a): a.value == 0; case .v6(let a): a.high == 0 && a.low == 0 }
    }
    public static func unspecified(_ f: IPFamily) -> IPAddress { f == .v4 ? .v4(.any) : .v6(.any) }
}
