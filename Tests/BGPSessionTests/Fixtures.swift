import BGPSession
import NetCore
import Testing

/// Shared fixtures: we are AS 64512 / 10.0.0.1, the eBGP peer is AS 64513 / 10.0.0.2.
enum Fx {
    static let localID = IPv4Address(10, 0, 0, 1)
    static let peerID = IPv4Address(10, 0, 0, 2)
    static let localAS = ASNumber(64512)
    static let peerAS = ASNumber(64513)

    static func config(passive: Bool = false, holdTime: UInt16 = 90, keepalive: UInt16? = nil,
                       peerAS: ASNumber = Fx.peerAS, families: Set<AddressFamily> = [.ipv4Unicast],
                       delayOpen: Duration? = nil) -> PeerSessionConfig {
        PeerSessionConfig(localAS: localAS, peerAS: peerAS, localRouterID: localID,
                          peerAddress: .v4(IPv4Address(192, 0, 2, 2)), passive: passive, holdTime: holdTime,
                          keepaliveTime: keepalive, delayOpenTime: delayOpen, families: families)
    }

    static func peerOpen(asn: ASNumber = Fx.peerAS, hold: UInt16 = 90, id: IPv4Address = Fx.peerID,
                         families: Set<AddressFamily> = [.ipv4Unicast], routeRefresh: Bool = true,
                         gr: GracefulRestartCapability? = nil) -> OpenMessage {
        OpenMessage(autonomousSystem: asn, holdTime: hold, routerID: id,
                    capabilities: CapabilitySet(families: families, routeRefresh: routeRefresh, gracefulRestart: gr))
    }
}

/// A fake shell: a fake monotonic clock plus the FSM's timer deadlines. `advance` fires due
/// timers in deadline order, as real timer sources would, and returns every action.
struct Harness {
    var fsm: SessionFSM
    var now = Instant(milliseconds: 1_000_000)
    var log: [Action] = []

    init(_ config: PeerSessionConfig = Fx.config()) { fsm = SessionFSM(config: config) }

    /// The timers the fake shell is running, kept only from the actions (a strict fake:
    /// it must always agree with the FSM's own bookkeeping).
    var running: Set<TimerKind> = []

    @discardableResult
    mutating func send(_ e: Event) -> [Action] {
        if let k = e.timerKind, let due = fsm.deadline(of: k), now.milliseconds >= due.milliseconds - SessionFSM.timerSlack {
            running.remove(k)  // it fired
        }
        let a = fsm.handle(e, now: now)
        for action in a {
            switch action {
            case .startTimer(let k, let d):
                #expect(d > .zero, "timer \(k) started with \(d)")
                running.insert(k)
            case .stopTimer(let k):
                #expect(running.contains(k), "stopTimer(\(k)) for a timer that is not running")
                running.remove(k)
            default: break
            }
        }
        #expect(running == Set(TimerKind.allCases.filter { fsm.deadline(of: $0) != nil }),
                "shell timers and FSM deadlines disagree after \(e.rfcName)")
        if case .stateChanged(_, let to)? = a.last(where: { if case .stateChanged = $0 { true } else { false } }) {
            #expect(to == fsm.state)
        }
        log += a
        return a
    }

    @discardableResult
    mutating func advance(_ d: Duration) -> [Action] {
        let target = now + d
        var out: [Action] = []
        while let (kind, due) = TimerKind.allCases.compactMap({ k in fsm.deadline(of: k).map { (k, $0) } })
            .filter({ $0.1 <= target }).min(by: { $0.1 < $1.1 }) {
            now = due
            out += send(kind.expiryEvent)
        }
        now = target
        return out
    }

    var state: SessionState { fsm.state }

    /// Idle → Established over an outgoing connection (or an incoming one when passive).
    mutating func establish(_ open: OpenMessage = Fx.peerOpen()) {
        send(.manualStart)
        send(fsm.config.passive ? .tcpConnectionConfirmed : .tcpConnectionAcked)
        send(.openReceived(open))
        send(.keepaliveReceived)
        #expect(state == .established)
    }

    mutating func reach(_ target: SessionState) {
        switch target {
        case .idle: break
        case .connect: send(.manualStart)
        case .active:
            var c = fsm.config
            c.passive = true
            fsm = SessionFSM(config: c)
            send(.manualStart)
        case .openSent: send(.manualStart); send(.tcpConnectionAcked)
        case .openConfirm: send(.manualStart); send(.tcpConnectionAcked); send(.openReceived(Fx.peerOpen()))
        case .established: establish()
        }
        #expect(state == target)
    }
}

extension Array where Element == Action {
    var notifications: [NotificationMessage] {
        compactMap { if case .sendNotification(let n) = $0 { n } else { nil } }
    }
    var startedTimers: [TimerKind: Duration] {
        var d: [TimerKind: Duration] = [:]
        for a in self { if case .startTimer(let k, let t) = a { d[k] = t } }
        return d
    }
    var sessionDown: SessionDownReason? {
        for a in self { if case .sessionDown(let r) = a { return r } }
        return nil
    }
}
