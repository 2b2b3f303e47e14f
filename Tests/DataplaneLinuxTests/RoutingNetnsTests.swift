import Dataplane
import Foundation
import NetCore
import Testing
import TestSupport

/// End-to-end: `twill-dp-apply` programs namespaces that play nodes; pings cross them.
@Suite(.serialized) struct RoutingNetnsTests {
    let needs = ["ip", "ping", "bridge"]

    /// Two nodes on one bridge (192.168.<net>.1/.2), a workload on each.
    struct TwoNodes {
        var a: String, b: String
        var wa: (ns: String, mac: String), wb: (ns: String, mac: String)
    }

    func twoNodes(_ lab: Lab, net: Int, v6: Bool = false) throws -> TwoNodes {
        let br = try lab.bridge()
        let a = try lab.netns("na"), b = try lab.netns("nb")
        try lab.attach(a, to: br, addresses: ["192.168.\(net).1/24"] + (v6 ? ["fd00:\(net)::1/64"] : []), gateway: "192.168.\(net).254")
        try lab.attach(b, to: br, addresses: ["192.168.\(net).2/24"] + (v6 ? ["fd00:\(net)::2/64"] : []), gateway: "192.168.\(net).254")
        let wa = try lab.workload("wa", on: a, hostIf: "calia1", v4: "10.244.1.5", v6: v6 ? "fd00:244:1::5" : nil)
        let wb = try lab.workload("wb", on: b, hostIf: "calib1", v4: "10.244.2.5", v6: v6 ? "fd00:244:2::5" : nil)
        return TwoNodes(a: a, b: b, wa: wa, wb: wb)
    }

    func expectApplied(_ r: Shell.Result) {
        #expect(r.status == 0, "twill-dp-apply failed: \(r.stdout.replacingOccurrences(of: "\n", with: " | ")) \(r.stderr)")
    }

    @Test func noEncapsulationPodsReachEachOtherAcrossNodes() throws {
        guard Privileged.check("routing without encapsulation in netns", needs: needs) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let t = try twoNodes(lab, net: 50)
        let inA = try lab.input("a", [
            "node": InputJSON.node("node-a", ipv4: "192.168.50.1/24"),
            "workloads": [InputJSON.workload("pod-a", "calia1", ["10.244.1.5"], mac: t.wa.mac)],
            "localBlocks": ["10.244.1.0/26"],
            "remoteBlocks": [
                InputJSON.block("10.244.2.0/26", "none", nodes: [InputJSON.remote("node-b", address: "192.168.50.2/24")]),
                // A block served by two nodes: ECMP.
                InputJSON.block("10.244.4.0/26", "none", nodes: [
                    InputJSON.remote("node-b", address: "192.168.50.2/24"), InputJSON.remote("node-c", address: "192.168.50.3/24"),
                ]),
            ],
        ])
        let inB = try lab.input("b", [
            "node": InputJSON.node("node-b", ipv4: "192.168.50.2/24"),
            "workloads": [InputJSON.workload("pod-b", "calib1", ["10.244.2.5"], mac: t.wb.mac)],
            "localBlocks": ["10.244.2.0/26"],
            "remoteBlocks": [InputJSON.block("10.244.1.0/26", "none", nodes: [InputJSON.remote("node-a", address: "192.168.50.1/24")])],
        ])
        expectApplied(try lab.apply(t.a, input: inA))
        expectApplied(try lab.apply(t.b, input: inB))

        let routes = try lab.ip(t.a, "route", "show", "proto", "247")
        #expect(routes.contains("10.244.2.0/26 via 192.168.50.2 dev eth0 onlink"), "\(routes)")
        #expect(routes.contains("blackhole 10.244.1.0/26"), "\(routes)")
        #expect(routes.contains("10.244.1.5 dev calia1 scope link"), "\(routes)")
        let ecmp = try lab.ip(t.a, "route", "show", "10.244.4.0/26")
        #expect(ecmp.contains("nexthop via 192.168.50.2 dev eth0 weight 1 onlink"), "\(ecmp)")
        #expect(ecmp.contains("nexthop via 192.168.50.3 dev eth0 weight 1 onlink"), "\(ecmp)")
        let neigh = try lab.ip(t.a, "neigh", "show", "dev", "calia1")
        #expect(neigh.contains("10.244.1.5 lladdr \(t.wa.mac) PERMANENT"), "\(neigh)")
        #expect(try lab.exec(t.a, ["cat", "/proc/sys/net/ipv4/conf/calia1/proxy_arp"]) == "1\n")
        #expect(try lab.exec(t.a, ["cat", "/proc/sys/net/ipv4/ip_forward"]) == "1\n")

        #expect(lab.ping(from: t.wa.ns, "10.244.2.5"))
        #expect(lab.ping(from: t.wb.ns, "10.244.1.5"))

        // A restarted reconciler over converged state changes nothing.
        let again = try lab.apply(t.a, input: inA)
        #expect(again.stdout.hasPrefix("apply: 0 operations"), "\(again.stdout)")

        // The remote blocks go (node B withdrew them): their gateway routes, plain and ECMP, go too.
        let gone = try lab.input("a-gone", [
            "node": InputJSON.node("node-a", ipv4: "192.168.50.1/24"),
            "workloads": [InputJSON.workload("pod-a", "calia1", ["10.244.1.5"], mac: t.wa.mac)],
            "localBlocks": ["10.244.1.0/26"],
        ])
        expectApplied(try lab.apply(t.a, input: gone))
        let left = try lab.ip(t.a, "route", "show", "proto", "247")
        #expect(!left.contains("10.244.2.0/26") && !left.contains("10.244.4.0/26"), "\(left)")
        #expect(left.contains("blackhole 10.244.1.0/26") && left.contains("10.244.1.5 dev calia1"), "\(left)")
    }

