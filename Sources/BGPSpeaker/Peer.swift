import BGPSession
import BGPWire
import Dispatch
import Logging
import NetCore
import Posix
import SystemPackage

/// What a peer tells the speaker (delivered on the speaker's queue). `session` numbers the
/// peer's Established sessions: a report of an earlier session is stale and ignored.
enum PeerReport: Sendable {
    /// UPDATEs received, in order.
    case updates(IPAddress, session: Int, [ParsedUpdate])
    case established(IPAddress, session: Int, EstablishedSession)
    /// The session left Established. `retain`: the peer negotiated graceful restart; keep its
    /// routes of these families, stale, for `restartTime` (RFC 4724 §4.2).
    case down(IPAddress, session: Int, retain: (families: Set<SessionFamily>, restartTime: Duration)?)
    case status(IPAddress, PeerRuntimeStatus)
    /// End-of-RIB for `family`; `all`: every negotiated family has sent it now.
    case endOfRIB(IPAddress, session: Int, SessionFamily, all: Bool)
    /// The peer asked for our routes of `family` again (ROUTE-REFRESH, RFC 2918); `enhanced`:
    /// the answer is bracketed by BoRR/EoRR (RFC 7313).
    case routeRefresh(IPAddress, session: Int, SessionFamily, enhanced: Bool)
    /// The peer begins (BoRR) or ends (EoRR) re-sending `family` (RFC 7313 §4).
    case refreshMarker(IPAddress, session: Int, SessionFamily, begin: Bool)
    /// The socket took what was sent: more UPDATEs may go.
    case ready(IPAddress, session: Int)
}

/// What the speaker needs of a new session.
struct EstablishedSession: Sendable {
    var negotiated: NegotiatedSession
    var localAddress: IPAddress?
    var encode: EncodeContext
}

/// A peer's status as the control socket shows it.
struct PeerRuntimeStatus: Sendable, Equatable {
    var state: SessionState = .idle
    /// Wall-clock seconds since the epoch of the last state change (display only).
    var sinceEpoch: Int = 0
    var lastError: String?
    /// How many times the session reached Established (GoBGP's "flops" counts the other way).
    var establishedCount = 0
}

/// One BGP connection of a peer: the FSM instance that runs on it, the socket, its timers and
/// the read buffer. A peer has a primary slot and, during a collision, a second one.
/// Confined to the peer's queue.
final class ConnectionSlot: @unchecked Sendable {
    var fsm: SessionFSM
    var connection: StreamConnection?
    var timers: [TimerKind: QueueTimer] = [:]
    var buffer: [UInt8] = []
    var context = WireContext()
    /// The UPDATE of the event being handled (the FSM answers `.deliverUpdate`).
    var pendingUpdate: ParsedUpdate?
    init(fsm: SessionFSM) { self.fsm = fsm }

    func cancelTimers() {
        for t in timers.values { t.cancel() }
        timers.removeAll()
    }
}

/// One configured peer's transport: its session(s), FSM instances, socket, timers and codec,
/// confined to its own serial queue (decoding runs here, beside the other peers'). Routes live
/// in the speaker's RIB: UPDATEs go up as `PeerReport.updates`, encoded UPDATEs come down
/// through `send(updates:session:)` as the socket takes them. Every method runs on `queue`
/// unless noted. `@unchecked Sendable`: queue-confined.
final class Peer: @unchecked Sendable {
    let queue: DispatchQueue
    private(set) var config: PeerConfig
    let localAS: ASNumber
    let routerID: IPv4Address
    private var logger: Logger
    private let report: @Sendable (PeerReport) -> Void
    private let clock: @Sendable () -> Instant

