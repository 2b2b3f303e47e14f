import BGPSession
import NetCore
import Testing

/// Events that arrive in each state: unexpected messages, NOTIFICATIONs, TCP failures.
@Suite struct StateTableTests {
    static let opened: [SessionState] = [.openSent, .openConfirm, .established]
    static let all: [SessionState] = [.connect, .active, .openSent, .openConfirm, .established]

    struct Unexpected: Sendable, CustomTestStringConvertible {
        var state: SessionState
        var event: Event
        var subcode: UInt8
        var testDescription: String { "\(event.rfcName) in \(state)" }
    }

    static let unexpected: [Unexpected] = [
        Unexpected(state: .openSent, event: .keepaliveReceived, subcode: 1),
        Unexpected(state: .openSent, event: .updateReceived(.routes), subcode: 1),
        Unexpected(state: .openSent, event: .updateMessageError(NotificationMessage(code: 3, subcode: 1)), subcode: 1),
        Unexpected(state: .openSent, event: .routeRefreshReceived(RouteRefreshMessage(family: .ipv4Unicast)), subcode: 1),
        Unexpected(state: .openConfirm, event: .openReceived(Fx.peerOpen()), subcode: 2),
        Unexpected(state: .openConfirm, event: .updateReceived(.routes), subcode: 2),
        Unexpected(state: .openConfirm, event: .routeRefreshReceived(RouteRefreshMessage(family: .ipv4Unicast)), subcode: 2),
        Unexpected(state: .established, event: .openReceived(Fx.peerOpen()), subcode: 3),
        Unexpected(state: .established, event: .openMessageError(NotificationMessage(code: 2, subcode: 4)), subcode: 3),
    ]

    @Test(arguments: unexpected)
    func unexpectedMessageSendsFSMError(c: Unexpected) {
        var h = Harness()
        h.reach(c.state)
        let a = h.send(c.event)
        let fsmError = NotificationMessage(code: 5, subcode: c.subcode)
        #expect(a.first == .sendNotification(fsmError))
        #expect(a.contains(.closeConnection))
        #expect(a.last == .stateChanged(from: c.state, to: .idle))
        #expect(a.contains(.startTimer(.idleHold, .seconds(5))))
        #expect(a.sessionDown == (c.state == .established ? .notificationSent(fsmError) : nil))
        #expect(h.state == .idle)
    }

