import BGPRIB
import BGPWire
import NetCore
import Testing

private func v4(_ s: String) -> IPv4Address { IPv4Address(s)! }
private func ip(_ s: String) -> IPAddress { IPAddress(s)! }
private func pfx(_ s: String) -> IPPrefix { IPPrefix(s)! }

private func ra(_ path: [UInt32] = [], nh: String = "192.0.2.1", lp: UInt32? = nil, med: UInt32? = nil,
                originator: String? = nil, clusters: [String] = []) -> RouteAttributes {
    RouteAttributes(path: PathAttributes(origin: .igp, asPath: ASPath(sequence: path), med: med, localPref: lp,
                                         originatorID: originator.map(v4), clusterList: clusters.map(v4)),
                    nextHop: ip(nh))
}

/// A RIB plus, per peer, the table that peer would hold after applying every drained batch.
private struct Harness {
    var rib: RIB
    var received: [PeerID: [IPPrefix: RouteAttributes]] = [:]
    static let me = LocalSpeaker(asn: 65000, routerID: v4("10.0.0.1"))

    init(local: LocalSpeaker = Harness.me) { rib = RIB(local: local) }

    mutating func peer(_ addr: String, asn: UInt32 = 65000, client: Bool = false, up: Bool = true,
                       families: Set<IPFamily> = [.v4, .v6], exportAll: Bool = true, allowASIn: Int = 0,
                       nextHop: NextHopMode = .auto) -> PeerID {
        let id = rib.addPeer(address: ip(addr), policy: RIBPeerPolicy(
            asn: asn, type: asn == 65000 ? .ibgp : .ebgp, isRRClient: client, allowASIn: allowASIn, nextHopMode: nextHop,
            exportAll: exportAll, families: families))
        if up { rib.peerUp(id, routerID: v4(addr), localAddress: ip("198.51.100.1")) }
        received[id] = [:]
        return id
    }

    /// Drains everything pending for `id` in small batches and applies it to its table.
    @discardableResult
    mutating func sync(_ id: PeerID, batch: Int = 3) -> [IPPrefix: RouteAttributes] {
        var t = received[id] ?? [:]
        while rib.hasPending(id) {
            let b = rib.drain(id, limit: batch)
            for p in b.withdrawn {
                #expect(t[p] != nil, "withdrawal of \(p) never announced")
                t[p] = nil
            }
            for (a, ps) in b.announced { for p in ps { t[p] = a } }
        }
        rib.reclaimEmptied()
        received[id] = t
        return t
    }
}

@Suite struct ExportRuleTests {
    static let me = LocalSpeaker(asn: 65000, routerID: v4("10.0.0.1"), clusterID: v4("10.0.0.100"))
    static func to(_ asn: UInt32, client: Bool = false, exportAll: Bool = true, families: Set<IPFamily> = [.v4, .v6],
                   nextHop: NextHopMode = .auto) -> ExportPolicy {
        ExportPolicy(type: asn == 65000 ? .ibgp : .ebgp, asn: asn, isRRClient: client, nextHopMode: nextHop,
                     exportAll: exportAll, families: families, localAddress: ip("198.51.100.1"))
    }
    static let p = pfx("10.0.0.0/24")
    static let ibgp = PathSource(type: .ibgp, routerID: v4("10.2.2.1"))
    static let client = PathSource(type: .ibgp, routerID: v4("10.2.2.1"), isRRClient: true)
    static let ebgp = PathSource(type: .ebgp, routerID: v4("10.1.1.1"))
    static let local = PathSource(type: .local, routerID: v4("10.0.0.1"))

    func export(_ a: RouteAttributes, prefix: IPPrefix = ExportRuleTests.p, from: PathSource, to: ExportPolicy,
                local: LocalSpeaker = ExportRuleTests.me) -> RouteAttributes? {
        RIBPolicy.export(a, prefix: prefix, from: from, to: to, local: local)
    }

