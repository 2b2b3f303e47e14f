import BGPSpeaker
import Calc
import Dataplane
import DataplaneLinux
import Datastore
import Dispatch
import Foundation
import Logging
import NetCore
import NodeAgentCore
import NodeModel
import ResourceClient

/// `twill-node`: one per node. It registers the node, follows the datastore, computes the BGP
/// peers, the prefixes to advertise and the dataplane's routing input (NodeAgentCore, pure), and
/// drives the BGP speaker (ours or BIRD) and the Linux routing dataplane from them.
///
/// Threading: all agent state is confined to `queue`. The syncer, the speaker's route observer
/// and the health server hop onto it; a recompute is coalesced (many changes, one plan).
public final class NodeAgent: @unchecked Sendable {
    public let options: AgentOptions
    private let logger: Logger
    private let queue = DispatchQueue(label: "twill.node.agent")
    private let stopping = StopFlag()
    public let metrics = Metrics()

    // Set during start, then only read or changed on `queue`.
    private var store: (any Datastore)?
    private var syncer: DatastoreSyncer?
    private var speaker: Speaker?
    private var bird: BIRDBackend?
    private var birdControl: ControlServer?
    private var dataplane: LinuxRoutingDataplane?
    private var runner: RoutingDataplaneRunner?
    private var health: HTTPEndpoint?
    private var metricsEndpoint: HTTPEndpoint?
    private var host = HostFacts()
    private var state: DatastoreSyncer.State?
    private var learned: [IPPrefix: LearnedRoute] = [:]
    private var recomputeScheduled = false
    private var lastPlan: AgentPlan?
    private var readiness = Readiness()
    private var tunnelWorkPending = false
    private var lastTunnelPools: [IPPool] = []
    private var lastWarnings: Set<String> = []
    private var firstApplyLogged = false
    private var bgpSynced = false
    /// How long a (re)starting agent waits for its peers' End-of-RIB before sweeping stale routes.
    static let bgpSyncTimeout = 30
    private let startedAt = Date()

