import CtlCore
import Foundation
import Testing
import TestSupport

/// The built `twill-bgpd` binary: config errors exit non-zero naming the field and start
/// nothing; SIGTERM sends Cease 6/2 to its peers and exits 0.
@Suite(.serialized) struct DaemonTests {
    static var binary: String { BuiltProducts.path("twill-bgpd") }

    @Test func badConfigExitsNonZeroNamingTheField() throws {
        let dir = try TempDir("twill-bgpd")
        defer { dir.cleanup() }
        let cfg = dir.file("bad.yaml")
        try "routerID: 10.0.0.1\nasNumber: 65000\ncontrolSocket: \(dir.file("c.sock"))\npeers:\n  - {address: 10.0.0.2, asNumber: 65001, holdTime: 2s}\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try Shell.run([Self.binary, "-c", cfg], timeout: 10)
        #expect(r.status != 0)
        #expect(r.stderr.contains("peers[0].holdTime"), "stderr: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("c.sock")), "nothing may start")
        let check = try Shell.run([Self.binary, "-c", cfg, "--check"], timeout: 10)
        #expect(check.status != 0)
    }

    @Test func sigtermSendsCeaseAndExitsZero() throws {
        let dir = try TempDir("twill-bgpd")
        defer { dir.cleanup() }
        // Two daemons on loopback: b (127.0.0.2) passive on a port picked here, a dials it.
        let port = 20000 + Int.random(in: 0..<30000)
        let a = """
        routerID: 10.0.0.1
        asNumber: 65001
        listen: false
        controlSocket: \(dir.file("a.sock"))
        peers: [{address: 127.0.0.2, port: \(port), asNumber: 65002, sourceAddress: 127.0.0.1, holdTime: 9s}]
        """
        let b = """
        routerID: 10.0.0.2
        asNumber: 65002
        listen: {address: 127.0.0.2, port: \(port)}
        controlSocket: \(dir.file("b.sock"))
        peers: [{address: 127.0.0.1, asNumber: 65001, passive: true, holdTime: 9s}]
        """
        try a.write(toFile: dir.file("a.yaml"), atomically: true, encoding: .utf8)
        try b.write(toFile: dir.file("b.yaml"), atomically: true, encoding: .utf8)
        func launch(_ name: String) throws -> TestProcess {
            let p = TestProcess()
            p.executableURL = URL(fileURLWithPath: Self.binary)
            p.arguments = ["-c", dir.file("\(name).yaml")]
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            return p
        }
        let pb = try launch("b")
        defer { if pb.isRunning { pb.terminate(); pb.waitUntilExit() } }
        #expect(eventually(timeout: 5) { FileManager.default.fileExists(atPath: dir.file("b.sock")) })
        let pa = try launch("a")
        defer { if pa.isRunning { pa.terminate(); pa.waitUntilExit() } }
        func bPeer() -> NodePeerStatus? {
            guard let j = try? NodeStatusCommand.status(socketPath: dir.file("b.sock"), json: true) else { return nil }
            return (try? JSONDecoder().decode([NodePeerStatus].self, from: Data(j.utf8)))?.first
        }
        #expect(eventually(timeout: 10) { bPeer()?.state == "up" }, "b: \(String(describing: bPeer()))")
        kill(pa.processIdentifier, SIGTERM)
        pa.waitUntilExit()
        #expect(pa.terminationStatus == 0)
        // Both sides negotiated graceful restart with the N bit: the Cease goes out as a Hard
        // Reset (RFC 8538 §5) wrapping 6/2, so B flushes A's routes instead of keeping them.
        #expect(eventually(timeout: 5) { bPeer()?.info.contains("Received: 6/9 Cease: Hard Reset, 6/2") == true },
                "b: \(String(describing: bPeer()))")
    }
}
