import Foundation
import Testing
import TestSupport

/// Per-peer policy knobs against a real BIRD over eBGP (Twill AS 4200000001, BIRD AS 65002),
/// each changed by SIGHUP on a running session, so the reload path (export resend, import
/// ROUTE-REFRESH) is what carries them:
/// - `nextHop`: Twill announces 10.60.0.0/24 with next hop 10.213.0.77 (a third party on the
///   shared subnet). With `auto` eBGP sets next hop self (BIRD sees 10.213.0.1); with `keep`
///   BIRD sees 10.213.0.77.
/// - `allowASIn`: BIRD exports 198.51.100.0/24 with Twill's AS already in the path. With 0 Twill
///   drops it as an AS loop; with 1 it takes it (BIRD resends on Twill's route refresh).
@Suite(.serialized) struct PeerPolicyInteropTests {
    static let twillAS = "4200000001"

    private func privileged() -> Bool {
        // A missing twill-bgpd is an error from `Lab.startTwill`, not a skip.
        Privileged.check("BGP policy interop with BIRD", needs: ["ip", "bird", "birdc"])
    }

    static func twillConfig(nextHop: String, allowASIn: Int) -> String {
        """
        routerID: 10.213.0.1
        asNumber: \(twillAS)
        controlSocket: CONTROL
        peers:
          - name: bird
            address: "10.213.0.2"
            asNumber: 65002
            holdTime: 9s
            import: all
            export: all
            nextHop: \(nextHop)
            allowASIn: \(allowASIn)
        announce:
          - prefix: "10.60.0.0/24"
            nextHop: 10.213.0.77

        """
    }

    static let birdConfig = """
        router id 10.213.0.2;
        protocol device { }
        protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; route 198.51.100.0/24 blackhole; }
        filter to_twill {
          if net = 198.51.100.0/24 then bgp_path.prepend(\(twillAS));
          accept;
        }
        protocol bgp tw4 {
          local 10.213.0.2 as 65002; neighbor 10.213.0.1 as \(twillAS); passive on;
          hold time 9; connect retry time 1; error wait time 1, 2;
          ipv4 { import all; export filter to_twill; };
        }
        """

    @Test func nextHopKeepAndAllowASInReachTheWire() throws {
        guard privileged() else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let ctl = lab.dir.file("bird.ctl")
        try Self.birdConfig.write(toFile: lab.dir.file("bird.conf"), atomically: true, encoding: .utf8)
        try lab.spawn(in: lab.peerNS, ["bird", "-f", "-c", lab.dir.file("bird.conf"), "-s", ctl,
                                       "-P", lab.dir.file("bird.pid")], log: "bird.log")
        func birdc(_ args: [String]) -> String { (try? Shell.run(["birdc", "-s", ctl] + args, timeout: 5).stdout) ?? "" }
        func birdNextHop(_ prefix: String) -> String? {
            let out = birdc(["show", "route", prefix, "all"])
            guard out.contains(prefix) else { return nil }
            return out.split(separator: "\n").first { $0.contains("BGP.next_hop:") }
                .map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) }
                .map { String($0.split(separator: " ")[0]) }
        }
        func diag() -> Comment {
            Comment(rawValue: "BIRD:\n\(birdc(["show", "route", "all"]))\nTwill routes: \(lab.twillRoutes())\n"
                + "twill.log (tail):\n\(lab.log("twill.log").split(separator: "\n").suffix(30).joined(separator: "\n"))")
        }

        try lab.startTwill(lab.config(Self.twillConfig(nextHop: "auto", allowASIn: 0)))
        #expect(eventually(timeout: 30) { lab.twillEstablished("10.213.0.2") }, diag())

        // auto: eBGP next hop self; the looped path is dropped, the other BIRD route taken.
        #expect(eventually(timeout: 15) { birdNextHop("10.60.0.0/24") == "10.213.0.1" }, diag())
        #expect(eventually(timeout: 15) { lab.twillRoute("192.0.2.0/24")?.asPath == "65002" }, diag())
        #expect(lab.twillRoutes().allSatisfy { $0.prefix != "198.51.100.0/24" }, diag())
        let sessions = lab.twillPeers().first?.establishedCount

        // keep: the announcement's next hop goes out unchanged, without a session reset.
        try lab.reloadTwill(lab.config(Self.twillConfig(nextHop: "keep", allowASIn: 0)))
        #expect(eventually(timeout: 15) { birdNextHop("10.60.0.0/24") == "10.213.0.77" }, diag())

        // allowASIn 1: Twill's route refresh makes BIRD resend; the path with our AS once is taken.
        try lab.reloadTwill(lab.config(Self.twillConfig(nextHop: "keep", allowASIn: 1)))
        #expect(eventually(timeout: 15) {
            lab.twillRoute("198.51.100.0/24")?.asPath == "65002 \(Self.twillAS)"
        }, diag())

        // And back to 0: the path is dropped again.
        try lab.reloadTwill(lab.config(Self.twillConfig(nextHop: "keep", allowASIn: 0)))
        #expect(eventually(timeout: 15) { lab.twillRoutes().allSatisfy { $0.prefix != "198.51.100.0/24" } }, diag())
        #expect(lab.twillPeers().first?.establishedCount == sessions, "a policy reload must not reset the session")
        #expect(lab.twillEstablished("10.213.0.2"))
    }
}
