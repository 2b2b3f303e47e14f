import Foundation
import TestSupport

/// BIRD 2 (`bird -f`), one protocol per family, controlled with `birdc`.
struct BirdPeer: PeerDaemon {
    let name = "bird"
    private(set) var process: TestProcess?
    private var ctl = ""
    /// RFC 5082 on BIRD's side (`ttl security on`).
    var ttlSecurity = false

    mutating func start(lab: Lab, twillAS: String, passive: Bool, password: String?) throws {
        ctl = lab.dir.file("bird.ctl")
        let pw = password.map { "password \"\($0)\";" } ?? ""
        let conf = """
        router id 10.213.0.2;
        protocol device { }
        protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; }
        protocol static s6 { ipv6; route 2001:db8:2::/48 blackhole; }
        template bgp tw {
          hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;
          passive \(passive ? "on" : "off"); \(pw) \(ttlSecurity ? "ttl security on;" : "")
        }
        protocol bgp tw4 from tw { local 10.213.0.2 as 65002; neighbor 10.213.0.1 as \(twillAS); ipv4 { import all; export all; }; }
        protocol bgp tw6 from tw { local fd00:213::2 as 65002; neighbor fd00:213::1 as \(twillAS); ipv6 { import all; export all; }; }
        """
        try conf.write(toFile: lab.dir.file("bird.conf"), atomically: true, encoding: .utf8)
        process = try lab.spawn(in: lab.peerNS, ["bird", "-f", "-c", lab.dir.file("bird.conf"), "-s", ctl,
                                                 "-P", lab.dir.file("bird.pid")], log: "bird.log")
    }

    private func birdc(_ args: [String]) -> String {
        (try? Shell.run(["birdc", "-s", ctl] + args, timeout: 5).stdout) ?? ""
    }

    func established(lab: Lab, _ twillAddress: String) -> Bool {
        birdc(["show", "protocols", twillAddress.contains(":") ? "tw6" : "tw4"]).contains("Established")
    }

    func route(lab: Lab, _ prefix: String) -> PeerRoute? {
        let out = birdc(["show", "route", prefix, "all"])
        func field(_ key: String) -> String? {
            out.split(separator: "\n").first { $0.contains(key) }.map {
                String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
            }
        }
        guard out.contains(prefix), let nh = field("BGP.next_hop:"), let path = field("BGP.as_path:") else { return nil }
        return PeerRoute(nextHop: String(nh.split(separator: " ")[0]), asPath: path)
    }

    func withdrawOwnIPv4(lab: Lab) { _ = birdc(["disable", "s4"]) }
}

/// FRR's bgpd alone (`-Z`: no zebra), with its own config, pid and vty socket directory.
struct FRRPeer: PeerDaemon {
    let name = "frr"
    private(set) var process: TestProcess?
    private var vty = ""

    mutating func start(lab: Lab, twillAS: String, passive: Bool, password: String?) throws {
        vty = lab.dir.file("frr")
        try FileManager.default.createDirectory(atPath: vty, withIntermediateDirectories: true)
        var neighbors = ""
        for addr in [Lab.twV4, Lab.twV6] {
            neighbors += " neighbor \(addr) remote-as \(twillAS)\n neighbor \(addr) timers 1 3\n neighbor \(addr) timers connect 1\n"
            if passive { neighbors += " neighbor \(addr) passive\n" }
            if let password { neighbors += " neighbor \(addr) password \(password)\n" }
        }
        let conf = """
        frr defaults traditional
        hostname frr-twill
        log file \(vty)/bgpd.log
        router bgp 65002
         bgp router-id 10.213.0.2
         no bgp ebgp-requires-policy
         no bgp network import-check
         no bgp default ipv4-unicast
        \(neighbors) address-family ipv4 unicast
          network 192.0.2.0/24
          neighbor \(Lab.twV4) activate
         exit-address-family
         address-family ipv6 unicast
          network 2001:db8:2::/48
          neighbor \(Lab.twV6) activate
         exit-address-family

        """
        try conf.write(toFile: "\(vty)/bgpd.conf", atomically: true, encoding: .utf8)
        process = try lab.spawn(in: lab.peerNS, ["/usr/lib/frr/bgpd", "-S", "-Z", "-f", "\(vty)/bgpd.conf",
                                                 "--vty_socket", vty, "-i", "\(vty)/bgpd.pid", "-P", "0"], log: "frr.log")
    }

    private func vtysh(_ cmds: [String]) -> String {
        (try? Shell.run(["vtysh", "--vty_socket", vty] + cmds.flatMap { ["-c", $0] }, timeout: 5).stdout) ?? ""
    }

