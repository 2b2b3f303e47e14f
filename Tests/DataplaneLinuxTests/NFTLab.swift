import Foundation
import TestSupport

/// A "node" network namespace with workload namespaces attached by veth, Calico style: the
/// workload has a /32 and a default route via 169.254.1.1; the node side answers ARP by proxy
/// and routes the /32 to the veth. Every name carries a random suffix; `cleanup()` removes all.
final class NFTLab {
    struct Workload { var ns: String; var iface: String; var ip: String; var ip6: String? }
    let suffix = String(format: "%06x", UInt32.random(in: 0..<0xFFFFFF))
    let node: String
    private(set) var workloads: [String: Workload] = [:]
    private var listeners: [TestProcess] = []

    init() throws {
        node = "twn" + suffix
        try Shell.check(["ip", "netns", "add", node])
        do { try setUpNode() } catch { cleanup(); throw error }
    }

    private func setUpNode() throws {
        try nodeExec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        try Shell.check(["ip", "-n", node, "link", "set", "lo", "up"])
        // The node's own address (workloads reach it by their default route).
        try Shell.check(["ip", "-n", node, "addr", "add", "192.168.255.1/32", "dev", "lo"])
        // An "uplink" with the default route, so proxy ARP answers for 169.254.1.1 as on a real node.
        try Shell.check(["ip", "-n", node, "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1"])
        try Shell.check(["ip", "-n", node, "link", "set", "uplink0", "up"])
        try Shell.check(["ip", "-n", node, "link", "set", "uplink1", "up"])
        try Shell.check(["ip", "-n", node, "route", "add", "default", "dev", "uplink0"])
    }

    var nodeNetnsPath: String { "/run/netns/" + node }

    @discardableResult
    func nodeExec(_ args: [String]) throws -> String { try Shell.check(["ip", "netns", "exec", node] + args) }

