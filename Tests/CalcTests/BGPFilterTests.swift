import Calc
import NetCore
import NodeModel
import Testing

@Suite struct BGPFilterTests {
    private func rule(_ cidr: String = "", _ op: BGPFilterMatchOperator? = nil, _ action: BGPFilterAction = .accept,
                      _ configure: (inout BGPFilterRule) -> Void = { _ in }) -> BGPFilterRule {
        var r = BGPFilterRule(cidr: cidr, matchOperator: op, action: action)
        configure(&r)
        return r
    }

    private func eval(_ rules: [BGPFilterRule], _ route: RouteDescription, _ peerType: BGPFilterPeerType = .eBGP,
                      _ direction: FilterDirection = .export) -> FilterResult {
        var spec = BGPFilterSpec()
        spec.exportV4 = rules; spec.importV4 = rules; spec.exportV6 = rules; spec.importV6 = rules
        return BGPFilterEvaluator.evaluate([spec], direction, route: route, peerType: peerType)
    }

    private func r(_ p: String, _ configure: (inout RouteDescription) -> Void = { _ in }) -> RouteDescription {
        var route = RouteDescription(F.pfx(p))
        configure(&route)
        return route
    }

    @Test(arguments: [
        // (operator, rule cidr, route, matches)
        (BGPFilterMatchOperator.equal, "10.0.0.0/16", "10.0.0.0/16", true),
        (.equal, "10.0.0.0/16", "10.0.1.0/24", false),
        (.notEqual, "10.0.0.0/16", "10.0.1.0/24", true),
        (.notEqual, "10.0.0.0/16", "10.0.0.0/16", false),
        (.in, "10.0.0.0/16", "10.0.1.0/24", true),
        (.in, "10.0.0.0/16", "10.0.0.0/16", true),
        (.in, "10.0.0.0/16", "10.1.0.0/24", false),
        (.in, "10.0.0.0/16", "10.0.0.0/8", false),
        (.notIn, "10.0.0.0/16", "10.1.0.0/24", true),
        (.notIn, "10.0.0.0/16", "10.0.3.0/24", false),
        (.in, "fd00::/48", "fd00:0:0:1::/64", true),
        (.in, "fd00::/48", "10.0.0.0/24", false),
    ])
    func matchOperators(op: BGPFilterMatchOperator, cidr: String, route: String, matches: Bool) {
        let result = eval([rule(cidr, op, .reject)], r(route))
        #expect((result == .reject) == matches)
    }

    @Test func prefixLengthBounds() {
        let rules = [rule("10.0.0.0/8", .in, .reject) { $0.prefixLength = BGPFilterPrefixLength(min: 16, max: 24) }]
        #expect(eval(rules, r("10.1.0.0/16")) == .reject)
        #expect(eval(rules, r("10.1.2.0/24")) == .reject)
        #expect(eval(rules, r("10.1.2.0/25")) == .noMatch(r("10.1.2.0/25")))
        #expect(eval(rules, r("10.0.0.0/8")) == .noMatch(r("10.0.0.0/8")))
    }

    @Test func firstMatchWinsAndDefaultAccepts() {
        let rules = [rule("10.0.0.0/16", .in, .accept), rule("10.0.0.0/8", .in, .reject)]
        #expect(eval(rules, r("10.0.5.0/24")) == .accept(r("10.0.5.0/24")))
        #expect(eval(rules, r("10.9.0.0/24")) == .reject)
        let none = eval(rules, r("192.168.0.0/24"))
        #expect(none == .noMatch(r("192.168.0.0/24")) && none.accepted)
    }

    @Test func filtersInPeerOrder() {
        var a = BGPFilterSpec(); a.exportV4 = [rule("10.0.0.0/8", .in, .reject)]
        var b = BGPFilterSpec(); b.exportV4 = [rule("10.0.0.0/8", .in, .accept)]
        #expect(BGPFilterEvaluator.evaluate([a, b], .export, route: r("10.1.0.0/16"), peerType: .eBGP) == .reject)
        #expect(BGPFilterEvaluator.evaluate([b, a], .export, route: r("10.1.0.0/16"), peerType: .eBGP) == .accept(r("10.1.0.0/16")))
    }

    @Test func directionAndFamilySelectRules() {
        var spec = BGPFilterSpec(); spec.importV4 = [rule("", nil, .reject)]
        #expect(BGPFilterEvaluator.evaluate([spec], .import, route: r("10.0.0.0/24"), peerType: .eBGP) == .reject)
        #expect(BGPFilterEvaluator.evaluate([spec], .export, route: r("10.0.0.0/24"), peerType: .eBGP).accepted)
        #expect(BGPFilterEvaluator.evaluate([spec], .import, route: r("fd00::/64"), peerType: .eBGP).accepted)
    }

