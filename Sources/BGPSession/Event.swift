/// The session states of RFC 4271 §8.2.2.
public enum SessionState: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case idle = "Idle"
    case connect = "Connect"
    case active = "Active"
    case openSent = "OpenSent"
    case openConfirm = "OpenConfirm"
    case established = "Established"
    public var description: String { rawValue }
}

/// The timers the FSM asks the shell to run. The shell owns the real timers; each expiry
/// comes back as the matching event.
public enum TimerKind: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case connectRetry = "ConnectRetryTimer"
    case hold = "HoldTimer"
    case keepalive = "KeepaliveTimer"
    case delayOpen = "DelayOpenTimer"
    case idleHold = "IdleHoldTimer"
    /// RFC 9687 SendHoldTimer (Established only).
    case sendHold = "SendHoldTimer"
    public var description: String { rawValue }

    /// The event the shell delivers when this timer fires.
    public var expiryEvent: Event {
        switch self {
        case .connectRetry: .connectRetryTimerExpires
        case .hold: .holdTimerExpires
        case .keepalive: .keepaliveTimerExpires
        case .delayOpen: .delayOpenTimerExpires
        case .idleHold: .idleHoldTimerExpires
        case .sendHold: .sendHoldTimerExpires
        }
    }
}

/// FSM inputs, named after RFC 4271 §8.1 (the RFC name and number on each case). Events 6, 7
/// (damping) and 14, 15 (TcpConnection_Valid / Tcp_CR_Invalid: the shell only delivers
/// connections from the configured peer) are not modelled.
public enum Event: Hashable, Sendable {
    /// Event 1: ManualStart. With `config.passive` it behaves as event 4.
    case manualStart
    /// Event 2: ManualStop. Sends Cease `subcode` (default 6/2 Administrative Shutdown, with an
    /// optional RFC 9003 shutdown communication) if a connection is open; no automatic restart.
    case manualStop(subcode: UInt8 = CeaseSubcode.administrativeShutdown, message: String? = nil)
    /// Event 3: AutomaticStart. With `config.passive` it behaves as event 5.
    case automaticStart
    /// Event 4: ManualStart_with_PassiveTcpEstablishment.
    case manualStartPassive
    /// Event 5: AutomaticStart_with_PassiveTcpEstablishment.
    case automaticStartPassive
    /// Event 8: AutomaticStop (e.g. maximum prefixes): sends this NOTIFICATION, then restarts
    /// after the idle hold backoff.
    case automaticStop(NotificationMessage)
    /// Event 9: ConnectRetryTimer_Expires.
    case connectRetryTimerExpires
    /// Event 10: HoldTimer_Expires.
    case holdTimerExpires
    /// Event 11: KeepaliveTimer_Expires.
    case keepaliveTimerExpires
    /// Event 12: DelayOpenTimer_Expires.
    case delayOpenTimerExpires
    /// Event 13: IdleHoldTimer_Expires (automatic restart after the backoff).
    case idleHoldTimerExpires
    /// RFC 9687 Event 29: SendHoldTimer_Expires.
    case sendHoldTimerExpires
    /// Local: the shell wrote bytes to the socket (RFC 9687: sending makes progress). Cheap:
    /// no actions, it only records the time; report it after every write that moved data.
    case sendProgress
    /// Event 16: Tcp_CR_Acked: our outgoing connection is up.
    case tcpConnectionAcked
    /// Event 17: TcpConnectionConfirmed: an incoming connection from the peer was accepted.
    case tcpConnectionConfirmed
    /// Event 18: TcpConnectionFails: the connection failed or was closed by the peer.
    case tcpConnectionFails
    /// Events 19/20: BGPOpen (a syntactically valid OPEN; the FSM checks its content).
    case openReceived(OpenMessage)
    /// Event 21: BGPHeaderErr, with the NOTIFICATION the codec built.
    case headerError(NotificationMessage)
    /// Event 22: BGPOpenMsgErr, with the NOTIFICATION the codec built.
    case openMessageError(NotificationMessage)
    /// Event 23: OpenCollisionDump: this connection lost collision resolution (§6.8).
    case openCollisionDump
    /// Events 24/25: NotifMsgVerErr (2/1) / NotifMsg: a NOTIFICATION arrived.
    case notificationReceived(NotificationMessage)
    /// Event 26: KeepAliveMsg.
    case keepaliveReceived
    /// Event 27: UpdateMsg.
    case updateReceived(ReceivedUpdate)
    /// Event 28: UpdateMsgErr: an UPDATE error that resets the session (RFC 7606 "session
    /// reset"); treat-as-withdraw and attribute-discard are handled by the shell without an event.
    case updateMessageError(NotificationMessage)
    /// ROUTE-REFRESH received (RFC 2918, RFC 7313).
    case routeRefreshReceived(RouteRefreshMessage)
    /// Malformed ROUTE-REFRESH (RFC 7313 §5: 7/1), with the NOTIFICATION to send.
    case routeRefreshMessageError(NotificationMessage)
    /// Local request: ask the peer to re-send `family` (soft reset in).
    case requestRouteRefresh(AddressFamily)
    /// Local: the shell finished the initial advertisement of `family` after Established.
    case initialAdvertisementDone(AddressFamily)
}

