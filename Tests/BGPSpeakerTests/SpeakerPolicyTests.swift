import BGPRIB
import BGPSpeaker
import BGPWire
import CtlCore
import Foundation
import Logging
import NetCore
import Testing
import TestSupport

/// The speaker's policy features end to end, between in-process speakers over real loopback
/// sockets: maxPrefixes (Cease/1 and the FSM's idle-hold restart), import and export BGPFilters
/// (reject, addCommunity, prependASPath, setPriority), best-path selection with the loss reason
/// through `routes()`, and ROUTE-REFRESH after an import filter change on `reload`.
///
/// Topology: the speaker under test, A, listens on 127.0.0.1 (kernel-chosen port, so parallel
/// runs never collide) and is passive towards every peer; the others (127.0.0.2, .3, ...) dial
/// it from their own address and do not listen. A's configuration can therefore be reloaded
/// without knowing anyone's port.
@Suite(.serialized) struct SpeakerPolicyTests {
    static let logger = SpeakerLoopbackTests.logger

    static let aAddr = "127.0.0.1"
    static let aAS: UInt32 = 65001

    /// One peer as seen by A: its address, AS, what it announces, and what A applies to it.
    struct Neighbour {
        var addr: String
        var asn: UInt32
        var announce: [String] = []
        /// A's side.
        var filters: [String] = []
        var maxPrefixes: Int? = nil
        var rrClient = false
        var allowASIn = 0
        /// The neighbour's side: its own filters towards A (by name, from `Lab.filters`).
        var ownFilters: [String] = []
    }

    final class Lab {
        let dir: TempDir
        let a: Speaker
        var others: [String: Speaker] = [:]
        init(dir: TempDir, a: Speaker) { self.dir = dir; self.a = a }
        subscript(_ addr: String) -> Speaker { others[addr]! }
        func stop() {
            for s in others.values { s.stop() }
            a.stop()
            dir.cleanup()
        }
    }

    static func routerID(_ addr: String) -> IPv4Address {
        IPv4Address(10, 0, 0, IPAddress(addr)!.bytes.last!)
    }

    /// Starts A (listening, passive towards every neighbour) and then every neighbour (dialing A).
    static func lab(aAnnounce: [String] = [], neighbours: [Neighbour], filters: [RouteFilter] = [],
                    clusterID: IPv4Address? = nil) throws -> Lab {
        let dir = try TempDir("twill-pol")
        let byName = Dictionary(uniqueKeysWithValues: filters.map { ($0.name, $0) })
        let aPeers = neighbours.map { n in
            PeerConfig(name: n.addr, address: IPAddress(n.addr)!, asNumber: ASNumber(n.asn), passive: true,
                       holdTime: .init(seconds: 9), importPolicy: .all, exportPolicy: .all,
                       routeReflectorClient: n.rrClient, maxPrefixes: n.maxPrefixes, allowASIn: n.allowASIn,
                       filters: n.filters)
        }
        let a = Speaker(config: SpeakerConfig(routerID: routerID(aAddr), asNumber: ASNumber(aAS),
                                              listen: ListenConfig(address: IPAddress(aAddr)!, port: 0),
                                              controlSocket: dir.file("a.sock"), peers: aPeers,
                                              announce: aAnnounce.map { Announcement(prefix: IPPrefix($0)!) },
                                              clusterID: clusterID, filters: byName),
                        logger: logger)
        try a.start()
        let lab = Lab(dir: dir, a: a)
        do {
            let port = try #require(a.listeningAddresses().first?.port)
            for n in neighbours {
                let toA = PeerConfig(name: "a", address: IPAddress(aAddr)!, port: port, asNumber: ASNumber(aAS),
                                     holdTime: .init(seconds: 9), sourceAddress: IPAddress(n.addr)!,
                                     importPolicy: .all, exportPolicy: .all, filters: n.ownFilters)
                let s = Speaker(config: SpeakerConfig(routerID: routerID(n.addr), asNumber: ASNumber(n.asn),
                                                      listen: ListenConfig(enabled: false), peers: [toA],
                                                      announce: n.announce.map { Announcement(prefix: IPPrefix($0)!) },
                                                      filters: byName),
                                logger: logger)
                try s.start()
                lab.others[n.addr] = s
            }
        } catch {
            lab.stop()
            throw error
        }
        return lab
    }

