import Dataplane
import DataplaneLinux
import Foundation
import NetCore
import Testing
import TestSupport

/// Twill's nft table programmed through libnftnl/libmnl in a node namespace, checked with real
/// TCP connections between workload namespaces and with `nft -j list ruleset`.
@Suite(.serialized) struct NFTDataplaneTests {
    func input(_ lab: NFTLab, _ policies: [ACLPolicy]) -> ACLInput {
        ACLInput(workloads: lab.workloads.values.sorted { $0.iface < $1.iface }.map {
            ACLWorkload(interface: $0.iface, addresses: [IPAddress($0.ip)!] + ($0.ip6.map { [IPAddress($0)!] } ?? []))
        }, policies: policies)
    }

    func allowTCP(_ port: UInt16) -> ACLRule {
        ACLRule(action: .allow, protocol_: ACLRule.tcp, destination: .init(ports: [ACLPortRange(port)]))
    }

    @Test func policyDecidesConnectionsAndChangesStayMinimal() throws {
        guard Privileged.check("nft dataplane in netns", needs: ["ip", "nft"]) else { return }
        let lab = try NFTLab()
        defer { lab.cleanup() }
        try lab.addWorkload("a", ip: "10.65.0.1")
        try lab.addWorkload("b", ip: "10.65.0.2")
        try lab.addWorkload("c", ip: "10.65.0.3")
        let (a, c) = (lab.workloads["a"]!.iface, lab.workloads["c"]!.iface)
        // Someone else's table in the same namespace.
        try lab.nodeExec(["nft", "add table inet foreign; add chain inet foreign keep; add rule inet foreign keep counter"])

        let socket = try NFTSocket(networkNamespace: lab.nodeNetnsPath)
        let acl = NFTablesACL(table: "twill", socket: socket)
        let web = ACLPolicy(name: "web", selects: [a], ingress: [allowTCP(8080)])
        let first = try acl.apply(input(lab, [web]))
        #expect(first.fromReadBack && first.messages > 0)
        try lab.listen("a", ports: [8080, 9090])
        try lab.listen("c", ports: [8080])

        #expect(try lab.connects("b", "a", 8080), "allowed port connects")
        #expect(try !lab.connects("b", "a", 9090), "port no rule allows is dropped once a policy selects a")
        #expect(try lab.connects("b", "c", 8080), "a workload no policy selects is reachable")

        // Same model again: nothing sent.
        let again = try acl.apply(input(lab, [web]))
        #expect(again.messages == 0 && again.operations == 0)

        // A policy for c only: only c's ingress chain and the new policy chain change.
        let handlesBefore = try lab.ruleHandles(in: "twill")
        let lockC = ACLPolicy(name: "lock-c", selects: [c], ingress: [allowTCP(9999)])
        let change = try acl.apply(input(lab, [web, lockC]))
        #expect(change.touched == ["chain tw-\(c)", "chain pi-lock-c"])
        let handlesAfter = try lab.ruleHandles(in: "twill")
        for (chain, handles) in handlesBefore where chain != "tw-\(c)" {
            #expect(handlesAfter[chain] == handles, "chain \(chain) was not rewritten")
        }
        #expect(handlesAfter["tw-\(c)"] != handlesBefore["tw-\(c)"])
        #expect(try !lab.connects("b", "c", 8080), "c is now selected and 8080 is not allowed")
        #expect(try lab.connects("b", "a", 8080))
        #expect(try lab.tables().contains("inet foreign"))

        // Restart over stale state: a chain left behind is removed, the foreign table survives,
        // and the next apply from the read-back sends only our table's objects.
        try lab.nodeExec(["nft", "add chain inet twill tw-stale; add set inet twill ip4-stale { type ipv4_addr; }"])
        let restarted = NFTablesACL(table: "twill", socket: try NFTSocket(networkNamespace: lab.nodeNetnsPath))
        let resync = try restarted.apply(input(lab, [web, lockC]))
        #expect(resync.fromReadBack)
        let chains = try lab.chains(in: "twill")
        #expect(!chains.contains("tw-stale") && chains.contains("tw-\(a)") && chains.contains("pi-lock-c"))
        #expect(try lab.tables() == ["inet twill", "inet foreign"])
        #expect(try lab.ruleHandles(in: "foreign")["keep"]?.count == 1)
        #expect(try restarted.apply(input(lab, [web, lockC])).messages == 0)
        #expect(try lab.connects("b", "a", 8080))
        #expect(try !lab.connects("b", "a", 9090))

        // Removing the policies opens c again; deleting our table leaves the foreign one.
        try restarted.apply(input(lab, []))
        #expect(try lab.connects("b", "c", 8080) && lab.connects("b", "a", 9090))
        try restarted.deleteTable()
        #expect(try lab.tables() == ["inet foreign"])
    }

