import BGPSpeaker
import Foundation
import TestSupport

/// One shared Ethernet segment, 10.214.0.0/24, for iBGP route reflection topologies (AS 65000).
/// It reuses a `Lab` for everything but the wiring: the temporary directory, process spawning,
/// cleanup and twill-bgpd's control socket. The Lab's peer namespace holds the bridge; node `n`
/// gets its own namespace (Twill's is the Lab's `twNS`) joined to the bridge by a veth, address
/// 10.214.0.n/24 and router ID 10.255.0.n (deliberately not its address, so ORIGINATOR_ID checks
/// tell the two apart). The Lab's own veth between its two namespaces stays, unused.
final class ReflectorLab: @unchecked Sendable {
    static let asn = "65000"
    let lab: Lab
    private var namespaces: [String] = []
    private var nodes: [Int] = []

    init() throws {
        lab = try Lab()
        do {
            try Shell.check(["ip", "-n", lab.peerNS, "link", "add", "br0", "type", "bridge"])
            try Shell.check(["ip", "-n", lab.peerNS, "link", "set", "br0", "up"])
        } catch {
            cleanup()
            throw error
        }
    }

    /// Kills every daemon, deletes the node namespaces, then the Lab's (call it in `defer`).
    func cleanup() {
        lab.cleanup()
        for ns in namespaces { _ = try? Shell.run(["ip", "netns", "del", ns]) }
        namespaces.removeAll()
    }

    /// Adds node `n` (1...99) on the segment; `twill` puts it in the Lab's `twNS`, where
    /// `Lab.startTwill` runs twill-bgpd.
    func addNode(_ n: Int, twill: Bool = false) throws -> ReflectorNode {
        precondition((1...99).contains(n) && !nodes.contains(n), "node \(n) is taken or out of range")
        nodes.append(n)
        let ns: String
        if twill {
            ns = lab.twNS
        } else {
            ns = "twr\(n)-\(lab.suffix)"
            try Shell.check(["ip", "netns", "add", ns])
            namespaces.append(ns)
        }
        // Interface names: at most 15 bytes ("rn" + 5 hex digits + 2 digits).
        let inside = "rn\(lab.suffix)\(n)", outside = "rb\(lab.suffix)\(n)"
        try Shell.check(["ip", "link", "add", inside, "type", "veth", "peer", "name", outside])
        try Shell.check(["ip", "link", "set", outside, "netns", lab.peerNS])
        try Shell.check(["ip", "link", "set", inside, "netns", ns])
        try Shell.check(["ip", "-n", lab.peerNS, "link", "set", outside, "master", "br0"])
        try Shell.check(["ip", "-n", lab.peerNS, "link", "set", outside, "up"])
        let node = ReflectorNode(index: n, namespace: ns)
        try Shell.check(["ip", "-n", ns, "addr", "add", "\(node.address)/24", "dev", inside])
        try Shell.check(["ip", "-n", ns, "link", "set", "lo", "up"])
        try Shell.check(["ip", "-n", ns, "link", "set", inside, "up"])
        return node
    }

    /// twill-bgpd was started and is no longer running.
    var twillExited: Bool { lab.twill.map { !$0.isRunning } ?? false }

    /// The tail of every daemon log in the lab directory, for failure messages.
    func logs(_ extra: String = "") -> String {
        let files = (FileManager.default.enumerator(atPath: lab.dir.path)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".log") }.sorted()
        return files.map { "== \($0):\n\(lab.log($0).suffix(2500))" }.joined(separator: "\n") + "\n" + extra
    }
}

struct ReflectorNode: Sendable, CustomStringConvertible {
    let index: Int
    let namespace: String
    var address: String { "10.214.0.\(index)" }
    var routerID: String { "10.255.0.\(index)" }
    var description: String { "node \(index) (\(address), router ID \(routerID))" }
}

/// One iBGP neighbour of a daemon in a `ReflectorLab`.
struct IBGPNeighbor: Sendable {
    var node: ReflectorNode
    /// This side treats the neighbour as a route reflector client.
    var rrClient = false
    /// false: this side sends the neighbour nothing (export none / a deny-all route map).
    var export = true

