import BGPWire
import NetCore
import Testing

/// A wire message beside its decoded value. `canonical` vectors re-encode byte for byte; the
/// others (foreign attribute order or Extended Length on short attributes) must re-encode to
/// bytes that decode to the same value. Provenance: Vectors/SOURCES.md.
struct Vector: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let value: BGPMessage
    var canonical = true
    var decode = DecodeContext()
    var encode = EncodeContext()
    var testDescription: String { name }
}

private let withdrawNone: [NLRI] = []

enum Vectors {
    // MARK: captured from BIRD 2.0.12 (Fuzz/capture-peer-messages.py)
    static let birdOpen = Vector(
        name: "BIRD 2.0.12 OPEN",
        bytes: hex("ffffffffffffffffffffffffffffffff003b0104fdea005a0a0000021e021c01040001000101040002000102004002007841040000fdea46004700"),
        value: .open(OpenMessage(myAS: 65002, holdTime: 90, bgpIdentifier: v4("10.0.0.2"), capabilities: [
            .multiprotocol(.ipv4Unicast), .multiprotocol(.ipv6Unicast), .routeRefresh,
            .gracefulRestart(GracefulRestart(restartTime: 120)), .fourOctetAS(65002), .enhancedRouteRefresh,
            .longLivedGracefulRestart([]),
        ])))
    static let birdUpdateV4 = Vector(
        name: "BIRD 2.0.12 UPDATE IPv4 with communities and large communities",
        bytes: hex("ffffffffffffffffffffffffffffffff0045020000002a4001010040020602010000fdea4003047f000002c00804fdea000ac0200c0000fdea000000010000000218c63364"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65002]), nextHop: v4("127.0.0.2"),
                                       communities: [Community(asn: 65002, local: 10)],
                                       largeCommunities: [LargeCommunity(65002, 1, 2)]),
            nlri: [prefix("198.51.100.0/24")])))
    static let birdUpdateV4Slash25 = Vector(
        name: "BIRD 2.0.12 UPDATE IPv4 /25",
        bytes: hex("ffffffffffffffffffffffffffffffff003002000000144001010040020602010000fdea4003047f00000219cb007180"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65002]), nextHop: v4("127.0.0.2")),
            nlri: [prefix("203.0.113.128/25")])))
    static let birdEoRv4 = Vector(
        name: "BIRD 2.0.12 End-of-RIB IPv4",
        bytes: hex("ffffffffffffffffffffffffffffffff00170200000000"),
        value: .update(.endOfRIB(.ipv4Unicast)))
    static let birdUpdateV6 = Vector(
        name: "BIRD 2.0.12 UPDATE IPv6 (MP_REACH with Extended Length)",
        bytes: hex("ffffffffffffffffffffffffffffffff0044020000002d900e001c0002011020010db8000000000000000000000002003020010db800014001010040020602010000fdea"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65002])),
            mpReach: MPReach(family: .ipv6Unicast, nextHop: .ipv6(v6("2001:db8::2")), nlri: [prefix("2001:db8:1::/48")]))),
        canonical: false)
    static let birdWithdrawV6 = Vector(
        name: "BIRD 2.0.12 MP_UNREACH IPv6 withdraw",
        bytes: hex("ffffffffffffffffffffffffffffffff0025020000000e900f000a0002013020010db80001"),
        value: .update(UpdateMessage(mpUnreach: MPUnreach(family: .ipv6Unicast, withdrawn: [prefix("2001:db8:1::/48")]))),
        canonical: false)
    static let birdEoRv6 = Vector(
        name: "BIRD 2.0.12 End-of-RIB IPv6",
        bytes: hex("ffffffffffffffffffffffffffffffff001d0200000006800f03000201"),
        value: .update(.endOfRIB(.ipv6Unicast)))
    static let birdCease = Vector(
        name: "BIRD 2.0.12 NOTIFICATION Cease/Administrative Shutdown",
        bytes: hex("ffffffffffffffffffffffffffffffff0015030602"),
        value: .notification(NotificationMessage(code: 6, subcode: 2)))

    static let birdOpenAddPathENH = Vector(
        name: "BIRD 2.0.12 OPEN with ADD-PATH tx and extended next hop",
        bytes: hex("ffffffffffffffffffffffffffffffff00430104fdea00f00a000002260224010400010001020005060001000100024002007841040000fdea45040001010246004700"),
        value: .open(OpenMessage(myAS: 65002, holdTime: 240, bgpIdentifier: v4("10.0.0.2"), capabilities: [
            .multiprotocol(.ipv4Unicast), .routeRefresh, .extendedNextHop([ExtendedNextHopEntry(.ipv4Unicast, nextHopAFI: 2)]),
            .gracefulRestart(GracefulRestart(restartTime: 120)), .fourOctetAS(65002),
            .addPath([AddPathEntry(.ipv4Unicast, .send)]), .enhancedRouteRefresh, .longLivedGracefulRestart([]),
        ])))
    static let birdUpdateAddPathENH = Vector(
        name: "BIRD 2.0.12 UPDATE IPv4 NLRI with IPv6 next hop (RFC 8950) and three path IDs (RFC 7911)",
        bytes: hex("ffffffffffffffffffffffffffffffff0055020000003e900e002d0001011020010db8000000000000000000000002000000000218c633640000000318c633640000000418c633644001010040020602010000fdea"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65002])),
            mpReach: MPReach(family: .ipv4Unicast, nextHop: .ipv6(v6("2001:db8::2")),
                             nlri: [prefix("198.51.100.0/24", pathID: 2), prefix("198.51.100.0/24", pathID: 3),
                                    prefix("198.51.100.0/24", pathID: 4)]))),
        canonical: false,
        decode: DecodeContext(addPath: [.ipv4Unicast], extendedNextHop: [.ipv4Unicast]),
        encode: EncodeContext(addPath: [.ipv4Unicast]))

    // MARK: captured from GoBGP 3.10.0
    static let gobgpOpen = Vector(
        name: "GoBGP 3.10 OPEN (FQDN, extended next hop)",
        bytes: hex("ffffffffffffffffffffffffffffffff00410104fdeb005a0a0000032402220200490402766d0001040001000101040002000141040000fdeb0506000100010002"),
        value: .open(OpenMessage(myAS: 65003, holdTime: 90, bgpIdentifier: v4("10.0.0.3"), capabilities: [
            .routeRefresh, .fqdn(hostname: "vm", domain: ""), .multiprotocol(.ipv4Unicast),
            .multiprotocol(.ipv6Unicast), .fourOctetAS(65003),
            .extendedNextHop([ExtendedNextHopEntry(.ipv4Unicast, nextHopAFI: 2)]),
        ])))
    static let gobgpUpdateV4 = Vector(
        name: "GoBGP 3.10 UPDATE IPv4 MED + communities",
        bytes: hex("ffffffffffffffffffffffffffffffff004c02000000314001010240020602010000fdeb4003047f00000380040400000014c00804fdeb0001c0200c0000fdeb000000010000000218c00002"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .incomplete, asPath: ASPath(sequence: [65003]), nextHop: v4("127.0.0.3"),
                                       med: 20, communities: [Community(asn: 65003, local: 1)],
                                       largeCommunities: [LargeCommunity(65003, 1, 2)]),
            nlri: [prefix("192.0.2.0/24")])))
    static let gobgpUpdateV6 = Vector(
        name: "GoBGP 3.10 UPDATE IPv6 (MP_REACH after AS_PATH)",
        bytes: hex("ffffffffffffffffffffffffffffffff0043020000002c4001010240020602010000fdeb800e1c0002011020010db8000000000000000000000003003020010db80003"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .incomplete, asPath: ASPath(sequence: [65003])),
            mpReach: MPReach(family: .ipv6Unicast, nextHop: .ipv6(v6("2001:db8::3")), nlri: [prefix("2001:db8:3::/48")]))),
        canonical: false)
    static let gobgpCease = Vector(
        name: "GoBGP 3.10 NOTIFICATION Cease/Peer De-configured",
        bytes: hex("ffffffffffffffffffffffffffffffff0015030603"),
        value: .notification(NotificationMessage(code: 6, subcode: 3)))

    // MARK: captured from FRR 8.4.4
    static let frrOpen = Vector(
        name: "FRR 8.4.4 OPEN (one capability per parameter, GR R+N, LLGR, ADD-PATH rx)",
        bytes: hex("ffffffffffffffffffffffffffffffff00750104fdec00b40a0000045802060104000100010206010400020001020280000202020002024600020641040000fdec02020600020a45080001010100020101020a4908066672726361700002044002c0780210470e0001018000000000020180000000"),
        value: .open(OpenMessage(myAS: 65004, holdTime: 180, bgpIdentifier: v4("10.0.0.4"), capabilities: [
            .multiprotocol(.ipv4Unicast), .multiprotocol(.ipv6Unicast), .ciscoRouteRefresh, .routeRefresh,
            .enhancedRouteRefresh, .fourOctetAS(65004), .extendedMessage,
            .addPath([AddPathEntry(.ipv4Unicast, .receive), AddPathEntry(.ipv6Unicast, .receive)]),
            .fqdn(hostname: "frrcap", domain: ""),
            .gracefulRestart(GracefulRestart(restarting: true, notification: true, restartTime: 120)),
            .longLivedGracefulRestart([LLGREntry(.ipv4Unicast, forwardingPreserved: true, staleTime: 0),
                                       LLGREntry(.ipv6Unicast, forwardingPreserved: true, staleTime: 0)]),
        ], oneCapabilityPerParameter: true)))
    static let frrUpdateV4 = Vector(
        name: "FRR 8.4.4 UPDATE IPv4 (AS_PATH with Extended Length)",
        bytes: hex("ffffffffffffffffffffffffffffffff0037020000001c400101005002000602010000fdec4003047f0000048004040000000018c63364"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65004]), nextHop: v4("127.0.0.4"), med: 0),
            nlri: [prefix("198.51.100.0/24")])),
        canonical: false)
    static let frrUpdateV6 = Vector(
        name: "FRR 8.4.4 UPDATE IPv6 (IPv4-mapped next hop)",
        bytes: hex("ffffffffffffffffffffffffffffffff004c0200000035900e001c0002011000000000000000000000ffff7f000004003020010db80004400101005002000602010000fdec80040400000000"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65004]), med: 0),
            mpReach: MPReach(family: .ipv6Unicast, nextHop: .ipv6(v6("::ffff:127.0.0.4")), nlri: [prefix("2001:db8:4::/48")]))),
        canonical: false)

    // MARK: ExaBGP qa/decoding (BSD-3-Clause)
    static let exaOpen = Vector(
        name: "ExaBGP qa/decoding/bgp-open-sofware-version",
        bytes: hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00510104FFFD00B40A000002340206010400010001020641040000FFFD02224B201F4578614247502F6D61696E2D633261326561386562642D3230323430373135"),
        value: .open(OpenMessage(myAS: 65533, holdTime: 180, bgpIdentifier: v4("10.0.0.2"), capabilities: [
            .multiprotocol(.ipv4Unicast), .fourOctetAS(65533),
            .unknown(code: 75, value: [0x1f] + Array("ExaBGP/main-c2a2ea8ebd-20240715".utf8)),
        ], oneCapabilityPerParameter: true)))
    static let exaUpdate1 = Vector(
        name: "ExaBGP qa/decoding/ipv4-unicast-1 (repeated default route)",
        bytes: hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF003C020000001C4001010040020040030465016501800404000000C840050400000064000000002001010101"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(), nextHop: v4("101.1.101.1"), med: 200, localPref: 100),
            nlri: [prefix("0.0.0.0/0"), prefix("0.0.0.0/0"), prefix("0.0.0.0/0"), prefix("0.0.0.0/0"),
                   prefix("1.1.1.1/32")])))
    static let exaUpdate2 = Vector(
        name: "ExaBGP qa/decoding/ipv4-unicast-2 (aggregator, atomic aggregate, no NLRI)",
        bytes: hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF004F02000000384001010040020E02030000AAAA0000AAAA0000AAAAC0070800AA00AA0A0A0A0A4006004003040A0A0A0A8004040000000040050400000064"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [43690, 43690, 43690]),
                                       nextHop: v4("10.10.10.10"), med: 0, localPref: 100, atomicAggregate: true,
                                       aggregator: Aggregator(asn: 11_141_290, address: v4("10.10.10.10"))))),
        canonical: false)

    // MARK: built from the RFCs
    static let keepalive = Vector(name: "KEEPALIVE (RFC 4271 §4.4)",
                                  bytes: hex("ffffffffffffffffffffffffffffffff001304"), value: .keepalive)
    static let routeRefresh = Vector(
        name: "ROUTE-REFRESH IPv6 unicast (RFC 2918)",
        bytes: hex("ffffffffffffffffffffffffffffffff00170500020001"),
        value: .routeRefresh(RouteRefreshMessage(family: .ipv6Unicast)))
    static let borr = Vector(
        name: "ROUTE-REFRESH BoRR IPv4 (RFC 7313)",
        bytes: hex("ffffffffffffffffffffffffffffffff00170500010101"),
        value: .routeRefresh(RouteRefreshMessage(family: .ipv4Unicast, subtype: .beginningOfRIB)))
    static let eorr = Vector(
        name: "ROUTE-REFRESH EoRR IPv4 (RFC 7313)",
        bytes: hex("ffffffffffffffffffffffffffffffff00170500010201"),
        value: .routeRefresh(RouteRefreshMessage(family: .ipv4Unicast, subtype: .endOfRIB)))
    static let shutdown = Vector(
        name: "NOTIFICATION Cease/Administrative Shutdown with communication (RFC 9003)",
        bytes: hex("ffffffffffffffffffffffffffffffff0029030602136d61696e74656e616e636520f09f9ba0efb88f"),
        value: .notification(.cease(subcode: 2, communication: "maintenance 🛠️")))
    static let addPathV4 = Vector(
        name: "UPDATE IPv4 with ADD-PATH path identifiers (RFC 7911)",
        bytes: hex("ffffffffffffffffffffffffffffffff00430200080000000118c00002001440010100400206020100010001400304c00002010000000218c633640000000318c63364"),
        value: .update(UpdateMessage(
            withdrawn: [prefix("192.0.2.0/24", pathID: 1)],
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65537]), nextHop: v4("192.0.2.1")),
            nlri: [prefix("198.51.100.0/24", pathID: 2), prefix("198.51.100.0/24", pathID: 3)])),
        decode: DecodeContext(addPath: [.ipv4Unicast]), encode: EncodeContext(addPath: [.ipv4Unicast]))
    static let v6LinkLocal = Vector(
        name: "UPDATE IPv6 with global + link-local next hop (RFC 2545)",
        bytes: hex("ffffffffffffffffffffffffffffffff0056020000003f800e2f0002012020010db8000000000000000000000001fe80000000000000000000fffe00000100402001000000000000004001010040020602010000fde9"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001])),
            mpReach: MPReach(family: .ipv6Unicast, nextHop: .ipv6(v6("2001:db8::1"), linkLocal: v6("fe80::ff:fe00:1")),
                             nlri: [prefix("2001::/64"), prefix("::/0")]))))
    static let as2Speaker = Vector(
        name: "UPDATE for a 2-octet speaker: AS_TRANS + AS4_PATH + AS4_AGGREGATOR (RFC 6793)",
        bytes: hex("ffffffffffffffffffffffffffffffff00500200000035400101004002060202fde95ba0400304c0000201c007065ba0c0000201c0110a02020000fde9fde9fde9c01208fde9fde9c000020118c63364"),
        value: .update(UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001, 4_259_970_537]),
                                       nextHop: v4("192.0.2.1"),
                                       aggregator: Aggregator(asn: 4_259_970_537, address: v4("192.0.2.1"))),
            nlri: [prefix("198.51.100.0/24")])),
        decode: DecodeContext(fourOctetAS: false), encode: EncodeContext(fourOctetAS: false))

    static let all: [Vector] = [
        birdOpen, birdUpdateV4, birdOpenAddPathENH, birdUpdateAddPathENH, birdUpdateV4Slash25, birdEoRv4, birdUpdateV6, birdWithdrawV6, birdEoRv6, birdCease,
        gobgpOpen, gobgpUpdateV4, gobgpUpdateV6, gobgpCease, frrOpen, frrUpdateV4, frrUpdateV6,
        exaOpen, exaUpdate1, exaUpdate2, keepalive, routeRefresh, borr, eorr, shutdown, addPathV4, v6LinkLocal, as2Speaker,
    ]
}

