import Foundation

/// A peer of the daemon under test, as the daemon's config sees it.
struct BenchPeer {
    enum Role {
        /// eBGP, sends routes; gets none (import all, export none).
        case feeder
        /// eBGP, gets every route; sends none (import none, export all).
        case monitor
        /// iBGP route-reflector client (import all, export all).
        case rrClient
    }
    let name: String
    let address: String
    let asn: UInt32
    let role: Role
}

/// The daemon's side of a scenario: AS 65000, router ID and listen address 10.77.0.1, every
/// session passive (the bench connects).
struct BenchTopology {
    let label: String
    let peers: [BenchPeer]
    /// Set when the daemon is a route reflector (then every `.rrClient` is its client).
    var clusterID: String? = nil

    static let asn = 65000

    var feeders: [BenchPeer] { peers.filter { $0.role == .feeder } }
    var monitors: [BenchPeer] { peers.filter { $0.role == .monitor } }
    var clients: [BenchPeer] { peers.filter { $0.role == .rrClient } }

    /// Writes the daemon's config into `dir` and returns its command line.
    func command(for daemon: String, dir d: String, twillBgpd: String?) throws -> [String] {
        switch daemon {
        case "twill":
            let bin = twillBgpd ?? "twill-bgpd"
            guard FileManager.default.isExecutableFile(atPath: bin) else { throw BenchError("\(bin) is missing: build twill-bgpd") }
            try twillConfig.write(toFile: "\(d)/twill.yaml", atomically: true, encoding: .utf8)
            return [bin, "-c", "\(d)/twill.yaml"]
        case "bird":
            try birdConfig.write(toFile: "\(d)/bird.conf", atomically: true, encoding: .utf8)
            return ["bird", "-f", "-c", "\(d)/bird.conf", "-s", "\(d)/bird.ctl", "-P", "\(d)/bird.pid"]
        case "gobgp":
            try gobgpConfig.write(toFile: "\(d)/gobgpd.toml", atomically: true, encoding: .utf8)
            return ["gobgpd", "-f", "\(d)/gobgpd.toml", "-t", "toml", "--api-hosts", "127.0.0.1:50051", "--pprof-disable", "-p"]
        case "frr":
            try frrConfig.write(toFile: "\(d)/bgpd.conf", atomically: true, encoding: .utf8)
            return ["/usr/lib/frr/bgpd", "-S", "-Z", "-f", "\(d)/bgpd.conf", "--vty_socket", d, "-i", "\(d)/bgpd.pid", "-P", "0"]
        default:
            throw BenchError("unknown daemon \(daemon)")
        }
    }

    /// twill-bgpd: per-peer import/export; a reflector has `clusterID` and `routeReflectorClient`.
    var twillConfig: String {
        let me = BenchAddr.daemon
        var s = "routerID: \(me)\nasNumber: \(Self.asn)\n"
        if let c = clusterID { s += "clusterID: \(c)\n" }
        s += "listen:\n  address: \(me)\n  port: 179\npeers:\n"
        for p in peers {
            let (imp, exp) = p.role == .feeder ? ("all", "none") : p.role == .monitor ? ("none", "all") : ("all", "all")
            s += "  - name: \(p.name)\n    address: \"\(p.address)\"\n    asNumber: \(p.asn)\n    passive: true\n"
                + "    import: \(imp)\n    export: \(exp)\n"
            if p.role == .rrClient { s += "    routeReflectorClient: true\n" }
        }
        return s
    }

    /// BIRD 2: one template per role; the iBGP clients are on the shared /16 (`direct`: no multihop, no IGP lookup of the next hop).
    var birdConfig: String {
        let me = BenchAddr.daemon
        var s = "router id \(me);\nprotocol device { }\n"
        s += "template bgp feeders { local \(me) as \(Self.asn); passive on; ipv4 { import all; export none; }; }\n"
        s += "template bgp monitors { local \(me) as \(Self.asn); passive on; ipv4 { import none; export all; }; }\n"
        if let c = clusterID {
            s += "template bgp clients { local \(me) as \(Self.asn); passive on; direct; rr client; rr cluster id \(c); "
                + "ipv4 { import all; export all; }; }\n"
        }
        for p in peers {
            let t = p.role == .feeder ? "feeders" : p.role == .monitor ? "monitors" : "clients"
            s += "protocol bgp \(p.name) from \(t) { neighbor \(p.address) as \(p.asn); }\n"
        }
        return s
    }

