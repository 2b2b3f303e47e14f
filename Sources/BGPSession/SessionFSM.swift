import NetCore

/// Per-family End-of-RIB bookkeeping for the current session (RFC 4724 §2).
public struct EndOfRIBStatus: Hashable, Sendable {
    public var sent: Bool = false
    public var received: Bool = false
    public init(sent: Bool = false, received: Bool = false) { self.sent = sent; self.received = received }
}

/// Which side opened the TCP connection an FSM instance runs on.
public enum ConnectionDirection: String, Hashable, Sendable {
    /// We connected to the peer.
    case outbound
    /// The peer connected to us.
    case inbound
}

/// The RFC 4271 §8 finite state machine of one BGP connection to one peer.
///
/// Pure: `handle(_:now:)` takes an event and the shell's monotonic time and returns the actions
/// the shell must carry out, in order. It never does I/O and never reads a clock. Timers are
/// data: `.startTimer(kind, duration)` / `.stopTimer(kind)`; the shell delivers
/// `kind.expiryEvent` when one fires. An expiry for a timer the FSM has stopped or restarted
/// since (a race inside the shell) is recognised by its deadline and ignored.
///
/// One peer normally has one instance (the *primary*). While it already has a connection, an
/// incoming connection from the peer gets a second instance from `makeIncomingSession(now:)`;
/// `CollisionResolver` decides which of the two survives (RFC 4271 §6.8). See docs/bgp-fsm.md.
public struct SessionFSM: Sendable {
    /// An expiry event this much before the recorded deadline still counts (clock rounding).
    public static let timerSlack: Int64 = 50

    public internal(set) var config: PeerSessionConfig
    public internal(set) var state: SessionState = .idle
    /// Started (ManualStart/AutomaticStart) and not stopped: failures restart automatically
    /// after the idle hold backoff.
    public internal(set) var isAdministrativelyUp = false
    /// A second instance created for an incoming connection (never restarts by itself).
    public internal(set) var isSecondary = false
    /// RFC 4271 ConnectRetryCounter: consecutive failures, drives the idle hold backoff.
    public internal(set) var consecutiveFailures = 0
    /// Consecutive connections of ours the peer closed before sending its OPEN (it accepts TCP
    /// but does not know us yet: a mesh whose Node resources are still propagating). They are
    /// retried sooner than ConnectRetryTime; reset by the peer's OPEN or a manual start.
    public internal(set) var closedBeforeOpen = 0
    /// The negotiated parameters, from OpenConfirm on.
    public internal(set) var negotiated: NegotiatedSession?
    public internal(set) var connectionDirection: ConnectionDirection?
    public internal(set) var establishedAt: Instant?
    public internal(set) var lastDownReason: SessionDownReason?
    /// Per negotiated family, End-of-RIB sent/received in the current session.
    public internal(set) var endOfRIB: [AddressFamily: EndOfRIBStatus] = [:]

    // Internal (not private) so the per-state extension in SessionFSM+States.swift can use them.
    var timers: [TimerKind: Instant] = [:]
    var transport: Transport = .none
    /// The current run waits for the peer (passive start or passive peer).
    var passiveRun = false
    /// Last time the shell reported that a write made progress (RFC 9687).
    var lastSendProgress: Instant?

    enum Transport { case none, connecting, open }

    public init(config: PeerSessionConfig) {
        self.config = config
    }

    /// When the given timer is due, if it is running.
    public func deadline(of kind: TimerKind) -> Instant? { timers[kind] }

    /// The wait before dialling again after the peer closed our connection before its OPEN:
    /// `closedBeforeOpenRetryTime` doubling per such close, capped at ConnectRetryTime (0.25,
    /// 0.5, 1, 2, 4, 5, 5 s with Twill's defaults). RFC 4271 leaves the retry timing to the
    /// implementation; a full ConnectRetryTime for each held a starting 10-node mesh back by 5 s,
    /// while the peer's datastore watch knows us within ~10 ms of our Node being written.
    func retryAfterCloseBeforeOpen() -> Duration {
        var ms = max(config.closedBeforeOpenRetryTime.milliseconds, 1)   // validate() rejects ≤ 0
        let cap = config.connectRetryTime.milliseconds
        for _ in 1..<max(closedBeforeOpen, 1) where ms < cap { ms *= 2 }
        return .milliseconds(min(ms, cap))
    }

