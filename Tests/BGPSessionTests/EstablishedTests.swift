import BGPSession
import NetCore
import Testing

@Suite struct EstablishedTests {
    static let dual = Fx.config(families: [.ipv4Unicast, .ipv6Unicast])
    static let dualOpen = Fx.peerOpen(families: [.ipv4Unicast, .ipv6Unicast])

    @Test func endOfRIBIsSentOncePerNegotiatedFamily() {
        var h = Harness(Self.dual)
        h.establish(Self.dualOpen)
        #expect(h.fsm.endOfRIB == [.ipv4Unicast: EndOfRIBStatus(), .ipv6Unicast: EndOfRIBStatus()])
        #expect(h.send(.initialAdvertisementDone(.ipv4Unicast)) == [.sendEndOfRIB(.ipv4Unicast)])
        #expect(h.send(.initialAdvertisementDone(.ipv4Unicast)).isEmpty)
        #expect(h.send(.initialAdvertisementDone(AddressFamily(afi: 1, safi: 128))).isEmpty)
        #expect(h.fsm.endOfRIB[.ipv4Unicast] == EndOfRIBStatus(sent: true, received: false))
    }

    @Test func endOfRIBReceivedIsTrackedPerFamily() {
        var h = Harness(Self.dual)
        h.establish(Self.dualOpen)
        #expect(!h.fsm.allEndOfRIBReceived)
        #expect(h.send(.updateReceived(ReceivedUpdate(endOfRIB: .ipv6Unicast))) == [
            .startTimer(.hold, .seconds(90)), .endOfRIBReceived(.ipv6Unicast),
        ])
        #expect(!h.fsm.allEndOfRIBReceived)
        h.send(.updateReceived(ReceivedUpdate(endOfRIB: .ipv4Unicast)))
        #expect(h.fsm.allEndOfRIBReceived)
        // Not negotiated: ignored.
        #expect(h.send(.updateReceived(ReceivedUpdate(endOfRIB: AddressFamily(afi: 25, safi: 70)))) == [
            .startTimer(.hold, .seconds(90)),
        ])
        // A new session starts with fresh flags.
        h.send(.tcpConnectionFails)
        #expect(h.fsm.endOfRIB.isEmpty)
    }

    @Test(arguments: [(EndOfRIBPolicy.always, false, true), (.gracefulRestartOnly, false, false),
                      (.gracefulRestartOnly, true, true), (.never, true, false)])
    func endOfRIBPolicy(policy: EndOfRIBPolicy, peerGR: Bool, sends: Bool) {
        var c = Fx.config()
        c.endOfRIB = policy
        var h = Harness(c)
        h.establish(Fx.peerOpen(gr: peerGR ? GracefulRestartCapability(restartTime: 60) : nil))
        #expect(h.send(.initialAdvertisementDone(.ipv4Unicast)) == (sends ? [.sendEndOfRIB(.ipv4Unicast)] : []))
    }

    @Test func routeRefreshBothWays() {
        var h = Harness()
        h.establish()
        #expect(h.send(.requestRouteRefresh(.ipv4Unicast)) == [.sendRouteRefresh(RouteRefreshMessage(family: .ipv4Unicast))])
        #expect(h.send(.requestRouteRefresh(.ipv6Unicast)).isEmpty, "family not negotiated")
        let rr = RouteRefreshMessage(family: .ipv4Unicast)
        #expect(h.send(.routeRefreshReceived(rr)) == [.routeRefreshRequested(rr)])
        #expect(h.send(.routeRefreshReceived(RouteRefreshMessage(family: .ipv6Unicast))).isEmpty)
        // BoRR needs enhanced route refresh, which this peer did not advertise.
        #expect(h.send(.routeRefreshReceived(RouteRefreshMessage(family: .ipv4Unicast, subtype: 1))).isEmpty)
        #expect(h.state == .established)
    }

    @Test func enhancedRouteRefreshMarkersAreDelivered() {
        var h = Harness()
        var o = Fx.peerOpen()
        o.capabilities.enhancedRouteRefresh = true
        h.establish(o)
        for sub: UInt8 in [1, 2] {
            let rr = RouteRefreshMessage(family: .ipv4Unicast, subtype: sub)
            #expect(h.send(.routeRefreshReceived(rr)) == [.routeRefreshRequested(rr)])
        }
        #expect(h.send(.routeRefreshReceived(RouteRefreshMessage(family: .ipv4Unicast, subtype: 9))).isEmpty)
    }

    @Test func routeRefreshWithoutCapabilityIsIgnored() {
        var h = Harness()
        h.establish(Fx.peerOpen(routeRefresh: false))
        #expect(h.send(.requestRouteRefresh(.ipv4Unicast)).isEmpty)
        #expect(h.send(.routeRefreshReceived(RouteRefreshMessage(family: .ipv4Unicast))).isEmpty)
    }

    @Test func malformedRouteRefreshResetsTheSession() {
        var h = Harness()
        h.establish()
        let n = NotificationMessage(code: 7, subcode: 1, data: [0, 0, 0, 0, 0])
        #expect(h.send(.routeRefreshMessageError(n)).first == .sendNotification(n))
        #expect(h.state == .idle)
    }
}

