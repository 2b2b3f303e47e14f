import Calc
import NetCore
import NodeModel

/// Datastore states whose BIRD configuration is checked against golden files and `bird -p`.
enum BIRDScenarios {
    /// confd's `mesh/ipip-cross-subnet` test input: three nodes in 10.192.0.0/16, one IPIP
    /// CrossSubnet pool, full mesh, rendered for kube-master.
    static var meshIPIPCrossSubnet: CalcSnapshot {
        CalcSnapshot(nodeName: "kube-master", nodes: [
            F.node("kube-master", v4: "10.192.0.2/16"), F.node("kube-node-1", v4: "10.192.0.3/16"),
            F.node("kube-node-2", v4: "10.192.0.6/16"),
        ], ipPools: [F.pool("192.168.0.0/16", ipip: .crossSubnet)])
    }

    /// confd's `bgpfilter/single_filter/explicit_peer` input: mesh off, two node-specific peers
    /// in AS 64517, each with one BGPFilter.
    static var singleFilterExplicitPeer: CalcSnapshot {
        CalcSnapshot(nodeName: "kube-master", nodes: [
            F.node("kube-master", v4: "10.192.0.2/16"), F.node("kube-node-1", v4: "10.192.0.3/16"),
        ], bgpPeers: [
            F.peer("node-peer-1") { $0.node = "kube-master"; $0.peerIP = "10.192.0.3"; $0.asNumber = ASNumber(64517); $0.filters = ["test-filter-1"] },
            F.peer("node-peer-2") { $0.node = "kube-master"; $0.peerIP = "10.192.0.4"; $0.asNumber = ASNumber(64517); $0.filters = ["test-filter-2"] },
        ], bgpConfigurations: [F.config { $0.nodeToNodeMeshEnabled = false }],
        ipPools: [F.pool("192.168.0.0/16")],
        bgpFilters: [
            F.filter("test-filter-1") {
                $0.importV4 = [BGPFilterRule(cidr: "44.0.0.0/16", matchOperator: .in, action: .accept),
                               BGPFilterRule(cidr: "44.1.0.0/16", matchOperator: .in, action: .reject)]
                $0.exportV4 = [BGPFilterRule(cidr: "77.0.0.0/16", matchOperator: .in, action: .accept),
                               BGPFilterRule(cidr: "77.1.0.0/16", matchOperator: .in, action: .reject)]
            },
            F.filter("test-filter-2") {
                $0.importV4 = [BGPFilterRule(cidr: "44.2.0.0/16", matchOperator: .in, action: .accept),
                               BGPFilterRule(cidr: "44.3.0.0/16", matchOperator: .in, action: .reject)]
                $0.exportV4 = [BGPFilterRule(cidr: "77.2.0.0/16", matchOperator: .in, action: .accept),
                               BGPFilterRule(cidr: "77.3.0.0/16", matchOperator: .in, action: .reject)]
            },
        ])
    }

    /// Every explicit-peer option: ports, passwords, TTL security, keepalive, restart time,
    /// local AS, next hop modes, allow local as, reachableBy, source address None, NodeIP bind,
    /// listen port, service IPs, communities, ignored interfaces, debug logging, local blocks.
    static var explicitPeersAllOptions: CalcSnapshot {
        CalcSnapshot(nodeName: "node-a", nodes: [
            F.node("node-a", v4: "10.0.0.10/24", v6: "fd00::10/64", as: 65010),
            F.node("node-b", v4: "10.0.0.11/24", v6: "fd00::11/64"),
        ], bgpPeers: [
            F.peer("tor-v4") {
                $0.peerIP = "10.0.0.1"; $0.asNumber = ASNumber(65000); $0.password = F.secret("bgp-secrets", "tor")
                $0.keepaliveTime = CalicoDuration(seconds: 10); $0.maxRestartTime = CalicoDuration(seconds: 300)
                $0.nextHopMode = .self; $0.numAllowedLocalASNumbers = 2; $0.reachableBy = "10.0.0.254"
            },
            F.peer("tor-v6") {
                $0.peerIP = "[fd00::1]:1790"; $0.asNumber = ASNumber(65000); $0.ttlSecurity = 1; $0.nextHopMode = .keep
                $0.keepaliveTime = CalicoDuration(seconds: 300); $0.maxRestartTime = CalicoDuration(seconds: 7200)
            },
            F.peer("spine") {
                $0.node = "node-a"; $0.peerIP = "192.168.50.1"; $0.asNumber = ASNumber(65100)
                $0.localASNumber = ASNumber(65111); $0.sourceAddress = SourceAddress.none; $0.password = F.secret("missing", "k")
            },
        ], bgpConfigurations: [
            F.config {
                $0.logSeverityScreen = .debug; $0.listenPort = 1790; $0.bindMode = .nodeIP
                $0.ignoredInterfaces = ["docker*", "virbr0"]
                $0.serviceClusterIPs = [ServiceIPBlock(cidr: "10.96.0.0/12"), ServiceIPBlock(cidr: "fd00:96::/112")]
                $0.serviceLoadBalancerIPs = [ServiceIPBlock(cidr: "198.51.100.0/24")]
                $0.communities = [Community(name: "pods", value: "65000:100")]
                $0.prefixAdvertisements = [PrefixAdvertisement(cidr: "10.244.0.0/16", communities: ["pods", "65000:1:2"])]
            },
        ], ipPools: [
            F.pool("10.244.0.0/16"), F.pool("fd00:244::/48"), F.pool("10.250.0.0/16", disabled: true),
            F.pool("10.252.0.0/16", vxlan: .always),
        ], blockAffinities: [
            F.affinity("node-a", "10.244.7.0/26"), F.affinity("node-a", "fd00:244:0:7::/122"),
            F.affinity("node-a", "10.244.9.9/32"), F.affinity("node-a", "10.244.8.0/26", .pending),
        ])
    }