    /// The idle hold time the next failure would wait before restarting.
    public var nextIdleHoldTime: Duration { idleHoldTime(afterFailures: consecutiveFailures + 1) }

    /// True once every negotiated family's End-of-RIB has been received.
    public var allEndOfRIBReceived: Bool {
        state == .established && endOfRIB.values.allSatisfy(\.received)
    }

    /// True if an incoming connection can be handed to this instance with
    /// `.tcpConnectionConfirmed` (the shell first cancels its own connect in progress).
    /// Otherwise the shell rejects it (admin down) or gives it to `makeIncomingSession`.
    public var canAdoptIncomingConnection: Bool {
        switch state {
        case .idle: isAdministrativelyUp && !isSecondary
        case .connect, .active: transport != .open
        case .openSent, .openConfirm, .established: false
        }
    }

    /// This connection as `CollisionResolver` sees it; nil without a connection.
    public var connectionView: ConnectionView? {
        guard let connectionDirection, transport == .open else { return nil }
        return ConnectionView(direction: connectionDirection, state: state,
                              peerRouterID: negotiated?.peerRouterID, peerAS: negotiated?.peerAS,
                              gracefulRestartNegotiated: negotiated?.gracefulRestart != nil)
    }

    /// A second instance for an incoming connection accepted while this one already has a
    /// connection: same configuration and backoff state, already sending its OPEN. Run both
    /// through `CollisionResolver` until one is dumped; if the second one survives, call
    /// `promoteToPrimary()` on it.
    public func makeIncomingSession(now: Instant) -> (SessionFSM, [Action]) {
        var s = SessionFSM(config: config)
        s.isSecondary = true
        s.isAdministrativelyUp = true
        s.consecutiveFailures = consecutiveFailures
        s.closedBeforeOpen = closedBeforeOpen
        s.passiveRun = true
        s.state = .active
        let actions = s.handle(.tcpConnectionConfirmed, now: now)
        return (s, actions)
    }

    /// The surviving second instance becomes the peer's primary: it restarts by itself from now on.
    public mutating func promoteToPrimary() {
        isSecondary = false
        passiveRun = config.passive
    }

    /// Feed one event; returns the actions to perform, in order.
    public mutating func handle(_ event: Event, now: Instant) -> [Action] {
        if let kind = event.timerKind {
            guard let due = timers[kind], now.milliseconds >= due.milliseconds - Self.timerSlack else { return [] }
            timers[kind] = nil
        }
        var out: [Action] = []
        switch state {
        case .idle: idle(event, now, &out)
        case .connect: connect(event, now, &out)
        case .active: active(event, now, &out)
        case .openSent: openSent(event, now, &out)
        case .openConfirm: openConfirm(event, now, &out)
        case .established: established(event, now, &out)
        }
        return out
    }

    // MARK: - Building blocks shared by the state handlers

    mutating func setState(_ next: SessionState, _ out: inout [Action]) {
        guard next != state else { return }
        out.append(.stateChanged(from: state, to: next))
        state = next
    }

    mutating func startTimer(_ kind: TimerKind, _ d: Duration, _ now: Instant, _ out: inout [Action]) {
        timers[kind] = now + d
        out.append(.startTimer(kind, d))
    }

    mutating func stopTimer(_ kind: TimerKind, _ out: inout [Action]) {
        if timers.removeValue(forKey: kind) != nil { out.append(.stopTimer(kind)) }
    }

    func idleHoldTime(afterFailures n: Int) -> Duration {
        let cap = config.maxIdleHoldTime.milliseconds
        var ms = config.idleHoldTime.milliseconds
        var i = 1
        while i < n && ms < cap { ms *= 2; i += 1 }
        return .milliseconds(max(0, min(ms, cap)))
    }

    /// Idle → Connect (active) or Active (passive).
    mutating func start(passive: Bool, _ now: Instant, _ out: inout [Action]) {
        isAdministrativelyUp = true
        passiveRun = passive || config.passive
        stopTimer(.idleHold, &out)
        if passiveRun {
            if !config.passive { startTimer(.connectRetry, config.connectRetryTime, now, &out) }
            setState(.active, &out)
        } else {
            startTimer(.connectRetry, config.connectRetryTime, now, &out)
            beginConnect(&out)
            setState(.connect, &out)
        }
    }

    mutating func beginConnect(_ out: inout [Action]) {
        transport = .connecting
        connectionDirection = .outbound
        out.append(.connect)
    }

