import BGPRIB
import BGPSpeaker
import BGPWire
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
        #expect(!c.multipath)
        let m = try SpeakerConfig(yaml: "routerID: 1.1.1.1\nasNumber: 65000\nmultipath: true")
        #expect(m.multipath)
        #expect(throws: ConfigError("multipath", "must be true or false")) {
            try SpeakerConfig(yaml: "routerID: 1.1.1.1\nasNumber: 65000\nmultipath: 3")
        }
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
        ("routerID: 1.1.1.1\nasNumber: 65000\nclusterID: 1.2.3", "clusterID: not an IPv4 address"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 65000, routeReflectorClient: maybe}]",
         "peers[0].routeReflectorClient: must be true or false"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 65001, routeReflectorClient: true}]",
         "peers[0].routeReflectorClient: only an iBGP peer"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, maxPrefixes: 0}]",
         "peers[0].maxPrefixes: must be a whole number of at least 1"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, maxPrefixes: lots}]",
         "peers[0].maxPrefixes: must be a whole number of at least 1"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, allowASIn: 11}]",
         "peers[0].allowASIn: must be a whole number from 0 to 10"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, nextHop: peer}]",
         "peers[0].nextHop: \"peer\" is not auto, self or keep"),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1}, {address: 1.1.1.3, asNumber: 1, filters: [x]}]",
         "peers[1].filters[0]: no filter named \"x\""),
        ("routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 1, filters: x}]",
         "peers[0].filters: must be a list"),
        ("routerID: 1.1.1.1\nasNumber: 65000\nfilters: {a: 1}", "filters: must be a list"),
        (ConfigTests.withFilters(["kind: BGPPeer\n  metadata: {name: a}\n  spec: {}"]), "filters[0].kind: must be BGPFilter, got BGPPeer"),
        (ConfigTests.withFilters(["metadata: {name: a}\n  spec: {}"]), "filters[0].kind: required"),
        (ConfigTests.withFilters(["kind: BGPFilter\n  metadata: {name: a}\n  spec: {exportV4: [{action: Accept, cidr: 10.0.0.0/8}]}"]),
         "filters[0].spec.exportV4[0]: cidr and matchOperator must be set together"),
        (ConfigTests.withFilters(["kind: BGPFilter\n  metadata: {name: a}\n  spec: {exportV4: [{action: Accept, cidr: 10.0.0.0/8, matchOperator: Inside}]}"]),
         "filters[0].spec.exportV4[0].matchOperator"),
        (ConfigTests.withFilters(["kind: BGPFilter\n  metadata: {name: a}\n  spec: {importV6: [{action: Accept, cidr: 10.0.0.0/8, matchOperator: In}]}"]),
         "filters[0].spec.importV6[0].cidr: 10.0.0.0/8 is not an IPv6 CIDR"),
        (ConfigTests.withFilters(["kind: BGPFilter\n  metadata: {name: a}\n  spec: {exportV4: [{cidr: 10.0.0.0/8, matchOperator: In}]}"]),
         "filters[0].spec.exportV4[0].action: required"),
        (ConfigTests.withFilters(["kind: BGPFilter\n  metadata: {name: a}\n  spec: {exportV4: [{action: Accept, asPathPrefix: [0]}]}"]),
         "filters[0].spec.exportV4[0].asPathPrefix[0]: 0 is not an AS number"),
        (ConfigTests.withFilters(["kind: BGPFilter\n  metadata: {name: a}\n  spec: {exportV4: [{action: Accept, colour: red}]}"]),
         "filters[0].spec.exportV4[0].colour"),
        (ConfigTests.withFilters(["kind: BGPFilter\n  metadata: {name: a}\n  spec: {}", "kind: BGPFilter\n  metadata: {name: a}\n  spec: {}"]),
         "filters[1].metadata.name: duplicate filter name \"a\""),
        ("routerID: 1.1.1.1\nasNumber: 65000\nfilters:\n- {apiVersion: projectcalico.org/v1, kind: BGPFilter, metadata: {name: a}, spec: {}}",
         "filters[0].apiVersion: unsupported apiVersion"),
        (ConfigTests.withFilters(["kind: BGPFilter\n  metadata: {name: a}\n  spec: {exportV4: [{action: Accept, priority: 5, prependASPath: 1}]}"]),
         "filters[0].spec.exportV4[0].prependASPath"),
        (ConfigTests.withFilters(["kind: BGPFilter\n  metadata: {name: Bad_Name}\n  spec: {}"]), "filters[0].metadata.name"),
    ])
    func rejectsWithFieldAndReason(yaml: String, expected: String) {
        do {
            _ = try SpeakerConfig(yaml: yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description.hasPrefix(expected), "got: \(error.description)")
        }
    }

    /// A config whose `filters:` list holds these documents (each given without `apiVersion`).
    static func withFilters(_ docs: [String]) -> String {
        "routerID: 1.1.1.1\nasNumber: 65000\nfilters:\n" + docs.map { "- apiVersion: projectcalico.org/v3\n  " + $0 + "\n" }.joined()
    }

    static let policy = """
    routerID: 10.0.0.1
    asNumber: 64512
    clusterID: 224.0.0.1
    filters:
      - apiVersion: projectcalico.org/v3
        kind: BGPFilter
        metadata:
          name: export-pods
        spec:
          exportV4:
            - action: Reject
              matchOperator: In
              cidr: 10.244.0.0/16
              prefixLength: {min: 32}
            - action: Accept
              matchOperator: In
              cidr: 10.244.0.0/16
              operations:
                - addCommunity: {value: "64512:100"}
                - prependASPath: {prefix: [64512, 64512]}
                - setPriority: {value: 512}
          importV6:
            - action: Reject
              source: RemotePeers
              peerType: eBGP
              interface: "eth*"
              communities: {values: ["64512:1:2"]}
              asPathPrefix: [65001]
              priority: 100
      - apiVersion: projectcalico.org/v3
        kind: BGPFilter
        metadata: {name: nothing}
        spec: {}
    peers:
      - address: 10.0.0.2
        asNumber: 64512
        routeReflectorClient: true
        maxPrefixes: 1000
        allowASIn: 2
        nextHop: self
        filters: [export-pods, nothing]
      - address: 10.0.0.3
        asNumber: 65001
        nextHop: keep
      - address: 10.0.0.4
        asNumber: 65001
        nextHop: auto
    """

    @Test func parsesPolicyFields() throws {
        let c = try SpeakerConfig(yaml: Self.policy)
        #expect(c.clusterID == IPv4Address(224, 0, 0, 1) && c.effectiveClusterID == IPv4Address(224, 0, 0, 1))
        #expect(c.filters.keys.sorted() == ["export-pods", "nothing"])
        let rr = c.peers[0]
        #expect(rr.routeReflectorClient && rr.maxPrefixes == 1000 && rr.allowASIn == 2 && rr.nextHopMode == .self_)
        #expect(rr.filters == ["export-pods", "nothing"])
        #expect(c.peers[1].nextHopMode == .keep && c.peers[2].nextHopMode == .auto)
        #expect(c.filters["nothing"] == RouteFilter(name: "nothing"))
        let f = try #require(c.filters["export-pods"])
        #expect(f.exportV4 == [
            FilterRule(cidr: IPPrefix("10.244.0.0/16"), matchOperator: .in, prefixLength: .init(min: 32), action: .reject),
            FilterRule(cidr: IPPrefix("10.244.0.0/16"), matchOperator: .in, action: .accept,
                       operations: [.addCommunity(FilterCommunity("64512:100")!), .prependASPath([64512, 64512]), .setPriority(512)]),
        ])
        #expect(f.importV6 == [
            FilterRule(source: .remotePeers, interface: "eth*", peerType: .ebgp, communities: [FilterCommunity("64512:1:2")!],
                       asPathPrefix: [65001], priority: 100, action: .reject),
        ])
        #expect(f.importV4.isEmpty && f.exportV6.isEmpty)
        // The converted filter evaluates as Calico's would: the /32 is rejected, the block accepted and rewritten.
        var attrs = PathAttributes(asPath: ASPath(sequence: []))
        let host = FilterSubject(prefix: IPPrefix("10.244.1.5/32")!, peerType: .ibgp, learnedFromPeer: false)
        #expect(RouteFilter.evaluate([f], direction: .exporting, subject: host, attrs: &attrs) == .rejected(filter: "export-pods", rule: 0))
        let block = FilterSubject(prefix: IPPrefix("10.244.1.0/26")!, peerType: .ibgp, learnedFromPeer: false)
        #expect(RouteFilter.evaluate([f], direction: .exporting, subject: block, attrs: &attrs) == .accepted(filter: "export-pods", rule: 1))
        #expect(attrs.communities == [Community(asn: 64512, local: 100)] && attrs.asPath == ASPath(sequence: [64512, 64512]))
        #expect(attrs.localPref == UInt32(2_147_483_647 - 512))
    }

    @Test func policyDefaults() throws {
        let c = try SpeakerConfig(yaml: "routerID: 1.1.1.1\nasNumber: 65000\npeers: [{address: 1.1.1.2, asNumber: 65000}]")
        #expect(c.clusterID == nil && c.effectiveClusterID == IPv4Address(1, 1, 1, 1) && c.filters.isEmpty)
        let p = c.peers[0]
        #expect(!p.routeReflectorClient && p.maxPrefixes == nil && p.allowASIn == 0 && p.nextHopMode == .auto && p.filters.isEmpty)
        // The existing init still works and gives the same defaults.
        #expect(PeerConfig(name: "1.1.1.2", address: IPAddress("1.1.1.2")!, asNumber: ASNumber(65000)) == p)
    }
}
