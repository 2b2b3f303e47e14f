import Calc
import Dataplane
import NetCore
import NodeModel

/// The node agent's calculation: one pure, history-free function from the datastore state,
/// the speaker's learned routes and the host facts to the agent's plan. Any sequence of inputs
/// ending in the same state gives the same plan (results are sorted; input order never counts).
public enum AgentCalculator {
    public static func plan(_ inputs: AgentInputs) -> AgentPlan {
        var c = Context(inputs)
        let peers = PeerCalculator.peers(inputs.snapshot)
        let policy = ExportPolicy(inputs.snapshot, peers: peers)
        let workloads = c.localWorkloads()
        let localBlocks = policy.localBlocks
        let node = c.localNode()

        var remote: [IPPrefix: RemoteBlock] = [:]
        for b in c.vxlanRemoteBlocks(localBlocks: Set(localBlocks), localWorkloads: workloads) { remote[b.cidr] = b }
        for b in c.learnedRemoteBlocks(localBlocks: Set(localBlocks), localWorkloads: workloads,
                                       serviceCIDRs: Set(policy.serviceCIDRs), node: node)
        where remote[b.cidr] == nil { remote[b.cidr] = b }

        let routing = RoutingInput(node: node, workloads: workloads, localBlocks: localBlocks,
                                   remoteBlocks: remote.keys.sorted().map { remote[$0]! }, settings: inputs.settings)
        let referenced = Set(peers.peers.flatMap(\.filters))
        let filters = inputs.snapshot.bgpFilters.filter { referenced.contains($0.metadata.name) }
            .sorted { $0.metadata.name < $1.metadata.name }
        let clusterID = inputs.snapshot.localNode.flatMap { $0.isRouteReflector ? $0.routeReflectorClusterID : nil }
        return AgentPlan(peers: peers, advertised: advertised(policy, workloads: workloads), routing: routing,
                         warnings: c.warnings.sorted(), filters: filters, routeReflectorClusterID: clusterID)
    }

    /// What the speaker originates (calico.md §2.1, bird_aggr.cfg / bird_ipam.cfg): the local
    /// blocks and service CIDRs `ExportPolicy` accepts, kept only inside an exported pool
    /// (service CIDRs excepted, so a deleted pool's leftover blocks stop being advertised), plus
    /// each workload host route `calico_export_to_bgp_peers` lets through: `calico_aggr`
    /// suppresses the /32s inside our own blocks, so what passes are borrowed addresses (from a
    /// block affine to another node, or to none) inside exported pools.
    static func advertised(_ policy: ExportPolicy, workloads: [Workload]) -> [IPPrefix] {
        var out = Set(policy.advertisedPrefixes.filter { p in
            policy.serviceCIDRs.contains { $0.contains(p) } || policy.pools.contains { $0.exported && $0.cidr.contains(p) }
        })
        for w in workloads {
            for a in w.addresses {
                let route = RouteDescription(IPPrefix(host: a), source: .kernel, interface: w.interface)
                if policy.exportAllowed(route, internalPeer: false) { out.insert(route.prefix) }
            }
        }
        return out.sorted()
    }
}

/// A pool as routing sees it. Disabled pools still route: `disabled` only stops IPAM from
/// assigning new addresses; existing workloads keep their networking (Calico's pool
/// migration procedure relies on it).
struct PoolRouting: Hashable {
    var cidr: IPPrefix
    var encapsulation: Encapsulation
    var mode: EncapsulationMode

    /// `vxlanMode` wins over `ipipMode` (validation forbids both), as in `ExportPolicy`.
    init?(_ pool: IPPool) {
        guard let cidr = IPPrefix(pool.spec.cidr) else { return nil }
        self.cidr = cidr
        let vx = pool.spec.vxlanMode ?? .never, ipip = pool.spec.ipipMode ?? .never
        let chosen: EncapMode
        if vx != .never { encapsulation = .vxlan; chosen = vx }
        else if ipip != .never { encapsulation = .ipip; chosen = ipip }
        else { encapsulation = .none; chosen = .always }
        mode = chosen == .crossSubnet ? .crossSubnet : .always
    }
}

/// The per-call working set: indexes over the inputs and the warnings collected so far.
struct Context {
    let inputs: AgentInputs
    let me: String
    /// Sorted by CIDR.
    let pools: [PoolRouting]
    let nodes: [String: Node]
    /// Each other node's BGP address → (name, address with subnet length).
    let nodeByAddress: [IPAddress: RemoteNode]
    /// Confirmed, not deleted affinities of every node, as (cidr, node).
    let affinities: [(cidr: IPPrefix, node: String)]
    var warnings: Set<String> = []

