import NetCore
import NodeModel

/// Where a route in the routing table came from, as BIRD's filters see it.
public enum RouteSource: Hashable, Sendable {
    /// Learned from the kernel (`learn`): workload /32s on `cali*`, tunnel routes…
    case kernel
    /// A `protocol static` route (blackholes for local blocks, service CIDRs).
    case `static`
    /// A connected route (`protocol direct`).
    case direct
    /// Learned from a BGP peer.
    case bgp
}

/// The small route description the pure filters evaluate (BIRD's `net`, `ifname`, `krt_metric`,
/// `bgp_community`, `bgp_path`).
public struct RouteDescription: Hashable, Sendable, CustomStringConvertible {
    public var prefix: IPPrefix
    public var source: RouteSource
    /// Outgoing interface, when known (`ifname`).
    public var interface: String?
    /// Kernel metric / Calico priority (`krt_metric`); nil = unset (treated as 1024 for aggregation).
    public var priority: Int?
    /// Standard (`aa:nn`) and large (`aa:nn:mm`) communities, as text.
    public var communities: [String]
    public var asPath: [UInt32]

    public init(_ prefix: IPPrefix, source: RouteSource = .kernel, interface: String? = nil, priority: Int? = nil,
                communities: [String] = [], asPath: [UInt32] = []) {
        self.prefix = prefix; self.source = source; self.interface = interface; self.priority = priority
        self.communities = communities; self.asPath = asPath
    }

    public var description: String {
        "\(prefix) \(source)\(interface.map { " dev \($0)" } ?? "")\(priority.map { " metric \($0)" } ?? "")"
    }
}

/// A static route BIRD should hold (`protocol static`).
public struct StaticRoute: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Target: Hashable, Sendable { case blackhole, via(IPAddress) }
    public var prefix: IPPrefix
    public var target: Target
    public init(_ prefix: IPPrefix, _ target: Target) { self.prefix = prefix; self.target = target }
    public var description: String {
        switch target {
        case .blackhole: "route \(prefix) blackhole"
        case .via(let gw): "route \(prefix) via \(gw)"
        }
    }
    public static func < (l: Self, r: Self) -> Bool { l.prefix != r.prefix ? l.prefix < r.prefix : l.description < r.description }
}

/// Who owns the kernel routes to a pool's remote blocks (calico.md §2.1, route ownership matrix).
public enum ClusterRouteOwner: String, Hashable, Sendable {
    /// BIRD programs them (`calico_kernel_programming` accepts).
    case bird
    /// Felix programs them; BIRD must not (`calico_kernel_programming` rejects).
    case felix
}

/// A pool as the route filters see it.
public struct PoolPolicy: Hashable, Sendable {
    public var cidr: IPPrefix
    /// Enabled and not `disableBGPExport`.
    public var exported: Bool
    public var encapsulation: Encapsulation
    public var clusterRoutes: ClusterRouteOwner
    public enum Encapsulation: String, Hashable, Sendable { case none, ipip, vxlan }
}

/// Calico's export/import policy for one node (calico.md §2.1 bird_aggr.cfg / bird_ipam.cfg) as
/// data plus pure decision functions; `BIRDRenderer` renders the same decisions as BIRD filters.
public struct ExportPolicy: Hashable, Sendable {
    /// This node's confirmed affine blocks (including any /32 blocks), sorted.
    public var localBlocks: [IPPrefix]
    /// Every pool, sorted by CIDR.
    public var pools: [PoolPolicy]
    /// Service CIDRs from the global BGPConfiguration (cluster, external, load-balancer IPs).
    public var serviceCIDRs: [IPPrefix]
    /// Routes BIRD should hold statically: blackholes for local blocks (not /32) and service
    /// CIDRs, and `via` routes for peers with `reachableBy`.
    public var staticRoutes: [StaticRoute]
    /// IPIP routes learned over `tunl0` are Felix's (so never re-advertised to iBGP peers).
    public var felixOwnsIPIPRoutes: Bool
    /// `prefixAdvertisements` resolved: CIDR → community values (`aa:nn` / `aa:nn:mm`).
    public var prefixCommunities: [IPPrefix: [String]]

    public init(localBlocks: [IPPrefix] = [], pools: [PoolPolicy] = [], serviceCIDRs: [IPPrefix] = [],
                staticRoutes: [StaticRoute] = [], felixOwnsIPIPRoutes: Bool = true,
                prefixCommunities: [IPPrefix: [String]] = [:]) {
        self.localBlocks = localBlocks; self.pools = pools; self.serviceCIDRs = serviceCIDRs
        self.staticRoutes = staticRoutes; self.felixOwnsIPIPRoutes = felixOwnsIPIPRoutes
        self.prefixCommunities = prefixCommunities
    }

