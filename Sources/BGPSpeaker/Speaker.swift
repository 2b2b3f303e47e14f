import BGPSession
import Dispatch
import Foundation
import Logging
import NetCore
import Posix

/// Twill's BGP speaker: a listener, one `Peer` per configured neighbour (each on its own serial
/// queue), the Loc-RIB and the control socket. Thread-safe: public methods hop onto the
/// speaker's serial queue. `@unchecked Sendable`: all state is confined to `queue`.
///
/// Queue order: peer queues report to the speaker queue with `async`; the speaker queue talks
/// to peer queues with `async`; only public entry points and the control server use `sync`
/// onto the speaker queue, and nothing on it ever waits for them.
public final class Speaker: @unchecked Sendable {
    public private(set) var config: SpeakerConfig
    private let queue = DispatchQueue(label: "twill.bgp.speaker")
    private var logger: Logger
    private var peers: [IPAddress: Peer] = [:]
    private var peerStatus: [IPAddress: PeerRuntimeStatus] = [:]
    private var rib = RouteTable()
    private var listeners: [(Socket, DispatchSourceRead)] = []
    private var control: ControlServer?
    private var rejected = 0
    private var started = false
    private let origin = DispatchTime.now().uptimeNanoseconds
    private var routeObserver: (@Sendable ([BestRouteChange]) -> Void)?
    /// Marks `queue` so read-only entry points called from the route observer (which runs on
    /// it) do not deadlock.
    private let onSpeakerQueue = DispatchSpecificKey<Bool>()

    public init(config: SpeakerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        queue.setSpecific(key: onSpeakerQueue, value: true)
    }

    /// Runs `body` on the speaker queue, inline if already there.
    private func onQueue<T>(_ body: () throws -> T) rethrows -> T {
        if DispatchQueue.getSpecific(key: onSpeakerQueue) == true { return try body() }
        return try queue.sync(execute: body)
    }

    /// Registers the observer of best peer-learned routes (call before `start()`). It is called
    /// on the speaker's queue, once per processed UPDATE, withdrawal, session down or stale-route
    /// flush, with every prefix whose best route from a peer changed (`best` nil: no peer route
    /// left). Our own announcements are never reported. Routes a graceful-restart helper keeps
    /// as stale do not change (nothing is reported) until they are re-announced or flushed.
    /// The observer may call the read-only methods (`learnedBestRoutes()`, `routes()`,
    /// `peerStatuses()`), but not `start`, `stop` or `reload`; hop to your own queue for slow work.
    public func setRouteObserver(_ observer: @escaping @Sendable ([BestRouteChange]) -> Void) {
        onQueue { routeObserver = observer }
    }

