import Foundation
import TestSupport

/// A small cluster of real processes for the agent's datastore faults: a "hub" network namespace
/// holding a bridge (10.97.0.254/24 and, for a 3-member cluster, .253 and .252) and the etcd
/// members, node namespaces (10.97.0.N/24 on a veth into the bridge) each running the built
/// `twill-node` with the native speaker (`/readiness` on 127.0.0.1:9099 in its namespace), and pod namespaces wired by the built `twill-cni` run
/// inside their node's namespace. Every namespace and process is removed by `cleanup()`.
final class AgentLab: @unchecked Sendable {
    struct Pod { var name: String; var node: String; var ip: String }

    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let hub: String
    let dir: TempDir
    let etcdIPs: [String]
    private(set) var etcd: [TestProcess?]
    private(set) var nodeNS: [String: String] = [:]     // node name → namespace
    private(set) var nodeIP: [String: String] = [:]
    private(set) var agents: [String: TestProcess] = [:]
    private(set) var pods: [String: Pod] = [:]
    private var namespaces: [String] = []
    private let ip = Shell.which("ip") ?? "/usr/sbin/ip"

    /// The datastore URL every agent, twillctl and twill-cni use.
    var url: String { "etcd://" + etcdIPs.map { "\($0):2379" }.joined(separator: ",") + "?timeout=2" }

    init(etcdMembers: Int = 1) throws {
        hub = "eh-\(suffix)"
        dir = try TempDir("agent-etcd")
        etcdIPs = (0..<etcdMembers).map { "10.97.0.\(254 - $0)" }
        etcd = Array(repeating: nil, count: etcdMembers)
        do {
            try addNamespace(hub)
            try Shell.check(["ip", "-n", hub, "link", "add", "br0", "type", "bridge"])
            try Shell.check(["ip", "-n", hub, "link", "set", "br0", "up"])
            for a in etcdIPs { try Shell.check(["ip", "-n", hub, "addr", "add", "\(a)/24", "dev", "br0"]) }
        } catch {
            cleanup()
            throw error
        }
    }

    private func addNamespace(_ ns: String) throws {
        try Shell.check(["ip", "netns", "add", ns])
        namespaces.append(ns)
        try Shell.check(["ip", "-n", ns, "link", "set", "lo", "up"])
    }

    func cleanup() {
        for p in agents.values { Self.end(p) }
        agents = [:]
        for i in etcd.indices { killEtcd(i) }
        for ns in namespaces.reversed() { _ = try? Shell.run(["ip", "netns", "del", ns]) }
        namespaces = []
        dir.cleanup()
    }