@Suite struct DelayOpenTests {
    @Test func delayOpenWaitsThenSendsOpen() {
        var h = Harness(Fx.config(delayOpen: .seconds(5)))
        h.send(.manualStart)
        #expect(h.send(.tcpConnectionAcked) == [.stopTimer(.connectRetry), .startTimer(.delayOpen, .seconds(5))])
        #expect(h.state == .connect)
        #expect(h.advance(.seconds(5)) == [
            .sendOpen(h.fsm.config.localOpen), .startTimer(.hold, .seconds(240)),
            .stateChanged(from: .connect, to: .openSent),
        ])
    }

    @Test func openDuringDelayOpenAnswersAtOnce() {
        var h = Harness(Fx.config(delayOpen: .seconds(5)))
        h.send(.manualStart)
        h.send(.tcpConnectionAcked)
        #expect(h.send(.openReceived(Fx.peerOpen())) == [
            .stopTimer(.delayOpen), .sendOpen(h.fsm.config.localOpen), .sendKeepalive,
            .startTimer(.keepalive, .seconds(30)), .startTimer(.hold, .seconds(90)),
            .stateChanged(from: .connect, to: .openConfirm),
        ])
    }

    @Test func tcpFailureDuringDelayOpenFallsBackToActive() {
        var h = Harness(Fx.config(delayOpen: .seconds(5)))
        h.send(.manualStart)
        h.send(.tcpConnectionAcked)
        #expect(h.send(.tcpConnectionFails) == [
            .stopTimer(.delayOpen), .closeConnection, .startTimer(.connectRetry, .seconds(30)),
            .stateChanged(from: .connect, to: .active),
        ])
    }
}

@Suite struct ReconfigureTests {
    struct Change: Sendable, CustomTestStringConvertible {
        var name: String
        var edit: @Sendable (inout PeerSessionConfig) -> Void
        var resets: [String]
        var testDescription: String { name }
    }

    static let changes: [Change] = [
        Change(name: "peer AS", edit: { $0.peerAS = ASNumber(65001) }, resets: ["peerAS"]),
        Change(name: "local AS", edit: { $0.localAS = ASNumber(65002) }, resets: ["localAS"]),
        Change(name: "router ID", edit: { $0.localRouterID = IPv4Address(10, 9, 9, 9) }, resets: ["localRouterID"]),
        Change(name: "peer address", edit: { $0.peerAddress = .v4(IPv4Address(192, 0, 2, 3)) }, resets: ["peerAddress"]),
        Change(name: "password", edit: { $0.password = "s3cret" }, resets: ["password"]),
        Change(name: "hold time", edit: { $0.holdTime = 30 }, resets: ["holdTime"]),
        Change(name: "families", edit: { $0.families.insert(.ipv6Unicast) }, resets: ["families"]),
        Change(name: "add-path", edit: { $0.addPath = [.ipv4Unicast: .send] }, resets: ["addPath"]),
        Change(name: "extended next hop", edit: { $0.extendedNextHop = [.ipv4Unicast] }, resets: ["extendedNextHop"]),
        Change(name: "graceful restart time", edit: { $0.gracefulRestart?.restartTime = 300 }, resets: ["gracefulRestart"]),
        Change(name: "AS and hold time", edit: { $0.peerAS = ASNumber(65001); $0.holdTime = 30 }, resets: ["peerAS", "holdTime"]),
        Change(name: "keepalive", edit: { $0.keepaliveTime = 10 }, resets: []),
        Change(name: "passive", edit: { $0.passive = true }, resets: []),
        Change(name: "connect retry", edit: { $0.connectRetryTime = .seconds(5) }, resets: []),
        Change(name: "backoff", edit: { $0.maxIdleHoldTime = .seconds(300) }, resets: []),
        Change(name: "EoR policy", edit: { $0.endOfRIB = .never }, resets: []),
        Change(name: "GR restarting bit", edit: { $0.gracefulRestart?.restarting = true }, resets: []),
    ]

