import BGPSession
import NetCore
import Testing

/// A session attempt that fails after the connection was made (the peer's OPEN is refused):
/// it counts toward the idle hold backoff. Returns the actions of the failure.
@discardableResult
private func failAfterConnecting(_ h: inout Harness) -> [Action] {
    h.send(.tcpConnectionAcked)
    return h.send(.openReceived(Fx.peerOpen(asn: ASNumber(1))))  // bad peer AS: NOTIFICATION, Idle
}

@Suite struct BackoffTests {
    @Test func connectRetryInConnectRestartsTheConnect() {
        var h = Harness()
        h.send(.manualStart)
        #expect(h.advance(.seconds(29)).isEmpty)
        #expect(h.advance(.seconds(1)) == [.closeConnection, .startTimer(.connectRetry, .seconds(30)), .connect])
        #expect(h.state == .connect)
        #expect(h.fsm.consecutiveFailures == 0)
    }

    @Test func connectRetryInActiveConnects() {
        var h = Harness()
        h.reach(.openSent)
        h.send(.tcpConnectionFails)
        #expect(h.state == .active)
        #expect(h.advance(.seconds(30)) == [
            .startTimer(.connectRetry, .seconds(30)), .connect, .stateChanged(from: .active, to: .connect),
        ])
    }

    @Test func idleHoldDoublesUpToTheCap() {
        var h = Harness()
        h.send(.manualStart)
        var waits: [Duration] = []
        for _ in 0..<8 {
            let a = failAfterConnecting(&h)
            let wait = a.startedTimers[.idleHold]
            waits.append(wait ?? .zero)
            // Nothing happens before the idle hold time; then the FSM connects again.
            #expect(h.advance((wait ?? .zero) - .milliseconds(100)).isEmpty)
            #expect(h.advance(.milliseconds(100)).contains(.connect))
        }
        #expect(waits == [5, 10, 20, 40, 80, 120, 120, 120].map { Duration.seconds($0) })
        #expect(h.fsm.consecutiveFailures == 8)
    }

    /// A connect that fails (refused: the peer is not listening yet) is retried after the base
    /// idle hold time every time: the backoff damps sessions that flap, and a mesh whose nodes
    /// start together would otherwise wait out 5 + 10 + 20 s of it.
    @Test func refusedConnectsRetryAtTheBaseTime() {
        var h = Harness()
        h.send(.manualStart)
        var waits: [Duration?] = []
        for _ in 0..<5 {
            waits.append(h.send(.tcpConnectionFails).startedTimers[.idleHold])
            #expect(h.advance(.seconds(5)).contains(.connect))
        }
        #expect(waits == Array(repeating: .seconds(5), count: 5))
        #expect(h.fsm.consecutiveFailures == 0)
        // After a counted failure a refused connect waits that failure's backoff, no more.
        failAfterConnecting(&h)
        h.advance(.seconds(5))
        #expect(h.send(.tcpConnectionFails).startedTimers[.idleHold] == .seconds(5))
    }

    /// The peer accepts our connection and closes it before its OPEN (it does not know us yet):
    /// retried after `closedBeforeOpenRetryTime` doubling per such close, capped at
    /// ConnectRetryTime (here 0.25, 0.5, 1, …, 16, 30, 30 s), instead of the full ConnectRetryTime each time. The peer's
    /// OPEN resets the sequence; a close of the peer's own connection waits ConnectRetryTime.
    @Test func closedBeforeOpenRetriesSoonerThenBacksOff() {
        var h = Harness()
        h.send(.manualStart)
        var waits: [Duration?] = []
        for _ in 0..<9 {
            h.send(.tcpConnectionAcked)
            #expect(h.state == .openSent)
            let a = h.send(.tcpConnectionFails)
            #expect(h.state == .active)
            let wait = a.startedTimers[.connectRetry]
            waits.append(wait)
            #expect(h.advance((wait ?? .zero) - .milliseconds(100)).isEmpty)
            #expect(h.advance(.milliseconds(100)).contains(.connect))
        }
        #expect(waits == [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000].map { Duration.milliseconds($0) })
        #expect(h.fsm.consecutiveFailures == 0, "not a failure of the session")
        // The peer's OPEN (it knows us now) resets the sequence.
        h.send(.tcpConnectionAcked)
        h.send(.openReceived(Fx.peerOpen()))
        #expect(h.fsm.closedBeforeOpen == 0)
        h.send(.tcpConnectionFails)   // OpenConfirm: a counted failure, Idle
        h.advance(h.fsm.nextIdleHoldTime)
        h.send(.tcpConnectionAcked)
        #expect(h.send(.tcpConnectionFails).startedTimers[.connectRetry] == .milliseconds(250))
        // The peer's connection (inbound) closed in OpenSent: the RFC's ConnectRetryTime.
        var p = Harness()
        p.send(.manualStart)
        p.send(.tcpConnectionConfirmed)
        #expect(p.state == .openSent)
        #expect(p.send(.tcpConnectionFails).startedTimers[.connectRetry] == .seconds(30))
    }

    @Test func stableSessionResetsTheBackoff() {
        var h = Harness()
        h.send(.manualStart)
        for _ in 0..<4 { failAfterConnecting(&h); h.advance(h.fsm.nextIdleHoldTime) }
        #expect(h.fsm.consecutiveFailures == 4)
        // Established for 59 s: still flapping, the backoff keeps growing.
        h.send(.tcpConnectionAcked)
        h.send(.openReceived(Fx.peerOpen()))
        h.send(.keepaliveReceived)
        h.advance(.seconds(29)); h.send(.keepaliveReceived)
        h.advance(.seconds(29)); h.send(.keepaliveReceived)
        h.advance(.seconds(1))
        #expect(h.send(.tcpConnectionFails).startedTimers[.idleHold] == .seconds(80))
        // Established for 60 s or more: the next failure starts again from 5 s.
        h.advance(.seconds(80))
        h.send(.tcpConnectionAcked)
        h.send(.openReceived(Fx.peerOpen()))
        h.send(.keepaliveReceived)
        for _ in 0..<3 { h.advance(.seconds(20)); h.send(.keepaliveReceived) }
        #expect(h.send(.tcpConnectionFails).startedTimers[.idleHold] == .seconds(5))
        #expect(h.fsm.consecutiveFailures == 1)
    }

    @Test func manualStartResetsTheBackoff() {
        var h = Harness()
        h.send(.manualStart)
        for _ in 0..<3 { failAfterConnecting(&h); h.advance(h.fsm.nextIdleHoldTime) }
        #expect(h.fsm.consecutiveFailures == 3)
        h.send(.manualStop())
        #expect(h.fsm.consecutiveFailures == 0)
        h.send(.manualStart)
        #expect(failAfterConnecting(&h).startedTimers[.idleHold] == .seconds(5))
    }

    @Test func passivePeerRestartsPassively() {
        var h = Harness(Fx.config(passive: true))
        h.send(.manualStart)
        h.send(.tcpConnectionConfirmed)
        h.send(.openReceived(Fx.peerOpen(asn: ASNumber(1))))  // bad AS
        #expect(h.state == .idle)
        #expect(h.advance(.seconds(5)) == [.stateChanged(from: .idle, to: .active)])
    }

    @Test func customBackoffSettings() {
        var c = Fx.config()
        c.idleHoldTime = .seconds(1)
        c.maxIdleHoldTime = .seconds(3)
        var h = Harness(c)
        h.send(.manualStart)
        var waits: [Duration?] = []
        for _ in 0..<4 { waits.append(failAfterConnecting(&h).startedTimers[.idleHold]); h.advance(.seconds(3)) }
        #expect(waits == [.seconds(1), .seconds(2), .seconds(3), .seconds(3)])
    }
}