    init(_ inputs: AgentInputs) {
        self.inputs = inputs
        let snap = inputs.snapshot
        me = snap.nodeName
        pools = snap.ipPools.compactMap(PoolRouting.init).sorted { $0.cidr < $1.cidr }
        // Names are unique in a datastore; for a (broken) duplicate keep a deterministic one.
        let nodes = Dictionary(snap.nodes.map { ($0.metadata.name, $0) }) { a, b in "\(a)" <= "\(b)" ? a : b }
        self.nodes = nodes
        var byAddress: [IPAddress: RemoteNode] = [:]
        for name in nodes.keys.sorted() where name != snap.nodeName {
            for family in [IPFamily.v4, .v6] {
                if let a = Self.address(of: nodes[name]!, family), byAddress[a.address] == nil {
                    byAddress[a.address] = RemoteNode(name: name, address: a)
                }
            }
        }
        nodeByAddress = byAddress
        affinities = snap.blockAffinities.compactMap { a in
            guard a.spec.state == .confirmed, a.spec.deleted != "true", let cidr = IPPrefix(a.spec.cidr) else { return nil }
            return (cidr, a.spec.node)
        }
        var byBlock: [IPPrefix: String] = [:]
        for a in affinities { byBlock[a.cidr] = min(byBlock[a.cidr] ?? a.node, a.node) }
        affineNode = byBlock
        affinityLengths = Set(affinities.map(\.cidr.length)).sorted(by: >)
    }

    /// Block → the node it is affine to (the smallest name if several claim it).
    let affineNode: [IPPrefix: String]
    /// The block sizes in use, longest first.
    let affinityLengths: [Int]

    /// The node whose most specific affine block holds `address`, if any.
    func blockOwner(of address: IPAddress) -> String? {
        for length in affinityLengths where length <= address.family.bitWidth {
            if let n = affineNode[IPPrefix(address, length: length)] { return n }
        }
        return nil
    }

    /// `ADDR` or `ADDR/LEN` (ipNetworks, tunnel addresses): the address. One parse, as this
    /// runs for every WorkloadEndpoint of the cluster.
    static func hostAddress(_ text: String) -> IPAddress? {
        guard let slash = text.firstIndex(of: "/") else { return IPAddress(text) }
        guard let length = Int(text[text.index(after: slash)...]), let a = IPAddress(text[..<slash]),
              length >= 0, length <= a.family.bitWidth else { return nil }
        return a
    }

    /// A node's `spec.bgp.ipv4Address` / `ipv6Address` with its subnet length.
    static func address(of node: Node, _ family: IPFamily) -> InterfaceAddress? {
        guard let bgp = node.spec.bgp,
              let i = family == .v4 ? bgp.ipv4Interface : bgp.ipv6Interface, i.address.family == family else { return nil }
        return InterfaceAddress(i.address, prefixLength: i.subnet.length)
    }

    /// The most specific pool holding `prefix`.
    func pool(containing prefix: IPPrefix) -> PoolRouting? {
        pools.filter { $0.cidr.contains(prefix) }.max { $0.cidr.length < $1.cidr.length }
    }

    func poolInUse(_ encapsulation: Encapsulation, _ family: IPFamily) -> Bool {
        pools.contains { $0.encapsulation == encapsulation && $0.cidr.family == family }
    }

    /// This node's `LocalNode`: addresses from the host facts (else the Node resource), tunnel
    /// addresses from the Node resource only while a pool uses that encapsulation (Felix's
    /// IPIP / VXLAN managers exist only then), VTEP MAC from `vxlanTunnelMACAddr` or derived.
    mutating func localNode() -> LocalNode {
        let host = inputs.host
        let mine = nodes[me]
        var node = LocalNode(name: me, ipv4: host.ipv4 ?? mine.flatMap { Self.address(of: $0, .v4) },
                             ipv6: host.ipv6 ?? mine.flatMap { Self.address(of: $0, .v6) },
                             parentInterface: host.parentInterface, parentMTU: host.parentMTU)
        guard let mine else { return node }
        if poolInUse(.ipip, .v4), let bgp = mine.spec.bgp {
            node.ipv4IPIPTunnelAddress = tunnelAddress(bgp.ipv4IPIPTunnelAddr, .v4, field: "spec.bgp.ipv4IPIPTunnelAddr")
        }
        let vx4 = poolInUse(.vxlan, .v4), vx6 = poolInUse(.vxlan, .v6)
        if vx4 { node.ipv4VXLANTunnelAddress = tunnelAddress(mine.spec.ipv4VXLANTunnelAddr, .v4, field: "spec.ipv4VXLANTunnelAddr") }
        if vx6 { node.ipv6VXLANTunnelAddress = tunnelAddress(mine.spec.ipv6VXLANTunnelAddr, .v6, field: "spec.ipv6VXLANTunnelAddr") }
        for (family, inUse, address) in [(IPFamily.v4, vx4, node.ipv4VXLANTunnelAddress), (.v6, vx6, node.ipv6VXLANTunnelAddress)]
        where inUse && address == nil {
            warnings.insert("this node (\(me)) has no \(family) VXLAN tunnel address yet; other nodes cannot route to its pods")
        }
        if vx4 || vx6 { node.vxlanMAC = vtepMAC(mine, .v4) }
        if vx6 { node.vxlanV6MAC = vtepMAC(mine, .v6) }
        return node
    }

