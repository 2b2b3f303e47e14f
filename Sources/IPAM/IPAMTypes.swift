import Datastore
import NetCore
import NodeModel

/// Why an IPAM call failed; each case says what and why, for the CNI error `msg` and twillctl.
public enum IPAMError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No enabled pool of the family whose nodeSelector matches the node (and, when the request
    /// names pools, none of those).
    case noPools(String)
    /// Every eligible pool is full (or the node may not claim or borrow more blocks).
    case exhausted(String)
    /// The request itself is wrong (unknown or disabled pool, bad address).
    case invalidRequest(String)
    /// The address is not allocated.
    case notAllocated(IPAddress)
    /// Concurrent writers kept winning for longer than the retry budget.
    case contention(String)
    /// A stored IPAM record could not be read.
    case corrupt(key: String, reason: String)
    case datastore(DatastoreError)

    public var description: String {
        switch self {
        case .noPools(let s): "no IP pools available: \(s)"
        case .exhausted(let s): "no addresses available: \(s)"
        case .invalidRequest(let s): "invalid IPAM request: \(s)"
        case .notAllocated(let ip): "IP address \(ip) is not assigned"
        case .contention(let s): "IPAM datastore contention, try again later: \(s)"
        case .corrupt(let k, let r): "IPAM record \(k) is unreadable: \(r)"
        case .datastore(let e): e.description
        }
    }

    /// True for failures a caller may retry unchanged (CNI code 11).
    public var isTransient: Bool {
        switch self {
        case .contention: true
        case .datastore(.unavailable): true
        default: false
        }
    }
}

/// One automatic assignment (Calico's `AutoAssignArgs`, IPv4).
public struct AssignRequest: Sendable, Hashable {
    /// Owner of the addresses; release by handle frees them all.
    public var handleID: String
    /// The node whose affine blocks are used (and which claims new ones).
    public var node: String
    public var count: Int = 1
    /// Secondary attributes stored with the allocation (`node`, `namespace`, `pod`, ...).
    public var attributes: [String: String] = [:]
    /// Restricts assignment to these pool CIDRs (CNI `ipv4_pools`); empty = every eligible pool.
    public var pools: [IPPrefix] = []
    /// The use the pool must allow (Workload for pods, Tunnel for tunnel addresses).
    public var use: IPPoolAllowedUse = .workload
    /// The node's labels for `nodeSelector`; nil = read the Node resource (none = no labels).
    public var nodeLabels: [String: String]? = nil

    public init(handleID: String, node: String, count: Int = 1, attributes: [String: String] = [:],
                pools: [IPPrefix] = [], use: IPPoolAllowedUse = .workload, nodeLabels: [String: String]? = nil) {
        self.handleID = handleID; self.node = node; self.count = count; self.attributes = attributes
        self.pools = pools; self.use = use; self.nodeLabels = nodeLabels
    }
}

/// The effective IPAM configuration (IPAMConfiguration `default` with Calico's defaults).
public struct IPAMSettings: Sendable, Hashable {
    public var strictAffinity = false
    public var autoAllocateBlocks = true
    /// 0 = unlimited.
    public var maxBlocksPerHost = 0
    public init(strictAffinity: Bool = false, autoAllocateBlocks: Bool = true, maxBlocksPerHost: Int = 0) {
        self.strictAffinity = strictAffinity; self.autoAllocateBlocks = autoAllocateBlocks; self.maxBlocksPerHost = maxBlocksPerHost
    }
}

/// Tunnel address kinds and their Calico handle names.
public enum TunnelKind: String, Sendable, CaseIterable {
    case ipip, vxlan
    public func handleID(node: String) -> String { "\(rawValue)-tunnel-addr-\(node)" }
    /// The `type` attribute Calico stores with the allocation.
    public var attributeType: String { self == .ipip ? "ipipTunnelAddress" : "vxlanTunnelAddress" }
}
