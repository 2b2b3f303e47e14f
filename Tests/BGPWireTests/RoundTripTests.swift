import BGPWire
import NetCore
import Testing
import TestSupport

/// Random but valid messages: everything the decoder would accept cleanly.
struct MessageGenerator {
    var rng: SeededRandom
    /// For a 2-octet peer: no adjacent AS_SEQUENCEs, confederation segments only in front, and
    /// no 2-octet AGGREGATOR next to a 4-octet path (RFC 6793 merging would legitimately differ).
    var twoOctetPeer = false
    var addPath = false

    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func u32() -> UInt32 { UInt32.random(in: .min ... .max, using: &rng) }
    mutating func chance(_ p: Double = 0.5) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    mutating func asn() -> UInt32 { chance(0.6) ? UInt32(int(1...65535)) : max(1, u32()) }

    mutating func asPath() -> ASPath {
        var segments: [ASPathSegment] = []
        // Confederation segments never go into AS4_PATH (RFC 6793 §4.2.2), so for an OLD peer
        // their members must fit 2 octets to survive.
        if twoOctetPeer && chance(0.2) {
            segments.append(ASPathSegment(.confedSequence, (0..<int(1...3)).map { _ in UInt32(int(1...65535)) }))
        }
        for _ in 0..<int(0...4) {
            var kinds: [ASPathSegment.Kind] = twoOctetPeer ? [.sequence, .set] : [.sequence, .set, .confedSequence, .confedSet]
            if twoOctetPeer, segments.last?.kind == .sequence { kinds = [.set] }
            let kind = kinds[int(0...(kinds.count - 1))]
            segments.append(ASPathSegment(kind, (0..<int(1...12)).map { _ in asn() }))
        }
        return ASPath(segments)
    }

    mutating func hostV4() -> IPv4Address { IPv4Address(UInt32(int(0x0100_0000...0xDFFF_FFFF))) }

    mutating func v4Prefix() -> NLRI {
        let length = int(0...32)
        return NLRI(IPPrefix(.v4(IPv4Address(u32())), length: length), pathID: addPath ? u32() : nil)
    }

    mutating func v6Prefix() -> NLRI {
        let length = int(0...128)
        let a = IPv6Address(high: UInt64(u32()) << 32 | UInt64(u32()), low: UInt64(u32()) << 32 | UInt64(u32()))
        return NLRI(IPPrefix(.v6(a), length: length), pathID: addPath ? u32() : nil)
    }

    mutating func attributes(announcing: Bool, classic: Bool) -> PathAttributes {
        var a = PathAttributes()
        if announcing || chance() { a.origin = [Origin.igp, .egp, .incomplete][int(0...2)] }
        if announcing || chance() { a.asPath = asPath() }
        if classic || chance(0.3) { a.nextHop = hostV4() }
        if chance() { a.med = u32() }
        if chance() { a.localPref = u32() }
        a.atomicAggregate = chance(0.2)
        if chance(0.3) {
            var agg = asn()
            if twoOctetPeer && (a.asPath?.needsFourOctets ?? false) { agg = UInt32(int(65536...0x7fff_ffff)) }
            a.aggregator = Aggregator(asn: agg, address: hostV4())
        }
        if chance() { a.communities = (0..<int(1...20)).map { _ in Community(u32()) } }
        if chance(0.3) { a.originatorID = hostV4() }
        if chance(0.3) { a.clusterList = (0..<int(1...5)).map { _ in hostV4() } }
        if chance(0.3) {
            a.extendedCommunities = (0..<int(1...8)).map { _ in ExtendedCommunity(UInt64(u32()) << 32 | UInt64(u32())) }
        }
        if chance(0.3) { a.largeCommunities = (0..<int(1...8)).map { _ in LargeCommunity(u32(), u32(), u32()) } }
        if chance(0.2) {
            // Codes this codec does not know, unique and in wire (ascending) order.
            let codes = Set((0..<int(1...3)).map { _ in UInt8(int(40...250)) }).sorted()
            a.unknown = codes.map { code in
                RawAttribute(flags: 0xe0, code: code, value: (0..<int(0...300)).map { _ in UInt8(int(0...255)) })
            }
        }
        return a
    }

