import Dataplane
import NetCore
import NodeAgentCore
import NodeModel
import Testing

@Suite struct ReadinessTests {
    static func peers(_ states: [String: String]) -> [PeerReadiness] {
        states.map { PeerReadiness(name: $0.key, state: $0.value) }
    }

    @Test func startUpNeedsEveryPeerThenOneIsEnough() {
        var r = Readiness()
        #expect(!r.isReady && r.phase == .startingUp)

        r.update(peers: Self.peers(["Mesh_10_99_0_13": "Connect", "Mesh_10_99_0_12": "Active"]))
        #expect(!r.isReady)
        #expect(r.reason == "waiting for BGP sessions: Mesh_10_99_0_12 (Active), Mesh_10_99_0_13 (Connect)")

        r.update(peers: Self.peers(["Mesh_10_99_0_12": "Established", "Mesh_10_99_0_13": "OpenSent"]))
        #expect(!r.isReady && r.phase == .startingUp, "one of two is not enough during start-up")
        #expect(r.reason == "waiting for BGP sessions: Mesh_10_99_0_13 (OpenSent)")

        r.update(peers: Self.peers(["Mesh_10_99_0_12": "Established", "Mesh_10_99_0_13": "Established"]))
        #expect(r.isReady && r.reason == nil && r.phase == .running)

        r.update(peers: Self.peers(["Mesh_10_99_0_12": "Active", "Mesh_10_99_0_13": "Established"]))
        #expect(r.isReady, "after start-up one Established session keeps the node ready")

        r.update(peers: Self.peers(["Mesh_10_99_0_12": "Active", "Mesh_10_99_0_13": "Idle"]))
        #expect(!r.isReady && r.phase == .running)
        #expect(r.reason == "no BGP session established: Mesh_10_99_0_12 (Active), Mesh_10_99_0_13 (Idle)")

        r.update(peers: [])
        #expect(r.isReady && r.reason == nil, "no peers configured: nothing to wait for")
    }

    @Test func noPeersIsReadyAtOnce() {
        var r = Readiness()
        r.update(peers: [])
        #expect(r.isReady && r.reason == nil && r.phase == .startingUp)
        // A peer added later during start-up must come up before the node is ready again.
        r.update(peers: Self.peers(["Global_192_0_2_1": "Connect"]))
        #expect(!r.isReady)
    }

    @Test func startUpPeriodEndingRelaxesTheRule() {
        var r = Readiness()
        let two = Self.peers(["Mesh_10_99_0_12": "Established", "Mesh_10_99_0_13": "Active"])
        r.update(peers: two)
        #expect(!r.isReady)
        r.update(peers: two, startupComplete: true)
        #expect(r.isReady && r.phase == .running)
        r.update(peers: two)
        #expect(r.isReady, "the phase never goes back to start-up")
    }

    @Test func tupleForm() {
        var r = Readiness()
        r.update(peers: [(name: "Mesh_10_99_0_12", established: false)])
        #expect(r.reason == "waiting for BGP sessions: Mesh_10_99_0_12 (not Established)")
        r.update(peers: [(name: "Mesh_10_99_0_12", established: true)])
        #expect(r.isReady)
    }
}

@Suite struct NodeRegistrationTests {
    @Test func newNode() {
        let n = NodeRegistration.node(existing: nil, name: "n1", ipv4: InterfaceAddress("10.99.0.11/24"),
                                      ipv6: InterfaceAddress("fd00::11/64"), asNumber: ASNumber(64512), labels: ["rack": "a"])
        #expect(n.metadata.name == "n1" && n.metadata.labels == ["rack": "a"])
        #expect(n.spec.bgp?.ipv4Address == "10.99.0.11/24" && n.spec.bgp?.ipv6Address == "fd00::11/64")
        #expect(n.spec.bgp?.asNumber == ASNumber(64512))
    }

    @Test func existingFieldsAreKept() {
        var old = F.node("n1", v4: "10.99.0.5/24", ipip: "10.244.1.1", vxlan: "10.244.1.0", vxlanMAC: "66:00:00:00:00:01")
        old.metadata.labels = ["rack": "a", "zone": "z1"]
        old.metadata.annotations = ["note": "x"]
        old.metadata.resourceVersion = "42"
        old.spec.bgp?.asNumber = ASNumber(65001)
        old.spec.bgp?.routeReflectorClusterID = "224.0.0.1"
        old.spec.orchRefs = [NodeOrchRef(nodeName: "n1", orchestrator: "k8s")]
        let n = NodeRegistration.node(existing: old, name: "n1", ipv4: InterfaceAddress("10.99.0.11/24"), ipv6: nil,
                                      asNumber: nil, labels: ["rack": "b"])
        #expect(n.metadata.labels == ["rack": "b", "zone": "z1"])
        #expect(n.metadata.annotations == ["note": "x"] && n.metadata.resourceVersion == "42")
        #expect(n.spec.bgp?.ipv4Address == "10.99.0.11/24" && n.spec.bgp?.ipv6Address == "")
        #expect(n.spec.bgp?.asNumber == ASNumber(65001), "nil keeps the existing AS")
        #expect(n.spec.bgp?.routeReflectorClusterID == "224.0.0.1" && n.spec.bgp?.ipv4IPIPTunnelAddr == "10.244.1.1")
        #expect(n.spec.ipv4VXLANTunnelAddr == "10.244.1.0" && n.spec.orchRefs == old.spec.orchRefs)
        // Registering again with the same facts changes nothing.
        #expect(NodeRegistration.node(existing: n, name: "n1", ipv4: InterfaceAddress("10.99.0.11/24"), ipv6: nil,
                                      asNumber: nil, labels: ["rack": "b"]) == n)
    }

    @Test func tunnelFields() {
        let base = F.node("n1", v4: "10.99.0.11/24")
        let mac = MACAddress("66:0a:0b:0c:0d:0e")!
        let t = NodeRegistration.withTunnel(base, ipip: IPAddress("10.244.1.1"), vxlanV4: IPAddress("10.244.1.0"), vxlanMAC: mac)
        #expect(t.spec.bgp?.ipv4IPIPTunnelAddr == "10.244.1.1" && t.spec.ipv4VXLANTunnelAddr == "10.244.1.0")
        #expect(t.spec.vxlanTunnelMACAddr == "66:0a:0b:0c:0d:0e" && t.spec.bgp?.ipv4Address == "10.99.0.11/24")
        let cleared = NodeRegistration.withTunnel(t, ipip: nil, vxlanV4: nil, vxlanMAC: nil)
        #expect(cleared == base)
    }
}