    @Test func peerTypeSourceInterface() {
        let ibgpOnly = [rule("", nil, .reject) { $0.peerType = .iBGP }]
        #expect(eval(ibgpOnly, r("10.0.0.0/24"), .iBGP) == .reject)
        #expect(eval(ibgpOnly, r("10.0.0.0/24"), .eBGP).accepted)
        let fromPeers = [rule("", nil, .reject) { $0.source = .remotePeers }]
        #expect(eval(fromPeers, r("10.0.0.0/24") { $0.source = .bgp }) == .reject)
        #expect(eval(fromPeers, r("10.0.0.0/24") { $0.source = .kernel }).accepted)
        let ifRule = [rule("", nil, .reject) { $0.interface = "eth*" }]
        #expect(eval(ifRule, r("10.0.0.0/24") { $0.interface = "eth0" }) == .reject)
        #expect(eval(ifRule, r("10.0.0.0/24") { $0.interface = "cali1" }).accepted)
        #expect(eval(ifRule, r("10.0.0.0/24")).accepted)
    }

    @Test func communityAsPathPriorityMatches() {
        let comm = [rule("", nil, .reject) { $0.communities = ["65000:100"] }]
        #expect(eval(comm, r("10.0.0.0/24") { $0.communities = ["65000:100"] }) == .reject)
        #expect(eval(comm, r("10.0.0.0/24")).accepted)
        let path = [rule("", nil, .reject) { $0.asPathPrefix = [65001, 65002] }]
        #expect(eval(path, r("10.0.0.0/24") { $0.asPath = [65001, 65002, 7] }) == .reject)
        #expect(eval(path, r("10.0.0.0/24") { $0.asPath = [7, 65001, 65002] }).accepted)
        let prio = [rule("", nil, .reject) { $0.priority = 512 }]
        #expect(eval(prio, r("10.0.0.0/24") { $0.priority = 512 }) == .reject)
        #expect(eval(prio, r("10.0.0.0/24")).accepted)
        let prio1024 = [rule("", nil, .reject) { $0.priority = 1024 }]
        #expect(eval(prio1024, r("10.0.0.0/24"), .eBGP, .export) == .reject)   // normalised default
        #expect(eval(prio1024, r("10.0.0.0/24"), .eBGP, .import).accepted)    // unset on import
    }

    @Test func operationsApplyOnAccept() {
        var add = BGPFilterOperation(); add.addCommunity = "65000:7"
        var prepend = BGPFilterOperation(); prepend.prependASPath = [65100, 65101]
        var prio = BGPFilterOperation(); prio.setPriority = 200
        let rules = [rule("10.0.0.0/8", .in, .accept) { $0.operations = [add, prepend, prio] }]
        guard case .accept(let out) = eval(rules, r("10.1.0.0/16") { $0.asPath = [1] }) else {
            Issue.record("expected accept"); return
        }
        #expect(out.communities == ["65000:7"] && out.asPath == [65100, 65101, 1] && out.priority == 200)
    }

    @Test func globMatching() {
        #expect(BGPFilterEvaluator.glob("*.cali", "wireguard.cali"))
        #expect(BGPFilterEvaluator.glob("eth?", "eth1"))
        #expect(!BGPFilterEvaluator.glob("eth?", "eth10"))
        #expect(BGPFilterEvaluator.glob("*", ""))
    }
}

@Suite struct HashNameTests {
    @Test func sha256KnownVectors() {
        #expect(SHA256.hexUpper(SHA256.hash("abc")) == "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
        #expect(SHA256.hexUpper(SHA256.hash("")) == "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")
        let long = String(repeating: "a", count: 1000)
        #expect(SHA256.hexUpper(SHA256.hash(long)) == "41EDECE42D63E8D9BF515A9BA6932E1C20CBC9F5A5D134645ADB5DB1B9737EA3")
    }

    /// confd's truncateBGPFilterName: at most 45 characters, else 28 + "_" + 16 hex digits.
    @Test func filterNamesAsConfd() {
        let exactly45 = String(repeating: "x", count: 45)
        #expect(BIRDRenderer.filterFunctionName(exactly45, .export, .v4) == "bgp_\(exactly45)_exportFilterV4")
        let long = "a-very-long-bgp-filter-name-that-does-not-fit-in-birds-symbol-limit"
        let name = BIRDRenderer.filterFunctionName(long, .import, .v6)
        let hash = String(SHA256.hexUpper(SHA256.hash(long)).prefix(16))
        #expect(name == "bgp_a-very-long-bgp-filter-name-_\(hash)_importFilterV6")
        #expect(name.utf8.count == 64)
    }
}
