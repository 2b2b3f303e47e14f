import Datastore
import Foundation
import IPAM
import NetCore
import NodeModel
import Testing
import TestSupport

/// A lab: a "host" network namespace the plugin runs in (so the real host is untouched), a
/// SQLite store with one pool, and pod namespaces made on demand. Removed by `cleanup()`.
final class CNILab {
    let id = String(UInt32.random(in: 0...0xffffff), radix: 16)
    let dir: TempDir
    let hostNS: String
    let store: SQLiteDatastore
    let pool: String
    var pods: [String] = []
    /// The host namespace's own address, reachable from pods through their default route.
    let hostIP: String

    init(poolPrefix: Int = 24, blockSize: Int = 26) throws {
        dir = try TempDir("twill-cni-lab")
        hostNS = "twcnih-\(id)"
        let octet = Int.random(in: 1...250)
        pool = poolPrefix == 24 ? "10.213.\(octet).0/24" : "10.214.\(octet).0/\(poolPrefix)"
        hostIP = "192.168.254.\(octet)"
        store = try SQLiteDatastore(path: dir.file("twill.db"))
        var spec = IPPoolSpec(cidr: pool)
        spec.blockSize = blockSize
        let r = Resource(IPPool(metadata: ObjectMeta(name: "lab"), spec: spec.withDefaults()))
        try store.put(ResourceKeys.key(for: r), value: ResourceStorage.bytes(for: r))
        try Shell.check(["ip", "netns", "add", hostNS])
        do {
            try Shell.check(["ip", "-n", hostNS, "link", "set", "lo", "up"])
            try Shell.check(["ip", "-n", hostNS, "addr", "add", hostIP + "/32", "dev", "lo"])
        } catch {
            cleanup()
            throw error
        }
    }

    func cleanup() {
        for p in pods { _ = try? Shell.run(["ip", "netns", "del", p]) }
        _ = try? Shell.run(["ip", "netns", "del", hostNS])
        dir.cleanup()
    }

    func makePod(_ n: Int) throws -> (name: String, path: String) {
        let name = "twcnip-\(id)-\(n)"
        try Shell.check(["ip", "netns", "add", name])
        pods.append(name)
        return (name, "/var/run/netns/" + name)
    }

    var config: String {
        #"{"cniVersion":"1.0.0","name":"twill","type":"twill-cni","nodename":"lab-node","mtu":1450,"datastore":"sqlite:\#(dir.file("twill.db"))","ipam":{"type":"twill-ipam","ipv4_pools":["\#(pool)"]}}"#
    }

    /// Runs the built plugin in the host namespace exactly as a runtime does: env + stdin.
    func cni(_ command: String, container: String, netns: String, config: String? = nil, args: String = "") throws -> (json: Value?, out: String, status: Int32) {
        let env = ["CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_NETNS": netns, "CNI_IFNAME": "eth0",
                   "CNI_PATH": "/opt/cni/bin", "CNI_ARGS": args]
        let r = try Shell.run(["ip", "netns", "exec", hostNS, BuiltProducts.path("twill-cni")], stdin: config ?? self.config, env: env)
        return (try? Value(json: r.stdout), r.stdout + r.stderr, r.status)
    }

    func hostLinks() throws -> [String] {
        try Shell.check(["ip", "-n", hostNS, "-o", "link", "show"]).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count > 1 else { return nil }
            return String(parts[1].split(separator: "@")[0].trimmingCharacters(in: CharacterSet(charactersIn: ":")))
        }.filter { $0.hasPrefix("tw") }
    }
}

