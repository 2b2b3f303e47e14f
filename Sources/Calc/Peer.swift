import NetCore
import NodeModel

/// How a peering came about (confd's section headers and name prefixes).
public enum PeerType: String, Hashable, Sendable, CaseIterable {
    case mesh = "node-to-node mesh"
    case global = "global"
    case nodeSpecific = "node specific"

    /// The BIRD protocol name prefix confd uses.
    public var namePrefix: String {
        switch self {
        case .mesh: "Mesh_"
        case .global: "Global_"
        case .nodeSpecific: "Node_"
        }
    }
}

/// Where a BGP password lives: a Kubernetes secret in calico-node's namespace. Resolved by the
/// I/O shell, never here.
public struct PasswordRef: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var secretName: String
    public var key: String
    public init(secretName: String, key: String) { self.secretName = secretName; self.key = key }
    public init?(_ password: BGPPassword?) {
        guard let ref = password?.secretKeyRef else { return nil }
        self.init(secretName: ref.name, key: ref.key)
    }
    public var description: String { "\(secretName)/\(key)" }
    public static func < (l: Self, r: Self) -> Bool { (l.secretName, l.key) < (r.secretName, r.key) }
}

/// Next-hop handling on routes sent to the peer.
public enum NextHopBehaviour: String, Hashable, Sendable {
    /// BIRD's default (`next hop self` for eBGP, unchanged for iBGP).
    case auto
    /// `next hop self;`
    case `self`
    /// `next hop keep;`
    case keep
}

/// One BGP session this node should run, fully resolved (calico.md §2.1, confd's peer JSON).
public struct Peer: Hashable, Sendable, CustomStringConvertible {
    /// `Mesh_10_0_0_2`, `Global_10_0_0_9_port_1790`, `Node_fd00__2`…
    public var name: String
    public var type: PeerType
    public var address: IPAddress
    /// Nil = BGP's 179 (and no `_port_` suffix in the name).
    public var port: Int?
    public var remoteAS: ASNumber
    public var localAS: ASNumber
    /// Nil when `sourceAddress: None` (the kernel picks).
    public var sourceAddress: IPAddress?
    public var password: PasswordRef?
    public var keepaliveTime: CalicoDuration?
    /// BIRD `graceful restart time`; 120 s when nothing sets it.
    public var gracefulRestartTime: CalicoDuration
    /// `ttlSecurity` hop count: `ttl security on; multihop N;`.
    public var ttlSecurityHops: Int?
    /// `multihop;` without a hop count (confd does this for every explicit peer).
    public var multihop: Bool
    /// `passive on;`: the peer connects to us (confd's string tie-break between Calico nodes).
    public var passive: Bool
    /// Set when this node is a route reflector and the peer is one of its clients.
    public var routeReflectorClusterID: String?
    public var nextHop: NextHopBehaviour
    /// `allow local as N;`
    public var allowLocalAS: Int?
    /// Gateway for a static `/32` (`/128`) route to the peer (`reachableBy`).
    public var reachableBy: IPAddress?
    /// BGPFilter names, in order.
    public var filters: [String]
    /// The peer is a Calico node (mesh, peerSelector, or a peerIP that is a node's address).
    public var isCalicoNode: Bool
    /// The name of the node at the other end when it is a Calico node.
    public var remoteNodeName: String?

    public init(name: String, type: PeerType, address: IPAddress, port: Int? = nil, remoteAS: ASNumber,
                localAS: ASNumber, sourceAddress: IPAddress? = nil, password: PasswordRef? = nil,
                keepaliveTime: CalicoDuration? = nil, gracefulRestartTime: CalicoDuration = Peer.defaultRestartTime,
                ttlSecurityHops: Int? = nil, multihop: Bool = false, passive: Bool = false,
                routeReflectorClusterID: String? = nil, nextHop: NextHopBehaviour = .auto, allowLocalAS: Int? = nil,
                reachableBy: IPAddress? = nil, filters: [String] = [], isCalicoNode: Bool = false,
                remoteNodeName: String? = nil) {
        self.name = name; self.type = type; self.address = address; self.port = port
        self.remoteAS = remoteAS; self.localAS = localAS; self.sourceAddress = sourceAddress
        self.password = password; self.keepaliveTime = keepaliveTime; self.gracefulRestartTime = gracefulRestartTime
        self.ttlSecurityHops = ttlSecurityHops; self.multihop = multihop; self.passive = passive
        self.routeReflectorClusterID = routeReflectorClusterID; self.nextHop = nextHop
        self.allowLocalAS = allowLocalAS; self.reachableBy = reachableBy; self.filters = filters
        self.isCalicoNode = isCalicoNode; self.remoteNodeName = remoteNodeName
    }

    public static let defaultRestartTime = CalicoDuration(seconds: 120)

    public var family: IPFamily { address.family }
    /// iBGP when both ends are in the same AS.
    public var isInternal: Bool { remoteAS == localAS }
    public var isRouteReflectorClient: Bool { routeReflectorClusterID != nil }
    /// The `internal_peer` argument of `calico_export_to_bgp_peers`: confd passes `true` for
    /// every mesh peer and "same AS" for explicit ones.
    public var exportsAsInternal: Bool { type == .mesh || isInternal }

    /// Calico's protocol name: prefix + address with `.`/`:` → `_`, plus `_port_<N>`.
    public static func name(type: PeerType, address: IPAddress, port: Int?) -> String {
        let ip = String(address.description.map { $0 == "." || $0 == ":" ? "_" : $0 })
        return type.namePrefix + ip + (port.map { "_port_\($0)" } ?? "")
    }

    public var description: String {
        "\(name) (\(type.rawValue)) \(address)\(port.map { " port \($0)" } ?? "") as \(remoteAS) local as \(localAS)"
    }
}

/// The sessions of one node, keyed and sorted by protocol name.
public struct PeerSet: Hashable, Sendable, Sequence {
    public private(set) var peers: [Peer]

    /// Sorts by name; the first peer of a given name wins.
    public init(_ peers: [Peer] = []) {
        var seen = Set<String>()
        self.peers = peers.filter { seen.insert($0.name).inserted }.sorted { $0.name < $1.name }
    }

    public subscript(name: String) -> Peer? { peers.first { $0.name == name } }
    public var names: [String] { peers.map(\.name) }
    public var count: Int { peers.count }
    public var isEmpty: Bool { peers.isEmpty }
    public func makeIterator() -> IndexingIterator<[Peer]> { peers.makeIterator() }
    public func peers(_ family: IPFamily) -> [Peer] { peers.filter { $0.family == family } }
}