    static func up(_ s: Speaker) -> Bool { s.peerStatuses().allSatisfy { $0.state == "up" } }
    static func status(_ s: Speaker, _ peer: String) -> PeerStatus? { s.peerStatuses().first { $0.peerAddress == peer } }
    static func best(_ s: Speaker, _ prefix: String) -> RouteStatus? { s.routes().first { $0.prefix == prefix && $0.best } }
    /// Prefixes `s` holds a path for from `peer`, sorted.
    static func held(_ s: Speaker, from peer: String) -> [String] {
        s.routes().filter { $0.peer == peer }.map(\.prefix).sorted()
    }
    static func allUp(_ lab: Lab) -> Bool { up(lab.a) && lab.others.values.allSatisfy(up) }

    // MARK: a. maxPrefixes

    /// B sends 5 prefixes to A, whose limit for B is 3: A closes the session with Cease/1
    /// (RFC 4486), drops B's routes, and after the FSM's idle hold the session comes back and is
    /// closed again for the same reason, as long as B keeps sending too many.
    @Test func maxPrefixesClosesWithCeaseAndKeepsClosingWhileExceeded() throws {
        let b = "127.0.0.2"
        let lab = try Self.lab(neighbours: [
            Neighbour(addr: b, asn: 65002, announce: (1...5).map { "10.20.\($0).0/24" }, maxPrefixes: 3),
        ])
        defer { lab.stop() }
        func info(_ s: Speaker, _ peer: String) -> String { Self.status(s, peer)?.info ?? "" }
        func count(_ s: Speaker, _ peer: String) -> Int { Self.status(s, peer)?.establishedCount ?? 0 }

        // B sees the NOTIFICATION A sent (info shows it while the session is down).
        #expect(eventually(timeout: 10) {
            count(lab[b], Self.aAddr) >= 1 && info(lab[b], Self.aAddr).contains("Maximum Number of Prefixes Reached")
        }, "B's info: \(info(lab[b], Self.aAddr))")
        // Graceful restart (on by default) negotiated the N bit: the Cease goes as Hard Reset 6/9 around 6/1.
        #expect(eventually(timeout: 5) { info(lab.a, b).contains("6/1 Cease: Maximum Number of Prefixes Reached") },
                "A's info: \(info(lab.a, b))")
        // A keeps none of B's routes (a max-prefix Cease is a hard reset, RFC 8538 §5: no
        // graceful-restart retention).
        #expect(eventually(timeout: 5) { Self.status(lab.a, b)?.state != "up" && Self.held(lab.a, from: b).isEmpty },
                "A holds \(Self.held(lab.a, from: b))")

        // The FSM restarts the session (idle hold), B sends its 5 prefixes again, A closes again.
        #expect(eventually(timeout: 20) {
            count(lab.a, b) >= 2 && Self.status(lab.a, b)?.state != "up"
                && info(lab.a, b).contains("Maximum Number of Prefixes Reached")
        }, "A: established \(count(lab.a, b)) times, info \(info(lab.a, b))")
        #expect(eventually(timeout: 5) { Self.held(lab.a, from: b).isEmpty })

        // Within the limit the session stays: B withdraws two prefixes, and the next attempt sticks.
        var cfg = lab[b].config
        cfg.announce.removeLast(2)
        try lab[b].reload(cfg)
        #expect(eventually(timeout: 30) { Self.held(lab.a, from: b).count == 3 && Self.up(lab.a) },
                "A holds \(Self.held(lab.a, from: b)), info \(info(lab.a, b))")
        let n = count(lab.a, b)
        #expect(!eventually(timeout: 1.5) { count(lab.a, b) != n || !Self.up(lab.a) }, "the session was reset within the limit")
    }

    /// A limit lowered by `reload` below what the peer already sent applies at once, as BIRD's
    /// `channel_reconfigure` (it re-verifies changed limits) and FRR's `maximum-prefix` do: A
    /// sends Cease/1 without waiting for B's next UPDATE (B sends none: its table is stable).
    ///
    /// A limit lowered by `reload` applies at once, not at the peer's next UPDATE.
    @Test func maxPrefixesLoweredOnReloadAppliesAtOnce() throws {
        let b = "127.0.0.2"
        let lab = try Self.lab(neighbours: [
            Neighbour(addr: b, asn: 65002, announce: (1...5).map { "10.21.\($0).0/24" }),
        ])
        defer { lab.stop() }
        #expect(eventually(timeout: 10) { Self.allUp(lab) && Self.held(lab.a, from: b).count == 5 })
        var cfg = lab.a.config
        cfg.peers[0].maxPrefixes = 3
        try lab.a.reload(cfg)
        #expect(eventually(timeout: 5) {
            (Self.status(lab.a, b)?.info ?? "").contains("Maximum Number of Prefixes Reached")
                && Self.held(lab.a, from: b).isEmpty
        }, "A: \(Self.status(lab.a, b)?.info ?? "?"), holds \(Self.held(lab.a, from: b).count) of B's routes")
    }

    // MARK: b. import filter

    /// A's import filter for B rejects 10.9.0.0/16 `In` up to /24 and accepts the rest, adding a
    /// community. A holds only what passed; C (iBGP from A) receives those with the community.
    @Test func importFilterRejectsAndAddsCommunity() throws {
        let b = "127.0.0.2", c = "127.0.0.3"
        let filter = RouteFilter(name: "in-b", importV4: [
            FilterRule(cidr: IPPrefix("10.9.0.0/16")!, matchOperator: .in, prefixLength: .init(max: 24), action: .reject),
            FilterRule(action: .accept, operations: [.addCommunity(FilterCommunity("65001:100")!)]),
        ])
        let lab = try Self.lab(neighbours: [
            Neighbour(addr: b, asn: 65002, announce: ["10.9.0.0/16", "10.9.1.0/24", "10.9.2.128/25", "10.8.0.0/16"],
                      filters: ["in-b"]),
            Neighbour(addr: c, asn: Self.aAS),
        ], filters: [filter])
        defer { lab.stop() }
        #expect(eventually(timeout: 10) { Self.allUp(lab) })
        #expect(eventually(timeout: 5) { Self.held(lab.a, from: b) == ["10.8.0.0/16", "10.9.2.128/25"] },
                "A holds \(Self.held(lab.a, from: b))")
        // B sent 4, A keeps 2: the rejected ones are not counted as received.
        #expect(Self.status(lab.a, b)?.prefixesReceived == 2)

        let want = Community(asn: 65001, local: 100)
        #expect(eventually(timeout: 5) {
            let got = lab[c].learnedBestRoutes()
            return got.map(\.prefix.description) == ["10.8.0.0/16", "10.9.2.128/25"]
                && got.allSatisfy { $0.attributes.path.communities.contains(want) }
        }, "C learned \(lab[c].learnedBestRoutes().map { "\($0.prefix) \($0.attributes.path.communities)" })")
        // iBGP from A: next hop kept (B's address), AS path B's.
        #expect(Self.best(lab[c], "10.8.0.0/16")?.nextHop == b && Self.best(lab[c], "10.8.0.0/16")?.asPath == "65002")
    }

    // MARK: c. export filter

    /// A's export filter towards B (iBGP) and D (eBGP) prepends 65100 twice and sets priority 200
    /// on 10.1.0.0/24 only. B sees the prepended path and LOCAL_PREF 2147483647 − 200; D sees
    /// our AS in front of the prepended ones and no LOCAL_PREF (never sent over eBGP); the other
    /// prefix is untouched.
    @Test func exportFilterPrependsAndSetsPriority() throws {
        let b = "127.0.0.2", d = "127.0.0.4"
        let filter = RouteFilter(name: "out", exportV4: [
            FilterRule(cidr: IPPrefix("10.1.0.0/24")!, matchOperator: .equal, action: .accept,
                       operations: [.prependASPath([65100, 65100]), .setPriority(200)]),
        ])
        let lab = try Self.lab(aAnnounce: ["10.1.0.0/24", "10.2.0.0/24"], neighbours: [
            Neighbour(addr: b, asn: Self.aAS, filters: ["out"]),
            Neighbour(addr: d, asn: 65004, filters: ["out"]),
        ], filters: [filter])
        defer { lab.stop() }
        #expect(eventually(timeout: 10) { Self.allUp(lab) })
        #expect(eventually(timeout: 5) { Self.best(lab[b], "10.1.0.0/24") != nil && Self.best(lab[b], "10.2.0.0/24") != nil })
        let bp = try #require(Self.best(lab[b], "10.1.0.0/24"))
        #expect(bp.asPath == "65100 65100")
        #expect(bp.localPref == UInt32(2_147_483_647 - 200))
        let bo = try #require(Self.best(lab[b], "10.2.0.0/24"))
        #expect(bo.asPath == "" && bo.localPref == 100)

        #expect(eventually(timeout: 5) { Self.best(lab[d], "10.1.0.0/24") != nil && Self.best(lab[d], "10.2.0.0/24") != nil })
        let dp = try #require(Self.best(lab[d], "10.1.0.0/24"))
        #expect(dp.asPath == "65001 65100 65100" && dp.nextHop == Self.aAddr)
        #expect(dp.localPref == nil)
        #expect(Self.best(lab[d], "10.2.0.0/24")?.asPath == "65001")

        // An export filter change on reload re-sends to the peers using it, without a reset:
        // now 10.2.0.0/24 is rejected towards both and 10.1.0.0/24 goes out unchanged.
        var cfg = lab.a.config
        cfg.filters["out"] = RouteFilter(name: "out", exportV4: [
            FilterRule(cidr: IPPrefix("10.2.0.0/24")!, matchOperator: .equal, action: .reject),
        ])
        try lab.a.reload(cfg)
        #expect(eventually(timeout: 5) {
            Self.best(lab[b], "10.2.0.0/24") == nil && Self.best(lab[d], "10.2.0.0/24") == nil
                && Self.best(lab[b], "10.1.0.0/24")?.asPath == "" && Self.best(lab[b], "10.1.0.0/24")?.localPref == 100
                && Self.best(lab[d], "10.1.0.0/24")?.asPath == "65001"
        }, "B: \(lab[b].routes()), D: \(lab[d].routes())")
        #expect(lab.a.peerStatuses().map(\.establishedCount) == [1, 1])
    }

    // MARK: d. best path with reasons

    /// A learns 10.5.0.0/24 from B (AS path 65002) and C (65003 65003, prepended by C's export
    /// filter): B's is best, C's lost on AS path length; once B withdraws it C's is best.
    @Test func bestPathAndLossReasonThroughRoutes() throws {
        let b = "127.0.0.2", c = "127.0.0.3"
        let prepend = RouteFilter(name: "prepend", exportV4: [
            FilterRule(action: .accept, operations: [.prependASPath([65003])]),
        ])
        let lab = try Self.lab(neighbours: [
            Neighbour(addr: b, asn: 65002, announce: ["10.5.0.0/24"]),
            Neighbour(addr: c, asn: 65003, announce: ["10.5.0.0/24"], ownFilters: ["prepend"]),
        ], filters: [prepend])
        defer { lab.stop() }
        #expect(eventually(timeout: 10) { Self.allUp(lab) })
        func paths() -> [RouteStatus] { lab.a.routes().filter { $0.prefix == "10.5.0.0/24" } }
        #expect(eventually(timeout: 5) { paths().count == 2 }, "A has \(paths())")
        let got = paths()
        // Best first, then the loser with its reason.
        #expect(got.map(\.peer) == [b, c])
        #expect(got.map(\.best) == [true, false])
        #expect(got.map(\.asPath) == ["65002", "65003 65003"])
        #expect(got[0].reason == nil)
        #expect(got[1].reason == "longer AS_PATH (2 > 1)")

        // `twillctl node routes` over A's control socket: both paths, best first, the reason.
        let sock = lab.dir.file("a.sock")
        let table = try NodeStatusCommand.routes(socketPath: sock, json: false)
        // Cells: prefix, next hop, AS path, peer, local pref, MED, best, reason.
        let rows = table.split(separator: "\n").filter { $0.contains("10.5.0.0/24") }.map { row in
            row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        #expect(rows.map { [$0[0], $0[3], $0[6], $0[7]] } == [
            ["10.5.0.0/24", b, "*", ""],
            ["10.5.0.0/24", c, "", "longer AS_PATH (2 > 1)"],
        ], "\(table)")
        let json = try JSONDecoder().decode([NodeRouteStatus].self,
                                            from: Data(try NodeStatusCommand.routes(socketPath: sock, json: true).utf8))
        #expect(json.map(\.peer) == [b, c] && json.map(\.reason) == [nil, "longer AS_PATH (2 > 1)"])

        var cfg = lab[b].config
        cfg.announce = []
        try lab[b].reload(cfg)
        #expect(eventually(timeout: 5) { paths().count == 1 }, "A has \(paths())")
        let after = paths()
        #expect(after.map(\.peer) == [c] && after.first?.best == true && after.first?.reason == nil)
    }

    // MARK: e. route refresh

    /// Changing B's import filter on A with `reload` (SIGHUP) makes A ask B for a ROUTE-REFRESH
    /// (RFC 2918, enhanced per RFC 7313 between two Twills): the newly rejected prefix goes, the previously rejected one appears, and the
    /// session is not reset. Dropping the filter from the peer lets everything in, again without
    /// a reset.
    @Test func importFilterChangeOnReloadRefreshesWithoutReset() throws {
        let b = "127.0.0.2"
        func rejecting(_ p: String) -> RouteFilter {
            RouteFilter(name: "in-b", importV4: [FilterRule(cidr: IPPrefix(p)!, matchOperator: .equal, action: .reject)])
        }
        let lab = try Self.lab(neighbours: [
            Neighbour(addr: b, asn: 65002, announce: ["10.6.0.0/24", "10.7.0.0/24"], filters: ["in-b"]),
        ], filters: [rejecting("10.7.0.0/24")])
        defer { lab.stop() }
        func count() -> [Int?] { [Self.status(lab.a, b)?.establishedCount, Self.status(lab[b], Self.aAddr)?.establishedCount] }
        #expect(eventually(timeout: 10) { Self.allUp(lab) && Self.held(lab.a, from: b) == ["10.6.0.0/24"] },
                "A holds \(Self.held(lab.a, from: b))")
        #expect(count() == [1, 1])

        var cfg = lab.a.config
        cfg.filters["in-b"] = rejecting("10.6.0.0/24")
        try lab.a.reload(cfg)
        #expect(eventually(timeout: 5) { Self.held(lab.a, from: b) == ["10.7.0.0/24"] }, "A holds \(Self.held(lab.a, from: b))")
        #expect(count() == [1, 1] && Self.allUp(lab), "the filter change reset the session")
        // Both sides negotiated enhanced route refresh (RFC 7313): B bracketed its answer with
        // BoRR/EoRR, A marked B's routes stale at BoRR and nothing is left stale after EoRR.
        #expect(eventually(timeout: 5) { lab.a.routes().filter { $0.peer == b }.allSatisfy { $0.stale == nil } })

        cfg.peers[0].filters = []
        try lab.a.reload(cfg)
        #expect(eventually(timeout: 5) { Self.held(lab.a, from: b) == ["10.6.0.0/24", "10.7.0.0/24"] },
                "A holds \(Self.held(lab.a, from: b))")
        #expect(!eventually(timeout: 1) { count() != [1, 1] || !Self.allUp(lab) }, "dropping the filter reset the session")
    }

    // MARK: route reflection

    /// A reflects between its clients B and C (cluster 10.255.0.1): C gets B's route with
    /// ORIGINATOR_ID = B's router ID and CLUSTER_LIST = [A's cluster], next hop and LOCAL_PREF kept
    /// (RFC 4456 §8); the non-client D gets it too (client → everyone), but B does not get it back.
    @Test func routeReflectorReflectsWithOriginatorAndClusterList() throws {
        let b = "127.0.0.2", c = "127.0.0.3", d = "127.0.0.4"
        let lab = try Self.lab(neighbours: [
            Neighbour(addr: b, asn: Self.aAS, announce: ["10.30.0.0/24"], rrClient: true),
            Neighbour(addr: c, asn: Self.aAS, rrClient: true),
            Neighbour(addr: d, asn: Self.aAS),
        ], clusterID: IPv4Address(10, 255, 0, 1))
        defer { lab.stop() }
        #expect(eventually(timeout: 10) { Self.allUp(lab) })
        #expect(eventually(timeout: 5) { Self.best(lab[c], "10.30.0.0/24") != nil && Self.best(lab[d], "10.30.0.0/24") != nil })
        for x in [c, d] {
            let r = try #require(Self.best(lab[x], "10.30.0.0/24"))
            #expect(r.originatorID == "10.0.0.2" && r.clusterList == ["10.255.0.1"] && r.nextHop == b && r.localPref == 100,
                    "\(x): \(r)")
        }
        // B's own route is not reflected back to it (it would drop it by ORIGINATOR_ID anyway).
        #expect(lab[b].routes().filter { $0.prefix == "10.30.0.0/24" }.map(\.peer) == ["static"])
        #expect(Self.status(lab.a, b)?.peerType == "iBGP (route-reflector client)")
    }
}
