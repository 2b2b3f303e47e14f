import BGPSession
import NetCore
import Testing

/// Every state × every event: the next state (docs/bgp-fsm.md table) and whether a
/// NOTIFICATION goes out. Timer events are delivered when due if the timer runs, else as a
/// stale expiry (which must change nothing).
@Suite struct TransitionMatrixTests {
    static let events: [(String, Event)] = [
        ("ManualStart", .manualStart), ("ManualStop", .manualStop()), ("AutomaticStart", .automaticStart),
        ("ManualStartPassive", .manualStartPassive), ("AutomaticStartPassive", .automaticStartPassive),
        ("AutomaticStop", .automaticStop(.cease(CeaseSubcode.maximumPrefixesReached))),
        ("ConnectRetry", .connectRetryTimerExpires), ("Hold", .holdTimerExpires),
        ("KeepaliveTimer", .keepaliveTimerExpires), ("DelayOpen", .delayOpenTimerExpires),
        ("IdleHold", .idleHoldTimerExpires), ("SendHold", .sendHoldTimerExpires),
        ("Acked", .tcpConnectionAcked), ("Confirmed", .tcpConnectionConfirmed), ("Fails", .tcpConnectionFails),
        ("Open", .openReceived(Fx.peerOpen())),
        ("HeaderErr", .headerError(NotificationMessage(code: 1, subcode: 1))),
        ("OpenErr", .openMessageError(NotificationMessage(code: 2, subcode: 4))),
        ("CollisionDump", .openCollisionDump),
        ("Notif", .notificationReceived(.cease(CeaseSubcode.administrativeReset))),
        ("Keepalive", .keepaliveReceived), ("Update", .updateReceived(.routes)),
        ("UpdateErr", .updateMessageError(NotificationMessage(code: 3, subcode: 1))),
        ("RouteRefresh", .routeRefreshReceived(RouteRefreshMessage(family: .ipv4Unicast))),
        ("RouteRefreshErr", .routeRefreshMessageError(NotificationMessage(code: 7, subcode: 1))),
        ("RequestRR", .requestRouteRefresh(.ipv4Unicast)), ("AdvDone", .initialAdvertisementDone(.ipv4Unicast)),
        ("SendProgress", .sendProgress),
    ]

    /// Events that keep the state; everything else listed goes to the named state.
    static let stays: [SessionState: Set<String>] = [
        .idle: ["ManualStop", "AutomaticStop", "ConnectRetry", "Hold", "KeepaliveTimer", "DelayOpen", "IdleHold",
                "SendHold", "Acked", "Confirmed", "Fails", "Open", "HeaderErr", "OpenErr", "CollisionDump", "Notif",
                "Keepalive", "Update", "UpdateErr", "RouteRefresh", "RouteRefreshErr", "RequestRR", "AdvDone",
                "SendProgress"],
        .connect: ["ManualStart", "AutomaticStart", "ManualStartPassive", "AutomaticStartPassive", "ConnectRetry",
                   "Hold", "KeepaliveTimer", "DelayOpen", "IdleHold", "SendHold", "RequestRR", "AdvDone", "SendProgress"],
        .active: ["ManualStart", "AutomaticStart", "ManualStartPassive", "AutomaticStartPassive", "ConnectRetry",
                  "Hold", "KeepaliveTimer", "DelayOpen", "IdleHold", "SendHold", "RequestRR", "AdvDone", "SendProgress"],
        .openSent: ["ManualStart", "AutomaticStart", "ManualStartPassive", "AutomaticStartPassive", "ConnectRetry",
                    "KeepaliveTimer", "DelayOpen", "IdleHold", "SendHold", "Acked", "Confirmed", "RequestRR", "AdvDone",
                    "SendProgress"],
        .openConfirm: ["ManualStart", "AutomaticStart", "ManualStartPassive", "AutomaticStartPassive", "ConnectRetry",
                       "KeepaliveTimer", "DelayOpen", "IdleHold", "SendHold", "Acked", "Confirmed", "RequestRR",
                       "AdvDone", "SendProgress"],
        .established: ["ManualStart", "AutomaticStart", "ManualStartPassive", "AutomaticStartPassive", "ConnectRetry",
                       "KeepaliveTimer", "DelayOpen", "IdleHold", "Acked", "Confirmed", "Keepalive", "Update",
                       "RouteRefresh", "RequestRR", "AdvDone", "SendProgress"],
    ]

    /// Moves to a state other than Idle.
    static let moves: [SessionState: [String: SessionState]] = [
        .idle: ["ManualStart": .connect, "AutomaticStart": .connect, "ManualStartPassive": .active,
                "AutomaticStartPassive": .active],
        .connect: ["Acked": .openSent, "Confirmed": .openSent],
        .active: ["Acked": .openSent, "Confirmed": .openSent],
        .openSent: ["Fails": .active, "Open": .openConfirm],
        .openConfirm: ["Keepalive": .established],
        .established: [:],
    ]

    struct Cell: Sendable, CustomTestStringConvertible {
        var state: SessionState
        var name: String
        var testDescription: String { "\(name) in \(state)" }
    }

    static let cells: [Cell] = SessionState.allCases.flatMap { s in events.map { Cell(state: s, name: $0.0) } }

    @Test(arguments: cells)
    func cell(c: Cell) throws {
        let event = try #require(Self.events.first { $0.0 == c.name }?.1)
        var h = Harness()
        h.reach(c.state)
        if let kind = event.timerKind, let due = h.fsm.deadline(of: kind) { h.now = due }
        let a = h.send(event)
        let expected: SessionState = Self.stays[c.state]!.contains(c.name) ? c.state
            : Self.moves[c.state]![c.name] ?? .idle
        #expect(h.state == expected)
        let opened: Set<SessionState> = [.openSent, .openConfirm, .established]
        let notifies = expected == .idle && opened.contains(c.state) && c.name != "Fails" && c.name != "Notif"
        #expect(!a.notifications.isEmpty == notifies, "\(a)")
        if expected == c.state && Self.stays[c.state]!.contains(c.name) && c.state != .established {
            // Staying put outside Established never sends a message... except keepalives.
            #expect(!a.contains { if case .sendOpen = $0 { true } else { false } })
        }
        #expect((a.sessionDown != nil) == (c.state == .established && expected == .idle))
    }
}
