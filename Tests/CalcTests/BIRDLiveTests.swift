import Calc
import Foundation
import TestSupport
import Testing

/// Runs the rendered configuration in a real BIRD 2 inside a private network namespace: the
/// configuration must not only parse but start, bring up every protocol it declares, and its
/// kernel-programming filter must install the static blackholes for local blocks and services.
@Suite(.serialized) struct BIRDLiveTests {
    @Test func renderedConfigurationRunsInBIRD() throws {
        guard Privileged.check("BIRD live run in a netns", needs: ["bird", "birdc", "ip"]) else { return }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let ns = "calc-\(suffix)"
        let dir = try TempDir("calc-live")
        defer { dir.cleanup() }
        try Shell.check(["ip", "netns", "add", ns])
        defer { _ = try? Shell.run(["ip", "netns", "del", ns]) }
        func inNS(_ args: [String]) throws -> String { try Shell.check(["ip", "netns", "exec", ns] + args) }
        _ = try inNS(["ip", "link", "set", "lo", "up"])
        _ = try inNS(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"])
        _ = try inNS(["ip", "link", "set", "eth1", "up"])
        _ = try inNS(["ip", "addr", "add", "10.0.0.10/24", "dev", "eth0"])
        _ = try inNS(["ip", "addr", "add", "fd00::10/64", "dev", "eth0", "nodad"])
        _ = try inNS(["ip", "link", "set", "eth0", "up"])

        let snapshot = BIRDScenarios.explicitPeersAllOptions
        let config = try BIRDScenarios.render(snapshot)
        let confPath = dir.file("bird.conf"), sock = dir.file("bird.ctl")
        try config.write(toFile: confPath, atomically: true, encoding: .utf8)
        // BIRD in the foreground (-f), owned by this test and stopped on exit.
        let bird = TestProcess()
        bird.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        bird.arguments = ["ip", "netns", "exec", ns, "bird", "-f", "-c", confPath, "-s", sock]
        bird.standardInput = FileHandle.nullDevice
        bird.standardOutput = FileHandle.nullDevice
        bird.standardError = FileHandle.nullDevice
        try bird.run()
        // SIGKILL: the test process's blocked signal mask is inherited, so BIRD would not see SIGTERM.
        defer { kill(bird.processIdentifier, SIGKILL); bird.waitUntilExit() }

        let peers = PeerCalculator.peers(snapshot)
        var protocols = ""
        let up = eventually(timeout: 10) {
            protocols = (try? Shell.run(["birdc", "-s", sock, "show", "protocols"]).stdout) ?? ""
            return peers.names.allSatisfy { protocols.contains($0) } && protocols.contains("kernel4")
        }
        #expect(up, "BIRD did not report every protocol: \(protocols)")
        var routes = ""
        let installed = eventually(timeout: 10) {
            routes = (try? inNS(["ip", "route", "show", "proto", "bird"])) ?? ""
            routes += (try? inNS(["ip", "-6", "route", "show", "proto", "bird"])) ?? ""
            return routes.contains("blackhole 10.244.7.0/26") && routes.contains("blackhole 10.96.0.0/12")
                && routes.contains("blackhole fd00:244:0:7::/122")
        }
        #expect(installed, "static blackholes not programmed: \(routes)")
        // 10.244.9.9/32 is a /32 block: no blackhole for it.
        #expect(!routes.contains("10.244.9.9"))
        // BIRD accepted the passwords, timers and filters: no protocol is down with a config error.
        #expect(!protocols.contains("Error"), "\(protocols)")
    }

    /// Two nodes, each in its own netns running BIRD with its rendered configuration: the mesh
    /// session comes up and the export policy holds at runtime — each node learns the other's
    /// block, a normal-priority /32 inside a block stays hidden, a raised-priority /32 (live
    /// migration) and a borrowed /32 are advertised, a disabled pool never leaves.
    @Test func twoNodeMeshExchangesRoutesByCalicoPolicy() throws {
        guard Privileged.check("BIRD two-node mesh", needs: ["bird", "birdc", "ip"]) else { return }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let nsA = "calca-\(suffix)", nsB = "calcb-\(suffix)"
        let dir = try TempDir("calc-mesh")
        defer { dir.cleanup() }
        try Shell.check(["ip", "netns", "add", nsA])
        defer { _ = try? Shell.run(["ip", "netns", "del", nsA]) }
        try Shell.check(["ip", "netns", "add", nsB])
        defer { _ = try? Shell.run(["ip", "netns", "del", nsB]) }
        try Shell.check(["ip", "link", "add", "ca\(suffix)", "netns", nsA, "type", "veth", "peer", "name", "cb\(suffix)", "netns", nsB])
        func inNS(_ ns: String, _ args: [String]) throws -> String { try Shell.check(["ip", "netns", "exec", ns] + args) }
        for (ns, dev, ip) in [(nsA, "ca\(suffix)", "10.0.0.1/24"), (nsB, "cb\(suffix)", "10.0.0.2/24")] {
            _ = try inNS(ns, ["ip", "link", "set", "lo", "up"])
            _ = try inNS(ns, ["ip", "addr", "add", ip, "dev", dev])
            _ = try inNS(ns, ["ip", "link", "set", dev, "up"])
        }
        // Workload-like kernel routes on A (BIRD learns alien routes): metric = priority.
        _ = try inNS(nsA, ["ip", "route", "add", "10.244.1.5/32", "dev", "ca\(suffix)", "metric", "1024"])   // hidden
        _ = try inNS(nsA, ["ip", "route", "add", "10.244.1.6/32", "dev", "ca\(suffix)", "metric", "512"])    // migration
        _ = try inNS(nsA, ["ip", "route", "add", "10.244.3.7/32", "dev", "ca\(suffix)", "metric", "1024"])   // borrowed
        _ = try inNS(nsA, ["ip", "route", "add", "10.250.0.9/32", "dev", "ca\(suffix)", "metric", "1024"])   // disabled pool

        func snapshot(_ me: String) -> CalcSnapshot {
            CalcSnapshot(nodeName: me, nodes: [F.node("a", v4: "10.0.0.1/24"), F.node("b", v4: "10.0.0.2/24")],
                         ipPools: [F.pool("10.244.0.0/16"), F.pool("10.250.0.0/16", disabled: true)],
                         blockAffinities: [F.affinity("a", "10.244.1.0/26"), F.affinity("b", "10.244.2.0/26")])
        }
        var birds: [TestProcess] = []
        defer { for b in birds { kill(b.processIdentifier, SIGKILL); b.waitUntilExit() } }
        for (ns, me) in [(nsA, "a"), (nsB, "b")] {
            let conf = dir.file("\(me).conf")
            try BIRDScenarios.render(snapshot(me)).write(toFile: conf, atomically: true, encoding: .utf8)
            let bird = TestProcess()
            bird.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            bird.arguments = ["ip", "netns", "exec", ns, "bird", "-f", "-c", conf, "-s", dir.file("\(me).ctl")]
            bird.standardInput = FileHandle.nullDevice
            bird.standardOutput = FileHandle.nullDevice
            bird.standardError = FileHandle.nullDevice
            try bird.run()
            birds.append(bird)
        }
        var state = ""
        let established = eventually(timeout: 30, interval: 0.2) {
            state = (try? Shell.run(["birdc", "-s", dir.file("b.ctl"), "show", "protocols", "Mesh_10_0_0_1"]).stdout) ?? ""
            return state.contains("Established")
        }
        #expect(established, "mesh session did not come up: \(state)")
        var routes = ""
        let learned = eventually(timeout: 20, interval: 0.2) {
            routes = (try? inNS(nsB, ["ip", "route", "show", "proto", "bird"])) ?? ""
            return routes.contains("10.244.1.0/26 via 10.0.0.1") && routes.contains("10.244.3.7 via 10.0.0.1")
                && routes.contains("10.244.1.6 via 10.0.0.1")
        }
        #expect(learned, "B did not learn A's routes: \(routes)")
        #expect(!routes.contains("10.244.1.5"), "a normal /32 inside A's block leaked: \(routes)")
        #expect(!routes.contains("10.250.0.9"), "a route in a disabled pool leaked: \(routes)")
        #expect(routes.contains("blackhole 10.244.2.0/26") && !routes.contains("10.244.2.0/26 via"), "B's own block: \(routes)")
        #expect(!routes.contains("10.0.0.0/24"), "connected route re-installed by BIRD: \(routes)")
    }
}