    private var primary: ConnectionSlot
    private var secondary: ConnectionSlot?
    private var status = PeerRuntimeStatus()
    private var stopped = false
    /// Numbers Established sessions (reports and sends carry it).
    private(set) var session = 0
    /// UPDATEs decoded from the current read, reported together.
    private var inbound: [ParsedUpdate] = []
    /// The speaker waits for `.ready` before sending more.
    private var owesReady = false
    /// Prefixes reported in `.updates` the speaker has not applied yet. Past
    /// `maxUnapplied` reading pauses, so a fast peer cannot fill our memory with decoded
    /// UPDATEs waiting for the RIB.
    private var unapplied = 0
    /// Set by the speaker: 256k prefixes shared by all peers, at least 2,048 each.
    var maxUnapplied = 65_536
    /// Set by `.retainStaleRoutes`, consumed by the `.sessionDown` right after it.
    private var retain: (families: Set<SessionFamily>, restartTime: Duration)?
    /// Send the GR R bit until the first session with this peer is Established.
    private var restarting: Bool

    init(config: PeerConfig, localAS: ASNumber, routerID: IPv4Address, restarting: Bool = false, logger: Logger,
         clock: @escaping @Sendable () -> Instant, report: @escaping @Sendable (PeerReport) -> Void) {
        self.config = config
        self.localAS = localAS
        self.routerID = routerID
        self.restarting = restarting
        self.queue = DispatchQueue(label: "twill.bgp.peer.\(config.address)")
        var l = logger
        l[metadataKey: "bgp.peer"] = "\(config.address)"
        self.logger = l
        self.clock = clock
        self.report = report
        primary = ConnectionSlot(fsm: SessionFSM(config: Peer.sessionConfig(config, localAS: localAS, routerID: routerID,
                                                                            restarting: restarting)))
    }

    static func sessionConfig(_ c: PeerConfig, localAS: ASNumber, routerID: IPv4Address,
                              restarting: Bool = false) -> PeerSessionConfig {
        var families: Set<BGPSession.AddressFamily> = []
        for f in c.addressFamilies { families.insert(f == .ipv4 ? .ipv4Unicast : .ipv6Unicast) }
        let keep = c.keepaliveTime.map { UInt16(clamping: $0.seconds) }
        // Waiting for the peer's OPEN: RFC 4271 suggests 4 minutes. A connection whose FIN never
        // reaches us (e.g. an MD5 peer that dropped its key while closing) would sit in OpenSent
        // that long, so wait twice the hold time, at least 30 s and at most 240 s.
        let openHold = Duration.seconds(max(30, min(240, 2 * c.holdTime.seconds)))
        return PeerSessionConfig(
            localAS: localAS, peerAS: c.asNumber, localRouterID: routerID, peerAddress: c.address,
            localAddress: c.sourceAddress, peerPort: c.port, password: c.password, passive: c.passive,
            holdTime: UInt16(clamping: c.holdTime.seconds), keepaliveTime: keep,
            openHoldTime: openHold, connectRetryTime: .seconds(5), idleHoldTime: .seconds(1), maxIdleHoldTime: .seconds(60),
            families: families, gracefulRestart: c.gracefulRestartTime.map {
                // F bit for every family: the node's kernel routes survive our restart.
                LocalGracefulRestart(restartTime: UInt16(clamping: min($0.seconds, 4095)), restarting: restarting,
                                     notification: true, preservedForwarding: families)
            })
    }

    // MARK: control (called on queue)

    func start() {
        dispatchPrecondition(condition: .onQueue(queue))
        stopped = false
        handle(config.passive ? .manualStartPassive : .manualStart, on: primary)
    }

    /// ManualStop with Cease `subcode` (6/2 shutdown, 6/3 peer de-configured, 6/6 config change).
    func stop(subcode: UInt8, then done: (@Sendable () -> Void)? = nil) {
        dispatchPrecondition(condition: .onQueue(queue))
        stopped = true
        if let s = secondary { handle(.manualStop(subcode: subcode), on: s) }
        handle(.manualStop(subcode: subcode), on: primary)
        guard let done else { return }
        waitForClose(tries: 20, done)
    }

    /// Our graceful restart: closes every connection without a NOTIFICATION (as a crash would,
    /// and BIRD's `graceful restart` command does), so a peer that negotiated GR keeps our
    /// routes for our restart time. The FSM is left as it is: the speaker is going away.
    func abandon() {
        dispatchPrecondition(condition: .onQueue(queue))
        stopped = true
        for slot in [primary, secondary].compactMap({ $0 }) {
            slot.cancelTimers()
            if let c = slot.connection {
                slot.connection = nil
                c.onEnd = nil
                c.close()
            }
        }
        secondary = nil
    }

