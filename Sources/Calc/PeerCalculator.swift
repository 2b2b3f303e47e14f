import NetCore
import NodeModel

/// confd's peer computation (calico.md §2.1 "Mesh", "Explicit peers", "Peer expansion") as a
/// pure function of one snapshot: no history, so any sequence of datastore states ending in
/// the same state gives the same `PeerSet`.
public enum PeerCalculator {
    /// The sessions `snapshot.nodeName` should run. Empty when the node is unknown or has no
    /// `spec.bgp` (confd then has nothing to render).
    public static func peers(_ snapshot: CalcSnapshot) -> PeerSet {
        guard let me = snapshot.localNode else { return PeerSet() }
        let nodes = snapshot.bgpNodes
        let config = snapshot.effectiveConfiguration
        let globalAS = config.asNumber
        let myAS = me.asNumber ?? globalAS
        var out: [Peer] = []

        // Node-to-node mesh.
        if config.nodeToNodeMeshEnabled && !me.isRouteReflector {
            let global = snapshot.globalConfiguration
            for n in nodes where n.name != me.name && !n.isRouteReflector {
                for family in [IPFamily.v4, .v6] {
                    guard let mine = me.address(family), let theirs = n.address(family), mine != theirs else { continue }
                    out.append(Peer(
                        // confd names mesh peers without the port suffix.
                        name: Peer.name(type: .mesh, address: theirs, port: nil),
                        type: .mesh, address: theirs, port: n.listenPort,
                        remoteAS: n.asNumber ?? globalAS, localAS: myAS, sourceAddress: mine,
                        password: PasswordRef(global?.nodeMeshPassword),
                        gracefulRestartTime: config.nodeMeshMaxRestartTime,
                        passive: passive(peer: theirs, me: mine),
                        isCalicoNode: true, remoteNodeName: n.name))
                }
            }
        }

        // Explicit peers: expand each BGPPeer into (local node, remote endpoint) peerings as
        // confd's updatePeersV1 does, keeping only those whose local node is me.
        let bgpPeers = snapshot.bgpPeers.sorted { $0.metadata.name < $1.metadata.name }
        var globalEndpoints = Set<Endpoint>()
        var nodeEndpoints = Set<Endpoint>()
        // Pass 1: global peers.
        for p in bgpPeers where p.spec.isGlobal {
            for target in targets(of: p.spec, nodes: nodes, me: me, globalAS: globalAS) {
                globalEndpoints.insert(target.endpoint)
                if let peer = explicitPeer(.global, spec: p.spec, target: target, me: me, myAS: myAS, globalAS: globalAS) {
                    out.append(peer)
                }
            }
        }
        // Pass 2: node-specific peers (node == me, or nodeSelector matches my labels).
        for p in bgpPeers where !p.spec.isGlobal && appliesLocally(p.spec, to: me) {
            for target in targets(of: p.spec, nodes: nodes, me: me, globalAS: globalAS) {
                guard !globalEndpoints.contains(target.endpoint), nodeEndpoints.insert(target.endpoint).inserted,
                      let peer = explicitPeer(.nodeSpecific, spec: p.spec, target: target, me: me, myAS: myAS, globalAS: globalAS)
                else { continue }
                out.append(peer)
            }
        }
        // Pass 3: reverse peerings (confd's second pass). When I am the remote end of a
        // peering — selected by its peerSelector, or its peerIP (+AS, +port) is my address —
        // I peer back with each of its local nodes (node / nodeSelector; every node for a
        // global peer), unless `reversePeering: Manual`. Selector peerings reverse on both
        // families, peerIP ones on the peerIP's family only.
        for p in bgpPeers where p.spec.reversePeering != .manual {
            let families: [IPFamily]
            if !p.spec.peerSelector.isEmpty {
                guard let sel = try? Selector(p.spec.peerSelector), sel.matches(me.labels) else { continue }
                families = [.v4, .v6]
            } else if let ep = p.spec.peerEndpoint, isNode(me, endpoint: ep, asNumber: p.spec.asNumber, globalAS: globalAS) {
                families = [ep.address.family]
            } else {
                continue
            }
            for local in nodes where local.name != me.name && (p.spec.isGlobal || appliesLocally(p.spec, to: local)) {
                for t in Target.perFamily(local, me: me) where families.contains(t.address.family) {
                    guard !globalEndpoints.contains(t.endpoint), nodeEndpoints.insert(t.endpoint).inserted,
                          let peer = explicitPeer(.nodeSpecific, spec: p.spec, target: t, me: me, myAS: myAS,
                                                  globalAS: globalAS, reverse: true)
                    else { continue }
                    out.append(peer)
                }
            }
        }
        return PeerSet(out)
    }

    /// confd's tie-break: the side whose address string sorts lower connects; the other is passive.
    public static func passive(peer: IPAddress, me: IPAddress) -> Bool {
        peer.description > me.description
    }

    // MARK: - Expansion helpers

    struct Endpoint: Hashable { var address: IPAddress; var port: Int? }

    /// One remote end of an explicit peering.
    struct Target {
        var address: IPAddress
        var port: Int?
        var node: BGPNodeInfo?
        /// The other end is a Calico node that gets the mirror peering (confd's reverse pass).
        var reciprocal = false
        var endpoint: Endpoint { Endpoint(address: address, port: port) }

