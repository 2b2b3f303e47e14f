import Calc
import NetCore
import NodeModel
import Testing

@Suite struct PeerChangeTests {
    private func set(_ configure: (inout BGPPeerSpec) -> Void = { _ in }, extra: [BGPPeer] = []) -> PeerSet {
        PeerCalculator.peers(CalcSnapshot(nodeName: "a", nodes: [
            F.node("a", v4: "10.0.0.1/24"), F.node("b", v4: "10.0.0.2/24"),
        ], bgpPeers: [F.peer("tor") { $0.peerIP = "192.168.1.1"; $0.asNumber = ASNumber(65001); configure(&$0) }] + extra))
    }

    @Test func identicalSetsHaveNoChanges() {
        #expect(set().changes(from: set()).isEmpty)
    }

    @Test func addAndRemove() {
        let old = set()
        let new = set(extra: [F.peer("tor2") { $0.peerIP = "192.168.1.2"; $0.asNumber = ASNumber(65001) }])
        #expect(new.changes(from: old).map(\.description) == ["+ Global_192_168_1_2"])
        #expect(old.changes(from: new).map(\.description) == ["- Global_192_168_1_2"])
        #expect(new.changes(from: PeerSet()).count == 3)
    }

    @Test(arguments: [
        ("keepaliveTime", true), ("password", true), ("asNumber", true), ("ttlSecurity", true),
        ("maxRestartTime", true), ("sourceAddress", true), ("filters", false), ("nextHopMode", false), ("reachableBy", false),
    ])
    func resetOrInPlace(field: String, reset: Bool) {
        let new = set { s in
            switch field {
            case "keepaliveTime": s.keepaliveTime = CalicoDuration(seconds: 7)
            case "password": s.password = F.secret("s", "k")
            case "asNumber": s.asNumber = ASNumber(65002)
            case "ttlSecurity": s.ttlSecurity = 1
            case "maxRestartTime": s.maxRestartTime = CalicoDuration(seconds: 60)
            case "sourceAddress": s.sourceAddress = SourceAddress.none
            case "filters": s.filters = ["f"]
            case "nextHopMode": s.nextHopMode = .self
            case "reachableBy": s.reachableBy = "10.0.0.254"
            default: Issue.record("unknown field \(field)")
            }
        }
        let changes = new.changes(from: set())
        #expect(changes.count == 1)
        switch changes.first {
        case .changedNeedsReset(_, let p, let fields)?:
            #expect(reset, "\(field) should not need a reset: \(fields)")
            #expect(p.name == "Global_192_168_1_1")
        case .changedInPlace(_, _, let fields)?:
            #expect(!reset, "\(field) should need a reset: \(fields)")
            #expect(!fields.isEmpty)
        default: Issue.record("unexpected \(changes)")
        }
    }

    @Test func meshPeerUntouchedByUnrelatedChange() {
        let changes = set { $0.keepaliveTime = CalicoDuration(seconds: 7) }.changes(from: set())
        #expect(!changes.contains { $0.name.hasPrefix("Mesh_") })
    }
}
