import BGPSpeaker
import CtlCore
import Foundation
import Testing
import TestSupport

/// Graceful restart (RFC 4724) between twill-bgpd and BIRD 2 with `graceful restart on`, both
/// ways, in the Lab's pair of namespaces (Twill AS 4200000001, BIRD AS 65002, hold time 3 s).
@Suite(.serialized) struct GracefulRestartInteropTests {
    /// BIRD 2 with graceful restart on, one protocol per family; `s6` announces 2001:db8:2::/48
    /// only when `withIPv6Route`.
    struct GRBird {
        let lab: Lab
        var ctl: String { lab.dir.file("bird.ctl") }
        private(set) var process: TestProcess?

        init(lab: Lab) { self.lab = lab }

        mutating func start(withIPv6Route: Bool = true, recovering: Bool = false) throws {
            let conf = """
            log stderr all;
            router id 10.213.0.2;
            protocol device { }
            protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; }
            protocol static s6 { ipv6; \(withIPv6Route ? "route 2001:db8:2::/48 blackhole;" : "") }
            template bgp tw {
              hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;
              passive on; graceful restart on; graceful restart time 120;
            }
            protocol bgp tw4 from tw { local 10.213.0.2 as 65002; neighbor 10.213.0.1 as 4200000001; ipv4 { import all; export all; }; }
            protocol bgp tw6 from tw { local fd00:213::2 as 65002; neighbor fd00:213::1 as 4200000001; ipv6 { import all; export all; }; }
            """
            try conf.write(toFile: lab.dir.file("bird.conf"), atomically: true, encoding: .utf8)
            process = try lab.spawn(in: lab.peerNS, ["bird", "-f", "-c", lab.dir.file("bird.conf"), "-s", ctl,
                                                     "-P", lab.dir.file("bird.pid")] + (recovering ? ["-R"] : []),
                                    log: recovering ? "bird2.log" : "bird.log")
        }

        func birdc(_ args: [String]) -> String {
            (try? Shell.run(["birdc", "-s", ctl] + args, timeout: 5).stdout) ?? ""
        }

        func established(_ proto: String) -> Bool { birdc(["show", "protocols", proto]).contains("Established") }
        func has(_ prefix: String) -> Bool { birdc(["show", "route", prefix]).contains(prefix) }
        /// BIRD's `show protocols all` line while it keeps a restarting neighbour's routes.
        func helping(_ proto: String) -> Bool {
            birdc(["show", "protocols", "all", proto]).contains("Neighbor graceful restart active")
        }
    }

    static let yaml = Lab.twillConfig(holdTime: "3s", announce: ["10.50.0.0/24", "2001:db8:50::/48"])

    private func diag(_ lab: Lab, _ extra: String = "") -> Comment {
        Comment(rawValue: "twill.log:\n\(lab.log("twill.log").suffix(3000))\ntwill2.log:\n\(lab.log("twill2.log").suffix(3000))"
                + "\nbird.log:\n\(lab.log("bird.log").suffix(1500))\nbird2.log:\n\(lab.log("bird2.log").suffix(1500))\n\(extra)")
    }

    /// The restarted twill-bgpd: `--restarting` (R bit), announcing only 10.50.0.0/24, its
    /// own control socket (twill2.sock) and log (twill2.log).
    private func restartTwill(_ lab: Lab) throws {
        let yaml = Lab.twillConfig(holdTime: "3s", announce: ["10.50.0.0/24"])
            .replacingOccurrences(of: "CONTROL", with: lab.dir.file("twill2.sock"))
        try yaml.write(toFile: lab.dir.file("twill2.yaml"), atomically: true, encoding: .utf8)
        try lab.spawn(in: lab.twNS, [BuiltProducts.path("twill-bgpd"), "-c", lab.dir.file("twill2.yaml"), "--restarting",
                                     "--log-level", "debug"], log: "twill2.log")
    }

    /// A fresh lab with BIRD (GR on) and twill-bgpd, run once both sides are Established and
    /// hold each other's routes.
    private func withLab(_ body: (Lab, inout GRBird) throws -> Void) throws {
        guard Privileged.check("graceful restart interop with BIRD", needs: ["bird", "birdc", "ip"]) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        var bird = GRBird(lab: lab)
        try bird.start()
        try lab.startTwill(lab.config(Self.yaml))
        let up = eventually(timeout: 30) {
            bird.established("tw4") && bird.established("tw6") && bird.has("10.50.0.0/24") && bird.has("2001:db8:50::/48")
                && lab.twillRoute("192.0.2.0/24") != nil && lab.twillRoute("2001:db8:2::/48") != nil
        }
        #expect(up, diag(lab))
        guard up else { return }
        try body(lab, &bird)
    }

    /// Twill restarts: SIGKILL (no NOTIFICATION; the kernel closes the sockets). BIRD, the
    /// helper, keeps Twill's routes while it is away; the new twill-bgpd (`--restarting`, R bit)
    /// announces only the IPv4 prefix, and its End-of-RIB makes BIRD drop the stale IPv6 one.
    @Test func birdKeepsTwillRoutesAcrossTwillRestart() throws { try withLab { lab, bird in
        guard let twill = lab.twill else { return }

        kill(twill.processIdentifier, SIGKILL)
        twill.waitUntilExit()
        let helping = eventually(timeout: 10) { bird.helping("tw4") && bird.helping("tw6") }
        #expect(helping, diag(lab, bird.birdc(["show", "protocols", "all", "tw4"])))
        // Well past BIRD's hold time (3 s): the routes stay.
        let lost = eventually(timeout: 4) { !bird.has("10.50.0.0/24") || !bird.has("2001:db8:50::/48") }
        #expect(!lost, diag(lab, bird.birdc(["show", "route"])))

        // Twill comes back without the IPv6 announcement.
        try restartTwill(lab)
        let recovered = eventually(timeout: 30) {
            bird.established("tw4") && bird.established("tw6") && !bird.helping("tw4") && !bird.helping("tw6")
                && !bird.has("2001:db8:50::/48")
        }
        #expect(recovered, diag(lab, bird.birdc(["show", "route"])))
        #expect(bird.has("10.50.0.0/24"), "the re-announced route stays")
    } }

