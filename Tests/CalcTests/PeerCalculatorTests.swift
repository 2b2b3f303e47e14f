import Calc
import NetCore
import NodeModel
import Testing

/// A three-node dual-stack-ish cluster: a and b have v4+v6, c only v4.
private func cluster(me: String = "b", configs: [BGPConfiguration] = [], peers: [BGPPeer] = []) -> CalcSnapshot {
    CalcSnapshot(nodeName: me, nodes: [
        F.node("a", v4: "10.0.0.1/24", v6: "fd00::1/64"),
        F.node("b", v4: "10.0.0.2/24", v6: "fd00::2/64"),
        F.node("c", v4: "10.0.0.3/24"),
    ], bgpPeers: peers, bgpConfigurations: configs)
}

@Suite struct MeshTests {
    @Test func fullMeshByDefault() {
        let set = PeerCalculator.peers(cluster())
        #expect(set.names == ["Mesh_10_0_0_1", "Mesh_10_0_0_3", "Mesh_fd00__1"])
        let a = set["Mesh_10_0_0_1"]!
        #expect(a.type == .mesh && a.remoteAS == ASNumber(64512) && a.localAS == ASNumber(64512))
        #expect(a.sourceAddress == F.ip("10.0.0.2") && a.port == nil && a.isInternal)
        #expect(a.gracefulRestartTime == CalicoDuration(seconds: 120) && a.password == nil && !a.multihop)
        #expect(a.remoteNodeName == "a" && a.isCalicoNode)
        #expect(set["Mesh_fd00__1"]!.sourceAddress == F.ip("fd00::2"))
    }

    @Test func passiveTieBreakIsAStringCompare() {
        let set = PeerCalculator.peers(cluster())
        #expect(set["Mesh_10_0_0_1"]!.passive == false)   // "10.0.0.1" < "10.0.0.2": we connect
        #expect(set["Mesh_10_0_0_3"]!.passive == true)    // "10.0.0.3" > "10.0.0.2": it connects
        // Numerically greater but lexicographically smaller: confd's string compare.
        let s = CalcSnapshot(nodeName: "n9", nodes: [F.node("n9", v4: "10.0.0.9/24"), F.node("n10", v4: "10.0.0.10/24")])
        #expect(PeerCalculator.peers(s)["Mesh_10_0_0_10"]!.passive == false)
        let other = CalcSnapshot(nodeName: "n10", nodes: s.nodes)
        #expect(PeerCalculator.peers(other)["Mesh_10_0_0_9"]!.passive == true)
    }

    @Test func meshDisabled() {
        let set = PeerCalculator.peers(cluster(configs: [F.config { $0.nodeToNodeMeshEnabled = false }]))
        #expect(set.isEmpty)
    }

    @Test func meshSettingsFromGlobalAndPerNodeConfig() {
        let set = PeerCalculator.peers(cluster(configs: [
            F.config {
                $0.nodeMeshPassword = F.secret("bgp", "mesh")
                $0.nodeMeshMaxRestartTime = CalicoDuration(seconds: 300)
                $0.asNumber = ASNumber(65010)
            },
            F.config("node.a") { $0.listenPort = 1790 },
        ]))
        // confd names mesh peers without a port suffix; the port is in the neighbor line.
        #expect(set.names == ["Mesh_10_0_0_1", "Mesh_10_0_0_3", "Mesh_fd00__1"])
        let a = set["Mesh_10_0_0_1"]!
        #expect(a.port == 1790 && a.password == PasswordRef(secretName: "bgp", key: "mesh"))
        #expect(a.gracefulRestartTime == CalicoDuration(seconds: 300) && a.remoteAS == ASNumber(65010))
    }

    @Test func perNodeASNumbers() {
        var s = cluster()
        s.nodes[0] = F.node("a", v4: "10.0.0.1/24", as: 65001)
        let a = PeerCalculator.peers(s)["Mesh_10_0_0_1"]!
        #expect(a.remoteAS == ASNumber(65001) && a.localAS == ASNumber(64512) && !a.isInternal)
    }