/// Why a session (or connection attempt) went down.
public enum SessionDownReason: Hashable, Sendable, CustomStringConvertible {
    /// ManualStop: we sent this Cease.
    case administrativeStop(NotificationMessage)
    /// AutomaticStop: we sent this NOTIFICATION.
    case automaticStop(NotificationMessage)
    case holdTimerExpired
    /// We detected an error and sent this NOTIFICATION.
    case notificationSent(NotificationMessage)
    /// The peer sent this NOTIFICATION.
    case notificationReceived(NotificationMessage)
    /// TCP connect failed, or the connection broke / was closed.
    case connectionFailed
    /// This connection lost collision resolution (Cease 6/7 sent).
    case collisionResolution
    /// RFC 9687: nothing could be written to the peer for the send hold time (8/0 attempted).
    case sendHoldTimerExpired
    /// An event the state does not expect before any OPEN was sent (no NOTIFICATION possible).
    case unexpectedEvent(String)

    public var description: String {
        switch self {
        case .administrativeStop(let n): "administrative stop (sent \(n))"
        case .automaticStop(let n): "automatic stop (sent \(n))"
        case .holdTimerExpired: "hold timer expired"
        case .sendHoldTimerExpired: "send hold timer expired"
        case .notificationSent(let n): "sent NOTIFICATION \(n)"
        case .notificationReceived(let n): "received NOTIFICATION \(n)"
        case .connectionFailed: "TCP connection failed"
        case .collisionResolution: "connection collision resolution"
        case .unexpectedEvent(let e): "unexpected event \(e)"
        }
    }
}

/// FSM outputs: the shell performs them in order.
public enum Action: Hashable, Sendable {
    /// Open a TCP connection to the peer; report `tcpConnectionAcked` or `tcpConnectionFails`.
    case connect
    /// Close the connection (after flushing queued messages, e.g. a NOTIFICATION just sent).
    /// Also aborts a connect in progress.
    case closeConnection
    case sendOpen(OpenMessage)
    case sendKeepalive
    case sendNotification(NotificationMessage)
    case sendRouteRefresh(RouteRefreshMessage)
    /// Send an End-of-RIB marker for the family (RFC 4724 §2).
    case sendEndOfRIB(AddressFamily)
    /// (Re)start the timer: cancel any running timer of this kind, fire after `duration`.
    case startTimer(TimerKind, Duration)
    case stopTimer(TimerKind)
    /// Established: build the codec's decode/encode context from this; start advertising.
    case sessionEstablished(NegotiatedSession)
    /// Graceful restart helper (RFC 4724 §4.2, RFC 8538): the session is about to go down but
    /// the peer's routes of these families stay, marked stale, for at most `restartTime`.
    /// Always immediately followed by `.sessionDown`.
    case retainStaleRoutes(families: Set<AddressFamily>, restartTime: Duration)
    /// Left Established: withdraw the peer's routes (except those a preceding
    /// `retainStaleRoutes` kept as stale); stop advertising.
    case sessionDown(SessionDownReason)
    /// Give the UPDATE of this event to the RIB.
    case deliverUpdate
    /// The peer finished its initial advertisement of this family (RFC 4724).
    case endOfRIBReceived(AddressFamily)
    /// The peer asks us to re-advertise (subtype 0) or marks BoRR/EoRR (RFC 7313).
    case routeRefreshRequested(RouteRefreshMessage)
    /// The state changed (for logs and status).
    case stateChanged(from: SessionState, to: SessionState)
}
