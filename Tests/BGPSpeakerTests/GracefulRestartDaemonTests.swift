import BGPSpeaker
import Foundation
import NetCore
import Testing
import TestSupport

/// Graceful restart against the built `twill-bgpd` as the restarting peer (in-process speaker B
/// is the helper): the hold-timer path (the peer is frozen with SIGSTOP, so no FIN ever comes),
/// `--restarting`, and SIGUSR1 (stop for a graceful restart, exit 0).
@Suite(.serialized) struct GracefulRestartDaemonTests {
    typealias H = GracefulRestartLoopbackTests.Helper

    static func launch(_ h: H, name: String, announce: [String], restarting: Bool, hold: Int = 3) throws -> TestProcess {
        let yaml = """
        routerID: 10.0.0.1
        asNumber: 65002
        listen: false
        controlSocket: \(h.dir.file("\(name).sock"))
        peers: [{address: 127.0.0.2, port: \(h.port), asNumber: 65002, sourceAddress: 127.0.0.1, holdTime: \(hold)s,
                 gracefulRestartTime: 30s}]
        announce: [\(announce.map { "{prefix: \($0), nextHop: 10.9.9.9}" }.joined(separator: ", "))]
        """
        try yaml.write(toFile: h.dir.file("\(name).yaml"), atomically: true, encoding: .utf8)
        let p = TestProcess()
        p.executableURL = URL(fileURLWithPath: DaemonTests.binary)
        p.arguments = ["-c", h.dir.file("\(name).yaml")] + (restarting ? ["--restarting"] : [])
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        return p
    }

    @Test func holdTimerExpiryThenRestartWithEndOfRIB() throws {
        let h = try H()
        defer { h.stop() }
        let a = try Self.launch(h, name: "a", announce: ["10.1.0.0/24", "10.3.0.0/24"], restarting: false)
        defer { if a.isRunning { kill(a.processIdentifier, SIGKILL); a.waitUntilExit() } }
        #expect(eventually(timeout: 10) { h.log.all.count == 2 })

        // Frozen: B's hold timer (3 s) expires; with GR negotiated B keeps the routes.
        kill(a.processIdentifier, SIGSTOP)
        #expect(eventually(timeout: 8) { h.info.hasSuffix("Graceful restart") }, "B shows \(h.info)")
        #expect(h.learned == ["10.1.0.0/24", "10.3.0.0/24"])
        #expect(h.log.all.count == 2)
        kill(a.processIdentifier, SIGKILL)
        a.waitUntilExit()

        // Back (R bit), without 10.3: its End-of-RIB flushes only that one.
        let a2 = try Self.launch(h, name: "a2", announce: ["10.1.0.0/24"], restarting: true)
        defer { if a2.isRunning { kill(a2.processIdentifier, SIGKILL); a2.waitUntilExit() } }
        #expect(eventually(timeout: 10) { h.log.all.count == 3 && h.info == "Established" }, "B: \(h.info) \(h.log.summary)")
        #expect(h.log.summary.last == "10.3.0.0/24 -")
        #expect(h.learned == ["10.1.0.0/24"])

        // SIGUSR1: sessions closed without NOTIFICATION, exit 0; B helps again.
        kill(a2.processIdentifier, SIGUSR1)
        a2.waitUntilExit()
        #expect(a2.terminationStatus == 0)
        #expect(eventually(timeout: 5) { h.info.hasSuffix("Graceful restart") }, "B shows \(h.info)")
        #expect(h.learned == ["10.1.0.0/24"] && h.log.all.count == 3)
    }

    /// The peer comes back before the old session died (a hard reboot: no FIN, hold timer still
    /// running): its new OPEN closes the old Established session (RFC 4724 §4.2 collision rule),
    /// the routes stay, and the new session's End-of-RIB flushes what was not re-announced.
    @Test func peerReconnectsWhileTheOldSessionIsStillUp() throws {
        let h = try H()
        defer { h.stop() }
        let a = try Self.launch(h, name: "a", announce: ["10.1.0.0/24", "10.3.0.0/24"], restarting: false, hold: 30)
        defer { if a.isRunning { kill(a.processIdentifier, SIGKILL); a.waitUntilExit() } }
        #expect(eventually(timeout: 10) { h.log.all.count == 2 && h.info == "Established" })
        kill(a.processIdentifier, SIGSTOP)  // its socket stays open: B sees nothing yet
        let a2 = try Self.launch(h, name: "a2", announce: ["10.1.0.0/24"], restarting: true, hold: 30)
        defer { if a2.isRunning { kill(a2.processIdentifier, SIGKILL); a2.waitUntilExit() } }
        #expect(eventually(timeout: 10) { h.log.all.count == 3 && h.info == "Established" }, "B: \(h.info) \(h.log.summary)")
        #expect(h.log.summary == ["10.1.0.0/24 10.9.9.9", "10.3.0.0/24 10.9.9.9", "10.3.0.0/24 -"])
        #expect(h.b.peerStatuses().first?.establishedCount == 2)
    }
}