    /// GoBGP: default policies, except that with several feeders a global export policy keeps
    /// routes away from them (neighbor-set conditions match the destination on export).
    var gobgpConfig: String {
        let me = BenchAddr.daemon
        var s = "[global.config]\n  as = \(Self.asn)\n  router-id = \"\(me)\"\n  local-address-list = [\"\(me)\"]\n"
        let many = feeders.count > 1
        if many {
            s += "[global.apply-policy.config]\n  export-policy-list = [\"not-to-feeders\"]\n  default-export-policy = \"accept-route\"\n"
        }
        for p in peers {
            s += """
            [[neighbors]]
              [neighbors.config]
                neighbor-address = "\(p.address)"
                peer-as = \(p.asn)
              [neighbors.transport.config]
                passive-mode = true
              [[neighbors.afi-safis]]
                [neighbors.afi-safis.config]
                  afi-safi-name = "ipv4-unicast"

            """
            if p.role == .rrClient, let c = clusterID {
                s += "  [neighbors.route-reflector.config]\n    route-reflector-client = true\n    route-reflector-cluster-id = \"\(c)\"\n"
            }
        }
        if many {
            s += "[[defined-sets.neighbor-sets]]\n  neighbor-set-name = \"feeders\"\n  neighbor-info-list = ["
                + feeders.map { "\"\($0.address)\"" }.joined(separator: ", ") + "]\n"
            s += """
            [[policy-definitions]]
              name = "not-to-feeders"
              [[policy-definitions.statements]]
                name = "reject"
                [policy-definitions.statements.conditions.match-neighbor-set]
                  neighbor-set = "feeders"
                [policy-definitions.statements.actions]
                  route-disposition = "reject-route"

            """
        }
        return s
    }

    /// FRR bgpd (no zebra): one feeder/monitor as plain neighbors, several feeders as a
    /// peer-group with nothing sent out, reflector clients as a peer-group.
    var frrConfig: String {
        let me = BenchAddr.daemon
        var s = "frr defaults traditional\nhostname frr-bench\n"
        let fs = feeders, cs = clients
        if fs.count > 1 { s += "route-map NOTHING deny 10\n" }
        s += "router bgp \(Self.asn)\n bgp router-id \(me)\n no bgp ebgp-requires-policy\n no bgp network import-check\n"
        if let c = clusterID { s += " bgp cluster-id \(c)\n" }
        if fs.count > 1 {
            s += " neighbor FEEDERS peer-group\n neighbor FEEDERS remote-as external\n neighbor FEEDERS passive\n"
            for p in fs { s += " neighbor \(p.address) peer-group FEEDERS\n" }
        } else {
            for p in fs { s += " neighbor \(p.address) remote-as \(p.asn)\n neighbor \(p.address) passive\n" }
        }
        for p in monitors {
            s += " neighbor \(p.address) remote-as \(p.asn)\n neighbor \(p.address) passive\n neighbor \(p.address) advertisement-interval 0\n"
        }
        if !cs.isEmpty {
            s += " neighbor MESH peer-group\n neighbor MESH remote-as internal\n neighbor MESH passive\n neighbor MESH advertisement-interval 0\n"
            for p in cs { s += " neighbor \(p.address) peer-group MESH\n" }
        }
        if fs.count > 1 || !cs.isEmpty {
            s += " address-family ipv4 unicast\n"
            if fs.count > 1 { s += "  neighbor FEEDERS route-map NOTHING out\n" }
            if !cs.isEmpty { s += "  neighbor MESH route-reflector-client\n" }
            s += " exit-address-family\n"
        }
        return s
    }
}