    /// Calls `done` once no connection is left flushing (bounded: `tries` × 50 ms).
    private func waitForClose(tries: Int, _ done: @escaping @Sendable () -> Void) {
        closing.removeAll { $0.value?.isClosing != true }
        if tries <= 0 || closing.isEmpty && primary.connection == nil && secondary?.connection == nil {
            done()
            return
        }
        queue.asyncAfter(deadline: .now() + .milliseconds(50)) { [weak self] in
            guard let self else { return done() }
            self.waitForClose(tries: tries - 1, done)
        }
    }

    /// Applies a changed configuration: in place when the FSM says the session can keep running
    /// (and the socket options are unchanged), otherwise a reset with Cease 6/6.
    func reconfigure(_ new: PeerConfig) {
        dispatchPrecondition(condition: .onQueue(queue))
        let old = config
        config = new
        let newS = Peer.sessionConfig(new, localAS: localAS, routerID: routerID, restarting: restarting)
        var outcome = primary.fsm.reconfigure(newS)
        if case .inPlace = outcome, primary.fsm.state != .idle,
           old.multihop != new.multihop || old.ttlSecurity != new.ttlSecurity || old.sourceAddress != new.sourceAddress {
            outcome = .resetSession(ResetReason(changedFields: ["multihop/ttlSecurity/sourceAddress"]))
        }
        switch outcome {
        case .inPlace:
            logger.info("peer reconfigured in place")
        case .resetSession(let why):
            logger.info("peer settings changed: resetting session", metadata: ["reason": "\(why)"])
            if let s = secondary {
                handle(.manualStop(subcode: BGPSession.CeaseSubcode.otherConfigurationChange), on: s)
                s.cancelTimers()
                secondary = nil
            }
            handle(.manualStop(subcode: BGPSession.CeaseSubcode.otherConfigurationChange), on: primary)
            handle(config.passive ? .manualStartPassive : .manualStart, on: primary)
        }
    }

    /// Encoded UPDATEs from the speaker for session `session`; answered with `.ready` once the
    /// socket has taken most of them (flow control: the speaker keeps the rest as pending
    /// prefixes, not as queued messages).
    func send(updates: [[UInt8]], session: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard session == self.session, let slot = established, let c = slot.connection else { return }
        for m in updates { c.send(m) }
        if c.queuedBytes <= Peer.lowWater {
            report(.ready(config.address, session: session))
        } else {
            owesReady = true
        }
    }

    /// Queued bytes below which the speaker may send more.
    static let lowWater = 256 * 1024

    /// The initial advertisement of `session` is out: End-of-RIB per family (RFC 4724 §4.1).
    func initialAdvertisementDone(session: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard session == self.session, let slot = established else { return }
        for af in (slot.fsm.negotiated?.families ?? []).sorted() { handle(.initialAdvertisementDone(af), on: slot) }
    }

    /// Closes the session with Cease/1 (RFC 4486: AFI, SAFI, the limit) when the peer sent more
    /// prefixes than `maxPrefixes`; the FSM restarts it after its idle hold backoff.
    func maximumPrefixesReached(session: Int, family: SessionFamily, limit: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard session == self.session, let slot = established else { return }
        let l = UInt32(clamping: limit)
        let data: [UInt8] = [UInt8(family.afi >> 8), UInt8(family.afi & 0xff), family.safi,
                             UInt8(l >> 24), UInt8((l >> 16) & 0xff), UInt8((l >> 8) & 0xff), UInt8(l & 0xff)]
        logger.warning("maximum prefixes reached: closing the session", metadata: ["bgp.limit": "\(limit)"])
        handle(.automaticStop(BGPSession.NotificationMessage(code: 6, subcode: BGPSession.CeaseSubcode.maximumPrefixesReached,
                                                              data: data)), on: slot)
    }

    /// Sends a BoRR or EoRR marker (RFC 7313) around our re-sent routes of `family`.
    func sendRefreshMarker(_ family: SessionFamily, begin: Bool, session: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard session == self.session, let slot = established, let c = slot.connection else { return }
        c.send(WireBridge.encodeRouteRefresh(BGPSession.RouteRefreshMessage(
            family: family, subtype: begin ? RouteRefreshMessage.beginning : RouteRefreshMessage.end)))
    }