    @Test func reflectionMatrix() throws {
        // From a client: to clients and non-clients; from a non-client: to clients only.
        #expect(export(ra(), from: Self.client, to: Self.to(65000, client: true)) != nil)
        #expect(export(ra(), from: Self.client, to: Self.to(65000)) != nil)
        #expect(export(ra(), from: Self.ibgp, to: Self.to(65000, client: true)) != nil)
        #expect(export(ra(), from: Self.ibgp, to: Self.to(65000)) == nil)
        let out = try #require(export(ra(), from: Self.client, to: Self.to(65000)))
        #expect(out.path.originatorID == v4("10.2.2.1"))
        #expect(out.path.clusterList == [v4("10.0.0.100")])
        #expect(out.nextHop == ip("192.0.2.1"))  // a reflector keeps the next hop
        // Not a reflector: no iBGP → iBGP at all (RFC 4271 §9.2).
        var plain = Self.me
        plain.clusterID = nil
        #expect(export(ra(), from: Self.client, to: Self.to(65000, client: true), local: plain) == nil)
        // An existing ORIGINATOR_ID is kept and our cluster prepended.
        let again = try #require(export(ra(originator: "7.7.7.7", clusters: ["9.9.9.9"]), from: Self.client, to: Self.to(65000)))
        #expect(again.path.originatorID == v4("7.7.7.7"))
        #expect(again.path.clusterList == [v4("10.0.0.100"), v4("9.9.9.9")])
    }

    @Test func ebgpPrependsSetsNextHopSelfAndStripsIBGPAttributes() throws {
        let out = try #require(export(ra([65010], lp: 300, med: 7, originator: "7.7.7.7", clusters: ["9.9.9.9"]),
                                      from: Self.ibgp, to: Self.to(65001)))
        #expect(out.asPathText == "65000 65010")
        #expect(out.nextHop == ip("198.51.100.1"))
        #expect(out.path.localPref == nil && out.path.med == nil && out.path.originatorID == nil && out.path.clusterList.isEmpty)
        // MED of our own routes is kept; `nextHop: keep` keeps the next hop.
        #expect(export(ra(med: 5), from: Self.local, to: Self.to(65001))?.path.med == 5)
        #expect(export(ra([65010]), from: Self.ebgp, to: Self.to(65001, nextHop: .keep))?.nextHop == ip("192.0.2.1"))
        // Not to a peer whose AS is already in the path.
        #expect(export(ra([7, 65001]), from: Self.ebgp, to: Self.to(65001)) == nil)
    }

    @Test func ibgpDefaultsAndNextHop() throws {
        let fromEBGP = try #require(export(ra([1]), from: Self.ebgp, to: Self.to(65000)))
        #expect(fromEBGP.asPathText == "1" && fromEBGP.nextHop == ip("192.0.2.1") && fromEBGP.path.localPref == 100)
        // Our announcement without a next hop: next hop self on iBGP too; `nextHop: self` forces it.
        #expect(export(ra(nh: "0.0.0.0"), from: Self.local, to: Self.to(65000))?.nextHop == ip("198.51.100.1"))
        #expect(export(ra([1]), from: Self.ebgp, to: Self.to(65000, nextHop: .self_))?.nextHop == ip("198.51.100.1"))
    }

    @Test func policyAndFamilies() {
        #expect(export(ra(), from: Self.local, to: Self.to(65001, exportAll: false)) == nil)  // RFC 8212 default
        let v6 = pfx("2001:db8::/32")
        #expect(export(ra(nh: "fd00::1"), prefix: v6, from: Self.local, to: Self.to(65001, families: [.v4])) == nil)
        // A v6 prefix over a v4 session: the announcement's own next hop.
        #expect(export(ra(nh: "fd00::1"), prefix: v6, from: Self.local, to: Self.to(65001))?.nextHop == ip("fd00::1"))
    }

    @Test func importLoopRejectionTable() {
        func a(_ path: [UInt32], originator: String? = nil, clusters: [String] = []) -> PathAttributes {
            PathAttributes(origin: .igp, asPath: ASPath(sequence: path), originatorID: originator.map(v4),
                           clusterList: clusters.map(v4))
        }
        let rows: [(PathAttributes, PeerType, Int, ImportRejection?)] = [
            (a([65001]), .ebgp, 0, nil),
            (a([65001, 65000]), .ebgp, 0, .asLoop(asn: 65000, occurrences: 1, allowed: 0)),
            (a([65001, 65000]), .ebgp, 1, nil),
            (a([65001, 65000, 65000]), .ebgp, 1, .asLoop(asn: 65000, occurrences: 2, allowed: 1)),
            (a([65001, 65000, 65000]), .ebgp, 2, nil),
            (a([], originator: "10.0.0.1"), .ibgp, 0, .originatorIsUs),
            (a([], originator: "10.0.0.2", clusters: ["10.0.0.100"]), .ibgp, 0, .clusterLoop(v4("10.0.0.100"))),
            (a([], originator: "10.0.0.2", clusters: ["10.0.0.99"]), .ibgp, 0, nil),
            // Without a configured cluster ID our router ID is the cluster ID.
        ]
        for (i, (attrs, type, allow, want)) in rows.enumerated() {
            #expect(RIBPolicy.importCheck(attrs, from: type, local: Self.me, allowASIn: allow) == want, "row \(i)")
        }
        let noCluster = LocalSpeaker(asn: 65000, routerID: v4("10.0.0.1"))
        #expect(RIBPolicy.importCheck(a([], clusters: ["10.0.0.1"]), from: .ibgp, local: noCluster) == .clusterLoop(v4("10.0.0.1")))
    }
}