@Suite struct VectorTests {
    @Test(arguments: Vectors.all)
    func decodesToTheValue(_ v: Vector) throws {
        let decoded = try decodeOne(v.bytes, v.decode)
        #expect(decoded == v.value)
    }

    @Test(arguments: Vectors.all)
    func encodesToTheBytes(_ v: Vector) throws {
        let encoded = try v.value.encoded(context: v.encode)
        if v.canonical {
            expectBytes(encoded, v.bytes, v.name)
        } else {
            #expect(encoded != v.bytes, "vector marked non-canonical but re-encodes exactly")
        }
        #expect(try decodeOne(encoded, v.decode) == v.value)
    }

    @Test func capturedOpensNegotiate() throws {
        guard case .open(let bird) = Vectors.birdOpen.value, case .open(let frr) = Vectors.frrOpen.value else {
            Issue.record("vectors are not OPENs"); return
        }
        let local = bird.capabilities + [.addPath([AddPathEntry(.ipv4Unicast, .both)]), .extendedMessage]
        let rx = DecodeContext.negotiated(local: local, remote: frr.capabilities)
        let tx = EncodeContext.negotiated(local: local, remote: frr.capabilities)
        #expect(rx.fourOctetAS && tx.fourOctetAS)
        #expect(rx.extendedMessages && rx.maxMessageSize == 65535)
        // FRR receives path IDs for IPv4; it does not send them.
        #expect(rx.addPath.isEmpty)
        #expect(tx.addPath == [.ipv4Unicast])
        #expect(frr.asNumber == ASNumber(65004))
        // Against the BIRD ADD-PATH/ENH OPEN: we receive path IDs and IPv6 next hops for IPv4.
        guard case .open(let birdTx) = Vectors.birdOpenAddPathENH.value else { return }
        let ours: [Capability] = [.fourOctetAS(65001), .addPath([AddPathEntry(.ipv4Unicast, .receive)]),
                                  .extendedNextHop([ExtendedNextHopEntry(.ipv4Unicast, nextHopAFI: 2)])]
        let rx2 = DecodeContext.negotiated(local: ours, remote: birdTx.capabilities)
        #expect(rx2 == Vectors.birdUpdateAddPathENH.decode)
        // Without ADD-PATH negotiated the same bytes misparse: the path ID reads as prefix length 0
        // followed by garbage, which must be a session reset, not a crash.
        #expect(throws: WireError.self) { try decodeOne(Vectors.birdUpdateAddPathENH.bytes, DecodeContext(extendedNextHop: [.ipv4Unicast])) }
    }