    private func json(_ cmd: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(vtysh([cmd]).utf8))) as? [String: Any] ?? [:]
    }

    func established(lab: Lab, _ twillAddress: String) -> Bool {
        (json("show bgp neighbors \(twillAddress) json")[twillAddress] as? [String: Any])?["bgpState"] as? String == "Established"
    }

    func route(lab: Lab, _ prefix: String) -> PeerRoute? {
        let afi = prefix.contains(":") ? "ipv6" : "ipv4"
        guard let paths = json("show bgp \(afi) unicast \(prefix) json")["paths"] as? [[String: Any]],
              let p = paths.first,
              let path = (p["aspath"] as? [String: Any])?["string"] as? String,
              let nh = (p["nexthops"] as? [[String: Any]])?.first?["ip"] as? String
        else { return nil }
        return PeerRoute(nextHop: nh, asPath: path)
    }

    func withdrawOwnIPv4(lab: Lab) {
        _ = vtysh(["configure terminal", "router bgp 65002", "address-family ipv4 unicast", "no network 192.0.2.0/24"])
    }
}

/// GoBGP 3 (`gobgpd`), routes injected and read with the `gobgp` CLI inside the namespace.
struct GoBGPPeer: PeerDaemon {
    let name = "gobgp"
    private(set) var process: TestProcess?

    mutating func start(lab: Lab, twillAS: String, passive: Bool, password: String?) throws {
        var conf = """
        [global.config]
          as = 65002
          router-id = "10.213.0.2"

        """
        for (addr, afi) in [(Lab.twV4, "ipv4-unicast"), (Lab.twV6, "ipv6-unicast")] {
            conf += """
            [[neighbors]]
              [neighbors.config]
                neighbor-address = "\(addr)"
                peer-as = \(twillAS)
                \(password.map { "auth-password = \"\($0)\"" } ?? "")
              [neighbors.transport.config]
                passive-mode = \(passive)
              [neighbors.timers.config]
                hold-time = 3
                keepalive-interval = 1
                connect-retry = 1
                idle-hold-time-after-reset = 1
              [[neighbors.afi-safis]]
                [neighbors.afi-safis.config]
                  afi-safi-name = "\(afi)"

            """
        }
        try conf.write(toFile: lab.dir.file("gobgpd.toml"), atomically: true, encoding: .utf8)
        process = try lab.spawn(in: lab.peerNS, ["gobgpd", "-f", lab.dir.file("gobgpd.toml"), "-t", "toml",
                                                 "--api-hosts", "127.0.0.1:50051", "--pprof-disable", "-p"], log: "gobgpd.log")
        // The gRPC API comes up a moment after start; then inject our routes.
        _ = eventually(timeout: 10) { lab.exec(in: lab.peerNS, ["gobgp", "global"]).contains("AS") }
        _ = lab.exec(in: lab.peerNS, ["gobgp", "global", "rib", "add", "-a", "ipv4", "192.0.2.0/24"])
        _ = lab.exec(in: lab.peerNS, ["gobgp", "global", "rib", "add", "-a", "ipv6", "2001:db8:2::/48"])
    }

    private func json(lab: Lab, _ args: [String]) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(lab.exec(in: lab.peerNS, ["gobgp"] + args + ["-j"]).utf8))
    }

    func established(lab: Lab, _ twillAddress: String) -> Bool {
        guard let n = json(lab: lab, ["neighbor", twillAddress]) as? [String: Any],
              let st = (n["state"] as? [String: Any])?["session_state"] else { return false }
        return "\(st)" == "6" || "\(st)".lowercased() == "established"
    }

    func route(lab: Lab, _ prefix: String) -> PeerRoute? {
        let afi = prefix.contains(":") ? "ipv6" : "ipv4"
        guard let rib = json(lab: lab, ["global", "rib", "-a", afi, prefix]) as? [String: Any],
              let dests = rib[prefix] as? [[String: Any]], let d = dests.first,
              let attrs = d["attrs"] as? [[String: Any]]
        else { return nil }
        var nh: String?, path: String?
        for a in attrs {
            switch a["type"] as? Int {
            case 2:
                let segs = a["as_paths"] as? [[String: Any]] ?? []
                path = segs.flatMap { ($0["asns"] as? [Any] ?? []).map { "\($0)" } }.joined(separator: " ")
            case 3, 14: nh = a["nexthop"] as? String
            default: break
            }
        }
        guard let nh, let path else { return nil }
        return PeerRoute(nextHop: nh, asPath: path)
    }

    func withdrawOwnIPv4(lab: Lab) {
        _ = lab.exec(in: lab.peerNS, ["gobgp", "global", "rib", "del", "-a", "ipv4", "192.0.2.0/24"])
    }
}