    /// BIRD restarts (`birdc graceful restart`: sessions closed without NOTIFICATION, then
    /// `bird -R`): twill-bgpd, the helper, keeps BIRD's routes and shows "Graceful restart";
    /// BIRD comes back without its IPv6 route and its End-of-RIB makes Twill drop that one.
    @Test func twillKeepsBirdRoutesAcrossBirdRestart() throws { try withLab { lab, bird in
        guard let p = bird.process else { return }

        _ = bird.birdc(["graceful", "restart"])
        p.waitUntilExit()
        let helping = eventually(timeout: 10) {
            let peers = lab.twillPeers()
            return peers.count == 2 && peers.allSatisfy { $0.state == "start" && $0.info.hasSuffix("Graceful restart") }
        }
        #expect(helping, diag(lab, "\(lab.twillPeers())"))
        let lost = eventually(timeout: 4) { lab.twillRoute("192.0.2.0/24") == nil || lab.twillRoute("2001:db8:2::/48") == nil }
        #expect(!lost, diag(lab, "\(lab.twillRoutes())"))

        try bird.start(withIPv6Route: false, recovering: true)
        let recovered = eventually(timeout: 30) {
            lab.twillPeers().map(\.info) == ["Established", "Established"] && lab.twillRoute("2001:db8:2::/48") == nil
        }
        #expect(recovered, diag(lab, "\(lab.twillPeers()) \(lab.twillRoutes())"))
        #expect(lab.twillRoute("192.0.2.0/24")?.nextHop == Lab.peerV4, "the re-announced route stays")
    } }

    /// FRR in its default graceful restart mode (helper) keeps Twill's routes while a
    /// SIGKILLed twill-bgpd is away, and drops the one the new twill-bgpd did not re-announce at
    /// its End-of-RIB.
    /// Enhanced route refresh (RFC 7313) with BIRD, both ways. `birdc reload in` makes BIRD ask
    /// for our routes: we answer BoRR, the routes, EoRR (BIRD traces both markers and, after its
    /// EoRR sweep, still has our route). `birdc reload out` makes BIRD re-send its own bracketed
    /// the same way: Twill marks BIRD's routes stale at BoRR, they are sent again, and nothing is
    /// left stale or lost after EoRR.
    @Test func enhancedRouteRefreshBothWays() throws { try withLab { lab, bird in
        _ = bird.birdc(["debug", "tw4", "all"])
        _ = bird.birdc(["reload", "in", "tw4"])
        #expect(eventually(timeout: 10) {
            let log = lab.log("bird.log")
            return log.contains("Got BEGIN-OF-RR") && log.contains("Got END-OF-RR")
        }, diag(lab))
        #expect(bird.has("10.50.0.0/24"), "BIRD lost our route at EoRR")

        _ = bird.birdc(["reload", "out", "tw4"])
        #expect(eventually(timeout: 10) { lab.log("bird.log").contains("Sending END-OF-RR") }, diag(lab))
        #expect(eventually(timeout: 5) {
            let r = lab.twillRoutes().filter { $0.prefix == "192.0.2.0/24" }
            return r.count == 1 && r[0].best && r[0].stale == nil
        }, "twill shows \(lab.twillRoutes())")
        #expect(lab.twillEstablished("10.213.0.2"))
    } }

    @Test func frrHelperKeepsTwillRoutesAcrossTwillRestart() throws {
        guard Privileged.check("graceful restart interop with FRR", needs: ["vtysh", "ip"]),
              FileManager.default.isExecutableFile(atPath: "/usr/lib/frr/bgpd") else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        var frr = FRRPeer()
        try frr.start(lab: lab, twillAS: "4200000001", passive: true, password: nil)
        try lab.startTwill(lab.config(Self.yaml))
        let up = eventually(timeout: 30) {
            frr.route(lab: lab, "10.50.0.0/24") != nil && frr.route(lab: lab, "2001:db8:50::/48") != nil
        }
        #expect(up, diag(lab))
        guard up, let twill = lab.twill else { return }
        kill(twill.processIdentifier, SIGKILL)
        twill.waitUntilExit()
        #expect(eventually(timeout: 10) { !frr.established(lab: lab, Lab.twV4) && !frr.established(lab: lab, Lab.twV6) })
        let lost = eventually(timeout: 4) { frr.route(lab: lab, "10.50.0.0/24") == nil || frr.route(lab: lab, "2001:db8:50::/48") == nil }
        #expect(!lost, diag(lab, lab.log("frr/bgpd.log").suffix(2000).description))

        try restartTwill(lab)
        let recovered = eventually(timeout: 30) {
            frr.established(lab: lab, Lab.twV4) && frr.established(lab: lab, Lab.twV6)
                && frr.route(lab: lab, "2001:db8:50::/48") == nil
        }
        #expect(recovered, diag(lab, lab.log("frr/bgpd.log").suffix(2000).description))
        #expect(frr.route(lab: lab, "10.50.0.0/24") != nil, "the re-announced route stays")
    }
}
