import BGPSession
import NetCore
import Testing
import TestSupport

/// Deterministic random walks over every event in every state (seeded SplitMix64, TestSupport.SeededRandom): whatever the
/// order, the FSM keeps its invariants. The strict fake in `Harness.send` also checks the timer
/// bookkeeping and `stateChanged` on every step.
@Suite struct RandomWalkTests {
    @Test(arguments: 0..<40)
    func invariantsHold(seed: Int) {
        var rng = SeededRandom(seed: UInt64(seed) &* 7919)
        var c = Fx.config(passive: seed % 5 == 0, delayOpen: seed % 3 == 0 ? .seconds(2) : nil)
        c.gracefulRestart = LocalGracefulRestart(notification: true)
        var h = Harness(c)
        let opens = [Fx.peerOpen(), Fx.peerOpen(hold: 0), Fx.peerOpen(asn: ASNumber(1)),
                     Fx.peerOpen(gr: GracefulRestartCapability(notification: true, restartTime: 90,
                                                               families: [.ipv4Unicast: true]))]
        var events = TransitionMatrixTests.events.map(\.1) + opens.map { .openReceived($0) }
        events += [.tcpConnectionAcked, .tcpConnectionConfirmed, .keepaliveReceived, .manualStart]  // likelier
        var up = false
        for _ in 0..<300 {
            var fired: [Action] = []
            if Int.random(in: 0..<4, using: &rng) == 0 { fired = h.advance(.seconds(Int64.random(in: 0...200, using: &rng))) }
            let e = events.randomElement(using: &rng)!
            let before = h.state
            let a = h.send(e)
            // After closeConnection nothing more is sent on that connection.
            if let close = a.firstIndex(of: .closeConnection) {
                #expect(!a[close...].contains { action in
                    switch action {
                    case .sendOpen, .sendKeepalive, .sendNotification, .sendRouteRefresh, .sendEndOfRIB: true
                    default: false
                    }
                }, "\(a)")
            }
            // sessionEstablished and sessionDown alternate, each with the matching state change.
            for action in fired + a {
                if case .sessionEstablished = action { #expect(!up); up = true }
                if case .sessionDown = action { #expect(up); up = false }
            }
            #expect(up == (h.state == .established), "\(before) --\(e.rfcName)--> \(h.state): \(a)")
            if h.state == .idle {
                #expect(TimerKind.allCases.allSatisfy { $0 == .idleHold || h.fsm.deadline(of: $0) == nil })
                #expect(h.fsm.negotiated == nil)
            }
            if before == .idle && h.state == .idle { #expect(a.notifications.isEmpty) }
            if let d = a.startedTimers[.idleHold] { #expect(d >= .seconds(5) && d <= .seconds(120)) }
        }
    }
}