    /// Asks the peer to send its routes again (after an import policy change).
    func requestRouteRefresh(session: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard session == self.session, let slot = established, slot.fsm.negotiated?.routeRefresh == true else { return }
        for af in (slot.fsm.negotiated?.families ?? []).sorted() { handle(.requestRouteRefresh(af), on: slot) }
    }

    /// An incoming TCP connection from this peer's address.
    func incoming(_ socket: Socket) {
        dispatchPrecondition(condition: .onQueue(queue))
        if stopped {
            socket.close()
            return
        }
        let now = clock()
        if primary.fsm.canAdoptIncomingConnection {
            if let c = primary.connection { c.close(); primary.connection = nil }
            attach(socket, to: primary, connecting: false)
            handle(.tcpConnectionConfirmed, on: primary)
            return
        }
        if secondary == nil, primary.fsm.isAdministrativelyUp {
            let (fsm, actions) = primary.fsm.makeIncomingSession(now: now)
            let slot = ConnectionSlot(fsm: fsm)
            secondary = slot
            attach(socket, to: slot, connecting: false)
            logger.debug("connection collision: second connection from peer")
            perform(actions, on: slot)
            return
        }
        logger.info("refusing extra connection from peer")
        socket.close()
    }

    // MARK: FSM plumbing

    private func handle(_ event: Event, on slot: ConnectionSlot) {
        let actions = slot.fsm.handle(event, now: clock())
        perform(actions, on: slot)
    }

    private func perform(_ actions: [Action], on slot: ConnectionSlot) {
        for a in actions { perform(a, on: slot) }
        resolveCollision()
    }

    private func perform(_ action: Action, on slot: ConnectionSlot) {
        switch action {
        case .connect:
            connect(slot)
        case .closeConnection:
            closeConnection(slot)
        case .sendOpen(let open):
            send(WireBridge.encodeOpen(open), on: slot)
        case .sendKeepalive:
            send(WireBridge.keepalive, on: slot)
        case .sendNotification(let n):
            logger.info("sending NOTIFICATION", metadata: ["bgp.notification": "\(n)"])
            if slot === primary { status.lastError = "Sent: \(Peer.text(n))" }
            send(WireBridge.encodeNotification(n), on: slot)
        case .sendRouteRefresh(let rr):
            send(WireBridge.encodeRouteRefresh(rr), on: slot)
        case .sendEndOfRIB(let af):
            send(WireBridge.encodeEndOfRIB(af, context: slot.context), on: slot)
        case .startTimer(let kind, let d):
            let t = slot.timers[kind] ?? QueueTimer()
            slot.timers[kind] = t
            let leeway: DispatchTimeInterval = kind == .hold || kind == .keepalive ? .milliseconds(20) : .milliseconds(100)
            t.schedule(on: queue, afterMilliseconds: d.milliseconds, leeway: leeway) { @Sendable [weak self, weak slot] in
                guard let self, let slot else { return }
                self.timerFired(kind, slot)
            }
        case .stopTimer(let kind):
            slot.timers[kind]?.cancel()
        case .sessionEstablished(let neg):
            established(neg, on: slot)
        case .retainStaleRoutes(let families, let restartTime):
            retain = (families, restartTime)
        case .sessionDown(let reason):
            sessionDown(reason, on: slot)
        case .deliverUpdate:
            if let u = slot.pendingUpdate { inbound.append(u) }
            slot.pendingUpdate = nil
        case .endOfRIBReceived(let af):
            logger.debug("End-of-RIB received", metadata: ["bgp.family": "\(af)"])
            flushInbound()
            report(.endOfRIB(config.address, session: session, af, all: slot.fsm.allEndOfRIBReceived))
        case .routeRefreshRequested(let rr):
            flushInbound()
            switch rr.subtype {
            case RouteRefreshMessage.request:
                let enhanced = slot.fsm.negotiated?.enhancedRouteRefresh == true
                report(.routeRefresh(config.address, session: session, rr.family, enhanced: enhanced))
            case RouteRefreshMessage.beginning, RouteRefreshMessage.end:
                report(.refreshMarker(config.address, session: session, rr.family,
                                      begin: rr.subtype == RouteRefreshMessage.beginning))
            default:
                break
            }
        case .stateChanged(let from, let to):
            var l = logger
            l[metadataKey: "bgp.state"] = "\(to)"
            l.info("state change", metadata: ["bgp.from": "\(from)"])
            if slot === primary {
                status.state = to
                status.sinceEpoch = WallClock.now()
                if to == .established { status.lastError = nil; status.establishedCount += 1 }
                publishStatus()
            }
        }
    }