    /// Snapshot of the best peer-learned route of every prefix (for a resync), by prefix.
    public func learnedBestRoutes() -> [Route] {
        onQueue { rib.prefixes.compactMap { rib.bestLearned(for: $0) } }
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
            for a in config.announce { rib.upsert(localRoute(a)) }
            for p in config.peers { addPeer(p) }
            startInitialSync()
            logger.info("BGP speaker started", metadata: [
                "bgp.as": "\(config.asNumber)", "bgp.routerID": "\(config.routerID)", "bgp.peers": "\(config.peers.count)",
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
            initialSyncTimer.cancel()
            started = false
            defer { control = nil }
            return control
        }
        ctl?.close()
    }

    /// Applies a new configuration (SIGHUP): peers added, removed (Cease 6/3) or reconfigured
    /// (in place, or reset when the FSM says the change needs a new session); announcements
    /// diffed. Listener and control socket changes need a restart and are reported as errors.
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
            let oldPeers = Dictionary(uniqueKeysWithValues: old.peers.map { ($0.address, $0) })
            let newPeers = Dictionary(uniqueKeysWithValues: new.peers.map { ($0.address, $0) })
            for (addr, _) in oldPeers where newPeers[addr] == nil {
                guard let p = peers.removeValue(forKey: addr) else { continue }
                peerStatus[addr] = nil
                setListenerKey(addr, nil)
                p.queue.async { p.stop(subcode: BGPSession.CeaseSubcode.peerDeconfigured) {} }
                routesFromPeerGone(addr)
                awaitingSync.remove(addr)
                synced.remove(addr)
                logger.info("peer removed", metadata: ["bgp.peer": "\(addr)"])
            }
            for (addr, pc) in newPeers {
                if let existing = oldPeers[addr] {
                    guard existing != pc, let p = peers[addr] else { continue }
                    if existing.password != pc.password { setListenerKey(addr, pc.password) }
                    p.queue.async { p.reconfigure(pc) }
                } else {
                    addPeer(pc)
                }
            }
            // Announcements.
            let oldA = Set(old.announce), newA = Set(new.announce)
            var changed: Set<IPPrefix> = []
            for a in oldA.subtracting(newA) where !newA.contains(where: { $0.prefix == a.prefix }) {
                if rib.remove(prefix: a.prefix, source: .local) { changed.insert(a.prefix) }
            }
            for a in newA.subtracting(oldA) { if rib.upsert(localRoute(a)) { changed.insert(a.prefix) } }
            publish(changed)
            checkInitialSync()
            logger.info("configuration reloaded")
        }
    }

    /// Connections from addresses that are not configured peers, closed at once.
    public var rejectedConnections: Int { onQueue { rejected } }

    /// Peers as the control socket reports them.
    public func peerStatuses() -> [PeerStatus] { onQueue { statusList() } }

    /// Every route in the Loc-RIB with the best one marked.
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
        peerStatus[addr] = PeerRuntimeStatus(sinceEpoch: WallClock.now())
        setListenerKey(addr, pc.password)
        let best = bestRoutes()
        p.queue.async {
            p.setLocRib(best)
            p.start()
        }
    }

    private func bestRoutes() -> [IPPrefix: Route] {
        rib.bestRoutes
    }

    /// Our announcements without a next hop share one attribute set per family.
    private static let selfAttributes = (v4: RouteAttributes(nextHop: .unspecified(.v4)), v6: RouteAttributes(nextHop: .unspecified(.v6)))

    private func localRoute(_ a: Announcement) -> Route {
        let attrs = a.nextHop.map { RouteAttributes(nextHop: $0) }
            ?? (a.prefix.family == .v4 ? Self.selfAttributes.v4 : Self.selfAttributes.v6)
        return Route(prefix: a.prefix, source: .local, attributes: attrs)
    }

    private func handle(_ r: PeerReport) {
        dispatchPrecondition(condition: .onQueue(queue))
        switch r {
        case .routes(let addr, let ebgp, let changes):
            guard peers[addr] != nil else { return }
            var changed: Set<IPPrefix> = []
            var learned: [BestRouteChange] = []
            let src = RouteSource.peer(addr, ebgp: ebgp)
            for (prefix, attrs) in changes {
                let before = rib.bestLearned(for: prefix)
                let moved = attrs.map { rib.upsert(Route(prefix: prefix, source: src, attributes: $0)) }
                    ?? rib.remove(prefix: prefix, source: src)
                if moved { changed.insert(prefix) }
                let after = rib.bestLearned(for: prefix)
                if after != before { learned.append(BestRouteChange(prefix: prefix, best: after)) }
            }
            publish(changed)
            notify(learned)
        case .down(let addr):
            guard peers[addr] != nil else { return }
            routesFromPeerGone(addr)
        case .status(let addr, let s):
            if peers[addr] != nil { peerStatus[addr] = s }
        case .endOfRIB(let addr):
            guard peers[addr] != nil else { return }
            synced.insert(addr)
            checkInitialSync()
        }
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

    private func routesFromPeerGone(_ addr: IPAddress) {
        var changed: Set<IPPrefix> = []
        var learned: [BestRouteChange] = []
        for src in [RouteSource.peer(addr, ebgp: true), .peer(addr, ebgp: false)] {
            for r in rib.routes(from: src) {
                let before = rib.bestLearned(for: r.prefix)
                if rib.remove(prefix: r.prefix, source: src) { changed.insert(r.prefix) }
                let after = rib.bestLearned(for: r.prefix)
                if after != before { learned.append(BestRouteChange(prefix: r.prefix, best: after)) }
            }
        }
        publish(changed)
        notify(learned)
    }

    /// One observer call per batch, in prefix order.
    private func notify(_ changes: [BestRouteChange]) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !changes.isEmpty, started, let observer = routeObserver else { return }
        observer(changes.sorted { $0.prefix < $1.prefix })
    }

    /// Sends best-route changes to every peer queue.
    private func publish(_ prefixes: Set<IPPrefix>) {
        guard !prefixes.isEmpty else { return }
        var delta: [IPPrefix: Route?] = [:]
        for p in prefixes { delta[p] = .some(rib.best(for: p)) }
        let d = delta
        for p in peers.values { p.queue.async { p.locRibChanged(d) } }
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
            let up = s.state == .established
            var info = s.state.rawValue
            if s.staleRoutes > 0 {
                // Graceful restart helper: the peer's routes are kept, stale, until it is back
                // and sends End-of-RIB (or its time is up).
                info += " Graceful restart"
            } else if !up, let e = s.lastError {
                info += " " + e
            }
            return PeerStatus(
                name: pc.name, peerAddress: pc.address.description,
                peerType: pc.peerType ?? (pc.isEBGP(localAS: config.asNumber) ? "eBGP" : "iBGP"),
                state: up ? "up" : "start", since: WallClock.birdStyle(s.sinceEpoch), info: info,
                prefixesReceived: s.prefixesReceived, prefixesSent: s.prefixesSent, establishedCount: s.establishedCount)
        }
    }

    private func routeList() -> [RouteStatus] {
        var out: [RouteStatus] = []
        for prefix in rib.prefixes {
            let best = rib.best(for: prefix)
            for (src, a) in rib.candidates(for: prefix).sorted(by: { $0.key < $1.key }) {
                let peer: String
                switch src { case .local: peer = "static"; case .peer(let addr, _): peer = addr.description }
                let nh = a.nextHop.isUnspecified ? "self" : a.nextHop.description
                out.append(RouteStatus(prefix: prefix.description, nextHop: nh, asPath: a.asPathText, peer: peer,
                                       best: best?.source == src))
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
    public init(prefix: IPPrefix, best: Route?) { self.prefix = prefix; self.best = best }
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
