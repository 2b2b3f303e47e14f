import BGPSpeaker
import Foundation
import Testing
import TestSupport

enum DaemonKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case bird, frr, gobgp
    var description: String { rawValue }
    var tools: [String] {
        switch self {
        case .bird: ["bird", "birdc"]
        case .frr: ["/usr/lib/frr/bgpd", "vtysh"]
        case .gobgp: ["gobgpd", "gobgp"]
        }
    }
    func make() -> any PeerDaemon {
        switch self {
        case .bird: BirdPeer()
        case .frr: FRRPeer()
        case .gobgp: GoBGPPeer()
        }
    }
}

/// twill-bgpd against BIRD 2, FRR and GoBGP, each case in its own pair of namespaces.
/// Twill is AS 4200000001 (4-octet) everywhere; the peers are AS 65002; hold time 3 s.
@Suite(.serialized) struct InteropTests {
    static let twillPrefixes = ["10.50.0.0/24", "2001:db8:50::/48"]

    private func diag(_ lab: Lab, _ d: any PeerDaemon) -> Comment {
        let peerLog = ["bird": "bird.log", "frr": "frr/bgpd.log", "gobgp": "gobgpd.log"][d.name] ?? ""
        return Comment(rawValue: "twill.log:\n\(lab.log("twill.log").suffix(4000))\n\(d.name) log:\n\(lab.log(peerLog).suffix(2000))")
    }

    private func privileged(_ kind: DaemonKind) -> Bool {
        // Privileged.check looks names up on PATH; an absolute path that exists is dropped here,
        // a missing one is passed on so the skip (or the CI failure) names it.
        let needs = kind.tools.filter { !($0.hasPrefix("/") && FileManager.default.isExecutableFile(atPath: $0)) }
        return Privileged.check("interop with \(kind)", needs: needs + ["ip"])
    }

