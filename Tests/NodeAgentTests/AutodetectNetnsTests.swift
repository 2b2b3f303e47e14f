import Dispatch
import Foundation
import NetCore
import TestSupport
import Testing
@testable import NodeAgent

/// Each method against the real kernel: a fresh namespace with veth interfaces (the dummy
/// module is not always available) named like host NICs, a docker bridge and workload veths.
@Suite(.serialized) struct AutodetectNetnsTests {
    @Test func everyMethodAgainstTheKernel() throws {
        guard Privileged.check("autodetection in a netns", needs: ["ip"]) else { return }
        let ns = "twad-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try Shell.check(["ip", "netns", "add", ns])
        defer { _ = try? Shell.run(["ip", "netns", "del", ns]) }
        func ip(_ args: String) throws { try Shell.check(["ip", "-n", ns] + args.split(separator: " ").map(String.init)) }
        try ip("link set lo up")
        try ip("link add ens7 mtu 1400 type veth peer name veth7a")
        try ip("link set veth7a up")
        try ip("addr add 10.77.1.5/24 dev ens7")
        try ip("addr add fd77::5/64 dev ens7 nodad")
        try ip("link set ens7 up")
        try ip("link add ens9 mtu 9000 type veth peer name veth9a")
        try ip("link set veth9a up")
        try ip("addr add 169.254.9.9/16 dev ens9")
        try ip("addr add 192.168.77.9/20 dev ens9")
        try ip("link set ens9 up")
        try ip("link add docker0 type veth peer name veth0d")
        try ip("link set veth0d up")
        try ip("addr add 172.17.0.1/16 dev docker0")
        try ip("link set docker0 up")
        try ip("link add tw0abc1234567 type veth peer name veth77")
        try ip("addr add 10.77.200.1/32 dev tw0abc1234567")
        try ip("addr add 10.77.201.1/24 dev veth77")
        try ip("link set tw0abc1234567 up")
        try ip("link set veth77 up")
        try ip("route add default via 10.77.1.1 dev ens7")

        let r = try Netns.run(ns) { () throws -> [String: DetectedAddress] in
            var out: [String: DetectedAddress] = [:]
            for text in ["first-found", "interface=ens7", "interface=^e.*7$,nothing", "skip-interface=ens9",
                         "cidr=10.77.0.0/16", "can-reach=10.77.1.1", "can-reach=192.168.64.1", "can-reach=203.0.113.1",
                         "can-reach=localhost", "interface=docker.*"] {
                out[text] = try Autodetect.detect(try AutodetectMethod(parsing: text), family: .v4)
            }
            out["v6 first-found"] = try Autodetect.detect(.firstFound, family: .v6)
            out["v6 cidr"] = try Autodetect.detect(.cidr([IPPrefix("fd77::/16")!]), family: .v6)
            out["holding"] = try Autodetect.interfaceHolding(IPAddress("10.77.1.5")!)
            return out
        }
        let ens7 = DetectedAddress(interface: "ens7", address: IPAddress("10.77.1.5")!, prefixLength: 24, mtu: 1400)
        let ens9 = DetectedAddress(interface: "ens9", address: IPAddress("192.168.77.9")!, prefixLength: 20, mtu: 9000)
        // ens9 has the higher ifindex; docker0, the tw* veth and veth* are excluded; 169.254/16 skipped.
        #expect(r["first-found"] == ens9)
        #expect(r["interface=ens7"] == ens7)
        #expect(r["interface=^e.*7$,nothing"] == ens7)
        #expect(r["skip-interface=ens9"] == ens7)
        // cidr= has no interface exclusions (as in Calico): the tw* veth (highest index) holds 10.77.200.1.
        #expect(r["cidr=10.77.0.0/16"]?.address == IPAddress("10.77.201.1")! || r["cidr=10.77.0.0/16"]?.address == IPAddress("10.77.200.1")!)
        #expect(r["can-reach=10.77.1.1"] == ens7)
        #expect(r["can-reach=192.168.64.1"] == ens9)
        #expect(r["can-reach=203.0.113.1"] == ens7, "off-link destinations go by the default route")
        #expect(r["can-reach=localhost"]?.interface == "lo")
        #expect(r["interface=docker.*"] == DetectedAddress(interface: "docker0", address: IPAddress("172.17.0.1")!, prefixLength: 16, mtu: 1500))
        #expect(r["v6 first-found"] == DetectedAddress(interface: "ens7", address: IPAddress("fd77::5")!, prefixLength: 64, mtu: 1400))
        #expect(r["v6 cidr"]?.address == IPAddress("fd77::5")!)
        #expect(r["holding"] == ens7)

        let details = try Netns.run(ns) { () throws -> [String] in
            let i = try Autodetect.interface(named: "ens9")
            return ["\(i.mtu)"] + i.addresses.map { "\($0.0)/\($0.1)" }
        }
        #expect(details.first == "9000")
        #expect(details.contains("192.168.77.9/20") && details.contains("169.254.9.9/16"))

        // Failures name the method and the reason.
        let failures = try Netns.run(ns) { () -> [String] in
            var out: [String] = []
            for m: AutodetectMethod in [.interface(regexes: ["^wlan"]), .cidr([IPPrefix("203.0.113.0/24")!])] {
                do { _ = try Autodetect.detect(m, family: .v4); out.append("accepted \(m)") } catch { out.append("\(error)") }
            }
            do { _ = try Autodetect.detect(.canReach("10.77.1.1"), family: .v6); out.append("accepted v6 reach") } catch {
                out.append("\(error)")
            }
            do { _ = try Autodetect.interfaceHolding(IPAddress("10.77.1.6")!); out.append("accepted holding") } catch {
                out.append("\(error)")
            }
            do { _ = try Autodetect.interface(named: "nosuch0"); out.append("accepted nosuch0") } catch { out.append("\(error)") }
            return out
        }
        #expect(failures[0] == "IP autodetection method \"interface=^wlan\": no valid host interfaces found")
        #expect(failures[1].contains("cidr=203.0.113.0/24") && failures[1].contains("no valid IPv4 addresses"))
        #expect(failures[2].contains("can-reach=10.77.1.1") && failures[2].contains("cannot resolve"))
        #expect(failures[3].contains("10.77.1.6 is not configured on any local interface"))
        #expect(failures[4].contains("no interface named \"nosuch0\""))
    }
}
