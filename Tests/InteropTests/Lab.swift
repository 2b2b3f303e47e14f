import BGPSpeaker
import CtlCore
import Foundation
import TestSupport

/// Two network namespaces joined by a veth pair: "twill" (10.213.0.1, fd00:213::1) runs the
/// built `twill-bgpd`, "peer" (10.213.0.2, fd00:213::2) runs BIRD, FRR or GoBGP. Names carry a
/// random suffix; `cleanup()` (call it in `defer`) kills every process started here and
/// deletes both namespaces, so a failed test leaves nothing behind.
final class Lab: @unchecked Sendable {
    static let twV4 = "10.213.0.1", peerV4 = "10.213.0.2"
    static let twV6 = "fd00:213::1", peerV6 = "fd00:213::2"

    let suffix = String(UInt32.random(in: 0...0xfffff), radix: 16)
    let twNS: String
    let peerNS: String
    let dir: TempDir
    private var processes: [TestProcess] = []
    private(set) var twill: TestProcess?

    init() throws {
        twNS = "twt-\(suffix)"
        peerNS = "twp-\(suffix)"
        dir = try TempDir("twill-interop")
        do {
            try Shell.check(["ip", "netns", "add", twNS])
            try Shell.check(["ip", "netns", "add", peerNS])
            let a = "vt\(suffix)", b = "vp\(suffix)"
            try Shell.check(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
            try Shell.check(["ip", "link", "set", a, "netns", twNS])
            try Shell.check(["ip", "link", "set", b, "netns", peerNS])
            for (ns, dev, v4, v6) in [(twNS, a, Lab.twV4, Lab.twV6), (peerNS, b, Lab.peerV4, Lab.peerV6)] {
                try Shell.check(["ip", "-n", ns, "addr", "add", "\(v4)/24", "dev", dev])
                try Shell.check(["ip", "-n", ns, "addr", "add", "\(v6)/64", "dev", dev, "nodad"])
                try Shell.check(["ip", "-n", ns, "link", "set", "lo", "up"])
                try Shell.check(["ip", "-n", ns, "link", "set", dev, "up"])
            }
        } catch {
            cleanup()
            throw error
        }
    }

    func cleanup() {
        for p in processes where p.isRunning {
            kill(p.processIdentifier, SIGCONT)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        processes.removeAll()
        _ = try? Shell.run(["ip", "netns", "del", twNS])
        _ = try? Shell.run(["ip", "netns", "del", peerNS])
        dir.cleanup()
    }

    /// Starts `args` inside `ns` (foreground daemons only), output to `dir/<log>`.
    @discardableResult
    func spawn(in ns: String, _ args: [String], log: String) throws -> TestProcess {
        let p = TestProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", ns] + args
        let fh = FileManager.default.createFile(atPath: dir.file(log), contents: nil)
            ? FileHandle(forWritingAtPath: dir.file(log)) : nil
        p.standardOutput = fh
        p.standardError = fh
        try p.run()
        processes.append(p)
        return p
    }

    /// Runs a command in a namespace and returns stdout (bounded).
    func exec(in ns: String, _ args: [String], timeout: Double = 10) -> String {
        (try? Shell.run(["ip", "netns", "exec", ns] + args, timeout: timeout).stdout) ?? ""
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: dir.file(name), encoding: .utf8)) ?? "" }

    // MARK: twill-bgpd

    var controlSocket: String { dir.file("twill.sock") }
    var twillConfigPath: String { dir.file("twill.yaml") }

    func writeTwillConfig(_ yaml: String) throws {
        try yaml.write(toFile: twillConfigPath, atomically: true, encoding: .utf8)
    }

    func startTwill(_ yaml: String) throws {
        let bin = BuiltProducts.path("twill-bgpd")
        guard FileManager.default.isExecutableFile(atPath: bin) else { throw LabError("\(bin) is missing: run swift build first") }
        try writeTwillConfig(yaml)
        twill = try spawn(in: twNS, [BuiltProducts.path("twill-bgpd"), "-c", twillConfigPath, "--log-level", "debug"],
                          log: "twill.log")
    }

    /// Rewrites the config and sends SIGHUP.
    func reloadTwill(_ yaml: String) throws {
        try writeTwillConfig(yaml)
        if let t = twill { kill(t.processIdentifier, SIGHUP) }
    }

    func twillPeers() -> [PeerStatus] {
        guard let json = try? NodeStatusCommand.status(socketPath: controlSocket, json: true) else { return [] }
        return (try? JSONDecoder().decode([PeerStatus].self, from: Data(json.utf8))) ?? []
    }

    func twillRoutes() -> [RouteStatus] {
        guard let json = try? NodeStatusCommand.routes(socketPath: controlSocket, json: true) else { return [] }
        return (try? JSONDecoder().decode([RouteStatus].self, from: Data(json.utf8))) ?? []
    }

    func twillEstablished(_ addr: String) -> Bool {
        twillPeers().first { $0.peerAddress == addr }?.state == "up"
    }

    func twillRoute(_ prefix: String) -> RouteStatus? {
        twillRoutes().first { $0.prefix == prefix && $0.best }
    }

    /// A twill-bgpd config peering with the peer namespace over IPv4 and IPv6.
    static func twillConfig(asn: String = "4200000001", peerAS: String = "65002", passive: Bool = false,
                            password: String? = nil, holdTime: String = "3s", ttlSecurity: Bool = false,
                            announce: [String]) -> String {
        var y = """
        routerID: 10.213.0.1
        asNumber: \(asn)
        controlSocket: CONTROL
        peers:

        """
        for (name, addr) in [("peer4", peerV4), ("peer6", peerV6)] {
            y += "  - name: \(name)\n    address: \"\(addr)\"\n    asNumber: \(peerAS)\n    holdTime: \(holdTime)\n"
            y += "    passive: \(passive)\n    import: all\n    export: all\n"
            if let password { y += "    password: \"\(password)\"\n" }
            if ttlSecurity { y += "    ttlSecurity: true\n" }
        }
        y += "announce:\n"
        for a in announce { y += "  - prefix: \"\(a)\"\n" }
        return y
    }

    func config(_ template: String) -> String { template.replacingOccurrences(of: "CONTROL", with: controlSocket) }

    // MARK: signals for the peer daemon

    func freeze(_ p: TestProcess) { kill(p.processIdentifier, SIGSTOP) }
    func thaw(_ p: TestProcess) { kill(p.processIdentifier, SIGCONT) }
}

/// What a peer daemon shows about a route it received from Twill.
struct PeerRoute: Equatable, CustomStringConvertible {
    var nextHop: String
    var asPath: String
    var description: String { "via \(nextHop) path [\(asPath)]" }
}

/// One of the reference daemons, driven through its own CLI.
protocol PeerDaemon {
    var name: String { get }
    /// Starts the daemon in `lab.peerNS`: AS 65002, peers 10.213.0.1 / fd00:213::1 (AS `twillAS`),
    /// announcing 192.0.2.0/24 and 2001:db8:2::/48.
    mutating func start(lab: Lab, twillAS: String, passive: Bool, password: String?) throws
    var process: TestProcess? { get }
    func established(lab: Lab, _ twillAddress: String) -> Bool
    func route(lab: Lab, _ prefix: String) -> PeerRoute?
    /// Withdraws the peer's own 192.0.2.0/24.
    func withdrawOwnIPv4(lab: Lab)
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
