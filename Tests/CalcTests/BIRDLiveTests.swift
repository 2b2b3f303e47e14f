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
        let bird = Process()
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
}