    @Test func unknownNodeOrNoBGPSpecGivesNothing() {
        #expect(PeerCalculator.peers(cluster(me: "zz")).isEmpty)
        var s = cluster()
        s.nodes[1] = Node(metadata: ObjectMeta(name: "b"), spec: NodeSpec())
        #expect(PeerCalculator.peers(s).isEmpty)
    }
}

/// Route-reflector topology: rr1, rr2 (cluster 1.0.0.1), clients c1, c2. Calico's documented
/// setup: one BGPPeer `nodeSelector: all()`, `peerSelector: route-reflector == 'true'`.
private func rrCluster(me: String, mesh: Bool = false, reverse: ReversePeering? = nil) -> CalcSnapshot {
    let rrLabels = ["route-reflector": "true"]
    return CalcSnapshot(nodeName: me, nodes: [
        F.node("rr1", v4: "10.0.1.1/24", rr: "1.0.0.1", labels: rrLabels),
        F.node("rr2", v4: "10.0.1.2/24", rr: "1.0.0.1", labels: rrLabels),
        F.node("c1", v4: "10.0.1.11/24"),
        F.node("c2", v4: "10.0.1.12/24"),
    ], bgpPeers: [F.peer("peer-with-rrs") {
        $0.nodeSelector = "all()"; $0.peerSelector = "route-reflector == 'true'"; $0.reversePeering = reverse
    }], bgpConfigurations: [F.config { $0.nodeToNodeMeshEnabled = mesh }])
}

@Suite struct RouteReflectorTests {
    @Test func routeReflectorPeersClientsAndOtherReflectors() {
        let set = PeerCalculator.peers(rrCluster(me: "rr1"))
        #expect(set.names == ["Node_10_0_1_11", "Node_10_0_1_12", "Node_10_0_1_2"])
        #expect(set["Node_10_0_1_2"]!.routeReflectorClusterID == nil)  // same cluster: not a client
        #expect(set["Node_10_0_1_11"]!.routeReflectorClusterID == "1.0.0.1")
        #expect(set["Node_10_0_1_12"]!.isRouteReflectorClient)
        // "10.0.1.11" > "10.0.1.1" (a string prefix sorts first): the client connects to us.
        #expect(set["Node_10_0_1_11"]!.passive == true)
    }

    @Test func clientPeersWithReflectorsOnly() {
        let set = PeerCalculator.peers(rrCluster(me: "c1"))
        #expect(set.names == ["Node_10_0_1_1", "Node_10_0_1_2"])
        #expect(set.peers.allSatisfy { !$0.isRouteReflectorClient && $0.isCalicoNode && $0.multihop })
        // The mirror image of the reflector's side: "10.0.1.1" < "10.0.1.11", so we connect.
        #expect(set["Node_10_0_1_1"]!.passive == false)
        #expect(set["Node_10_0_1_2"]!.passive == true)  // "10.0.1.2" > "10.0.1.11" as strings
    }

    @Test func meshSkipsReflectorsAndReflectorsSkipMesh() {
        let client = PeerCalculator.peers(rrCluster(me: "c1", mesh: true))
        #expect(client.names == ["Mesh_10_0_1_12", "Node_10_0_1_1", "Node_10_0_1_2"])
        let rr = PeerCalculator.peers(rrCluster(me: "rr1", mesh: true))
        #expect(rr.names == ["Node_10_0_1_11", "Node_10_0_1_12", "Node_10_0_1_2"])
    }

    @Test func manualReversePeeringLeavesReflectorWithoutClients() {
        let set = PeerCalculator.peers(rrCluster(me: "rr1", reverse: .manual))
        #expect(set.names == ["Node_10_0_1_2"])
    }

    @Test func differentClusterIDIsAClient() {
        var s = rrCluster(me: "rr1")
        s.nodes[1] = F.node("rr2", v4: "10.0.1.2/24", rr: "1.0.0.2", labels: ["route-reflector": "true"])
        #expect(PeerCalculator.peers(s)["Node_10_0_1_2"]!.routeReflectorClusterID == "1.0.0.1")
    }
}

