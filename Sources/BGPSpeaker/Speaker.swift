@_exported import BGPRIB
import BGPSession
import BGPWire
import Dispatch
import Foundation
import Logging
import NetCore
import Posix

/// Twill's BGP speaker: a listener, one `Peer` per configured neighbour (each on its own serial
/// queue: sockets, FSM, decoding), the RIB (`BGPRIB.RIB`: Adj-RIB-In, Loc-RIB with best path,
/// route reflection, per-peer pending output, update groups) and the control socket.
/// Thread-safe: public methods hop onto the speaker's serial queue. `@unchecked Sendable`: all
/// state is confined to `queue`.
///
/// Queue order: peer queues report to the speaker queue with `async`; the speaker queue talks
/// to peer queues with `async`; only public entry points and the control server use `sync`
/// onto the speaker queue, and nothing on it ever waits for them.
///
/// Output flow: a best-path change marks the prefix pending for every Established peer. The
/// speaker drains a peer's pending prefixes into UPDATEs (`UpdateEncoder`) only while that
/// peer's socket keeps up: one batch in flight per peer, the next when the peer reports
/// `.ready`. A slow peer costs a bit per prefix; changes made meanwhile coalesce.
public final class Speaker: @unchecked Sendable {
    public private(set) var config: SpeakerConfig
    private let queue = DispatchQueue(label: "twill.bgp.speaker")
    private var logger: Logger
    private var peers: [IPAddress: Peer] = [:]
    private var peerStatus: [IPAddress: PeerRuntimeStatus] = [:]
    private var rib: RIB
    private var sessions: [IPAddress: SessionState] = [:]
    /// `config.peers` by address.
    private var peerConfigs: [IPAddress: PeerConfig] = [:]
    private var encoder = UpdateEncoder()
    private var flushScheduled = false
    private var listeners: [(Socket, DispatchSourceRead)] = []
    private var control: ControlServer?
    private var rejected = 0
    private var started = false
    private let origin = DispatchTime.now().uptimeNanoseconds
    private var routeObserver: (@Sendable ([BestRouteChange]) -> Void)?
    /// Marks `queue` so read-only entry points called from the route observer (which runs on
    /// it) do not deadlock.
    private let onSpeakerQueue = DispatchSpecificKey<Bool>()

    /// Prefixes per drained batch: ~100 KB of UPDATEs, enough to keep a socket busy between
    /// two `.ready` reports without holding a large queue of messages.
    static let batchPrefixes = 8_192

    /// The speaker's side of one peer: its RIB slot and, while Established, the session.
    /// Confined to the speaker's queue (`@unchecked Sendable` for its timer's closure).
    final class SessionState: @unchecked Sendable {
        let id: PeerID
        var session = 0
        var up = false
        var context = WireContext()
        var families: Set<SessionFamily> = []
        /// A batch is with the peer; wait for `.ready`.
        var inFlight = false
        /// Families re-sent for an enhanced route refresh: EoRR follows once drained.
        var endOfRefreshPending: Set<SessionFamily> = []
        /// The initial advertisement is still being sent (End-of-RIB follows it).
        var initialPending = false
        /// While we defer selection after our restart: this peer's End-of-RIB is waited for.
        var endOfRIBAwaited = false
        /// Graceful restart helper state (RFC 4724 §4.2): which routes are stale until when.
        var stale = StaleRoutes()
        let staleTimer = QueueTimer()
        init(id: PeerID) { self.id = id }
    }

    public init(config: SpeakerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        rib = RIB(local: Speaker.localSpeaker(config))
        queue.setSpecific(key: onSpeakerQueue, value: true)
    }

    static func localSpeaker(_ c: SpeakerConfig) -> LocalSpeaker {
        // A cluster ID makes us a route reflector; with clients but no explicit ID, BIRD and
        // FRR use the router ID.
        let cluster = c.clusterID ?? (c.peers.contains { $0.routeReflectorClient } ? c.routerID : nil)
        return LocalSpeaker(asn: c.asNumber.value, routerID: c.routerID, clusterID: cluster)
    }

    func ribPolicy(_ pc: PeerConfig) -> RIBPeerPolicy {
        let ebgp = pc.isEBGP(localAS: config.asNumber)
        return RIBPeerPolicy(
            asn: pc.asNumber.value, type: ebgp ? .ebgp : .ibgp, isRRClient: pc.routeReflectorClient,
            allowASIn: pc.allowASIn, nextHopMode: pc.nextHopMode,
            importAll: pc.effectiveImport(localAS: config.asNumber) == .all,
            exportAll: pc.effectiveExport(localAS: config.asNumber) == .all,
            families: Set(pc.addressFamilies.map(\.family)),
            importFilters: pc.filters.compactMap { config.filters[$0] },
            exportFilters: pc.filters.compactMap { config.filters[$0] })
    }

