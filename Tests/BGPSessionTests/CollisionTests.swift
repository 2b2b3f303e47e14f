import BGPSession
import NetCore
import Testing

@Suite struct CollisionTests {
    static let low = IPv4Address(10, 0, 0, 1)
    static let high = IPv4Address(10, 0, 0, 9)

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var local: IPv4Address
        var localAS: ASNumber = Fx.localAS
        var outbound: ConnectionView
        var inbound: ConnectionView
        var expected: CollisionDecision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "local ID higher: keep ours, close the inbound", local: high,
             outbound: ConnectionView(direction: .outbound, state: .openSent),
             inbound: ConnectionView(direction: .inbound, state: .openConfirm, peerRouterID: low),
             expected: .close(.inbound)),
        Case(name: "local ID lower: keep the peer's, close the outbound", local: low,
             outbound: ConnectionView(direction: .outbound, state: .openConfirm, peerRouterID: high),
             inbound: ConnectionView(direction: .inbound, state: .openSent),
             expected: .close(.outbound)),
        Case(name: "IDs compare as unsigned numbers", local: IPv4Address(200, 0, 0, 1),
             outbound: ConnectionView(direction: .outbound, state: .openConfirm, peerRouterID: IPv4Address(100, 0, 0, 1)),
             inbound: ConnectionView(direction: .inbound, state: .openConfirm, peerRouterID: IPv4Address(100, 0, 0, 1)),
             expected: .close(.inbound)),
        Case(name: "equal IDs, larger local AS keeps ours", local: low, localAS: ASNumber(65000),
             outbound: ConnectionView(direction: .outbound, state: .openConfirm, peerRouterID: low, peerAS: ASNumber(64999)),
             inbound: ConnectionView(direction: .inbound, state: .openSent),
             expected: .close(.inbound)),
        Case(name: "equal IDs, smaller local AS keeps the peer's", local: low, localAS: ASNumber(64000),
             outbound: ConnectionView(direction: .outbound, state: .openSent),
             inbound: ConnectionView(direction: .inbound, state: .openConfirm, peerRouterID: low, peerAS: ASNumber(64999)),
             expected: .close(.outbound)),
        Case(name: "no OPEN received yet: undecided", local: low,
             outbound: ConnectionView(direction: .outbound, state: .openSent),
             inbound: ConnectionView(direction: .inbound, state: .openSent),
             expected: .undecided),
        Case(name: "one still connecting: no collision", local: low,
             outbound: ConnectionView(direction: .outbound, state: .connect),
             inbound: ConnectionView(direction: .inbound, state: .openConfirm, peerRouterID: high),
             expected: .undecided),
        Case(name: "Established without GR keeps the established one", local: low,
             outbound: ConnectionView(direction: .outbound, state: .established, peerRouterID: high),
             inbound: ConnectionView(direction: .inbound, state: .openSent),
             expected: .close(.inbound)),
        Case(name: "Established with GR and a new OPEN: the peer restarted, close the old", local: high,
             outbound: ConnectionView(direction: .outbound, state: .established, peerRouterID: low,
                                      gracefulRestartNegotiated: true),
             inbound: ConnectionView(direction: .inbound, state: .openConfirm, peerRouterID: low),
             expected: .close(.outbound)),
        Case(name: "Established with GR, new connection without OPEN yet: undecided", local: high,
             outbound: ConnectionView(direction: .outbound, state: .established, peerRouterID: low,
                                      gracefulRestartNegotiated: true),
             inbound: ConnectionView(direction: .inbound, state: .openSent),
             expected: .undecided),
    ]

    /// The peer opens a second connection in the same direction while its session is
    /// Established (it rebooted without a FIN reaching us).
    @Test(arguments: [true, false], [ConnectionDirection.inbound, .outbound])
    func sameDirectionWhileEstablished(gr: Bool, direction: ConnectionDirection) {
        let est = ConnectionView(direction: direction, state: .established, peerRouterID: Self.high,
                                 gracefulRestartNegotiated: gr)
        let newcomer = ConnectionView(direction: direction, state: .openConfirm, peerRouterID: Self.high)
        let expected: CollisionDecision = .closeSameDirection(established: gr)
        #expect(CollisionResolver.resolve(localRouterID: Self.low, localAS: Fx.localAS, est, newcomer) == expected)
        #expect(CollisionResolver.resolve(localRouterID: Self.low, localAS: Fx.localAS, newcomer, est) == expected)
        // Before its OPEN arrives a GR newcomer proves nothing yet; without GR it goes at once.
        let early = ConnectionView(direction: direction, state: .openSent)
        #expect(CollisionResolver.resolve(localRouterID: Self.low, localAS: Fx.localAS, est, early)
                == (gr ? .undecided : .closeSameDirection(established: false)))
        // Two non-Established connections in one direction are not a collision.
        #expect(CollisionResolver.resolve(localRouterID: Self.low, localAS: Fx.localAS, newcomer, early) == .undecided)
    }

    @Test(arguments: cases)
    func resolve(c: Case) {
        #expect(CollisionResolver.resolve(localRouterID: c.local, localAS: c.localAS, c.outbound, c.inbound) == c.expected)
        // The argument order does not matter.
        #expect(CollisionResolver.resolve(localRouterID: c.local, localAS: c.localAS, c.inbound, c.outbound) == c.expected)
    }

    /// The shell's two-instance flow: the primary connected out and is in OpenConfirm when the
    /// peer's connection arrives; the second instance sends its OPEN, receives the peer's, and
    /// the resolver picks the survivor.
    @Test(arguments: [true, false])
    func twoInstancesPerPeer(localIsHigher: Bool) throws {
        var config = Fx.config()
        config.localRouterID = localIsHigher ? Self.high : Self.low
        let peerID = localIsHigher ? Self.low : Self.high
        var now = Instant(milliseconds: 5000)
        var primary = SessionFSM(config: config)
        _ = primary.handle(.manualStart, now: now)
        _ = primary.handle(.tcpConnectionAcked, now: now)
        #expect(!primary.canAdoptIncomingConnection)

        var (secondary, first) = primary.makeIncomingSession(now: now)
        #expect(first.contains(.sendOpen(config.localOpen)))
        #expect(secondary.state == .openSent)
        #expect(secondary.isSecondary)
        // Both see the peer's OPEN (the same peer sends it on both connections).
        now = now + .milliseconds(10)
        _ = primary.handle(.openReceived(Fx.peerOpen(id: peerID)), now: now)
        _ = secondary.handle(.openReceived(Fx.peerOpen(id: peerID)), now: now)
        let views = (try #require(primary.connectionView), try #require(secondary.connectionView))
        #expect(views.0.direction == .outbound && views.1.direction == .inbound)
        let decision = CollisionResolver.resolve(localRouterID: config.localRouterID, localAS: config.localAS,
                                                 views.0, views.1)
        #expect(decision == .close(localIsHigher ? .inbound : .outbound))

        let cease = NotificationMessage(code: 6, subcode: 7)
        if localIsHigher {
            let a = secondary.handle(.openCollisionDump, now: now)
            #expect(a == [.sendNotification(cease), .closeConnection, .stopTimer(.hold), .stopTimer(.keepalive),
                          .stateChanged(from: .openConfirm, to: .idle)])
            #expect(secondary.lastDownReason == .collisionResolution)
            _ = primary.handle(.keepaliveReceived, now: now)
            #expect(primary.state == .established)
        } else {
            let a = primary.handle(.openCollisionDump, now: now)
            #expect(a.notifications == [cease])
            #expect(!a.contains { if case .startTimer(.idleHold, _) = $0 { true } else { false } },
                    "the loser does not restart: the shell drops it")
            secondary.promoteToPrimary()
            _ = secondary.handle(.keepaliveReceived, now: now)
            #expect(secondary.state == .established)
            // The promoted instance now restarts by itself after a failure.
            let down = secondary.handle(.tcpConnectionFails, now: now)
            #expect(down.startedTimers[.idleHold] == .seconds(5))
        }
    }

    @Test func secondaryNeverRestartsByItself() {
        var primary = SessionFSM(config: Fx.config())
        _ = primary.handle(.manualStart, now: .zero)
        _ = primary.handle(.tcpConnectionAcked, now: .zero)
        var (secondary, _) = primary.makeIncomingSession(now: .zero)
        let a = secondary.handle(.tcpConnectionFails, now: .zero)
        #expect(a == [.closeConnection, .stopTimer(.hold), .stateChanged(from: .openSent, to: .idle)])
        #expect(secondary.handle(.tcpConnectionConfirmed, now: .zero) == [.closeConnection])
    }

    @Test func gracefulRestartPeerReconnectingReplacesTheEstablishedSession() throws {
        let gr = GracefulRestartCapability(restartTime: 120, families: [.ipv4Unicast: true])
        var h = Harness()
        h.establish(Fx.peerOpen(gr: gr))
        var (secondary, _) = h.fsm.makeIncomingSession(now: h.now)
        _ = secondary.handle(.openReceived(Fx.peerOpen(gr: GracefulRestartCapability(restartState: true, restartTime: 120))), now: h.now)
        let d = CollisionResolver.resolve(localRouterID: Fx.localID, localAS: Fx.localAS,
                                          try #require(h.fsm.connectionView), try #require(secondary.connectionView))
        #expect(d == .close(.outbound))
        let a = h.send(.openCollisionDump)
        #expect(a.sessionDown == .collisionResolution)
        secondary.promoteToPrimary()
        _ = secondary.handle(.keepaliveReceived, now: h.now)
        #expect(secondary.state == .established)
        #expect(secondary.negotiated?.gracefulRestart?.restarting == true)
    }
}
