import Calc
import Datastore
import Foundation
import NetCore
@testable import NodeAgent
import ResourceClient
import TestSupport
import Testing

/// Two nodes, each a network namespace running BIRD under a `BIRDBackend`, configured from one
/// datastore as `twill-node --bgp-backend bird` does.
@Suite(.serialized) struct BIRDBackendLiveTests {
    /// Namespaces a (10.0.0.1) and b (10.0.0.2) joined by a veth pair; removed on exit.
    final class Lab {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let nsA: String, nsB: String
        let dir: TempDir
        init() throws {
            nsA = "bba-\(suffix)"; nsB = "bbb-\(suffix)"
            dir = try TempDir("bird-backend")
            try Shell.check(["ip", "netns", "add", nsA])
            try Shell.check(["ip", "netns", "add", nsB])
            try Shell.check(["ip", "link", "add", "va\(suffix)", "netns", nsA, "type", "veth", "peer", "name", "vb\(suffix)", "netns", nsB])
            for (ns, dev, ip) in [(nsA, "va\(suffix)", "10.0.0.1/24"), (nsB, "vb\(suffix)", "10.0.0.2/24")] {
                try Shell.check(["ip", "-n", ns, "link", "set", "lo", "up"])
                try Shell.check(["ip", "-n", ns, "addr", "add", ip, "dev", dev])
                try Shell.check(["ip", "-n", ns, "link", "set", dev, "up"])
            }
        }
        func cleanup() {
            _ = try? Shell.run(["ip", "netns", "del", nsA])
            _ = try? Shell.run(["ip", "netns", "del", nsB])
            dir.cleanup()
        }
        /// BIRD in a namespace: the backend runs `bird` by path, so a wrapper enters the namespace.
        func backend(_ node: String, ns: String, log: BIRDTestLog) throws -> BIRDBackend {
            let wrapper = dir.file("bird-\(node)")
            try "#!/bin/sh\nexec ip netns exec \(ns) bird \"$@\"\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
            return BIRDBackend(configPath: dir.file("\(node).cfg"), controlSocket: dir.file("\(node).ctl"),
                               birdBinary: wrapper, logger: log.logger("bird.\(node)"))
        }
        func routes(_ ns: String) -> String { (try? Shell.check(["ip", "-n", ns, "route", "show"])) ?? "" }
    }

    static func established(_ b: BIRDBackend, _ name: String) -> Bool {
        (try? b.peerStatuses())?.contains { $0.name == name && $0.isEstablished } ?? false
    }

