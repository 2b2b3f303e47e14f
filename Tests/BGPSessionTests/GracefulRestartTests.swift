import BGPSession
import NetCore
import Testing

/// GR helper decisions (RFC 4724 §4.2, RFC 8538): which session ends keep the peer's routes.
@Suite struct GracefulRestartTests {
    static let families: Set<AddressFamily> = [.ipv4Unicast, .ipv6Unicast]
    static func peerGR(n: Bool = false, restart: UInt16 = 120) -> GracefulRestartCapability {
        GracefulRestartCapability(notification: n, restartTime: restart,
                                  families: [.ipv4Unicast: true, .ipv6Unicast: false])
    }

    struct Down: Sendable, CustomTestStringConvertible {
        var name: String
        var event: Event
        var retainWithoutN: Bool
        var retainWithN: Bool
        var testDescription: String { name }
    }

    static let downs: [Down] = [
        Down(name: "TCP failure", event: .tcpConnectionFails, retainWithoutN: true, retainWithN: true),
        Down(name: "hold timer", event: .holdTimerExpires, retainWithoutN: true, retainWithN: true),
        Down(name: "collision (peer reconnected)", event: .openCollisionDump, retainWithoutN: true, retainWithN: true),
        Down(name: "NOTIFICATION received", event: .notificationReceived(.cease(CeaseSubcode.administrativeReset)),
             retainWithoutN: false, retainWithN: true),
        Down(name: "Hard Reset received", event: .notificationReceived(.cease(CeaseSubcode.hardReset)),
             retainWithoutN: false, retainWithN: false),
        Down(name: "UPDATE error sent", event: .updateMessageError(NotificationMessage(code: 3, subcode: 1)),
             retainWithoutN: false, retainWithN: true),
        Down(name: "our ManualStop", event: .manualStop(), retainWithoutN: false, retainWithN: false),
    ]

    @Test(arguments: downs, [false, true])
    func retention(d: Down, nBit: Bool) {
        var c = Fx.config(families: Self.families)
        c.gracefulRestart = LocalGracefulRestart(notification: true)
        var h = Harness(c)
        h.establish(Fx.peerOpen(families: Self.families, gr: Self.peerGR(n: nBit)))
        if d.event == .holdTimerExpires { h.now = h.fsm.deadline(of: .hold)! }
        let a = h.send(d.event)
        let retained = a.compactMap { if case .retainStaleRoutes(let f, let t) = $0 { (f, t) } else { nil } }
        if nBit ? d.retainWithN : d.retainWithoutN {
            #expect(retained.count == 1)
            #expect(retained.first?.0 == Self.families, "every GR family, whatever its F bit")
            #expect(retained.first?.1 == .seconds(120))
            let i = a.firstIndex { if case .retainStaleRoutes = $0 { true } else { false } }!
            #expect(a[i + 1] == .sessionDown(h.fsm.lastDownReason!), "retain comes right before sessionDown")
        } else {
            #expect(retained.isEmpty)
        }
        #expect(a.sessionDown != nil)
    }

    @Test func noRetentionWithoutGROrWithRestartTimeZero() {
        var h = Harness()
        h.establish()
        #expect(!h.send(.tcpConnectionFails).contains { if case .retainStaleRoutes = $0 { true } else { false } })
        var h0 = Harness()
        h0.establish(Fx.peerOpen(gr: Self.peerGR(restart: 0)))
        #expect(!h0.send(.tcpConnectionFails).contains { if case .retainStaleRoutes = $0 { true } else { false } })
    }

    @Test func familiesToFlushAfterTheRestart() throws {
        let c = Fx.config(families: Self.families)
        let open = Fx.peerOpen(families: Self.families, gr: Self.peerGR())
        let s = try OpenNegotiation.negotiate(open, config: c).get()
        // v6 came back without forwarding state: flush it now; v4 waits for End-of-RIB.
        #expect(s.staleFamiliesToFlush(retained: Self.families) == [.ipv6Unicast])
        let noGR = try OpenNegotiation.negotiate(Fx.peerOpen(families: Self.families), config: c).get()
        #expect(noGR.staleFamiliesToFlush(retained: Self.families) == Self.families)
    }
}

@Suite struct HardResetTests {
    static func session(nBit: Bool) -> Harness {
        var c = Fx.config()
        c.gracefulRestart = LocalGracefulRestart(notification: true)
        var h = Harness(c)
        h.establish(Fx.peerOpen(gr: GracefulRestartCapability(notification: nBit, restartTime: 120,
                                                              families: [.ipv4Unicast: true])))
        return h
    }

    @Test func manualStopWithNBitSendsHardReset() throws {
        var h = Self.session(nBit: true)
        let a = h.send(.manualStop(message: "bye"))
        let n = try #require(a.notifications.first)
        #expect(n.code == 6 && n.subcode == 9)
        #expect(n.data == [2, 3] + Array("bye".utf8))
        #expect(n.hardResetInner == NotificationMessage.cease(CeaseSubcode.administrativeShutdown, message: "bye"))
        #expect(n.shutdownCommunication == "bye")
        #expect(!a.contains { if case .retainStaleRoutes = $0 { true } else { false } })
    }

    @Test func manualStopWithoutNBitSendsPlainCease() {
        var h = Self.session(nBit: false)
        #expect(h.send(.manualStop()).notifications == [NotificationMessage(code: 6, subcode: 2)])
    }

    @Test func otherConfigurationChangeIsNotAHardReset() {
        var h = Self.session(nBit: true)
        #expect(h.send(.manualStop(subcode: CeaseSubcode.otherConfigurationChange)).notifications
                == [NotificationMessage(code: 6, subcode: 6)])
    }

    @Test func maximumPrefixesWithNBitIsAHardReset() {
        var h = Self.session(nBit: true)
        let a = h.send(.automaticStop(.cease(CeaseSubcode.maximumPrefixesReached)))
        #expect(a.notifications == [NotificationMessage(code: 6, subcode: 9, data: [1])])
    }
}