    /// Runs `body` on the speaker queue, inline if already there.
    private func onQueue<T>(_ body: () throws -> T) rethrows -> T {
        if DispatchQueue.getSpecific(key: onSpeakerQueue) == true { return try body() }
        return try queue.sync(execute: body)
    }

    /// Registers the observer of best peer-learned routes (call before `start()`). It is called
    /// on the speaker's queue, once per processed batch of UPDATEs, withdrawal, session down or
    /// stale-route flush, with every prefix whose best route from a peer changed (`best` nil: no
    /// peer route left). Our own announcements are never reported. Routes a graceful-restart
    /// helper keeps as stale do not change (nothing is reported) until they are re-announced or
    /// flushed. The observer may call the read-only methods (`learnedBestRoutes()`, `routes()`,
    /// `peerStatuses()`), but not `start`, `stop` or `reload`; hop to your own queue for slow work.
    public func setRouteObserver(_ observer: @escaping @Sendable ([BestRouteChange]) -> Void) {
        onQueue {
            routeObserver = observer
            rib.setObserving(true, multipath: config.multipath)
        }
    }

    /// Snapshot of the best peer-learned route of every prefix (for a resync).
    public func learnedBestRoutes() -> [Route] {
        onQueue { rib.allBestLearned.sorted { $0.prefix < $1.prefix } }
    }

    deinit { assert(!started, "Speaker released without stop()") }

    /// Monotonic time for the FSM (milliseconds since the speaker was made).
    private var clock: @Sendable () -> Instant {
        let origin = self.origin
        return { Instant(milliseconds: Int64((DispatchTime.now().uptimeNanoseconds - origin) / 1_000_000)) }
    }

    /// Binds the listener and the control socket, then starts every peer. Throws before
    /// starting anything if a socket cannot be bound.
    public func start() throws {
        ProcessSignals.ignoreSIGPIPE()
        try queue.sync {
            precondition(!started, "Speaker started twice")
            if config.listen.enabled { try openListeners() }
            if let path = config.controlSocket {
                do {
                    control = try ControlServer(path: path, logger: logger) { [weak self] req in
                        self?.answer(req) ?? ControlReply(error: "speaker stopped")
                    }
                } catch {
                    closeListeners()
                    throw error
                }
            }
            started = true
            for a in config.announce { announceLocal(a) }
            for p in config.peers { addPeer(p) }
            startInitialSync()
            startSelectionDeferral()
            logger.info("BGP speaker started", metadata: [
                "bgp.as": "\(config.asNumber)", "bgp.routerID": "\(config.routerID)", "bgp.peers": "\(config.peers.count)",
                "bgp.clusterID": "\(rib.local.clusterID.map { "\($0)" } ?? "none")",
            ])
        }
    }

    /// Sends Cease 6/2 (Administrative Shutdown) to every peer, waits (at most ~1 s) for the
    /// NOTIFICATIONs to go out, then closes every socket.
    public func stop() {
        let group = DispatchGroup()
        let all: [Peer] = queue.sync { Array(peers.values) }
        for p in all {
            group.enter()
            p.queue.async { p.stop(subcode: BGPSession.CeaseSubcode.administrativeShutdown) { group.leave() } }
        }
        _ = group.wait(timeout: .now() + .seconds(2))
        tearDown()
        logger.info("BGP speaker stopped")
    }

    /// Stops for a graceful restart (RFC 4724; BIRD's `graceful restart` command): every
    /// session's TCP connection is closed without a NOTIFICATION, so peers that negotiated
    /// graceful restart keep our routes, stale, for `gracefulRestartTime` and keep forwarding
    /// to us. Start the next speaker with `SpeakerConfig.restarting = true`; its End-of-RIB
    /// ends the peers' wait. Peers without GR withdraw our routes as after a crash.
    public func stopForGracefulRestart() {
        let group = DispatchGroup()
        let all: [Peer] = queue.sync { Array(peers.values) }
        for p in all {
            group.enter()
            p.queue.async {
                p.abandon()
                group.leave()
            }
        }
        _ = group.wait(timeout: .now() + .seconds(2))
        tearDown()
        logger.info("BGP speaker stopped for a graceful restart (no NOTIFICATION sent)")
    }