@Suite struct ExplicitPeerTests {
    @Test func globalPeerToExternalRouter() {
        let set = PeerCalculator.peers(cluster(configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: [
            F.peer("tor") { $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(65001) },
            F.peer("tor-port") { $0.peerIP = "192.168.1.2:1790"; $0.asNumber = ASNumber(65001) },
        ]))
        #expect(set.names == ["Global_192_168_1_1", "Global_192_168_1_2_port_1790"])
        let tor = set["Global_192_168_1_1"]!
        #expect(tor.type == .global && tor.remoteAS == ASNumber(65001) && tor.localAS == ASNumber(64512))
        #expect(!tor.passive && !tor.isCalicoNode && tor.multihop && tor.sourceAddress == F.ip("10.0.0.2"))
        #expect(set["Global_192_168_1_2_port_1790"]!.port == 1790)
    }

    @Test func nodeSpecificByNameAndSelector() {
        var s = cluster(configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: [
            F.peer("for-b") { $0.node = "b"; $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(65001) },
            F.peer("for-a") { $0.node = "a"; $0.peerIP = "192.168.1.2"; $0.asNumber = ASNumber(65001) },
            F.peer("rack1") { $0.nodeSelector = "rack == 'r1'"; $0.peerIP = "192.168.1.3"; $0.asNumber = ASNumber(65002) },
        ])
        #expect(PeerCalculator.peers(s).names == ["Node_192_168_1_1"])
        s.nodes[1].metadata.labels = ["rack": "r1"]
        let set = PeerCalculator.peers(s)
        #expect(set.names == ["Node_192_168_1_1", "Node_192_168_1_3"])
        #expect(set["Node_192_168_1_3"]!.type == .nodeSpecific)
    }

    @Test func nodeSpecificSkippedWhenGlobalPeeringExists() {
        let set = PeerCalculator.peers(cluster(configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: [
            F.peer("g") { $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(65001) },
            F.peer("n") { $0.node = "b"; $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(65009) },
            F.peer("n-port") { $0.node = "b"; $0.peerIP = "192.168.1.1:1790"; $0.asNumber = ASNumber(65009) },
        ]))
        #expect(set.names == ["Global_192_168_1_1", "Node_192_168_1_1_port_1790"])
        #expect(set["Global_192_168_1_1"]!.remoteAS == ASNumber(65001))
    }

    @Test func peerIPOfACalicoNodeIsTreatedAsThatNode() {
        let set = PeerCalculator.peers(cluster(configs: [
            F.config { $0.nodeToNodeMeshEnabled = false }, F.config("node.c") { $0.listenPort = 1791 },
        ], peers: [F.peer("to-c") { $0.peerIP = "10.0.0.3" }, F.peer("to-self") { $0.peerIP = "10.0.0.2" }]))
        // to-self: every node peers with me, so I peer back with every node (node-specific),
        // except where a global peering to the same IP:port exists already.
        #expect(set.names == ["Global_10_0_0_3_port_1791", "Node_10_0_0_1"])
        let c = set["Global_10_0_0_3_port_1791"]!
        #expect(c.isCalicoNode && c.passive && c.remoteNodeName == "c" && c.remoteAS == ASNumber(64512))
        let a = set["Node_10_0_0_1"]!
        #expect(a.isCalicoNode && !a.passive && a.remoteNodeName == "a" && a.type == .nodeSpecific)
    }

    @Test func reversePeeringOfAPeerIPUsesTheOtherNodesAS() {
        var s = cluster(me: "c", configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: [
            F.peer("a-to-c") { $0.node = "a"; $0.peerIP = "10.0.0.3"; $0.asNumber = ASNumber(65003); $0.password = F.secret("s", "k") },
        ])
        s.nodes[0] = F.node("a", v4: "10.0.0.1/24", as: 65001)
        s.nodes[2] = F.node("c", v4: "10.0.0.3/24", as: 65003)
        let set = PeerCalculator.peers(s)
        #expect(set.names == ["Node_10_0_0_1"])
        let a = set.peers[0]
        #expect(a.remoteAS == ASNumber(65001) && a.localAS == ASNumber(65003) && a.password == PasswordRef(secretName: "s", key: "k"))
        // A peerIP with a different AS is not that node: no reverse peering.
        s.bgpPeers[0].spec.asNumber = ASNumber(65099)
        #expect(PeerCalculator.peers(s).isEmpty)
        // Nor with reversePeering: Manual.
        s.bgpPeers[0].spec.asNumber = ASNumber(65003); s.bgpPeers[0].spec.reversePeering = .manual
        #expect(PeerCalculator.peers(s).isEmpty)
    }