    private func timerFired(_ kind: TimerKind, _ slot: ConnectionSlot) {
        guard slot === primary || slot === secondary else { return }
        if kind == .hold { logger.info("hold timer expired") }
        handle(kind.expiryEvent, on: slot)
    }

    /// RFC 4271 §6.8 with two connections: after every event on either, ask the resolver which
    /// connection to dump; a second connection whose primary went Idle takes over.
    private func resolveCollision() {
        guard let s = secondary else { return }
        if s.connection == nil && s.fsm.state == .idle {
            s.cancelTimers()
            secondary = nil
            return
        }
        if primary.fsm.state == .idle || (primary.connection == nil && primary.fsm.state != .established) {
            promoteSecondary()
            return
        }
        guard let pv = primary.fsm.connectionView, let sv = s.fsm.connectionView else { return }
        switch CollisionResolver.resolve(localRouterID: routerID, localAS: localAS, pv, sv) {
        case .undecided:
            return
        case .close(let direction):
            logger.info("connection collision: closing the \(direction) connection")
            dump(pv.direction == direction ? primary : s, survivor: pv.direction == direction ? s : primary)
        case .closeSameDirection(let established):
            let primaryLoses = (primary.fsm.state == .established) == established
            logger.info(established ? "peer reconnected (graceful restart): closing the old session"
                                    : "second connection from the peer while Established: closing it")
            dump(primaryLoses ? primary : s, survivor: primaryLoses ? s : primary)
        }
    }

    /// Collision resolution chose `loser`: it sends Cease 6/7 and closes; `survivor` stays primary.
    private func dump(_ loser: ConnectionSlot, survivor: ConnectionSlot) {
        secondary = nil
        handle(.openCollisionDump, on: loser)
        loser.cancelTimers()
        if loser === primary {
            primary = survivor
            survivor.fsm.promoteToPrimary()
            status.state = survivor.fsm.state
            publishStatus()
        }
    }

    private func promoteSecondary() {
        guard let s = secondary else { return }
        primary.cancelTimers()
        if let c = primary.connection { c.close() }
        secondary = nil
        s.fsm.promoteToPrimary()
        primary = s
        status.state = s.fsm.state
        publishStatus()
    }

    // MARK: transport

    private func connect(_ slot: ConnectionSlot) {
        let family = config.address.family
        do {
            let sock = try Socket.tcp(family)
            do {
                try prepare(sock)
                if let src = config.sourceAddress { try sock.bind(to: SocketAddress(src, port: 0)) }
                let r = try sock.connect(to: SocketAddress(config.address, port: config.port))
                attach(sock, to: slot, connecting: r == .inProgress)
                if r == .connected { handle(.tcpConnectionAcked, on: slot) }
            } catch {
                sock.close()
                throw error
            }
        } catch {
            logger.debug("connect failed", metadata: ["error": "\(error)"])
            status.lastError = "Socket: \((error as? SyscallError)?.errno.description ?? "\(error)")"
            queue.async { [weak self, weak slot] in
                guard let self, let slot else { return }
                self.handle(.tcpConnectionFails, on: slot)
            }
        }
    }

    /// Socket options every session socket gets: MD5 key, TTL, GTSM, no Nagle.
    func prepare(_ sock: Socket) throws(SyscallError) {
        if let pw = config.password { try sock.setMD5Key(peer: config.address, key: pw) }
        if let ttl = config.outgoingTTL(localAS: localAS) { try sock.setTTL(ttl) }
        if let min = config.minimumTTL { try sock.setMinimumTTL(min) }
        try sock.setNoDelay()
    }