    static func client(_ n: ReflectorNode) -> IBGPNeighbor { IBGPNeighbor(node: n, rrClient: true) }
    static func plain(_ n: ReflectorNode) -> IBGPNeighbor { IBGPNeighbor(node: n) }
}

/// What a daemon shows about a route it learned over iBGP.
struct ReflectedRoute: Equatable, Sendable, CustomStringConvertible {
    var nextHop: String
    var originatorID: String?
    var clusterList: [String]
    var description: String {
        "via \(nextHop) originator \(originatorID ?? "-") cluster list [\(clusterList.joined(separator: " "))]"
    }
}

/// A daemon in a `ReflectorLab`: its sessions and its view of the routes.
protocol IBGPDaemon {
    var node: ReflectorNode { get }
    func established(_ neighbor: ReflectorNode) -> Bool
    /// The best (or only) route for `prefix`, nil when the daemon has none.
    func route(_ prefix: String) -> ReflectedRoute?
    func withdraw(_ prefix: String)
}

// MARK: BIRD 2

/// BIRD 2, one `protocol bgp` per neighbour (`direct`: one segment, so `gateway direct`), each
/// prefix of `announce` in its own static protocol (`s0`, `s1`, ...) so one can be withdrawn.
/// `clusterID` set: `rr cluster id` on every protocol and `rr client` on the clients.
struct ReflectorBird: IBGPDaemon {
    let node: ReflectorNode
    private let lab: ReflectorLab
    private let announce: [String]
    private var ctl: String { lab.lab.dir.file("bird-\(node.index).ctl") }

    init(lab: ReflectorLab, node: ReflectorNode, neighbors: [IBGPNeighbor], clusterID: String? = nil,
         announce: [String]) throws {
        self.lab = lab; self.node = node; self.announce = announce
        try lab.lab.spawn(in: node.namespace, ["bird", "-f", "-c", Self.writeConfig(lab, node, neighbors, clusterID, announce),
                                               "-s", ctl, "-P", lab.lab.dir.file("bird-\(node.index).pid")],
                          log: "bird-\(node.index).log")
    }

    static func config(_ node: ReflectorNode, _ neighbors: [IBGPNeighbor], _ clusterID: String?, _ announce: [String]) -> String {
        var c = "router id \(node.routerID);\nprotocol device { }\n"
        for (i, p) in announce.enumerated() { c += "protocol static s\(i) { ipv4; route \(p) blackhole; }\n" }
        c += """
        template bgp ib {
          local \(node.address) as \(ReflectorLab.asn); direct;
          hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;
          \(clusterID.map { "rr cluster id \($0);" } ?? "")
        }

        """
        for n in neighbors {
            c += "protocol bgp n\(n.node.index) from ib { neighbor \(n.node.address) as \(ReflectorLab.asn); "
            c += "\(n.rrClient ? "rr client; " : "")ipv4 { import all; export \(n.export ? "all" : "none"); }; }\n"
        }
        return c
    }

    private static func writeConfig(_ lab: ReflectorLab, _ node: ReflectorNode, _ neighbors: [IBGPNeighbor],
                                    _ clusterID: String?, _ announce: [String]) throws -> String {
        let path = lab.lab.dir.file("bird-\(node.index).conf")
        try config(node, neighbors, clusterID, announce).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func birdc(_ args: [String]) -> String { (try? Shell.run(["birdc", "-s", ctl] + args, timeout: 5).stdout) ?? "" }

    func established(_ neighbor: ReflectorNode) -> Bool {
        birdc(["show", "protocols", "n\(neighbor.index)"]).contains("Established")
    }

    func route(_ prefix: String) -> ReflectedRoute? {
        let out = birdc(["show", "route", prefix, "all"])
        func field(_ key: String) -> String? {
            out.split(separator: "\n").first { $0.contains(key) }.map {
                String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
            }
        }
        guard out.contains(prefix), let nh = field("BGP.next_hop:") else { return nil }
        return ReflectedRoute(nextHop: String(nh.split(separator: " ")[0]), originatorID: field("BGP.originator_id:"),
                              clusterList: field("BGP.cluster_list:")?.split(separator: " ").map(String.init) ?? [])
    }

    func withdraw(_ prefix: String) {
        guard let i = announce.firstIndex(of: prefix) else { return }
        _ = birdc(["disable", "s\(i)"])
    }
}

// MARK: FRR

/// FRR's bgpd alone (`-Z`, no zebra) with its own vty socket directory. `clusterID` set:
/// `bgp cluster-id` and `route-reflector-client` on the clients; `export: false` is a deny-all
/// outbound route map.
struct ReflectorFRR: IBGPDaemon {
    let node: ReflectorNode
    private let lab: ReflectorLab
    private var vty: String { lab.lab.dir.file("frr-\(node.index)") }

