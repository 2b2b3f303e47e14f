import BGPSession
import NetCore
import Testing

@Suite struct NegotiationTests {
    struct HoldCase: Sendable, CustomTestStringConvertible {
        var ours: UInt16, theirs: UInt16, keepalive: UInt16?
        var hold: UInt16, interval: Duration?
        var testDescription: String { "ours \(ours) theirs \(theirs) keepalive \(keepalive.map(String.init) ?? "-")" }
    }

    static let holdCases: [HoldCase] = [
        HoldCase(ours: 90, theirs: 90, keepalive: nil, hold: 90, interval: .seconds(30)),
        HoldCase(ours: 90, theirs: 9, keepalive: nil, hold: 9, interval: .seconds(3)),
        HoldCase(ours: 9, theirs: 180, keepalive: nil, hold: 9, interval: .seconds(3)),
        HoldCase(ours: 90, theirs: 10, keepalive: nil, hold: 10, interval: .milliseconds(3333)),
        HoldCase(ours: 90, theirs: 3, keepalive: nil, hold: 3, interval: .seconds(1)),
        HoldCase(ours: 90, theirs: 90, keepalive: 10, hold: 90, interval: .seconds(10)),
        HoldCase(ours: 90, theirs: 9, keepalive: 30, hold: 9, interval: .seconds(3)),
        HoldCase(ours: 0, theirs: 90, keepalive: nil, hold: 0, interval: nil),
        HoldCase(ours: 90, theirs: 0, keepalive: 30, hold: 0, interval: nil),
    ]

    @Test(arguments: holdCases)
    func holdAndKeepalive(c: HoldCase) throws {
        let s = try OpenNegotiation.negotiate(Fx.peerOpen(hold: c.theirs),
                                              config: Fx.config(holdTime: c.ours, keepalive: c.keepalive)).get()
        #expect(s.holdTime == c.hold)
        #expect(s.keepaliveInterval == c.interval)
    }

    @Test func familiesAreTheIntersection() throws {
        let s = try OpenNegotiation.negotiate(Fx.peerOpen(families: [.ipv6Unicast, AddressFamily(afi: 1, safi: 128)]),
                                              config: Fx.config(families: [.ipv4Unicast, .ipv6Unicast])).get()
        #expect(s.families == [.ipv6Unicast])
    }

    @Test func addPathPerFamilyAndDirection() throws {
        var c = Fx.config(families: [.ipv4Unicast, .ipv6Unicast])
        c.addPath = [.ipv4Unicast: .both, .ipv6Unicast: .send]
        var o = Fx.peerOpen(families: [.ipv4Unicast, .ipv6Unicast])
        o.capabilities.addPath = [.ipv4Unicast: .receive, .ipv6Unicast: .send]
        let s = try OpenNegotiation.negotiate(o, config: c).get()
        // v4: we send (they receive); we would receive but they do not send. v6: both send: nothing.
        #expect(s.addPath == [.ipv4Unicast: .send])
        #expect(s.addPathSendFamilies == [.ipv4Unicast])
        #expect(s.addPathReceiveFamilies.isEmpty)
    }

    @Test func capabilitiesNeedBothSides() throws {
        var c = Fx.config()
        c.extendedMessage = true
        c.enhancedRouteRefresh = false
        var o = Fx.peerOpen(routeRefresh: false)
        o.capabilities.extendedMessage = true
        o.capabilities.enhancedRouteRefresh = true
        let s = try OpenNegotiation.negotiate(o, config: c).get()
        #expect(!s.routeRefresh)
        #expect(!s.enhancedRouteRefresh)
        #expect(s.extendedMessage)
        #expect(s.maxMessageLength == 65535)
    }

    @Test func extendedNextHopPerDirection() throws {
        var c = Fx.config(families: [.ipv4Unicast, .ipv6Unicast])
        c.extendedNextHop = [.ipv4Unicast]
        #expect(c.localOpen.capabilities.extendedNextHop == [.ipv4Unicast])
        var o = Fx.peerOpen(families: [.ipv4Unicast, .ipv6Unicast])
        let none = try OpenNegotiation.negotiate(o, config: c).get()
        #expect(none.extendedNextHopReceive == [.ipv4Unicast])
        #expect(none.extendedNextHopSend.isEmpty)
        o.capabilities.extendedNextHop = [.ipv4Unicast, AddressFamily(afi: 1, safi: 128)]
        let both = try OpenNegotiation.negotiate(o, config: c).get()
        #expect(both.extendedNextHopSend == [.ipv4Unicast], "only negotiated families")
    }

    @Test func gracefulRestartKeepsPeerFactsForNegotiatedFamilies() throws {
        let gr = GracefulRestartCapability(restartState: true, notification: true, restartTime: 300,
                                           families: [.ipv4Unicast: true, .ipv6Unicast: false])
        let s = try OpenNegotiation.negotiate(Fx.peerOpen(gr: gr), config: Fx.config()).get()
        let p = try #require(s.gracefulRestart)
        #expect(p.restartTime == 300)
        #expect(p.restarting)
        #expect(!p.notification, "we did not advertise the N bit")
        #expect(p.forwardingPreserved == [.ipv4Unicast: true])

        var noGR = Fx.config()
        noGR.gracefulRestart = nil
        #expect(try OpenNegotiation.negotiate(Fx.peerOpen(gr: gr), config: noGR).get().gracefulRestart == nil)
        #expect(try OpenNegotiation.negotiate(Fx.peerOpen(), config: Fx.config()).get().gracefulRestart == nil)
    }

    @Test func configValidationNamesTheField() {
        var c = Fx.config(holdTime: 2)
        c.localRouterID = .any
        c.families = []
        c.closedBeforeOpenRetryTime = .zero
        let problems = c.validate()
        #expect(problems.count == 4)
        #expect(problems.contains { $0.hasPrefix("closedBeforeOpenRetryTime:") })
        #expect(problems.contains { $0.hasPrefix("holdTime:") })
        #expect(problems.contains { $0.hasPrefix("localRouterID:") })
        #expect(problems.contains { $0.hasPrefix("families:") })
        #expect(Fx.config().validate().isEmpty)
    }
}
