import Dataplane
import DataplaneLinux
import Foundation
import NetCore
import Testing
import TestSupport

/// Every construct the renderer emits, programmed through our libnftnl lowering, must list
/// exactly as the same model loaded by `nft -f` from `NFTModel.script()` does: our netlink
/// messages are the ones nft itself would send.
@Suite(.serialized) struct NFTLoweringTests {
    static func richInput() -> ACLInput {
        let sel = ACLIPSetID.forSelector("role == 'db'")
        let rules: [ACLRule] = [
            ACLRule(action: .log, protocol_: ACLRule.tcp),
            ACLRule(action: .allow, protocol_: ACLRule.tcp, source: .init(selector: sel, notSelector: .forSelector("x")),
                    destination: .init(ports: [ACLPortRange(80), ACLPortRange(443), ACLPortRange(8000, 8080)])),
            ACLRule(action: .deny, protocol_: ACLRule.udp, source: .init(notPorts: [ACLPortRange(53)]),
                    destination: .init(notPorts: [ACLPortRange(1, 1023), ACLPortRange(2000)])),
            ACLRule(action: .pass, ipVersion: .v4, icmp: .init(type: 8, code: 0)),
            ACLRule(action: .deny, ipVersion: .v4, protocol_: ACLRule.icmpV4, notICMP: .init(type: 3, code: 4)),
            ACLRule(action: .deny, ipVersion: .v6, notICMP: .init(type: 128)),
            ACLRule(action: .allow, notProtocol: ACLRule.sctp, source: .init(nets: [IPPrefix("10.0.0.0/8")!]),
                    destination: .init(notNets: [IPPrefix("10.1.0.0/16")!, IPPrefix("10.3.0.0/16")!])),
            ACLRule(action: .allow, source: .init(nets: [IPPrefix("fd00::/64")!, IPPrefix("fd01::/64")!])),
            ACLRule(action: .allow, destination: .init(nets: [IPPrefix("192.168.1.7/32")!])),
        ]
        var s = ACLSettings(tableName: "twlower")
        s.hostInboundAction = .drop
        s.hostOutboundAction = .drop
        s.endpointToHostAction = .drop
        return ACLInput(
            workloads: [ACLWorkload(interface: "twa1", addresses: [IPAddress("10.65.0.1")!, IPAddress("10.65.0.9")!]),
                        ACLWorkload(interface: "twb1", addresses: [IPAddress("fd00::5")!])],
            policies: [ACLPolicy(name: "rich", selects: ["twa1", "twb1"], types: [.ingress, .egress],
                                 ingress: rules, egress: rules),
                       ACLPolicy(name: "other/ns.pol", order: 5, tier: "sec", selects: ["twa1"], ingress: [rules[0]])],
            tiers: [ACLTier(name: "sec", order: 10, defaultAction: .pass)],
            ipSets: [sel: [IPAddress("10.65.0.1")!, IPAddress("fd00::5")!], .forSelector("x"): []],
            pools: [ACLPool(cidr: IPPrefix("10.65.0.0/16")!, natOutgoing: true),
                    ACLPool(cidr: IPPrefix("fd00::/48")!, natOutgoing: true),
                    ACLPool(cidr: IPPrefix("10.70.0.0/16")!, natOutgoing: false)],
            settings: s)
    }

    /// `nft list table` without handles, one rule per line, sorted within each block's order kept.
    func listing(_ ns: String, _ table: String) throws -> String {
        try Shell.check(["ip", "netns", "exec", ns, "nft", "list", "table", "inet", table])
    }

    @Test func ourBatchListsLikeNftDashF() throws {
        guard Privileged.check("nft lowering equivalence", needs: ["ip", "nft"]) else { return }
        let ns = "twlow" + String(format: "%06x", UInt32.random(in: 0..<0xFFFFFF))
        try Shell.check(["ip", "netns", "add", ns])
        defer { _ = try? Shell.run(["ip", "netns", "del", ns]) }
        let model = try ACLRenderer.render(Self.richInput())
        #expect(model.danglingReferences().isEmpty)

        let acl = NFTablesACL(table: "twlower", socket: try NFTSocket(networkNamespace: "/run/netns/" + ns))
        try acl.apply(model)
        let ours = try listing(ns, "twlower")
        try acl.deleteTable()
        for construct in ["iifname vmap @from-wl", "\"twa1\" : goto fw-twa1", "masquerade", "log prefix", "icmp type",
                          "udp sport != 53", "ct state established,related accept", "meta mark", "ip6 saddr @net6-",
                          "jump pi-other/ns.pol", "flags interval"] {
            #expect(ours.contains(construct), "listing lacks \(construct)")
        }


        let r = try Shell.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], stdin: model.script())
        #expect(r.status == 0, "nft -f failed: \(r.stderr)")
        let theirs = try listing(ns, "twlower")
        let a = ours.split(separator: "\n"), b = theirs.split(separator: "\n")
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) where x != y { Issue.record("ours:   \(x)\nnft -f: \(y)") }
    }
}