    /// A tunnel address field of this node (bare address; a CIDR form is tolerated).
    mutating func tunnelAddress(_ text: String, _ family: IPFamily, field: String) -> IPAddress? {
        if text.isEmpty { return nil }
        guard let a = Self.hostAddress(text), a.family == family else {
            warnings.insert("node \(me): \(field) \"\(text)\" is not an \(family) address; ignored")
            return nil
        }
        return a
    }

    /// The VTEP MAC every node computes the same way: the Node's `vxlanTunnelMACAddr`
    /// (`vxlanTunnelMACAddrV6` first for IPv6), else `VTEPMAC.derived` from its name — matching
    /// what `RoutingCalculator` programs on the owning node.
    func vtepMAC(_ node: Node, _ family: IPFamily) -> MACAddress {
        let v4 = MACAddress(node.spec.vxlanTunnelMACAddr)
        let v6 = family == .v6 ? MACAddress(node.spec.vxlanTunnelMACAddrV6) : nil
        return v6 ?? v4 ?? VTEPMAC.derived(fromNodeName: node.metadata.name)
    }

    /// This node's WorkloadEndpoints as dataplane workloads, sorted by namespace and name
    /// (Felix `endpoint_mgr.go`: one host route per address on the `cali…` interface).
    mutating func localWorkloads() -> [Workload] {
        let weps = inputs.workloadEndpoints.filter { $0.spec.node == me }
            .sorted { l, r in
                if l.metadata.namespace != r.metadata.namespace { return l.metadata.namespace < r.metadata.namespace }
                if l.metadata.name != r.metadata.name { return l.metadata.name < r.metadata.name }
                return "\(l)" < "\(r)"   // a (broken) duplicate name: still independent of input order
            }
        return weps.map { wep in
            let subject = "workload \(wep.metadata.namespace.isEmpty ? "" : wep.metadata.namespace + "/")\(wep.metadata.name)"
            let addresses = workloadAddresses(wep, subject: subject)
            var mac: MACAddress? = nil
            if !wep.spec.mac.isEmpty {
                mac = MACAddress(wep.spec.mac)
                if mac == nil { warnings.insert("\(subject): mac \"\(wep.spec.mac)\" is not a MAC address; no neighbour entry") }
            }
            return Workload(name: wep.metadata.name, interface: wep.spec.interfaceName, addresses: addresses, mac: mac)
        }
    }

    /// `ipNetworks` entries (`10.0.0.5/32` or a bare address), in order, without duplicates.
    mutating func workloadAddresses(_ wep: WorkloadEndpoint, subject: String) -> [IPAddress] {
        var out: [IPAddress] = []
        for text in wep.spec.ipNetworks {
            guard let a = Self.hostAddress(text) else {
                warnings.insert("\(subject): ipNetworks entry \"\(text)\" is not an address; skipped")
                continue
            }
            if !out.contains(a) { out.append(a) }
        }
        return out
    }

    /// Resolves `name` as the next hop of a VXLAN route: its node address, tunnel address and
    /// VTEP MAC (Felix `vxlan_resolver.go`). Nil, with a warning, when something is missing.
    mutating func vxlanNode(_ name: String, for cidr: IPPrefix) -> RemoteNode? {
        let family = cidr.family
        let field = family == .v4 ? "spec.bgp.ipv4Address" : "spec.bgp.ipv6Address"
        guard let node = nodes[name] else {
            warnings.insert("\(cidr) belongs to node \(name), which has no Node resource; not routed")
            return nil
        }
        guard let address = Self.address(of: node, family) else {
            warnings.insert("node \(name) has no \(family) address (\(field)); its VXLAN route \(cidr) is not programmed")
            return nil
        }
        let text = family == .v4 ? node.spec.ipv4VXLANTunnelAddr : node.spec.ipv6VXLANTunnelAddr
        guard let tunnel = Self.hostAddress(text), tunnel.family == family else {
            warnings.insert("node \(name) has no \(family) VXLAN tunnel address yet; its VXLAN route \(cidr) is not programmed")
            return nil
        }
        return RemoteNode(name: name, address: address, vtepMAC: vtepMAC(node, family), tunnelAddress: tunnel)
    }