    private func tearDown() {
        // The control server's handler syncs onto this queue: close it outside, never inside.
        let ctl: ControlServer? = queue.sync {
            closeListeners()
            peers.removeAll()
            for s in sessions.values { s.staleTimer.cancel() }
            initialSyncTimer.cancel()
            deferralTimer.cancel()
            started = false
            defer { control = nil }
            return control
        }
        ctl?.close()
    }

    /// Applies a new configuration (SIGHUP): peers added, removed (Cease 6/3) or reconfigured
    /// (in place, or reset when the FSM says the change needs a new session; a changed import
    /// policy asks the peer for a ROUTE-REFRESH, a changed export policy re-sends what it gets);
    /// announcements diffed. Listener and control socket changes need a restart and are
    /// reported as errors.
    public func reload(_ new: SpeakerConfig) throws {
        try queue.sync {
            if new.routerID != config.routerID || new.asNumber != config.asNumber {
                throw ConfigError("routerID/asNumber", "changing the router ID or AS number needs a restart")
            }
            if new.listen != config.listen { throw ConfigError("listen", "changing the listen address needs a restart") }
            if new.controlSocket != config.controlSocket {
                throw ConfigError("controlSocket", "changing the control socket needs a restart")
            }
            let old = config
            config = new
            config.restarting = old.restarting
            rib.setLocal(Speaker.localSpeaker(config))
            if routeObserver != nil { rib.setObserving(true, multipath: config.multipath) }
            let oldPeers = Dictionary(uniqueKeysWithValues: old.peers.map { ($0.address, $0) })
            let newPeers = Dictionary(uniqueKeysWithValues: new.peers.map { ($0.address, $0) })
            for (addr, _) in oldPeers where newPeers[addr] == nil {
                guard let p = peers.removeValue(forKey: addr) else { continue }
                peerStatus[addr] = nil
                setListenerKey(addr, nil)
                p.queue.async { p.stop(subcode: BGPSession.CeaseSubcode.peerDeconfigured) {} }
                peerConfigs[addr] = nil
                if let st = sessions.removeValue(forKey: addr) {
                    st.staleTimer.cancel()
                    rib.removePeer(st.id)
                }
                awaitingSync.remove(addr)
                synced.remove(addr)
                logger.info("peer removed", metadata: ["bgp.peer": "\(addr)"])
            }
            for (addr, pc) in newPeers {
                if let existing = oldPeers[addr] {
                    guard let p = peers[addr], let st = sessions[addr] else { continue }
                    peerConfigs[addr] = pc
                    let changed = rib.setPolicy(st.id, ribPolicy(pc))
                    if changed.importChanged, st.up {
                        let session = st.session
                        p.queue.async { p.requestRouteRefresh(session: session) }
                    }
                    // A lowered limit applies at once, as BIRD's `receive limit` does on reconfigure.
                    if existing.maxPrefixes != pc.maxPrefixes { checkMaxPrefixes(addr, st) }
                    guard existing != pc else { continue }
                    if existing.password != pc.password { setListenerKey(addr, pc.password) }
                    p.queue.async { p.reconfigure(pc) }
                } else {
                    addPeer(pc)
                }
            }
            // Policies that name filters by name: a changed filter changes the peers using it.
            // Announcements.
            let oldA = Set(old.announce), newA = Set(new.announce)
            for a in oldA.subtracting(newA) where !newA.contains(where: { $0.prefix == a.prefix }) {
                rib.withdraw(from: .local, prefixes: [a.prefix])
            }
            for a in newA.subtracting(oldA) { announceLocal(a) }
            afterChange()
            checkInitialSync()
            checkSelectionDeferral()
            logger.info("configuration reloaded")
        }
    }

    /// Connections from addresses that are not configured peers, closed at once.
    public var rejectedConnections: Int { onQueue { rejected } }

    /// Peers as the control socket reports them.
    public func peerStatuses() -> [PeerStatus] { onQueue { statusList() } }

    /// Every path in the RIB, best first per prefix, with the reason each other path lost.
    public func routes() -> [RouteStatus] { onQueue { routeList() } }

    /// The ports the listeners are bound to (useful with `listen.port: 0` style tests).
    public func listeningAddresses() -> [SocketAddress] {
        onQueue { listeners.compactMap { try? $0.0.localAddress() } }
    }

    // MARK: peers

