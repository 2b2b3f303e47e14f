import Dataplane
import Foundation
import Testing
import TestSupport

/// IPIP through real kernel code: `twill-dp-apply` programs namespaces that play nodes, and
/// workloads ping each other through `tunl0`. Needs a kernel with the `ipip` module, which this
/// machine's (and CI's) kernel lacks: these tests skip here with a reason, even under
/// TWILL_REQUIRE_PRIVILEGED=1, unless TWILL_REQUIRE_IPIP=1 (set by `scripts/vm-test.sh`, which
/// runs them in a VM with Debian's kernel: `examples/vm/run -- scripts/vm-test.sh`), where a
/// kernel without IPIP is a failure.
@Suite(.serialized) struct IPIPKernelTests {
    let needs = ["ip", "ping", "bridge", "tcpdump"]

    /// A fresh Lab when root, the tools and a kernel with IPIP are there; nil (skip printed, or
    /// a recorded failure under TWILL_REQUIRE_IPIP=1) otherwise. The caller cleans it up.
    func ipipLab(_ what: String) throws -> Lab? {
        guard Privileged.check(what, needs: needs) else { return nil }
        let lab = try Lab()
        guard try IPIPKernel.check(what, lab) else {
            lab.cleanup()
            return nil
        }
        return lab
    }

