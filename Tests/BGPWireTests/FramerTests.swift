import BGPWire
import NetCore
import Testing

@Suite struct FramerTests {
    let keepalive = BGPMessage.keepaliveBytes

    @Test func needsMoreUntilHeaderAndBodyArrive() throws {
        let f = MessageFramer()
        #expect(try f.next(in: []) == .needMore(totalBytes: 19))
        #expect(try f.next(in: Array(keepalive.prefix(18))) == .needMore(totalBytes: 19))
        let open = OpenMessage(myAS: 65001, holdTime: 90, bgpIdentifier: v4("10.0.0.1"), capabilities: []).encoded()
        #expect(try f.next(in: Array(open.prefix(20))) == .needMore(totalBytes: open.count))
        #expect(try f.next(in: open) == .message(type: .open, length: open.count))
    }

    @Test func splitsAStreamAndKeepsTheRemainder() throws {
        let stream = keepalive + keepalive + Array(keepalive.prefix(7))
        let (ranges, consumed) = try MessageFramer().split(stream)
        #expect(ranges == [0..<19, 19..<38])
        #expect(consumed == 38)
        #expect(try MessageFramer().next(in: stream, from: 38) == .needMore(totalBytes: 19))
    }

    @Test func headerErrorsCarryTheRFCData() {
        var bad = keepalive
        bad[3] = 0
        #expect(throws: WireError(code: 1, subcode: 1, reason: "")) { try MessageFramer().next(in: bad) }
        var long = keepalive
        long[16] = 0x10; long[17] = 0x01
        #expect(throws: WireError(code: 1, subcode: 2, data: [0x10, 0x01], reason: "")) {
            try MessageFramer().next(in: long)
        }
        var type = keepalive
        type[18] = 9
        #expect(throws: WireError(code: 1, subcode: 3, data: [9], reason: "")) { try MessageFramer().next(in: type) }
    }

    @Test func extendedMessagesRaiseTheLimitExceptForOpenAndKeepalive() throws {
        var update = [UInt8](repeating: 0xff, count: 16) + [0x13, 0x88, 2]  // 5000
        update += [UInt8](repeating: 0, count: 5000 - 19)
        #expect(throws: WireError(code: 1, subcode: 2, data: [0x13, 0x88], reason: "")) {
            try MessageFramer().next(in: update)
        }
        #expect(try MessageFramer(extendedMessages: true).next(in: update) == .message(type: .update, length: 5000))
        var open = update
        open[18] = 1
        #expect(throws: WireError(code: 1, subcode: 2, data: [0x13, 0x88], reason: "")) {
            try MessageFramer(extendedMessages: true).next(in: open)
        }
    }
}

@Suite struct OpenEncodingTests {
    @Test func longCapabilityListsSwitchToRFC9072() throws {
        let caps: [Capability] = (0..<40).map { .unknown(code: 200, value: [UInt8](repeating: UInt8($0), count: 6)) }
        let open = OpenMessage(myAS: 65001, holdTime: 90, bgpIdentifier: v4("10.0.0.1"), capabilities: caps)
        let bytes = open.encoded()
        // Non-Ext OP Len 255, Non-Ext OP Type 255, then a 2-octet length (RFC 9072 §2).
        #expect(Array(bytes[28...29]) == [255, 255])
        #expect(Int(bytes[30]) << 8 | Int(bytes[31]) == bytes.count - 32)
        var expected = open
        expected.extendedParameters = true
        #expect(try decodeOne(bytes) == .open(expected))
    }

    @Test func fourOctetASGoesInTheCapability() {
        let open = OpenMessage(asn: ASNumber(4_200_000_001), holdTime: 90, bgpIdentifier: v4("10.0.0.1"),
                               capabilities: [.multiprotocol(.ipv4Unicast)])
        #expect(open.myAS == 23456)
        #expect(open.asNumber == ASNumber(4_200_000_001))
        #expect(open.capabilities.last == .fourOctetAS(4_200_000_001))
        #expect(OpenMessage(asn: ASNumber(65001), holdTime: 90, bgpIdentifier: v4("10.0.0.1"), capabilities: []).myAS == 65001)
    }
}

@Suite struct WireReaderTests {
    let short = WireError(code: 9, subcode: 9, reason: "short")

    @Test func readsBigEndianAndStopsAtTheEnd() throws {
        var r = WireReader([1, 2, 3, 4, 5, 6, 7, 8, 9], range: 1..<8, truncation: short)
        #expect(try r.u16() == 0x0203)
        #expect(try r.u24() == 0x040506)
        #expect(r.remaining == 2)
        #expect(throws: short) { try r.u32() }
        #expect(r.remaining == 2, "a failed read consumes nothing")
        #expect(try r.u16() == 0x0708)
        #expect(r.isAtEnd)
        #expect(throws: short) { try r.u8() }
    }

    @Test func subReadersAreBoundedAndThrowTheirOwnError() throws {
        let inner = WireError(code: 8, subcode: 8, reason: "inner")
        var r = WireReader([0, 1, 2, 3, 4, 5], truncation: short)
        var sub = try r.subReader(3, truncation: inner)
        #expect(r.remaining == 3)
        #expect(try sub.bytes(3) == [0, 1, 2])
        #expect(throws: inner) { try sub.u8() }
        #expect(throws: short) { try r.subReader(4) }
        #expect(r.rest() == [3, 4, 5])
    }

    @Test func writerPatchesLengths() {
        var w = WireWriter()
        let at = w.placeholder(width: 2)
        w.u32(0xdead_beef)
        w.u64(1)
        w.patchLength(at: at, width: 2)
        #expect(w.bytes == [0, 12, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 1])
    }
}
