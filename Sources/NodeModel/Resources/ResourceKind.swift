/// Every resource kind Twill understands, with calicoctl's names: the kind as written in YAML,
/// the plural used in datastore keys, the scope, and the aliases `twillctl get <alias>` accepts.
public enum ResourceKind: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case ipPool = "IPPool"
    case bgpPeer = "BGPPeer"
    case bgpConfiguration = "BGPConfiguration"
    case node = "Node"
    case bgpFilter = "BGPFilter"
    case workloadEndpoint = "WorkloadEndpoint"
    case networkPolicy = "NetworkPolicy"
    case globalNetworkPolicy = "GlobalNetworkPolicy"
    case ipamConfiguration = "IPAMConfiguration"
    case ipamBlock = "IPAMBlock"
    case blockAffinity = "BlockAffinity"
    case ipamHandle = "IPAMHandle"

    public static let apiVersion = "projectcalico.org/v3"

    /// The kind name as written in `kind:`.
    public var name: String { rawValue }
    public var description: String { rawValue }

    /// The kind of a typed list, as calicoctl prints it (`IPPoolList`).
    public var listKind: String { rawValue + "List" }

    /// Lower-case plural used in datastore keys (`model/resource.go`).
    public var plural: String {
        switch self {
        case .ipPool: "ippools"
        case .bgpPeer: "bgppeers"
        case .bgpConfiguration: "bgpconfigurations"
        case .node: "nodes"
        case .bgpFilter: "bgpfilters"
        case .workloadEndpoint: "workloadendpoints"
        case .networkPolicy: "networkpolicies"
        case .globalNetworkPolicy: "globalnetworkpolicies"
        case .ipamConfiguration: "ipamconfigurations"
        case .ipamBlock: "ipamblocks"
        case .blockAffinity: "blockaffinities"
        case .ipamHandle: "ipamhandles"
        }
    }

    /// Namespaced kinds need `metadata.namespace` (defaulted to `default`).
    public var isNamespaced: Bool { self == .workloadEndpoint || self == .networkPolicy }

    /// Names calicoctl accepts on the command line for this kind (all lower case).
    public var aliases: [String] {
        switch self {
        case .ipPool: ["ippool", "ippools", "ipp", "ipps", "pool", "pools"]
        case .bgpPeer: ["bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps"]
        case .bgpConfiguration: ["bgpconfig", "bgpconfigs", "bgpconfiguration", "bgpconfigurations"]
        case .node: ["node", "nodes", "no"]
        case .bgpFilter: ["bgpfilter", "bgpfilters", "bgpf", "bgpfs", "bf", "bfs"]
        case .workloadEndpoint: ["workloadendpoint", "workloadendpoints", "wep", "weps"]
        case .networkPolicy: ["networkpolicy", "networkpolicies", "netpol", "netpols", "np", "nps", "policy", "policies", "pol", "pols"]
        case .globalNetworkPolicy: ["globalnetworkpolicy", "globalnetworkpolicies", "gnp", "gnps"]
        case .ipamConfiguration: ["ipamconfig", "ipamconfigs", "ipamconfiguration", "ipamconfigurations"]
        case .ipamBlock: ["ipamblock", "ipamblocks"]
        case .blockAffinity: ["blockaffinity", "blockaffinities"]
        case .ipamHandle: ["ipamhandle", "ipamhandles"]
        }
    }

    /// Looks up a kind by alias, kind name or plural, case-insensitively (`IPPool`, `ipp`, `pools`).
    public init?(alias: String) {
        let a = alias.lowercased()
        guard let k = ResourceKind.allCases.first(where: { $0.aliases.contains(a) || $0.rawValue.lowercased() == a })
        else { return nil }
        self = k
    }

    /// Exact kind name as written in YAML `kind:` (case-sensitive, like the API server).
    public init?(kindName: String) { self.init(rawValue: kindName) }
}
