import BGPWire
import NetCore
import Testing

@Suite struct AS4Tests {
    let old = DecodeContext(fourOctetAS: false)
    let seg2 = "400206 0202 fde9 5ba0"                      // AS_PATH 65001 AS_TRANS (2-octet)
    let as4 = "c0110a 0202 0000fde9 fde9fde9"               // AS4_PATH 65001 4259970537
    let base = "400101 00 400304 c0000201"

    func decoded(_ attrs: String, _ ctx: DecodeContext) throws -> UpdateMessage {
        guard case .update(let u) = try decodeOne(updateBytes(attributes: attrs, nlri: "18c63364"), ctx) else {
            throw WireError(code: 0, subcode: 0, reason: "not an UPDATE")
        }
        return u
    }

    @Test func as4PathReplacesASTransFromAnOldSpeaker() throws {
        let u = try decoded(base + seg2 + as4, old)
        #expect(u.errors.isEmpty)
        #expect(u.attributes.asPath == ASPath(sequence: [65001, 4_259_970_537]))
    }

    @Test func leadingASesOfALongerASPathArePrepended() throws {
        // AS_PATH 64999 65001 AS_TRANS, AS4_PATH 65001 4259970537: 64999 was prepended by an OLD speaker.
        let u = try decoded(base + "400208 0203 fde7 fde9 5ba0" + as4, old)
        #expect(u.attributes.asPath == ASPath(sequence: [64999, 65001, 4_259_970_537]))
    }

    @Test func aShorterASPathWinsOverAS4Path() throws {
        let u = try decoded(base + "400204 0201 5ba0" + as4, old)
        #expect(u.attributes.asPath == ASPath(sequence: [23456]))
    }

    @Test func aggregatorWithoutASTransMakesAS4AttributesStale() throws {
        // RFC 6793 §4.2.3: AGGREGATOR 65001 (not AS_TRANS) → ignore AS4_AGGREGATOR and AS4_PATH.
        let u = try decoded(base + seg2 + "c00706 fde9 c0000201" + as4 + "c01208 fde9fde9 c0000202", old)
        #expect(u.attributes.asPath == ASPath(sequence: [65001, 23456]))
        #expect(u.attributes.aggregator == Aggregator(asn: 65001, address: v4("192.0.2.1")))
    }

    @Test func as4AggregatorReplacesASTrans() throws {
        let u = try decoded(base + seg2 + "c00706 5ba0 c0000201" + as4 + "c01208 fde9fde9 c0000202", old)
        #expect(u.attributes.asPath == ASPath(sequence: [65001, 4_259_970_537]))
        #expect(u.attributes.aggregator == Aggregator(asn: 4_259_970_537, address: v4("192.0.2.2")))
    }

    @Test func aNewSpeakerSendingAS4PathIsIgnored() throws {
        let u = try decoded(base + "40020a 0202 0000fde9 00005ba0" + as4, DecodeContext())
        #expect(u.errors.isEmpty)
        #expect(u.attributes.asPath == ASPath(sequence: [65001, 23456]))
    }

    @Test func confederationSegmentsStayOutOfAS4Path() throws {
        let path = ASPath([ASPathSegment(.confedSequence, [65010]), ASPathSegment(.sequence, [4_259_970_537])])
        let u = UpdateMessage(attributes: PathAttributes(origin: .igp, asPath: path, nextHop: v4("192.0.2.1")),
                              nlri: [prefix("198.51.100.0/24")])
        let bytes = try BGPMessage.update(u).encoded(context: EncodeContext(fourOctetAS: false))
        // AS_PATH (confed 65010)(AS_TRANS), AS4_PATH with only the sequence.
        #expect(hexString(bytes).contains("400208" + "0301fdf2" + "02015ba0"))
        #expect(hexString(bytes).contains("c01106" + "0201fde9fde9"))
        #expect(try decodeOne(bytes, old) == .update(u))
    }