    init(lab: ReflectorLab, node: ReflectorNode, neighbors: [IBGPNeighbor], clusterID: String? = nil,
         announce: [String]) throws {
        self.lab = lab; self.node = node
        try FileManager.default.createDirectory(atPath: vty, withIntermediateDirectories: true)
        try Self.config(node, neighbors, clusterID, announce, log: "\(vty)/bgpd.log")
            .write(toFile: "\(vty)/bgpd.conf", atomically: true, encoding: .utf8)
        try lab.lab.spawn(in: node.namespace, ["/usr/lib/frr/bgpd", "-S", "-Z", "-f", "\(vty)/bgpd.conf",
                                               "--vty_socket", vty, "-i", "\(vty)/bgpd.pid", "-P", "0"],
                          log: "frr-\(node.index).log")
    }

    static func config(_ node: ReflectorNode, _ neighbors: [IBGPNeighbor], _ clusterID: String?, _ announce: [String],
                       log: String) -> String {
        var c = """
        frr defaults traditional
        hostname frr-\(node.index)
        log file \(log)
        route-map DENY-ALL deny 10
        router bgp \(ReflectorLab.asn)
         bgp router-id \(node.routerID)
         no bgp network import-check
         no bgp default ipv4-unicast

        """
        if let clusterID { c += " bgp cluster-id \(clusterID)\n" }
        for n in neighbors {
            let a = n.node.address
            c += " neighbor \(a) remote-as \(ReflectorLab.asn)\n neighbor \(a) timers 1 3\n neighbor \(a) timers connect 1\n"
        }
        c += " address-family ipv4 unicast\n"
        for p in announce { c += "  network \(p)\n" }
        for n in neighbors {
            c += "  neighbor \(n.node.address) activate\n"
            if n.rrClient { c += "  neighbor \(n.node.address) route-reflector-client\n" }
            if !n.export { c += "  neighbor \(n.node.address) route-map DENY-ALL out\n" }
        }
        return c + " exit-address-family\n"
    }

    private func vtysh(_ cmds: [String]) -> String {
        (try? Shell.run(["vtysh", "--vty_socket", vty] + cmds.flatMap { ["-c", $0] }, timeout: 5).stdout) ?? ""
    }

    private func json(_ cmd: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(vtysh([cmd]).utf8))) as? [String: Any] ?? [:]
    }

    func established(_ neighbor: ReflectorNode) -> Bool {
        let a = neighbor.address
        return (json("show bgp neighbors \(a) json")[a] as? [String: Any])?["bgpState"] as? String == "Established"
    }

    /// Read from `show bgp ipv4 unicast PREFIX json`: `originatorId`, `clusterList.list`, `nexthops[0].ip`.
    func route(_ prefix: String) -> ReflectedRoute? {
        guard let paths = json("show bgp ipv4 unicast \(prefix) json")["paths"] as? [[String: Any]],
              let p = paths.first(where: { ($0["bestpath"] as? [String: Any])?["overall"] as? Bool == true }) ?? paths.first,
              let nh = (p["nexthops"] as? [[String: Any]])?.first?["ip"] as? String
        else { return nil }
        return ReflectedRoute(nextHop: nh, originatorID: p["originatorId"] as? String,
                              clusterList: (p["clusterList"] as? [String: Any])?["list"] as? [String] ?? [])
    }

    func withdraw(_ prefix: String) {
        _ = vtysh(["configure terminal", "router bgp \(ReflectorLab.asn)", "address-family ipv4 unicast", "no network \(prefix)"])
    }
}

// MARK: GoBGP

/// GoBGP 3 (`gobgpd`), API on 127.0.0.1:50051 inside its namespace; routes injected and read with
/// `gobgp`. `clusterID` set: `route-reflector-client` and `route-reflector-cluster-id` on the
/// clients (GoBGP keeps the cluster ID per neighbour). Sends every neighbour everything.
struct ReflectorGoBGP: IBGPDaemon {
    let node: ReflectorNode
    private let lab: ReflectorLab