    private func attach(_ sock: Socket, to slot: ConnectionSlot, connecting: Bool) {
        let conn = StreamConnection(socket: sock, queue: queue)
        slot.connection = conn
        slot.buffer.removeAll()
        slot.context = WireContext()
        conn.onRead = { [weak self, weak slot] bytes in
            guard let self, let slot else { return }
            self.received(bytes, on: slot)
        }
        conn.onEnd = { [weak self, weak slot] why in
            guard let self, let slot, slot.connection === conn else { return }
            slot.connection = nil
            self.logger.debug("connection ended", metadata: ["reason": "\(why)"])
            if slot === self.primary, slot.fsm.state != .established { self.status.lastError = "Socket: \(why)" }
            // A send that fails (peer reset) ends the connection while actions are being
            // performed — e.g. inside `sendOpen`. Handling the failure there would run the FSM
            // re-entrantly and the rest of the outer actions (OpenSent's hold timer, its state)
            // would then overwrite the failure: a session stuck in OpenSent with no socket. So
            // the event is delivered after the current actions, as for write progress.
            self.queue.async { [weak self, weak slot] in
                // Not when a new connection took the slot meanwhile: the FSM has moved on.
                guard let self, let slot, slot.connection == nil else { return }
                self.handle(.tcpConnectionFails, on: slot)
            }
        }
        conn.onWriteProgress = { [weak self, weak slot] in
            guard let self, let slot, slot.connection === conn, slot.fsm.state == .established else { return }
            if self.owesReady, conn.queuedBytes <= Peer.lowWater {
                self.owesReady = false
                self.report(.ready(self.config.address, session: self.session))
            }
            // Runs inside a send, i.e. while actions are being performed: no nested perform.
            let more = slot.fsm.handle(.sendProgress, now: self.clock())
            if !more.isEmpty { self.queue.async { self.perform(more, on: slot) } }
        }
        conn.onConnect = { [weak self, weak slot] err in
            guard let self, let slot else { return }
            if let err {
                self.status.lastError = "Socket: \(err)"
                self.logger.debug("connect failed", metadata: ["error": "\(err)"])
                conn.close()
                slot.connection = nil
                self.handle(.tcpConnectionFails, on: slot)
            } else {
                self.handle(.tcpConnectionAcked, on: slot)
            }
        }
        if !connecting, sock.isOpen {
            // Accepted sockets inherit the listener's MD5 keys; set TTL/GTSM per peer.
            try? prepare(sock)
        }
        conn.start(connecting: connecting)
    }

    private func closeConnection(_ slot: ConnectionSlot) {
        guard let c = slot.connection else { return }
        slot.connection = nil
        c.onEnd = nil
        c.closeAfterFlush()
        if c.isClosing { closing.append(Weak(c)) }
    }

    /// Connections still flushing a final NOTIFICATION (they keep themselves alive, ≤ 1 s).
    private var closing: [Weak<StreamConnection>] = []

    private func send(_ bytes: [UInt8], on slot: ConnectionSlot) {
        slot.connection?.send(bytes)
    }

    // MARK: receive

    private func received(_ bytes: [UInt8], on slot: ConnectionSlot) {
        slot.buffer += bytes
        // Handling an event may close this connection (and, later, attach another to the slot):
        // only consume from the buffer while it still belongs to this connection.
        let conn = slot.connection
        var offset = 0
        defer {
            if offset > 0 && conn != nil && slot.connection === conn { slot.buffer.removeFirst(offset) }
            flushInbound()
        }
        while conn != nil && slot.connection === conn {
            let frame: WireBridge.Frame
            switch WireBridge.nextFrame(slot.buffer, from: offset, context: slot.context) {
            case .needMore: return
            case .error(let n):
                handle(.headerError(n), on: slot)
                return
            case .frame(let f): frame = f
            }
            let msg = Array(slot.buffer[offset..<(offset + frame.length)])
            offset += frame.length
            let event = WireBridge.decode(msg, type: frame.type, context: slot.context)
            switch event {
            case .event(let e):
                if case .notificationReceived(let n) = e {
                    logger.info("received NOTIFICATION", metadata: ["bgp.notification": "\(n)"])
                    if slot === primary { status.lastError = "Received: \(Peer.text(n))" }
                }
                handle(e, on: slot)
            case .update(let u):
                slot.pendingUpdate = u
                handle(.updateReceived(ReceivedUpdate(endOfRIB: u.endOfRIB)), on: slot)
                slot.pendingUpdate = nil
            case .ignore:
                break
            }
        }
    }