    /// Close (or abort) the connection without leaving the FSM's current state logic.
    mutating func closeTransport(_ out: inout [Action]) {
        if transport != .none { out.append(.closeConnection) }
        transport = .none
        connectionDirection = nil
    }

    /// A TCP connection is up (events 16/17) in Idle/Connect/Active.
    mutating func connectionUp(_ direction: ConnectionDirection, _ now: Instant, _ out: inout [Action]) {
        transport = .open
        connectionDirection = direction
        stopTimer(.connectRetry, &out)
        if let delay = config.delayOpenTime {
            startTimer(.delayOpen, delay, now, &out)
        } else {
            sendOpen(now, &out)
        }
    }

    /// Send our OPEN and wait for the peer's with the large hold time (→ OpenSent).
    mutating func sendOpen(_ now: Instant, _ out: inout [Action]) {
        stopTimer(.delayOpen, &out)
        stopTimer(.connectRetry, &out)
        out.append(.sendOpen(config.localOpen))
        startTimer(.hold, config.openHoldTime, now, &out)
        setState(.openSent, &out)
    }

    /// A valid-syntax OPEN arrived: check and negotiate; → OpenConfirm or Idle.
    /// `sendOurOpen` is set when the OPEN arrives while DelayOpen holds ours back (event 20).
    mutating func receiveOpen(_ open: OpenMessage, sendOurOpen: Bool, _ now: Instant, _ out: inout [Action]) {
        switch OpenNegotiation.negotiate(open, config: config) {
        case .failure(let n):
            if sendOurOpen { out.append(.sendOpen(config.localOpen)) }
            goIdle(now, &out, send: n, reason: .notificationSent(n))
        case .success(let session):
            closedBeforeOpen = 0
            stopTimer(.connectRetry, &out)
            stopTimer(.delayOpen, &out)
            if sendOurOpen { out.append(.sendOpen(config.localOpen)) }
            negotiated = session
            out.append(.sendKeepalive)
            if let ka = session.keepaliveInterval {
                startTimer(.keepalive, ka, now, &out)
                startTimer(.hold, .seconds(Int64(session.holdTime)), now, &out)
            } else {
                stopTimer(.hold, &out)
            }
            setState(.openConfirm, &out)
        }
    }

    mutating func restartHoldTimer(_ now: Instant, _ out: inout [Action]) {
        guard let s = negotiated, s.holdTime > 0 else { return }
        startTimer(.hold, .seconds(Int64(s.holdTime)), now, &out)
    }

    mutating func sendKeepaliveAndRearm(_ now: Instant, _ out: inout [Action]) {
        out.append(.sendKeepalive)
        if let ka = negotiated?.keepaliveInterval { startTimer(.keepalive, ka, now, &out) }
    }

    /// Any state → Idle. Sends `send` if a connection is open, closes the connection, stops
    /// every timer, reports `sessionDown` when leaving Established, and (when the instance is
    /// administratively up and `restart` is set) schedules the automatic restart after the
    /// idle hold backoff.
    mutating func goIdle(_ now: Instant, _ out: inout [Action], send: NotificationMessage? = nil,
                         reason: SessionDownReason, countsAsFailure: Bool = true, restart: Bool = true) {
        if let send, transport == .open { out.append(.sendNotification(send)) }
        if transport != .none { out.append(.closeConnection) }
        transport = .none
        for kind in TimerKind.allCases { stopTimer(kind, &out) }
        if state == .established {
            if let gr = negotiated?.gracefulRestart, let families = gr.staleFamilies(after: reason) {
                out.append(.retainStaleRoutes(families: families, restartTime: .seconds(Int64(gr.restartTime))))
            }
            out.append(.sessionDown(reason))
            if let since = establishedAt, now.duration(since: since) >= config.stableTime { consecutiveFailures = 0 }
        }
        if countsAsFailure { consecutiveFailures += 1 }
        lastDownReason = reason
        negotiated = nil
        establishedAt = nil
        connectionDirection = nil
        endOfRIB = [:]
        lastSendProgress = nil
        if restart && isAdministrativelyUp && !isSecondary {
            startTimer(.idleHold, idleHoldTime(afterFailures: max(consecutiveFailures, 1)), now, &out)
        }
        setState(.idle, &out)
    }

