import NetCore
import NodeModel

/// The datastore state the calc core reads: everything confd's BGP syncer watches, for one
/// node. Order inside each array never matters (results are sorted), so an I/O shell can fill
/// it straight from a list or a watch cache.
public struct CalcSnapshot: Hashable, Sendable {
    /// The node this agent runs on.
    public var nodeName: String
    public var nodes: [Node]
    public var bgpPeers: [BGPPeer]
    /// `default` (global) and `node.<name>` (per node) objects; others are ignored.
    public var bgpConfigurations: [BGPConfiguration]
    public var ipPools: [IPPool]
    public var bgpFilters: [BGPFilter]
    /// Block affinities; only those whose `spec.node` is `nodeName` are used.
    public var blockAffinities: [BlockAffinity]

    public init(nodeName: String, nodes: [Node] = [], bgpPeers: [BGPPeer] = [],
                bgpConfigurations: [BGPConfiguration] = [], ipPools: [IPPool] = [],
                bgpFilters: [BGPFilter] = [], blockAffinities: [BlockAffinity] = []) {
        self.nodeName = nodeName; self.nodes = nodes; self.bgpPeers = bgpPeers
        self.bgpConfigurations = bgpConfigurations; self.ipPools = ipPools
        self.bgpFilters = bgpFilters; self.blockAffinities = blockAffinities
    }

    /// The `default` BGPConfiguration spec, nil when absent.
    public var globalConfiguration: BGPConfigurationSpec? {
        bgpConfigurations.first { $0.metadata.name == "default" }?.spec
    }

    /// The `node.<name>` BGPConfiguration spec, nil when absent.
    public func nodeConfiguration(for node: String) -> BGPConfigurationSpec? {
        bgpConfigurations.first { $0.metadata.name == "node." + node }?.spec
    }

    /// The node's effective BGP settings (per-node over global over Calico defaults).
    public var effectiveConfiguration: EffectiveBGPConfiguration {
        EffectiveBGPConfiguration(global: globalConfiguration, node: nodeConfiguration(for: nodeName))
    }
}

/// One Calico node as a BGP speaker: the fields of confd's `/calico/bgp/v1/host/<node>/…` keys.
public struct BGPNodeInfo: Hashable, Sendable {
    public var name: String
    public var labels: [String: String]
    public var ipv4: IPAddress?
    /// The node's IPv4 subnet (from `ipv4Address` CIDR form), used for CrossSubnet.
    public var ipv4Subnet: IPPrefix?
    public var ipv6: IPAddress?
    public var ipv6Subnet: IPPrefix?
    /// The node's own AS (`spec.bgp.asNumber`), nil when it uses the global one.
    public var asNumber: ASNumber?
    /// Empty when the node is not a route reflector.
    public var routeReflectorClusterID: String
    /// `listenPort` of the node's `node.<name>` BGPConfiguration, or of `default`; nil when neither sets it.
    public var listenPort: Int?

    public init(name: String, labels: [String: String] = [:], ipv4: IPAddress? = nil, ipv4Subnet: IPPrefix? = nil,
                ipv6: IPAddress? = nil, ipv6Subnet: IPPrefix? = nil, asNumber: ASNumber? = nil,
                routeReflectorClusterID: String = "", listenPort: Int? = nil) {
        self.name = name; self.labels = labels; self.ipv4 = ipv4; self.ipv4Subnet = ipv4Subnet
        self.ipv6 = ipv6; self.ipv6Subnet = ipv6Subnet; self.asNumber = asNumber
        self.routeReflectorClusterID = routeReflectorClusterID; self.listenPort = listenPort
    }

    /// Nil when the node has no `spec.bgp` (confd does not know such a node as a BGP host).
    public init?(_ node: Node, snapshot: CalcSnapshot) {
        guard let bgp = node.spec.bgp else { return nil }
        name = node.metadata.name
        labels = node.metadata.labels
        ipv4 = bgp.ipv4Interface?.address
        ipv4Subnet = bgp.ipv4Interface?.subnet
        ipv6 = bgp.ipv6Interface?.address
        ipv6Subnet = bgp.ipv6Interface?.subnet
        if case .v6? = ipv4 { ipv4 = nil; ipv4Subnet = nil }
        if case .v4? = ipv6 { ipv6 = nil; ipv6Subnet = nil }
        asNumber = bgp.asNumber
        routeReflectorClusterID = bgp.routeReflectorClusterID
        let nodePort = snapshot.nodeConfiguration(for: name)?.listenPort ?? 0
        let globalPort = snapshot.globalConfiguration?.listenPort ?? 0
        listenPort = nodePort != 0 ? nodePort : (globalPort != 0 ? globalPort : nil)
    }

    public func address(_ family: IPFamily) -> IPAddress? { family == .v4 ? ipv4 : ipv6 }
    public func subnet(_ family: IPFamily) -> IPPrefix? { family == .v4 ? ipv4Subnet : ipv6Subnet }
    public var isRouteReflector: Bool { !routeReflectorClusterID.isEmpty }
}

extension CalcSnapshot {
    /// All BGP-capable nodes, sorted by name.
    public var bgpNodes: [BGPNodeInfo] {
        nodes.compactMap { BGPNodeInfo($0, snapshot: self) }.sorted { $0.name < $1.name }
    }

    /// This node as a BGP speaker; nil when it has no `spec.bgp`.
    public var localNode: BGPNodeInfo? {
        nodes.first { $0.metadata.name == nodeName }.flatMap { BGPNodeInfo($0, snapshot: self) }
    }
}
