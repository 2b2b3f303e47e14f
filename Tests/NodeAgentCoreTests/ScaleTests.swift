import Calc
import Dataplane
import NetCore
import NodeAgentCore
import NodeModel
import Testing

/// One plan for a large cluster stays well inside the agent's reaction budget (the issue's
/// target is routes everywhere within 1 s of a change).
@Suite struct ScaleTests {
    /// `nodes` nodes on 10.96.0.0/12-style addresses, one /26 per node, `podsPerNode` pods each
    /// (every tenth one borrowed from the next node's block), all learned over BGP too.
    static func cluster(nodes count: Int, podsPerNode: Int, vxlan: Bool) -> AgentInputs {
        var nodes: [Node] = [], affinities: [BlockAffinity] = [], weps: [WorkloadEndpoint] = [], learned: [LearnedRoute] = []
        func block(_ i: Int) -> String { "10.\(128 + i / 1024).\((i % 1024) / 4).\((i % 4) * 64)" }
        func addr(_ i: Int) -> String { "172.\(16 + i / 65536).\((i / 256) % 256).\(i % 256)" }
        for i in 0..<count {
            let b = block(i)
            nodes.append(F.node("node-\(i)", v4: addr(i) + "/12", vxlan: b))
            affinities.append(F.affinity("node-\(i)", b + "/26"))
            learned.append(F.learned(b + "/26", via: addr(i)))
            for p in 0..<podsPerNode {
                let borrowed = p % 10 == 9
                let owner = borrowed ? block((i + 1) % count) : b
                let o = owner.split(separator: ".").map { Int($0)! }
                let ip = "\(o[0]).\(o[1]).\(o[2]).\(o[3] + 1 + p + (borrowed ? 32 : 0))"
                weps.append(F.wep("pod-\(i)-\(p)", node: "node-\(i)", [ip + "/32"], interface: "cali\(i)x\(p)"))
            }
        }
        let pool = vxlan ? F.pool("10.128.0.0/9", vxlan: .always) : F.pool("10.128.0.0/9")
        return AgentInputs(snapshot: CalcSnapshot(nodeName: "node-0", nodes: nodes, ipPools: [pool], blockAffinities: affinities),
                           workloadEndpoints: weps, learnedRoutes: learned,
                           host: HostFacts(ipv4: F.iface(addr(0) + "/12")))
    }

    @Test(arguments: [false, true])
    func thousandNodes(vxlan: Bool) {
        let inputs = Self.cluster(nodes: 1000, podsPerNode: 20, vxlan: vxlan)
        let clock = ContinuousClock()
        var plan: AgentPlan?
        let elapsed = clock.measure { plan = AgentCalculator.plan(inputs) }
        guard let plan else { return }
        // 999 remote blocks, plus (VXLAN) the borrowed host routes of the other 999 nodes.
        #expect(plan.routing.remoteBlocks.count == (vxlan ? 999 + 999 * 2 : 999))
        #expect(plan.routing.workloads.count == 20)
        #expect(plan.advertised.count == 1 + 2, "our block and our two borrowed pods")
        #expect(plan.warnings.isEmpty, "\(plan.warnings.prefix(3))")
        print("AgentCalculator.plan, 1000 nodes, 20000 pods, \(vxlan ? "vxlan" : "none"): \(elapsed)")
        // Debug build on 2 shared cores: about 1 s (none) and 3 s (VXLAN, one parse per cluster pod
        // address dominates). A quadratic index would take minutes.
        #expect(elapsed < .seconds(20))
    }
}
