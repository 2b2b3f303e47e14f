import Dataplane
import NetCore
import Testing

func net(_ s: String) -> IPPrefix { IPPrefix(s)! }

/// Two workloads, tw-a (10.65.0.1) and tw-b (10.65.0.2 + fd00::2).
func aclBase(_ policies: [ACLPolicy] = [], tiers: [ACLTier] = [], sets: [ACLIPSetID: [IPAddress]] = [:],
             pools: [ACLPool] = []) -> ACLInput {
    ACLInput(workloads: [ACLWorkload(interface: "twa", addresses: [ip("10.65.0.1")]),
                         ACLWorkload(interface: "twb", addresses: [ip("10.65.0.2"), ip("fd00::2")])],
             policies: policies, tiers: tiers, ipSets: sets, pools: pools)
}

let allowTCP80 = ACLRule(action: .allow, protocol_: ACLRule.tcp, destination: .init(ports: [ACLPortRange(80)]))
let acceptBits: UInt32 = 0x10000, passBits: UInt32 = 0x20000

@Suite struct ACLRendererTests {
    @Test func unselectedWorkloadIsAllowedByTheProfile() throws {
        let m = try ACLRenderer.render(aclBase())
        let tw = try #require(m.chains["tw-twa"])
        #expect(tw.rules.map(\.verdict) == [nil, .return])
        #expect(tw.rules.last?.statements == [.setMark(clear: 0, set: acceptBits)])
        #expect(!tw.rules.contains { $0.verdict == .drop })
        #expect(m.danglingReferences().isEmpty)
    }