@Suite struct RIBEngineTests {
    @Test func bestPathCandidatesAndReasons() {
        var h = Harness()
        let a = h.peer("10.1.1.1", asn: 65001), b = h.peer("10.1.1.2", asn: 65002), c = h.peer("10.2.2.3")
        let p = pfx("10.0.0.0/24")
        h.rib.announce(from: a, attributes: ra([65001, 1, 2]), prefixes: [p])
        h.rib.announce(from: b, attributes: ra([65002, 5]), prefixes: [p])
        #expect(h.rib.best(p)?.source == .peer(ip("10.1.1.2"), ebgp: true))
        h.rib.announce(from: c, attributes: ra([7, 8, 9, 10], lp: 200), prefixes: [p])
        let cands = h.rib.candidates(p)
        #expect(cands.map(\.peer) == [c, b, a])
        #expect(cands.map(\.best) == [true, false, false])
        #expect(cands[1].lossReason?.description == "lower LOCAL_PREF (100 < 200)")
        #expect(cands[2].lossReason?.description == "lower LOCAL_PREF (100 < 200)")
        // Our own announcement wins over everything but weight/LOCAL_PREF.
        h.rib.announce(from: .local, attributes: ra(nh: "0.0.0.0", lp: 200), prefixes: [p])
        #expect(h.rib.best(p)?.source == .local)
        #expect(h.rib.bestLearned(p)?.source == .peer(ip("10.2.2.3"), ebgp: false))
        h.rib.withdraw(from: .local, prefixes: [p])
        h.rib.withdraw(from: c, prefixes: [p])
        #expect(h.rib.candidates(p)[1].lossReason?.description == "longer AS_PATH (3 > 2)")
        // Peer down: its paths go.
        h.rib.peerDown(b, keepPaths: false)
        #expect(h.rib.best(p)?.source == .peer(ip("10.1.1.1"), ebgp: true))
        h.rib.peerDown(a, keepPaths: false)
        #expect(h.rib.best(p) == nil)
        #expect(h.rib.attributeSetCount == 0)
    }

