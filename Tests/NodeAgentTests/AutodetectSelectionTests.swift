import NetCore
import Testing
@testable import NodeAgent

private func ip(_ s: String) -> IPAddress { IPAddress(s)! }
private func iface(_ name: String, _ index: Int, mtu: Int = 1500, _ addrs: [(String, Int)]) -> HostInterface {
    HostInterface(name: name, index: index, mtu: mtu, addresses: addrs.map { InterfaceAddressEntry(ip($0.0), prefixLength: $0.1) })
}

@Suite struct AutodetectMethodParsingTests {
    @Test func parsesCalicoSpellings() throws {
        #expect(try AutodetectMethod(parsing: "first-found") == .firstFound)
        #expect(try AutodetectMethod(parsing: "") == .firstFound)
        #expect(try AutodetectMethod(parsing: "interface=eth.*,ens.*") == .interface(regexes: ["eth.*", "ens.*"]))
        #expect(try AutodetectMethod(parsing: "interface=eth0 , ens3") == .interface(regexes: ["eth0", "ens3"]))
        #expect(try AutodetectMethod(parsing: "skip-interface=enp6s0f0,eth.*") == .skipInterface(regexes: ["enp6s0f0", "eth.*"]))
        #expect(try AutodetectMethod(parsing: "can-reach=8.8.8.8") == .canReach("8.8.8.8"))
        #expect(try AutodetectMethod(parsing: "can-reach=www.example.com") == .canReach("www.example.com"))
        #expect(try AutodetectMethod(parsing: "can-reach=2001:4860:4860::8888") == .canReach("2001:4860:4860::8888"))
        #expect(try AutodetectMethod(parsing: "cidr=10.0.0.0/8, 192.168.0.0/16")
                == .cidr([IPPrefix("10.0.0.0/8")!, IPPrefix("192.168.0.0/16")!]))
        // Go's net.ParseCIDR masks host bits; so do we.
        #expect(try AutodetectMethod(parsing: "cidr=10.1.2.3/16") == .cidr([IPPrefix("10.1.0.0/16")!]))
        #expect(try AutodetectMethod(parsing: "cidr=fd00::/8") == .cidr([IPPrefix("fd00::/8")!]))
    }

    @Test func roundTripsThroughDescription() throws {
        for text in ["first-found", "interface=eth.*,ens.*", "skip-interface=eth1", "can-reach=10.0.0.1", "cidr=10.0.0.0/8,fd00::/8"] {
            #expect(try AutodetectMethod(parsing: text).description == text)
        }
    }

    @Test(arguments: [
        ("bogus", "unknown method"),
        ("nope=1", "unknown method \"nope\""),
        ("interface=", "at least one interface regex"),
        ("interface=eth(", "invalid interface regex \"eth(\""),
        ("skip-interface=[a-", "invalid interface regex"),
        ("can-reach=", "a destination address or hostname is required"),
        ("can-reach=10.0.0.0/8", "is not an IP address or hostname"),
        ("cidr=", "at least one CIDR"),
        ("cidr=10.0.0.0", "invalid CIDR"),
        ("cidr=10.0.0.0/33", "invalid CIDR"),
        ("kubernetes-internal-ip", "not supported"),
    ])
    func rejectsWithMethodAndReason(text: String, reason: String) {
        do {
            _ = try AutodetectMethod(parsing: text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains("\"\(text)\""), "error names the method: \(error)")
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }
}

@Suite struct AutodetectSelectionTests {
    /// ifindex order as the kernel lists it; Calico walks it backwards.
    let host: [HostInterface] = [
        iface("lo", 1, mtu: 65536, [("127.0.0.1", 8), ("::1", 128)]),
        iface("eth0", 2, [("10.0.0.5", 24), ("fe80::1", 64), ("fd00::5", 64)]),
        iface("eth1", 3, mtu: 9000, [("169.254.1.1", 16), ("192.168.7.9", 20)]),
        iface("docker0", 4, [("172.17.0.1", 16)]),
        iface("cali12345", 5, [("169.254.1.1", 32)]),
        iface("tw0a1b2c3d4e5", 6, [("10.244.0.1", 32)]),
        iface("vxlan.twill", 7, mtu: 1450, [("10.244.0.0", 32)]),
        iface("vxlan-v6.twill", 8, mtu: 1430, [("fd10::", 128)]),
        iface("br-0123abcd", 9, [("172.18.0.1", 16)]),
        iface("dummy0", 10, [("10.99.0.1", 24)]),
        iface("kube-ipvs0", 11, [("10.96.0.1", 32)]),
        iface("tunl0", 12, [("10.244.0.2", 32)]),
    ]

    @Test func firstFoundWalksInterfacesInReverseIndexOrderSkippingExclusionsAndLinkLocal() throws {
        let d = try Autodetect.select(.firstFound, family: .v4, from: host)
        // eth1 (index 3) comes before eth0 (index 2); its link-local address is skipped.
        #expect(d == DetectedAddress(interface: "eth1", address: ip("192.168.7.9"), prefixLength: 20, mtu: 9000))
        #expect(d.cidr == "192.168.7.9/20")
        let v6 = try Autodetect.select(.firstFound, family: .v6, from: host)
        #expect(v6 == DetectedAddress(interface: "eth0", address: ip("fd00::5"), prefixLength: 64, mtu: 1500))
    }