    @Test func selectedWorkloadDropsWhatNoRuleAllows() throws {
        let p = ACLPolicy(name: "web", selects: ["twa"], ingress: [allowTCP80])
        let m = try ACLRenderer.render(aclBase([p]))
        let tw = try #require(m.chains["tw-twa"]).rules
        #expect(tw.contains { $0.verdict == .jump("pi-web") && $0.matches == [.mark(passBits, isSet: false)] })
        let dropAt = try #require(tw.firstIndex { $0.verdict == .drop })
        #expect(tw[dropAt].matches == [.mark(passBits, isSet: false)], "end of tier drop unless passed")
        #expect(tw.firstIndex { $0.verdict == .jump("pi-web") }! < dropAt)
        // The policy's rule: tcp dport 80 → set accept mark and return.
        let pi = try #require(m.chains["pi-web"]).rules
        #expect(pi == [NFTRule([.l4proto(6, negated: false), .port(.destination, .range(ACLPortRange(80)), negated: false)],
                               [.setMark(clear: 0, set: acceptBits)], .return, comment: "web ingress rule 0")])
        // Egress untouched (policy types default to Ingress only); other workload unselected.
        #expect(m.chains["po-web"] == nil)
        #expect(!(m.chains["fw-twa"]!.rules.contains { $0.verdict == .drop && $0.matches.first == .mark(passBits, isSet: false) }))
        #expect(!(m.chains["tw-twb"]!.rules.contains { $0.verdict == .drop }))
    }

    @Test func policiesRunInOrderThenNameAndTiersInTierOrder() throws {
        let ps = [
            ACLPolicy(name: "zeta", order: 10, selects: ["twa"], ingress: [allowTCP80]),
            ACLPolicy(name: "alpha", order: 10, selects: ["twa"], ingress: [allowTCP80]),
            ACLPolicy(name: "first", order: 1, selects: ["twa"], ingress: [allowTCP80]),
            ACLPolicy(name: "last", order: nil, selects: ["twa"], ingress: [allowTCP80]),
            ACLPolicy(name: "sec.early", order: 500, tier: "security", selects: ["twa"], ingress: [allowTCP80]),
        ]
        let m = try ACLRenderer.render(aclBase(ps, tiers: [ACLTier(name: "security", order: 100)]))
        let jumps = m.chains["tw-twa"]!.rules.compactMap { r -> String? in
            if case .jump(let c) = r.verdict { return c } else { return nil }
        }
        #expect(jumps == ["pi-sec.early", "pi-first", "pi-alpha", "pi-zeta", "pi-last"])
        // Each tier clears the pass mark first and ends with its own drop.
        let tierStarts = m.chains["tw-twa"]!.rules.filter { $0.statements == [.setMark(clear: passBits, set: 0)] }
        #expect(tierStarts.count == 2)
        #expect(m.chains["tw-twa"]!.rules.filter { $0.verdict == .drop }.count == 2)
    }

    @Test func passSkipsToTheNextTierAndPassTiersDoNotDrop() throws {
        let pass = ACLRule(action: .pass, source: .init(nets: [net("10.0.0.0/8")]))
        let ps = [ACLPolicy(name: "gate", tier: "t1", selects: ["twa"], ingress: [pass]),
                  ACLPolicy(name: "open", tier: "t2", selects: ["twa"], ingress: [allowTCP80])]
        let m = try ACLRenderer.render(aclBase(ps, tiers: [ACLTier(name: "t1", order: 1),
                                                            ACLTier(name: "t2", order: 2, defaultAction: .pass)]))
        #expect(m.chains["pi-gate"]!.rules[0].statements == [.setMark(clear: 0, set: passBits)])
        #expect(m.chains["pi-gate"]!.rules[0].verdict == .return)
        let rules = m.chains["tw-twa"]!.rules
        // Later policies in a tier only run while the pass mark is clear; t2 (Pass default) has no drop.
        #expect(rules.filter { $0.verdict == .drop }.count == 1)
        let t2 = rules.firstIndex { $0.comment == "start of tier t2" }!
        #expect(!rules[t2...].contains { $0.verdict == .drop })
        #expect(rules.last?.statements == [.setMark(clear: 0, set: acceptBits)], "after all tiers: profile allow")
    }

    @Test func denyLogAndNotMatches() throws {
        let r = ACLRule(action: .deny, ipVersion: .v4, protocol_: ACLRule.icmpV4,
                        notICMP: .init(type: 8, code: 0),
                        source: .init(notNets: [net("10.1.0.0/16"), net("10.2.0.0/16")]))
        let log = ACLRule(action: .log, protocol_: ACLRule.tcp, destination: .init(notPorts: [ACLPortRange(1, 1023)]))
        let notUDP = ACLRule(action: .deny, notProtocol: ACLRule.udp)
        let m = try ACLRenderer.render(aclBase([ACLPolicy(name: "p", selects: ["twa"], ingress: [log, r, notUDP])]))
        let rules = m.chains["pi-p"]!.rules
        #expect(rules[0].statements == [.log(prefix: "twill-packet p")] && rules[0].verdict == nil)
        #expect(rules[0].matches == [.l4proto(6, negated: false), .port(.destination, .range(ACLPortRange(1, 1023)), negated: true)])
        #expect(rules[2].matches == [.l4proto(17, negated: true)] && rules[2].verdict == .drop)
        #expect(rules[1].verdict == .drop)
        #expect(rules[1].matches.contains(.icmp(.v4, type: 8, code: 0, negated: true)))
        // Two notNets: one constant interval set, merged 10.1/16 + 10.2/16 (adjacent) into one range.
        guard case .address(let f, .set(let name), negated: true)? = rules[1].matches.last(where: {
            if case .address = $0 { true } else { false } }) else {
            Issue.record("expected a negated set lookup"); return
        }
        #expect(f == NFTAddressField(.source, .v4))
        let set = try #require(m.sets[name])
        #expect(set.interval && !set.mutable && name.hasPrefix("net4-"))
        #expect(set.elements == [NFTSetElement(key: [10, 1, 0, 0], keyLast: [10, 2, 255, 255])])
    }

    @Test func icmpNeedsIPVersionAndUsesTheFamilysProtocol() throws {
        let ok = ACLRule(action: .allow, ipVersion: .v6, icmp: .init(type: 128))
        let m = try ACLRenderer.render(aclBase([ACLPolicy(name: "p", selects: ["twa"], ingress: [ok])]))
        #expect(m.chains["pi-p"]!.rules[0].matches == [.nfproto(.v6), .l4proto(58, negated: false),
                                                        .icmp(.v6, type: 128, code: nil, negated: false)])
        let bad = ACLRule(action: .allow, icmp: .init(type: 8))
        #expect(throws: ACLRenderError(field: "policies[0] (p).ingress[0].icmp", reason: "ICMP matches require ipVersion")) {
            try ACLRenderer.render(aclBase([ACLPolicy(name: "p", selects: ["twa"], ingress: [bad])]))
        }
    }

    @Test func portsWithoutProtocolAndOtherBadInputAreRejected() {
        let noProto = ACLRule(action: .allow, destination: .init(ports: [ACLPortRange(80)]))
        #expect(throws: ACLRenderError(field: "policies[0] (p).egress[0].protocol", reason: "ports require protocol TCP, UDP or SCTP")) {
            try ACLRenderer.render(aclBase([ACLPolicy(name: "p", selects: ["twa"], egress: [noProto])]))
        }
        #expect(throws: ACLRenderError.self) {
            try ACLRenderer.render(aclBase([ACLPolicy(name: "p", selects: ["nope"])]))
        }
        #expect(throws: ACLRenderError.self) {  // mixed families
            try ACLRenderer.render(aclBase([ACLPolicy(name: "p", selects: ["twa"], ingress: [
                ACLRule(action: .allow, source: .init(nets: [net("10.0.0.0/8"), net("fd00::/8")]))])]))
        }
        #expect(throws: ACLRenderError.self) {  // selector without its IP set
            try ACLRenderer.render(aclBase([ACLPolicy(name: "p", selects: ["twa"], ingress: [
                ACLRule(action: .allow, source: .init(selector: .forSelector("app == 'x'")))])]))
        }
        var wrongPrefix = aclBase()
        wrongPrefix.workloads.append(ACLWorkload(interface: "eth9", addresses: []))
        #expect(throws: ACLRenderError(field: "workloads[2].interface",
                                       reason: "'eth9' does not start with the workload prefix 'tw'")) {
            try ACLRenderer.render(wrongPrefix)
        }
    }

    @Test func selectorsBecomeStableTypedSetsPerFamily() throws {
        let id = ACLIPSetID.forSelector("app == 'db'")
        #expect(id == ACLIPSetID.forSelector("app == 'db'") && id != ACLIPSetID.forSelector("app == 'web'"))
        #expect(id.rawValue == ACLHash.hex64("app == 'db'") && id.rawValue.count == 16)
        let r = ACLRule(action: .allow, protocol_: ACLRule.tcp, source: .init(selector: id),
                        destination: .init(ports: [ACLPortRange(5432)]))
        let m = try ACLRenderer.render(aclBase([ACLPolicy(name: "db", selects: ["twa"], ingress: [r])],
                                               sets: [id: [ip("10.65.0.2"), ip("fd00::2")]]))
        #expect(m.chains["pi-db"]!.rules.count == 2, "one rule per family")
        let v4 = try #require(m.sets["ip4-" + id.rawValue]), v6 = try #require(m.sets["ip6-" + id.rawValue])
        #expect(v4.keyType == .ipv4Addr && !v4.interval && v4.mutable && v4.elements == [.address(ip("10.65.0.2"))])
        #expect(v6.keyType == .ipv6Addr && v6.elements == [.address(ip("fd00::2"))])
        #expect(m.chains["pi-db"]!.rules[0].matches.contains(.address(.init(.source, .v4), .set(v4.name), negated: false)))
    }

    @Test func antiSpoofingAllowsOnlyTheWorkloadsOwnAddresses() throws {
        let m = try ACLRenderer.render(aclBase())
        let a = m.chains["fw-twa"]!.rules
        #expect(a[0] == NFTRule([.nfproto(.v4), .address(.init(.source, .v4), .prefix(net("10.65.0.1/32")), negated: true)],
                                [], .drop, comment: "anti-spoof: source is not the workload's"))
        #expect(a[1].matches == [.nfproto(.v6)] && a[1].verdict == .drop, "no IPv6 address: no IPv6 at all")
        let b = m.chains["fw-twb"]!.rules
        #expect(b[1].matches == [.nfproto(.v6), .address(.init(.source, .v6), .prefix(net("fd00::2/128")), negated: true)])
        // Ingress chains have no anti-spoofing.
        #expect(!m.chains["tw-twb"]!.rules.contains { $0.matches.contains(.nfproto(.v4)) })
    }

    @Test func dispatchMapsAndUnknownInterfacesFailClosed() throws {
        let m = try ACLRenderer.render(aclBase())
        #expect(m.sets["from-wl"]!.elements == [.ifname("twa", .goto("fw-twa")), .ifname("twb", .goto("fw-twb"))])
        #expect(m.sets["to-wl"]!.elements == [.ifname("twa", .goto("tw-twa")), .ifname("twb", .goto("tw-twb"))])
        #expect(m.sets["to-wl"]!.isVerdictMap && m.sets["to-wl"]!.keyType == .ifname)
        #expect(m.chains["from-wl-dispatch"]!.rules == [
            NFTRule([], [], .vmap(.iifname, "from-wl")),
            NFTRule([.interface(.iifname, "tw", wildcard: true, negated: false)], [], .drop, comment: "unknown workload interface"),
        ])
        let fwd = m.chains["forward"]!
        #expect(fwd.hook == NFTHook(.filter, .forward, priority: 0))
        #expect(fwd.rules[0].matches == [.ctState([.established, .related], negated: false)] && fwd.rules[0].verdict == .accept)
        #expect(fwd.rules[1].matches == [.ctState(.invalid, negated: false)] && fwd.rules[1].verdict == .drop)
        #expect(fwd.rules[2].verdict == .jump("from-wl-dispatch") && fwd.rules[3].verdict == .jump("to-wl-dispatch"))
        #expect(NFTSetElement.ifnameBytes("twa") == [116, 119, 97] + [UInt8](repeating: 0, count: 13))
    }

    @Test func failsafePortsStayOpen() throws {
        var input = aclBase()
        input.settings.hostInboundAction = .drop
        let m = try ACLRenderer.render(input)
        let fin = m.chains["failsafe-in"]!.rules
        #expect(fin.count == ACLFailsafePort.defaultInbound.count)
        #expect(fin.contains(NFTRule([.l4proto(6, negated: false), .port(.destination, .range(ACLPortRange(22)), negated: false)],
                                     [], .accept, comment: "failsafe inbound tcp:22")))
        #expect(m.chains["failsafe-out"]!.rules.contains { $0.matches.contains(.port(.destination, .range(ACLPortRange(53)), negated: false)) && $0.matches.first == .l4proto(17, negated: false) })
        let input_ = m.chains["input"]!.rules
        let failsafeJump = input_.firstIndex { $0.verdict == .jump("failsafe-in") }!
        let hostDrop = input_.firstIndex { $0.verdict == .drop && $0.comment == "host inbound default" }!
        #expect(failsafeJump < hostDrop)
    }

    @Test func natOutgoingMasqueradesPoolTrafficLeavingAllPools() throws {
        let pools = [ACLPool(cidr: net("10.65.0.0/16"), natOutgoing: true), ACLPool(cidr: net("10.66.0.0/16"), natOutgoing: false),
                     ACLPool(cidr: net("10.80.0.0/16"), natOutgoing: true)]
        let m = try ACLRenderer.render(aclBase(pools: pools))
        let post = m.chains["postrouting"]!
        #expect(post.hook == NFTHook(.nat, .postrouting, priority: 100))
        #expect(post.rules.count == 1)
        let r = post.rules[0]
        #expect(r.statements == [.masquerade] && r.matches.first == .nfproto(.v4))
        guard case .address(_, .set(let masq), negated: false) = r.matches[1],
              case .address(_, .set(let all), negated: true) = r.matches[2] else { Issue.record("shape"); return }
        #expect(m.sets[masq]!.elements.count == 2)
        #expect(m.sets[all]!.elements == [NFTSetElement(key: [10, 65, 0, 0], keyLast: [10, 66, 255, 255]),
                                          NFTSetElement(key: [10, 80, 0, 0], keyLast: [10, 80, 255, 255])])
        #expect(try ACLRenderer.render(aclBase()).chains["postrouting"]!.rules.isEmpty)
    }

    @Test func intervalsMergeOverlapsAndNeighbours() {
        let r = ACLIntervals.merge([ACLIntervals.range(net("10.0.0.0/8")), ACLIntervals.range(net("10.1.0.0/16")),
                                    ACLIntervals.range(net("11.0.0.0/8")), ACLIntervals.range(net("13.0.0.0/8"))])
        #expect(r.map(\.first) == [[10, 0, 0, 0], [13, 0, 0, 0]])
        #expect(r.map(\.last) == [[11, 255, 255, 255], [13, 255, 255, 255]])
        #expect(ACLIntervals.successor([255, 255]) == nil && ACLIntervals.successor([0, 255]) == [1, 0])
    }

    @Test func scriptPrintsTheTable() throws {
        let m = try ACLRenderer.render(aclBase([ACLPolicy(name: "web", selects: ["twa"], ingress: [allowTCP80])]))
        let s = m.script()
        #expect(s.contains("table inet twill {"))
        #expect(s.contains("map to-wl { type ifname : verdict; elements = { \"twa\" : goto tw-twa, \"twb\" : goto tw-twb }; }"))
        #expect(s.contains("meta l4proto 6 th dport 80 meta mark set meta mark | 0x10000 return comment \"web ingress rule 0\""))
    }
}