    // MARK: session

    private func established(_ neg: NegotiatedSession, on slot: ConnectionSlot) {
        slot.context = WireContext(negotiated: neg, externalPeer: config.isEBGP(localAS: localAS))
        let localAddress = (try? slot.connection?.socket.localAddress())?.ip
        logger.info("session established", metadata: [
            "bgp.peerAS": "\(neg.peerAS)", "bgp.hold": "\(neg.holdTime)",
            "bgp.families": "\(neg.families.sorted().map(\.description))",
        ])
        if restarting {
            // Our restart is over for this peer once a session is up: later OPENs (after a
            // flap) carry R = 0, as BIRD's once its recovery is done. In place (RFC 4724 §3).
            restarting = false
            let c = Peer.sessionConfig(config, localAS: localAS, routerID: routerID, restarting: false)
            _ = primary.fsm.reconfigure(c)
            _ = secondary?.fsm.reconfigure(c)
        }
        session += 1
        owesReady = false
        inbound.removeAll()
        unapplied = 0
        // The speaker queues the initial advertisement and calls `initialAdvertisementDone`
        // when it is all sent; the FSM then sends End-of-RIB per family.
        report(.established(config.address, session: session,
                            EstablishedSession(negotiated: neg, localAddress: localAddress, encode: slot.context.encode)))
    }

    private func sessionDown(_ reason: SessionDownReason, on slot: ConnectionSlot) {
        logger.info("session down", metadata: ["reason": "\(reason)"])
        if case .holdTimerExpired = reason { status.lastError = "Hold timer expired" }
        flushInbound()
        owesReady = false
        unapplied = 0
        resumeReading()
        let r = retain
        retain = nil
        report(.down(config.address, session: session, retain: r))
        publishStatus()
    }

    /// Reports the UPDATEs decoded so far, in one batch.
    private func flushInbound() {
        guard !inbound.isEmpty else { return }
        let batch = inbound
        inbound.removeAll(keepingCapacity: true)
        unapplied += batch.reduce(0) { $0 + $1.prefixCount }
        report(.updates(config.address, session: session, batch))
        if unapplied > maxUnapplied {
            for slot in [primary, secondary].compactMap({ $0 }) { slot.connection?.pauseReading() }
        }
    }

    /// The speaker applied `count` prefixes of `.updates` reports of `session`.
    func updatesApplied(_ count: Int, session: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard session == self.session else { return }
        unapplied = max(0, unapplied - count)
        if unapplied <= maxUnapplied / 2 { resumeReading() }
    }

    private func resumeReading() {
        for slot in [primary, secondary].compactMap({ $0 }) { slot.connection?.resumeReading() }
    }

    /// The slot whose session is Established (normally the primary; a second connection can get
    /// there just before collision resolution promotes it).
    private var established: ConnectionSlot? {
        if primary.fsm.state == .established { return primary }
        if let s = secondary, s.fsm.state == .established { return s }
        return nil
    }

    private func publishStatus() {
        report(.status(config.address, status))
    }
}

extension Peer {
    /// A NOTIFICATION for the status line; a Hard Reset (RFC 8538) names the Cease it wraps:
    /// "6/9 Cease: Hard Reset, 6/2 Cease: Administrative Shutdown".
    static func text(_ n: BGPSession.NotificationMessage) -> String {
        guard let inner = n.hardResetInner else { return "\(n)" }
        return "\(n.code)/\(n.subcode) \(NotificationCode.name(code: n.code, subcode: n.subcode)), \(inner)"
    }
}

struct Weak<T: AnyObject> {
    weak var value: T?
    init(_ v: T) { value = v }
}