        /// A selected node is peered on each family both ends have an address for.
        static func perFamily(_ node: BGPNodeInfo, me: BGPNodeInfo) -> [Target] {
            [IPFamily.v4, .v6].compactMap { f in
                guard me.address(f) != nil, let a = node.address(f) else { return nil }
                return Target(address: a, port: node.listenPort, node: node, reciprocal: true)
            }
        }
    }

    /// confd's `nodesWithIPPortAndAS`: is `node` the target of a peerIP peering? Its address,
    /// its AS (the global one when it has none; the BGPPeer's, global when unset) and, when the
    /// peerIP carries a port, its listen port must match.
    static func isNode(_ node: BGPNodeInfo, endpoint: PeerEndpoint, asNumber: ASNumber?, globalAS: ASNumber) -> Bool {
        guard node.address(endpoint.address.family) == endpoint.address,
              (node.asNumber ?? globalAS) == (asNumber ?? globalAS) else { return false }
        if let port = endpoint.port { return (node.listenPort ?? 179) == Int(port) }
        return true
    }

    static func appliesLocally(_ spec: BGPPeerSpec, to node: BGPNodeInfo) -> Bool {
        if !spec.node.isEmpty { return spec.node == node.name }
        guard !spec.nodeSelector.isEmpty, let sel = try? Selector(spec.nodeSelector) else { return spec.isGlobal }
        return sel.matches(node.labels)
    }

    static func targets(of spec: BGPPeerSpec, nodes: [BGPNodeInfo], me: BGPNodeInfo, globalAS: ASNumber) -> [Target] {
        if !spec.peerSelector.isEmpty {
            guard let sel = try? Selector(spec.peerSelector) else { return [] }
            return nodes.filter { $0.name != me.name && sel.matches($0.labels) }.flatMap { Target.perFamily($0, me: me) }
        }
        guard let ep = spec.peerEndpoint else { return [] }
        // A peerIP that is a Calico node's address is that node; without a port, a node that
        // also matches the AS lends its listen port (confd's updatePeersV1).
        let node = nodes.first { $0.address(ep.address.family) == ep.address }
        if node?.name == me.name { return [] }
        let portFrom = ep.port == nil ? nodes.first { isNode($0, endpoint: ep, asNumber: spec.asNumber, globalAS: globalAS) } : nil
        let reciprocal = node.map { isNode($0, endpoint: ep, asNumber: spec.asNumber, globalAS: globalAS) } ?? false
        return [Target(address: ep.address, port: ep.port.map(Int.init) ?? portFrom?.listenPort, node: node, reciprocal: reciprocal)]
    }

    /// One explicit peering. `reverse`: the automatic peer-back of a peering whose remote end
    /// is me, so the BGPPeer's AS numbers describe the other direction and are not used.
    static func explicitPeer(_ type: PeerType, spec: BGPPeerSpec, target: Target, me: BGPNodeInfo,
                             myAS: ASNumber, globalAS: ASNumber, reverse: Bool = false) -> Peer? {
        let address = target.address
        guard let mine = me.address(address.family), address != mine else { return nil }
        // The peer's asNumber, else the selected node's AS, else the global AS.
        let nodeAS = target.node.map { $0.asNumber ?? globalAS }
        let remoteAS = reverse ? nodeAS ?? globalAS : spec.asNumber ?? nodeAS ?? globalAS
        let localAS = reverse ? myAS : spec.localASNumber ?? myAS
        let isInternal = remoteAS == localAS
        var nextHop = NextHopBehaviour.auto
        switch spec.nextHopMode {
        case .self?: nextHop = .self
        case .keep?: nextHop = .keep
        case .auto?: nextHop = .auto
        case nil: nextHop = spec.keepOriginalNextHop && !isInternal ? .keep : .auto
        }
        var rrCluster: String? = nil
        if me.isRouteReflector && isInternal && target.node?.routeReflectorClusterID != me.routeReflectorClusterID {
            rrCluster = me.routeReflectorClusterID
        }
        let reachable = spec.reachableBy.isEmpty ? nil : IPAddress(spec.reachableBy)
        return Peer(
            name: Peer.name(type: type, address: address, port: target.port),
            type: type, address: address, port: target.port,
            remoteAS: remoteAS, localAS: localAS,
            sourceAddress: spec.sourceAddress == SourceAddress.none ? nil : mine,
            password: PasswordRef(spec.password),
            keepaliveTime: spec.keepaliveTime,
            gracefulRestartTime: spec.maxRestartTime ?? Peer.defaultRestartTime,
            ttlSecurityHops: spec.ttlSecurity.flatMap { $0 > 0 ? $0 : nil },
            multihop: true,
            // The tie-break only where the other end is sure to peer back (confd's reverse
            // pass). Otherwise — `reversePeering: Manual`, or a peerIP whose AS is not the
            // node's — we stay active; BGP collision detection copes if both ends connect.
            passive: target.reciprocal && spec.reversePeering != .manual && passive(peer: address, me: mine),
            routeReflectorClusterID: rrCluster,
            nextHop: nextHop,
            allowLocalAS: spec.numAllowedLocalASNumbers.flatMap { $0 > 0 ? $0 : nil },
            reachableBy: reachable?.family == address.family ? reachable : nil,
            filters: spec.filters,
            isCalicoNode: target.node != nil,
            remoteNodeName: target.node?.name)
    }
}
