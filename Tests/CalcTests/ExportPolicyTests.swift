import Calc
import NetCore
import NodeModel
import Testing

/// Node b owns 10.244.1.0/26 (confirmed), 10.244.1.64/26 (pending), a /32 block; pools: an
/// exported no-encap pool, a disabled pool, a disableBGPExport pool, a VXLAN pool, an IPIP pool.
private let snapshot = CalcSnapshot(
    nodeName: "b",
    nodes: [F.node("b", v4: "10.0.0.2/24")],
    bgpConfigurations: [F.config {
        $0.serviceClusterIPs = [ServiceIPBlock(cidr: "10.96.0.0/12")]
        $0.serviceExternalIPs = [ServiceIPBlock(cidr: "192.0.2.0/24")]
        $0.serviceLoadBalancerIPs = [ServiceIPBlock(cidr: "198.51.100.0/24")]
        $0.communities = [Community(name: "pods", value: "65000:100")]
        $0.prefixAdvertisements = [PrefixAdvertisement(cidr: "10.244.0.0/16", communities: ["pods", "65000:1:2"])]
    }],
    ipPools: [
        F.pool("10.244.0.0/16"), F.pool("10.250.0.0/16", disabled: true), F.pool("10.251.0.0/16", noExport: true),
        F.pool("10.252.0.0/16", vxlan: .always), F.pool("10.253.0.0/16", ipip: .always),
    ],
    blockAffinities: [
        F.affinity("b", "10.244.1.0/26"), F.affinity("b", "10.244.1.64/26", .pending),
        F.affinity("b", "10.244.9.9/32"), F.affinity("a", "10.244.2.0/26"), F.affinity("b", "10.251.0.0/26"),
    ])

@Suite struct ExportPolicyTests {
    let policy = ExportPolicy(snapshot)

    @Test func localBlocksAreConfirmedAffinitiesOfThisNode() {
        #expect(policy.localBlocks == [F.pfx("10.244.1.0/26"), F.pfx("10.244.9.9/32"), F.pfx("10.251.0.0/26")])
    }

    @Test func advertisedPrefixes() {
        #expect(policy.advertisedPrefixes == [
            F.pfx("10.96.0.0/12"), F.pfx("10.244.1.0/26"), F.pfx("10.244.9.9/32"),
            F.pfx("192.0.2.0/24"), F.pfx("198.51.100.0/24"),
        ])
    }

    @Test func staticRoutesAreBlackholesForBlocksAndServices() {
        #expect(policy.staticRoutes.map(\.description) == [
            "route 10.96.0.0/12 blackhole", "route 10.244.1.0/26 blackhole", "route 10.251.0.0/26 blackhole",
            "route 192.0.2.0/24 blackhole", "route 198.51.100.0/24 blackhole",
        ])
    }

    @Test func reachableByAddsAStaticRoute() {
        var s = snapshot
        s.bgpPeers = [F.peer("tor") { $0.peerIP = "192.168.9.1"; $0.asNumber = ASNumber(65001); $0.reachableBy = "10.0.0.254" }]
        let p = ExportPolicy(s, peers: PeerCalculator.peers(s))
        #expect(p.staticRoutes.contains(StaticRoute(F.pfx("192.168.9.1/32"), .via(F.ip("10.0.0.254")))))
    }

    @Test(arguments: [
        // (prefix, source, interface, priority, iBGP, expected)
        ("10.244.1.0/26", RouteSource.static, nil as String?, nil as Int?, true, true),     // own block
        ("10.244.1.5/32", .kernel, "cali123", nil, true, false),                             // /32 inside own block
        ("10.244.1.5/32", .kernel, "cali123", 512, true, true),                              // raised priority (migration)
        ("10.244.3.7/32", .kernel, "cali123", nil, true, true),                              // borrowed /32
        ("10.244.2.0/26", .bgp, nil, nil, false, true),                                      // remote block to eBGP
        ("10.244.2.0/26", .kernel, "vxlan.calico", nil, true, false),                        // tunnel route to iBGP
        ("10.244.2.0/26", .kernel, "vxlan.calico", nil, false, true),                        // ... to eBGP
        ("10.244.2.0/26", .kernel, "tunl0", nil, true, false),                               // IPIP owned by Felix
        ("10.244.2.0/26", .kernel, "wireguard.cali", nil, true, false),
        ("10.244.7.1/32", .kernel, "bpf0.cali", nil, false, false),                          // BPF-local
        ("10.250.0.0/26", .static, nil, nil, false, false),                                  // disabled pool
        ("10.251.0.0/26", .static, nil, nil, false, false),                                  // disableBGPExport
        ("10.96.0.0/12", .static, nil, nil, false, true),                                    // cluster IPs
        ("10.96.0.10/32", .kernel, nil, nil, false, true),                                   // inside service CIDR
        ("172.16.0.0/24", .direct, "eth0", nil, false, false),                               // not Calico's
    ])
    func exportAllowed(prefix: String, source: RouteSource, ifname: String?, priority: Int?, ibgp: Bool, expected: Bool) {
        let route = RouteDescription(F.pfx(prefix), source: source, interface: ifname, priority: priority)
        #expect(policy.exportAllowed(route, internalPeer: ibgp) == expected, "\(route) iBGP=\(ibgp)")
    }

    @Test func kernelProgramming() {
        #expect(policy.kernelProgrammingAllowed(RouteDescription(F.pfx("10.244.2.0/26"), source: .bgp)))   // no-encap: BIRD
        #expect(!policy.kernelProgrammingAllowed(RouteDescription(F.pfx("10.252.2.0/26"), source: .bgp)))  // VXLAN: Felix
        #expect(!policy.kernelProgrammingAllowed(RouteDescription(F.pfx("10.253.2.0/26"), source: .bgp)))  // IPIP: Felix
        #expect(policy.kernelProgrammingAllowed(RouteDescription(F.pfx("203.0.113.0/24"), source: .bgp)))  // not a pool
        #expect(!policy.kernelProgrammingAllowed(RouteDescription(F.pfx("10.0.0.0/24"), source: .direct))) // connected
        var s = snapshot
        s.bgpConfigurations.append(F.config("node.b") { $0.programClusterRoutes = .disabled })
        #expect(!ExportPolicy(s).kernelProgrammingAllowed(RouteDescription(F.pfx("10.244.2.0/26"), source: .bgp)))
    }

    @Test func communitiesFromPrefixAdvertisements() {
        #expect(policy.communities(for: F.pfx("10.244.1.0/26")) == ["65000:100", "65000:1:2"])
        #expect(policy.communities(for: F.pfx("10.96.0.0/12")).isEmpty)
    }

    @Test func exportThroughPeerFilters() {
        let peer = Peer(name: "Global_192_168_1_1", type: .global, address: F.ip("192.168.1.1"),
                        remoteAS: ASNumber(65001), localAS: ASNumber(64512), filters: ["no-blocks"])
        let filters = ["no-blocks": F.filter("no-blocks") {
            $0.exportV4 = [BGPFilterRule(cidr: "10.244.0.0/16", matchOperator: .in, action: .reject)]
        }.spec]
        #expect(!policy.exportAllowed(RouteDescription(F.pfx("10.244.1.0/26"), source: .static), to: peer, filters: filters))
        #expect(policy.exportAllowed(RouteDescription(F.pfx("10.96.0.0/12"), source: .static), to: peer, filters: filters))
        // A filter cannot make Calico export something it would not (no match falls through).
        #expect(!policy.exportAllowed(RouteDescription(F.pfx("172.16.0.0/24"), source: .direct), to: peer, filters: filters))
    }
}