    /// ManualStop (event 2) in any state but Idle.
    mutating func manualStop(subcode: UInt8, message: String?, _ now: Instant, _ out: inout [Action]) {
        isAdministrativelyUp = false
        consecutiveFailures = 0
        let n = hardResetIfNeeded(.cease(subcode, message: message))
        let opened = state == .openSent || state == .openConfirm || state == .established
        goIdle(now, &out, send: opened ? n : nil, reason: .administrativeStop(n), countsAsFailure: false, restart: false)
    }

    /// RFC 8538 §5: with the N bit negotiated, a Cease that should flush the peer's copy of our
    /// routes (maximum prefixes, administrative shutdown, peer de-configured, administrative
    /// reset) goes out as Hard Reset 6/9 wrapping the original subcode and data.
    func hardResetIfNeeded(_ n: NotificationMessage) -> NotificationMessage {
        guard state == .established, negotiated?.gracefulRestart?.notification == true,
              n.code == NotificationCode.cease,
              [CeaseSubcode.maximumPrefixesReached, CeaseSubcode.administrativeShutdown,
               CeaseSubcode.peerDeconfigured, CeaseSubcode.administrativeReset].contains(n.subcode) else { return n }
        return NotificationMessage(code: NotificationCode.cease, subcode: CeaseSubcode.hardReset, data: [n.subcode] + n.data)
    }

    /// An event the state does not expect: 5/x FSM error (RFC 6608) where an OPEN was sent,
    /// then Idle.
    mutating func fsmError(_ event: Event, _ now: Instant, _ out: inout [Action]) {
        let opened = state == .openSent || state == .openConfirm || state == .established
        if opened {
            let n = NotificationMessage.fsmError(in: state)
            goIdle(now, &out, send: n, reason: .notificationSent(n))
        } else {
            goIdle(now, &out, reason: .unexpectedEvent(event.rfcName))
        }
    }

    mutating func collisionDump(_ now: Instant, _ out: inout [Action]) {
        goIdle(now, &out, send: .cease(CeaseSubcode.connectionCollisionResolution),
               reason: .collisionResolution, countsAsFailure: false, restart: false)
    }
}

extension Event {
    /// The timer whose expiry this event reports, if any.
    public var timerKind: TimerKind? {
        switch self {
        case .connectRetryTimerExpires: .connectRetry
        case .holdTimerExpires: .hold
        case .keepaliveTimerExpires: .keepalive
        case .delayOpenTimerExpires: .delayOpen
        case .idleHoldTimerExpires: .idleHold
        case .sendHoldTimerExpires: .sendHold
        default: nil
        }
    }

    /// The RFC 4271 §8.1 name (or ours for the non-RFC inputs), for logs.
    public var rfcName: String {
        switch self {
        case .manualStart: "ManualStart"
        case .manualStop: "ManualStop"
        case .automaticStart: "AutomaticStart"
        case .manualStartPassive: "ManualStart_with_PassiveTcpEstablishment"
        case .automaticStartPassive: "AutomaticStart_with_PassiveTcpEstablishment"
        case .automaticStop: "AutomaticStop"
        case .connectRetryTimerExpires: "ConnectRetryTimer_Expires"
        case .holdTimerExpires: "HoldTimer_Expires"
        case .keepaliveTimerExpires: "KeepaliveTimer_Expires"
        case .delayOpenTimerExpires: "DelayOpenTimer_Expires"
        case .idleHoldTimerExpires: "IdleHoldTimer_Expires"
        case .sendHoldTimerExpires: "SendHoldTimer_Expires"
        case .sendProgress: "SendProgress"
        case .tcpConnectionAcked: "Tcp_CR_Acked"
        case .tcpConnectionConfirmed: "TcpConnectionConfirmed"
        case .tcpConnectionFails: "TcpConnectionFails"
        case .openReceived: "BGPOpen"
        case .headerError: "BGPHeaderErr"
        case .openMessageError: "BGPOpenMsgErr"
        case .openCollisionDump: "OpenCollisionDump"
        case .notificationReceived(let n): n.isVersionError ? "NotifMsgVerErr" : "NotifMsg"
        case .keepaliveReceived: "KeepAliveMsg"
        case .updateReceived: "UpdateMsg"
        case .updateMessageError: "UpdateMsgErr"
        case .routeRefreshReceived: "RouteRefreshMsg"
        case .routeRefreshMessageError: "RouteRefreshMsgErr"
        case .requestRouteRefresh: "RequestRouteRefresh"
        case .initialAdvertisementDone: "InitialAdvertisementDone"
        }
    }
}
