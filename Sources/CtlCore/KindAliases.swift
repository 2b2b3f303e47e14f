/// calicoctl's resource-type names: what a user may type for KIND (`get ipp`, `delete bgppeers x`).
/// Matching is case-insensitive and also accepts the canonical kind (`IPPool`). The lists are
/// calicoctl's (`calicoctl/resourcemgr/*.go registerResource`).
public enum KindAliases {
    /// Canonical kind → the names calicoctl registers for it.
    public static let table: [(kind: String, names: [String])] = [
        ("IPPool", ["ippool", "ippools", "ipp", "ipps", "pool", "pools"]),
        ("BGPPeer", ["bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps"]),
        ("BGPConfiguration", ["bgpconfiguration", "bgpconfigurations", "bgpconfig", "bgpconfigs"]),
        ("BGPFilter", ["bgpfilter", "bgpfilters", "bgpf", "bgpfs", "bf", "bfs"]),
        ("Node", ["node", "nodes", "no", "nos"]),
        ("FelixConfiguration", ["felixconfiguration", "felixconfigurations", "felixconfig", "felixconfigs"]),
        ("IPAMConfiguration", ["ipamconfiguration", "ipamconfigurations", "ipamconfig", "ipamconfigs"]),
        ("IPReservation", ["ipreservation", "ipreservations", "ipr", "iprs"]),
        ("ClusterInformation", ["clusterinformation", "clusterinformations", "clusterinfo", "clusterinfos"]),
        ("KubeControllersConfiguration", ["kubecontrollersconfiguration", "kubecontrollersconfigurations",
                                          "kubecontrollersconfig", "kubecontrollersconfigs"]),
        ("WorkloadEndpoint", ["workloadendpoint", "workloadendpoints", "wep", "weps"]),
        ("HostEndpoint", ["hostendpoint", "hostendpoints", "hep", "heps"]),
        ("NetworkPolicy", ["networkpolicy", "networkpolicies", "policy", "np", "policies", "pol", "pols"]),
        ("GlobalNetworkPolicy", ["globalnetworkpolicy", "globalnetworkpolicies", "gnp", "gnps"]),
        ("NetworkSet", ["networkset", "networksets", "netsets", "netset"]),
        ("GlobalNetworkSet", ["globalnetworkset", "globalnetworksets"]),
        ("Tier", ["tier", "tiers"]),
        ("Profile", ["profile", "profiles", "pro", "pros"]),
        ("CalicoNodeStatus", ["caliconodestatus", "caliconodestatuses", "cns"]),
        ("IPAMBlock", ["ipamblock", "ipamblocks"]),
        ("BlockAffinity", ["blockaffinity", "blockaffinities", "affinity", "affinities"]),
    ]

    private static let index: [String: String] = {
        var m: [String: String] = [:]
        for (kind, names) in table {
            m[kind.lowercased()] = kind
            for n in names { m[n] = kind }
        }
        return m
    }()

    /// The canonical kind for what the user typed, or nil when calicoctl knows no such type.
    public static func canonical(_ typed: String) -> String? {
        index[typed.lowercased()]
    }
}
