import BGPSession
import NetCore
import Testing

/// The GR helper's stale-route bookkeeping with a fake clock (RFC 4724 §4.2).
@Suite struct StaleRoutesTests {
    static let v4a = IPPrefix("10.1.0.0/24")!, v4b = IPPrefix("10.2.0.0/24")!
    static let v6a = IPPrefix("2001:db8:1::/48")!, v6b = IPPrefix("2001:db8:2::/48")!
    static let all = [v4a, v4b, v6a, v6b]
    static let both: Set<AddressFamily> = [.ipv4Unicast, .ipv6Unicast]
    static let t0 = Instant(milliseconds: 1_000)

    /// A new session whose OPEN preserved forwarding for `preserved` (nil: no GR at all).
    static func session(preserved: [AddressFamily: Bool]?) throws -> NegotiatedSession {
        var c = Fx.config(families: both)
        c.gracefulRestart = LocalGracefulRestart()
        let gr = preserved.map { GracefulRestartCapability(restartTime: 120, families: $0) }
        return try OpenNegotiation.negotiate(Fx.peerOpen(families: both, gr: gr), config: c).get()
    }

    static func lost(_ families: Set<AddressFamily> = both, restart: Duration = .seconds(120)) -> (StaleRoutes, [IPPrefix]) {
        var s = StaleRoutes()
        let flushed = s.sessionLost(retaining: families, restartTime: restart, routes: all, now: t0)
        return (s, flushed)
    }

    @Test func sessionLostKeepsRetainedFamiliesStaleUntilTheRestartTime() {
        let (s, flushed) = Self.lost([.ipv4Unicast])
        #expect(Set(flushed) == [Self.v6a, Self.v6b], "families the peer did not list go at once")
        #expect(s.phase == .waitingForSession && s.isHelping && s.staleCount == 2)
        #expect(s.isStale(Self.v4a) && !s.isStale(Self.v6a))
        #expect(s.nextDeadline == Self.t0 + .seconds(120))
    }

    @Test func restartTimerExpiryFlushesEverythingStale() {
        var (s, _) = Self.lost()
        #expect(s.expire(now: Self.t0 + .seconds(119)).isEmpty, "not yet")
        #expect(s.isHelping)
        // An early firing within the timer slack counts.
        let gone = s.expire(now: Self.t0 + .milliseconds(120_000 - SessionFSM.timerSlack))
        #expect(Set(gone) == Set(Self.all))
        #expect(s.phase == .idle && s.nextDeadline == nil)
    }

    @Test func reAnnouncedRoutesLoseTheMarkAndEndOfRIBFlushesTheRest() throws {
        var (s, _) = Self.lost()
        let now = Self.t0 + .seconds(10)
        #expect(s.sessionEstablished(try Self.session(preserved: [.ipv4Unicast: true, .ipv6Unicast: true]), now: now).isEmpty)
        #expect(s.phase == .waitingForEndOfRIB)
        #expect(s.nextDeadline == now + StaleRoutes.defaultStaleTime, "the restart timer stops; the stale timer runs")
        s.refreshed(Self.v4a)
        s.refreshed(Self.v6a)
        #expect(!s.isStale(Self.v4a) && s.isStale(Self.v4b))
        #expect(s.endOfRIB(.ipv4Unicast) == [Self.v4b])
        #expect(s.isHelping && s.staleCount == 1, "IPv6 still waits for its own End-of-RIB")
        s.refreshed(Self.v6b)
        #expect(!s.isHelping && s.nextDeadline == nil, "every stale route was refreshed")
        #expect(s.endOfRIB(.ipv6Unicast).isEmpty)
    }

    @Test func staleTimerFlushesWhenEndOfRIBNeverComes() throws {
        var (s, _) = Self.lost()
        let up = Self.t0 + .seconds(5)
        _ = s.sessionEstablished(try Self.session(preserved: [.ipv4Unicast: true, .ipv6Unicast: true]), now: up)
        s.refreshed(Self.v4a)
        #expect(s.expire(now: up + .seconds(359)).isEmpty)
        #expect(Set(s.expire(now: up + .seconds(360))) == [Self.v4b, Self.v6a, Self.v6b])
        #expect(!s.isHelping)
    }

    @Test func newOpenWithoutForwardingStateOrGRFlushesAtOnce() throws {
        var (s, _) = Self.lost()
        let flushed = s.sessionEstablished(try Self.session(preserved: [.ipv4Unicast: true, .ipv6Unicast: false]),
                                           now: Self.t0)
        #expect(Set(flushed) == [Self.v6a, Self.v6b], "F bit clear for IPv6")
        #expect(s.isStale(Self.v4a))
        var (n, _) = Self.lost()
        #expect(Set(n.sessionEstablished(try Self.session(preserved: nil), now: Self.t0)) == Set(Self.all), "no GR in the new OPEN")
        #expect(!n.isHelping)
    }

    /// The restarted session drops again before End-of-RIB: everything the peer had (stale or
    /// refreshed) is stale again, with a fresh restart timer.
    @Test func secondDropRestartsTheRestartTimer() throws {
        var (s, _) = Self.lost()
        _ = s.sessionEstablished(try Self.session(preserved: [.ipv4Unicast: true, .ipv6Unicast: true]), now: Self.t0)
        s.refreshed(Self.v4a)
        let later = Self.t0 + .seconds(30)
        #expect(s.sessionLost(retaining: Self.both, restartTime: .seconds(5), routes: Self.all, now: later).isEmpty)
        #expect(s.staleCount == 4 && s.phase == .waitingForSession && s.nextDeadline == later + .seconds(5))
        #expect(s.endOfRIB(.ipv4Unicast).isEmpty, "no End-of-RIB while the session is down")
        #expect(s.reset().count == 4)
        #expect(s.phase == .idle)
    }
}