    @Test func internsAttributeSetsAndFreesThem() {
        var h = Harness()
        let a = h.peer("10.1.1.1", asn: 65001)
        let ps = (0..<1000).map { pfx("10.\($0 / 256).\($0 % 256).0/24") }
        for k in 0..<10 { h.rib.announce(from: a, attributes: ra([65001], med: UInt32(k)), prefixes: ps[(k * 100)..<(k * 100 + 100)]) }
        #expect(h.rib.prefixCount == 1000)
        #expect(h.rib.attributeSetCount == 10)
        // Re-announcing with one set replaces the others; the old sets are freed.
        h.rib.announce(from: a, attributes: ra([65001], med: 99), prefixes: ps)
        #expect(h.rib.attributeSetCount == 1)
        h.rib.withdraw(from: a, prefixes: ps)
        #expect(h.rib.attributeSetCount == 0)
        #expect(h.rib.pathCount(a) == 0)
        // Freed in bulk (the index rebuilt), then the prefixes come back into reused slots.
        h.rib.reclaimEmptied()
        #expect(h.rib.prefixCount == 0)
        h.rib.announce(from: a, attributes: ra([65001]), prefixes: ps[0..<700])
        #expect(h.rib.prefixCount == 700)
        #expect(ps[0..<700].allSatisfy { h.rib.best($0) != nil } && ps[700...].allSatisfy { h.rib.best($0) == nil })
        h.rib.withdraw(from: a, prefixes: ps[0..<100])  // a few: removed one by one
        h.rib.reclaimEmptied()
        #expect(h.rib.prefixCount == 600)
        #expect(ps[100..<700].allSatisfy { h.rib.best($0) != nil } && ps[0..<100].allSatisfy { h.rib.best($0) == nil })
    }

    @Test func initialAdvertisementWithdrawalsAndSplitHorizon() {
        var h = Harness()
        let feeder = h.peer("10.1.1.1", asn: 65001)
        let late = h.peer("10.1.1.9", asn: 65009, up: false)
        let ps = (0..<50).map { pfx("10.9.\($0).0/24") }
        h.rib.announce(from: feeder, attributes: ra([65001]), prefixes: ps)
        // Never back to the peer it came from.
        #expect(h.sync(feeder).isEmpty)
        h.rib.peerUp(late, routerID: v4("10.1.1.9"), localAddress: ip("198.51.100.1"))
        let t = h.sync(late)
        #expect(t.count == 50)
        #expect(t[ps[0]]?.asPathText == "65000 65001")
        #expect(h.rib.sentCount(late) == 50)
        h.rib.withdraw(from: feeder, prefixes: ps[0..<10])
        #expect(h.sync(late).count == 40)
        // A route refresh resends everything still exported.
        h.rib.resend(late, family: .v4)
        #expect(h.sync(late).count == 40)
        #expect(h.rib.prefixCount == 40)
    }