    @Test func firstFoundNeverPicksExcludedDevices() throws {
        for excluded in host where excluded.name != "eth0" && excluded.name != "eth1" {
            let only = [excluded]
            #expect(throws: AutodetectError.self, "\(excluded.name) must be excluded") {
                try Autodetect.select(.firstFound, family: .v4, from: only)
            }
        }
        for name in ["veth123", "virbr0", "lxcbr0", "flannel.1", "cni0", "vxlan.calico", "wireguard.cali", "wg-v6.cali",
                     "nodelocaldns", "podman0", "cbr0", "twabc"] {
            let only = [iface(name, 20, [("10.1.1.1", 24)])]
            #expect(throws: AutodetectError.self, "\(name) must be excluded") { try Autodetect.select(.firstFound, family: .v4, from: only) }
        }
        // Names that merely resemble an exclusion are fine ("^tw[0-9a-f]" is not "^tw").
        let ok = [iface("twilight", 20, [("10.1.1.1", 24)]), iface("ens3", 21, [("10.2.2.2", 24)])]
        #expect(try Autodetect.select(.firstFound, family: .v4, from: [ok[0]]).interface == "twilight")
        #expect(try Autodetect.select(.firstFound, family: .v4, from: ok).interface == "ens3")
    }

    @Test func interfaceRegexIsAnUnanchoredSearchLikeGo() throws {
        let d = try Autodetect.select(.interface(regexes: ["eth0"]), family: .v4, from: host)
        #expect(d.interface == "eth0" && d.address == ip("10.0.0.5") && d.prefixLength == 24)
        // interface= has no default exclusions: it may pick docker0 when asked to.
        #expect(try Autodetect.select(.interface(regexes: ["^docker"]), family: .v4, from: host).address == ip("172.17.0.1"))
        // Several regexes: any matches; reverse index order still decides.
        #expect(try Autodetect.select(.interface(regexes: ["eth0", "eth1"]), family: .v4, from: host).interface == "eth1")
        // "th" matches eth0 and eth1 anywhere in the name, as Go's MatchString does.
        #expect(try Autodetect.select(.interface(regexes: ["th"]), family: .v4, from: host).interface == "eth1")
    }

    @Test func skipInterfaceAddsToTheDefaults() throws {
        let d = try Autodetect.select(.skipInterface(regexes: ["eth1"]), family: .v4, from: host)
        #expect(d.interface == "eth0")
        #expect(throws: AutodetectError.self) {
            try Autodetect.select(.skipInterface(regexes: ["eth.*"]), family: .v4, from: host)
        }
    }

    @Test func cidrPicksTheFirstAddressInside() throws {
        let d = try Autodetect.select(.cidr([IPPrefix("10.0.0.0/8")!]), family: .v4, from: host)
        // tunl0 (10.244.0.2) has the highest index, and cidr= has no interface exclusions, as in Calico.
        #expect(d.interface == "tunl0")
        let e = try Autodetect.select(.cidr([IPPrefix("10.0.0.0/24")!]), family: .v4, from: host)
        #expect(e == DetectedAddress(interface: "eth0", address: ip("10.0.0.5"), prefixLength: 24, mtu: 1500))
        do {
            _ = try Autodetect.select(.cidr([IPPrefix("203.0.113.0/24")!]), family: .v4, from: host)
            Issue.record("no address is inside 203.0.113.0/24")
        } catch {
            #expect(error.reason.contains("203.0.113.0/24"))
            #expect(error.method == "cidr=203.0.113.0/24")
        }
    }

    @Test func canReachMapsTheSourceAddressToItsInterface() throws {
        let d = try Autodetect.select(.canReach("10.0.0.1"), family: .v4, from: host, reachSource: ip("10.0.0.5"))
        #expect(d == DetectedAddress(interface: "eth0", address: ip("10.0.0.5"), prefixLength: 24, mtu: 1500))
        #expect(throws: AutodetectError.self) {
            try Autodetect.select(.canReach("10.0.0.1"), family: .v4, from: host, reachSource: ip("10.9.9.9"))
        }
        #expect(throws: AutodetectError.self) {
            try Autodetect.select(.canReach("10.0.0.1"), family: .v6, from: host, reachSource: ip("10.0.0.5"))
        }
    }

    @Test func emptyHostsAndMissingFamiliesGiveClearErrors() {
        do {
            _ = try Autodetect.select(.interface(regexes: ["^ens"]), family: .v4, from: host)
            Issue.record("no ens interface")
        } catch { #expect(error.reason == "no valid host interfaces found") }
        do {
            _ = try Autodetect.select(.interface(regexes: ["^lo$"]), family: .v4, from: host)
            Issue.record("loopback addresses are never picked")
        } catch { #expect(error.reason == "no valid IPv4 addresses found on the host interfaces") }
    }

    @Test func holdingFindsAnExactAddressOnAnyInterface() {
        #expect(Autodetect.holding(ip("172.17.0.1"), in: host)?.interface == "docker0")
        #expect(Autodetect.holding(ip("fd00::5"), in: host)?.prefixLength == 64)
        #expect(Autodetect.holding(ip("10.0.0.6"), in: host) == nil)
    }

    @Test func globalUnicastMatchesGo() {
        for s in ["10.0.0.1", "192.168.1.1", "8.8.8.8", "fd00::1", "2001:db8::1", "100.64.0.1"] {
            #expect(Autodetect.isGlobalUnicast(ip(s)), "\(s)")
        }
        for s in ["0.0.0.0", "127.0.0.1", "127.255.0.1", "169.254.3.4", "224.0.0.5", "239.1.1.1", "255.255.255.255",
                  "::", "::1", "fe80::1", "febf::1", "ff02::1", "::ffff:127.0.0.1"] {
            #expect(!Autodetect.isGlobalUnicast(ip(s)), "\(s)")
        }
    }
}
