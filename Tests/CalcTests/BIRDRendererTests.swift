import Calc
import Foundation
import NetCore
import NodeModel
import TestSupport
import Testing

/// The text with each line's indentation removed, so expectations can span lines.
private func flat(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        .joined(separator: "\n")
}

@Suite struct BIRDRendererTests {
    static let goldenDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Golden files: `UPDATE_GOLDEN=1 swift test --filter BIRDRendererTests` rewrites them.
    @Test(arguments: BIRDScenarios.all.map(\.0))
    func golden(name: String) throws {
        let snapshot = BIRDScenarios.all.first { $0.0 == name }!.1
        let text = try BIRDScenarios.render(snapshot)
        let file = Self.goldenDir.appendingPathComponent(name + ".bird.conf")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try text.write(to: file, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        #expect(text == expected, "\(name) differs from its golden file; rerun with UPDATE_GOLDEN=1 after checking the diff")
    }

    /// The rendered configuration is valid BIRD 2: `bird -p -c` (parse only) accepts it.
    @Test(arguments: BIRDScenarios.all.map(\.0))
    func birdAcceptsConfiguration(name: String) throws {
        guard Privileged.check("bird -p on rendered \(name)", needs: ["bird"]) else { return }
        let text = try BIRDScenarios.render(BIRDScenarios.all.first { $0.0 == name }!.1)
        let dir = try TempDir("calc-bird")
        defer { dir.cleanup() }
        let path = dir.file("bird.conf")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Shell.run(["bird", "-p", "-c", path])
        #expect(r.status == 0, "bird -p rejected \(name): \(r.stderr)\(r.stdout)")
    }

    /// The `bird -p` check can fail: BIRD 1 syntax (filters outside a channel) is rejected.
    @Test func birdRejectsBIRD1Syntax() throws {
        guard Privileged.check("bird -p negative control", needs: ["bird"]) else { return }
        let dir = try TempDir("calc-bird")
        defer { dir.cleanup() }
        let path = dir.file("bird.conf")
        try "router id 10.0.0.1;\nprotocol bgp x { local as 64512; neighbor 10.0.0.2 as 64512; import all; export none; }\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try Shell.run(["bird", "-p", "-c", path]).status != 0)
    }

    /// Rendering is a function of the state only: object order in the snapshot does not matter.
    @Test func renderingIgnoresObjectOrder() throws {
        var rng = SeededRandom(seed: 42)
        for (_, s) in BIRDScenarios.all {
            let base = try BIRDScenarios.render(s)
            for _ in 0..<5 { #expect(try BIRDScenarios.render(StateSequences.shuffled(s, using: &rng)) == base) }
        }
    }

    /// Facts from confd's own output for the same input,
    /// projectcalico/calico confd/tests/compiled_templates/mesh/ipip-cross-subnet/bird.cfg:
    /// router id 10.192.0.2; `protocol bgp Mesh_10_192_0_3` and `Mesh_10_192_0_6`, both
    /// `neighbor … as 64512`, `source address 10.192.0.2`, `passive on`; direct excludes
    /// cali* and kube-ipvs*; bgp_template has local as 64512 and the connect/error timers; and
    /// (bird_ipam.cfg) the pool 192.168.0.0/16 is exported.
    @Test func matchesConfdMeshIPIPCrossSubnet() throws {
        let text = try BIRDScenarios.render(BIRDScenarios.meshIPIPCrossSubnet)
        let lines = Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for expected in [
            "router id 10.192.0.2;",
            "protocol bgp Mesh_10_192_0_3 from bgp_template {", "neighbor 10.192.0.3 as 64512;",
            "protocol bgp Mesh_10_192_0_6 from bgp_template {", "neighbor 10.192.0.6 as 64512;",
            "source address 10.192.0.2;",
            "interface -\"cali*\", -\"kube-ipvs*\", \"*\";",
            "local as 64512;", "connect delay time 2;", "connect retry time 5;", "error wait time 5,30;",
            "if ( net.type = NET_IP4 && net ~ 192.168.0.0/16 ) then { accept; }",
        ] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
        #expect(text.components(separatedBy: "passive on;").count - 1 == 2)
        #expect(!text.contains("Mesh_10_192_0_2"))
    }

    /// confd's bgpfilter/single_filter/explicit_peer/bird.cfg: `Node_10_192_0_3` (as 64517,
    /// `ttl security off; multihop;`) calls 'bgp_test-filter-1_importFilterV4' then accepts, and
    /// 'bgp_test-filter-1_exportFilterV4' then calico_export_to_bgp_peers, then rejects; the
    /// functions accept 44.0.0.0/16 / 77.0.0.0/16 and reject 44.1.0.0/16 / 77.1.0.0/16.
    @Test func matchesConfdSingleFilterExplicitPeer() throws {
        let text = flat(try BIRDScenarios.render(BIRDScenarios.singleFilterExplicitPeer))
        for expected in [
            "protocol bgp Node_10_192_0_3 from bgp_template {", "neighbor 10.192.0.3 as 64517;",
            "protocol bgp Node_10_192_0_4 from bgp_template {", "neighbor 10.192.0.4 as 64517;",
            "ttl security off;\nmultihop;",
            "function 'bgp_test-filter-1_importFilterV4'(bool internal_peer) {\nif ( (net ~ 44.0.0.0/16) ) then { accept; }\nif ( (net ~ 44.1.0.0/16) ) then { reject; }\n}",
            "function 'bgp_test-filter-1_exportFilterV4'(bool internal_peer) {\nif ( (net ~ 77.0.0.0/16) ) then { accept; }\nif ( (net ~ 77.1.0.0/16) ) then { reject; }\n}",
            "'bgp_test-filter-1_exportFilterV4'(false);\ncalico_export_to_bgp_peers(false);\nreject;",
            "'bgp_test-filter-2_importFilterV4'(false);",
        ] {
            #expect(text.contains(expected), "missing: \(expected)")
        }
        #expect(!text.contains("Mesh_"))
        // 10.192.0.3 is kube-node-1, but in another AS than the BGPPeer says: it will not peer
        // back, so (as in confd's output) no passive tie-break.
        #expect(!text.contains("passive on"))
    }

    @Test func peerOptionsRendered() throws {
        let text = flat(try BIRDScenarios.render(BIRDScenarios.explicitPeersAllOptions))
        for expected in [
            "password \"s3cret-tor\";", "keepalive time 10;", "graceful restart time 300;", "next hop self;",
            "allow local as 2;", "route 10.0.0.1/32 via 10.0.0.254;", "neighbor fd00::1 port 1790 as 65000;",
            "ttl security on;\nmultihop 1;", "next hop keep;",
            "graceful restart time 4095;\nkeepalive time 300;\nhold time 900;",  // clamped / raised for BIRD "local as 65111;", "# password: secret missing/k not available",
            "local port 1790 as 65010;", "# bindMode NodeIP: not applied to IPv4 peers, one of them has sourceAddress None",
            "interface -\"docker*\", -\"virbr0\", -\"cali*\", -\"kube-ipvs*\", \"*\";",
            "debug all;", "route 10.244.7.0/26 blackhole;", "route fd00:244:0:7::/122 blackhole;", "route 10.96.0.0/12 blackhole;",
            "bgp_community.add((65000,100)); bgp_large_community.add((65000,1,2));",
        ] {
            #expect(text.contains(expected), "missing: \(expected)")
        }
        #expect(!text.contains("route 10.244.9.9/32 blackhole"))   // /32 blocks get no blackhole
        #expect(!text.contains("10.244.8.0/26"))                    // pending affinity
        // The spine peer has sourceAddress None: no source address line in its protocol.
        let spine = text.components(separatedBy: "protocol bgp Node_192_168_50_1")[1].components(separatedBy: "\n}\n")[0]
        #expect(!spine.contains("source address"))
        // v6 peers all have a source address: strictly bound; v4 ones are not.
        let v6 = text.components(separatedBy: "protocol bgp Global_fd00__1_port_1790")[1].components(separatedBy: "\n}\n")[0]
        #expect(v6.contains("strict bind on;"))
        let v4 = text.components(separatedBy: "protocol bgp Global_10_0_0_1 ")[1].components(separatedBy: "\n}\n")[0]
        #expect(!v4.contains("strict bind on;"))
    }

    @Test func longFilterNamesAreTruncatedWithAHash() {
        let long = "a-very-long-bgp-filter-name-that-does-not-fit-in-birds-symbol-limit"
        let n1 = BIRDRenderer.filterFunctionName(long, .export, .v4)
        let n2 = BIRDRenderer.filterFunctionName(long + "x", .export, .v4)
        #expect(n1.utf8.count <= BIRDRenderer.maxSymbolLength && n1.hasPrefix("bgp_a-very-long") && n1.hasSuffix("_exportFilterV4"))
        #expect(n1 != n2)
        #expect(BIRDRenderer.filterFunctionName("short", .import, .v6) == "bgp_short_importFilterV6")
    }

    @Test func passwordsBIRDCannotExpressAreAnError() {
        var s = BIRDScenarios.explicitPeersAllOptions
        s.bgpPeers = [s.bgpPeers[0]]
        guard let input = BIRDConfigInput(s, passwords: [PasswordRef(secretName: "bgp-secrets", key: "tor"): "bad\"pw"]) else {
            Issue.record("no local node"); return
        }
        #expect(throws: BIRDRenderError.self) { try BIRDRenderer.render(input) }
    }

    @Test func inputsBIRDCannotTakeAreErrorsNamingTheField() throws {
        var s = BIRDScenarios.meshIPIPCrossSubnet
        s.bgpConfigurations = [F.config { $0.ignoredInterfaces = ["eth\"0"] }]
        #expect(throws: BIRDRenderError.invalidField(field: "BGPConfiguration.spec.ignoredInterfaces", reason: "\"eth\"0\" holds a quote or newline")) {
            try BIRDScenarios.render(s)
        }
        s = BIRDScenarios.meshIPIPCrossSubnet
        s.nodes[0].spec.bgp?.routeReflectorClusterID = "not-an-ip"
        #expect(throws: BIRDRenderError.self) { try BIRDScenarios.render(s) }
    }

    @Test func routerIDHashedForIPv6OnlyNodes() throws {
        let text = try BIRDScenarios.render(BIRDScenarios.ipv6Only)
        let id = BIRDRenderer.routerID(for: BIRDScenarios.ipv6Only.localNode!)
        #expect(IPv4Address(id) != nil && text.contains("router id \(id);"))
        #expect(!text.contains("kernel4") && text.contains("protocol kernel kernel6"))
    }
}
