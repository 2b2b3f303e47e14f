import Calc
import Dataplane
import NetCore
import NodeAgentCore
import NodeModel
import TestSupport

/// Terse builders so scenarios read like the YAML a user would apply.
enum F {
    static func node(_ name: String, v4: String? = nil, v6: String? = nil, ipip: String = "", vxlan: String = "",
                     vxlanMAC: String = "", vxlanV6: String = "") -> Node {
        var bgp = NodeBGPSpec(ipv4Address: v4 ?? "", ipv6Address: v6 ?? "")
        bgp.ipv4IPIPTunnelAddr = ipip
        var spec = NodeSpec(bgp: bgp)
        spec.ipv4VXLANTunnelAddr = vxlan; spec.vxlanTunnelMACAddr = vxlanMAC; spec.ipv6VXLANTunnelAddr = vxlanV6
        return Node(metadata: ObjectMeta(name: name), spec: spec)
    }

    static func pool(_ cidr: String, ipip: EncapMode? = nil, vxlan: EncapMode? = nil, disabled: Bool = false,
                     noExport: Bool = false) -> IPPool {
        var s = IPPoolSpec(cidr: cidr)
        s.ipipMode = ipip; s.vxlanMode = vxlan; s.disabled = disabled; s.disableBGPExport = noExport
        return IPPool(metadata: ObjectMeta(name: "pool-" + cidr.replacing("/", with: "-").replacing(":", with: "-")), spec: s)
    }

    static func affinity(_ node: String, _ cidr: String, _ state: BlockAffinityState = .confirmed) -> BlockAffinity {
        BlockAffinity(spec: BlockAffinitySpec(node: node, cidr: IPPrefix(cidr)!, state: state))
    }

    static func wep(_ name: String, node: String, _ addresses: [String], interface: String? = nil, mac: String = "",
                    namespace: String = "default") -> WorkloadEndpoint {
        var s = WorkloadEndpointSpec()
        s.node = node; s.orchestrator = "k8s"; s.pod = name; s.endpoint = "eth0"
        s.ipNetworks = addresses; s.interfaceName = interface ?? "cali" + name; s.mac = mac
        return WorkloadEndpoint(metadata: ObjectMeta(name: name, namespace: namespace), spec: s)
    }

    static func config(_ configure: (inout BGPConfigurationSpec) -> Void) -> BGPConfiguration {
        var s = BGPConfigurationSpec()
        configure(&s)
        return BGPConfiguration(metadata: ObjectMeta(name: "default"), spec: s)
    }

    static func learned(_ prefix: String, via hops: String...) -> LearnedRoute {
        LearnedRoute(prefix: pfx(prefix), nextHops: hops.map(ip), peer: ip(hops.first ?? "0.0.0.0"))
    }

    static func ip(_ s: String) -> IPAddress { IPAddress(s)! }
    static func pfx(_ s: String) -> IPPrefix { IPPrefix(s)! }
    static func iface(_ s: String) -> InterfaceAddress { InterfaceAddress(s)! }
}

/// A 3-node cluster on 10.99.0.0/24 with one /26 block per node in 10.244.0.0/16; n1 is "us".
enum Cluster {
    static let host = HostFacts(ipv4: F.iface("10.99.0.11/24"), parentInterface: "eth0", parentMTU: 1500)
    static let n1 = F.node("n1", v4: "10.99.0.11/24", ipip: "10.244.1.1", vxlan: "10.244.1.0")
    static let n2 = F.node("n2", v4: "10.99.0.12/24", ipip: "10.244.2.1", vxlan: "10.244.2.0", vxlanMAC: "66:00:00:00:00:02")
    static let n3 = F.node("n3", v4: "10.99.0.13/24", ipip: "10.244.3.1", vxlan: "10.244.3.0")
    static let affinities = [F.affinity("n1", "10.244.1.0/26"), F.affinity("n2", "10.244.2.0/26"),
                             F.affinity("n3", "10.244.3.0/26")]
    /// Two local pods (one in our block, one borrowed from n2's block) and one pod elsewhere.
    static let weps = [F.wep("web-0", node: "n1", ["10.244.1.5/32"], mac: "ee:ee:ee:ee:ee:01"),
                       F.wep("web-1", node: "n1", ["10.244.2.40/32"]),
                       F.wep("db-0", node: "n2", ["10.244.2.7/32"])]
    /// What n2 and n3 advertise over BGP: their blocks.
    static let learned = [F.learned("10.244.2.0/26", via: "10.99.0.12"), F.learned("10.244.3.0/26", via: "10.99.0.13")]

    static func inputs(nodes: [Node] = [n1, n2, n3], pools: [IPPool], affinities: [BlockAffinity] = affinities,
                       weps: [WorkloadEndpoint] = weps, learned: [LearnedRoute] = learned,
                       configs: [BGPConfiguration] = []) -> AgentInputs {
        AgentInputs(snapshot: CalcSnapshot(nodeName: "n1", nodes: nodes, bgpConfigurations: configs, ipPools: pools,
                                           blockAffinities: affinities),
                    workloadEndpoints: weps, learnedRoutes: learned, host: host)
    }
}

extension AgentInputs {
    /// The same inputs with every array (and every route's next hops) in another order.
    func shuffled(using rng: inout SeededRandom) -> AgentInputs {
        var s = self
        s.snapshot.nodes.shuffle(using: &rng); s.snapshot.bgpPeers.shuffle(using: &rng)
        s.snapshot.bgpConfigurations.shuffle(using: &rng); s.snapshot.ipPools.shuffle(using: &rng)
        s.snapshot.bgpFilters.shuffle(using: &rng); s.snapshot.blockAffinities.shuffle(using: &rng)
        s.workloadEndpoints.shuffle(using: &rng)
        s.learnedRoutes = s.learnedRoutes.map { var r = $0; r.nextHops.shuffle(using: &rng); return r }.shuffled(using: &rng)
        return s
    }

    /// Everything removed: the node's name and host facts only.
    var emptied: AgentInputs { AgentInputs(snapshot: CalcSnapshot(nodeName: snapshot.nodeName), host: host, settings: settings) }
}

extension AgentPlan {
    var remote: [String: RemoteBlock] {
        Dictionary(uniqueKeysWithValues: routing.remoteBlocks.map { ("\($0.cidr)", $0) })
    }
    var advertisedText: [String] { advertised.map(\.description) }
}
