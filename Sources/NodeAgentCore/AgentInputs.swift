import Calc
import Dataplane
import NetCore
import NodeModel

/// A best route the BGP speaker learned from a peer (not our own announcements).
public struct LearnedRoute: Hashable, Sendable {
    public var prefix: IPPrefix
    /// Several next hops make an ECMP route (ADD-PATH or multipath).
    public var nextHops: [IPAddress]
    /// The peer that sent it (kept for diagnostics; the plan does not depend on it).
    public var peer: IPAddress

    public init(prefix: IPPrefix, nextHops: [IPAddress], peer: IPAddress) {
        self.prefix = prefix; self.nextHops = nextHops; self.peer = peer
    }
}

/// Facts about this host the shell discovered (autodetection, kernel).
public struct HostFacts: Hashable, Sendable {
    /// The node's addresses with their subnet lengths; nil falls back to the Node resource's
    /// `spec.bgp.ipv4Address` / `ipv6Address`.
    public var ipv4: InterfaceAddress?
    public var ipv6: InterfaceAddress?
    /// The NIC holding the node address (VXLAN parent, no-encap route device).
    public var parentInterface: String
    public var parentMTU: Int

    public init(ipv4: InterfaceAddress? = nil, ipv6: InterfaceAddress? = nil, parentInterface: String = "eth0",
                parentMTU: Int = 1500) {
        self.ipv4 = ipv4; self.ipv6 = ipv6; self.parentInterface = parentInterface; self.parentMTU = parentMTU
    }
}

/// Everything the agent's calculation reads. Order inside every array never matters.
public struct AgentInputs: Hashable, Sendable {
    /// Nodes, BGP peers, BGP configurations, pools, filters and the block affinities of ALL nodes.
    public var snapshot: CalcSnapshot
    /// All WorkloadEndpoints. This node's (`spec.node == snapshot.nodeName`) become local
    /// workloads; other nodes' are used only for their borrowed addresses in VXLAN pools
    /// (Felix's `L3RouteResolver` routes those to the owning node from the datastore).
    public var workloadEndpoints: [WorkloadEndpoint]
    public var learnedRoutes: [LearnedRoute]
    public var host: HostFacts
    public var settings: RoutingSettings

    public init(snapshot: CalcSnapshot, workloadEndpoints: [WorkloadEndpoint] = [], learnedRoutes: [LearnedRoute] = [],
                host: HostFacts = HostFacts(), settings: RoutingSettings = RoutingSettings()) {
        self.snapshot = snapshot; self.workloadEndpoints = workloadEndpoints; self.learnedRoutes = learnedRoutes
        self.host = host; self.settings = settings
    }
}

/// What the agent should do, as data: the shell reconciles the speaker's peers and
/// announcements and hands `routing` to `RoutingCalculator.compute`.
public struct AgentPlan: Hashable, Sendable {
    /// The sessions to run (`PeerCalculator.peers`).
    public var peers: PeerSet
    /// What the speaker announces, sorted: local blocks and service CIDRs
    /// (`ExportPolicy.advertisedPrefixes`) plus borrowed workload host routes.
    public var advertised: [IPPrefix]
    public var routing: RoutingInput
    /// Problems a user should see, sorted.
    public var warnings: [String]
    /// The BGPFilters some peer names (`BGPPeer.spec.filters`), sorted by name.
    public var filters: [BGPFilter]
    /// This node's `spec.bgp.routeReflectorClusterID` when it is a route reflector.
    public var routeReflectorClusterID: String?

    public init(peers: PeerSet, advertised: [IPPrefix], routing: RoutingInput, warnings: [String] = [],
                filters: [BGPFilter] = [], routeReflectorClusterID: String? = nil) {
        self.peers = peers; self.advertised = advertised; self.routing = routing; self.warnings = warnings
        self.filters = filters; self.routeReflectorClusterID = routeReflectorClusterID
    }
}
