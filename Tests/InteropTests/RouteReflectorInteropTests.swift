import BGPSpeaker
import Foundation
import Testing
import TestSupport

/// Route reflection (RFC 4456) with real daemons, all iBGP in AS 65000 on one bridged segment
/// (`ReflectorLab`: node n = 10.214.0.n, router ID 10.255.0.n). Every topology is written once,
/// parameterised by the reflector, and run with BIRD 2 as the reflector (the reference: it proves
/// the harness and documents the expected behaviour) and with twill-bgpd (top-level `clusterID`,
/// per peer `routeReflectorClient: true`).
@Suite(.serialized) struct RouteReflectorInteropTests {
    enum Reflector: String, CustomStringConvertible, Sendable {
        case bird, twill
        var description: String { rawValue }
    }

    static let clusterID = "10.214.0.100"
    static let frrPrefix = "10.201.1.0/24", gobgpPrefix = "10.201.2.0/24"
    static let nonClientPrefix = "10.201.3.0/24", nonClient2Prefix = "10.201.4.0/24"
    static let twillPrefix = "10.201.5.0/24"

    private func privileged(_ what: String) -> Bool {
        // /usr/lib/frr/bgpd is not on PATH: pass it on only when missing, so the skip names it.
        let frr = FileManager.default.isExecutableFile(atPath: "/usr/lib/frr/bgpd") ? [] : ["/usr/lib/frr/bgpd"]
        return Privileged.check(what, needs: ["ip", "bird", "birdc", "vtysh", "gobgpd", "gobgp"] + frr)
    }

    /// Starts the reflector of `kind` on `node`.
    private func startReflector(_ kind: Reflector, _ lab: ReflectorLab, _ node: ReflectorNode,
                                _ neighbors: [IBGPNeighbor], clusterID: String = clusterID) throws -> any IBGPDaemon {
        switch kind {
        case .bird: try ReflectorBird(lab: lab, node: node, neighbors: neighbors, clusterID: clusterID, announce: [])
        case .twill: try ReflectorTwill(lab: lab, node: node, neighbors: neighbors, clusterID: clusterID, announce: [])
        }
    }

    /// Waits until every (daemon, neighbour) session is Established on the daemon's side; false
    /// at once if twill-bgpd exited (a config it rejects, a crash).
    private func allEstablished(_ lab: ReflectorLab, _ sessions: [(any IBGPDaemon, ReflectorNode)], timeout: Double = 30) -> Bool {
        let done = eventually(timeout: timeout) { lab.twillExited || sessions.allSatisfy { $0.0.established($0.1) } }
        return done && !lab.twillExited
    }

    /// What a route reflected by the cluster `clusterID` from `origin` must look like on a client:
    /// next hop unchanged, ORIGINATOR_ID = the origin's router ID, CLUSTER_LIST = [clusterID].
    private func reflected(from origin: ReflectorNode, clusterID: String = clusterID) -> ReflectedRoute {
        ReflectedRoute(nextHop: origin.address, originatorID: origin.routerID, clusterList: [clusterID])
    }

