import Calc
import Dataplane
import NetCore
import NodeAgentCore
import NodeModel
import Testing
import TestSupport

/// The calculation driven through a sequence of datastore states, built step by step as an
/// operator and the cluster would produce them; each step's plan is checked, then the whole
/// sequence is replayed reordered, repeated, emptied and shuffled.
@Suite struct AgentSequenceTests {
    /// One step: the inputs and what its plan must look like.
    struct Step {
        var label: String
        var inputs: AgentInputs
        var check: (AgentPlan) -> Void
    }

    static func steps() -> [Step] {
        var steps: [Step] = []
        var s = AgentInputs(snapshot: CalcSnapshot(nodeName: "n1"), host: Cluster.host)
        func add(_ label: String, _ change: (inout AgentInputs) -> Void, check: @escaping (AgentPlan) -> Void) {
            change(&s)
            steps.append(Step(label: label, inputs: s, check: check))
        }

        add("own node registered", { $0.snapshot.nodes = [Cluster.n1] }) { p in
            #expect(p.peers.isEmpty)
            #expect(p.advertised.isEmpty)
            #expect(p.routing.node.name == "n1")
            #expect(p.routing.node.ipv4 == F.iface("10.99.0.11/24"))
            #expect(p.routing.node.ipv4IPIPTunnelAddress == nil, "no pool uses IPIP yet")
            #expect(p.routing.node.ipv4VXLANTunnelAddress == nil, "no pool uses VXLAN yet")
            #expect(p.routing.remoteBlocks.isEmpty && p.routing.localBlocks.isEmpty && p.warnings.isEmpty)
        }
        add("two more nodes", { $0.snapshot.nodes += [Cluster.n2, Cluster.n3] }) { p in
            #expect(p.peers.names == ["Mesh_10_99_0_12", "Mesh_10_99_0_13"])
            #expect(p.advertised.isEmpty)
        }
        add("no-encap pool", { $0.snapshot.ipPools = [F.pool("10.244.0.0/16")] }) { p in
            #expect(p.advertised.isEmpty, "no block affine yet")
            #expect(p.routing.node.ipv4IPIPTunnelAddress == nil && p.routing.node.ipv4VXLANTunnelAddress == nil)
        }
        add("block affinities", { $0.snapshot.blockAffinities = Cluster.affinities }) { p in
            #expect(p.advertisedText == ["10.244.1.0/26"])
            #expect(p.routing.localBlocks == [F.pfx("10.244.1.0/26")])
            #expect(p.routing.remoteBlocks.isEmpty, "nothing learned yet; no-encap routes come from BGP")
        }
        add("workloads", { $0.workloadEndpoints = Cluster.weps }) { p in
            #expect(p.routing.workloads.map(\.name) == ["web-0", "web-1"], "only n1's endpoints")
            #expect(p.routing.workloads.first?.mac == MACAddress("ee:ee:ee:ee:ee:01"))
            #expect(p.routing.workloads.first?.interface == "caliweb-0")
            #expect(p.advertisedText == ["10.244.1.0/26", "10.244.2.40/32"], "borrowed address as a host route")
        }
        add("routes learned", { $0.learnedRoutes = Cluster.learned }) { p in
            #expect(p.routing.remoteBlocks.map(\.cidr.description) == ["10.244.2.0/26", "10.244.3.0/26"])
            let b = p.remote["10.244.2.0/26"]
            #expect(b?.encapsulation == Encapsulation.none && b?.mode == .always)
            #expect(b?.nodes == [RemoteNode(name: "n2", address: F.iface("10.99.0.12/24"))])
        }
        add("pool switched to VXLAN", { $0.snapshot.ipPools = [F.pool("10.244.0.0/16", vxlan: .always)] }) { p in
            #expect(p.routing.node.ipv4VXLANTunnelAddress == F.ip("10.244.1.0"))
            #expect(p.routing.node.vxlanMAC == VTEPMAC.derived(fromNodeName: "n1"))
            #expect(p.routing.node.ipv4IPIPTunnelAddress == nil)
            let b2 = p.remote["10.244.2.0/26"], b3 = p.remote["10.244.3.0/26"]
            #expect(b2?.encapsulation == .vxlan && b3?.encapsulation == .vxlan)
            #expect(b2?.nodes == [RemoteNode(name: "n2", address: F.iface("10.99.0.12/24"), vtepMAC: MACAddress("66:00:00:00:00:02"),
                                             tunnelAddress: F.ip("10.244.2.0"))])
            #expect(b3?.nodes.first?.vtepMAC == VTEPMAC.derived(fromNodeName: "n3"))
            #expect(p.routing.remoteBlocks.count == 2, "learned routes in VXLAN pools are not used: \(p.routing.remoteBlocks)")
        }
        add("n3 loses its VXLAN tunnel address", {
            $0.snapshot.nodes = [Cluster.n1, Cluster.n2, F.node("n3", v4: "10.99.0.13/24")]
        }) { p in
            #expect(p.remote["10.244.3.0/26"] == nil)
            #expect(p.warnings == ["node n3 has no IPv4 VXLAN tunnel address yet; its VXLAN route 10.244.3.0/26 is not programmed"])
        }
        add("pool switched to IPIP CrossSubnet", {
            $0.snapshot.nodes = [Cluster.n1, Cluster.n2, Cluster.n3]
            $0.snapshot.ipPools = [F.pool("10.244.0.0/16", ipip: .crossSubnet)]
        }) { p in
            #expect(p.routing.node.ipv4IPIPTunnelAddress == F.ip("10.244.1.1"))
            #expect(p.routing.node.ipv4VXLANTunnelAddress == nil && p.routing.node.vxlanMAC == nil)
            #expect(p.routing.remoteBlocks.map(\.encapsulation) == [.ipip, .ipip])
            #expect(p.routing.remoteBlocks.map(\.mode) == [.crossSubnet, .crossSubnet])
        }
        add("a block held by two nodes, announced by both", {
            $0.learnedRoutes.append(F.learned("10.244.9.0/26", via: "10.99.0.13", "10.99.0.12"))
            $0.workloadEndpoints += [F.wep("api-0", node: "n1", ["10.244.1.6/32"]), F.wep("api-1", node: "n1", ["10.244.1.7/32"])]
        }) { p in
            #expect(p.remote["10.244.9.0/26"]?.nodes.map(\.name) == ["n2", "n3"])
            #expect(p.routing.workloads.map(\.name) == ["api-0", "api-1", "web-0", "web-1"])
        }
        add("n3's route withdrawn", { $0.learnedRoutes = [Cluster.learned[0]] }) { p in
            #expect(p.routing.remoteBlocks.map(\.cidr.description) == ["10.244.2.0/26"])
        }
        add("all learned routes gone", { $0.learnedRoutes = [] }) { p in
            #expect(p.routing.remoteBlocks.isEmpty)
            #expect(p.advertisedText == ["10.244.1.0/26", "10.244.2.40/32"], "what we originate does not depend on BGP")
        }
        return steps
    }

    @Test func eachStepGivesTheExpectedPlan() {
        for step in Self.steps() {
            let plan = AgentCalculator.plan(step.inputs)
            step.check(plan)
        }
    }

    /// Reordered, repeated, emptied and shuffled sequences ending in the same state give the
    /// same plan as the direct calculation on that state.
    @Test func historyFree() {
        let steps = Self.steps()
        var rng = SeededRandom(seed: 6)
        for (i, step) in steps.enumerated() {
            let direct = AgentCalculator.plan(step.inputs)
            for _ in 0..<8 {
                // A random walk over earlier states, an emptied state, then this one shuffled.
                var sequence = (0..<Int.random(in: 0...4, using: &rng)).map { _ in steps.randomElement(using: &rng)!.inputs }
                sequence.insert(step.inputs.emptied, at: Int.random(in: 0...sequence.count, using: &rng))
                sequence.append(step.inputs.shuffled(using: &rng))
                sequence.append(step.inputs.shuffled(using: &rng))  // repeated step
                let plans = sequence.map(AgentCalculator.plan)
                #expect(plans.last == direct, "step \(i) \(step.label)")
                #expect(plans[plans.count - 2] == direct, "step \(i) \(step.label), first of the repeat")
            }
        }
    }

    @Test func emptiedStateHasNothingRemote() {
        for step in Self.steps() {
            let p = AgentCalculator.plan(step.inputs.emptied)
            #expect(p.peers.isEmpty && p.advertised.isEmpty && p.routing.remoteBlocks.isEmpty)
            #expect(p.routing.localBlocks.isEmpty && p.routing.workloads.isEmpty && p.warnings.isEmpty)
            #expect(p.routing.node == LocalNode(name: "n1", ipv4: Cluster.host.ipv4, parentInterface: "eth0", parentMTU: 1500))
        }
    }
}
