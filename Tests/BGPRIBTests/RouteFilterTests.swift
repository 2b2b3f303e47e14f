import BGPRIB
import BGPWire
import NetCore
import Testing

private func pfx(_ s: String) -> IPPrefix { IPPrefix(s)! }
private func comm(_ s: String) -> FilterCommunity { FilterCommunity(s)! }

private func subject(_ prefix: String, _ type: PeerType = .ebgp, learned: Bool = true,
                     interface: String? = nil) -> FilterSubject {
    FilterSubject(prefix: pfx(prefix), peerType: type, learnedFromPeer: learned, interface: interface)
}

private func routeAttrs(path: [UInt32] = [65001, 65002], lp: UInt32? = nil, communities: [Community] = [],
                   large: [LargeCommunity] = []) -> PathAttributes {
    PathAttributes(origin: .igp, asPath: ASPath(sequence: path), nextHop: IPv4Address("192.0.2.1"),
                   localPref: lp, communities: communities, largeCommunities: large)
}

@Suite struct RouteFilterTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var rule: FilterRule
        var subject: FilterSubject
        var attrs: PathAttributes = routeAttrs()
        var matches: Bool
        var description: String { name }
    }

    static let accept = FilterRule.Action.accept

    /// One rule against one route: does it match?
    static let matchCases: [Case] = [
        // cidr + matchOperator
        Case(name: "Equal: same prefix", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .equal, action: accept),
             subject: subject("10.0.0.0/16"), matches: true),
        Case(name: "Equal: more specific", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .equal, action: accept),
             subject: subject("10.0.1.0/24"), matches: false),
        Case(name: "Equal ignores prefixLength", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .equal,
                                                             prefixLength: .init(min: 24), action: accept),
             subject: subject("10.0.0.0/16"), matches: true),
        Case(name: "NotEqual: other prefix", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .notEqual, action: accept),
             subject: subject("10.0.1.0/24"), matches: true),
        Case(name: "NotEqual: same prefix", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .notEqual, action: accept),
             subject: subject("10.0.0.0/16"), matches: false),
        Case(name: "In: itself", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .in, action: accept),
             subject: subject("10.0.0.0/16"), matches: true),
        Case(name: "In: inside", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .in, action: accept),
             subject: subject("10.0.3.4/32"), matches: true),
        Case(name: "In: outside", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .in, action: accept),
             subject: subject("10.1.0.0/24"), matches: false),
        Case(name: "In: shorter covering prefix", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .in, action: accept),
             subject: subject("10.0.0.0/8"), matches: false),
        Case(name: "NotIn: outside", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .notIn, action: accept),
             subject: subject("192.168.0.0/24"), matches: true),
        Case(name: "NotIn: inside", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .notIn, action: accept),
             subject: subject("10.0.9.0/24"), matches: false),
        // prefixLength with In / NotIn
        Case(name: "In {24,26}: /24", rule: .init(cidr: pfx("10.0.0.0/16"), prefixLength: .init(min: 24, max: 26), action: accept),
             subject: subject("10.0.5.0/24"), matches: true),
        Case(name: "In {24,26}: /26", rule: .init(cidr: pfx("10.0.0.0/16"), prefixLength: .init(min: 24, max: 26), action: accept),
             subject: subject("10.0.5.64/26"), matches: true),
        Case(name: "In {24,26}: /23 too short", rule: .init(cidr: pfx("10.0.0.0/16"), prefixLength: .init(min: 24, max: 26), action: accept),
             subject: subject("10.0.4.0/23"), matches: false),
        Case(name: "In {24,26}: /32 too long", rule: .init(cidr: pfx("10.0.0.0/16"), prefixLength: .init(min: 24, max: 26), action: accept),
             subject: subject("10.0.5.1/32"), matches: false),
        Case(name: "In max only: /16 (min = cidr length)", rule: .init(cidr: pfx("10.0.0.0/16"), prefixLength: .init(max: 20), action: accept),
             subject: subject("10.0.0.0/16"), matches: true),
        Case(name: "In min below cidr length is clamped", rule: .init(cidr: pfx("10.0.0.0/16"), prefixLength: .init(min: 8), action: accept),
             subject: subject("10.0.0.0/8"), matches: false),
        Case(name: "NotIn {32,32}: /24 inside", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .notIn,
                                                            prefixLength: .init(min: 32, max: 32), action: accept),
             subject: subject("10.0.1.0/24"), matches: true),
        Case(name: "NotIn {32,32}: /32 inside", rule: .init(cidr: pfx("10.0.0.0/16"), matchOperator: .notIn,
                                                            prefixLength: .init(min: 32, max: 32), action: accept),
             subject: subject("10.0.1.1/32"), matches: false),
        Case(name: "v6 In", rule: .init(cidr: pfx("fd00::/48"), prefixLength: .init(max: 64), action: accept),
             subject: subject("fd00:0:0:1::/64"), matches: true),
        Case(name: "v6 In /80 too long", rule: .init(cidr: pfx("fd00::/48"), prefixLength: .init(max: 64), action: accept),
             subject: subject("fd00:0:0:1::/80"), matches: false),
        Case(name: "v4 cidr never matches v6", rule: .init(cidr: pfx("0.0.0.0/0"), matchOperator: .notIn, action: accept),
             subject: subject("fd00::/64"), matches: false),
        // peerType
        Case(name: "peerType eBGP, eBGP peer", rule: .init(peerType: .ebgp, action: accept),
             subject: subject("10.0.0.0/24", .ebgp), matches: true),
        Case(name: "peerType eBGP, iBGP peer", rule: .init(peerType: .ebgp, action: accept),
             subject: subject("10.0.0.0/24", .ibgp), matches: false),
        Case(name: "peerType iBGP, iBGP peer", rule: .init(peerType: .ibgp, action: accept),
             subject: subject("10.0.0.0/24", .ibgp), matches: true),
        Case(name: "peerType iBGP, eBGP peer", rule: .init(peerType: .ibgp, action: accept),
             subject: subject("10.0.0.0/24", .ebgp), matches: false),
        // source
        Case(name: "RemotePeers, learned", rule: .init(source: .remotePeers, action: accept),
             subject: subject("10.0.0.0/24", learned: true), matches: true),
        Case(name: "RemotePeers, local route", rule: .init(source: .remotePeers, action: accept),
             subject: subject("10.0.0.0/24", learned: false), matches: false),
        // interface globs
        Case(name: "interface exact", rule: .init(interface: "eth0", action: accept),
             subject: subject("10.0.0.0/24", interface: "eth0"), matches: true),
        Case(name: "interface glob *", rule: .init(interface: "cali*", action: accept),
             subject: subject("10.0.0.0/24", interface: "cali12345"), matches: true),
        Case(name: "interface glob * middle", rule: .init(interface: "*.cal*", action: accept),
             subject: subject("10.0.0.0/24", interface: "vxlan.calico"), matches: true),
        Case(name: "interface glob ?", rule: .init(interface: "eth?", action: accept),
             subject: subject("10.0.0.0/24", interface: "eth1"), matches: true),
        Case(name: "interface glob ? needs one char", rule: .init(interface: "eth?", action: accept),
             subject: subject("10.0.0.0/24", interface: "eth"), matches: false),
        Case(name: "interface mismatch", rule: .init(interface: "cali*", action: accept),
             subject: subject("10.0.0.0/24", interface: "eth0"), matches: false),
        Case(name: "interface unknown never matches", rule: .init(interface: "*", action: accept),
             subject: subject("10.0.0.0/24", interface: nil), matches: false),
        // communities
        Case(name: "community present", rule: .init(communities: [comm("65000:100")], action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(communities: [Community(asn: 65000, local: 100)]), matches: true),
        Case(name: "community absent", rule: .init(communities: [comm("65000:100")], action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(communities: [Community(asn: 65000, local: 101)]), matches: false),
        Case(name: "large community present", rule: .init(communities: [comm("4200000000:1:2")], action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(large: [LargeCommunity(4_200_000_000, 1, 2)]), matches: true),
        Case(name: "large community is not a standard one", rule: .init(communities: [comm("65000:1:2")], action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(communities: [Community(asn: 65000, local: 1)]), matches: false),
        // AS path prefix
        Case(name: "asPathPrefix matches", rule: .init(asPathPrefix: [65001], action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(path: [65001, 65002]), matches: true),
        Case(name: "asPathPrefix whole path", rule: .init(asPathPrefix: [65001, 65002], action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(path: [65001, 65002]), matches: true),
        Case(name: "asPathPrefix not at the start", rule: .init(asPathPrefix: [65002], action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(path: [65001, 65002]), matches: false),
        Case(name: "asPathPrefix longer than path", rule: .init(asPathPrefix: [65001, 65002, 65003], action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(path: [65001, 65002]), matches: false),
        Case(name: "asPathPrefix on empty path", rule: .init(asPathPrefix: [65001], action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(path: []), matches: false),
        // priority (2147483647 - LOCAL_PREF)
        Case(name: "priority from LOCAL_PREF", rule: .init(priority: 512, action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(lp: 2_147_483_647 - 512), matches: true),
        Case(name: "priority differs", rule: .init(priority: 512, action: accept),
             subject: subject("10.0.0.0/24"), attrs: routeAttrs(lp: 100), matches: false),
        Case(name: "local route without LOCAL_PREF is 1024", rule: .init(priority: 1024, action: accept),
             subject: subject("10.0.0.0/24", learned: false), attrs: routeAttrs(), matches: true),
        Case(name: "learned route without LOCAL_PREF is not 1024", rule: .init(priority: 1024, action: accept),
             subject: subject("10.0.0.0/24", learned: true), attrs: routeAttrs(), matches: false),
        Case(name: "learned route without LOCAL_PREF has local pref 100", rule: .init(priority: 2_147_483_547, action: accept),
             subject: subject("10.0.0.0/24", learned: true), attrs: routeAttrs(), matches: true),
        // several conditions: all must hold
        Case(name: "all conditions hold", rule: .init(cidr: pfx("10.0.0.0/8"), source: .remotePeers, peerType: .ibgp,
                                                      communities: [comm("1:2")], asPathPrefix: [65001], action: accept),
             subject: subject("10.1.0.0/16", .ibgp), attrs: routeAttrs(communities: [Community(asn: 1, local: 2)]), matches: true),
        Case(name: "one condition fails", rule: .init(cidr: pfx("10.0.0.0/8"), source: .remotePeers, peerType: .ibgp,
                                                      communities: [comm("1:2")], asPathPrefix: [65001], action: accept),
             subject: subject("10.1.0.0/16", .ebgp), attrs: routeAttrs(communities: [Community(asn: 1, local: 2)]), matches: false),
        Case(name: "empty rule matches everything", rule: .init(action: .reject),
             subject: subject("fd00::/64"), matches: true),
    ]

    @Test(arguments: matchCases) func ruleMatching(_ c: Case) {
        #expect(c.rule.matches(c.subject, c.attrs) == c.matches)
        var a = c.attrs
        let outcome = RouteFilter.evaluate([RouteFilter(name: "f", exportV4: [c.rule], exportV6: [c.rule])],
                                           direction: .exporting, subject: c.subject, attrs: &a)
        let expected: FilterOutcome = !c.matches ? .noMatch
            : c.rule.action == .accept ? .accepted(filter: "f", rule: 0) : .rejected(filter: "f", rule: 0)
        #expect(outcome == expected)
    }

    struct OpCase: Sendable, CustomStringConvertible {
        var name: String
        var operations: [FilterRule.Operation]
        var before: PathAttributes
        var after: PathAttributes
        var description: String { name }
    }

    static let operationCases: [OpCase] = [
        OpCase(name: "addCommunity", operations: [.addCommunity(comm("65000:7"))],
               before: routeAttrs(communities: [Community(asn: 1, local: 1)]),
               after: routeAttrs(communities: [Community(asn: 1, local: 1), Community(asn: 65000, local: 7)])),
        OpCase(name: "addCommunity already there", operations: [.addCommunity(comm("65000:7"))],
               before: routeAttrs(communities: [Community(asn: 65000, local: 7)]),
               after: routeAttrs(communities: [Community(asn: 65000, local: 7)])),
        OpCase(name: "addCommunity large", operations: [.addCommunity(comm("65000:1:2"))],
               before: routeAttrs(), after: routeAttrs(large: [LargeCommunity(65000, 1, 2)])),
        OpCase(name: "prependASPath keeps the given order", operations: [.prependASPath([65100, 65101])],
               before: routeAttrs(path: [65001]), after: routeAttrs(path: [65100, 65101, 65001])),
        OpCase(name: "prependASPath on an empty path", operations: [.prependASPath([65100])],
               before: routeAttrs(path: []), after: routeAttrs(path: [65100])),
        OpCase(name: "setPriority", operations: [.setPriority(512)],
               before: routeAttrs(lp: 100), after: routeAttrs(lp: 2_147_483_647 - 512)),
        OpCase(name: "operations in order", operations: [.setPriority(10), .prependASPath([1]), .addCommunity(comm("9:9")),
                                                         .prependASPath([2]), .setPriority(20)],
               before: routeAttrs(path: [65001]),
               after: routeAttrs(path: [2, 1, 65001], lp: 2_147_483_627, communities: [Community(asn: 9, local: 9)])),
    ]

    @Test(arguments: operationCases) func operations(_ c: OpCase) {
        let filter = RouteFilter(name: "ops", importV4: [FilterRule(action: .accept, operations: c.operations)])
        var a = c.before
        let outcome = RouteFilter.evaluate([filter], direction: .importing, subject: subject("10.0.0.0/24"), attrs: &a)
        #expect(outcome == .accepted(filter: "ops", rule: 0))
        #expect(a == c.after)
    }

    @Test func prependedPathLengthCountsForSelection() {
        let rule = FilterRule(action: .accept, operations: [.prependASPath([64512, 64512, 64512])])
        var a = routeAttrs(path: [65001])
        rule.apply(to: &a)
        #expect(a.asPath?.length == 4)
    }

    @Test func setPriorityRoundTripsThroughPriorityMatch() {
        // A lower priority is a higher LOCAL_PREF, so best-path selection prefers it.
        #expect(RouteFilter.localPref(forPriority: 512) > RouteFilter.localPref(forPriority: 1024))
        var a = routeAttrs()
        FilterRule(action: .accept, operations: [.setPriority(77)]).apply(to: &a)
        #expect(RouteFilter.priority(of: a, learnedFromPeer: true) == 77)
        #expect(FilterRule(priority: 77, action: .accept).matches(subject("10.0.0.0/24"), a))
        #expect(RouteFilter.localPref(forPriority: -5) == 2_147_483_647)
        #expect(RouteFilter.localPref(forPriority: Int(UInt32.max)) == 0)
    }

    @Test func firstMatchingRuleAcrossFiltersInOrderWins() {
        let a = RouteFilter(name: "a", exportV4: [
            FilterRule(cidr: pfx("10.1.0.0/16"), action: .reject),
            FilterRule(cidr: pfx("10.0.0.0/8"), action: .accept, operations: [.setPriority(5)]),
        ])
        let b = RouteFilter(name: "b", exportV4: [
            FilterRule(cidr: pfx("10.2.0.0/16"), action: .reject),
            FilterRule(cidr: pfx("192.168.0.0/16"), action: .accept, operations: [.addCommunity(comm("1:1"))]),
        ])
        let table: [(String, FilterOutcome)] = [
            ("10.1.2.0/24", .rejected(filter: "a", rule: 0)),
            ("10.2.0.0/24", .accepted(filter: "a", rule: 1)),  // a's rule 1 before b's reject
            ("192.168.1.0/24", .accepted(filter: "b", rule: 1)),
            ("172.16.0.0/12", .noMatch),
        ]
        for (prefix, expected) in table {
            var x = routeAttrs()
            #expect(RouteFilter.evaluate([a, b], direction: .exporting, subject: subject(prefix), attrs: &x) == expected, "\(prefix)")
        }
        var x = routeAttrs()
        #expect(RouteFilter.evaluate([b, a], direction: .exporting, subject: subject("10.2.0.0/24"), attrs: &x)
                == .rejected(filter: "b", rule: 0))
        #expect(x == routeAttrs(), "a reject changes nothing")
        _ = RouteFilter.evaluate([b, a], direction: .exporting, subject: subject("10.3.0.0/24"), attrs: &x)
        #expect(x.localPref == RouteFilter.localPref(forPriority: 5))
    }

    @Test func directionAndFamilySelectTheRuleList() {
        let f = RouteFilter(name: "f",
                            exportV4: [FilterRule(action: .reject)], importV4: [FilterRule(action: .accept)],
                            exportV6: [FilterRule(peerType: .ibgp, action: .reject), FilterRule(action: .accept)],
                            importV6: [])
        var x = routeAttrs()
        #expect(RouteFilter.evaluate([f], direction: .exporting, subject: subject("10.0.0.0/24"), attrs: &x) == .rejected(filter: "f", rule: 0))
        #expect(RouteFilter.evaluate([f], direction: .importing, subject: subject("10.0.0.0/24"), attrs: &x) == .accepted(filter: "f", rule: 0))
        #expect(RouteFilter.evaluate([f], direction: .exporting, subject: subject("fd00::/64", .ibgp), attrs: &x) == .rejected(filter: "f", rule: 0))
        #expect(RouteFilter.evaluate([f], direction: .exporting, subject: subject("fd00::/64", .ebgp), attrs: &x) == .accepted(filter: "f", rule: 1))
        #expect(RouteFilter.evaluate([f], direction: .importing, subject: subject("fd00::/64"), attrs: &x) == .noMatch)
        #expect(RouteFilter.evaluate([], direction: .importing, subject: subject("10.0.0.0/24"), attrs: &x) == .noMatch)
    }

    @Test func rejectRulesCarryNoOperations() {
        let r = FilterRule(action: .reject, operations: [.setPriority(1)])
        #expect(r.operations.isEmpty)
    }

    @Test func communityParsing() {
        #expect(FilterCommunity("65535:65535") == .standard(Community(asn: 65535, local: 65535)))
        #expect(FilterCommunity("65536:1") == nil)
        #expect(FilterCommunity("4294967295:0:1") == .large(LargeCommunity(4_294_967_295, 0, 1)))
        for bad in ["", "1", "1:", ":1", "1:2:3:4", "a:b", "-1:2", "+1:2"] { #expect(FilterCommunity(bad) == nil, "\(bad)") }
        #expect(comm("1:2:3").description == "1:2:3")
    }

    @Test func nextHopMode() {
        #expect(NextHopMode.auto.setsSelf(towards: .ebgp))
        #expect(!NextHopMode.auto.setsSelf(towards: .ibgp))
        #expect(NextHopMode.self_.setsSelf(towards: .ibgp))
        #expect(!NextHopMode.keep.setsSelf(towards: .ebgp))
        #expect(NextHopMode(rawValue: "self") == .self_)
    }

    /// The per-prefix cost on a big load: 1M prefixes through a 4-rule filter that matches none.
    @Test func evaluatesAMillionPrefixesQuickly() {
        let f = RouteFilter(name: "big", exportV4: [
            FilterRule(cidr: pfx("192.168.0.0/16"), prefixLength: .init(min: 24), action: .reject),
            FilterRule(communities: [comm("65000:666")], action: .reject),
            FilterRule(asPathPrefix: [64999], action: .accept, operations: [.setPriority(1)]),
            FilterRule(interface: "cali*", action: .reject),
        ])
        let filters = [f]
        var a = routeAttrs(communities: [Community(asn: 65000, local: 1)])
        var subj = subject("10.0.0.0/32", interface: "eth0")
        let clock = ContinuousClock()
        var noMatch = 0
        let took = clock.measure {
            for i in 0..<1_000_000 {
                subj.prefix = IPPrefix(.v4(IPv4Address(UInt32(0x0A00_0000) | UInt32(i))), length: 32)
                if RouteFilter.evaluate(filters, direction: .exporting, subject: subj, attrs: &a) == .noMatch { noMatch += 1 }
            }
        }
        #expect(noMatch == 1_000_000)
        print("RouteFilter: 1M prefixes × 4 non-matching rules in \(took)")
        #expect(took < .seconds(20))  // debug build on a shared machine; release is far below
    }
}
