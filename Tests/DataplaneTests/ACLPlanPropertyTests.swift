@testable import Dataplane
import NetCore
import Testing
import TestSupport

/// Applies a plan to a fully known model the way the kernel would, refusing operations that
/// the kernel would refuse (adding an existing chain, deleting a chain that still has rules,
/// deleting elements that are not there).
private func applyPlan(_ plan: NFTPlan, to start: NFTModel?) -> NFTModel? {
    var m = start ?? NFTModel(table: plan.table)
    for op in plan.operations {
        switch op {
        case .addTable: guard start == nil else { return nil }
        case .addSet(let s):
            guard m.sets[s.name] == nil, s.elements.isEmpty else { return nil }
            m.sets[s.name] = s
        case .deleteSet(let n): guard m.sets.removeValue(forKey: n) != nil else { return nil }
        case .flushSet(let n): m.sets[n]?.elements = []
        case .addElements(let s, let e):
            guard m.sets[s.name] != nil else { return nil }
            m.sets[s.name]!.elements.formUnion(e)
        case .deleteElements(let s, let e):
            guard let have = m.sets[s.name], Set(e).isSubset(of: have.elements) else { return nil }
            m.sets[s.name]!.elements.subtract(e)
        case .addChain(let c):
            guard m.chains[c.name] == nil, c.rules.isEmpty else { return nil }
            m.chains[c.name] = c
        case .flushChain(let n): guard m.chains[n] != nil else { return nil }; m.chains[n]!.rules = []
        case .deleteChain(let n): guard m.chains.removeValue(forKey: n)?.rules.isEmpty == true else { return nil }
        case .addRules(let n, let r): guard m.chains[n] != nil else { return nil }; m.chains[n]!.rules += r
        }
    }
    return m
}

/// A small random cluster: workloads, policies selecting random subsets, selector IP sets.
private func randomInput(_ g: inout SeededRandom) -> ACLInput {
    var workloads: [ACLWorkload] = []
    for i in 0..<Int.random(in: 1...8, using: &g) {
        workloads.append(ACLWorkload(interface: "tw\(i)", addresses: [.v4(IPv4Address(10, 65, 0, UInt8(i + 1)))]))
    }
    let sel = ACLIPSetID.forSelector("app == 'x'")
    var policies: [ACLPolicy] = []
    for k in 0..<Int.random(in: 0...4, using: &g) {
        let selected = Set(workloads.filter { _ in Bool.random(using: &g) }.map(\.interface))
        let port = UInt16.random(in: 80...90, using: &g)
        let nets = Bool.random(using: &g) ? [IPPrefix("10.1.0.0/16")!, IPPrefix("10.9.0.0/16")!] : [IPPrefix("10.2.0.0/16")!]
        policies.append(ACLPolicy(
            name: "p\(k)", order: Double(k), selects: selected, types: [.ingress, .egress],
            ingress: [ACLRule(action: .allow, protocol_: ACLRule.tcp, source: .init(selector: sel),
                              destination: .init(ports: [ACLPortRange(port), ACLPortRange(port + 100)]))],
            egress: [ACLRule(action: .deny, protocol_: ACLRule.udp, destination: .init(nets: nets))]))
    }
    let members = workloads.filter { _ in Bool.random(using: &g) }.flatMap(\.addresses)
    return ACLInput(workloads: workloads, policies: policies, ipSets: [sel: members])
}

@Suite struct ACLPlanPropertyTests {
    /// For random seeded pairs of inputs, the plan takes the old model exactly to the new one
    /// (so a diff that skipped a changed chain or set would fail here), and an unchanged model
    /// gives an empty plan.
    @Test func planTakesOldModelToNewForRandomChanges() throws {
        var g = SeededRandom(seed: 0x7417)
        for round in 0..<200 {
            let a = try ACLRenderer.render(randomInput(&g))
            let b = try ACLRenderer.render(randomInput(&g))
            #expect(applyPlan(NFTPlan.diff(from: a, to: b), to: a) == b, "round \(round)")
            #expect(applyPlan(NFTPlan.diff(from: nil, to: b), to: nil) == b, "round \(round)")
            #expect(NFTPlan.diff(from: b, to: b).isEmpty)
        }
    }

    /// A change inside one chain's rules, with the same rule count and everything else equal,
    /// must still be found.
    @Test func aChangedRuleInsideAnUnchangedLookingChainIsFound() throws {
        let a = try ACLRenderer.render(aclBase([ACLPolicy(name: "web", selects: ["twa"], ingress: [allowTCP80])]))
        var b = a
        b.chains["pi-web"]!.rules[0].comment = (b.chains["pi-web"]!.rules[0].comment ?? "") + "x"
        let plan = NFTPlan.diff(from: a, to: b)
        #expect(plan.operations == [.flushChain("pi-web"), .addRules("pi-web", b.chains["pi-web"]!.rules)])
        #expect(applyPlan(plan, to: a) == b)
    }

    /// The constant-set content key is the same text string interpolation of the byte arrays
    /// gave (set names are a hash of it, so a change would rename every constant set).
    @Test func contentKeyMatchesInterpolatedBytes() {
        var g = SeededRandom(seed: 42)
        for _ in 0..<200 {
            let ranges: [ACLIntervals.Range] = (0..<Int.random(in: 0...4, using: &g)).map { _ in
                let n = [2, 4, 16].randomElement(using: &g)!
                return ((0..<n).map { _ in UInt8.random(in: 0...255, using: &g) },
                        (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) })
            }
            #expect(ACLRenderer.contentKey(ranges) == ranges.map { "\($0.first)-\($0.last)" }.joined(separator: ","))
        }
    }
}