    /// Builds the policy from a snapshot (peers give the `reachableBy` static routes).
    public init(_ snapshot: CalcSnapshot, peers: PeerSet = PeerSet()) {
        let config = snapshot.effectiveConfiguration
        localBlocks = Array(Set(snapshot.blockAffinities.compactMap { a -> IPPrefix? in
            guard a.spec.node == snapshot.nodeName, a.spec.state == .confirmed, a.spec.deleted != "true" else { return nil }
            return IPPrefix(a.spec.cidr)
        })).sorted()
        let birdOwns: Set<PoolPolicy.Encapsulation> = switch config.programClusterRoutes {
        case .enabled: [.none, .ipip]
        case .enabledIPIPOnly: [.ipip]
        case .enabledNoEncapOnly: [.none]
        case .disabled: []
        }
        pools = snapshot.ipPools.compactMap { p -> PoolPolicy? in
            guard let cidr = IPPrefix(p.spec.cidr) else { return nil }
            let encap: PoolPolicy.Encapsulation =
                (p.spec.vxlanMode ?? .never) != .never ? .vxlan : ((p.spec.ipipMode ?? .never) != .never ? .ipip : .none)
            return PoolPolicy(cidr: cidr, exported: !p.spec.disabled && !p.spec.disableBGPExport, encapsulation: encap,
                              clusterRoutes: birdOwns.contains(encap) ? .bird : .felix)
        }.sorted { $0.cidr < $1.cidr }
        serviceCIDRs = Array(Set((config.serviceClusterIPs + config.serviceExternalIPs + config.serviceLoadBalancerIPs)
            .compactMap { IPPrefix($0.cidr) })).sorted()
        var statics = localBlocks.filter { $0.length != $0.family.bitWidth }.map { StaticRoute($0, .blackhole) }
        statics += serviceCIDRs.map { StaticRoute($0, .blackhole) }
        for p in peers { if let gw = p.reachableBy { statics.append(StaticRoute(IPPrefix(host: p.address), .via(gw))) } }
        staticRoutes = Array(Set(statics)).sorted()
        felixOwnsIPIPRoutes = !birdOwns.contains(.ipip)
        var named: [String: String] = [:]
        for c in config.communities { named[c.name] = c.value }
        var pc: [IPPrefix: [String]] = [:]
        for adv in config.prefixAdvertisements {
            guard let cidr = IPPrefix(adv.cidr) else { continue }
            pc[cidr, default: []] += adv.communities.map { named[$0] ?? $0 }
        }
        prefixCommunities = pc
    }

    /// The prefixes this node originates when the routing table holds only its own state: each
    /// local block inside an exported pool (not its /32s), and the service CIDRs.
    public var advertisedPrefixes: [IPPrefix] {
        let statics = localBlocks.map { RouteDescription($0, source: .static) }
            + serviceCIDRs.map { RouteDescription($0, source: .static) }
        return Array(Set(statics.filter { exportAllowed($0, internalPeer: false) }.map(\.prefix))).sorted()
    }

    /// `calico_export_to_bgp_peers(internal_peer)` followed by the caller's `reject`: may
    /// `route` be sent to a peer (iBGP when `internalPeer`)?
    public func exportAllowed(_ route: RouteDescription, internalPeer: Bool) -> Bool {
        let net = route.prefix
        // reject_disabled_pools
        if pools.contains(where: { !$0.exported && $0.cidr.contains(net) }) { return false }
        // reject_tunnel_routes: Felix programmed them; the owner node advertises the block.
        if internalPeer, let ifname = route.interface, isTunnelInterface(ifname) { return false }
        // reject_local_routes
        if let ifname = route.interface, ifname.hasPrefix("bpf"), ifname.hasSuffix(".cali") { return false }
        // calico_aggr: advertise the block, suppress its /32s unless priority was raised.
        for b in localBlocks where b.contains(net) {
            if net == b { return true }
            if (route.priority ?? 1024) < 1024 { return true }
            return false
        }
        // Static routes (service CIDRs).
        if serviceCIDRs.contains(where: { $0.contains(net) }) { return true }
        // Anything inside an exported pool (remote blocks, borrowed /32s).
        return pools.contains { $0.exported && $0.cidr.contains(net) }
    }

    /// Export to `peer`, with its BGPFilters first (first decisive rule wins), then Calico's policy.
    public func exportAllowed(_ route: RouteDescription, to peer: Peer, filters: [String: BGPFilterSpec]) -> Bool {
        switch BGPFilterEvaluator.evaluate(peer.filters.compactMap { filters[$0] }, .export, route: route,
                                           peerType: peer.isInternal ? .iBGP : .eBGP) {
        case .accept: return true
        case .reject: return false
        case .noMatch(let r): return exportAllowed(r, internalPeer: peer.exportsAsInternal)
        }
    }

    func isTunnelInterface(_ ifname: String) -> Bool {
        ifname.hasSuffix(".cali") || ifname.hasSuffix(".calico") || (felixOwnsIPIPRoutes && ifname == "tunl0")
    }

    /// `calico_kernel_programming`: may BIRD install `route` into the kernel?
    public func kernelProgrammingAllowed(_ route: RouteDescription) -> Bool {
        if route.source == .direct { return false }
        for p in pools where p.cidr.contains(route.prefix) {
            if p.encapsulation == .vxlan { return false }
            return p.clusterRoutes == .bird && p.encapsulation == .none
        }
        return true
    }

    /// Communities `apply_communities()` adds to `prefix` (every advertisement containing it).
    public func communities(for prefix: IPPrefix) -> [String] {
        prefixCommunities.keys.sorted().filter { $0.contains(prefix) }.flatMap { prefixCommunities[$0] ?? [] }
    }
}