    @Test func ibgpNotToIBGPUnlessReflecting() {
        var h = Harness()
        let i1 = h.peer("10.2.2.1"), i2 = h.peer("10.2.2.2")
        h.rib.announce(from: i1, attributes: ra(), prefixes: [pfx("10.5.0.0/24")])
        #expect(h.sync(i2).isEmpty)
        var rr = Harness(local: LocalSpeaker(asn: 65000, routerID: v4("10.0.0.1"), clusterID: v4("10.0.0.100")))
        let c1 = rr.peer("10.2.2.1", client: true), c2 = rr.peer("10.2.2.2", client: true)
        let n1 = rr.peer("10.2.2.3"), n2 = rr.peer("10.2.2.4")
        rr.rib.announce(from: c1, attributes: ra(nh: "10.2.2.1"), prefixes: [pfx("10.5.1.0/24")])
        rr.rib.announce(from: n1, attributes: ra(nh: "10.2.2.3"), prefixes: [pfx("10.5.3.0/24")])
        let atC2 = rr.sync(c2), atN2 = rr.sync(n2)
        #expect(Set(atC2.keys) == [pfx("10.5.1.0/24"), pfx("10.5.3.0/24")])
        #expect(Set(atN2.keys) == [pfx("10.5.1.0/24")])  // non-client to non-client: no
        #expect(atC2[pfx("10.5.1.0/24")]?.path.originatorID == v4("10.2.2.1"))
        #expect(atC2[pfx("10.5.3.0/24")]?.path.clusterList == [v4("10.0.0.100")])
        #expect(atC2[pfx("10.5.3.0/24")]?.nextHop == ip("10.2.2.3"))
        #expect(Set(rr.sync(c1).keys) == [pfx("10.5.3.0/24")])
        // A path carrying our cluster ID or our router ID as originator is a loop: dropped.
        #expect(rr.rib.announce(from: n2, attributes: ra(originator: "10.9.9.9", clusters: ["10.0.0.100"]),
                                prefixes: [pfx("10.5.4.0/24")]) == .clusterLoop(v4("10.0.0.100")))
        #expect(rr.rib.announce(from: n2, attributes: ra(originator: "10.0.0.1"), prefixes: [pfx("10.5.4.0/24")]) == .originatorIsUs)
        #expect(rr.rib.best(pfx("10.5.4.0/24")) == nil)
    }

    @Test func updateGroupsShareOneExport() {
        var h = Harness()
        let feeder = h.peer("10.1.1.1", asn: 65001)
        let m1 = h.peer("10.1.1.2", asn: 65002), m2 = h.peer("10.1.1.3", asn: 65002)
        h.rib.announce(from: feeder, attributes: ra([65001], med: 1), prefixes: [pfx("10.7.0.0/24"), pfx("10.7.1.0/24")])
        let b1 = h.rib.drain(m1, limit: 100), b2 = h.rib.drain(m2, limit: 100)
        #expect(b1.group == b2.group)
        #expect(b1.announced.count == 1 && b2.announced.count == 1)
        // Same group: the exported set is one shared object, not two equal copies.
        #expect(b1.announced[0].attributes == b2.announced[0].attributes)
        #expect(b1.announced[0].prefixes.count == 2)
    }

    @Test func allowASInAndFamilies() {
        var h = Harness()
        let strict = h.peer("10.1.1.1", asn: 65001), lax = h.peer("10.1.1.2", asn: 65002, allowASIn: 1)
        let v4only = h.peer("10.1.1.3", asn: 65003, families: [.v4])
        let p = pfx("10.8.0.0/24")
        #expect(h.rib.announce(from: strict, attributes: ra([65001, 65000]), prefixes: [p]) != nil)
        #expect(h.rib.announce(from: lax, attributes: ra([65002, 65000]), prefixes: [p]) == nil)
        #expect(h.rib.candidates(p).count == 1)
        h.rib.announce(from: v4only, attributes: ra([65003], nh: "fd00::9"), prefixes: [pfx("2001:db8::/32")])
        #expect(h.rib.pathCount(v4only) == 0)
    }

    @Test func gracefulRestartStaleMarks() {
        var h = Harness()
        let a = h.peer("10.1.1.1", asn: 65001)
        let ps = (0..<20).map { pfx("10.3.\($0).0/24") }
        h.rib.announce(from: a, attributes: ra([65001]), prefixes: ps)
        h.rib.peerDown(a, keepPaths: true)
        h.rib.markStale(a, families: [.v4])
        #expect(h.rib.staleCount(a) == 20)
        #expect(h.rib.candidates(ps[0]).first?.stale == true)
        h.rib.peerUp(a, routerID: v4("10.1.1.1"), localAddress: ip("198.51.100.1"))
        h.rib.announce(from: a, attributes: ra([65001]), prefixes: ps[0..<5])  // refreshed
        #expect(h.rib.staleCount(a) == 15)
        #expect(h.rib.sweepStale(a, families: [.v4]) == 15)
        #expect(h.rib.pathCount(a) == 5)
    }

    @Test func observesBestLearnedChanges() {
        var h = Harness()
        h.rib.setObserving(true)
        let a = h.peer("10.1.1.1", asn: 65001), b = h.peer("10.1.1.2", asn: 65002)
        let p = pfx("10.4.0.0/24")
        h.rib.announce(from: a, attributes: ra([65001, 9]), prefixes: [p])
        #expect(h.rib.takeLearnedChanges().map(\.best?.source) == [.peer(ip("10.1.1.1"), ebgp: true)])
        h.rib.announce(from: b, attributes: ra([65002, 9, 9]), prefixes: [p])  // worse: no change
        #expect(h.rib.takeLearnedChanges().isEmpty)
        h.rib.announce(from: .local, attributes: ra(nh: "0.0.0.0"), prefixes: [p])  // ours: never reported
        #expect(h.rib.takeLearnedChanges().isEmpty)
        h.rib.withdraw(from: a, prefixes: [p])
        #expect(h.rib.takeLearnedChanges().map(\.best?.source) == [.peer(ip("10.1.1.2"), ebgp: true)])
        h.rib.withdraw(from: b, prefixes: [p])
        let last = h.rib.takeLearnedChanges()
        #expect(last.count == 1 && last[0].best == nil)
    }

    /// The prefix index packs IPv4 keys into its buckets: every corner of the address space and
    /// of the length range, next to IPv6 prefixes, must stay distinct and findable (a first
    /// packing mistook 128.0.0.0 and above for IPv6 — found by the interop tests, not by the
    /// model test, whose prefixes were all in 10/8).
    @Test func prefixesAcrossTheAddressSpaceStayDistinct() {
        var h = Harness()
        let a = h.peer("10.1.1.1", asn: 65001)
        var ps: [IPPrefix] = [pfx("0.0.0.0/0"), pfx("255.255.255.255/32"), pfx("128.0.0.0/1"), pfx("192.0.2.0/24"),
                              pfx("192.0.2.0/25"), pfx("224.0.0.0/4"), pfx("::/0"), pfx("ffff::/16"), pfx("2001:db8::/32"),
                              pfx("2001:db8::/48"), pfx("::ffff:192.0.2.0/120")]
        for i in 0..<2000 { ps.append(IPPrefix(.v4(IPv4Address(UInt32(i) &* 2_654_435_761)), length: 8 + i % 25)) }
        ps = Array(Set(ps))
        h.rib.announce(from: a, attributes: ra([65001]), prefixes: ps.filter { $0.family == .v4 })
        h.rib.announce(from: a, attributes: ra([65001], nh: "fd00::1"), prefixes: ps.filter { $0.family == .v6 })
        #expect(h.rib.prefixCount == ps.count)
        #expect(ps.allSatisfy { h.rib.best($0)?.prefix == $0 })
        // Announced again: no new prefixes; withdrawn: all gone, findable no more.
        h.rib.announce(from: a, attributes: ra([65001], med: 1), prefixes: ps.filter { $0.family == .v4 })
        #expect(h.rib.prefixCount == ps.count)
        h.rib.withdraw(from: a, prefixes: ps)
        h.rib.reclaimEmptied()
        #expect(h.rib.prefixCount == 0 && ps.allSatisfy { h.rib.best($0) == nil })
    }

    @Test func observesTheECMPSetWhenAsked() {
        var h = Harness()
        h.rib.setObserving(true, multipath: true)
        let a = h.peer("10.1.1.1", asn: 65001), b = h.peer("10.1.1.2", asn: 65001), c = h.peer("10.1.1.3", asn: 65001)
        let p = pfx("10.4.0.0/24")
        h.rib.announce(from: a, attributes: ra([65001, 9], nh: "10.1.1.1"), prefixes: [p])
        #expect(h.rib.takeLearnedChanges().map { $0.multipath.map(\.attributes.nextHop) } == [[ip("10.1.1.1")]])
        // An equal path (differs only at the router-ID step) joins the set; the best is unchanged.
        h.rib.announce(from: b, attributes: ra([65001, 9], nh: "10.1.1.2"), prefixes: [p])
        let two = h.rib.takeLearnedChanges()
        #expect(two.count == 1 && two[0].best?.attributes.nextHop == ip("10.1.1.1"))
        #expect(two[0].multipath.map(\.attributes.nextHop) == [ip("10.1.1.1"), ip("10.1.1.2")])
        // A worse path (higher MED from the same AS) does not.
        h.rib.announce(from: c, attributes: ra([65001, 9], nh: "10.1.1.3", med: 5), prefixes: [p])
        #expect(h.rib.takeLearnedChanges().isEmpty)
        h.rib.withdraw(from: a, prefixes: [p])
        #expect(h.rib.takeLearnedChanges().map { $0.multipath.map(\.attributes.nextHop) } == [[ip("10.1.1.2")]])
    }

    /// Random announcements, withdrawals, flaps and drains against a model that recomputes
    /// everything from scratch: after each step, every prefix's best path and every peer's
    /// received table (built only from drained batches) must match.
    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func matchesAModelUnderRandomOperations(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var h = Harness(local: LocalSpeaker(asn: 65000, routerID: v4("10.0.0.1"), clusterID: v4("10.0.0.100")))
        let specs: [(String, UInt32, Bool)] = [("10.1.1.1", 65001, false), ("10.1.1.2", 65002, false),
                                               ("10.2.2.1", 65000, true), ("10.2.2.2", 65000, false),
                                               ("10.2.2.3", 65000, true)]
        let ids = specs.map { h.peer($0.0, asn: $0.1, client: $0.2) }
        var model: [PeerID: [IPPrefix: RouteAttributes]] = Dictionary(uniqueKeysWithValues: ids.map { ($0, [:]) })
        var up = Set(ids)
        let prefixes = (0..<40).map { pfx("10.6.\($0).0/24") } + (0..<8).map { pfx("2001:db8:\($0)::/48") }
        for _ in 0..<400 {
            let k = Int(rng.next() % UInt64(ids.count))
            let id = ids[k]
            switch rng.next() % 10 {
            case 0...4 where up.contains(id):
                let ps = (0..<(1 + rng.next() % 6)).map { _ in prefixes[Int(rng.next() % UInt64(prefixes.count))] }
                let v6 = ps[0].family == .v6
                // iBGP peers do not prepend: their paths never carry our AS.
                let first: [UInt32] = specs[k].1 == 65000 ? [] : [specs[k].1]
                let attrs = ra(rng.next() % 2 == 0 ? first : first + [7], nh: v6 ? "fd00::\(k + 1)" : specs[k].0,
                               lp: rng.next() % 3 == 0 ? 200 : nil, med: UInt32(rng.next() % 3))
                let same = ps.filter { $0.family == ps[0].family }
                h.rib.announce(from: id, attributes: attrs, prefixes: same)
                for p in same { model[id]![p] = attrs }
            case 5...6 where up.contains(id):
                let ps = (0..<(1 + rng.next() % 4)).map { _ in prefixes[Int(rng.next() % UInt64(prefixes.count))] }
                h.rib.withdraw(from: id, prefixes: ps)
                for p in ps { model[id]![p] = nil }
            case 7:
                if up.remove(id) != nil {
                    h.rib.peerDown(id, keepPaths: false)
                    model[id] = [:]
                    h.received[id] = [:]
                } else {
                    up.insert(id)
                    h.rib.peerUp(id, routerID: v4(specs[k].0), localAddress: ip("198.51.100.1"))
                }
            default:
                if up.contains(id) { h.sync(id, batch: 1 + Int(rng.next() % 7)) }
            }
            // Best path of every prefix, from scratch.
            for p in prefixes {
                var best: (PathCandidate, RouteAttributes)?
                for (i, id) in ids.enumerated() {
                    guard let a = model[id]?[p] else { continue }
                    var store = AttributeStore()
                    let c = PathCandidate(prefix: p, peer: PeerInfo(address: ip(specs[i].0), routerID: v4(specs[i].0),
                                                                   asn: specs[i].1, type: specs[i].1 == 65000 ? .ibgp : .ebgp),
                                          attributes: store.intern(a.path))
                    if let b = best { if BestPath.decide(c, b.0).aWins { best = (c, a) } } else { best = (c, a) }
                }
                #expect(h.rib.best(p)?.attributes == best?.1, "prefix \(p)")
            }
        }
        // Every Established peer, once drained, holds exactly the export of every best path.
        for (i, id) in ids.enumerated() where up.contains(id) {
            let t = h.sync(id)
            let me = h.rib.local
            let policy = ExportPolicy(type: specs[i].1 == 65000 ? .ibgp : .ebgp, asn: specs[i].1, isRRClient: specs[i].2,
                                      families: [.v4, .v6], localAddress: ip("198.51.100.1"))
            var want: [IPPrefix: RouteAttributes] = [:]
            for p in prefixes {
                guard let c = h.rib.candidates(p).first, c.peer != id else { continue }
                let j = ids.firstIndex(of: c.peer)!
                let src = PathSource(type: specs[j].1 == 65000 ? .ibgp : .ebgp, routerID: v4(specs[j].0), isRRClient: specs[j].2)
                want[p] = RIBPolicy.export(c.route.attributes, prefix: p, from: src, to: policy, local: me)
            }
            #expect(t == want, "peer \(specs[i].0)")
        }
    }
}

/// A small deterministic generator for the model test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