@Suite(.serialized) struct CNIPrivilegedTests {
    @Test func addPingCheckDel() throws {
        guard Privileged.check("twill-cni ADD/CHECK/DEL in namespaces", needs: ["ip", "ping"]) else { return }
        let lab = try CNILab()
        defer { lab.cleanup() }
        let pod = try lab.makePod(0)
        let cid = "ctr-\(lab.id)-0"
        let add = try lab.cni("ADD", container: cid, netns: pod.path, args: "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-0")
        #expect(add.status == 0, "\(add.out)")
        let result = try #require(add.json)
        // The spec's result: cniVersion, interfaces (container one with sandbox), ips with interface index, routes.
        #expect(result["cniVersion"] == .string("1.0.0"))
        let ifs = try #require(result["interfaces"]?.arrayValue)
        let ipEntry = try #require(result["ips"]?.arrayValue?.first)
        guard case .int(let idx)? = ipEntry["interface"], ifs.indices.contains(Int(idx)) else { Issue.record("bad interface index"); return }
        #expect(ifs[Int(idx)]["sandbox"] == .string(pod.path) && ifs[Int(idx)]["name"] == .string("eth0"))
        let address = try #require(ipEntry["address"]?.stringValue)
        let podIP = String(address.split(separator: "/")[0])
        #expect(IPPrefix(lab.pool)!.contains(IPAddress(podIP)!))
        #expect(ifs[Int(idx)]["mac"]?.stringValue.flatMap(MACAddress.init) != nil)

        // Kernel state, looked at with ip(8) (the plugin itself uses only libnl).
        let podAddr = try Shell.check(["ip", "-n", pod.name, "-4", "addr", "show", "eth0"])
        #expect(podAddr.contains("inet \(podIP)/32") && podAddr.contains("mtu 1450"))
        let podRoutes = try Shell.check(["ip", "-n", pod.name, "-4", "route", "show"])
        #expect(podRoutes.contains("default via 169.254.1.1 dev eth0") && podRoutes.contains("169.254.1.1 dev eth0 scope link"))
        #expect(try Shell.check(["ip", "-n", pod.name, "neigh", "show"]).contains("169.254.1.1 dev eth0 lladdr ee:ee:ee:ee:ee:ee PERMANENT"))
        let hostIf = try #require(ifs.first?["name"]?.stringValue)
        #expect(try Shell.check(["ip", "-n", lab.hostNS, "-4", "route", "show"]).contains("\(podIP) dev \(hostIf) scope link"))
        #expect(try Shell.check(["ip", "netns", "exec", lab.hostNS, "cat", "/proc/sys/net/ipv4/conf/\(hostIf)/proxy_arp"]).hasPrefix("1"))

        // The pod reaches the node through its gateway, and the node reaches the pod.
        #expect(try Shell.run(["ip", "netns", "exec", pod.name, "ping", "-c", "1", "-W", "2", lab.hostIP]).status == 0)
        #expect(try Shell.run(["ip", "netns", "exec", lab.hostNS, "ping", "-c", "1", "-W", "2", podIP]).status == 0)

        // WorkloadEndpoint written.
        let weps = try lab.store.list(prefix: ResourceKeys.listPrefix(kind: .workloadEndpoint)).pairs
        #expect(weps.map(\.key) == ["/calico/resources/v3/projectcalico.org/workloadendpoints/ns1/lab--node-k8s-web--0-eth0"])

        // CHECK with prevResult passes; after removing the pod route it fails.
        let checkConf = #"{"cniVersion":"1.0.0","name":"twill","type":"twill-cni","nodename":"lab-node","datastore":"sqlite:\#(lab.dir.file("twill.db"))","prevResult":\#(result.json)}"#
        let check = try lab.cni("CHECK", container: cid, netns: pod.path, config: checkConf)
        #expect(check.status == 0, "\(check.out)")
        try Shell.check(["ip", "-n", lab.hostNS, "route", "del", "\(podIP)/32"])
        let broken = try lab.cni("CHECK", container: cid, netns: pod.path, config: checkConf)
        #expect(broken.json?["code"] == .int(103), "\(broken.out)")

        // DEL leaves nothing; twice is fine; with the netns gone too.
        #expect(try lab.cni("DEL", container: cid, netns: pod.path).status == 0)
        #expect(try lab.cni("DEL", container: cid, netns: pod.path).status == 0)
        try Shell.check(["ip", "netns", "del", pod.name])
        #expect(try lab.cni("DEL", container: cid, netns: pod.path).status == 0)
        #expect(try lab.hostLinks().isEmpty)
        #expect(try lab.store.list(prefix: "/calico/ipam/v2/handle/").pairs.isEmpty)
        #expect(try lab.store.list(prefix: ResourceKeys.listPrefix(kind: .workloadEndpoint)).pairs.isEmpty)
        #expect(try IPAMCheck.run(store: lab.store) == [])
    }

    @Test func twoHundredPodsInARow() throws {
        guard Privileged.check("twill-cni 200 pods", needs: ["ip"]) else { return }
        let lab = try CNILab()
        defer { lab.cleanup() }
        let n = 200
        var pods: [(name: String, path: String)] = []
        for i in 0..<n { pods.append(try lab.makePod(i)) }
        let t0 = Date()
        var ips = Set<String>()
        for i in 0..<n {
            let r = try lab.cni("ADD", container: "ctr-\(lab.id)-\(i)", netns: pods[i].path)
            #expect(r.status == 0, "pod \(i): \(r.out)")
            if let a = r.json?["ips"]?.arrayValue?.first?["address"]?.stringValue { ips.insert(a) }
        }
        let addTime = Date().timeIntervalSince(t0)
        #expect(ips.count == n)
        #expect(try lab.hostLinks().count == n)
        #expect(try IPAMCheck.run(store: lab.store) == [])
        #expect(try lab.store.list(prefix: "/calico/ipam/v2/host/lab-node/").pairs.count == 4)   // 200 / 64 per /26
        let t1 = Date()
        for i in 0..<n {
            let r = try lab.cni("DEL", container: "ctr-\(lab.id)-\(i)", netns: pods[i].path)
            #expect(r.status == 0, "pod \(i): \(r.out)")
        }
        let delTime = Date().timeIntervalSince(t1)
        print("twill-cni: \(n) ADDs in \(String(format: "%.1f", addTime)) s (\(String(format: "%.0f", addTime * 1000 / Double(n))) ms each), \(n) DELs in \(String(format: "%.1f", delTime)) s")
        #expect(try lab.hostLinks().isEmpty)
        #expect(try lab.store.list(prefix: "/calico/ipam/v2/handle/").pairs.isEmpty)
        #expect(try lab.store.list(prefix: ResourceKeys.listPrefix(kind: .workloadEndpoint)).pairs.isEmpty)
        #expect(try IPAMCheck.run(store: lab.store) == [])
    }

