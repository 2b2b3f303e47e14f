import BGPSpeaker
import BGPWire
import NetCore
import Testing

@Suite struct RouteTableTests {
    static let p = IPPrefix("10.0.0.0/24")!
    static func attrs(_ path: [UInt32], nh: String = "192.0.2.1", lp: UInt32? = nil, med: UInt32? = nil) -> RouteAttributes {
        RouteAttributes(path: PathAttributes(origin: .igp, asPath: ASPath(sequence: path), med: med, localPref: lp),
                        nextHop: IPAddress(nh)!)
    }
    static let ebgpA = RouteSource.peer(IPAddress("192.0.2.1")!, ebgp: true)
    static let ebgpB = RouteSource.peer(IPAddress("192.0.2.2")!, ebgp: true)
    static let ibgpC = RouteSource.peer(IPAddress("192.0.2.3")!, ebgp: false)

    @Test func bestPathOrder() {
        var t = RouteTable()
        let c1 = t.upsert(Route(prefix: Self.p, source: Self.ebgpA, attributes: Self.attrs([1, 2, 3])))
        #expect(c1)
        let c2 = t.upsert(Route(prefix: Self.p, source: Self.ebgpB, attributes: Self.attrs([4, 5])))
        #expect(c2)
        #expect(t.best(for: Self.p)?.source == Self.ebgpB)  // shorter AS path
        let c3 = t.upsert(Route(prefix: Self.p, source: Self.ibgpC, attributes: Self.attrs([7, 8, 9, 10], lp: 200)))
        #expect(c3)
        #expect(t.best(for: Self.p)?.source == Self.ibgpC)  // higher LOCAL_PREF wins first
        let c4 = t.upsert(Route(prefix: Self.p, source: .local, attributes: Self.attrs([])))
        #expect(c4)
        #expect(t.best(for: Self.p)?.source == .local)      // our own announcement wins
        let c5 = t.remove(prefix: Self.p, source: .local)
        #expect(c5)
        let c6 = t.removeAll(from: Self.ibgpC)
        #expect(c6 == [Self.p])
        #expect(t.best(for: Self.p)?.source == Self.ebgpB)
        let c7 = t.remove(prefix: Self.p, source: Self.ebgpA)
        #expect(!c7)  // not best: no change reported
    }

    @Test func medOnlyBetweenSameNeighbourAS() {
        var t = RouteTable()
        t.upsert(Route(prefix: Self.p, source: Self.ebgpB, attributes: Self.attrs([1, 9], med: 50)))
        t.upsert(Route(prefix: Self.p, source: Self.ebgpA, attributes: Self.attrs([1, 8], med: 10)))
        #expect(t.best(for: Self.p)?.source == Self.ebgpA)
    }

    static let local = ASNumber(65000)
    static func target(_ asn: UInt32, export: RoutePolicy? = .all, families: [UnicastFamily] = [.ipv4, .ipv6]) -> ExportTarget {
        ExportTarget(peer: PeerConfig(name: "x", address: IPAddress("198.51.100.2")!, asNumber: ASNumber(asn),
                                      addressFamilies: families, exportPolicy: export),
                     localAS: local, localAddress: IPAddress("198.51.100.1")!)
    }

    @Test func ebgpPrependsAndSetsNextHopSelf() throws {
        let r = Route(prefix: Self.p, source: Self.ibgpC, attributes: Self.attrs([65010], lp: 300, med: 7))
        let a = try #require(exportAttributes(for: r, to: Self.target(65001)))
        #expect(a.asPathText == "65000 65010" && a.nextHop == IPAddress("198.51.100.1"))
        #expect(a.path.localPref == nil && a.path.med == nil)
    }

    @Test func rfc8212NothingToEBGPWithoutPolicy() {
        let r = Route(prefix: Self.p, source: .local, attributes: Self.attrs([], nh: "0.0.0.0"))
        #expect(exportAttributes(for: r, to: Self.target(65001, export: nil)) == nil)
        #expect(exportAttributes(for: r, to: Self.target(65001, export: .none)) == nil)
        #expect(exportAttributes(for: r, to: Self.target(65000, export: nil)) != nil)  // iBGP default: all
    }

    @Test func ibgpRulesAndLoops() throws {
        // iBGP-learned routes never go to iBGP peers (RFC 4271 §9.2), eBGP-learned ones do.
        #expect(exportAttributes(for: Route(prefix: Self.p, source: Self.ibgpC, attributes: Self.attrs([1])), to: Self.target(65000)) == nil)
        let fromEBGP = try #require(exportAttributes(for: Route(prefix: Self.p, source: Self.ebgpA, attributes: Self.attrs([1])),
                                                     to: Self.target(65000)))
        #expect(fromEBGP.asPathText == "1" && fromEBGP.nextHop == IPAddress("192.0.2.1") && fromEBGP.path.localPref == 100)
        // Local announcement without a next hop: next hop self on iBGP too.
        let own = try #require(exportAttributes(for: Route(prefix: Self.p, source: .local, attributes: Self.attrs([], nh: "0.0.0.0")),
                                                to: Self.target(65000)))
        #expect(own.nextHop == IPAddress("198.51.100.1"))
        // Never back to the peer it came from; never to a peer already in the path.
        let back = Route(prefix: Self.p, source: .peer(IPAddress("198.51.100.2")!, ebgp: true), attributes: Self.attrs([65001]))
        #expect(exportAttributes(for: back, to: Self.target(65001)) == nil)
        #expect(exportAttributes(for: Route(prefix: Self.p, source: Self.ebgpA, attributes: Self.attrs([7, 65001])), to: Self.target(65001)) == nil)
        // Only configured families.
        let v6 = Route(prefix: IPPrefix("2001:db8::/32")!, source: .local, attributes: Self.attrs([], nh: "fd00::1"))
        #expect(exportAttributes(for: v6, to: Self.target(65001, families: [.ipv4])) == nil)
        #expect(exportAttributes(for: v6, to: Self.target(65001))?.nextHop == IPAddress("fd00::1"))
    }
}