    public init(options: AgentOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    // MARK: lifecycle

    /// Runs calico-node's start-up, then starts every loop. Throws with a message naming the
    /// problem (bad flags, no address, speaker cannot listen); the datastore being away is not
    /// a failure: the agent waits for it and says so.
    public func start() throws {
        let opts = options
        guard !opts.nodeName.isEmpty else { throw AgentError("--node-name (NODENAME) is required") }
        // Health first: liveness answers while we wait for the datastore.
        try startHTTP()
        let v4 = try Startup.detect(opts.ipv4, family: .v4)
        let v6 = try Startup.detect(opts.ipv6, family: .v6)
        guard let parent = v4 ?? v6 else { throw AgentError("no node address: give --ip ADDR/PLEN or an autodetection method") }
        host = HostFacts(ipv4: v4.map { InterfaceAddress($0.address, prefixLength: $0.prefixLength) },
                         ipv6: v6.map { InterfaceAddress($0.address, prefixLength: $0.prefixLength) },
                         parentInterface: parent.interface, parentMTU: parent.mtu)
        logger.info("node address", metadata: [
            "ipv4": "\(host.ipv4.map { "\($0)" } ?? "-")", "ipv6": "\(host.ipv6.map { "\($0)" } ?? "-")",
            "interface": "\(parent.interface)", "mtu": "\(parent.mtu)",
        ])
        let stopping = self.stopping
        let store = try Startup.openDatastore(url: opts.datastoreURL, logger: logger) { stopping.isSet }
        self.store = store
        let client = ResourceClient(datastore: store)
        _ = try Startup.register(client: client, name: opts.nodeName, ipv4: v4, ipv6: v6, asNumber: opts.asNumber,
                                 labels: opts.labels)
        logger.info("node registered", metadata: ["node": "\(opts.nodeName)"])
        if let pool = opts.defaultPool, try pool.ensure(client: client) {
            logger.info("created the default IPv4 pool", metadata: ["cidr": "\(pool.cidr)"])
        }

        // Dataplane: kernel routes left by a previous run stay until the first plan is in sync.
        let dp = try LinuxRoutingDataplane(options: LinuxRoutingOptions(workloadInterfacePrefixes: ["tw"]),
                                           logger: Logger(label: "twill.dataplane.routes"))
        let metrics = self.metrics
        let r = RoutingDataplaneRunner(dataplane: dp, logger: logger) { [weak self] report in
            metrics.observe("twill_dataplane_apply_seconds", report.durationSeconds)
            if !report.issues.isEmpty { metrics.inc("twill_dataplane_apply_failures_total") }
            guard let self else { return }
            self.queue.async { self.dataplaneApplied(report) }
        }
        dataplane = dp
        runner = r
        try r.start()

        if opts.backend == .bird {
            bird = BIRDBackend(configPath: opts.birdConfigPath, controlSocket: opts.birdSocket, logger: logger)
            if let path = opts.controlSocket {
                birdControl = try ControlServer(path: path, logger: logger) { [weak self] req in
                    self?.birdControlAnswer(req) ?? ControlReply(error: "agent stopped")
                }
            }
        }

        let syncer = DatastoreSyncer(store: store, logger: logger) { [weak self] st in
            guard let self else { return }
            self.queue.async { self.state = st; self.scheduleRecompute() }
        }
        self.syncer = syncer
        syncer.start()
    }

    /// Clean shutdown (SIGTERM): the speaker says goodbye (Cease), loops stop, and every route
    /// stays programmed — a restarting agent finds them and its peers keep forwarding.
    public func stop() {
        stopping.set()
        syncer?.stop()
        let (sp, b, ctl) = queue.sync { () -> (Speaker?, BIRDBackend?, ControlServer?) in
            defer { speaker = nil; bird = nil; birdControl = nil }
            return (speaker, bird, birdControl)
        }
        sp?.stop()
        ctl?.close()
        b?.stop()
        runner?.stop()
        dataplane?.close()
        health?.close()
        metricsEndpoint?.close()
        logger.info("twill-node stopped")
    }

    // MARK: the loop (on `queue`)

    private func scheduleRecompute() {
        guard !recomputeScheduled else { return }
        recomputeScheduled = true
        queue.async { [weak self] in
            guard let self else { return }
            self.recomputeScheduled = false
            self.recompute()
        }
    }

    private func recompute() {
        guard let state, !stopping.isSet else { return }
        let (snapshot, weps) = Snapshotting.snapshot(nodeName: options.nodeName, resources: state.resources)
        guard let me = snapshot.nodes.first(where: { $0.metadata.name == options.nodeName }) else {
            // Not registered yet (or deleted under us): nothing to compute, nothing to remove.
            return
        }
        let inputs = AgentInputs(snapshot: snapshot, workloadEndpoints: weps,
                                 learnedRoutes: options.backend == .native ? Array(learned.values) : [],
                                 host: host, settings: RoutingSettings())
        var plan = AgentCalculator.plan(inputs)
        var warnings = plan.warnings
        if options.backend == .native { warnings += SpeakerMapping.filterProblems(plan) }
        for w in Set(warnings).subtracting(lastWarnings) { logger.warning("\(w)") }
        lastWarnings = Set(warnings)
        ensureTunnelsIfNeeded(snapshot: snapshot, me: me)

        switch options.backend {
        case .native: applySpeaker(plan: plan, snapshot: snapshot, me: me)
        case .bird:
            // BIRD programs its routes and the blocks' blackholes itself (calico-node's split).
            plan.routing.localBlocks = []
            applyBIRD(snapshot: snapshot)
        }
        dataplane?.setRoutingInput(plan.routing)
        // Sweep leftovers only when both sources are complete: the datastore in sync, and (native
        // backend) every peer's End-of-RIB in — else a restart would drop routes BGP is about to
        // give back (RFC 4724 §4.1, as BIRD waits for `graceful restart wait`).
        if state.inSync && (bgpSynced || options.backend == .bird || speaker == nil && plan.peers.isEmpty) {
            dataplane?.markInSync()
        }
        runner?.kick()
        lastPlan = plan
        metrics.inc("twill_recomputes_total")
        metrics.set("twill_bgp_prefixes_advertised", Double(plan.advertised.count))
        metrics.set("twill_routes_remote_blocks", Double(plan.routing.remoteBlocks.count))
        metrics.set("twill_workloads", Double(plan.routing.workloads.count))
        metrics.set("twill_datastore_revision", Double(state.revision))
    }

    private func applySpeaker(plan: AgentPlan, snapshot: CalcSnapshot, me: Node) {
        guard case .v4(let routerID)? = host.ipv4?.address else {
            logger.error("the native BGP speaker needs an IPv4 node address for its router ID")
            return
        }
        let effective = snapshot.effectiveConfiguration
        let asn = me.spec.bgp?.asNumber ?? effective.asNumber
        let config = SpeakerMapping.speakerConfig(plan: plan, routerID: routerID, asNumber: asn,
                                                  listenPort: effective.listenPort, controlSocket: options.controlSocket)
        if let sp = speaker {
            guard sp.config != config else { return }
            do {
                try sp.reload(config)
                return
            } catch {
                logger.info("BGP speaker restarts: \(error)")
                sp.stop()
                speaker = nil
            }
        }
        var startConfig = config
        // Routes of ours left in the kernel by a previous run: we restart with forwarding kept.
        startConfig.restarting = !(dataplane?.cachedKernelState.routes.isEmpty ?? true)
        let sp = Speaker(config: startConfig, logger: logger)
        sp.setInitialSyncHandler(timeout: CalicoDuration(seconds: Int64(Self.bgpSyncTimeout))) { [weak self] (complete: Bool) in
            guard let self else { return }
            self.queue.async {
                self.logger.info(complete ? "every BGP peer sent End-of-RIB" : "BGP initial sync timed out; sweeping anyway")
                self.bgpSynced = true
                self.scheduleRecompute()
            }
        }
        sp.setRouteObserver { [weak self] (changes: [BestRouteChange]) in
            guard let self else { return }
            self.queue.async { self.learnedChanged(changes) }
        }
        do {
            try sp.start()
            speaker = sp
            // Routes learned before a restart of the speaker are gone with it.
            learned = [:]
        } catch {
            logger.error("BGP speaker could not start; retrying on the next change", metadata: ["error": "\(error)"])
            queue.asyncAfter(deadline: .now() + 2) { [weak self] in self?.scheduleRecompute() }
        }
    }

    private func learnedChanged(_ changes: [BestRouteChange]) {
        for c in changes { learned[c.prefix] = SpeakerMapping.learnedRoute(c) }
        metrics.set("twill_bgp_prefixes_received", Double(learned.count))
        scheduleRecompute()
    }

    private func applyBIRD(snapshot: CalcSnapshot) {
        guard let bird, let input = BIRDConfigInput(snapshot) else { return }
        do { _ = try bird.apply(input) } catch {
            logger.error("BIRD configuration not applied", metadata: ["error": "\(error)"])
        }
    }

    private func birdControlAnswer(_ req: ControlRequest) -> ControlReply {
        guard let bird = queue.sync(execute: { self.bird }) else { return ControlReply(error: "BIRD is not running") }
        switch req.cmd {
        case "status":
            do {
                return ControlReply(peers: try bird.peerStatuses().map { p in
                    PeerStatus(name: p.name, peerAddress: p.peerAddress.map { "\($0)" } ?? p.name,
                               peerType: p.peerType?.rawValue ?? "BGP", state: p.state, since: p.since,
                               info: p.infoColumn, prefixesReceived: 0, prefixesSent: 0)
                })
            } catch { return ControlReply(error: "birdc: \(error)") }
        case "routes": return ControlReply(error: "routes are in BIRD: use birdc show route")
        default: return ControlReply(error: "unknown command \(req.cmd)")
        }
    }

    private func dataplaneApplied(_ report: ComponentReport) {
        if !firstApplyLogged, lastPlan != nil {
            firstApplyLogged = true
            logger.info("dataplane programmed", metadata: ["seconds since start": "\(String(format: "%.3f", Date().timeIntervalSince(startedAt)))"])
        }
        for issue in report.issues { logger.warning("dataplane: \(issue)") }
        metrics.set("twill_routes_programmed", Double(dataplane?.desiredState.routes.count ?? 0))
    }

    private func ensureTunnelsIfNeeded(snapshot: CalcSnapshot, me: Node) {
        guard let store, !tunnelWorkPending, snapshot.ipPools != lastTunnelPools else { return }
        tunnelWorkPending = true
        let pools = snapshot.ipPools, name = options.nodeName, logger = self.logger
        DispatchQueue.global().async { [weak self] in
            let ok: Bool
            do {
                try Startup.ensureTunnels(store: store, client: ResourceClient(datastore: store), nodeName: name,
                                          pools: pools, logger: logger)
                ok = true
            } catch {
                ok = false
                logger.error("tunnel address allocation failed; retrying", metadata: ["error": "\(error)"])
            }
            guard let self else { return }
            self.queue.asyncAfter(deadline: .now() + (ok ? 0 : 2)) {
                self.tunnelWorkPending = false
                if ok { self.lastTunnelPools = pools } else { self.scheduleRecompute() }
            }
        }
    }

    // MARK: health and metrics

    /// Ready as Calico's readiness probe: BGP sessions up (all during start-up, later at least one)
    /// and the datastore in sync; the reason when not.
    public func readinessReason() -> String? {
        queue.sync {
            var peers: [(name: String, established: Bool, state: String)] = []
            switch options.backend {
            case .native:
                peers = (speaker?.peerStatuses() ?? []).map { ($0.name, $0.state == "up", $0.info) }
            case .bird:
                peers = ((try? bird?.peerStatuses()) ?? []).map { ($0.name, $0.isEstablished, $0.infoColumn) }
            }
            readiness.update(peers: peers.map { PeerReadiness(name: $0.name, state: $0.state, established: $0.established) },
                             startupComplete: Date().timeIntervalSince(startedAt) > Double(Self.bgpSyncTimeout))
            if state == nil { return "waiting for the datastore" }
            if let reason = syncer?.unavailableReason { return "datastore unavailable: \(reason)" }
            return readiness.reason
        }
    }

    private func startHTTP() throws {
        guard let address = IPAddress(options.healthHost) else {
            throw AgentError("--health-host: \"\(options.healthHost)\" is not an IP address")
        }
        if options.healthPort > 0 {
            let h = try HTTPEndpoint(address: address, port: UInt16(clamping: options.healthPort))
            h.route("/liveness") { _ in (200, "text/plain", "live\n") }
            h.route("/readiness") { [weak self] _ in
                guard let self else { return (503, "text/plain", "stopping\n") }
                if let why = self.readinessReason() { return (503, "text/plain", why + "\n") }
                return (200, "text/plain", "ready\n")
            }
            health = h
        }
        if options.metricsPort > 0 {
            let m = try HTTPEndpoint(address: address, port: UInt16(clamping: options.metricsPort))
            m.route("/metrics") { [weak self] _ in
                guard let self else { return (503, "text/plain", "stopping\n") }
                self.refreshSessionMetrics()
                return (200, Metrics.contentType, self.metrics.render())
            }
            metricsEndpoint = m
        }
        describeMetrics()
    }

    private func describeMetrics() {
        let m = metrics
        m.describe("twill_bgp_sessions", kind: .gauge, help: "BGP sessions by FSM state.")
        m.describe("twill_bgp_peer_prefixes_received", kind: .gauge, help: "Prefixes received from each peer.")
        m.describe("twill_bgp_prefixes_received", kind: .gauge, help: "Best routes learned over BGP.")
        m.describe("twill_bgp_prefixes_advertised", kind: .gauge, help: "Prefixes this node advertises.")
        m.describe("twill_dataplane_apply_seconds", kind: .histogram, help: "Time of one routing dataplane apply.")
        m.describe("twill_dataplane_apply_failures_total", kind: .counter, help: "Dataplane applies that reported a problem.")
        m.describe("twill_routes_remote_blocks", kind: .gauge, help: "Remote blocks routed by this node.")
        m.describe("twill_workloads", kind: .gauge, help: "Local workloads routed by this node.")
        m.describe("twill_datastore_revision", kind: .gauge, help: "Datastore revision the agent has computed from.")
        m.describe("twill_datastore_last_event_age_seconds", kind: .gauge, help: "Seconds since the last datastore event.")
        m.describe("twill_routes_programmed", kind: .gauge, help: "Routes the dataplane keeps programmed.")
        m.describe("twill_recomputes_total", kind: .counter, help: "Plans computed from datastore and BGP changes.")
    }

    private func refreshSessionMetrics() {
        let statuses: [PeerStatus] = queue.sync { speaker?.peerStatuses() ?? [] }
        var byState: [String: Int] = [:]
        for s in statuses { byState[s.info.isEmpty ? s.state : s.info, default: 0] += 1 }
        for st in ["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"] {
            metrics.set("twill_bgp_sessions", labels: ["state": st], Double(byState[st] ?? 0))
        }
        for s in statuses {
            metrics.set("twill_bgp_peer_prefixes_received", labels: ["peer": s.peerAddress], Double(s.prefixesReceived))
        }
        if let at = syncer?.lastEventAt {
            metrics.set("twill_datastore_last_event_age_seconds", Date().timeIntervalSince(at))
        }
    }
}

/// A flag set once from any thread.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