    func expectApplied(_ r: Shell.Result, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "twill-dp-apply failed: \(r.stdout.replacingOccurrences(of: "\n", with: " | ")) \(r.stderr)",
                sourceLocation: sourceLocation)
    }

    /// A node's routing input: its own block 10.244.<n>.0/26 with one workload, the IPIP tunnel
    /// address 10.244.<n>.1, and an IPIP block for every other node.
    func input(_ lab: Lab, _ me: IPIPNode, others: [IPIPNode], mode: String = "Always", parentMTU: Int = 1500) throws -> String {
        var node = InputJSON.node(me.name, ipv4: me.address, ipipTunnel: me.tunnel)
        node["parentMTU"] = parentMTU
        return try lab.input(me.name, [
            "node": node,
            "workloads": [InputJSON.workload("pod", me.hostIf, [me.pod], mac: me.podMAC)],
            "localBlocks": [me.block],
            "remoteBlocks": others.map { o in
                InputJSON.block(o.block, "ipip", mode: mode, nodes: [InputJSON.remote(o.name, address: o.address)])
            },
        ])
    }

    @Test func tunl0IsAdoptedWithParentMTUMinus20TheTunnelAddressAndOnlinkRoutes() throws {
        guard let lab = try ipipLab("IPIP device and routes in netns") else { return }
        defer { lab.cleanup() }
        let nodes = try IPIPNode.pair(lab, net: 70)
        let (a, b) = (nodes[0], nodes[1])
        // With the module loaded the kernel puts a fallback tunl0 (MTU 1480, down) in every namespace.
        let before = try lab.ip(a.ns, "-d", "link", "show", "tunl0")
        #expect(before.contains("mtu 1480") && !before.contains(",UP"), "\(before)")
        try lab.ip(a.ns, "link", "set", "eth0", "mtu", "1400")

        let inA = try input(lab, a, others: [b], parentMTU: 1400)
        expectApplied(try lab.apply(a.ns, input: inA))
        let link = try lab.ip(a.ns, "-d", "link", "show", "tunl0")
        for want in ["mtu 1380", ",UP", "link/ipip 0.0.0.0", "ipip any remote any local any"] {
            #expect(link.contains(want), "\(want) missing in \(link)")
        }
        let addr = try lab.ip(a.ns, "addr", "show", "dev", "tunl0")
        #expect(addr.contains("inet 10.244.70.1/32"), "\(addr)")
        let routes = try lab.ip(a.ns, "route", "show", "proto", "247")
        #expect(routes.contains("10.244.71.0/26 via 192.168.70.2 dev tunl0 onlink"), "\(routes)")
        #expect(routes.contains("blackhole 10.244.70.0/26"), "\(routes)")
        #expect(routes.contains("10.244.70.5 dev \(a.hostIf) scope link"), "\(routes)")
        // Converged: a restarted reconciler reads tunl0, its address and the onlink routes back as ours.
        let again = try lab.apply(a.ns, input: inA)
        #expect(again.stdout.hasPrefix("apply: 0 operations"), "\(again.stdout)")
        // The last IPIP block leaving the input: tunl0 itself stays (the kernel's fallback device).
        let none = try input(lab, a, others: [], parentMTU: 1400)
        let swept = try lab.apply(a.ns, input: none)
        expectApplied(swept)
        #expect(try lab.ip(a.ns, "link", "show", "tunl0").contains("tunl0"))
        // Its route through tunl0 is swept too (a gateway route: the delete must not carry a
        // guessed link scope, or the kernel finds nothing to delete).
        let left = try lab.ip(a.ns, "route", "show", "proto", "247")
        #expect(!left.contains("10.244.71.0"), "apply: \(swept.stdout) routes: \(left)")
    }

    @Test func tunl0IsCreatedWhereTheKernelMadeNoFallbackDevice() throws {
        guard let lab = try ipipLab("IPIP device creation in netns") else { return }
        defer { lab.cleanup() }
        // net.core.fb_tunnels_only_for_init_net=1: namespaces made now get no tunl0 of their own.
        let knob = "/proc/sys/net/core/fb_tunnels_only_for_init_net"
        guard let saved = try? String(contentsOfFile: knob, encoding: .utf8) else {
            print("SKIP IPIP device creation: \(knob) is missing")
            return
        }
        try "1\n".write(toFile: knob, atomically: false, encoding: .utf8)
        let nodes: [IPIPNode]
        do {
            defer { try? saved.write(toFile: knob, atomically: false, encoding: .utf8) }
            nodes = try IPIPNode.pair(lab, net: 72)
        }
        let (a, b) = (nodes[0], nodes[1])
        #expect(try Shell.run(["ip", "-n", a.ns, "link", "show", "tunl0"]).status != 0, "the namespace already has tunl0")
        expectApplied(try lab.apply(a.ns, input: try input(lab, a, others: [b])))
        expectApplied(try lab.apply(b.ns, input: try input(lab, b, others: [a])))
        let link = try lab.ip(a.ns, "-d", "link", "show", "tunl0")
        #expect(link.contains("mtu 1480") && link.contains(",UP") && link.contains("remote any local any"), "\(link)")
        #expect(try lab.ip(a.ns, "addr", "show", "dev", "tunl0").contains("inet 10.244.72.1/32"))
        #expect(lab.ping(from: a.podNS, b.pod), "pod to pod through a tunl0 Twill created")
    }

    @Test func podsReachEachOtherThroughIPIPAndTheUnderlayCarriesProtocol4() throws {
        guard let lab = try ipipLab("IPIP pod-to-pod traffic in netns") else { return }
        defer { lab.cleanup() }
        let nodes = try IPIPNode.pair(lab, net: 74)
        let (a, b) = (nodes[0], nodes[1])
        expectApplied(try lab.apply(a.ns, input: try input(lab, a, others: [b])))
        expectApplied(try lab.apply(b.ns, input: try input(lab, b, others: [a])))

        // Node B's underlay NIC sees the pod's echo request inside an IPIP packet between node IPs.
        let capture = try Capture(lab, ns: b.ns, interface: "eth0", filter: "ip proto 4", count: 2)
        #expect(lab.ping(from: a.podNS, b.pod))
        let seen = capture.finish()
        #expect(seen.contains("IP 192.168.74.1 > 192.168.74.2: IP 10.244.74.5 > 10.244.75.5: ICMP echo request"), "\(seen)")
        #expect(seen.contains("IP 192.168.74.2 > 192.168.74.1: IP 10.244.75.5 > 10.244.74.5: ICMP echo reply"), "\(seen)")
        #expect(lab.ping(from: b.podNS, a.pod))
        // The node itself reaches a remote pod from its tunnel address (the reply comes back via tunl0).
        let fromNode = try Shell.run(["ip", "netns", "exec", a.ns, "ping", "-c", "1", "-W", "2", b.pod], timeout: 10)
        #expect(fromNode.status == 0, "\(fromNode.stdout)")
        let rx = try lab.exec(b.ns, ["cat", "/sys/class/net/tunl0/statistics/rx_packets"])
        #expect((Int(rx.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 2, "tunl0 rx_packets on B: \(rx)")
    }

    @Test func crossSubnetUsesIPIPOnlyAcrossTheRouter() throws {
        guard let lab = try ipipLab("IPIP CrossSubnet in netns") else { return }
        defer { lab.cleanup() }
        let br = try lab.bridge()
        let router = try lab.netns("rt")
        try lab.attach(router, nic: "eth0", to: br, addresses: ["192.168.76.254/24"])
        try lab.attach(router, nic: "eth1", to: br, addresses: ["192.168.77.254/24"])
        try lab.exec(router, ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
        // A and C share 192.168.76.0/24; B sits behind the router in 192.168.77.0/24.
        let a = try IPIPNode.make(lab, "a", n: 1, bridge: br, address: "192.168.76.1/24", block: 80, gateway: "192.168.76.254")
        let c = try IPIPNode.make(lab, "c", n: 3, bridge: br, address: "192.168.76.3/24", block: 82, gateway: "192.168.76.254")
        let b = try IPIPNode.make(lab, "b", n: 2, bridge: br, address: "192.168.77.2/24", block: 81, gateway: "192.168.77.254")
        for me in [a, b, c] {
            expectApplied(try lab.apply(me.ns, input: try input(lab, me, others: [a, b, c].filter { $0.name != me.name }, mode: "CrossSubnet")))
        }
        let routes = try lab.ip(a.ns, "route", "show", "proto", "247")
        #expect(routes.contains("10.244.82.0/26 via 192.168.76.3 dev eth0 onlink"), "same subnet is plain: \(routes)")
        #expect(routes.contains("10.244.81.0/26 via 192.168.77.2 dev tunl0 onlink"), "across the router is IPIP: \(routes)")
        #expect(!routes.contains("via 192.168.76.3 dev tunl0"), "\(routes)")

        func tunlTx() throws -> Int {
            Int(try lab.exec(a.ns, ["cat", "/sys/class/net/tunl0/statistics/tx_packets"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        // Same subnet: the pod's packet is on A's wire as is (ICMP between pod addresses), tunl0 idle.
        let txBefore = try tunlTx()
        let plain = try Capture(lab, ns: a.ns, interface: "eth0", filter: "icmp and host 10.244.82.5", count: 1)
        #expect(lab.ping(from: a.podNS, c.pod))
        let plainSeen = plain.finish()
        #expect(plainSeen.contains("IP 10.244.80.5 > 10.244.82.5: ICMP echo request"), "\(plainSeen)")
        #expect(!plainSeen.contains("192.168.76.1 > 192.168.76.3"), "\(plainSeen)")
        #expect(try tunlTx() == txBefore, "same-subnet traffic must not be encapsulated")
        // Across the router: protocol 4 between the node addresses, through tunl0.
        let encap = try Capture(lab, ns: a.ns, interface: "eth0", filter: "ip proto 4", count: 1)
        #expect(lab.ping(from: a.podNS, b.pod))
        let encapSeen = encap.finish()
        #expect(encapSeen.contains("IP 192.168.76.1 > 192.168.77.2: IP 10.244.80.5 > 10.244.81.5: ICMP echo request"), "\(encapSeen)")
        #expect(try tunlTx() > txBefore, "cross-subnet traffic must go through tunl0")
        #expect(lab.ping(from: b.podNS, c.pod), "B reaches C through IPIP across the router as well")
    }

    @Test func driftOnTunl0IsRepaired() throws {
        guard let lab = try ipipLab("IPIP drift repair in netns") else { return }
        defer { lab.cleanup() }
        let nodes = try IPIPNode.pair(lab, net: 78)
        let (a, b) = (nodes[0], nodes[1])
        let inA = try input(lab, a, others: [b])
        expectApplied(try lab.apply(a.ns, input: inA))
        expectApplied(try lab.apply(b.ns, input: try input(lab, b, others: [a])))
        #expect(lab.ping(from: a.podNS, b.pod))

        // MTU changed by someone else: set back in place.
        try lab.ip(a.ns, "link", "set", "tunl0", "mtu", "1300")
        let mtuFix = try lab.apply(a.ns, input: inA)
        expectApplied(mtuFix)
        #expect(!mtuFix.stdout.hasPrefix("apply: 0 operations"), "\(mtuFix.stdout)")
        #expect(try lab.ip(a.ns, "link", "show", "tunl0").contains("mtu 1480"))
        // Device taken down (its routes go with it): brought up, routes back.
        try lab.ip(a.ns, "link", "set", "tunl0", "down")
        #expect(!(try lab.ip(a.ns, "route", "show", "proto", "247")).contains("dev tunl0"))
        expectApplied(try lab.apply(a.ns, input: inA))
        #expect(try lab.ip(a.ns, "link", "show", "tunl0").contains(",UP"))
        #expect(try lab.ip(a.ns, "route", "show", "proto", "247").contains("10.244.79.0/26 via 192.168.78.2 dev tunl0 onlink"))
        // Tunnel address removed: put back.
        try lab.ip(a.ns, "addr", "del", "10.244.78.1/32", "dev", "tunl0")
        expectApplied(try lab.apply(a.ns, input: inA))
        #expect(try lab.ip(a.ns, "addr", "show", "dev", "tunl0").contains("inet 10.244.78.1/32"))
        // Route replaced by another protocol through the underlay: taken back.
        try lab.ip(a.ns, "route", "replace", "10.244.79.0/26", "via", "192.168.78.2", "dev", "eth0", "proto", "static")
        expectApplied(try lab.apply(a.ns, input: inA))
        #expect(try lab.ip(a.ns, "route", "show", "10.244.79.0/26").contains("via 192.168.78.2 dev tunl0"))
        #expect(lab.ping(from: a.podNS, b.pod), "traffic flows again after the repairs")
        let again = try lab.apply(a.ns, input: inA)
        #expect(again.stdout.hasPrefix("apply: 0 operations"), "\(again.stdout)")
    }
}

/// One "node" namespace on the lab bridge with one pod-like workload namespace.
struct IPIPNode {
    var name: String, ns: String, address: String, hostIf: String
    var block: String, tunnel: String, pod: String, podNS: String, podMAC: String

    /// Node `node-<base>` at `address` with block 10.244.<block>.0/26, tunnel address .1, pod .5.
    static func make(_ lab: Lab, _ base: String, n: Int, bridge: String, address: String, block: Int,
                     gateway: String? = nil) throws -> IPIPNode {
        let ns = try lab.netns("n\(base)")
        try lab.attach(ns, to: bridge, addresses: [address], gateway: gateway)
        let hostIf = "cali\(base)\(n)"
        let w = try lab.workload("w\(base)", on: ns, hostIf: hostIf, v4: "10.244.\(block).5")
        return IPIPNode(name: "node-\(base)", ns: ns, address: address, hostIf: hostIf, block: "10.244.\(block).0/26",
                        tunnel: "10.244.\(block).1", pod: "10.244.\(block).5", podNS: w.ns, podMAC: w.mac)
    }

    /// Two nodes 192.168.<net>.1 and .2 on one bridge, blocks 10.244.<net>.0/26 and 10.244.<net+1>.0/26.
    static func pair(_ lab: Lab, net: Int) throws -> [IPIPNode] {
        let br = try lab.bridge()
        return [
            try make(lab, "a", n: 1, bridge: br, address: "192.168.\(net).1/24", block: net, gateway: "192.168.\(net).254"),
            try make(lab, "b", n: 2, bridge: br, address: "192.168.\(net).2/24", block: net + 1, gateway: "192.168.\(net).254"),
        ]
    }
}

/// Whether the running kernel can make IPIP tunnels, and what to do when it cannot.
enum IPIPKernel {
    static var required: Bool { ProcessInfo.processInfo.environment["TWILL_REQUIRE_IPIP"] == "1" }

    /// Probes with a throw-away ipip device in a fresh namespace (the kernel autoloads the module
    /// when it can). Without IPIP: records a failure under TWILL_REQUIRE_IPIP=1, else prints the
    /// skip reason; returns false in both cases.
    static func check(_ what: String, _ lab: Lab) throws -> Bool {
        let ns = try lab.netns("probe")
        let r = try Shell.run(["ip", "-n", ns, "link", "add", "tprobe0", "type", "ipip", "remote", "192.0.2.1", "local", "192.0.2.2"])
        if r.status == 0 { return true }
        let kernel = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        let reason = "kernel \(kernel) cannot create an ipip device (\(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)))"
        if required {
            Issue.record("TWILL_REQUIRE_IPIP=1 but \(what) cannot run: \(reason)")
        } else {
            print("SKIP \(what): \(reason); run it in a VM with IPIP: examples/vm/run -- scripts/vm-test.sh")
        }
        return false
    }
}

/// A bounded tcpdump in a namespace: started and listening when `init` returns; `finish()` waits
/// for `count` packets (at most `timeout` seconds) and returns what it printed.
final class Capture {
    let process = TestProcess()
    let out: String, err: String
    let timeout: Double

    init(_ lab: Lab, ns: String, interface: String, filter: String, count: Int, timeout: Double = 10) throws {
        let id = UUID().uuidString.prefix(8)
        out = lab.dir.file("capture-\(id).out")
        err = lab.dir.file("capture-\(id).err")
        self.timeout = timeout
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", ns, "tcpdump", "-n", "-l", "-i", interface, "-c", "\(count)", filter]
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        let listening = eventually(timeout: timeout) {
            ((try? String(contentsOfFile: err, encoding: .utf8)) ?? "").contains("listening on") || !process.isRunning
        }
        if !listening || !process.isRunning {
            let why = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            process.terminate()
            _ = process.wait(timeout: 5)
            throw ShellError.failed(process.arguments, process.terminationStatus, "tcpdump did not start: \(why)")
        }
    }

    func finish() -> String {
        if !process.wait(timeout: timeout) {
            process.terminate()
            _ = process.wait(timeout: 5)
        }
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }
}