    static func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno != ESRCH }

    @Test func meshComesUpProgramsRoutesReconfiguresAndStops() throws {
        guard Privileged.check("BIRD backend two-node mesh", needs: ["bird", "birdc", "ip"]) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let store = MemoryDatastore()
        let blocks = try BIRDCluster.twoNodeMesh(store)
        let blockA = try #require(blocks["a"]), blockB = try #require(blocks["b"])
        let logA = BIRDTestLog(), logB = BIRDTestLog()
        let a = try lab.backend("a", ns: lab.nsA, log: logA), b = try lab.backend("b", ns: lab.nsB, log: logB)
        defer { a.stop(); b.stop() }

        let started = Date()
        #expect(try a.apply(birdConfigInput(store: store, nodeName: "a")) == .started)
        #expect(try b.apply(birdConfigInput(store: store, nodeName: "b")) == .started)
        let pidA = try #require(a.processID), pidB = try #require(b.processID)

        // Both reach Established.
        let up = eventually(timeout: 30, interval: 0.1) {
            Self.established(a, "Mesh_10_0_0_2") && Self.established(b, "Mesh_10_0_0_1")
        }
        #expect(up, "mesh not Established: a=\(String(describing: try? a.peerStatuses())) b=\(String(describing: try? b.peerStatuses()))")
        let status = try #require(try a.peerStatuses().first { $0.name == "Mesh_10_0_0_2" })
        #expect(status.peerType == .mesh && status.peerAddress == IPAddress("10.0.0.2") && status.state == "up")
        print("BIRD backend: mesh Established \(String(format: "%.2f", Date().timeIntervalSince(started))) s after the first apply")

        // Each node's block is in the other's kernel table, via the other node (BIRD's kernel protocol).
        var ra = "", rb = ""
        let routed = eventually(timeout: 20, interval: 0.1) {
            ra = lab.routes(lab.nsA); rb = lab.routes(lab.nsB)
            return ra.contains("\(blockB) via 10.0.0.2") && rb.contains("\(blockA) via 10.0.0.1")
        }
        #expect(routed, "block routes missing: A:\n\(ra)\nB:\n\(rb)")
        print("BIRD backend: block routes in both kernels \(String(format: "%.2f", Date().timeIntervalSince(started))) s after the first apply")
        // BIRD's log reached the agent's logger.
        #expect(logA.contains("<INFO> Started"), "\(logA.lines)")

        // Same state again: nothing to do.
        #expect(try a.apply(birdConfigInput(store: store, nodeName: "a")) == .unchanged)
        #expect(a.reconfigurationCount == 0)

        // A new global BGPPeer: `birdc configure` on both, the peer set grows, the mesh stays up.
        try ResourceClient(datastore: store).apply([BIRDCluster.peer("tor", ip: "10.0.0.254", as: 65001)])
        let meshSince = status.since
        for (backend, node) in [(a, "a"), (b, "b")] {
            let input = try birdConfigInput(store: store, nodeName: node)
            let t0 = Date()
            #expect(try backend.apply(input) == .reconfigured)
            print("BIRD backend: apply with a change (bird -p, rename, birdc configure) took \(String(format: "%.1f", Date().timeIntervalSince(t0) * 1000)) ms")
            #expect(backend.reconfigurationCount == 1)
        }
        #expect(logA.contains("<INFO> Reconfigured"))
        let names = try a.peerStatuses().map(\.name)
        #expect(names.contains("Global_10_0_0_254") && names.contains("Mesh_10_0_0_2"), "\(names)")
        let mesh = try #require(try a.peerStatuses().first { $0.name == "Mesh_10_0_0_2" })
        #expect(mesh.isEstablished && mesh.since == meshSince, "unchanged mesh session was reset: \(mesh)")
        #expect(try String(contentsOfFile: a.configPath, encoding: .utf8) == a.installedConfiguration)

        // A broken input: refused with BIRD's message, running config and file untouched.
        let good = try #require(a.installedConfiguration)
        var bad = try birdConfigInput(store: store, nodeName: "a")
        bad.config.listenPort = 70000
        #expect {
            try a.apply(bad)
        } throws: { error in
            guard case BIRDBackendError.rejected(let m) = error else { return false }
            return m.contains("Invalid port number")
        }
        #expect(a.installedConfiguration == good)
        #expect(try String(contentsOfFile: a.configPath, encoding: .utf8) == good)
        #expect(a.reconfigurationCount == 1 && a.processID == pidA)
        #expect(try a.peerStatuses().map(\.name).contains("Global_10_0_0_254"))
        #expect(Self.established(a, "Mesh_10_0_0_2"))

        // Removing the peer again: configure, and it is gone.
        try ResourceClient(datastore: store).delete([ResourceID(kind: .bgpPeer, name: "tor")])
        #expect(try a.apply(birdConfigInput(store: store, nodeName: "a")) == .reconfigured)
        #expect(try !a.peerStatuses().map(\.name).contains("Global_10_0_0_254"))

        // BIRD killed: the supervisor starts it again and the session comes back.
        kill(pidB, SIGKILL)
        let restarted = eventually(timeout: 15, interval: 0.1) { b.startCount == 2 && b.processID != nil && b.processID != pidB }
        #expect(restarted, "BIRD was not restarted (starts \(b.startCount))")
        #expect(logB.lines.contains { $0.0 == .error && $0.1.contains("killed by signal 9") }, "\(logB.lines)")
        #expect(eventually(timeout: 30, interval: 0.1) { Self.established(a, "Mesh_10_0_0_2") && Self.established(b, "Mesh_10_0_0_1") })
        let pidB2 = try #require(b.processID)

        // stop(): no BIRD left, no socket, nothing applied afterwards.
        a.stop(); b.stop()
        #expect(!Self.processExists(pidA) && !Self.processExists(pidB2))
        #expect(!FileManager.default.fileExists(atPath: a.controlSocket) && !FileManager.default.fileExists(atPath: b.controlSocket))
        #expect(a.processID == nil)
        #expect(throws: BIRDBackendError.stopped) { try a.apply(birdConfigInput(store: store, nodeName: "a")) }
        #expect(throws: BIRDBackendError.self) { try a.peerStatuses() }
        // `persist`: the learned route outlives BIRD, as after calico-node stops.
        #expect(lab.routes(lab.nsA).contains("\(blockB) via 10.0.0.2"))
    }

    /// The agent was killed and restarted while its BIRD kept running: the new backend adopts
    /// that BIRD (configure, no restart: the session is not reset), watches it, and starts its
    /// own when it goes away.
    @Test func restartedAgentAdoptsTheBIRDItLeftRunning() throws {
        guard Privileged.check("BIRD backend adoption", needs: ["bird", "birdc", "ip"]) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let store = MemoryDatastore()
        try BIRDCluster.twoNodeMesh(store)
        let logA = BIRDTestLog(), logB = BIRDTestLog()
        let b = try lab.backend("b", ns: lab.nsB, log: logB)
        defer { b.stop() }
        #expect(try b.apply(birdConfigInput(store: store, nodeName: "b")) == .started)

        // The previous agent's BIRD: detached (its parent exits), configuration and pid file in place.
        let a = try lab.backend("a", ns: lab.nsA, log: logA)
        defer { a.stop() }
        try (renderBIRDConfig(store: store, nodeName: "a") + BIRDBackend.logStanza)
            .write(toFile: a.configPath, atomically: true, encoding: .utf8)
        // (posix_spawn, not Shell: Foundation's Process leaks its pipe ends into the grandchild,
        // and Shell would wait for their EOF as long as BIRD runs.)
        let sh = try BIRDSubprocess.spawn(["sh", "-c", "\(a.birdBinary) -f -c \(a.configPath) -s \(a.controlSocket) -P \(a.pidFile) &"],
                                          stdoutFD: nil, stderrFD: nil)
        #expect(BIRDSubprocess.waitForExit(sh) == 0)
        var orphan: Int32 = 0
        defer { if orphan > 0 { kill(orphan, SIGKILL) } }
        #expect(eventually(timeout: 10) {
            orphan = Int32((try? String(contentsOfFile: a.pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            return orphan > 0
        })
        #expect(eventually(timeout: 30, interval: 0.1) { Self.established(a, "Mesh_10_0_0_2") && Self.established(b, "Mesh_10_0_0_1") })
        let before = try #require(try a.peerStatuses().first { $0.name == "Mesh_10_0_0_2" })

        // The restarted agent: a new peer appeared meanwhile; BIRD is kept and reconfigured.
        try ResourceClient(datastore: store).apply([BIRDCluster.peer("tor", ip: "10.0.0.254", as: 65001)])
        #expect(try a.apply(birdConfigInput(store: store, nodeName: "a")) == .adopted)
        #expect(a.processID == orphan && a.startCount == 0 && a.reconfigurationCount == 1)
        let after = try a.peerStatuses()
        #expect(after.contains { $0.name == "Global_10_0_0_254" })
        #expect(after.contains { $0.name == "Mesh_10_0_0_2" && $0.isEstablished && $0.since == before.since },
                "adoption reset the mesh session: \(after)")
        // Later changes go to the adopted BIRD as usual.
        try ResourceClient(datastore: store).delete([ResourceID(kind: .bgpPeer, name: "tor")])
        #expect(try a.apply(birdConfigInput(store: store, nodeName: "a")) == .reconfigured)
        #expect(try !a.peerStatuses().contains { $0.name == "Global_10_0_0_254" })

        // The adopted BIRD dies: the backend starts and supervises its own.
        kill(orphan, SIGKILL)
        #expect(eventually(timeout: 15, interval: 0.1) { a.startCount == 1 && a.processID != nil && a.processID != orphan })
        #expect(eventually(timeout: 30, interval: 0.1) { Self.established(a, "Mesh_10_0_0_2") })
        let own = try #require(a.processID)
        a.stop()
        #expect(!Self.processExists(own) && !FileManager.default.fileExists(atPath: a.pidFile))
    }

    /// BIRD that cannot start (its control socket directory does not exist) is reported with
    /// BIRD's own words, and no process is left behind.
    @Test func startFailureIsReportedWithBIRDsMessage() throws {
        guard Privileged.check("BIRD backend start failure", needs: ["bird", "birdc"]) else { return }
        let store = MemoryDatastore()
        try BIRDCluster.twoNodeMesh(store)
        let dir = try TempDir("bird-nostart")
        defer { dir.cleanup() }
        let log = BIRDTestLog()
        let backend = BIRDBackend(configPath: dir.file("bird.cfg"), controlSocket: dir.file("missing/dir/bird.ctl"),
                                  logger: log.logger("bird"))
        defer { backend.stop() }
        #expect {
            try backend.apply(birdConfigInput(store: store, nodeName: "a"))
        } throws: { error in
            guard case BIRDBackendError.start(let m) = error else { return false }
            return m.contains("exited") && m.contains("socket")
        }
        #expect(backend.processID == nil)
    }
}