    /// Expects `receiver` (called `name` in the message) to show `prefix` as reflected by our
    /// cluster from `origin`, within 15 s.
    private func expectReflected(_ lab: ReflectorLab, _ prefix: String, from origin: ReflectorNode,
                                 at receiver: any IBGPDaemon, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let ok = eventually(timeout: 15) { receiver.route(prefix) == reflected(from: origin) }
        #expect(ok, Comment(rawValue: lab.logs("\(name) shows \(String(describing: receiver.route(prefix))) for \(prefix)")),
                sourceLocation: sourceLocation)
    }

    /// Withdraws `prefix` on `origin` and expects it gone from `receiver` within 15 s.
    private func expectWithdrawal(_ lab: ReflectorLab, _ prefix: String, by origin: any IBGPDaemon,
                                  at receiver: any IBGPDaemon, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        origin.withdraw(prefix)
        let gone = eventually(timeout: 15) { receiver.route(prefix) == nil }
        #expect(gone, Comment(rawValue: lab.logs("\(name) still shows \(String(describing: receiver.route(prefix))) for \(prefix)")),
                sourceLocation: sourceLocation)
    }

    // MARK: a. between two clients

    /// RR on node 1; clients FRR (node 2, 10.201.1.0/24) and GoBGP (node 3, 10.201.2.0/24). Each
    /// client learns the other's prefix with the original next hop, ORIGINATOR_ID = the announcing
    /// client's router ID and CLUSTER_LIST = [cluster ID]; a withdrawal on either client reaches
    /// the other.
    private func reflectsBetweenClients(_ kind: Reflector) throws {
        guard privileged("route reflection between clients, \(kind) as RR") else { return }
        let lab = try ReflectorLab()
        defer { lab.cleanup() }
        let rrNode = try lab.addNode(1, twill: kind == .twill)
        let frrNode = try lab.addNode(2), gobgpNode = try lab.addNode(3)
        let rr = try startReflector(kind, lab, rrNode, [.client(frrNode), .client(gobgpNode)])
        let frr = try ReflectorFRR(lab: lab, node: frrNode, neighbors: [.plain(rrNode)], announce: [Self.frrPrefix])
        let gobgp = try ReflectorGoBGP(lab: lab, node: gobgpNode, neighbors: [.plain(rrNode)], announce: [Self.gobgpPrefix])

        let up = allEstablished(lab, [(rr, frrNode), (rr, gobgpNode), (frr, rrNode), (gobgp, rrNode)])
        #expect(up, Comment(rawValue: lab.logs()))
        guard up else { return }

        expectReflected(lab, Self.gobgpPrefix, from: gobgpNode, at: frr, "FRR")
        expectReflected(lab, Self.frrPrefix, from: frrNode, at: gobgp, "GoBGP")
        expectWithdrawal(lab, Self.gobgpPrefix, by: gobgp, at: frr, "FRR")
        expectWithdrawal(lab, Self.frrPrefix, by: frr, at: gobgp, "GoBGP")
    }

    @Test func birdReflectsBetweenFRRAndGoBGPClients() throws { try reflectsBetweenClients(.bird) }
    @Test func twillReflectsBetweenFRRAndGoBGPClients() throws { try reflectsBetweenClients(.twill) }

    // MARK: b. clients and non-clients

    /// RR on node 1; clients FRR (node 2) and GoBGP (node 3); non-clients BIRD (node 4,
    /// 10.201.3.0/24) and GoBGP (node 5, 10.201.4.0/24), each peering with the RR only. A
    /// non-client's route reaches both clients, a client's route reaches both non-clients, and a
    /// non-client's route never reaches the other non-client (RFC 4456 §6).
    private func reflectsNonClientToClients(_ kind: Reflector) throws {
        guard privileged("route reflection with non-clients, \(kind) as RR") else { return }
        let lab = try ReflectorLab()
        defer { lab.cleanup() }
        let rrNode = try lab.addNode(1, twill: kind == .twill)
        let c1Node = try lab.addNode(2), c2Node = try lab.addNode(3)
        let n1Node = try lab.addNode(4), n2Node = try lab.addNode(5)
        let rr = try startReflector(kind, lab, rrNode, [.client(c1Node), .client(c2Node), .plain(n1Node), .plain(n2Node)])
        let c1 = try ReflectorFRR(lab: lab, node: c1Node, neighbors: [.plain(rrNode)], announce: [Self.frrPrefix])
        let c2 = try ReflectorGoBGP(lab: lab, node: c2Node, neighbors: [.plain(rrNode)], announce: [Self.gobgpPrefix])
        let n1 = try ReflectorBird(lab: lab, node: n1Node, neighbors: [.plain(rrNode)], announce: [Self.nonClientPrefix])
        let n2 = try ReflectorGoBGP(lab: lab, node: n2Node, neighbors: [.plain(rrNode)], announce: [Self.nonClient2Prefix])

        let up = allEstablished(lab, [(rr, c1Node), (rr, c2Node), (rr, n1Node), (rr, n2Node),
                                 (c1, rrNode), (c2, rrNode), (n1, rrNode), (n2, rrNode)])
        #expect(up, Comment(rawValue: lab.logs()))
        guard up else { return }

        // Non-client → clients.
        for (client, name) in [(c1 as any IBGPDaemon, "FRR client"), (c2, "GoBGP client")] {
            for (origin, prefix) in [(n1Node, Self.nonClientPrefix), (n2Node, Self.nonClient2Prefix)] {
                expectReflected(lab, prefix, from: origin, at: client, name)
            }
        }
        // Client → non-clients.
        for (nonClient, name) in [(n1 as any IBGPDaemon, "BIRD non-client"), (n2, "GoBGP non-client")] {
            for (origin, prefix) in [(c1Node, Self.frrPrefix), (c2Node, Self.gobgpPrefix)] {
                expectReflected(lab, prefix, from: origin, at: nonClient, name)
            }
        }
        // Non-client ↛ non-client. The RR has held both routes long enough to reflect them to the
        // clients and the clients' routes to both non-clients; give it 3 s more to be wrong.
        let leaked = eventually(timeout: 3) { n1.route(Self.nonClient2Prefix) != nil || n2.route(Self.nonClientPrefix) != nil }
        #expect(!leaked, Comment(rawValue: lab.logs("BIRD non-client: \(String(describing: n1.route(Self.nonClient2Prefix))), "
                                                    + "GoBGP non-client: \(String(describing: n2.route(Self.nonClientPrefix)))")))
    }

    @Test func birdReflectsNonClientToClients() throws { try reflectsNonClientToClients(.bird) }
    @Test func twillReflectsNonClientToClients() throws { try reflectsNonClientToClients(.twill) }

    // MARK: c. Twill as a client

    /// BIRD (node 1) reflects between its clients twill-bgpd (node 2, 10.201.5.0/24) and FRR
    /// (node 3, 10.201.1.0/24). Twill needs no reflection settings of its own as a client. Twill
    /// installs FRR's prefix (learned from BIRD, next hop FRR, ORIGINATOR_ID = FRR's router ID,
    /// CLUSTER_LIST = [BIRD's cluster ID], read from its control socket); FRR gets Twill's with ORIGINATOR_ID
    /// = Twill's router ID, CLUSTER_LIST = [BIRD's cluster ID] and Twill's address as next hop
    /// (next hop self on our own announcements); withdrawals go both ways.
    @Test func twillAsClientOfBIRDReflector() throws {
        guard privileged("twill-bgpd as a client of a BIRD route reflector") else { return }
        let lab = try ReflectorLab()
        defer { lab.cleanup() }
        let rrNode = try lab.addNode(1), twillNode = try lab.addNode(2, twill: true), frrNode = try lab.addNode(3)
        let rr = try ReflectorBird(lab: lab, node: rrNode, neighbors: [.client(twillNode), .client(frrNode)],
                                   clusterID: Self.clusterID, announce: [])
        let twill = try ReflectorTwill(lab: lab, node: twillNode, neighbors: [.plain(rrNode)], announce: [Self.twillPrefix])
        let frr = try ReflectorFRR(lab: lab, node: frrNode, neighbors: [.plain(rrNode)], announce: [Self.frrPrefix])

        let up = allEstablished(lab, [(rr, twillNode), (rr, frrNode), (twill, rrNode), (frr, rrNode)])
        #expect(up, Comment(rawValue: lab.logs()))
        guard up else { return }

        let atTwill = eventually(timeout: 15) {
            twill.paths(Self.frrPrefix).contains { $0.best && $0.peer == rrNode.address } && twill.route(Self.frrPrefix) == reflected(from: frrNode)
        }
        #expect(atTwill, Comment(rawValue: lab.logs("twill shows \(twill.paths(Self.frrPrefix))")))
        expectReflected(lab, Self.twillPrefix, from: twillNode, at: frr, "FRR")
        expectWithdrawal(lab, Self.twillPrefix, by: twill, at: frr, "FRR")
        expectWithdrawal(lab, Self.frrPrefix, by: frr, at: twill, "twill")
        #expect(twill.paths(Self.frrPrefix).isEmpty, "no stale non-best path left either")
        #expect(twill.established(rrNode), "an announcement change must not reset the session")
    }

    // MARK: loop prevention (RFC 4456 §8)

    /// Two clusters: BIRD (node 1, cluster 10.214.0.100) reflects for its clients twill-bgpd
    /// (node 2) and FRR (node 3); GoBGP (node 4, cluster 10.214.0.101) is a plain iBGP peer of
    /// BIRD and has Twill as a client; Twill sends GoBGP nothing (`export: none`). So Twill's
    /// 10.201.5.0/24 goes Twill → BIRD → GoBGP → Twill, and GoBGP — unlike BIRD and FRR, which do
    /// not send a route to the router named in its ORIGINATOR_ID — sends it back. Twill must not
    /// install a route carrying its own router ID as ORIGINATOR_ID. The control: FRR's prefix,
    /// reflected the same way, is accepted from GoBGP.
    @Test func twillIgnoresReflectedRouteWithItsOwnOriginatorID() throws {
        guard privileged("ORIGINATOR_ID loop check in twill-bgpd") else { return }
        let lab = try ReflectorLab()
        defer { lab.cleanup() }
        let rr1Node = try lab.addNode(1), twillNode = try lab.addNode(2, twill: true)
        let frrNode = try lab.addNode(3), rr2Node = try lab.addNode(4)
        let rr1 = try ReflectorBird(lab: lab, node: rr1Node, neighbors: [.client(twillNode), .client(frrNode), .plain(rr2Node)],
                                    clusterID: Self.clusterID, announce: [])
        let rr2 = try ReflectorGoBGP(lab: lab, node: rr2Node, neighbors: [.plain(rr1Node), .client(twillNode)],
                                     clusterID: "10.214.0.101", announce: [])
        var toRR2 = IBGPNeighbor.plain(rr2Node)
        toRR2.export = false
        let twill = try ReflectorTwill(lab: lab, node: twillNode, neighbors: [.plain(rr1Node), toRR2], announce: [Self.twillPrefix])
        let frr = try ReflectorFRR(lab: lab, node: frrNode, neighbors: [.plain(rr1Node)], announce: [Self.frrPrefix])

        let up = allEstablished(lab, [(rr1, twillNode), (rr1, frrNode), (rr1, rr2Node), (rr2, rr1Node), (rr2, twillNode),
                                 (twill, rr1Node), (twill, rr2Node), (frr, rr1Node)])
        #expect(up, Comment(rawValue: lab.logs()))
        guard up else { return }

        // GoBGP sends Twill its own route back...
        let sent = eventually(timeout: 15) {
            rr2.adjOut(twillNode, Self.twillPrefix) == ReflectedRoute(
                nextHop: twillNode.address, originatorID: twillNode.routerID, clusterList: ["10.214.0.101", Self.clusterID])
        }
        #expect(sent, Comment(rawValue: lab.logs("GoBGP adj-out to Twill: \(String(describing: rr2.adjOut(twillNode, Self.twillPrefix)))")))
        // ...and the control route through the same two reflectors arrives.
        let control = eventually(timeout: 15) {
            twill.paths(Self.frrPrefix).contains { $0.peer == rr2Node.address && $0.nextHop == frrNode.address }
        }
        #expect(control, Comment(rawValue: lab.logs("twill shows \(twill.paths(Self.frrPrefix))")))
        guard sent, control else { return }
        // GoBGP sent both in the same burst; 3 s more for Twill to (wrongly) install the looped one.
        let looped = eventually(timeout: 3) { twill.paths(Self.twillPrefix).contains { $0.peer == rr2Node.address } }
        #expect(!looped, Comment(rawValue: lab.logs("twill shows \(twill.paths(Self.twillPrefix))")))
    }

    /// Two reflectors in one cluster (the usual redundant pair): the RR under test (node 1) and
    /// GoBGP (node 4) both use cluster ID 10.214.0.100 and have FRR (node 2) as a client; the RR
    /// peers with GoBGP as a client (`peerIsClient`) or a plain iBGP peer and sends it nothing;
    /// GoBGP treats the RR as a client (it adds the reflection attributes only towards clients,
    /// checked on its adj-out). GoBGP reflects FRR's 10.201.1.0/24 to the RR
    /// with CLUSTER_LIST [10.214.0.100]; the RR must ignore it (its cluster ID is in the list) and
    /// keep only FRR's own path.
    private func ignoresOwnClusterID(_ kind: Reflector, peerIsClient: Bool) throws {
        guard privileged("CLUSTER_LIST loop check, \(kind) as RR") else { return }
        let lab = try ReflectorLab()
        defer { lab.cleanup() }
        let rrNode = try lab.addNode(1, twill: kind == .twill), frrNode = try lab.addNode(2), rr2Node = try lab.addNode(4)
        // The RR sends GoBGP nothing: otherwise GoBGP, whose cluster ID is per client neighbour,
        // takes the RR's copy of FRR's route as best and has nothing to reflect back.
        var toRR2 = IBGPNeighbor(node: rr2Node, rrClient: peerIsClient)
        toRR2.export = false
        let rr = try startReflector(kind, lab, rrNode, [.client(frrNode), toRR2])
        // GoBGP adds ORIGINATOR_ID and CLUSTER_LIST only towards its own clients, so the RR under
        // test is one of them.
        let rr2 = try ReflectorGoBGP(lab: lab, node: rr2Node, neighbors: [.client(rrNode), .client(frrNode)],
                                     clusterID: Self.clusterID, announce: [])
        let frr = try ReflectorFRR(lab: lab, node: frrNode, neighbors: [.plain(rrNode), .plain(rr2Node)], announce: [Self.frrPrefix])

        let up = allEstablished(lab, [(rr, frrNode), (rr, rr2Node), (rr2, rrNode), (rr2, frrNode), (frr, rrNode), (frr, rr2Node)])
        #expect(up, Comment(rawValue: lab.logs()))
        guard up else { return }

        /// The RR's paths for FRR's prefix: which peers it holds one from.
        func pathsFrom() -> Set<String> {
            switch kind {
            case .twill:
                return Set(lab.lab.twillRoutes().filter { $0.prefix == Self.frrPrefix }.map(\.peer))
            case .bird:
                guard let bird = rr as? ReflectorBird else { return [] }
                return Set([frrNode, rr2Node].filter {
                    bird.birdc(["show", "route", Self.frrPrefix, "protocol", "n\($0.index)"]).contains(Self.frrPrefix)
                }.map(\.address))
            }
        }
        let sent = eventually(timeout: 15) {
            rr2.adjOut(rrNode, Self.frrPrefix) == ReflectedRoute(nextHop: frrNode.address, originatorID: frrNode.routerID,
                                                                  clusterList: [Self.clusterID])
        }
        #expect(sent, Comment(rawValue: lab.logs("GoBGP adj-out to the RR: \(String(describing: rr2.adjOut(rrNode, Self.frrPrefix)))")))
        let direct = eventually(timeout: 15) { pathsFrom().contains(frrNode.address) }
        #expect(direct, Comment(rawValue: lab.logs("\(kind) holds paths from \(pathsFrom())")))
        guard sent, direct else { return }
        let looped = eventually(timeout: 3) { pathsFrom().contains(rr2Node.address) }
        #expect(!looped, Comment(rawValue: lab.logs("\(kind) holds paths from \(pathsFrom())")))
    }

    /// BIRD 2.0.12 applies the CLUSTER_LIST check only on `rr client` sessions (it accepts the
    /// looped route from a plain iBGP peer), so the reference runs with GoBGP as its client.
    @Test func birdIgnoresRouteWithItsOwnClusterID() throws { try ignoresOwnClusterID(.bird, peerIsClient: true) }
    /// RFC 4456 §8 does not depend on the session type: Twill drops it from a client and a non-client.
    @Test(arguments: [true, false])
    func twillIgnoresRouteWithItsOwnClusterID(peerIsClient: Bool) throws { try ignoresOwnClusterID(.twill, peerIsClient: peerIsClient) }
}