    /// Route reflector with clients on both families, and BGPFilters exercising every rule
    /// field, with a name long enough to be truncated.
    static var routeReflectorWithFilters: CalcSnapshot {
        let rr = ["route-reflector": "true"]
        let long = "a-very-long-bgp-filter-name-that-does-not-fit-in-birds-symbol-limit"
        var add = BGPFilterOperation(); add.addCommunity = "65000:300"
        var addLarge = BGPFilterOperation(); addLarge.addCommunity = "65000:1:2"
        var prepend = BGPFilterOperation(); prepend.prependASPath = [65001, 65002]
        var prio = BGPFilterOperation(); prio.setPriority = 512
        return CalcSnapshot(nodeName: "rr1", nodes: [
            F.node("rr1", v4: "10.1.0.1/24", v6: "fd01::1/64", rr: "1.0.0.1", labels: rr),
            F.node("c1", v4: "10.1.0.11/24", v6: "fd01::11/64"),
            F.node("c2", v4: "10.1.0.12/24"),
        ], bgpPeers: [
            F.peer("to-rr") { $0.nodeSelector = "all()"; $0.peerSelector = "route-reflector == 'true'"; $0.filters = [long, "ops"] },
            F.peer("upstream") { $0.peerIP = "172.16.0.1"; $0.asNumber = ASNumber(65200); $0.keepOriginalNextHop = true; $0.filters = ["ops"] },
        ], bgpConfigurations: [F.config { $0.nodeToNodeMeshEnabled = false }],
        ipPools: [F.pool("10.244.0.0/16", ipip: .always), F.pool("fd00:244::/48")],
        bgpFilters: [
            F.filter(long) {
                $0.exportV4 = [
                    BGPFilterRule(cidr: "10.244.0.0/16", matchOperator: .equal, action: .accept),
                    BGPFilterRule(cidr: "10.245.0.0/16", matchOperator: .notEqual, action: .reject),
                    BGPFilterRule(cidr: "10.246.0.0/16", matchOperator: .notIn, action: .reject),
                ]
                $0.importV6 = [BGPFilterRule(cidr: "fd00:244::/48", matchOperator: .in, action: .reject)]
            },
            F.filter("ops") {
                var r1 = BGPFilterRule(cidr: "10.244.0.0/16", matchOperator: .in, action: .accept)
                r1.prefixLength = BGPFilterPrefixLength(min: 24, max: 28); r1.operations = [add, addLarge, prepend]
                var r2 = BGPFilterRule(action: .reject); r2.peerType = .eBGP; r2.source = .remotePeers
                var r3 = BGPFilterRule(action: .accept); r3.interface = "eth*"; r3.communities = ["65000:100"]; r3.operations = [prio]
                var r4 = BGPFilterRule(action: .reject); r4.asPathPrefix = [65100]; r4.priority = 100
                var r5 = BGPFilterRule(cidr: "fd00:244::/48", matchOperator: .in, action: .accept)
                r5.prefixLength = BGPFilterPrefixLength(min: 64); r5.communities = ["65000:1:2"]
                $0.exportV4 = [r1, r2]; $0.importV4 = [r3, r4]; $0.exportV6 = [r5]
            },
        ])
    }

    /// IPv6-only node: no IPv4 address, so the router id is hashed from the node name.
    static var ipv6Only: CalcSnapshot {
        CalcSnapshot(nodeName: "v6-a", nodes: [
            F.node("v6-a", v6: "fd02::a/64"), F.node("v6-b", v6: "fd02::b/64"), F.node("v6-c", v6: "fd02::c/64"),
        ], bgpConfigurations: [F.config { $0.nodeMeshPassword = F.secret("mesh", "pw") }],
        ipPools: [F.pool("fd00:244::/48")], blockAffinities: [F.affinity("v6-a", "fd00:244:0:a::/122")])
    }

    static let all: [(String, CalcSnapshot)] = [
        ("mesh-ipip-cross-subnet", meshIPIPCrossSubnet),
        ("single-filter-explicit-peer", singleFilterExplicitPeer),
        ("explicit-peers-all-options", explicitPeersAllOptions),
        ("route-reflector-with-filters", routeReflectorWithFilters),
        ("ipv6-only", ipv6Only),
    ]

    static let passwords: [PasswordRef: String] = [
        PasswordRef(secretName: "bgp-secrets", key: "tor"): "s3cret-tor",
        PasswordRef(secretName: "mesh", key: "pw"): "mesh-pw",
    ]

    static func render(_ snapshot: CalcSnapshot) throws -> String {
        guard let input = BIRDConfigInput(snapshot, passwords: passwords) else { throw ScenarioError.noLocalNode }
        return try BIRDRenderer.render(input)
    }

    enum ScenarioError: Error { case noLocalNode }
}