    init(lab: ReflectorLab, node: ReflectorNode, neighbors: [IBGPNeighbor], clusterID: String? = nil,
         announce: [String]) throws {
        self.lab = lab; self.node = node
        let path = lab.lab.dir.file("gobgpd-\(node.index).toml")
        try Self.config(node, neighbors, clusterID).write(toFile: path, atomically: true, encoding: .utf8)
        try lab.lab.spawn(in: node.namespace, ["gobgpd", "-f", path, "-t", "toml", "--api-hosts", "127.0.0.1:50051",
                                               "--pprof-disable", "-p"], log: "gobgpd-\(node.index).log")
        // The gRPC API comes up a moment after start; then inject the routes.
        guard eventually(timeout: 10, { gobgp(["global"]).contains("AS") }) else {
            throw LabError("gobgpd on \(node) did not answer on its API")
        }
        for p in announce {
            let r = try Shell.run(["ip", "netns", "exec", node.namespace, "gobgp", "global", "rib", "add", "-a", "ipv4", p])
            guard r.status == 0 else { throw LabError("gobgp global rib add \(p) on \(node): \(r.stderr)") }
        }
    }

    static func config(_ node: ReflectorNode, _ neighbors: [IBGPNeighbor], _ clusterID: String?) -> String {
        precondition(neighbors.allSatisfy(\.export), "per-neighbour export filters are not wired for GoBGP here")
        var c = """
        [global.config]
          as = \(ReflectorLab.asn)
          router-id = "\(node.routerID)"

        """
        for n in neighbors {
            c += """
            [[neighbors]]
              [neighbors.config]
                neighbor-address = "\(n.node.address)"
                peer-as = \(ReflectorLab.asn)
              [neighbors.timers.config]
                hold-time = 3
                keepalive-interval = 1
                connect-retry = 1
                idle-hold-time-after-reset = 1
              [[neighbors.afi-safis]]
                [neighbors.afi-safis.config]
                  afi-safi-name = "ipv4-unicast"

            """
            if n.rrClient, let clusterID {
                c += """
                  [neighbors.route-reflector.config]
                    route-reflector-client = true
                    route-reflector-cluster-id = "\(clusterID)"

                """
            }
        }
        return c
    }

    func gobgp(_ args: [String]) -> String { lab.lab.exec(in: node.namespace, ["gobgp"] + args) }

    private func json(_ args: [String]) -> Any? { try? JSONSerialization.jsonObject(with: Data(gobgp(args + ["-j"]).utf8)) }

    func established(_ neighbor: ReflectorNode) -> Bool {
        guard let n = json(["neighbor", neighbor.address]) as? [String: Any],
              let st = (n["state"] as? [String: Any])?["session_state"] else { return false }
        return "\(st)" == "6" || "\(st)".lowercased() == "established"
    }

    /// Read from `gobgp global rib -a ipv4 PREFIX -j`: attribute 3 (next hop), 9
    /// (ORIGINATOR_ID), 10 (CLUSTER_LIST) of the best path.
    func route(_ prefix: String) -> ReflectedRoute? { Self.parse(json(["global", "rib", "-a", "ipv4", prefix]), prefix) }

    /// What GoBGP sends `neighbor` for `prefix` (`gobgp neighbor X adj-out`).
    func adjOut(_ neighbor: ReflectorNode, _ prefix: String) -> ReflectedRoute? {
        Self.parse(json(["neighbor", neighbor.address, "adj-out", "-a", "ipv4", prefix]), prefix)
    }

    private static func parse(_ json: Any?, _ prefix: String) -> ReflectedRoute? {
        guard let dests = (json as? [String: Any])?[prefix] as? [[String: Any]],
              let d = dests.first(where: { $0["best"] as? Bool == true }) ?? dests.first,
              let attrs = d["attrs"] as? [[String: Any]]
        else { return nil }
        var r = ReflectedRoute(nextHop: "", originatorID: nil, clusterList: [])
        for a in attrs {
            switch a["type"] as? Int {
            case 3, 14: r.nextHop = a["nexthop"] as? String ?? ""
            case 9: r.originatorID = a["value"] as? String
            case 10: r.clusterList = a["value"] as? [String] ?? []
            default: break
            }
        }
        return r
    }