    private func addPeer(_ pc: PeerConfig) {
        let addr = pc.address
        let p = Peer(config: pc, localAS: config.asNumber, routerID: config.routerID, restarting: config.restarting,
                     logger: logger, clock: clock) {
            [weak self] r in
            guard let self else { return }
            self.queue.async { self.handle(r) }
        }
        peers[addr] = p
        peerConfigs[addr] = pc
        let budget = max(2_048, 262_144 / max(1, config.peers.count))
        p.queue.async { p.maxUnapplied = budget }
        peerStatus[addr] = PeerRuntimeStatus(sinceEpoch: WallClock.now())
        sessions[addr] = SessionState(id: rib.addPeer(address: addr, policy: ribPolicy(pc)))
        setListenerKey(addr, pc.password)
        p.queue.async { p.start() }
    }

    /// Our announcements without a next hop share one attribute set per family.
    private static let selfAttributes = (v4: RouteAttributes(nextHop: .unspecified(.v4)), v6: RouteAttributes(nextHop: .unspecified(.v6)))

    private func announceLocal(_ a: Announcement) {
        let attrs = a.nextHop.map { RouteAttributes(nextHop: $0) }
            ?? (a.prefix.family == .v4 ? Self.selfAttributes.v4 : Self.selfAttributes.v6)
        rib.announce(from: .local, attributes: attrs, prefixes: [a.prefix])
    }

    private func handle(_ r: PeerReport) {
        dispatchPrecondition(condition: .onQueue(queue))
        switch r {
        case .updates(let addr, let session, let updates):
            guard let st = sessions[addr], st.up, st.session == session else { return }
            apply(updates, st)
            if let p = peers[addr] {
                let n = updates.reduce(0) { $0 + $1.prefixCount }
                p.queue.async { p.updatesApplied(n, session: session) }
            }
            checkMaxPrefixes(addr, st)
            afterChange()
        case .established(let addr, let session, let info):
            guard let st = sessions[addr], peers[addr] != nil else { return }
            sessionUp(addr, st, session, info)
            checkSelectionDeferral()
            afterChange()
        case .down(let addr, let session, let retain):
            guard let st = sessions[addr], st.session == session, st.up else { return }
            sessionDown(addr, st, retain: retain)
            afterChange()
        case .status(let addr, let s):
            if peers[addr] != nil { peerStatus[addr] = s }
        case .endOfRIB(let addr, let session, let family, let all):
            guard let st = sessions[addr], st.up, st.session == session else { return }
            let gone = st.stale.endOfRIB(family)
            if !gone.isEmpty {
                logger.info("graceful restart: End-of-RIB, stale routes withdrawn",
                            metadata: ["bgp.peer": "\(addr)", "bgp.family": "\(family)", "bgp.stale": "\(gone.count)"])
            }
            withdrawStale(st, gone)
            if all {
                synced.insert(addr)
                checkInitialSync()
                checkSelectionDeferral()
            }
            afterChange()
        case .routeRefresh(let addr, let session, let family, let enhanced):
            guard let st = sessions[addr], st.up, st.session == session, let p = peers[addr] else { return }
            if enhanced {
                // BoRR now (before the re-sent UPDATEs on the peer's queue), EoRR once drained.
                p.queue.async { p.sendRefreshMarker(family, begin: true, session: session) }
                st.endOfRefreshPending.insert(family)
            }
            rib.resend(st.id, family: family == .ipv4Unicast ? .v4 : .v6)
            scheduleFlush()
        case .refreshMarker(let addr, let session, let family, let begin):
            // RFC 7313 §4: at BoRR the peer's routes of the family become stale; what it does not
            // send again before EoRR goes then.
            guard let st = sessions[addr], st.up, st.session == session, !st.stale.isHelping else { return }
            let f: IPFamily = family == .ipv4Unicast ? .v4 : .v6
            if begin {
                rib.markStale(st.id, families: [f])
            } else {
                let gone = rib.sweepStale(st.id, families: [f])
                if gone > 0 {
                    logger.info("enhanced route refresh: routes not re-sent before EoRR withdrawn",
                                metadata: ["bgp.peer": "\(addr)", "bgp.family": "\(family)", "bgp.withdrawn": "\(gone)"])
                }
                afterChange()
            }
        case .ready(let addr, let session):
            guard let st = sessions[addr], st.up, st.session == session else { return }
            st.inFlight = false
            flush(addr, st)
            rib.reclaimEmptied()
        }
    }