    mutating func update() -> UpdateMessage {
        var u = UpdateMessage()
        u.withdrawn = (0..<int(0...5)).map { _ in v4Prefix() }
        u.nlri = chance(0.6) ? (0..<int(1...40)).map { _ in v4Prefix() } : []
        if chance(0.4) {
            let ll = chance() ? IPv6Address(high: 0xfe80_0000_0000_0000, low: UInt64(u32())) : nil
            u.mpReach = MPReach(family: .ipv6Unicast, nextHop: .ipv6(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64(u32())), linkLocal: ll),
                                nlri: (0..<int(1...30)).map { _ in v6Prefix() })
        }
        if chance(0.3) { u.mpUnreach = MPUnreach(family: .ipv6Unicast, withdrawn: (0..<int(0...10)).map { _ in v6Prefix() }) }
        let announcing = !u.nlri.isEmpty || u.mpReach != nil
        u.attributes = attributes(announcing: announcing, classic: !u.nlri.isEmpty)
        return u
    }

    mutating func open() -> OpenMessage {
        var caps: [Capability] = []
        let families: [AddressFamily] = [.ipv4Unicast, .ipv6Unicast, .l2vpnEVPN, .ipv4VPN, AddressFamily(afi: 16388, safi: 71)]
        for _ in 0..<int(0...12) {
            let f = families[int(0...(families.count - 1))]
            switch int(0...11) {
            case 0: caps.append(.multiprotocol(f))
            case 1: caps.append(.routeRefresh)
            case 2: caps.append(.ciscoRouteRefresh)
            case 3: caps.append(.enhancedRouteRefresh)
            case 4: caps.append(.extendedMessage)
            case 5: caps.append(.fourOctetAS(asn()))
            case 6: caps.append(.gracefulRestart(GracefulRestart(restarting: chance(), notification: chance(),
                                                                 restartTime: UInt16(int(0...4095)),
                                                                 families: [.init(f, forwardingPreserved: chance())])))
            case 7: caps.append(.addPath([AddPathEntry(f, AddPathMode(rawValue: UInt8(int(1...3))))]))
            case 8: caps.append(.extendedNextHop([ExtendedNextHopEntry(f, nextHopAFI: 2)]))
            case 9: caps.append(.longLivedGracefulRestart([LLGREntry(f, forwardingPreserved: chance(), staleTime: UInt32(int(0...0xffffff)))]))
            case 10: caps.append(.fqdn(hostname: "node-\(int(0...999))", domain: chance() ? "" : "cluster.local"))
            default: caps.append(.unknown(code: UInt8(int(200...254)), value: (0..<int(0...20)).map { _ in UInt8(int(0...255)) }))
            }
        }
        return OpenMessage(myAS: UInt16(int(1...65535)), holdTime: chance(0.1) ? 0 : UInt16(int(3...65535)),
                           bgpIdentifier: hostV4(), capabilities: caps, extendedParameters: chance(0.2),
                           oneCapabilityPerParameter: caps.count > 1 && chance(0.3))
    }
}

@Suite struct RoundTripTests {
    static let seeds: [UInt64] = [1, 2, 3, 0xC0FFEE, 20_261_125]

    @Test(arguments: seeds)
    func updatesWithFourOctetASAndAddPath(seed: UInt64) throws {
        for addPath in [false, true] {
            var g = MessageGenerator(rng: SeededRandom(seed: seed), addPath: addPath)
            let families: Set<AddressFamily> = addPath ? [.ipv4Unicast, .ipv6Unicast] : []
            let enc = EncodeContext(fourOctetAS: true, addPath: families, extendedMessages: true)
            let dec = DecodeContext(fourOctetAS: true, addPath: families, extendedMessages: true)
            for _ in 0..<200 {
                let u = g.update()
                let bytes = try BGPMessage.update(u).encoded(context: enc)
                let back = try decodeOne(bytes, dec)
                #expect(back == .update(u))
                if back != .update(u) { return }
            }
        }
    }

    @Test(arguments: seeds)
    func updatesForATwoOctetPeerSurviveAS4Merging(seed: UInt64) throws {
        var g = MessageGenerator(rng: SeededRandom(seed: seed), twoOctetPeer: true)
        let enc = EncodeContext(fourOctetAS: false, extendedMessages: true)
        let dec = DecodeContext(fourOctetAS: false, extendedMessages: true)
        for _ in 0..<200 {
            let u = g.update()
            let back = try decodeOne(try BGPMessage.update(u).encoded(context: enc), dec)
            #expect(back == .update(u))
            if back != .update(u) { return }
        }
    }

    @Test(arguments: seeds)
    func opens(seed: UInt64) throws {
        var g = MessageGenerator(rng: SeededRandom(seed: seed))
        for _ in 0..<200 {
            let o = g.open()
            let back = try decodeOne(BGPMessage.open(o).encoded())
            var expected = o
            // A single capability is the same bytes either way; the decoder reports false.
            if o.capabilities.count <= 1 { expected.oneCapabilityPerParameter = false }
            #expect(back == .open(expected))
        }
    }

    @Test(arguments: seeds)
    func notificationsAndRouteRefresh(seed: UInt64) throws {
        var g = MessageGenerator(rng: SeededRandom(seed: seed))
        for _ in 0..<200 {
            let n = NotificationMessage(code: UInt8(g.int(1...7)), subcode: UInt8(g.int(0...12)),
                                        data: (0..<g.int(0...40)).map { _ in UInt8(g.int(0...255)) })
            #expect(try decodeOne(BGPMessage.notification(n).encoded()) == .notification(n))
            let subtype = RouteRefreshMessage.Subtype(rawValue: UInt8(g.int(0...255)))
            let trailing: [UInt8] = subtype == .beginningOfRIB || subtype == .endOfRIB ? [] : (0..<g.int(0...8)).map { _ in 7 }
            let rr = RouteRefreshMessage(family: AddressFamily(afi: UInt16(g.int(1...3)), safi: UInt8(g.int(1...255))),
                                         subtype: subtype, trailing: trailing)
            #expect(try decodeOne(BGPMessage.routeRefresh(rr).encoded()) == .routeRefresh(rr))
        }
    }

    @Test func oversizedUpdateIsRefusedNotTruncated() {
        let nlri = (0..<2000).map { i in NLRI(IPPrefix(.v4(IPv4Address(UInt32(i) << 8)), length: 24)) }
        let u = UpdateMessage(attributes: PathAttributes(origin: .igp, asPath: .empty, nextHop: v4("192.0.2.1")), nlri: nlri)
        #expect(throws: EncodeError.self) { try BGPMessage.update(u).encoded() }
        #expect(throws: Never.self) { try BGPMessage.update(u).encoded(context: EncodeContext(extendedMessages: true)) }
    }
}