    @Test func shutdownCommunicationIsDecoded() throws {
        guard case .notification(let n) = try decodeOne(Vectors.shutdown.bytes) else { Issue.record("not a NOTIFICATION"); return }
        #expect(n.shutdownCommunication == "maintenance 🛠️")
        #expect(NotificationMessage(code: 6, subcode: 2, data: [5, 0x61]).shutdownCommunication == nil)
        #expect(NotificationMessage(code: 6, subcode: 2, data: [2, 0xff, 0xfe]).shutdownCommunication == nil)
        #expect(NotificationMessage(code: 6, subcode: 3, data: [1, 0x61]).shutdownCommunication == nil)
        let long = NotificationMessage.cease(subcode: 4, communication: String(repeating: "é", count: 200))
        #expect(long.data.first == 254)  // 127 two-byte characters; never split one
        #expect(long.shutdownCommunication == String(repeating: "é", count: 127))
    }

    @Test func endOfRIBIsDetected() throws {
        for v in [Vectors.birdEoRv4, Vectors.birdEoRv6] {
            guard case .update(let u) = try decodeOne(v.bytes) else { Issue.record("not an UPDATE"); continue }
            #expect(u.endOfRIBFamily != nil)
        }
        guard case .update(let u) = Vectors.birdUpdateV4.value, case .update(let w) = Vectors.birdWithdrawV6.value else {
            return
        }
        #expect(u.endOfRIBFamily == nil)
        #expect(w.endOfRIBFamily == nil)
        #expect(UpdateMessage.endOfRIB(.l2vpnEVPN).endOfRIBFamily == .l2vpnEVPN)
    }

    @Test func logDescriptions() {
        #expect(Vectors.birdEoRv6.value.description == "UPDATE End-of-RIB ipv6-unicast")
        #expect(Vectors.birdUpdateV4.value.description == "UPDATE announce 1 via 127.0.0.2, path [65002]")
        #expect(Vectors.birdOpen.value.description.hasPrefix("OPEN AS 65002 hold 90 id 10.0.0.2 caps [mp ipv4-unicast"))
        #expect(Vectors.shutdown.value.description
            == "NOTIFICATION 6/2 Cease: Administrative Shutdown \"maintenance 🛠️\"")
    }
}