    private func apply(_ updates: [ParsedUpdate], _ st: SessionState) {
        for u in updates {
            if st.stale.isHelping {
                // Sent again, announced or withdrawn: no longer stale (RFC 4724 §4.2).
                for p in u.withdrawn { st.stale.refreshed(p) }
                for (_, ps) in u.announced { for p in ps { st.stale.refreshed(p) } }
                if !st.stale.isHelping { st.staleTimer.cancel() }
            }
            if !u.withdrawn.isEmpty { rib.withdraw(from: st.id, prefixes: u.withdrawn) }
            for (attrs, prefixes) in u.announced {
                if let why = rib.announce(from: st.id, attributes: attrs, prefixes: prefixes) {
                    logger.debug("path rejected", metadata: ["bgp.reason": "\(why)", "bgp.prefixes": "\(prefixes.count)"])
                }
            }
        }
    }

    /// RFC 4486 Cease/1 when a peer sends more prefixes than its `maxPrefixes`.
    private func checkMaxPrefixes(_ addr: IPAddress, _ st: SessionState) {
        // The limit from the speaker's own configuration: `Peer.config` belongs to the peer's queue.
        guard st.up, let limit = peerConfigs[addr]?.maxPrefixes, rib.pathCount(st.id) > limit,
              let p = peers[addr] else { return }
        let family = st.families.min() ?? .ipv4Unicast
        let session = st.session
        logger.warning("peer exceeded its maximum prefixes", metadata: [
            "bgp.peer": "\(addr)", "bgp.limit": "\(limit)", "bgp.received": "\(rib.pathCount(st.id))",
        ])
        p.queue.async { p.maximumPrefixesReached(session: session, family: family, limit: limit) }
    }

    private func sessionUp(_ addr: IPAddress, _ st: SessionState, _ session: Int, _ info: EstablishedSession) {
        if st.up { rib.peerDown(st.id, keepPaths: false) }
        st.session = session
        st.up = true
        st.inFlight = false
        st.initialPending = true
        st.endOfRefreshPending.removeAll()
        st.families = info.negotiated.families
        // Selection deferral waits for this peer's End-of-RIB only if it will send one as a
        // helper: GR-capable and not restarting itself (RFC 4724 §4.1).
        st.endOfRIBAwaited = info.negotiated.gracefulRestart.map { !$0.restarting } ?? false
        var ctx = WireContext()
        ctx.encode = info.encode
        st.context = ctx
        if st.stale.isHelping {
            let gone = st.stale.sessionEstablished(info.negotiated, now: clock())
            logger.info("graceful restart: peer is back; stale routes wait for its End-of-RIB",
                        metadata: ["bgp.peer": "\(addr)", "bgp.stale": "\(st.stale.staleCount)", "bgp.flushed": "\(gone.count)"])
            withdrawStale(st, gone)
        }
        rib.peerUp(st.id, routerID: info.negotiated.peerRouterID, localAddress: info.localAddress)
    }

    private func sessionDown(_ addr: IPAddress, _ st: SessionState, retain: (families: Set<SessionFamily>, restartTime: Duration)?) {
        st.up = false
        st.inFlight = false
        st.initialPending = false
        if let r = retain {
            // RFC 4724 §4.2 helper: keep the routes of the GR families, stale, for the peer's
            // restart time; the others go now.
            let held = rib.prefixes(of: st.id)
            let gone = st.stale.sessionLost(retaining: r.families, restartTime: r.restartTime, routes: held, now: clock())
            rib.peerDown(st.id, keepPaths: true)
            rib.markStale(st.id, families: Set(r.families.map { $0 == .ipv4Unicast ? IPFamily.v4 : .v6 }))
            logger.info("graceful restart: keeping the peer's routes as stale", metadata: [
                "bgp.peer": "\(addr)", "bgp.stale": "\(st.stale.staleCount)", "bgp.restartTime": "\(r.restartTime)",
                "bgp.families": "\(r.families.sorted().map(\.description))",
            ])
            withdrawStale(st, gone)
            return
        }
        _ = st.stale.reset()
        st.staleTimer.cancel()
        rib.peerDown(st.id, keepPaths: false)
    }