    @Test func manualReversePeeringIsNeverPassive() {
        let s = cluster(me: "a", configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: [
            F.peer("a-to-c") { $0.node = "a"; $0.peerIP = "10.0.0.3"; $0.reversePeering = .manual },
        ])
        let c = PeerCalculator.peers(s)["Node_10_0_0_3"]!
        #expect(c.isCalicoNode && !c.passive)  // "10.0.0.3" > "10.0.0.1", but c has no peering back
    }

    @Test func peerSelectorExpandsPerFamily() {
        let set = PeerCalculator.peers(cluster(configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: [
            F.peer("all-to-all") { $0.peerSelector = "all()" },
        ]))
        // Global with peerSelector: every node peers with every other on each common family.
        #expect(set.names == ["Global_10_0_0_1", "Global_10_0_0_3", "Global_fd00__1"])
    }

    @Test func sessionOptions() {
        let set = PeerCalculator.peers(cluster(configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: [
            F.peer("opts") {
                $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(65001); $0.localASNumber = ASNumber(65100)
                $0.password = F.secret("s", "k"); $0.keepaliveTime = CalicoDuration(seconds: 10)
                $0.maxRestartTime = CalicoDuration(seconds: 30); $0.ttlSecurity = 2; $0.sourceAddress = SourceAddress.none
                $0.numAllowedLocalASNumbers = 3; $0.reachableBy = "10.0.0.254"; $0.filters = ["f1", "f2"]
            },
        ]))
        let p = set["Global_192_168_1_1"]!
        #expect(p.localAS == ASNumber(65100) && p.password == PasswordRef(secretName: "s", key: "k"))
        #expect(p.keepaliveTime == CalicoDuration(seconds: 10) && p.gracefulRestartTime == CalicoDuration(seconds: 30))
        #expect(p.ttlSecurityHops == 2 && p.sourceAddress == nil && p.allowLocalAS == 3)
        #expect(p.reachableBy == F.ip("10.0.0.254") && p.filters == ["f1", "f2"])
    }

    @Test(arguments: [
        // (peer AS, nextHopMode, keepOriginalNextHop, expected)
        (UInt32(65001), NextHopMode?.none, true, NextHopBehaviour.keep),   // legacy keep: eBGP only
        (64512, nil, true, .auto),                                          // ... ignored for iBGP
        (64512, .self, false, .self),
        (65001, .keep, false, .keep),
        (65001, .auto, true, .auto),
        (65001, nil, false, .auto),
    ])
    func nextHopModes(asn: UInt32, mode: NextHopMode?, legacyKeep: Bool, expected: NextHopBehaviour) {
        let set = PeerCalculator.peers(cluster(configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: [
            F.peer("p") { $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(asn); $0.nextHopMode = mode; $0.keepOriginalNextHop = legacyKeep },
        ]))
        #expect(set.peers.first?.nextHop == expected)
    }

    @Test func ipv6PeersNeedALocalIPv6Address() {
        let peers = [F.peer("v6") { $0.peerIP = "[fd00::99]:1790"; $0.asNumber = ASNumber(65001) }]
        let b = PeerCalculator.peers(cluster(configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: peers))
        #expect(b.names == ["Global_fd00__99_port_1790"])
        #expect(b.peers[0].sourceAddress == F.ip("fd00::2") && b.peers[0].family == .v6)
        let c = PeerCalculator.peers(cluster(me: "c", configs: [F.config { $0.nodeToNodeMeshEnabled = false }], peers: peers))
        #expect(c.isEmpty)
    }
}