    @Test func failedAddsLeakNothing() throws {
        guard Privileged.check("twill-cni failure injection", needs: ["ip"]) else { return }
        let lab = try CNILab(poolPrefix: 30, blockSize: 30)   // four addresses in all
        defer { lab.cleanup() }
        // A netns path that does not exist: invalid environment (4), nothing allocated.
        let bad = try lab.cni("ADD", container: "ctr-\(lab.id)-bad", netns: "/var/run/netns/twcni-missing-\(lab.id)")
        #expect(bad.json?["code"] == .int(4), "\(bad.out)")
        #expect(try lab.store.list(prefix: "/calico/ipam/").pairs.isEmpty)

        // The container already has an eth0: interface failure (102), rolled back.
        let clash = try lab.makePod(99)
        try Shell.check(["ip", "-n", clash.name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0peer"])
        let c = try lab.cni("ADD", container: "ctr-\(lab.id)-clash", netns: clash.path)
        #expect(c.json?["code"] == .int(102), "\(c.out)")
        #expect(try lab.hostLinks().isEmpty)
        #expect(try lab.store.list(prefix: "/calico/ipam/v2/handle/").pairs.isEmpty)

        // Exhaust the pool: the fifth ADD fails with "no addresses" (100) and leaves no veth.
        for i in 0..<4 {
            let pod = try lab.makePod(i)
            #expect(try lab.cni("ADD", container: "ctr-\(lab.id)-\(i)", netns: pod.path).status == 0)
        }
        let fifth = try lab.makePod(4)
        let r = try lab.cni("ADD", container: "ctr-\(lab.id)-4", netns: fifth.path)
        #expect(r.json?["code"] == .int(100), "\(r.out)")
        #expect(try lab.hostLinks().count == 4)
        #expect(try Shell.check(["ip", "-n", fifth.name, "-o", "link", "show"]).split(separator: "\n").count == 1)   // lo only
        _ = clash
        #expect(try lab.store.list(prefix: "/calico/ipam/v2/handle/").pairs.count == 4)
        #expect(try lab.store.list(prefix: ResourceKeys.listPrefix(kind: .workloadEndpoint)).pairs.count == 4)
        #expect(try IPAMCheck.run(store: lab.store) == [])
    }

    /// A runtime's plugin chain: twill-cni, then Debian's `bandwidth` and `portmap` with our
    /// result as `prevResult`; DEL in reverse order leaves nothing.
    @Test func chainsWithBandwidthAndPortmap() throws {
        let cniDir = "/usr/lib/cni"
        guard Privileged.check("twill-cni chained with bandwidth/portmap", needs: ["ip", "iptables"]) else { return }
        guard FileManager.default.isExecutableFile(atPath: cniDir + "/bandwidth"),
              FileManager.default.isExecutableFile(atPath: cniDir + "/portmap") else {
            print("SKIP chaining: containernetworking-plugins is not installed (\(cniDir))")
            return
        }
        let lab = try CNILab()
        defer { lab.cleanup() }
        let pod = try lab.makePod(0)
        let cid = "ctr-\(lab.id)-chain"
        let add = try lab.cni("ADD", container: cid, netns: pod.path)
        let result = try #require(add.json, "\(add.out)")
        let hostIf = try #require(result["interfaces"]?.arrayValue?.first?["name"]?.stringValue)
        let bw = #"{"cniVersion":"1.0.0","name":"twill","type":"bandwidth","ingressRate":1000000,"ingressBurst":100000,"prevResult":\#(result.json)}"#
        let pm = #"{"cniVersion":"1.0.0","name":"twill","type":"portmap","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]},"prevResult":\#(result.json)}"#
        func plugin(_ name: String, _ command: String, _ conf: String) throws -> Shell.Result {
            try Shell.run(["ip", "netns", "exec", lab.hostNS, cniDir + "/" + name], stdin: conf,
                          env: ["CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_NETNS": pod.path, "CNI_IFNAME": "eth0", "CNI_PATH": cniDir])
        }
        let b = try plugin("bandwidth", "ADD", bw)
        #expect(b.status == 0, "\(b.stdout)\(b.stderr)")
        #expect(try Shell.check(["ip", "-n", lab.hostNS, "link", "show", hostIf]).contains("qdisc tbf"))
        let p = try plugin("portmap", "ADD", pm)
        #expect(p.status == 0, "\(p.stdout)\(p.stderr)")
        // The chain's final result still carries our interfaces and address.
        #expect((try? Value(json: p.stdout))?["ips"] == result["ips"])
        #expect(try plugin("portmap", "DEL", pm).status == 0)
        #expect(try plugin("bandwidth", "DEL", bw).status == 0)
        #expect(try lab.cni("DEL", container: cid, netns: pod.path).status == 0)
        #expect(try lab.hostLinks().isEmpty)
        #expect(try lab.store.list(prefix: "/calico/ipam/v2/handle/").pairs.isEmpty)
    }
}