    /// VXLAN routes come from the datastore, as Felix computes them (calico.md §3.2,
    /// `felix/calc/l3_route_resolver.go`; BIRD's `calico_kernel_programming` rejects VXLAN
    /// pools): every other node's confirmed affinity inside a VXLAN pool, plus other nodes'
    /// workload addresses in VXLAN pools that lie outside their node's own blocks (borrowed
    /// addresses, the resolver's `Borrowed` routes) as host routes.
    mutating func vxlanRemoteBlocks(localBlocks: Set<IPPrefix>, localWorkloads: [Workload]) -> [RemoteBlock] {
        var owners: [IPPrefix: Set<String>] = [:]
        for a in affinities where a.node != me && !localBlocks.contains(a.cidr) {
            guard pool(containing: a.cidr)?.encapsulation == .vxlan else { continue }
            owners[a.cidr, default: []].insert(a.node)
        }
        let localAddresses = Set(localWorkloads.flatMap(\.addresses))
        let vxlanPools = pools.filter { $0.encapsulation == .vxlan }
        for wep in inputs.workloadEndpoints where !vxlanPools.isEmpty && wep.spec.node != me && !wep.spec.node.isEmpty {
            for text in wep.spec.ipNetworks {
                guard let a = Self.hostAddress(text), !localAddresses.contains(a) else { continue }
                let host = IPPrefix(host: a)
                guard vxlanPools.contains(where: { $0.cidr.contains(a) }), pool(containing: host)?.encapsulation == .vxlan
                else { continue }
                // The most specific affine block holding the address decides who routes it.
                if blockOwner(of: a) == wep.spec.node { continue }
                owners[host, default: []].insert(wep.spec.node)
            }
        }
        var out: [RemoteBlock] = []
        // Each node resolved once per family (the VTEP MAC derivation hashes its name).
        var resolved: [String: RemoteNode?] = [:]
        for cidr in owners.keys.sorted() {
            guard let mode = pool(containing: cidr)?.mode else { continue }
            let nodes = owners[cidr]!.sorted().compactMap { name -> RemoteNode? in
                let key = "\(cidr.family) \(name)"
                if let r = resolved[key] {
                    if r == nil { _ = vxlanNode(name, for: cidr) }  // names this route in the warning too
                    return r
                }
                let r = vxlanNode(name, for: cidr)
                resolved[key] = .some(r)
                return r
            }
            if !nodes.isEmpty { out.append(RemoteBlock(cidr: cidr, nodes: nodes, encapsulation: .vxlan, mode: mode)) }
        }
        return out
    }

    /// Everything else comes from BGP, as BIRD's kernel protocol would program it
    /// (calico.md §2.1 `calico_kernel_programming`): each learned prefix with its next hops
    /// mapped to nodes, the encapsulation of the pool holding it (`none` outside pools).
    /// Dropped: prefixes in VXLAN pools (from the datastore instead), our own blocks, our
    /// workloads' host routes and our service CIDRs (BIRD prefers our static routes). A /32
    /// inside one of our blocks from another node is kept: that node borrowed the address.
    mutating func learnedRemoteBlocks(localBlocks: Set<IPPrefix>, localWorkloads: [Workload], serviceCIDRs: Set<IPPrefix>,
                                      node: LocalNode) -> [RemoteBlock] {
        var hops: [IPPrefix: Set<IPAddress>] = [:]
        for r in inputs.learnedRoutes { hops[r.prefix, default: []].formUnion(r.nextHops) }
        let localHosts = Set(localWorkloads.flatMap(\.addresses).map { IPPrefix(host: $0) })
        let myAddresses = Set([node.ipv4?.address, node.ipv6?.address].compactMap { $0 })
        var out: [RemoteBlock] = []
        for prefix in hops.keys.sorted() {
            let pool = pool(containing: prefix)
            if pool?.encapsulation == .vxlan || localBlocks.contains(prefix) || localHosts.contains(prefix)
                || serviceCIDRs.contains(prefix) { continue }
            var nodes: [RemoteNode] = []
            for nh in hops[prefix]!.sorted() where !myAddresses.contains(nh) {
                guard nh.family == prefix.family else {
                    warnings.insert("learned \(prefix) via \(nh): next hop is not \(prefix.family); ignored")
                    continue
                }
                if let n = nodeByAddress[nh] { nodes.append(n); continue }
                // Routes outside pools via routers are normal; inside a pool they should come from a node.
                if pool != nil { warnings.insert("learned \(prefix) via \(nh) which is no known node") }
                nodes.append(RemoteNode(name: "", address: InterfaceAddress(nh, prefixLength: nh.family.bitWidth)))
            }
            if nodes.isEmpty { continue }
            out.append(RemoteBlock(cidr: prefix, nodes: nodes, encapsulation: pool?.encapsulation ?? .none,
                                   mode: pool?.mode ?? .always))
        }
        return out
    }
}