    /// Twill connects (the peer is passive), MD5 on, 4-octet AS: sessions over IPv4 and IPv6,
    /// prefixes both ways with the right next hop and AS path, withdrawals both ways (ours by
    /// SIGHUP, which must not reset the other session), then the peer is frozen with SIGSTOP:
    /// Twill's hold timer expires (NOTIFICATION 4/0) and the session returns after SIGCONT.
    @Test(arguments: DaemonKind.allCases)
    func twillActive(kind: DaemonKind) throws {
        guard privileged(kind) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        var d = kind.make()
        let pw = "tw-\(kind)-md5"
        try d.start(lab: lab, twillAS: "4200000001", passive: true, password: pw)
        try lab.startTwill(lab.config(Lab.twillConfig(password: pw, announce: Self.twillPrefixes)))

        let ok1 = eventually(timeout: 30) { lab.twillEstablished(Lab.peerV4) && lab.twillEstablished(Lab.peerV6) }

        #expect(ok1, diag(lab, d))
        let ok2 = eventually(timeout: 10) { d.established(lab: lab, Lab.twV4) && d.established(lab: lab, Lab.twV6) }
        #expect(ok2, diag(lab, d))

        // Twill → peer: next hop self on eBGP, our AS prepended.
        #expect(eventually(timeout: 15) {
            d.route(lab: lab, "10.50.0.0/24") == PeerRoute(nextHop: Lab.twV4, asPath: "4200000001")
        }, "\(kind) shows \(String(describing: d.route(lab: lab, "10.50.0.0/24")))")
        #expect(eventually(timeout: 15) {
            d.route(lab: lab, "2001:db8:50::/48") == PeerRoute(nextHop: Lab.twV6, asPath: "4200000001")
        }, "\(kind) shows \(String(describing: d.route(lab: lab, "2001:db8:50::/48")))")

        // Peer → Twill.
        #expect(eventually(timeout: 15) {
            let r = lab.twillRoute("192.0.2.0/24")
            return r?.nextHop == Lab.peerV4 && r?.asPath == "65002" && r?.peer == Lab.peerV4
        }, "twill shows \(lab.twillRoutes())")
        #expect(eventually(timeout: 15) {
            let r = lab.twillRoute("2001:db8:2::/48")
            return r?.nextHop == Lab.peerV6 && r?.asPath == "65002"
        }, "twill shows \(lab.twillRoutes())")

        // Our withdrawal (SIGHUP with one announcement fewer) reaches the peer; the IPv6 route,
        // whose session settings did not change, stays.
        try lab.reloadTwill(lab.config(Lab.twillConfig(password: pw, announce: ["2001:db8:50::/48"])))
        let ok3 = eventually(timeout: 15) { d.route(lab: lab, "10.50.0.0/24") == nil }
        #expect(ok3, diag(lab, d))
        #expect(d.route(lab: lab, "2001:db8:50::/48") != nil)
        #expect(lab.twillEstablished(Lab.peerV6))

        // The peer's withdrawal reaches Twill.
        d.withdrawOwnIPv4(lab: lab)
        #expect(eventually(timeout: 15) { lab.twillRoute("192.0.2.0/24") == nil }, "twill shows \(lab.twillRoutes())")

        // Freeze the peer: the hold timer (3 s) expires, Twill sends 4/0 and drops the routes.
        let proc = try #require(d.process)
        lab.freeze(proc)
        let dropped = eventually(timeout: 12) {
            let peers = lab.twillPeers()
            return peers.count == 2 && peers.allSatisfy { $0.state != "up" } && lab.twillRoute("2001:db8:2::/48") == nil
        }
        #expect(dropped, diag(lab, d))
        #expect(lab.log("twill.log").contains("4/0 Hold Timer Expired"), diag(lab, d))
        lab.thaw(proc)
        let ok4 = eventually(timeout: 60) { lab.twillEstablished(Lab.peerV4) && lab.twillEstablished(Lab.peerV6) }
        #expect(ok4, diag(lab, d))
        let ok5 = eventually(timeout: 15) { lab.twillRoute("2001:db8:2::/48") != nil }
        #expect(ok5, diag(lab, d))
    }

    /// Twill passive, the peer connects (MD5 keys on Twill's dual-stack listener, one per peer
    /// address, the IPv4 one as an IPv4-mapped address); routes flow both ways.
    @Test(arguments: DaemonKind.allCases)
    func twillPassive(kind: DaemonKind) throws {
        guard privileged(kind) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        var d = kind.make()
        let pw = "passive-\(kind)"
        try lab.startTwill(lab.config(Lab.twillConfig(passive: true, password: pw, announce: Self.twillPrefixes)))
        try d.start(lab: lab, twillAS: "4200000001", passive: false, password: pw)
        let ok6 = eventually(timeout: 30) { lab.twillEstablished(Lab.peerV4) && lab.twillEstablished(Lab.peerV6) }
        #expect(ok6, diag(lab, d))
        let routed = eventually(timeout: 15) {
            d.route(lab: lab, "2001:db8:50::/48") == PeerRoute(nextHop: Lab.twV6, asPath: "4200000001")
                && d.route(lab: lab, "10.50.0.0/24") == PeerRoute(nextHop: Lab.twV4, asPath: "4200000001")
        }
        #expect(routed, diag(lab, d))
        let ok7 = eventually(timeout: 15) { lab.twillRoute("192.0.2.0/24")?.nextHop == Lab.peerV4 }
        #expect(ok7, diag(lab, d))
    }

    /// Mismatched TCP MD5 passwords: no session comes up on either side.
    @Test(arguments: DaemonKind.allCases)
    func md5Mismatch(kind: DaemonKind) throws {
        guard privileged(kind) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        var d = kind.make()
        try d.start(lab: lab, twillAS: "4200000001", passive: false, password: "peer-secret")
        try lab.startTwill(lab.config(Lab.twillConfig(password: "twill-secret", announce: Self.twillPrefixes)))
        // Give both sides several connect attempts (retry 1 s on the peer, backoff on ours).
        let cameUp = eventually(timeout: 8) {
            lab.twillEstablished(Lab.peerV4) || d.established(lab: lab, Lab.twV4)
        }
        #expect(!cameUp, diag(lab, d))
        #expect(!lab.twillPeers().isEmpty, "twill-bgpd is not answering on its control socket")
    }

    /// RFC 5082 GTSM against BIRD's `ttl security on`: both send TTL 255 and require 255, the
    /// sessions come up. With GTSM only on Twill's side BIRD sends TTL 1 (eBGP direct), Twill's
    /// IP_MINTTL/IPV6_MINHOPCOUNT drops it, and nothing comes up.
    @Test(arguments: [true, false])
    func gtsmWithBird(birdGTSM: Bool) throws {
        guard privileged(.bird) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        var d = BirdPeer()
        d.ttlSecurity = birdGTSM
        try d.start(lab: lab, twillAS: "4200000001", passive: true, password: nil)
        try lab.startTwill(lab.config(Lab.twillConfig(ttlSecurity: true, announce: Self.twillPrefixes)))
        let up = eventually(timeout: birdGTSM ? 20 : 8) { lab.twillEstablished(Lab.peerV4) && lab.twillEstablished(Lab.peerV6) }
        #expect(up == birdGTSM, diag(lab, d))
        if birdGTSM {
            let ok8 = eventually(timeout: 10) { d.route(lab: lab, "2001:db8:50::/48") != nil }

            #expect(ok8, diag(lab, d))
        }
    }
}