    @Test func pathHelpers() {
        let p = ASPath([ASPathSegment(.confedSequence, [1, 2]), ASPathSegment(.sequence, [65001, 65002]),
                        ASPathSegment(.set, [3, 4, 5])])
        #expect(p.length == 3)
        #expect(p.firstAS == nil)
        #expect(ASPath(sequence: [7, 8]).prepending(9, count: 2) == ASPath(sequence: [9, 9, 7, 8]))
        #expect(p.description == "(1 2) 65001 65002 {3 4 5}")
        #expect(ASPath(sequence: [1, 2, 3]).originAS == 3)
        #expect(p.contains(4))
    }
}

@Suite struct PackerTests {
    let attrs = PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001]), nextHop: v4("192.0.2.1"),
                               communities: [Community(asn: 65001, local: 1)])

    func prefixes(_ n: Int, v6: Bool = false) -> [NLRI] {
        (0..<n).map { i in
            v6 ? NLRI(IPPrefix(.v6(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(i) << 16, low: 0)), length: 48))
               : NLRI(IPPrefix(.v4(IPv4Address(0x0a00_0000 | UInt32(i) << 8)), length: 24))
        }
    }

    func decodeAll(_ messages: [[UInt8]], _ ctx: DecodeContext = DecodeContext()) throws -> [UpdateMessage] {
        try messages.map { m in
            #expect(m.count <= ctx.maxMessageSize)
            guard case .update(let u) = try decodeOne(m, ctx) else { throw WireError(code: 0, subcode: 0, reason: "x") }
            #expect(u.errors.isEmpty)
            return u
        }
    }

    @Test func ipv4AnnouncementsFillMessagesToTheLimit() throws {
        let all = prefixes(3000)
        let msgs = try UpdatePacker.announcements(all, family: .ipv4Unicast, attributes: attrs, context: EncodeContext())
        let back = try decodeAll(msgs)
        #expect(back.flatMap(\.nlri) == all)
        #expect(back.allSatisfy { $0.attributes == attrs })
        // 4-byte NLRI, ~4050 bytes of room: 3000 prefixes need 3 messages, the first ones nearly full.
        #expect(msgs.count == 3)
        #expect(msgs[0].count > 4096 - 4)
    }

    @Test func ipv6AnnouncementsUseMPReachAndExtendedMessages() throws {
        let all = prefixes(5000, v6: true)
        let ctx = EncodeContext(extendedMessages: true)
        let msgs = try UpdatePacker.announcements(all, family: .ipv6Unicast, attributes: attrs,
                                                  nextHop: .ipv6(v6("2001:db8::1")), context: ctx)
        let back = try decodeAll(msgs, DecodeContext(extendedMessages: true))
        #expect(back.compactMap(\.mpReach).flatMap(\.nlri) == all)
        #expect(back.allSatisfy { $0.attributes.nextHop == nil && $0.mpReach?.nextHop == .ipv6(v6("2001:db8::1")) })
        #expect(msgs.count == 1)
    }

    @Test func withdrawalsWithAddPath() throws {
        let all = prefixes(2000).enumerated().map { NLRI($1.prefix, pathID: UInt32($0)) }
        let ctx = EncodeContext(addPath: [.ipv4Unicast, .ipv6Unicast])
        let msgs = try UpdatePacker.withdrawals(all, family: .ipv4Unicast, context: ctx)
        let back = try decodeAll(msgs, DecodeContext(addPath: [.ipv4Unicast, .ipv6Unicast]))
        #expect(back.flatMap(\.withdrawn) == all)
        #expect(msgs.count == 4)  // 8 bytes each
        let v6 = prefixes(700, v6: true)
        let back6 = try decodeAll(try UpdatePacker.withdrawals(v6, family: .ipv6Unicast, context: EncodeContext()))
        #expect(back6.compactMap(\.mpUnreach).flatMap(\.withdrawn) == v6)
    }

    @Test func emptyInputGivesNoMessages() throws {
        #expect(try UpdatePacker.withdrawals([], family: .ipv4Unicast, context: EncodeContext()).isEmpty)
    }
}
