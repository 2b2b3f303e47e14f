import Calc
import NetCore
import NodeModel
import Testing

/// Scale: a 500-node full mesh plus 500 blocks, filters and global peers. Prints the times
/// (debug build) and checks generous bounds so a quadratic-per-peer regression shows up.
@Suite struct ScaleTests {
    static func bigCluster(nodes n: Int) -> CalcSnapshot {
        var nodes: [Node] = []
        for i in 0..<n {
            nodes.append(F.node("node-\(i)", v4: "10.\(i / 250).\(i % 250).1/16", v6: "fd00::\(String(i, radix: 16)):1/64",
                                labels: ["rack": "r\(i % 10)"]))
        }
        var peers: [BGPPeer] = (0..<10).map { r in
            F.peer("tor-\(r)") { $0.nodeSelector = "rack == 'r\(r)'"; $0.peerIP = "192.168.\(r).1"; $0.asNumber = ASNumber(65000); $0.filters = ["f"] }
        }
        peers.append(F.peer("upstream") { $0.peerIP = "172.16.0.1"; $0.asNumber = ASNumber(65100) })
        let blocks = (0..<500).map { F.affinity("node-0", "10.244.\($0 / 4).\(($0 % 4) * 64)/26") }
        return CalcSnapshot(nodeName: "node-0", nodes: nodes, bgpPeers: peers, ipPools: [F.pool("10.244.0.0/16")],
                            bgpFilters: [F.filter("f") { $0.exportV4 = [BGPFilterRule(cidr: "10.244.0.0/16", matchOperator: .in, action: .accept)] }],
                            blockAffinities: blocks)
    }

    @Test func fiveHundredNodeMesh() throws {
        let s = Self.bigCluster(nodes: 500)
        let clock = ContinuousClock()
        var set = PeerSet()
        let tPeers = clock.measure { set = PeerCalculator.peers(s) }
        #expect(set.count == 499 * 2 + 2)  // v4+v6 mesh, rack ToR, upstream
        var text = ""
        let tRender = try clock.measure { text = try BIRDRenderer.render(BIRDConfigInput(s)!) }
        #expect(text.contains("protocol bgp Mesh_10_1_249_1 ") && text.contains("protocol bgp Node_192_168_0_1 "))
        var moved = s
        moved.nodes[7].spec.bgp?.ipv4Address = "10.9.9.9/16"
        let tDiff = clock.measure { _ = PeerCalculator.peers(moved).changes(from: set) }
        #expect(PeerCalculator.peers(moved).changes(from: set).count == 2)  // one removed, one added
        print("calc scale: 500 nodes → \(set.count) peers in \(tPeers), BIRD config \(text.utf8.count) bytes in \(tRender), recompute+diff \(tDiff)")
        #expect(tPeers < .seconds(5) && tRender < .seconds(5) && tDiff < .seconds(5))
    }
}