    /// Withdraws these routes of the peer (stale ones whose time is up), re-arms the stale timer.
    private func withdrawStale(_ st: SessionState, _ prefixes: [IPPrefix]) {
        if !prefixes.isEmpty { rib.withdraw(from: st.id, prefixes: prefixes) }
        if let due = st.stale.nextDeadline {
            let ms = max(0, due.milliseconds - clock().milliseconds)
            st.staleTimer.schedule(on: queue, afterMilliseconds: ms, leeway: .milliseconds(100)) { @Sendable [weak self, weak st] in
                guard let self, let st else { return }
                let gone = st.stale.expire(now: self.clock())
                if !gone.isEmpty {
                    self.logger.info("graceful restart: time is up, stale routes withdrawn", metadata: ["bgp.stale": "\(gone.count)"])
                }
                self.withdrawStale(st, gone)
                self.afterChange()
            }
        } else {
            st.staleTimer.cancel()
        }
    }

    /// After every change to the RIB: tell the observer, send what is pending.
    private func afterChange() {
        if routeObserver != nil {
            notify(rib.takeLearnedChanges().map { BestRouteChange(prefix: $0.prefix, best: $0.best, multipath: $0.multipath) })
        }
        scheduleFlush()
    }

    // MARK: output

    /// Flushes once the reports already queued are handled, so their changes coalesce.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        queue.async { [weak self] in
            guard let self else { return }
            self.flushScheduled = false
            for (addr, st) in self.sessions where st.up { self.flush(addr, st) }
            self.rib.reclaimEmptied()
        }
    }

    private func flush(_ addr: IPAddress, _ st: SessionState) {
        guard st.up, !st.inFlight, !deferring, let p = peers[addr] else { return }
        var msgs: [[UInt8]] = []
        while msgs.isEmpty && rib.hasPending(st.id) {
            let batch = rib.drain(st.id, limit: Self.batchPrefixes)
            if !batch.isEmpty { msgs = encoder.encode(batch, context: st.context) }
        }
        let session = st.session
        if !msgs.isEmpty {
            st.inFlight = true
            let out = msgs
            p.queue.async { p.send(updates: out, session: session) }
        }
        if st.initialPending && !rib.hasPending(st.id) {
            // Queued behind the last batch on the peer's queue: End-of-RIB follows it.
            st.initialPending = false
            p.queue.async { p.initialAdvertisementDone(session: session) }
        }
        if !st.endOfRefreshPending.isEmpty && !rib.hasPending(st.id) {
            let families = st.endOfRefreshPending.sorted()
            st.endOfRefreshPending.removeAll()
            p.queue.async { for f in families { p.sendRefreshMarker(f, begin: false, session: session) } }
        }
    }

    /// One observer call per batch, in prefix order.
    private func notify(_ changes: [BestRouteChange]) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !changes.isEmpty, started, let observer = routeObserver else { return }
        observer(changes)
    }

    // MARK: selection deferral (restarting side, RFC 4724 §4.1)

    /// While restarting we send nothing — not even End-of-RIB — until every peer's routes are in:
    /// each configured peer has sent End-of-RIB, or is Established without being able to (no GR,
    /// or restarting itself), or `selectionDeferralTime` is up. Peers then get one consistent
    /// table instead of our partial view followed by corrections.
    private var deferring = false
    private let deferralTimer = QueueTimer()

    private func startSelectionDeferral() {
        guard config.restarting, !config.peers.isEmpty else { return }
        deferring = true
        deferralTimer.schedule(on: queue, afterMilliseconds: config.selectionDeferralTime.milliseconds, leeway: .milliseconds(100)) {
            @Sendable [weak self] in self?.endSelectionDeferral(complete: false)
        }
        logger.info("restarting: deferring route selection until every peer's End-of-RIB",
                    metadata: ["bgp.deferral": "\(config.selectionDeferralTime)"])
    }

    private func checkSelectionDeferral() {
        guard deferring else { return }
        for pc in config.peers {
            let st = sessions[pc.address]
            let ready = synced.contains(pc.address) || (st?.up == true && st?.endOfRIBAwaited == false)
            if !ready { return }
        }
        endSelectionDeferral(complete: true)
    }

    private func endSelectionDeferral(complete: Bool) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard deferring else { return }
        deferring = false
        deferralTimer.cancel()
        logger.info(complete ? "selection deferral over: every peer's End-of-RIB is in"
                             : "selection deferral timer expired: sending our routes")
        scheduleFlush()
    }

    // MARK: initial sync (restarting side)

    /// Calls `handler` once, on the speaker's queue, when every configured peer has sent
    /// End-of-RIB for each family of its session (`true`), or when `timeout` has passed since
    /// `start()` (`false`), whichever comes first. That is when a restarting node agent, which
    /// kept its kernel routes (`SpeakerConfig.restarting`), can delete those that
    /// `learnedBestRoutes()` no longer has (RFC 4724 §4.1; BIRD waits the same way for
    /// `graceful restart wait`, 240 s). Call before `start()`. Peers added later by `reload`
    /// are not waited for; removed ones no longer are.
    public func setInitialSyncHandler(timeout: CalicoDuration = CalicoDuration(seconds: 240),
                                      _ handler: @escaping @Sendable (_ allPeersSentEndOfRIB: Bool) -> Void) {
        onQueue {
            initialSync = handler
            initialSyncTimeout = timeout
        }
    }

    private var initialSync: (@Sendable (Bool) -> Void)?
    private var initialSyncTimeout = CalicoDuration(seconds: 240)
    private let initialSyncTimer = QueueTimer()
    /// Peers that sent End-of-RIB for every family; the peers waited for.
    private var synced: Set<IPAddress> = []
    private var awaitingSync: Set<IPAddress> = []

    private func startInitialSync() {
        guard initialSync != nil else { return }
        awaitingSync = Set(config.peers.map(\.address))
        initialSyncTimer.schedule(on: queue, afterMilliseconds: initialSyncTimeout.milliseconds, leeway: .milliseconds(100)) {
            @Sendable [weak self] in self?.finishInitialSync(complete: false)
        }
        checkInitialSync()
    }

    private func checkInitialSync() {
        guard initialSync != nil, awaitingSync.isSubset(of: synced) else { return }
        finishInitialSync(complete: true)
    }

    private func finishInitialSync(complete: Bool) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let h = initialSync, started else { return }
        initialSync = nil
        initialSyncTimer.cancel()
        logger.info(complete ? "initial sync: End-of-RIB from every peer" : "initial sync: timed out waiting for End-of-RIB",
                    metadata: ["bgp.waitingFor": "\(awaitingSync.subtracting(synced).sorted().map(\.description))"])
        h(complete)
    }

    // MARK: listener

    private func openListeners() throws {
        let port = config.listen.port
        var addrs: [SocketAddress] = []
        // `::` means every address, as a Linux socket bound to it does (dual stack); only a
        // specific IPv6 address is IPv6-only.
        let dualStack = config.listen.address.map { $0 == .v6(.any) } ?? true
        if let a = config.listen.address {
            addrs = [SocketAddress(a, port: port)]
        } else {
            addrs = [SocketAddress(.v6(.any), port: port)]
        }
        var i = 0
        while i < addrs.count {
            let a = addrs[i]
            i += 1
            let made = Result { () throws(SyscallError) in try Socket.tcp(a.family) }
            guard case .success(let s) = made else {
                if a.family == .v6 && dualStack {
                    // No IPv6 in this namespace: listen on IPv4 only.
                    addrs.append(SocketAddress(.v4(.any), port: port))
                    continue
                }
                if case .failure(let e) = made { throw ListenError(address: a, error: e) }
                continue
            }
            do {
                try s.setReuseAddress()
                if a.family == .v6 { try s.setV6Only(!dualStack) }
                try s.bind(to: a)
                try s.listen()
            } catch {
                s.close()
                closeListeners()
                throw ListenError(address: a, error: error)
            }
            let src = DispatchSource.makeReadSource(fileDescriptor: s.descriptor, queue: queue)
            src.setEventHandler { @Sendable [weak self] in self?.acceptAll(s) }
            src.setCancelHandler { s.close() }
            src.resume()
            listeners.append((s, src))
            logger.info("listening", metadata: ["bgp.listen": "\(a)"])
        }
    }

    private func closeListeners() {
        for (_, src) in listeners { src.cancel() }
        listeners.removeAll()
    }

    /// RFC 2385 keys live on the listening socket, one per peer address.
    private func setListenerKey(_ addr: IPAddress, _ key: String?) {
        for (s, _) in listeners {
            do { try s.setMD5Key(peer: addr, key: key) } catch {
                if key != nil { logger.error("cannot set TCP MD5 key", metadata: ["bgp.peer": "\(addr)", "error": "\(error)"]) }
            }
        }
    }

    private func acceptAll(_ listener: Socket) {
        dispatchPrecondition(condition: .onQueue(queue))
        while listener.isOpen {
            let r: IOResult<AcceptedConnection>
            do { r = try listener.accept() } catch {
                logger.warning("accept failed", metadata: ["error": "\(error)"])
                return
            }
            guard case .processed(let c) = r else { return }
            guard let remote = c.remote, let peer = peers[remote.ip] else {
                rejected += 1
                logger.notice("connection from an address that is not a configured peer: closed",
                              metadata: ["bgp.remote": "\(c.remote.map { "\($0)" } ?? "?")", "bgp.rejected": "\(rejected)"])
                c.socket.close()
                continue
            }
            let sock = c.socket
            peer.queue.async { peer.incoming(sock) }
        }
    }

    // MARK: control socket

    private func answer(_ req: ControlRequest) -> ControlReply {
        switch req.cmd {
        case "status": return ControlReply(peers: peerStatuses())
        case "routes": return ControlReply(routes: routes())
        default: return ControlReply(error: "unknown cmd \"\(req.cmd)\" (expected status or routes)")
        }
    }

    private func statusList() -> [PeerStatus] {
        config.peers.map { pc in
            let s = peerStatus[pc.address] ?? PeerRuntimeStatus()
            let st = sessions[pc.address]
            let stale = st?.stale.staleCount ?? 0
            let up = s.state == .established
            var info = s.state.rawValue
            if stale > 0 {
                // Graceful restart helper: the peer's routes are kept, stale, until it is back
                // and sends End-of-RIB (or its time is up).
                info += " Graceful restart"
            } else if !up, let e = s.lastError {
                info += " " + e
            }
            return PeerStatus(
                name: pc.name, peerAddress: pc.address.description,
                peerType: pc.peerType ?? (pc.routeReflectorClient ? "iBGP (route-reflector client)"
                    : pc.isEBGP(localAS: config.asNumber) ? "eBGP" : "iBGP"),
                state: up ? "up" : "start", since: WallClock.birdStyle(s.sinceEpoch), info: info,
                prefixesReceived: st.map { rib.pathCount($0.id) } ?? 0,
                prefixesSent: st.map { rib.sentCount($0.id) } ?? 0, establishedCount: s.establishedCount)
        }
    }

    private func routeList() -> [RouteStatus] {
        var out: [RouteStatus] = []
        for prefix in rib.prefixes {
            for c in rib.candidates(prefix) {
                let a = c.route.attributes
                let peer: String
                switch c.route.source { case .local: peer = "static"; case .peer(let addr, _): peer = addr.description }
                let nh = a.nextHop.isUnspecified ? "self" : a.nextHop.description
                var r = RouteStatus(prefix: prefix.description, nextHop: nh, asPath: a.asPathText, peer: peer, best: c.best)
                r.reason = c.lossReason?.description
                r.stale = c.stale ? true : nil
                // The attribute as received (nil: absent, e.g. over eBGP; selection counts it as 100).
                r.localPref = a.path.localPref
                r.med = a.path.med
                r.originatorID = a.path.originatorID?.description
                r.clusterList = a.path.clusterList.isEmpty ? nil : a.path.clusterList.map(\.description)
                out.append(r)
            }
        }
        return out
    }
}