    /// With `ip6`, the workload also gets that /128 and a default route via fe80::1, which every
    /// node-side veth holds (as Calico gives them all one link-local address).
    func addWorkload(_ letter: String, ip: String, ip6: String? = nil) throws {
        let ns = "tw\(letter)w" + suffix, iface = "tw\(letter)" + suffix
        workloads[letter] = Workload(ns: ns, iface: iface, ip: ip, ip6: ip6)  // recorded first: cleanup removes it
        try Shell.check(["ip", "netns", "add", ns])
        try Shell.check(["ip", "-n", node, "link", "add", iface, "type", "veth", "peer", "name", "eth0", "netns", ns])
        try Shell.check(["ip", "-n", node, "link", "set", iface, "up"])
        try Shell.check(["ip", "-n", ns, "link", "set", "lo", "up"])
        try Shell.check(["ip", "-n", ns, "link", "set", "eth0", "up"])
        try Shell.check(["ip", "-n", ns, "addr", "add", ip + "/32", "dev", "eth0"])
        try Shell.check(["ip", "-n", ns, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link"])
        try Shell.check(["ip", "-n", ns, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0"])
        try nodeExec(["sysctl", "-qw", "net.ipv4.conf.\(iface).proxy_arp=1"])
        try Shell.check(["ip", "-n", node, "route", "add", ip + "/32", "dev", iface])
        if let ip6 {
            try nodeExec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
            try Shell.check(["ip", "-n", node, "addr", "add", "fe80::1/64", "dev", iface, "nodad"])
            try Shell.check(["ip", "-n", node, "-6", "route", "add", ip6 + "/128", "dev", iface])
            try Shell.check(["ip", "-n", ns, "addr", "add", ip6 + "/128", "dev", "eth0", "nodad"])
            try Shell.check(["ip", "-n", ns, "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0"])
        }
    }

    /// A TCP listener on `ports` inside workload `letter` that accepts and closes (bounded: 120 s).
    func listen(_ letter: String, ports: [Int]) throws {
        let w = workloads[letter]!
        try listen(inNamespace: w.ns, reachableAt: w.ip, ports: ports)
    }

    /// A listener in any namespace, ready once the node reaches `ip` on every port.
    func listen(inNamespace ns: String, reachableAt ip: String, ports: [Int]) throws {
        let script = """
        import socket, select, sys
        ss = []
        for p in sys.argv[1:]:
            s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(('::', int(p))); s.listen(16); ss.append(s)
        while True:
            r, _, _ = select.select(ss, [], [])
            for s in r:
                c, _ = s.accept(); c.close()
        """
        let p = TestProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", ns, "timeout", "120", "/usr/bin/python3", "-c", script] + ports.map(String.init)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        listeners.append(p)
        // Ready when the node (host → workload is always allowed) can connect to every port.
        for port in ports {
            guard eventually(timeout: 10, { (try? self.connects(fromNamespace: self.node, to: ip, port: port)) == true }) else {
                throw ShellError.timedOut(["listener \(ns) \(ip):\(port)"])
            }
        }
    }

    /// Moves the uplink's far end into an "outside" namespace (203.0.113.1/24) that has no
    /// route back to the workloads: only masqueraded traffic gets answers. Returns its name.
    func addOutside() throws -> String {
        let ext = "twx" + suffix
        external = ext
        try Shell.check(["ip", "netns", "add", ext])
        try Shell.check(["ip", "-n", node, "link", "set", "uplink1", "netns", ext])
        try Shell.check(["ip", "-n", ext, "addr", "add", "203.0.113.1/24", "dev", "uplink1"])
        try Shell.check(["ip", "-n", ext, "link", "set", "uplink1", "up"])
        try Shell.check(["ip", "-n", ext, "link", "set", "lo", "up"])
        try Shell.check(["ip", "-n", node, "addr", "add", "203.0.113.2/24", "dev", "uplink0"])
        try Shell.check(["ip", "-n", node, "route", "replace", "default", "via", "203.0.113.1", "dev", "uplink0"])
        return ext
    }
    private var external: String?

    /// True when a TCP connection from namespace `ns` to ip:port completes within 1.5 s.
    func connects(fromNamespace ns: String, to ip: String, port: Int, source: String? = nil) throws -> Bool {
        let src = source.map { ", source_address=('\($0)', 0)" } ?? ""
        let r = try Shell.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c",
                               "import socket; socket.create_connection(('\(ip)', \(port)), timeout=1.5\(src)).close()"],
                              timeout: 20)
        return r.status == 0
    }

    func connects(_ from: String, _ to: String, _ port: Int, source: String? = nil, v6: Bool = false) throws -> Bool {
        try connects(fromNamespace: workloads[from]!.ns, to: v6 ? workloads[to]!.ip6! : workloads[to]!.ip, port: port,
                     source: source)
    }

    /// `nft -j list ruleset` in the node namespace, as the array under "nftables".
    func ruleset() throws -> [[String: Any]] {
        let out = try nodeExec(["nft", "-j", "list", "ruleset"])
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        return obj?["nftables"] as? [[String: Any]] ?? []
    }

    func tables() throws -> Set<String> {
        Set(try ruleset().compactMap { ($0["table"] as? [String: Any]).map { "\($0["family"]!) \($0["name"]!)" } })
    }

    func chains(in table: String) throws -> Set<String> {
        Set(try ruleset().compactMap { o -> String? in
            guard let c = o["chain"] as? [String: Any], c["table"] as? String == table else { return nil }
            return c["name"] as? String
        })
    }

    /// Rule handles per chain of a table: unchanged handles mean the chain was not rewritten.
    func ruleHandles(in table: String) throws -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for o in try ruleset() {
            guard let r = o["rule"] as? [String: Any], r["table"] as? String == table,
                  let chain = r["chain"] as? String, let h = r["handle"] as? Int else { continue }
            out[chain, default: []].append(h)
        }
        return out
    }

    func cleanup() {
        for p in listeners where p.isRunning { p.terminate() }
        for w in workloads.values { _ = try? Shell.run(["ip", "netns", "del", w.ns]) }
        if let external { _ = try? Shell.run(["ip", "netns", "del", external]) }
        _ = try? Shell.run(["ip", "netns", "del", node])
    }
}