    @Test func egressPolicyAndAntiSpoofing() throws {
        guard Privileged.check("nft egress and anti-spoofing in netns", needs: ["ip", "nft"]) else { return }
        let lab = try NFTLab()
        defer { lab.cleanup() }
        try lab.addWorkload("a", ip: "10.65.1.1")
        try lab.addWorkload("b", ip: "10.65.1.2")
        let (a, b) = (lab.workloads["a"]!, lab.workloads["b"]!)
        // b also holds an address it does not own (a spoofed source).
        try Shell.check(["ip", "-n", b.ns, "addr", "add", "10.65.1.99/32", "dev", "eth0"])
        try lab.nodeExec(["ip", "route", "add", "10.65.1.99/32", "dev", b.iface])
        let acl = NFTablesACL(table: "twill", socket: try NFTSocket(networkNamespace: lab.nodeNetnsPath))
        // b may only talk to a on 8080 (egress); a's ingress is open.
        let egress = ACLPolicy(name: "b-out", selects: [b.iface], types: [.egress], egress: [allowTCP(8080)])
        try acl.apply(input(lab, [egress]))
        try lab.listen("a", ports: [8080, 9090])
        #expect(try lab.connects("b", "a", 8080))
        #expect(try !lab.connects("b", "a", 9090), "egress policy drops what it does not allow")
        #expect(try !lab.connects("b", "a", 8080, source: "10.65.1.99"), "spoofed source is dropped")
        #expect(try lab.connects("a", "b", 22) == false, "nothing listens on b:22 (sanity)")

        // A Deny rule ahead of an Allow in a lower-order policy wins; Pass defers to the next tier.
        let deny = ACLPolicy(name: "deny-8080", order: 1, selects: [a.iface],
                             ingress: [ACLRule(action: .deny, protocol_: ACLRule.tcp, destination: .init(ports: [ACLPortRange(8080)]))])
        let allow = ACLPolicy(name: "allow-all", order: 2, selects: [a.iface], ingress: [ACLRule(action: .allow)])
        try acl.apply(input(lab, [deny, allow]))
        #expect(try !lab.connects(fromNamespace: b.ns, to: a.ip, port: 8080))
        #expect(try lab.connects(fromNamespace: b.ns, to: a.ip, port: 9090))
    }

    @Test func ipv6PolicyNeighbourDiscoveryAndAntiSpoofing() throws {
        guard Privileged.check("nft IPv6 in netns", needs: ["ip", "nft"]) else { return }
        let lab = try NFTLab()
        defer { lab.cleanup() }
        try lab.addWorkload("a", ip: "10.65.2.1", ip6: "fd00:65::1")
        try lab.addWorkload("b", ip: "10.65.2.2", ip6: "fd00:65::2")
        let (a, b) = (lab.workloads["a"]!, lab.workloads["b"]!)
        try Shell.check(["ip", "-n", b.ns, "addr", "add", "fd00:65::99/128", "dev", "eth0", "nodad"])
        try lab.nodeExec(["ip", "-6", "route", "add", "fd00:65::99/128", "dev", b.iface])
        let acl = NFTablesACL(table: "twill", socket: try NFTSocket(networkNamespace: lab.nodeNetnsPath))
        // a admits only IPv6 sources in fd00:65::/112 on 8080 (a v6-only rule from its nets).
        let p = ACLPolicy(name: "v6-only", selects: [a.iface], ingress: [
            ACLRule(action: .allow, protocol_: ACLRule.tcp, source: .init(nets: [IPPrefix("fd00:65::/112")!]),
                    destination: .init(ports: [ACLPortRange(8080)]))])
        try acl.apply(input(lab, [p]))
        try lab.listen("a", ports: [8080])
        #expect(try lab.connects("b", "a", 8080, v6: true), "IPv6 allowed (neighbour discovery passes wl-to-host)")
        #expect(try !lab.connects("b", "a", 8080), "IPv4 to the same port is not allowed by the v6-only rule")
        #expect(try !lab.connects("b", "a", 8080, source: "fd00:65::99", v6: true), "spoofed IPv6 source is dropped")
    }

    @Test func natOutgoingMasqueradesTrafficLeavingThePools() throws {
        guard Privileged.check("nft natOutgoing in netns", needs: ["ip", "nft"]) else { return }
        let lab = try NFTLab()
        defer { lab.cleanup() }
        try lab.addWorkload("a", ip: "10.65.3.1")
        let ext = try lab.addOutside()
        try lab.listen(inNamespace: ext, reachableAt: "203.0.113.1", ports: [8080])
        let acl = NFTablesACL(table: "twill", socket: try NFTSocket(networkNamespace: lab.nodeNetnsPath))
        var i = input(lab, [])
        i.pools = [ACLPool(cidr: IPPrefix("10.65.0.0/16")!, natOutgoing: false)]
        try acl.apply(i)
        let a = lab.workloads["a"]!
        #expect(try !lab.connects(fromNamespace: a.ns, to: "203.0.113.1", port: 8080),
                "without natOutgoing the outside cannot answer a pod address")
        i.pools[0].natOutgoing = true
        let change = try acl.apply(i)
        #expect(change.touched.contains("chain postrouting") && !change.touched.contains("chain fw-\(a.iface)"))
        #expect(try lab.connects(fromNamespace: a.ns, to: "203.0.113.1", port: 8080), "masqueraded to the node's address")
    }

    @Test func kernelRejectionNamesTheObjectAndAppliesNothing() throws {
        guard Privileged.check("nft error mapping in netns", needs: ["ip", "nft"]) else { return }
        let lab = try NFTLab()
        defer { lab.cleanup() }
        let acl = NFTablesACL(table: "twill", socket: try NFTSocket(networkNamespace: lab.nodeNetnsPath))
        try acl.apply(try ACLRenderer.render(ACLInput()))
        var broken = try ACLRenderer.render(ACLInput())
        broken.chains["bad"] = NFTChain(name: "bad", rules: [NFTRule([], [], .jump("does-not-exist"))])
        let chainsBefore = try lab.chains(in: "twill")
        #expect {
            try acl.apply(broken)
        } throws: { error in
            guard case NFTError.rejected(let op, let errno, _) = error else { return false }
            return op == "add rule 0 to chain bad" && errno == ENOENT
        }
        #expect(try lab.chains(in: "twill") == chainsBefore, "the failed batch changed nothing")
        // The next apply re-reads the kernel and succeeds.
        #expect(try acl.apply(try ACLRenderer.render(ACLInput())).fromReadBack)
    }
}