/// The best route learned from peers for one prefix changed: `best` is the new one, or nil when
/// no peer route is left. (Our own announcements are not reported.)
public struct BestRouteChange: Sendable, Equatable {
    public var prefix: IPPrefix
    public var best: Route?
    /// With `SpeakerConfig.multipath`: the best path and every peer-learned path equal to it up
    /// to the router-ID step (ECMP), best first; otherwise just the best. Empty when `best` is nil.
    public var multipath: [Route]
    public init(prefix: IPPrefix, best: Route?, multipath: [Route]? = nil) {
        self.prefix = prefix; self.best = best; self.multipath = multipath ?? best.map { [$0] } ?? []
    }
}

public struct ListenError: Error, CustomStringConvertible {
    public var address: SocketAddress
    public var error: SyscallError
    public var description: String { "listen: cannot listen on \(address): \(error)" }
}

/// Wall-clock time for display only (timers use `DispatchTime`).
enum WallClock {
    static func now() -> Int { Int(time(nil)) }

    /// BIRD's `since` column: "HH:MM:SS" for today, "YYYY-MM-DD" before (UTC).
    static func birdStyle(_ epoch: Int, now: Int = WallClock.now()) -> String {
        var t = time_t(epoch), n = time_t(now)
        var a = tm(), b = tm()
        gmtime_r(&t, &a)
        gmtime_r(&n, &b)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        if a.tm_year == b.tm_year && a.tm_yday == b.tm_yday {
            return "\(two(a.tm_hour)):\(two(a.tm_min)):\(two(a.tm_sec))"
        }
        return "\(a.tm_year + 1900)-\(two(a.tm_mon + 1))-\(two(a.tm_mday))"
    }
}
