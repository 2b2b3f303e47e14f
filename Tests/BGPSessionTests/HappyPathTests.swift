import BGPSession
import NetCore
import Testing

@Suite struct HappyPathTests {
    @Test func activeOpenReachesEstablished() throws {
        var h = Harness()
        let local = h.fsm.config.localOpen
        #expect(h.send(.manualStart) == [
            .startTimer(.connectRetry, .seconds(30)), .connect, .stateChanged(from: .idle, to: .connect),
        ])
        #expect(h.send(.tcpConnectionAcked) == [
            .stopTimer(.connectRetry), .sendOpen(local), .startTimer(.hold, .seconds(240)),
            .stateChanged(from: .connect, to: .openSent),
        ])
        #expect(h.fsm.connectionDirection == .outbound)
        #expect(h.send(.openReceived(Fx.peerOpen())) == [
            .sendKeepalive, .startTimer(.keepalive, .seconds(30)), .startTimer(.hold, .seconds(90)),
            .stateChanged(from: .openSent, to: .openConfirm),
        ])
        let negotiated = try #require(h.fsm.negotiated)
        #expect(h.send(.keepaliveReceived) == [
            .startTimer(.hold, .seconds(90)), .startTimer(.sendHold, .seconds(480)),
            .stateChanged(from: .openConfirm, to: .established), .sessionEstablished(negotiated),
        ])
        #expect(negotiated.peerAS == Fx.peerAS)
        #expect(negotiated.peerRouterID == Fx.peerID)
        #expect(negotiated.holdTime == 90)
        #expect(negotiated.families == [.ipv4Unicast])
        #expect(negotiated.fourOctetAS)
        #expect(negotiated.routeRefresh)
        #expect(h.fsm.establishedAt == h.now)
    }

    @Test func passivePeerWaitsInActiveAndNeverConnects() {
        var h = Harness(Fx.config(passive: true))
        #expect(h.send(.manualStart) == [.stateChanged(from: .idle, to: .active)])
        #expect(h.advance(.seconds(3600)).isEmpty, "a passive peer never connects")
        #expect(h.send(.tcpConnectionConfirmed) == [
            .sendOpen(h.fsm.config.localOpen), .startTimer(.hold, .seconds(240)),
            .stateChanged(from: .active, to: .openSent),
        ])
        #expect(h.fsm.connectionDirection == .inbound)
        h.send(.openReceived(Fx.peerOpen()))
        h.send(.keepaliveReceived)
        #expect(h.state == .established)
    }

    @Test func passiveStartEventOnActivePeerStillRetriesConnect() {
        var h = Harness()
        #expect(h.send(.manualStartPassive) == [
            .startTimer(.connectRetry, .seconds(30)), .stateChanged(from: .idle, to: .active),
        ])
        #expect(h.advance(.seconds(30)) == [
            .startTimer(.connectRetry, .seconds(30)), .connect, .stateChanged(from: .active, to: .connect),
        ])
    }

    @Test func keepalivesAreScheduledAndReceivedKeepalivesRestartHold() {
        var h = Harness()
        h.establish()
        // Our keepalive every 30 s; the peer's keepalive every 30 s keeps the hold timer away.
        for _ in 0..<10 {
            #expect(h.advance(.seconds(30)) == [.sendKeepalive, .startTimer(.keepalive, .seconds(30))])
            #expect(h.send(.keepaliveReceived) == [.startTimer(.hold, .seconds(90))])
        }
        #expect(h.state == .established)
        // An UPDATE restarts the hold timer too and is delivered.
        #expect(h.send(.updateReceived(.routes)) == [.startTimer(.hold, .seconds(90)), .deliverUpdate])
    }

    @Test func holdTimerExpirySendsHoldTimerExpiredAndGoesIdle() {
        var h = Harness()
        h.establish()
        // No keepalives from the peer: our keepalives go out at 30 s and 60 s; at 90 s the hold
        // timer fires (before the third keepalive, which is then stopped).
        let actions = h.advance(.seconds(90))
        #expect(Array(actions.prefix(4)) == [
            .sendKeepalive, .startTimer(.keepalive, .seconds(30)),
            .sendKeepalive, .startTimer(.keepalive, .seconds(30)),
        ])
        let tail = Array(actions.drop(while: { $0 != .sendNotification(.holdTimerExpired) }))
        #expect(tail == [
            .sendNotification(NotificationMessage(code: 4, subcode: 0)), .closeConnection,
            .stopTimer(.keepalive), .stopTimer(.sendHold), .sessionDown(.holdTimerExpired), .startTimer(.idleHold, .seconds(5)),
            .stateChanged(from: .established, to: .idle),
        ])
        #expect(h.state == .idle)
        #expect(h.fsm.lastDownReason == .holdTimerExpired)
    }

    @Test func holdTimeZeroMeansNoHoldAndNoKeepalive() {
        var h = Harness()
        h.send(.manualStart)
        h.send(.tcpConnectionAcked)
        #expect(h.send(.openReceived(Fx.peerOpen(hold: 0))) == [
            .sendKeepalive, .stopTimer(.hold), .stateChanged(from: .openSent, to: .openConfirm),
        ])
        #expect(h.fsm.negotiated?.holdTime == 0)
        #expect(h.fsm.negotiated?.keepaliveInterval == nil)
        let est = h.send(.keepaliveReceived)
        #expect(est.startedTimers.isEmpty)
        #expect(h.state == .established)
        #expect(h.advance(.seconds(86_400)).isEmpty, "no timers with hold time 0")
        #expect(h.send(.keepaliveReceived).isEmpty)
    }

    @Test func incomingConnectionInConnectIsAdopted() {
        var h = Harness()
        h.send(.manualStart)
        #expect(h.fsm.canAdoptIncomingConnection)
        let a = h.send(.tcpConnectionConfirmed)
        #expect(a.contains(.sendOpen(h.fsm.config.localOpen)))
        #expect(h.fsm.connectionDirection == .inbound)
        #expect(!h.fsm.canAdoptIncomingConnection)
    }

    @Test func staleTimerExpiryIsIgnored() {
        var h = Harness()
        h.establish()
        // The hold timer was restarted by a keepalive: an expiry from the old timer is stale.
        h.advance(.seconds(60))
        h.send(.keepaliveReceived)
        h.advance(.seconds(31))
        #expect(h.send(.holdTimerExpires).isEmpty)
        #expect(h.send(.connectRetryTimerExpires).isEmpty, "not running")
        #expect(h.state == .established)
    }
}
