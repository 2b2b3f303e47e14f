import BGPSession
import NetCore
import Testing

@Suite struct ManualStopTests {
    @Test func manualStopInEstablishedSendsAdministrativeShutdownWithText() {
        var h = Harness()
        h.establish()
        let a = h.send(.manualStop(message: "node drained"))
        let cease = NotificationMessage(code: 6, subcode: 2, data: [12] + Array("node drained".utf8))
        #expect(a == [.sendNotification(cease), .closeConnection, .stopTimer(.hold), .stopTimer(.keepalive),
                      .stopTimer(.sendHold), .sessionDown(.administrativeStop(cease)), .stateChanged(from: .established, to: .idle)])
        #expect(cease.shutdownCommunication == "node drained")
        #expect(!h.fsm.isAdministrativelyUp)
        #expect(h.advance(.seconds(3600)).isEmpty, "no automatic restart after ManualStop")
    }

    @Test func manualStopWithoutText() {
        var h = Harness()
        h.reach(.openConfirm)
        #expect(h.send(.manualStop()).notifications == [NotificationMessage(code: 6, subcode: 2)])
    }

    @Test func manualStopWithOtherCeaseSubcode() {
        var h = Harness()
        h.reach(.openSent)
        let a = h.send(.manualStop(subcode: CeaseSubcode.peerDeconfigured, message: "ignored"))
        #expect(a.notifications == [NotificationMessage(code: 6, subcode: 3)])
    }

    @Test(arguments: [SessionState.connect, .active])
    func manualStopBeforeOpenSendsNothing(state: SessionState) {
        var h = Harness()
        h.reach(state)
        let a = h.send(.manualStop())
        #expect(a.notifications.isEmpty)
        #expect(h.state == .idle)
        #expect(h.fsm.lastDownReason == .administrativeStop(.cease(CeaseSubcode.administrativeShutdown)))
    }

    @Test func manualStopInIdleCancelsThePendingRestart() {
        var h = Harness()
        h.send(.manualStart)
        h.send(.tcpConnectionFails)
        #expect(h.fsm.deadline(of: .idleHold) != nil)
        #expect(h.send(.manualStop()) == [.stopTimer(.idleHold)])
        #expect(h.advance(.seconds(600)).isEmpty)
        #expect(h.send(.tcpConnectionConfirmed) == [.closeConnection], "admin down refuses the peer")
    }

    @Test func shutdownCommunicationIsCutAt255OctetsOnACharacterBoundary() {
        let text = String(repeating: "é", count: 200)  // 400 octets
        let n = NotificationMessage.cease(CeaseSubcode.administrativeReset, message: text)
        #expect(n.data.first == 254)
        #expect(n.data.count == 255)
        #expect(n.shutdownCommunication == String(repeating: "é", count: 127))
        #expect(NotificationMessage.cease(CeaseSubcode.connectionRejected, message: "x").data.isEmpty)
    }

    @Test func notificationNamesForLogs() {
        #expect("\(NotificationMessage.holdTimerExpired)" == "4/0 Hold Timer Expired")
        #expect("\(NotificationMessage.fsmError(in: .openConfirm))"
                == "5/2 Finite State Machine Error: Unexpected Message in OpenConfirm")
        #expect(NotificationCode.name(code: 6, subcode: 7) == "Cease: Connection Collision Resolution")
    }
}
