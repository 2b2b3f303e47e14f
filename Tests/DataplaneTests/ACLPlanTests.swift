import Dataplane
import NetCore
import Testing

@Suite struct ACLPlanTests {
    @Test func fromScratchCreatesEverythingInDependencyOrder() throws {
        let m = try ACLRenderer.render(aclBase([ACLPolicy(name: "web", selects: ["twa"], ingress: [allowTCP80])]))
        let ops = NFTPlan.diff(from: nil, to: m).operations
        #expect(ops.first == .addTable)
        func index(_ p: (NFTOperation) -> Bool) -> Int { ops.firstIndex(where: p)! }
        let lastChainAdd = ops.lastIndex { if case .addChain = $0 { true } else { false } }!
        let firstRule = index { if case .addRules = $0 { true } else { false } }
        let mapElements = index { if case .addElements(let s, _) = $0 { s.isVerdictMap } else { false } }
        let lastSetAdd = ops.lastIndex { if case .addSet = $0 { true } else { false } }!
        #expect(lastSetAdd < firstRule && lastChainAdd < firstRule && firstRule < mapElements)
    }

    @Test func sameModelTwiceIsEmpty() throws {
        let m = try ACLRenderer.render(aclBase([ACLPolicy(name: "web", selects: ["twa"], ingress: [allowTCP80])]))
        #expect(NFTPlan.diff(from: m, to: m).isEmpty)
    }

    @Test func changingOneWorkloadsPolicyTouchesOnlyItsObjects() throws {
        let before = try ACLRenderer.render(aclBase([ACLPolicy(name: "web", selects: ["twa"], ingress: [allowTCP80])]))
        let after = try ACLRenderer.render(aclBase([ACLPolicy(name: "web", selects: ["twa", "twb"], ingress: [allowTCP80])]))
        let plan = NFTPlan.diff(from: before, to: after)
        #expect(plan.touchedObjects == ["chain tw-twb"])
        #expect(plan.operations == [.flushChain("tw-twb"), .addRules("tw-twb", after.chains["tw-twb"]!.rules)])
    }

    @Test func addingAndRemovingAWorkloadTouchesOnlyItsChainsAndElements() throws {
        let id = ACLIPSetID.forSelector("role == 'client'")
        let r = ACLRule(action: .allow, protocol_: ACLRule.tcp, source: .init(selector: id))
        var input = aclBase([ACLPolicy(name: "p", selects: ["twa"], ingress: [r])], sets: [id: [ip("10.65.0.1")]])
        let before = try ACLRenderer.render(input)
        input.workloads.append(ACLWorkload(interface: "twc", addresses: [ip("10.65.0.3")]))
        input.ipSets[id]!.append(ip("10.65.0.3"))
        let after = try ACLRenderer.render(input)
        let add = NFTPlan.diff(from: before, to: after)
        #expect(add.touchedObjects == ["chain tw-twc", "chain fw-twc", "set from-wl", "set to-wl", "set ip4-" + id.rawValue])
        #expect(add.operations.contains(.addElements(NFTSet(name: "to-wl", keyType: .ifname, isVerdictMap: true, mutable: true),
                                                     [.ifname("twc", .goto("tw-twc"))])))
        let remove = NFTPlan.diff(from: after, to: before)
        #expect(remove.touchedObjects == add.touchedObjects)
        // Map elements go before the chains they point at, and chains are flushed before deleted.
        let ops = remove.operations
        let delElems = ops.firstIndex { if case .deleteElements(let s, _) = $0 { s.name == "to-wl" } else { false } }!
        let delChain = ops.firstIndex(of: .deleteChain("tw-twc"))!
        #expect(delElems < delChain && ops.firstIndex(of: .flushChain("tw-twc"))! < delChain)
    }

    @Test func resyncDeletesStaleObjectsAndRewritesKeptChains() throws {
        let m = try ACLRenderer.render(aclBase())
        var observed = NFTObservedTable()
        for (name, c) in m.chains { observed.chains[name] = c.hook }
        observed.chains["tw-gone"] = .some(nil)
        observed.chains["forward"] = NFTHook(.filter, .forward, priority: 5)  // hook changed: replace
        for (name, s) in m.sets { var d = s; d.elements = []; observed.sets[name] = d }
        observed.sets["ip4-stale"] = NFTSet(name: "ip4-stale", keyType: .ipv4Addr, mutable: true)
        let plan = NFTPlan.resync(observed: observed, to: m)
        let ops = plan.operations
        #expect(!ops.contains(.addTable))
        #expect(ops.contains(.deleteChain("tw-gone")) && ops.contains(.deleteSet("ip4-stale")))
        #expect(ops.contains(.deleteChain("forward")) && ops.contains(.addChain(NFTChain(name: "forward", hook: m.chains["forward"]!.hook))))
        #expect(ops.contains(.flushChain("tw-twa")) && ops.contains(.addRules("tw-twa", m.chains["tw-twa"]!.rules)))
        #expect(ops.contains(.flushSet("to-wl")))
        // Constant (content-named) sets are trusted and kept.
        let constant = m.sets.values.first { !$0.mutable }
        if let constant { #expect(!plan.touchedObjects.contains("set " + constant.name)) }
    }
}
