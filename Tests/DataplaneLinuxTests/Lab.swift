import Foundation
import TestSupport

/// A throw-away network lab: namespaces with unique names (random suffix), veths between
/// them, and `twill-dp-apply` runs inside. `cleanup()` (call it in `defer`) deletes every
/// namespace, which also removes every device in it.
final class Lab {
    let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
    private(set) var namespaces: [String] = []
    let dir: TempDir

    init() throws { dir = try TempDir("twill-dp") }

    /// Creates namespace `tw<base>-<tag>` with loopback up.
    func netns(_ base: String) throws -> String {
        let name = "tw\(base)-\(tag)"
        try Shell.check(["ip", "netns", "add", name])
        namespaces.append(name)
        try ip(name, "link", "set", "lo", "up")
        return name
    }

    @discardableResult
    func ip(_ ns: String, _ args: String...) throws -> String { try Shell.check(["ip", "-n", ns] + args) }

    @discardableResult
    func exec(_ ns: String, _ args: [String]) throws -> String { try Shell.check(["ip", "netns", "exec", ns] + args) }

    /// A veth pair `a`@nsA — `b`@nsB, both up.
    func veth(_ nsA: String, _ a: String, _ nsB: String, _ b: String) throws {
        try ip(nsA, "link", "add", a, "type", "veth", "peer", "name", b, "netns", nsB)
        try ip(nsA, "link", "set", a, "up")
        try ip(nsB, "link", "set", b, "up")
    }

    /// A bridge namespace with bridge `br0`; `attach` plugs a new node NIC into it.
    func bridge() throws -> String {
        let ns = try netns("br")
        try ip(ns, "link", "add", "br0", "type", "bridge")
        try ip(ns, "link", "set", "br0", "up")
        return ns
    }

    private var ports = 0
    /// Plugs a new NIC of `node` into the bridge, with addresses and a default route (proxy
    /// ARP towards workloads only answers for routable targets, as on a real node).
    func attach(_ node: String, nic: String = "eth0", to bridgeNS: String, addresses: [String], gateway: String? = nil) throws {
        ports += 1
        let port = "p\(ports)"
        try veth(bridgeNS, port, node, nic)
        try ip(bridgeNS, "link", "set", port, "master", "br0")
        for a in addresses {
            if a.contains(":") { try ip(node, "-6", "addr", "add", a, "dev", nic, "nodad") }
            else { try ip(node, "addr", "add", a, "dev", nic) }
        }
        if let gateway { try ip(node, "route", "add", "default", "via", gateway, "dev", nic) }
    }

    /// A workload namespace behind host-side `hostIf` on `node` (Calico style: /32 address,
    /// default route via a link-local next hop answered by proxy ARP, v6 via fe80::1).
    /// Returns the workload's MAC.
    func workload(_ name: String, on node: String, hostIf: String, v4: String, v6: String? = nil) throws -> (ns: String, mac: String) {
        let ns = try netns(name)
        try veth(node, hostIf, ns, "eth0")
        try ip(ns, "addr", "add", "\(v4)/32", "dev", "eth0")
        try ip(ns, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
        try ip(ns, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
        if let v6 {
            try ip(node, "addr", "add", "fe80::1/64", "dev", hostIf, "nodad")
            try ip(ns, "-6", "addr", "add", "\(v6)/128", "dev", "eth0", "nodad")
            try ip(ns, "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0")
        }
        let link = try ip(ns, "-o", "link", "show", "eth0")
        let mac = link.components(separatedBy: "link/ether ")[1].prefix(17)
        return (ns, String(mac))
    }

    /// Writes a routing input JSON file and returns its path.
    func input(_ name: String, _ json: [String: Any]) throws -> String {
        let path = dir.file("\(name).json")
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    static var tool: String { BuiltProducts.path("twill-dp-apply") }

    /// Runs `twill-dp-apply apply` in `ns`; returns status and output.
    func apply(_ ns: String, input: String, sweep: Bool = true) throws -> Shell.Result {
        try Shell.run(["ip", "netns", "exec", ns, Lab.tool, "apply", "--input", input] + (sweep ? ["--sweep"] : []))
    }

    func ping(from ns: String, _ target: String) -> Bool {
        let six = target.contains(":")
        let r = try? Shell.run(["ip", "netns", "exec", ns, "ping", six ? "-6" : "-4", "-c", "1", "-W", "1", target], timeout: 5)
        return r?.status == 0
    }

    func cleanup() {
        for ns in namespaces.reversed() { _ = try? Shell.run(["ip", "netns", "del", ns]) }
        dir.cleanup()
    }
}

/// JSON builders for the routing input file format (docs/dataplane.md).
enum InputJSON {
    static func node(_ name: String, ipv4: String, ipv6: String? = nil, parent: String = "eth0",
                     vxlanTunnel: String? = nil, vxlanV6Tunnel: String? = nil, ipipTunnel: String? = nil) -> [String: Any] {
        var n: [String: Any] = ["name": name, "ipv4": ipv4, "parentInterface": parent, "parentMTU": 1500]
        if let ipv6 { n["ipv6"] = ipv6 }
        if let vxlanTunnel { n["ipv4VXLANTunnelAddress"] = vxlanTunnel }
        if let vxlanV6Tunnel { n["ipv6VXLANTunnelAddress"] = vxlanV6Tunnel }
        if let ipipTunnel { n["ipv4IPIPTunnelAddress"] = ipipTunnel }
        return n
    }

    static func workload(_ name: String, _ hostIf: String, _ addresses: [String], mac: String) -> [String: Any] {
        ["name": name, "interface": hostIf, "addresses": addresses, "mac": mac]
    }

    static func remote(_ name: String, address: String, vtepMAC: String? = nil, tunnel: String? = nil) -> [String: Any] {
        var r: [String: Any] = ["name": name, "address": address]
        if let vtepMAC { r["vtepMAC"] = vtepMAC }
        if let tunnel { r["tunnelAddress"] = tunnel }
        return r
    }

    static func block(_ cidr: String, _ encap: String, mode: String = "Always", nodes: [[String: Any]]) -> [String: Any] {
        ["cidr": cidr, "encapsulation": encap, "mode": mode, "nodes": nodes]
    }
}
