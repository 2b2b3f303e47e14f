import BGPRIB
import BGPWire
import NetCore
import Testing

private func ip(_ s: String) -> IPv4Address { IPv4Address(s)! }
private let pfx = IPPrefix("10.0.0.0/24")!

private func peer(_ addr: String, rid: String? = nil, asn: UInt32 = 65001, _ type: PeerType = .ebgp,
                  client: Bool = false) -> PeerInfo {
    PeerInfo(address: .v4(ip(addr)), routerID: ip(rid ?? addr), asn: asn, type: type, isRRClient: client)
}

private func cand(_ store: inout AttributeStore, _ p: PeerInfo, _ attrs: PathAttributes, weight: UInt32 = 0,
                  prefix: IPPrefix = pfx) -> PathCandidate {
    PathCandidate(prefix: prefix, peer: p, attributes: store.intern(attrs), weight: weight)
}

private func attrs(path: [UInt32] = [65001], origin: Origin = .igp, med: UInt32? = nil, lp: UInt32? = nil,
                   originator: String? = nil, clusters: [String] = []) -> PathAttributes {
    PathAttributes(origin: origin, asPath: ASPath(sequence: path), nextHop: ip("192.0.2.1"), med: med,
                   localPref: lp, originatorID: originator.map(ip), clusterList: clusters.map(ip))
}

@Suite struct AttributeStoreTests {
    @Test func sameAttributesShareOneObject() {
        var s = AttributeStore()
        let a = s.intern(attrs(med: 5)), b = s.intern(attrs(med: 5)), c = s.intern(attrs(med: 6))
        #expect(a === b)
        #expect(a !== c)
        #expect(s.count == 2)
    }

    @Test func purgeDropsUnreferencedSets() {
        var s = AttributeStore()
        let kept = s.intern(attrs(med: 1))
        _ = s.intern(attrs(med: 2))
        #expect(s.purge() == 1)
        #expect(s.count == 1)
        #expect(s.intern(attrs(med: 1)) === kept)
    }
}

@Suite struct BestPathTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var better: PathCandidate
        var worse: PathCandidate
        var reason: String
        var description: String { name }
    }

    static let cases: [Case] = {
        var s = AttributeStore()
        let e1 = peer("10.1.1.1", asn: 65001), e2 = peer("10.1.1.2", asn: 65002)
        let i1 = peer("10.2.2.1", asn: 65000, .ibgp), i2 = peer("10.2.2.2", asn: 65000, .ibgp)
        let loc = peer("127.0.0.1", asn: 65000, .local)
        return [
            Case(name: "weight", better: cand(&s, e1, attrs(lp: 50), weight: 10), worse: cand(&s, e2, attrs(lp: 500)),
                 reason: "lower weight (0 < 10)"),
            Case(name: "local-pref", better: cand(&s, i1, attrs(lp: 200)), worse: cand(&s, i2, attrs()),
                 reason: "lower LOCAL_PREF (100 < 200)"),
            Case(name: "local origin", better: cand(&s, loc, attrs(path: [65009, 65009])),
                 worse: cand(&s, e1, attrs()), reason: "not locally originated"),
            Case(name: "as-path", better: cand(&s, e1, attrs(path: [65001])),
                 worse: cand(&s, e2, attrs(path: [65002, 65003])), reason: "longer AS_PATH (2 > 1)"),
            Case(name: "origin", better: cand(&s, e1, attrs(origin: .igp)),
                 worse: cand(&s, e2, attrs(path: [65002], origin: .incomplete)),
                 reason: "worse ORIGIN (incomplete > IGP)"),
            Case(name: "med same AS", better: cand(&s, e1, attrs(med: 5)),
                 worse: cand(&s, peer("10.1.1.3", asn: 65001), attrs(med: 10)), reason: "higher MED (10 > 5)"),
            Case(name: "missing MED is 0", better: cand(&s, e1, attrs()),
                 worse: cand(&s, peer("10.1.1.0", asn: 65001), attrs(med: 1)), reason: "higher MED (1 > 0)"),
            Case(name: "med ignored across AS -> router ID", better: cand(&s, e1, attrs(med: 50)),
                 worse: cand(&s, e2, attrs(path: [65002], med: 1)),
                 reason: "higher router ID (10.1.1.2 > 10.1.1.1)"),
            Case(name: "ebgp over ibgp", better: cand(&s, peer("10.9.9.9", asn: 65001), attrs()),
                 worse: cand(&s, i1, attrs()), reason: "iBGP path (eBGP preferred)"),
            Case(name: "originator id as router id", better: cand(&s, i2, attrs(originator: "1.1.1.1")),
                 worse: cand(&s, i1, attrs()), reason: "higher router ID (10.2.2.1 > 1.1.1.1)"),
            Case(name: "cluster list", better: cand(&s, i2, attrs(originator: "1.1.1.1", clusters: ["9.9.9.9"])),
                 worse: cand(&s, i1, attrs(originator: "1.1.1.1", clusters: ["9.9.9.9", "8.8.8.8"])),
                 reason: "longer CLUSTER_LIST (2 > 1)"),
            Case(name: "peer address", better: cand(&s, peer("10.1.1.1", rid: "5.5.5.5"), attrs()),
                 worse: cand(&s, peer("10.1.1.7", rid: "5.5.5.5"), attrs()),
                 reason: "higher peer address (10.1.1.7 > 10.1.1.1)"),
        ]
    }()

    @Test(arguments: cases)
    func decidesBothOrders(c: Case) {
        let ab = BestPath.compare(c.better, c.worse), ba = BestPath.compare(c.worse, c.better)
        #expect(ab.winner == c.better)
        #expect(ba.winner == c.better)
        #expect(ab.reason.description == c.reason)
        #expect(ba.reason.description == c.reason)
    }

    @Test func multipathEligibility() {
        var s = AttributeStore()
        let a = cand(&s, peer("10.1.1.1", asn: 65001), attrs())
        let b = cand(&s, peer("10.1.1.2", asn: 65001), attrs())
        let c = cand(&s, peer("10.1.1.3", asn: 65001), attrs(med: 9))
        #expect(BestPath.multipathEqual(a, b))
        #expect(!BestPath.multipathEqual(a, c))
    }
}