    @Test func vxlanDualStackPodsReachEachOtherAndDriftIsRepaired() throws {
        guard Privileged.check("VXLAN routing in netns", needs: needs) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let t = try twoNodes(lab, net: 51, v6: true)
        let macA = VTEPMAC.derived(fromNodeName: "node-a").description
        let macB = VTEPMAC.derived(fromNodeName: "node-b").description
        func input(_ me: String, _ other: String, mine: Int, theirs: Int, wl: (ns: String, mac: String), hostIf: String,
                   myIP: Int, theirIP: Int, theirMAC: String) throws -> String {
            try lab.input(me, [
                "node": InputJSON.node(me, ipv4: "192.168.51.\(myIP)/24", ipv6: "fd00:51::\(myIP)/64",
                                       vxlanTunnel: "10.244.\(mine).0", vxlanV6Tunnel: "fd00:244:\(mine)::"),
                "workloads": [InputJSON.workload("pod", hostIf, ["10.244.\(mine).5", "fd00:244:\(mine)::5"], mac: wl.mac)],
                "localBlocks": ["10.244.\(mine).0/26", "fd00:244:\(mine)::/122"],
                "remoteBlocks": [
                    InputJSON.block("10.244.\(theirs).0/26", "vxlan", nodes: [
                        InputJSON.remote(other, address: "192.168.51.\(theirIP)/24", vtepMAC: theirMAC, tunnel: "10.244.\(theirs).0"),
                    ]),
                    InputJSON.block("fd00:244:\(theirs)::/122", "vxlan", nodes: [
                        InputJSON.remote(other, address: "fd00:51::\(theirIP)/64", vtepMAC: theirMAC, tunnel: "fd00:244:\(theirs)::"),
                    ]),
                ],
            ])
        }
        let inA = try input("node-a", "node-b", mine: 1, theirs: 2, wl: t.wa, hostIf: "calia1", myIP: 1, theirIP: 2, theirMAC: macB)
        let inB = try input("node-b", "node-a", mine: 2, theirs: 1, wl: t.wb, hostIf: "calib1", myIP: 2, theirIP: 1, theirMAC: macA)
        expectApplied(try lab.apply(t.a, input: inA))
        expectApplied(try lab.apply(t.b, input: inB))

        let link = try lab.ip(t.a, "-d", "link", "show", "vxlan.twill")
        for want in ["mtu 1450", "link/ether \(macA)", "vxlan id 4096", "local 192.168.51.1", "dev eth0", "dstport 4789", "nolearning"] {
            #expect(link.contains(want), "\(want) missing in \(link)")
        }
        let link6 = try lab.ip(t.a, "-d", "link", "show", "vxlan-v6.twill")
        #expect(link6.contains("mtu 1430") && link6.contains("local fd00:51::1"), "\(link6)")
        let fdb = try lab.exec(t.a, ["bridge", "fdb", "show", "dev", "vxlan.twill"])
        #expect(fdb.contains("\(macB) dst 192.168.51.2 self permanent"), "\(fdb)")
        let routes = try lab.ip(t.a, "route", "show", "proto", "247")
        #expect(routes.contains("10.244.2.0/26 via 10.244.2.0 dev vxlan.twill onlink"), "\(routes)")
        let routes6 = try lab.ip(t.a, "-6", "route", "show", "proto", "247")
        #expect(routes6.contains("fd00:244:2::/122 via fd00:244:2:: dev vxlan-v6.twill"), "\(routes6)")
        #expect(try lab.ip(t.a, "addr", "show", "dev", "vxlan.twill").contains("inet 10.244.1.0/32"))

        #expect(lab.ping(from: t.wa.ns, "10.244.2.5"))
        #expect(lab.ping(from: t.wa.ns, "fd00:244:2::5"))
        #expect(lab.ping(from: t.wb.ns, "fd00:244:1::5"))
        // What the kernel reports back (v6 blackholes on lo, onlink flags) reads as converged.
        let again = try lab.apply(t.a, input: inA)
        #expect(again.stdout.hasPrefix("apply: 0 operations"), "\(again.stdout)")

        // MTU drift: repaired in place.
        try lab.ip(t.a, "link", "set", "vxlan.twill", "mtu", "1300")
        expectApplied(try lab.apply(t.a, input: inA))
        #expect(try lab.ip(t.a, "link", "show", "vxlan.twill").contains("mtu 1450"))
        // Incompatible drift (VNI, learning): the device is recreated with its routes and entries.
        try lab.ip(t.a, "link", "del", "vxlan.twill")
        try lab.ip(t.a, "link", "add", "vxlan.twill", "type", "vxlan", "id", "99", "dstport", "4789", "dev", "eth0", "local", "192.168.51.1")
        expectApplied(try lab.apply(t.a, input: inA))
        let fixed = try lab.ip(t.a, "-d", "link", "show", "vxlan.twill")
        #expect(fixed.contains("vxlan id 4096") && fixed.contains("nolearning") && fixed.contains("state UNKNOWN"), "\(fixed)")
        #expect(lab.ping(from: t.wa.ns, "10.244.2.5"))
        // A device of another kind squatting our name is replaced too.
        try lab.ip(t.a, "link", "del", "vxlan.twill")
        try lab.ip(t.a, "link", "add", "vxlan.twill", "type", "bridge")
        expectApplied(try lab.apply(t.a, input: inA))
        #expect(try lab.ip(t.a, "-d", "link", "show", "vxlan.twill").contains("vxlan id 4096"))
        #expect(lab.ping(from: t.wa.ns, "10.244.2.5"))
    }