@Suite struct HistoryIndependenceTests {
    /// A churny sequence: mesh on, then peers added, RR introduced, config flipped, nodes removed.
    static var steps: [CalcSnapshot] {
        var s1 = cluster()
        var s2 = cluster(configs: [F.config("node.a") { $0.listenPort = 1790 }],
                         peers: [F.peer("tor") { $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(65001) }])
        var s3 = rrCluster(me: "c1", mesh: true)
        s3.bgpPeers.append(F.peer("tor") { $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(65001); $0.keepaliveTime = CalicoDuration(seconds: 5) })
        var s4 = rrCluster(me: "c1")
        s4.nodes.removeLast()
        s4.bgpPeers.append(F.peer("tor") { $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(65001); $0.filters = ["x"] })
        s1.nodeName = "c1"; s2.nodeName = "c1"
        s1.nodes.append(F.node("c1", v4: "10.0.1.11/24")); s2.nodes.append(F.node("c1", v4: "10.0.1.11/24"))
        return [s1, s2, s3, s4]
    }

    @Test(arguments: 1...4)
    func resultDependsOnlyOnTheLastState(prefix: Int) {
        let steps = Array(Self.steps.prefix(prefix))
        let expected = PeerCalculator.peers(steps.last!)
        #expect(!expected.isEmpty)
        let finals = StateSequences.finalPeerSets(steps, seed: UInt64(prefix))
        #expect(finals.count > 10)
        for f in finals { #expect(f == expected) }
    }
}

/// The input of confd's explicit_peering/selectors test (projectcalico/calico
/// confd/tests/mock_data/calicoctl/explicit_peering/selectors/input.yaml): mesh off, kube-node-1
/// listens on 500, BGPPeer nodeSelector group=='one' → peerSelector group=='two'.
@Suite struct ConfdSelectorsFixtureTests {
    static func snapshot(me: String) -> CalcSnapshot {
        CalcSnapshot(nodeName: me, nodes: [
            F.node("kube-master", v4: "10.192.0.2/16", v6: "fd5f::2/96", labels: ["group": "one"]),
            F.node("kube-node-1", v4: "10.192.0.3/16", v6: "fd5f::3/96", labels: ["group": "two"]),
            F.node("kube-node-2", v4: "10.192.0.4/16", v6: "fd5f::4/96", labels: ["group": "two"]),
        ], bgpPeers: [F.peer("bgppeer-1") { $0.nodeSelector = "group=='one'"; $0.peerSelector = "group=='two'" }],
        bgpConfigurations: [
            F.config { $0.nodeToNodeMeshEnabled = false; $0.programClusterRoutes = .enabled },
            F.config("node.kube-node-1") { $0.listenPort = 500 },
        ], ipPools: [F.pool("192.168.0.0/16", ipip: .always)])
    }

    /// confd/tests/compiled_templates/explicit_peering/selectors/bird.cfg (kube-master):
    /// `protocol bgp Node_10_192_0_3_port_500` (`neighbor 10.192.0.3 port 500 as 64512`) and
    /// `Node_10_192_0_4`, source address 10.192.0.2; bird6.cfg the same on fd5f::.
    @Test func kubeMasterPeersWithGroupTwo() {
        let set = PeerCalculator.peers(Self.snapshot(me: "kube-master"))
        #expect(set.names == ["Node_10_192_0_3_port_500", "Node_10_192_0_4", "Node_fd5f__3_port_500", "Node_fd5f__4"])
        let p = set["Node_10_192_0_3_port_500"]!
        #expect(p.port == 500 && p.remoteAS == ASNumber(64512) && p.sourceAddress == F.ip("10.192.0.2"))
    }

    /// The reverse pass: each group-two node peers back with kube-master (listen port 179).
    @Test func groupTwoPeersBack() {
        let set = PeerCalculator.peers(Self.snapshot(me: "kube-node-1"))
        #expect(set.names == ["Node_10_192_0_2", "Node_fd5f__2"])
        // Both ends have the peering, so the tie-break applies: "10.192.0.2" < "10.192.0.3".
        #expect(!set["Node_10_192_0_2"]!.passive)
        #expect(PeerCalculator.peers(Self.snapshot(me: "kube-master"))["Node_10_192_0_3_port_500"]!.passive)
    }
}
