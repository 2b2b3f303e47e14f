@testable import BGPSpeaker
import BGPSession
import BGPWire
import NetCore
import Testing

@Suite struct WireBridgeTests {
    /// Thousands of prefixes of both families: every UPDATE fits 4096 bytes and decoding them
    /// gives back exactly what was sent (IPv4 in classic NLRI, IPv6 in MP_REACH with its next hop).
    @Test func updatesSplitToFitAndRoundTrip() throws {
        var announce: [IPPrefix: RouteAttributes] = [:]
        let a4 = RouteAttributes(path: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001, 4_200_000_001]), localPref: 100),
                                 nextHop: IPAddress("192.0.2.1")!)
        let a6 = RouteAttributes(path: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001])), nextHop: IPAddress("fd00::1")!)
        for i in 0..<5000 { announce[IPPrefix("10.\(i / 256).\(i % 256).0/24")!] = a4 }
        for i in 0..<2000 { announce[IPPrefix("2001:db8:\(String(i, radix: 16))::/48")!] = a6 }
        let withdraw = (0..<1500).map { IPPrefix("172.16.\($0 / 256).\($0 % 256)/32")! } + [IPPrefix("2001:db8:ffff::/48")!]
        let ctx = WireContext()
        let msgs = WireBridge.encodeUpdates(announce: announce, withdraw: withdraw, context: ctx)
        #expect(msgs.allSatisfy { $0.count <= 4096 })
        var got: [IPPrefix: RouteAttributes] = [:]
        var gone: [IPPrefix] = []
        for m in msgs {
            guard case .update(let u) = WireBridge.decode(m, type: .update, context: ctx) else {
                Issue.record("not an UPDATE")
                continue
            }
            for (a, ps) in u.announced { for p in ps { got[p] = a } }
            gone += u.withdrawn
        }
        #expect(got == announce)
        #expect(Set(gone) == Set(withdraw))
        // Withdrawals go first.
        if case .update(let first) = WireBridge.decode(msgs[0], type: .update, context: ctx) { #expect(!first.withdrawn.isEmpty) }
    }

    @Test func endOfRIBMarkers() {
        let ctx = WireContext()
        for f in [SessionFamily.ipv4Unicast, .ipv6Unicast] {
            let m = WireBridge.encodeEndOfRIB(f, context: ctx)
            guard case .update(let u) = WireBridge.decode(m, type: .update, context: ctx) else {
                Issue.record("not an UPDATE")
                continue
            }
            #expect(u.endOfRIB == f)
        }
    }

    @Test func openRoundTripKeepsCapabilities() {
        let caps = CapabilitySet(families: [.ipv4Unicast, .ipv6Unicast], fourOctetAS: ASNumber(4_200_000_001),
                                 routeRefresh: true, enhancedRouteRefresh: true)
        let open = BGPSession.OpenMessage(autonomousSystem: ASNumber(4_200_000_001), holdTime: 90,
                                          routerID: IPv4Address(10, 0, 0, 1), capabilities: caps)
        let bytes = WireBridge.encodeOpen(open)
        guard case .event(.openReceived(let back)) = WireBridge.decode(bytes, type: .open, context: WireContext()) else {
            Issue.record("OPEN did not decode")
            return
        }
        #expect(back == open)
        #expect(back.myAS == 23456)  // AS_TRANS in the 2-octet field
    }

    @Test func malformedMessagesBecomeFSMErrorEvents() {
        // An UPDATE whose withdrawn-routes length overruns the message: 3/1, handed to the FSM.
        var bad: [UInt8] = Array(repeating: 0xff, count: 16) + [0, 23, 2, 0x00, 0x10, 0, 0]
        bad[17] = UInt8(bad.count)
        guard case .event(.updateMessageError(let n)) = WireBridge.decode(bad, type: .update, context: WireContext()) else {
            Issue.record("expected an UPDATE error event")
            return
        }
        #expect(n.code == 3)
    }
}