    /// SIGTERM, then SIGKILL after 5 s.
    static func end(_ p: TestProcess) {
        guard p.isRunning else { return }
        p.terminate()
        if !p.wait(timeout: 5) { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
    }

    // MARK: etcd

    /// (Re)starts member `i` on its data dir (kept across restarts).
    func startEtcd(_ i: Int) throws {
        let names = etcdIPs.indices.map { "m\($0)" }
        let cluster = etcdIPs.indices.map { "\(names[$0])=http://\(etcdIPs[$0]):2380" }.joined(separator: ",")
        let a = etcdIPs[i]
        try spawn("etcd-\(names[i])", ns: hub, [
            Shell.which("etcd") ?? "/usr/bin/etcd", "--name", names[i], "--data-dir", dir.file("etcd-\(names[i])"),
            "--listen-client-urls", "http://\(a):2379", "--advertise-client-urls", "http://\(a):2379",
            "--listen-peer-urls", "http://\(a):2380", "--initial-advertise-peer-urls", "http://\(a):2380",
            "--initial-cluster", cluster, "--initial-cluster-token", "twill-\(suffix)", "--initial-cluster-state", "new",
            "--heartbeat-interval", "50", "--election-timeout", "500",
        ]) { etcd[i] = $0 }
    }

    func killEtcd(_ i: Int) {
        guard let p = etcd[i] else { return }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        etcd[i] = nil
    }

    /// Runs etcdctl inside the hub against the running members.
    func etcdctl(_ args: [String]) throws -> String {
        let live = etcdIPs.indices.filter { etcd[$0] != nil }.map { "http://\(etcdIPs[$0]):2379" }
        let r = try Shell.run(["ip", "netns", "exec", hub, "etcdctl", "--endpoints", live.joined(separator: ","),
                               "--command-timeout=3s"] + args, env: ["ETCDCTL_API": "3"], timeout: 20)
        guard r.status == 0 else { throw ShellError.failed(["etcdctl"] + args, r.status, r.stderr) }
        return r.stdout
    }

    /// Index of the Raft leader (`etcdctl endpoint status`), nil when none is known.
    func leader() -> Int? {
        guard let out = try? etcdctl(["endpoint", "status", "-w", "simple"]) else { return nil }
        for line in out.split(separator: "\n") {
            let f = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if f.count > 4, f[4] == "true", let i = etcdIPs.firstIndex(where: { f[0] == "http://\($0):2379" }) { return i }
        }
        return nil
    }

    /// Waits until every running member answers `etcdctl endpoint health`.
    func waitForEtcd(timeout: Double = 30) -> Bool {
        eventually(timeout: timeout, interval: 0.1) { (try? self.etcdctl(["endpoint", "health"])) != nil }
    }

    // MARK: twillctl

    @discardableResult
    func twillctl(_ args: [String], stdin: String? = nil) throws -> String {
        let r = try Shell.run(["ip", "netns", "exec", hub, BuiltProducts.path("twillctl"), "--datastore", url] + args,
                              stdin: stdin, timeout: 30)
        guard r.status == 0 else { throw ShellError.failed(["twillctl"] + args, r.status, r.stdout + r.stderr) }
        return r.stdout
    }

    func nodesRegistered() -> Set<String> {
        guard let out = try? twillctl(["get", "nodes"]) else { return [] }
        return Set(out.split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    // MARK: nodes and agents

    /// A node namespace `index` (address 10.97.0.index/24) wired to the hub's bridge, forwarding on.
    func addNode(_ name: String, index: Int) throws {
        let ns = "en\(index)-\(suffix)"
        try addNamespace(ns)
        let hubSide = "e\(index)\(suffix)"
        try Shell.check(["ip", "link", "add", hubSide, "netns", hub, "type", "veth", "peer", "name", "eth0", "netns", ns])
        try Shell.check(["ip", "-n", hub, "link", "set", hubSide, "master", "br0", "up"])
        try Shell.check(["ip", "-n", ns, "addr", "add", "10.97.0.\(index)/24", "dev", "eth0"])
        try Shell.check(["ip", "-n", ns, "link", "set", "eth0", "up"])
        try Shell.check(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        nodeNS[name] = ns
        nodeIP[name] = "10.97.0.\(index)"
    }

    /// Starts the built `twill-node` inside the node's namespace.
    func startAgent(_ name: String) throws {
        let ns = try labRequire(nodeNS[name], "node \(name)"), address = try labRequire(nodeIP[name], "node \(name)")
        try FileManager.default.createDirectory(atPath: dir.file("bird-\(name)"), withIntermediateDirectories: true)
        try spawn("agent-\(name)", ns: ns, [
            BuiltProducts.path("twill-node"), "--node-name", name, "--datastore", url, "--ip", "\(address)/24",
            "--control-socket", dir.file("\(name).ctl"), "--health-port", "9099", "--health-host", "127.0.0.1",
            "--metrics-port", "0",
            "--bird-dir", dir.file("bird-\(name)"),
        ]) { agents[name] = $0 }
    }

    func agentLog(_ name: String) -> String { log("agent-\(name)") }
    func etcdLog(_ i: Int) -> String { String(log("etcd-m\(i)").suffix(2000)) }
    func log(_ name: String) -> String {
        (try? String(contentsOfFile: dir.file("\(name).log"), encoding: .utf8)) ?? ""
    }

    /// The agent's `/readiness` answer (status line code and body), from inside its namespace.
    func readiness(_ name: String) -> String {
        guard let ns = nodeNS[name] else { return "" }
        return (try? Shell.run(["ip", "netns", "exec", ns, "curl", "-s", "-m", "3", "-w", " HTTP %{http_code}",
                                "http://127.0.0.1:9099/readiness"], timeout: 10).stdout) ?? ""
    }

    func agentRunning(_ name: String) -> Bool { agents[name]?.isRunning ?? false }

    private func spawn(_ logName: String, ns: String, _ argv: [String], _ keep: (TestProcess) -> Void) throws {
        let path = dir.file("\(logName).log")
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? log.close() }
        log.seekToEndOfFile()
        let p = TestProcess()
        p.executableURL = URL(fileURLWithPath: ip)
        p.arguments = ["netns", "exec", ns] + argv
        p.standardOutput = log
        p.standardError = log
        try p.run()
        keep(p)
    }

    // MARK: pods

    /// A pod namespace wired by `twill-cni ADD` run inside the node's namespace; returns its address.
    @discardableResult
    func addPod(_ pod: String, on node: String) throws -> Pod {
        let ns = "ep-\(pod)-\(suffix)"
        try addNamespace(ns)
        let nodeNamespace = try labRequire(nodeNS[node], "node \(node)")
        let config = #"{"cniVersion":"1.0.0","name":"twill","type":"twill-cni","nodename":"\#(node)","datastore":"\#(url)","ipam":{"type":"twill-ipam"}}"#
        let env = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "ctr-\(pod)-\(suffix)", "CNI_NETNS": "/var/run/netns/\(ns)",
                   "CNI_IFNAME": "eth0", "CNI_PATH": "/opt/cni/bin", "CNI_ARGS": "K8S_POD_NAMESPACE=default;K8S_POD_NAME=\(pod)"]
        let r = try Shell.run(["ip", "netns", "exec", nodeNamespace, BuiltProducts.path("twill-cni")],
                              stdin: config, env: env, timeout: 30)
        guard r.status == 0,
              let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
              let ips = json["ips"] as? [[String: Any]], let address = ips.first?["address"] as? String
        else { throw ShellError.failed(["twill-cni ADD", pod], r.status, r.stdout + r.stderr) }
        let p = Pod(name: ns, node: node, ip: String(address.split(separator: "/")[0]))
        pods[pod] = p
        return p
    }

    /// One bounded ping from pod `from` to pod `to`.
    func ping(_ from: String, _ to: String) -> Bool {
        guard let a = pods[from], let b = pods[to] else { return false }
        return (try? Shell.run(["ip", "netns", "exec", a.name, "ping", "-c1", "-W1", b.ip], timeout: 5).status) == 0
    }

    /// The node's IPv4 routing table as `ip route` prints it.
    func routes(_ node: String) -> String {
        guard let ns = nodeNS[node] else { return "" }
        return (try? Shell.check(["ip", "-n", ns, "-4", "route", "show"])) ?? ""
    }

    /// The /26 block (the default block size) holding `ip`.
    static func block(of ip: String) -> String {
        let o = ip.split(separator: ".").compactMap { Int($0) }
        return "\(o[0]).\(o[1]).\(o[2]).\(o[3] & 0xC0)/26"
    }

    /// Whether `node` routes pod `pod`'s block via the pod's node.
    func routesBlock(on node: String, of pod: String) -> Bool {
        guard let p = pods[pod], let via = nodeIP[p.node] else { return false }
        return routes(node).split(separator: "\n").contains { $0.hasPrefix(Self.block(of: p.ip) + " ") && $0.contains("via \(via)") }
    }
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// `try #require` outside a test body: throws a `LabError`.
func labRequire<T>(_ v: T?, _ what: @autoclosure () -> String = "value") throws -> T {
    guard let v else { throw LabError("missing \(what())") }
    return v
}