    /// Connect and Active send no NOTIFICATION (no OPEN was sent): RFC 4271 "any other event".
    @Test(arguments: [Event.keepaliveReceived, .updateReceived(.routes), .holdTimerExpires])
    func unexpectedEventInConnectGoesIdleWithoutNotification(event: Event) {
        var h = Harness()
        h.reach(.connect)
        let a = h.send(event)
        if event == .holdTimerExpires {
            #expect(a.isEmpty, "a timer that is not running cannot expire")
            return
        }
        #expect(a == [.closeConnection, .stopTimer(.connectRetry), .startTimer(.idleHold, .seconds(5)),
                      .stateChanged(from: .connect, to: .idle)])
        #expect(h.fsm.lastDownReason == .unexpectedEvent(event.rfcName))
    }

    @Test(arguments: all)
    func notificationReceivedInEachState(state: SessionState) {
        var h = Harness()
        h.reach(state)
        let n = NotificationMessage.cease(CeaseSubcode.administrativeShutdown, message: "maintenance")
        let a = h.send(.notificationReceived(n))
        #expect(a.notifications.isEmpty, "never answer a NOTIFICATION with one")
        #expect(h.state == .idle)
        #expect(a.sessionDown == (state == .established ? .notificationReceived(n) : nil))
        #expect(h.fsm.lastDownReason == .notificationReceived(n))
        #expect(n.shutdownCommunication == "maintenance")
        #expect(h.fsm.consecutiveFailures == 1)
        #expect(a.contains(.startTimer(.idleHold, .seconds(5))))
        // Connect has a connect in progress, Active (passive) none; the others an open connection.
        #expect(a.contains(.closeConnection) == (state != .active))
    }

    @Test func versionNotificationDoesNotCountAsFailure() {
        var h = Harness()
        h.reach(.openSent)
        h.send(.notificationReceived(NotificationMessage(code: 2, subcode: 1, data: [0, 3])))
        #expect(h.state == .idle)
        #expect(h.fsm.consecutiveFailures == 0)
    }

    struct TCPFailure: Sendable, CustomTestStringConvertible {
        var state: SessionState
        var next: SessionState
        var testDescription: String { "\(state) → \(next)" }
    }

    @Test(arguments: [
        TCPFailure(state: .connect, next: .idle), TCPFailure(state: .openSent, next: .active),
        TCPFailure(state: .openConfirm, next: .idle), TCPFailure(state: .established, next: .idle),
    ])
    func tcpFailureInEachState(c: TCPFailure) {
        var h = Harness()
        h.reach(c.state)
        let a = h.send(.tcpConnectionFails)
        #expect(h.state == c.next)
        #expect(a.notifications.isEmpty, "the connection is gone")
        #expect(a.contains(.closeConnection))
        #expect(a.sessionDown == (c.state == .established ? .connectionFailed : nil))
        if c.next == .active {
            // RFC 4271 OpenSent: back to Active, ConnectRetryTimer restarted — for our own
            // connection closed before the peer's OPEN, at the base idle hold time (BackoffTests).
            #expect(a == [.closeConnection, .stopTimer(.hold), .startTimer(.connectRetry, .milliseconds(250)),
                          .stateChanged(from: .openSent, to: .active)])
        } else {
            #expect(a.contains(.startTimer(.idleHold, .seconds(5))))
            #expect(h.fsm.lastDownReason == .connectionFailed)
        }
    }

    @Test func tcpFailureInActiveWithPendingDelayOpenGoesIdle() {
        var h = Harness(Fx.config(passive: true, delayOpen: .seconds(5)))
        h.send(.manualStart)
        h.send(.tcpConnectionConfirmed)
        #expect(h.state == .active)
        let a = h.send(.tcpConnectionFails)
        #expect(a == [.closeConnection, .stopTimer(.delayOpen), .startTimer(.idleHold, .seconds(5)),
                      .stateChanged(from: .active, to: .idle)])
    }

    @Test func passivePeerTCPFailureInOpenSentWaitsWithoutRetryTimer() {
        var h = Harness(Fx.config(passive: true))
        h.send(.manualStart)
        h.send(.tcpConnectionConfirmed)
        #expect(h.send(.tcpConnectionFails) == [.closeConnection, .stopTimer(.hold),
                                               .stateChanged(from: .openSent, to: .active)])
        #expect(h.advance(.seconds(3600)).isEmpty)
    }

    @Test(arguments: opened)
    func headerErrorSendsItsNotification(state: SessionState) {
        var h = Harness()
        h.reach(state)
        let n = NotificationMessage(code: 1, subcode: 2, data: [0, 10])
        let a = h.send(.headerError(n))
        #expect(a.first == .sendNotification(n))
        #expect(h.state == .idle)
    }

    @Test func updateErrorInEstablishedSendsItsNotification() {
        var h = Harness()
        h.establish()
        let n = NotificationMessage(code: 3, subcode: 11)
        let a = h.send(.updateMessageError(n))
        #expect(a == [.sendNotification(n), .closeConnection, .stopTimer(.hold), .stopTimer(.keepalive),
                      .stopTimer(.sendHold), .sessionDown(.notificationSent(n)), .startTimer(.idleHold, .seconds(5)),
                      .stateChanged(from: .established, to: .idle)])
    }

    @Test(arguments: opened)
    func automaticStopSendsItsNotificationAndRestartsLater(state: SessionState) {
        var h = Harness()
        h.reach(state)
        let n = NotificationMessage.cease(CeaseSubcode.maximumPrefixesReached)
        let a = h.send(.automaticStop(n))
        #expect(a.first == .sendNotification(n))
        #expect(a.contains(.startTimer(.idleHold, .seconds(5))))
        #expect(h.advance(.seconds(5)).contains(.connect))
    }

    @Test(arguments: all)
    func startEventsAreIgnoredOutsideIdle(state: SessionState) {
        var h = Harness()
        h.reach(state)
        for e in [Event.manualStart, .automaticStart, .manualStartPassive, .automaticStartPassive] {
            #expect(h.send(e).isEmpty)
        }
        #expect(h.state == state)
    }

    @Test func idleIgnoresMessagesAndRefusesConnectionsWhenDown() {
        var h = Harness()
        #expect(h.send(.keepaliveReceived).isEmpty)
        #expect(h.send(.holdTimerExpires).isEmpty)
        #expect(h.send(.notificationReceived(.holdTimerExpired)).isEmpty)
        #expect(h.send(.tcpConnectionConfirmed) == [.closeConnection])
        #expect(h.send(.tcpConnectionAcked) == [.closeConnection])
        #expect(h.state == .idle)
    }

    @Test func idleAcceptsThePeersConnectionDuringBackoff() {
        var h = Harness()
        h.send(.manualStart)
        h.send(.tcpConnectionFails)
        #expect(h.state == .idle)
        #expect(h.fsm.canAdoptIncomingConnection)
        #expect(h.send(.tcpConnectionConfirmed) == [
            .stopTimer(.idleHold), .sendOpen(h.fsm.config.localOpen), .startTimer(.hold, .seconds(240)),
            .stateChanged(from: .idle, to: .openSent),
        ])
    }

    /// Found by the random walk: with DelayOpen the adopted connection waits in Active, not Idle.
    @Test func idleAdoptsTheConnectionIntoActiveWithDelayOpen() {
        var h = Harness(Fx.config(delayOpen: .seconds(3)))
        h.send(.manualStart)
        h.send(.tcpConnectionFails)
        #expect(h.send(.tcpConnectionConfirmed) == [
            .stopTimer(.idleHold), .startTimer(.delayOpen, .seconds(3)), .stateChanged(from: .idle, to: .active),
        ])
        #expect(h.advance(.seconds(3)).contains(.stateChanged(from: .active, to: .openSent)))
    }

    @Test func openSentHoldTimerUsesTheLargeValue() {
        var h = Harness()
        h.reach(.openSent)
        #expect(h.advance(.seconds(239)).isEmpty)
        let a = h.advance(.seconds(1))
        #expect(a == [.sendNotification(.holdTimerExpired), .closeConnection,
                      .startTimer(.idleHold, .seconds(5)), .stateChanged(from: .openSent, to: .idle)])
    }

    @Test func openConfirmSendsKeepalivesAndExpiresHold() {
        var h = Harness()
        h.reach(.openConfirm)
        #expect(h.advance(.seconds(30)) == [.sendKeepalive, .startTimer(.keepalive, .seconds(30))])
        let a = h.advance(.seconds(60))
        #expect(a.notifications == [.holdTimerExpired])
        #expect(h.state == .idle)
    }
}
