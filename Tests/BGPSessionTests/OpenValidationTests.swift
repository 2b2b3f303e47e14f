import BGPSession
import NetCore
import Testing

@Suite struct OpenValidationTests {
    struct BadOpen: CustomTestStringConvertible, Sendable {
        var name: String
        var config: PeerSessionConfig
        var open: OpenMessage
        var expected: NotificationMessage
        var testDescription: String { name }
    }

    static let ibgp = Fx.config(peerAS: Fx.localAS)
    static func withAS(myAS: UInt16, as4: ASNumber?) -> OpenMessage {
        OpenMessage(myAS: myAS, holdTime: 90, routerID: Fx.peerID,
                    capabilities: CapabilitySet(fourOctetAS: as4))
    }

    static let cases: [BadOpen] = [
        BadOpen(name: "version 3 → 2/1 with our version", config: Fx.config(),
                open: { var o = Fx.peerOpen(); o.version = 3; return o }(),
                expected: NotificationMessage(code: 2, subcode: 1, data: [0, 4])),
        BadOpen(name: "wrong peer AS → 2/2", config: Fx.config(), open: Fx.peerOpen(asn: ASNumber(65000)),
                expected: NotificationMessage(code: 2, subcode: 2, data: [0, 0, 0xfd, 0xe8])),
        BadOpen(name: "wrong 2-octet AS without capability → 2/2", config: Fx.config(),
                open: withAS(myAS: 65000, as4: nil), expected: NotificationMessage(code: 2, subcode: 2, data: [0xfd, 0xe8])),
        BadOpen(name: "AS_TRANS without 4-octet capability → 2/2", config: Fx.config(peerAS: ASNumber(23456)),
                open: withAS(myAS: 23456, as4: nil), expected: NotificationMessage(code: 2, subcode: 2, data: [0x5b, 0xa0])),
        BadOpen(name: "2-octet field disagrees with 4-octet capability → 2/2", config: Fx.config(),
                open: withAS(myAS: 64000, as4: Fx.peerAS),
                expected: NotificationMessage(code: 2, subcode: 2, data: [0, 0, 0xfc, 0x01])),
        BadOpen(name: "large AS without AS_TRANS in the 2-octet field → 2/2", config: Fx.config(peerAS: ASNumber(4_200_000_000)),
                open: withAS(myAS: 64513, as4: ASNumber(4_200_000_000)),
                expected: NotificationMessage(code: 2, subcode: 2, data: [0xfa, 0x56, 0xea, 0x00])),
        BadOpen(name: "4-octet capability AS 0 → 2/2", config: Fx.config(), open: withAS(myAS: 23456, as4: ASNumber(0)),
                expected: NotificationMessage(code: 2, subcode: 2, data: [0, 0, 0, 0])),
        BadOpen(name: "hold time 1 → 2/6", config: Fx.config(), open: Fx.peerOpen(hold: 1),
                expected: NotificationMessage(code: 2, subcode: 6)),
        BadOpen(name: "hold time 2 → 2/6", config: Fx.config(), open: Fx.peerOpen(hold: 2),
                expected: NotificationMessage(code: 2, subcode: 6)),
        BadOpen(name: "BGP ID 0.0.0.0 → 2/3", config: Fx.config(), open: Fx.peerOpen(id: .any),
                expected: NotificationMessage(code: 2, subcode: 3)),
        BadOpen(name: "iBGP peer with our BGP ID → 2/3", config: ibgp,
                open: Fx.peerOpen(asn: Fx.localAS, id: Fx.localID), expected: NotificationMessage(code: 2, subcode: 3)),
        BadOpen(name: "no common family → 2/7 listing ours", config: Fx.config(),
                open: Fx.peerOpen(families: [.ipv6Unicast]),
                expected: NotificationMessage(code: 2, subcode: 7, data: [1, 4, 0, 1, 0, 1])),
    ]

    @Test(arguments: cases)
    func badOpenSendsItsNotificationAndGoesIdle(c: BadOpen) {
        var h = Harness(c.config)
        h.send(.manualStart)
        h.send(.tcpConnectionAcked)
        #expect(h.send(.openReceived(c.open)) == [
            .sendNotification(c.expected), .closeConnection, .stopTimer(.hold),
            .startTimer(.idleHold, .seconds(5)), .stateChanged(from: .openSent, to: .idle),
        ])
        #expect(h.fsm.lastDownReason == .notificationSent(c.expected))
        #expect(h.fsm.consecutiveFailures == 1)
    }

    @Test func ebgpPeerMayShareOurBGPIdentifier() {
        var h = Harness()
        h.send(.manualStart)
        h.send(.tcpConnectionAcked)
        h.send(.openReceived(Fx.peerOpen(id: Fx.localID)))
        #expect(h.state == .openConfirm)
    }

    @Test func fourOctetASWithASTransIsAccepted() {
        let big = ASNumber(4_200_000_000)
        var h = Harness(Fx.config(peerAS: big))
        h.send(.manualStart)
        h.send(.tcpConnectionAcked)
        let open = Fx.peerOpen(asn: big)
        #expect(open.myAS == 23456)
        h.send(.openReceived(open))
        #expect(h.state == .openConfirm)
        #expect(h.fsm.negotiated?.peerAS == big)
    }

    @Test func twoOctetOnlyPeerIsAccepted() {
        var h = Harness()
        h.send(.manualStart)
        h.send(.tcpConnectionAcked)
        h.send(.openReceived(OpenMessage(myAS: 64513, holdTime: 90, routerID: Fx.peerID, capabilities: CapabilitySet())))
        #expect(h.state == .openConfirm)
        #expect(h.fsm.negotiated?.fourOctetAS == false)
    }

    @Test func peerWithoutMultiprotocolCapabilityImpliesIPv4Unicast() {
        var h = Harness(Fx.config(families: [.ipv4Unicast, .ipv6Unicast]))
        h.send(.manualStart)
        h.send(.tcpConnectionAcked)
        h.send(.openReceived(Fx.peerOpen(families: [])))
        #expect(h.fsm.negotiated?.families == [.ipv4Unicast])
    }

    @Test func ourOpenCarriesASTransAndTheCapabilities() {
        var c = Fx.config(families: [.ipv4Unicast, .ipv6Unicast])
        c.localAS = ASNumber(4_200_000_001)
        c.addPath = [.ipv4Unicast: .both]
        let o = c.localOpen
        #expect(o.version == 4)
        #expect(o.myAS == 23456)
        #expect(o.autonomousSystem == ASNumber(4_200_000_001))
        #expect(o.holdTime == 90)
        #expect(o.routerID == Fx.localID)
        #expect(o.capabilities.families == [.ipv4Unicast, .ipv6Unicast])
        #expect(o.capabilities.routeRefresh && o.capabilities.enhancedRouteRefresh)
        #expect(o.capabilities.gracefulRestart?.restartTime == 120)
        #expect(o.capabilities.gracefulRestart?.families == [.ipv4Unicast: false, .ipv6Unicast: false])
        #expect(o.capabilities.addPath == [.ipv4Unicast: .both])
    }
}