    @Test func crossSubnetIsPlainInsideTheSubnetAndVXLANAcrossTheRouter() throws {
        guard Privileged.check("CrossSubnet routing in netns", needs: needs) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let br = try lab.bridge()
        let router = try lab.netns("rt")
        try lab.attach(router, nic: "eth0", to: br, addresses: ["192.168.60.1/24"])
        try lab.attach(router, nic: "eth1", to: br, addresses: ["192.168.61.1/24"])
        try lab.exec(router, ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
        let a = try lab.netns("na"), b = try lab.netns("nb"), c = try lab.netns("nc")
        try lab.attach(a, to: br, addresses: ["192.168.60.2/24"], gateway: "192.168.60.1")
        try lab.attach(c, to: br, addresses: ["192.168.60.3/24"], gateway: "192.168.60.1")
        try lab.attach(b, to: br, addresses: ["192.168.61.2/24"], gateway: "192.168.61.1")
        let nodes: [(ns: String, name: String, ip: String, n: Int)] = [
            (a, "node-a", "192.168.60.2/24", 1), (b, "node-b", "192.168.61.2/24", 2), (c, "node-c", "192.168.60.3/24", 3),
        ]
        var workloads: [Int: (ns: String, mac: String)] = [:]
        for node in nodes {
            workloads[node.n] = try lab.workload("w\(node.n)", on: node.ns, hostIf: "cali\(node.n)", v4: "10.244.\(node.n).5")
        }
        for node in nodes {
            let others = nodes.filter { $0.n != node.n }
            let path = try lab.input(node.name, [
                "node": InputJSON.node(node.name, ipv4: node.ip, vxlanTunnel: "10.244.\(node.n).0"),
                "workloads": [InputJSON.workload("pod", "cali\(node.n)", ["10.244.\(node.n).5"], mac: workloads[node.n]!.mac)],
                "localBlocks": ["10.244.\(node.n).0/26"],
                "remoteBlocks": others.map { o in
                    InputJSON.block("10.244.\(o.n).0/26", "vxlan", mode: "CrossSubnet", nodes: [
                        InputJSON.remote(o.name, address: o.ip, vtepMAC: VTEPMAC.derived(fromNodeName: o.name).description,
                                         tunnel: "10.244.\(o.n).0"),
                    ])
                },
            ])
            expectApplied(try lab.apply(node.ns, input: path))
        }
        // Same subnet (A→C): plain, via C's address on eth0. Across the router (A→B): VXLAN.
        #expect(try lab.ip(a, "route", "get", "10.244.3.5").contains("via 192.168.60.3 dev eth0"))
        #expect(try lab.ip(a, "route", "get", "10.244.2.5").contains("dev vxlan.twill"))
        let fdb = try lab.exec(a, ["bridge", "fdb", "show", "dev", "vxlan.twill"])
        #expect(fdb.contains("dst 192.168.61.2") && !fdb.contains("dst 192.168.60.3"), "\(fdb)")

        func vxlanTx() throws -> Int { Int(try lab.exec(a, ["cat", "/sys/class/net/vxlan.twill/statistics/tx_packets"])
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        let before = try vxlanTx()
        #expect(lab.ping(from: workloads[1]!.ns, "10.244.3.5"))
        #expect(try vxlanTx() == before, "same-subnet traffic must not be encapsulated")
        #expect(lab.ping(from: workloads[1]!.ns, "10.244.2.5"))
        #expect(try vxlanTx() > before, "cross-subnet traffic must go through vxlan.twill")
    }

    @Test func ipipWithoutKernelSupportIsAClearErrorAndEverythingElseIsProgrammed() throws {
        guard Privileged.check("IPIP error path in netns", needs: needs) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let t = try twoNodes(lab, net: 52)
        let probe = try Shell.run(["ip", "-n", t.a, "link", "add", "tprobe0", "type", "ipip", "remote", "192.0.2.1", "local", "192.0.2.2"])
        guard probe.status != 0 else {
            print("SKIP ipip error path: this kernel has IPIP support")
            return
        }
        let inA = try lab.input("a", [
            "node": InputJSON.node("node-a", ipv4: "192.168.52.1/24", ipipTunnel: "10.244.1.1"),
            "workloads": [InputJSON.workload("pod-a", "calia1", ["10.244.1.5"], mac: t.wa.mac)],
            "localBlocks": ["10.244.1.0/26"],
            "remoteBlocks": [
                InputJSON.block("10.244.9.0/26", "ipip", nodes: [InputJSON.remote("node-x", address: "192.168.52.9/24")]),
                InputJSON.block("10.244.2.0/26", "none", nodes: [InputJSON.remote("node-b", address: "192.168.52.2/24")]),
            ],
        ])
        let r = try lab.apply(t.a, input: inA)
        #expect(r.status == 2)
        #expect(r.stdout.contains("device tunl0 (needed by block 10.244.9.0/26)"), "\(r.stdout)")
        #expect(r.stdout.contains("load the ipip kernel module (modprobe ipip)"), "\(r.stdout)")
        #expect(r.stdout.contains("block 10.244.9.0/26 (ipip pool)"), "\(r.stdout)")
        let routes = try lab.ip(t.a, "route", "show", "proto", "247")
        #expect(routes.contains("10.244.2.0/26 via 192.168.52.2 dev eth0 onlink"), "\(routes)")
        #expect(routes.contains("10.244.1.5 dev calia1"), "\(routes)")
        #expect(routes.contains("blackhole 10.244.1.0/26"), "\(routes)")
        #expect(!routes.contains("10.244.9.0"), "\(routes)")
    }

    @Test func oneFailingRequestInABatchFailsAloneAndNamesItsObject() throws {
        guard Privileged.check("batch error mapping in netns", needs: needs) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let t = try twoNodes(lab, net: 56)
        let down = try lab.workload("wd", on: t.a, hostIf: "calid", v4: "10.244.1.7")
        try lab.ip(t.a, "link", "set", "calid", "down")
        let inA = try lab.input("a", [
            "node": InputJSON.node("node-a", ipv4: "192.168.56.1/24"),
            "workloads": [
                InputJSON.workload("pod-down", "calid", ["10.244.1.7"], mac: down.mac),
                InputJSON.workload("pod-a", "calia1", ["10.244.1.5"], mac: t.wa.mac),
                InputJSON.workload("pod-gone", "calinone", ["10.244.1.8"], mac: "02:00:00:00:00:08"),
            ],
            "localBlocks": ["10.244.1.0/26"],
        ])
        let r = try lab.apply(t.a, input: inA)
        #expect(r.status == 2)
        let issues = r.stdout.split(separator: "\n").filter { $0.hasPrefix("issue:") }
        #expect(issues.contains { $0.contains("route 10.244.1.7/32") && $0.contains("Network is down") }, "\(issues)")
        #expect(issues.contains { $0.contains("10.244.1.8") && $0.contains("calinone") && $0.contains("interface missing, retried") },
                "\(issues)")
        #expect(!issues.contains { $0.contains("10.244.1.5") }, "\(issues)")
        let routes = try lab.ip(t.a, "route", "show", "proto", "247")
        #expect(routes.contains("10.244.1.5 dev calia1") && routes.contains("blackhole 10.244.1.0/26"), "\(routes)")
        // Once the interface is up, the next apply programs it.
        try lab.ip(t.a, "link", "set", "calid", "up")
        _ = try lab.apply(t.a, input: inA)
        #expect(try lab.ip(t.a, "route", "show", "proto", "247").contains("10.244.1.7 dev calid"))
    }

    @Test func restartOverStaleStateRemovesOnlyOurLeftoversAndOnlyWhenInSync() throws {
        guard Privileged.check("stale sweep in netns", needs: needs) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let t = try twoNodes(lab, net: 53)
        let w2 = try lab.workload("wa2", on: t.a, hostIf: "calia2", v4: "10.244.1.6")
        func input(_ name: String, full: Bool) throws -> String {
            try lab.input(name, [
                "node": InputJSON.node("node-a", ipv4: "192.168.53.1/24", vxlanTunnel: full ? "10.244.1.0" : nil),
                "workloads": [InputJSON.workload("pod-a", "calia1", ["10.244.1.5"], mac: t.wa.mac)]
                    + (full ? [InputJSON.workload("pod-a2", "calia2", ["10.244.1.6"], mac: w2.mac)] : []),
                "localBlocks": ["10.244.1.0/26"],
                "remoteBlocks": [InputJSON.block("10.244.2.0/26", "none", nodes: [InputJSON.remote("node-b", address: "192.168.53.2/24")])]
                    + (full ? [InputJSON.block("10.244.3.0/26", "vxlan", nodes: [
                        InputJSON.remote("node-c", address: "192.168.53.3/24", vtepMAC: "66:00:00:00:00:0c", tunnel: "10.244.3.0"),
                    ])] : []),
                "workloadInterfacePrefixes": ["cali"],
            ])
        }
        expectApplied(try lab.apply(t.a, input: try input("full", full: true)))
        // Foreign objects: a route of another protocol in the same table, one in a prefix we
        // could own, a permanent neighbour on the node NIC.
        try lab.ip(t.a, "route", "add", "10.99.0.0/24", "via", "192.168.53.254", "proto", "static")
        try lab.ip(t.a, "route", "add", "10.244.7.0/26", "dev", "eth0", "proto", "bird")
        try lab.ip(t.a, "neigh", "add", "192.168.53.77", "lladdr", "02:00:00:00:00:77", "dev", "eth0", "nud", "permanent")

        let small = try input("small", full: false)
        // Not in sync yet: nothing is deleted.
        expectApplied(try lab.apply(t.a, input: small, sweep: false))
        var routes = try lab.ip(t.a, "route", "show", "proto", "247")
        #expect(routes.contains("10.244.1.6 dev calia2") && routes.contains("10.244.3.0/26"), "\(routes)")
        // In sync: our leftovers go, foreign objects stay.
        expectApplied(try lab.apply(t.a, input: small, sweep: true))
        routes = try lab.ip(t.a, "route", "show", "proto", "247")
        #expect(!routes.contains("10.244.1.6") && !routes.contains("10.244.3.0/26"), "\(routes)")
        #expect(routes.contains("10.244.1.5 dev calia1") && routes.contains("10.244.2.0/26"), "\(routes)")
        let all = try lab.ip(t.a, "route", "show")
        #expect(all.contains("10.99.0.0/24 via 192.168.53.254 dev eth0 proto static"), "\(all)")
        #expect(all.contains("10.244.7.0/26 dev eth0 proto bird"), "\(all)")
        #expect(!(try lab.ip(t.a, "neigh", "show", "dev", "calia2")).contains("PERMANENT"))
        #expect(try lab.ip(t.a, "neigh", "show", "dev", "eth0").contains("192.168.53.77 lladdr 02:00:00:00:00:77 PERMANENT"))
        #expect(try lab.ip(t.a, "-o", "link", "show").contains("vxlan.twill") == false)
    }

    @Test func recreatedWorkloadInterfaceIsReprogrammedWithoutAFullResync() throws {
        guard Privileged.check("workload interface churn in netns", needs: needs) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let t = try twoNodes(lab, net: 58)
        let inA = try lab.input("a", [
            "node": InputJSON.node("node-a", ipv4: "192.168.58.1/24"),
            "workloads": [InputJSON.workload("pod-a", "calia1", ["10.244.1.5"], mac: t.wa.mac)],
            "localBlocks": ["10.244.1.0/26"],
        ])
        let p = TestProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", t.a, Lab.tool, "run", "--input", inA]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        func hasRoute() -> Bool { ((try? lab.ip(t.a, "route", "show", "proto", "247")) ?? "").contains("10.244.1.5 dev calia1") }
        #expect(eventually { hasRoute() })
        // The pod's veth is deleted (its route and neighbour go with it) and created again.
        try lab.ip(t.a, "link", "del", "calia1")
        try lab.ip(t.a, "link", "add", "calia1", "type", "veth", "peer", "name", "eth0", "netns", t.wa.ns)
        try lab.ip(t.a, "link", "set", "calia1", "up")
        try lab.ip(t.wa.ns, "link", "set", "eth0", "up")
        #expect(eventually { hasRoute() }, "route not restored on the new veth")
        #expect(eventually {
            ((try? lab.ip(t.a, "neigh", "show", "dev", "calia1")) ?? "").contains("10.244.1.5 lladdr \(t.wa.mac) PERMANENT")
        })
        #expect(eventually { ((try? lab.exec(t.a, ["cat", "/proc/sys/net/ipv4/conf/calia1/proxy_arp"])) ?? "") == "1\n" })
        // A deleted workload neighbour is replanned alone as well.
        try lab.ip(t.a, "neigh", "del", "10.244.1.5", "dev", "calia1")
        #expect(eventually {
            ((try? lab.ip(t.a, "neigh", "show", "dev", "calia1")) ?? "").contains("10.244.1.5 lladdr \(t.wa.mac) PERMANENT")
        }, "workload neighbour not restored")
        p.terminate()
        p.waitUntilExit()
        let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        // The first apply is a full resync; the repair is a partial one.
        #expect(lines.first?.contains("(resynced)") == true, "\(lines)")
        #expect(lines.filter { $0.contains("(resynced)") }.count == 1, "only the first apply is a full resync: \(lines)")
        #expect(lines.dropFirst().contains { $0.hasPrefix("apply:") && !$0.contains("(resynced)") && !$0.hasPrefix("apply: 0 ") },
                "\(lines)")
    }

    @Test func routeDeletedBySomeoneElseComesBackThroughTheMonitor() throws {
        guard Privileged.check("netlink monitor in netns", needs: needs) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let t = try twoNodes(lab, net: 54)
        let inA = try lab.input("a", [
            "node": InputJSON.node("node-a", ipv4: "192.168.54.1/24", vxlanTunnel: "10.244.1.0"),
            "workloads": [InputJSON.workload("pod-a", "calia1", ["10.244.1.5"], mac: t.wa.mac)],
            "localBlocks": ["10.244.1.0/26"],
            "remoteBlocks": [InputJSON.block("10.244.2.0/26", "vxlan", nodes: [
                InputJSON.remote("node-b", address: "192.168.54.2/24", vtepMAC: "66:00:00:00:00:0b", tunnel: "10.244.2.0"),
            ])],
        ])
        let p = TestProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", t.a, Lab.tool, "run", "--input", inA]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        func hasRoute() -> Bool {
            ((try? lab.ip(t.a, "route", "show", "10.244.2.0/26", "proto", "247")) ?? "").contains("dev vxlan.twill")
        }
        #expect(eventually(timeout: 10) { hasRoute() })
        try lab.ip(t.a, "route", "del", "10.244.2.0/26")
        #expect(eventually(timeout: 10) { hasRoute() }, "route not restored after ip route del")
        // Another protocol taking over the prefix is undone too (Felix takes prefixes over the same way).
        try lab.ip(t.a, "route", "replace", "10.244.2.0/26", "via", "192.168.54.9", "dev", "eth0", "onlink", "proto", "static")
        #expect(eventually(timeout: 10) { hasRoute() }, "route not taken back from proto static")
        // Permanent neighbour and FDB entries deleted by someone else come back too.
        try lab.ip(t.a, "neigh", "del", "10.244.2.0", "dev", "vxlan.twill")
        #expect(eventually(timeout: 10) {
            ((try? lab.ip(t.a, "neigh", "show", "dev", "vxlan.twill")) ?? "").contains("10.244.2.0 lladdr 66:00:00:00:00:0b PERMANENT")
        }, "VXLAN neighbour not restored")
        try lab.exec(t.a, ["bridge", "fdb", "del", "66:00:00:00:00:0b", "dev", "vxlan.twill", "dst", "192.168.54.2"])
        #expect(eventually(timeout: 10) {
            ((try? lab.exec(t.a, ["bridge", "fdb", "show", "dev", "vxlan.twill"])) ?? "").contains("66:00:00:00:00:0b dst 192.168.54.2")
        }, "FDB entry not restored")
        try lab.ip(t.a, "link", "set", "vxlan.twill", "down")
        #expect(eventually(timeout: 10) {
            ((try? lab.ip(t.a, "link", "show", "vxlan.twill")) ?? "").contains(",UP")
        }, "vxlan.twill not brought back up")
        #expect(eventually(timeout: 10) { hasRoute() }, "route not restored after link down/up")
        p.terminate()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }
}