    @Test(arguments: changes)
    func establishedSession(c: Change) {
        var h = Harness()
        h.establish()
        var new = h.fsm.config
        c.edit(&new)
        let outcome = h.fsm.reconfigure(new)
        #expect(outcome == (c.resets.isEmpty ? .inPlace : .resetSession(ResetReason(changedFields: c.resets))))
        #expect(h.fsm.config == new)
        #expect(h.state == .established, "reconfigure itself never touches the session")
    }

    @Test(arguments: changes)
    func idleSessionAlwaysInPlace(c: Change) {
        var fsm = SessionFSM(config: Fx.config())
        var new = fsm.config
        c.edit(&new)
        #expect(fsm.reconfigure(new) == .inPlace)
    }

    @Test func resetFlowUsesOtherConfigurationChange() {
        var h = Harness()
        h.establish()
        var new = h.fsm.config
        new.holdTime = 30
        guard case .resetSession(let why) = h.fsm.reconfigure(new) else { Issue.record("expected a reset"); return }
        #expect("\(why)" == "holdTime changed")
        let down = h.send(.manualStop(subcode: CeaseSubcode.otherConfigurationChange))
        #expect(down.notifications == [NotificationMessage(code: 6, subcode: 6)])
        #expect(h.send(.manualStart).contains(.connect))
        h.send(.tcpConnectionAcked)
        h.send(.openReceived(Fx.peerOpen()))
        #expect(h.fsm.negotiated?.holdTime == 30)
    }
}

/// RFC 9687 send hold timer: the peer stops reading, our writes make no progress.
@Suite struct SendHoldTimerTests {
    @Test func progressKeepsTheSessionUp() {
        var h = Harness()
        h.establish()
        #expect(h.fsm.deadline(of: .sendHold) == h.now + .seconds(480))
        // The peer keeps sending keepalives (it is alive) and our writes keep making progress.
        for _ in 0..<40 {
            h.advance(.seconds(30))
            h.send(.keepaliveReceived)
            #expect(h.send(.sendProgress).isEmpty, "progress only records the time")
        }
        #expect(h.state == .established)
    }

    @Test func noProgressDropsTheSession() {
        var h = Harness()
        h.establish()
        for _ in 0..<3 {
            h.advance(.seconds(30))
            h.send(.keepaliveReceived)
        }
        h.send(.sendProgress)  // the last write that moved data, at 90 s
        var fired: [Action] = []
        for _ in 0..<20 {  // the peer still sends keepalives, but reads nothing
            fired += h.advance(.seconds(30))
            if h.state == .idle { break }
            h.send(.keepaliveReceived)
        }
        // At 480 s the lazy timer re-arms for the 90 s of progress, and fires at 570 s.
        #expect(fired.contains(.startTimer(.sendHold, .seconds(90))))
        #expect(fired.notifications == [.sendHoldTimerExpired])
        #expect(fired.sessionDown == .sendHoldTimerExpired)
        #expect(h.state == .idle)
        #expect(h.fsm.lastDownReason == .sendHoldTimerExpired)
        #expect(h.now == Instant(milliseconds: 1_000_000) + .seconds(570))
    }

    @Test func limitIsTwiceTheHoldTimeWhenLarger() {
        var h = Harness(Fx.config(holdTime: 300))
        h.establish(Fx.peerOpen(hold: 300))
        #expect(h.fsm.deadline(of: .sendHold) == h.now + .seconds(600))
    }

    @Test func disabledWithHoldTimeZeroOrByConfig() {
        var h = Harness()
        h.establish(Fx.peerOpen(hold: 0))
        #expect(h.fsm.deadline(of: .sendHold) == nil)
        var c = Fx.config()
        c.sendHoldTime = nil
        var h2 = Harness(c)
        h2.establish()
        #expect(h2.fsm.deadline(of: .sendHold) == nil)
    }
}
