import BGPSpeaker
import NetCore
import Testing

@Suite struct ConfigTests {
    static let full = """
    routerID: 10.0.0.1
    asNumber: 1.10
    listen: {address: "::", port: 1179}
    controlSocket: /run/twill-bgpd.sock
    peers:
      - name: tor
        address: 10.0.0.2
        asNumber: 4200000001
        password: s3cret
        holdTime: 1m30s
        keepaliveTime: 30s
        multihop: true
        ttlSecurity: false
        import: all
        export: none
        gracefulRestartTime: 5m
      - address: "fd00::2"
        asNumber: 65536
        passive: true
        multihop: 3
        addressFamilies: [ipv6, ipv4]
    announce:
      - prefix: 192.0.2.0/24
      - {prefix: "2001:db8::/32", nextHop: "fd00::1"}
    """

    @Test func parsesEveryField() throws {
        let c = try SpeakerConfig(yaml: Self.full)
        #expect(c.routerID == IPv4Address(10, 0, 0, 1))
        #expect(c.asNumber == ASNumber(65546))
        #expect(c.listen == ListenConfig(address: IPAddress("::"), port: 1179))
        #expect(c.controlSocket == "/run/twill-bgpd.sock")
        #expect(c.peers.count == 2)
        let tor = c.peers[0]
        #expect(tor.name == "tor" && tor.asNumber.value == 4_200_000_001 && tor.password == "s3cret")
        #expect(tor.holdTime == CalicoDuration(seconds: 90) && tor.keepaliveTime == CalicoDuration(seconds: 30))
        #expect(tor.multihop == 255 && tor.outgoingTTL(localAS: c.asNumber) == 255)
        #expect(tor.effectiveImport(localAS: c.asNumber) == .all && tor.effectiveExport(localAS: c.asNumber) == .none)
        #expect(tor.addressFamilies == [.ipv4])
        #expect(tor.gracefulRestartTime == CalicoDuration(seconds: 300))
        let v6 = c.peers[1]
        #expect(v6.name == "fd00::2" && v6.passive && v6.multihop == 3 && v6.addressFamilies == [.ipv4, .ipv6])
        // RFC 8212: eBGP without explicit policy exchanges nothing.
        #expect(v6.effectiveImport(localAS: c.asNumber) == .none && v6.effectiveExport(localAS: c.asNumber) == .none)
        #expect(c.announce == [Announcement(prefix: IPPrefix("192.0.2.0/24")!),
                               Announcement(prefix: IPPrefix("2001:db8::/32")!, nextHop: IPAddress("fd00::1"))])
    }

    @Test func defaults() throws {
        let c = try SpeakerConfig(yaml: "routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 65000}]")
        #expect(c.listen == ListenConfig())
        let p = c.peers[0]
        #expect(p.port == 179 && !p.passive && p.holdTime == CalicoDuration(seconds: 90))
        #expect(p.effectiveKeepalive == CalicoDuration(seconds: 30))
        #expect(p.outgoingTTL(localAS: c.asNumber) == nil)  // iBGP: system default TTL
        #expect(p.effectiveImport(localAS: c.asNumber) == .all && p.effectiveExport(localAS: c.asNumber) == .all)
        #expect(p.gracefulRestartTime == CalicoDuration(seconds: 120))  // BIRD's and Calico's default
        #expect(!c.restarting)
    }

    @Test func gracefulRestartTimeForms() throws {
        let c = try SpeakerConfig(yaml: """
        routerID: 1.1.1.1
        asNumber: 65000
        peers:
          - {address: 1.1.1.2, asNumber: 65000, gracefulRestartTime: false}
          - {address: 1.1.1.3, asNumber: 65000, gracefulRestartTime: true}
          - {address: 1.1.1.4, asNumber: 65000, gracefulRestartTime: 0}
          - {address: 1.1.1.5, asNumber: 65000, gracefulRestartTime: 4095}
          - {address: 1.1.1.6, asNumber: 65000, gracefulRestartTime: 1m}
        """)
        #expect(c.peers.map(\.gracefulRestartTime) == [nil, .init(seconds: 120), .init(seconds: 0), .init(seconds: 4095),
                                                        .init(seconds: 60)])
    }

    @Test func ebgpDirectTTLAndGTSM() throws {
        let c = try SpeakerConfig(yaml: """
        routerID: 1.1.1.1
        asNumber: 65000
        peers:
          - {address: 1.1.1.2, asNumber: 65001}
          - {address: 1.1.1.3, asNumber: 65001, ttlSecurity: true}
          - {address: 1.1.1.4, asNumber: 65001, ttlSecurity: true, multihop: 2}
        """)
        #expect(c.peers[0].outgoingTTL(localAS: c.asNumber) == 1 && c.peers[0].minimumTTL == nil)
        #expect(c.peers[1].outgoingTTL(localAS: c.asNumber) == 255 && c.peers[1].minimumTTL == 255)
        #expect(c.peers[2].minimumTTL == 254)
    }

    @Test(arguments: [
        ("routerID: 1.1.1.1\nasNumber: 65000\nbogus: 1", "bogus: unknown field"),
        ("asNumber: 65000", "routerID: is required"),
        ("routerID: 1.1.1\nasNumber: 65000", "routerID: not an IPv4 address"),
        ("routerID: 1.1.1.1\nasNumber: 0", "asNumber: \"0\" is not an AS number"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, holdTime: 2s}]",
         "peers[0].holdTime: must be 0 or between 3s and 65535s"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, holdTime: soon}]",
         "peers[0].holdTime: \"soon\" is not a duration"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, keepaliveTime: 90s}]",
         "peers[0].keepaliveTime: 1m30s must be shorter than holdTime 1m30s"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, colour: red}]",
         "peers[0].colour: unknown field"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1}, {address: 1.1.1.2, asNumber: 2}]",
         "peers[1].address: 1.1.1.2 is already configured"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, import: some}]",
         "peers[0].import: \"some\" is not all or none"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, multihop: 300}]",
         "peers[0].multihop: must be true/false or a hop count 1-255"),
        ("routerID: 1.1.1.1\nasNumber: 65000\nannounce: [{prefix: 10.0.0.1/24}]",
         "announce[0].prefix: \"10.0.0.1/24\" is not strictly masked (did you mean 10.0.0.0/24?)"),
        ("routerID: 1.1.1.1\nasNumber: 65000\nannounce: [{prefix: 10.0.0.0/24, nextHop: \"fd00::1\"}]",
         "announce[0].nextHop: fd00::1 is not in the prefix's family"),
        ("routerID: 1.1.1.1\nasNumber: 65000\nlisten: {port: 0}", "listen.port: must be a port 1-65535"),
        ("- 1\n- 2", "(top level): must be a mapping"),
        ("routerID: 1.1.1.1\nasNumber: 65000\nannounce: [{prefix: 10.0.0.0/24}, {prefix: 10.0.0.0/24}]",
         "announce[1].prefix: 10.0.0.0/24 is announced twice"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, gracefulRestartTime: 2h}]",
         "peers[0].gracefulRestartTime: must be whole seconds from 0s to 4095s"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, gracefulRestartTime: 1500ms}]",
         "peers[0].gracefulRestartTime: must be whole seconds from 0s to 4095s"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, gracefulRestartTime: later}]",
         "peers[0].gracefulRestartTime: \"later\" is not a duration"),
    ])
    func rejectsWithFieldAndReason(yaml: String, expected: String) {
        do {
            _ = try SpeakerConfig(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description.hasPrefix(expected), "got: \(error.description)")
        }
    }
}