    func withdraw(_ prefix: String) { _ = gobgp(["global", "rib", "del", "-a", "ipv4", prefix]) }
}

// MARK: twill-bgpd

/// twill-bgpd in the Lab's `twNS`, read through its control socket (`RouteStatus`: next hop,
/// the peer a path came from, ORIGINATOR_ID, CLUSTER_LIST). `clusterID` set: the top-level `clusterID` and
/// `routeReflectorClient: true` on the clients (docs/twill-bgpd.md).
struct ReflectorTwill: IBGPDaemon {
    let node: ReflectorNode
    private let lab: ReflectorLab
    private let neighbors: [IBGPNeighbor]
    private let clusterID: String?
    private let announce: [String]

    init(lab: ReflectorLab, node: ReflectorNode, neighbors: [IBGPNeighbor], clusterID: String? = nil,
         announce: [String]) throws {
        precondition(node.namespace == lab.lab.twNS, "twill-bgpd runs in the Lab's twill namespace")
        self.lab = lab; self.node = node; self.neighbors = neighbors; self.clusterID = clusterID; self.announce = announce
        try lab.lab.startTwill(lab.lab.config(Self.config(node, neighbors, clusterID, announce)))
    }

    static func config(_ node: ReflectorNode, _ neighbors: [IBGPNeighbor], _ clusterID: String?, _ announce: [String]) -> String {
        var y = "routerID: \(node.routerID)\nasNumber: \(ReflectorLab.asn)\ncontrolSocket: CONTROL\n"
        if let clusterID { y += "clusterID: \(clusterID)\n" }
        y += "peers:\n"
        for n in neighbors {
            y += "  - name: n\(n.node.index)\n    address: \"\(n.node.address)\"\n    asNumber: \(ReflectorLab.asn)\n"
            y += "    holdTime: 3s\n    export: \(n.export ? "all" : "none")\n"
            if n.rrClient { y += "    routeReflectorClient: true\n" }
        }
        if !announce.isEmpty { y += "announce:\n" + announce.map { "  - prefix: \"\($0)\"\n" }.joined() }
        return y
    }

    func established(_ neighbor: ReflectorNode) -> Bool { lab.lab.twillEstablished(neighbor.address) }

    /// Every path Twill holds for `prefix` (best or not).
    func paths(_ prefix: String) -> [RouteStatus] { Self.controlRoutes(lab.lab.controlSocket).filter { $0.prefix == prefix } }

    func route(_ prefix: String) -> ReflectedRoute? {
        paths(prefix).first { $0.best }.map {
            ReflectedRoute(nextHop: $0.nextHop, originatorID: $0.originatorID, clusterList: $0.clusterList ?? [])
        }
    }

    /// `{"cmd":"routes"}` on twill-bgpd's control socket, read straight into `ControlReply`:
    /// unlike `twillctl node routes` (`Lab.twillRoutes`), it keeps ORIGINATOR_ID and CLUSTER_LIST.
    /// Blocking, 5 s send/receive timeouts; [] when the daemon is not answering.
    static func controlRoutes(_ path: String) -> [RouteStatus] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        for opt in [SO_RCVTIMEO, SO_SNDTIMEO] { setsockopt(fd, SOL_SOCKET, opt, &tv, socklen_t(MemoryLayout<timeval>.size)) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return [] }
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in for (i, b) in bytes.enumerated() { buf[i] = b } }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let request = Array("{\"cmd\":\"routes\"}\n".utf8)
        guard connected == 0, write(fd, request, request.count) == request.count else { return [] }
        var reply: [UInt8] = [], buf = [UInt8](repeating: 0, count: 65536)
        while reply.last != 10 {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            reply += buf[0..<n]
        }
        return (try? JSONDecoder().decode(ControlReply.self, from: Data(reply)))?.routes ?? []
    }

    /// Rewrites the config without `prefix` and sends SIGHUP (an announcement change never
    /// resets a session).
    func withdraw(_ prefix: String) {
        try? lab.lab.reloadTwill(lab.lab.config(Self.config(node, neighbors, clusterID, announce.filter { $0 != prefix })))
    }
}
