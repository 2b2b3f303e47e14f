import CNetlink
import Dataplane
import Foundation
import Logging
import NetCore

/// Options of the Linux routing dataplane beyond the routing input.
public struct LinuxRoutingOptions: Sendable {
    /// Permanent neighbours on interfaces with these prefixes are ours (Felix `InterfacePrefix`).
    public var workloadInterfacePrefixes: [String]
    public init(workloadInterfacePrefixes: [String] = []) {
        self.workloadInterfacePrefixes = workloadInterfacePrefixes
    }
}

/// The routing part of the dataplane on Linux: keeps routes, tunnel devices, addresses,
/// neighbours, FDB entries and sysctls in step with the routing input through libnl.
///
/// Setters are cheap (no kernel calls); `apply()` computes the desired state, re-reads the
/// kernel when a resync was requested (start, monitor hint, periodic timer), plans the diff and
/// performs it. Thread-safety: every method takes `lock`; the request socket is used only under
/// it (one socket per serial context, STYLE.md (d) 13).
public final class LinuxRoutingDataplane: RoutingDataplane, @unchecked Sendable {
    public let component = DataplaneComponent.routes

    private let lock = NSLock()
    private let socket: NetlinkSocket
    private let options: LinuxRoutingOptions
    private let logger: Logger

    // Guarded by `lock`.
    private var base: RoutingInput?
    private var workloads: [String: Workload] = [:]
    private var needsRecompute = false
    private var desired = RoutingState()
    private var workloadParts: [String: RoutingState] = [:]
    private var computeIssues: [ApplyIssue] = []
    private var workloadIssues: [String: [ApplyIssue]] = [:]
    private var actual = RoutingState()
    private var links = LinkIndex()
    private var needsResync = true
    private var planAll = true
    private var inSync = false
    private var dirty = DirtyKeys()
    private var expectedDeletions: Set<RouteKey> = []
    private var expectedNeighbourDeletions: [String: Int] = [:]   // device → pending self-deletions
    private var ownership: RoutingOwnership?

    public init(options: LinuxRoutingOptions = LinuxRoutingOptions(), logger: Logger = Logger(label: "twill.dataplane.routes")) throws {
        socket = try NetlinkSocket()
        socket.setBufferSize(receive: 8 << 20, transmit: 1 << 20)
        self.options = options
        self.logger = logger
    }

    public func close() { lock.withLock { socket.close() } }

    // MARK: Cheap setters

    public func setRoutingInput(_ input: RoutingInput) {
        lock.withLock {
            var b = input
            b.workloads = []
            let w = Dictionary(input.workloads.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
            if b == base && w == workloads { return }   // unchanged: keep the incremental path
            base = b
            workloads = w
            needsRecompute = true
        }
    }

    public func upsertWorkload(_ workload: Workload) {
        lock.withLock {
            workloads[workload.name] = workload
            guard !needsRecompute, let base else { needsRecompute = true; return }
            removePart(of: workload.name)
            let part = RoutingCalculator.workloadState(workload, settings: base.settings)
            var issues = part.issues
            var state = part.state
            for key in state.routes.keys where desired.routes[key] != nil {
                issues.append(ApplyIssue(component: .routes, subject: "workload \(workload.name)",
                                         reason: "address \(key.destination) is already routed elsewhere; keeping the existing route"))
                state.routes[key] = nil
            }
            desired.routes.merge(state.routes) { a, _ in a }
            desired.neighbours.merge(state.neighbours) { _, b in b }
            desired.sysctls.merge(state.sysctls) { _, b in b }
            dirty.insert(keysOf: state)
            workloadParts[workload.name] = state
            workloadIssues[workload.name] = issues.isEmpty ? nil : issues
        }
    }

    public func removeWorkload(named name: String) {
        lock.withLock {
            guard workloads.removeValue(forKey: name) != nil else { return }
            if !needsRecompute { removePart(of: name) }
        }
    }

    /// Drops one workload's contribution from the desired state (under lock).
    private func removePart(of name: String) {
        guard let old = workloadParts.removeValue(forKey: name) else { return }
        for k in old.routes.keys { desired.routes[k] = nil }
        for k in old.neighbours.keys { desired.neighbours[k] = nil }
        // Sysctls are never reverted; the interface normally goes away with the workload.
        dirty.insert(keysOf: RoutingState.with(routes: old.routes, neighbours: old.neighbours))
        workloadIssues[name] = nil
    }

    public func markInSync() {
        lock.withLock {
            if !inSync { inSync = true; planAll = true }
        }
    }

    public func requestResync() { lock.withLock { needsResync = true } }

    /// True when a route of ours at `key` was deleted by us (the monitor ignores those).
    func consumeExpectedDeletion(_ key: RouteKey) -> Bool {
        lock.withLock { expectedDeletions.remove(key) != nil }
    }

    /// A neighbour or FDB entry was deleted on interface `index`. Ignored unless the interface's
    /// neighbours are ours and we did not delete it ourselves; on a workload interface only that
    /// workload's neighbours are replanned, on a tunnel device everything is resynced.
    func neighbourDeleted(index: Int32) -> LinkReaction {
        lock.withLock {
            guard let name = links.byIndex[index], ownership?.ownsNeighbours(on: name) ?? false else { return .ignore }
            if let n = expectedNeighbourDeletions[name], n > 0 {
                expectedNeighbourDeletions[name] = n == 1 ? nil : n - 1
                return .ignore
            }
            let users = workloads.values.filter { $0.interface == name }
            guard !users.isEmpty else { needsResync = true; return .fullResync }
            actual.neighbours = actual.neighbours.filter { $0.key.device != name }
            for w in users {
                if let part = workloadParts[w.name] { dirty.neighbours.formUnion(part.neighbours.keys) }
            }
            return .partial
        }
    }

    enum LinkReaction { case ignore, partial, fullResync }

    /// A link appeared, went up/down or disappeared. Tunnel devices and the parent interface
    /// need a full resync; a workload interface only has its own objects replanned (Felix's
    /// per-interface partial resync: the kernel drops routes and neighbours with the device,
    /// and a recreated veth has a new index); other interfaces are not ours to care about.
    func linkChanged(index: Int32, name: String) -> LinkReaction {
        lock.withLock {
            if let old = links.byIndex[index] { links.forget(old) }
            links.forget(name)
            guard let base else { return .ignore }
            let s = base.settings
            if [s.vxlanDevice, s.vxlanV6Device, s.ipipDevice, base.node.parentInterface].contains(name) {
                needsResync = true
                return .fullResync
            }
            let users = workloads.values.filter { $0.interface == name }
            guard !users.isEmpty else { return .ignore }
            RoutingPlanner.forget(device: name, in: &actual)
            actual.sysctls = actual.sysctls.filter { $0.key.interface != name }   // a new veth has fresh sysctls
            for w in users { if let part = workloadParts[w.name] { dirty.insert(keysOf: part) } }
            if needsRecompute { planAll = true }
            return .partial
        }
    }

    func desiresRoute(_ key: RouteKey) -> Bool { lock.withLock { desired.routes[key] != nil } }

    var routeProtocol: UInt8? { lock.withLock { base?.settings.routeProtocol } }
    var routeTable: UInt32? { lock.withLock { base?.settings.routeTable } }

    /// The kernel state as last read or written (for diagnostics and tests).
    public var cachedKernelState: RoutingState { lock.withLock { actual } }
    public var desiredState: RoutingState { lock.withLock { desired } }

    // MARK: Apply

    public func apply() throws -> ComponentReport {
        try lock.withLock { () throws(NetlinkError) -> ComponentReport in try applyLocked() }
    }

    private func applyLocked() throws(NetlinkError) -> ComponentReport {
        guard let base else { return ComponentReport(component: component) }
        var scopeAll = planAll
        if needsRecompute {
            var input = base
            input.workloads = workloads.keys.sorted().map { workloads[$0]! }
            let result = RoutingCalculator.compute(input)
            desired = result.state
            workloadParts = result.workloadContributions
            computeIssues = result.issues
            workloadIssues = [:]
            needsRecompute = false
            scopeAll = true
        }
        var resynced = false
        if needsResync {
            let ownership = RoutingOwnership(settings: base.settings, workloadInterfaces: Set(workloads.values.map(\.interface)),
                                             workloadInterfacePrefixes: options.workloadInterfacePrefixes)
            self.ownership = ownership
            actual = try KernelReader(socket: socket, ownership: ownership).read(sysctls: desired.sysctls.keys, links: &links)
            needsResync = false
            expectedDeletions = []   // the kernel state is fresh: forget unconfirmed deletions
            expectedNeighbourDeletions = [:]
            resynced = true
            scopeAll = true
        }
        let scope: PlanScope = scopeAll ? .everything : .only(dirty)
        let ops = RoutingPlanner.plan(desired: desired, actual: actual, sweep: inSync, scope: scope)
        var run = ApplyRun(issues: computeIssues + workloadIssues.values.flatMap { $0 })
        let writer = KernelWriter(socket: socket)
        var batch: [RoutingOperation] = []
        func flush() {
            guard !batch.isEmpty else { return }
            for (op, error) in zip(batch, writer.performBatch(batch, links: &links)) { finish(op, error, &run) }
            batch = []
        }
        for op in ops {
            if let dev = op.device ?? Self.routeDevice(op), let err = run.failedDevices[dev], !op.isDeletion {
                if case .replaceRoute(let r) = op { run.issues.append(deviceMissingIssue(route: r, device: dev, error: err, base: base)) }
                markRetry(op, &run.retry)
                continue
            }
            switch op {
            case .deleteRoute(let r): expectedDeletions.insert(r.key)
            case .deleteNeighbour(let k, _): expectedNeighbourDeletions[k.device, default: 0] += 1
            case .deleteFDB(let k, _): expectedNeighbourDeletions[k.device, default: 0] += 1
            default: break
            }
            if op.isBatchable { batch.append(op); continue }
            flush()
            do { try writer.perform(op, links: &links); finish(op, nil, &run) } catch { finish(op, error, &run) }
        }
        flush()
        let issues = run.issues, retry = run.retry, failedDevices = run.failedDevices, done = run.done
        dirty = retry
        planAll = false
        if !failedDevices.isEmpty { planAll = true }   // device creation is retried with a full plan
        return ComponentReport(component: component, operations: done, resynced: resynced, issues: issues)
    }

    /// Per-apply bookkeeping.
    private struct ApplyRun {
        var issues: [ApplyIssue]
        var failedDevices: [String: NetlinkError] = [:]
        var retry = DirtyKeys()
        var done = 0
    }

    /// Records the outcome of one operation (under lock).
    private func finish(_ op: RoutingOperation, _ error: NetlinkError?, _ run: inout ApplyRun) {
        guard let error else {
            RoutingPlanner.record(op, in: &actual)
            run.done += 1
            return
        }
        if case .deleteRoute(let r) = op { expectedDeletions.remove(r.key) }
        if case .createDevice(let d) = op {
            run.failedDevices[d.name] = error
            run.issues.append(deviceIssue(d, error))
        } else if isMissingWorkloadInterface(op, error) {
            // The CNI plugin may not have created the veth yet, or is deleting it: retried when
            // the interface appears (the monitor replans it), so this is only a warning.
            run.issues.append(ApplyIssue(component: component, severity: .warning, subject: Self.subject(op),
                                         reason: "interface missing, retried when it appears: \(error.description)"))
        } else {
            run.issues.append(ApplyIssue(component: component, subject: Self.subject(op), reason: error.description))
        }
        markRetry(op, &run.retry)
        logger.debug("dataplane operation failed", metadata: ["op": "\(op)", "error": "\(error)"])
    }

    /// True when `op` failed only because a workload interface does not exist (under lock).
    private func isMissingWorkloadInterface(_ op: RoutingOperation, _ error: NetlinkError) -> Bool {
        let device: String?
        let missing: Bool
        switch op {
        case .setSysctl(let k, _): device = k.interface; missing = error.systemErrno == ENOENT
        case .replaceRoute(let r), .deleteRoute(let r): device = r.nextHops.first?.device; missing = error.code == NLE_NODEV
        default: device = op.device; missing = error.code == NLE_NODEV || error.systemErrno == ENODEV
        }
        guard missing, let device else { return false }
        return workloads.values.contains { $0.interface == device }
    }

    private static func routeDevice(_ op: RoutingOperation) -> String? {
        if case .replaceRoute(let r) = op { return r.nextHops.first?.device }
        return nil
    }

    private func markRetry(_ op: RoutingOperation, _ retry: inout DirtyKeys) {
        switch op {
        case .replaceRoute(let r), .deleteRoute(let r): retry.routes.insert(r.key)
        case .setNeighbour(let k, _), .deleteNeighbour(let k, _): retry.neighbours.insert(k)
        case .setFDB(let k, _), .deleteFDB(let k, _): retry.fdb.insert(k)
        case .setSysctl(let k, _): retry.sysctls.insert(k)
        case .createDevice, .deleteDevice, .setDeviceMTU, .setDeviceUp, .addAddress, .deleteAddress: retry.devices = true
        }
    }

    private func deviceIssue(_ d: TunnelDevice, _ error: NetlinkError) -> ApplyIssue {
        let blocks = blocksUsing(device: d.name)
        let which = blocks.isEmpty ? "" : " (needed by block\(blocks.count > 1 ? "s" : "") \(blocks.joined(separator: ", ")))"
        if case .ipip = d {
            return ApplyIssue(component: component, subject: "device \(d.name)\(which)",
                              reason: "cannot create the IPIP tunnel device: \(error.message); this kernel has no IPIP support loaded",
                              remedy: "load the ipip kernel module (modprobe ipip)")
        }
        return ApplyIssue(component: component, subject: "device \(d.name)\(which)",
                          reason: "cannot create the \(d.kind) device: \(error.message)")
    }

    private func deviceMissingIssue(route: Route, device: String, error: NetlinkError, base: RoutingInput) -> ApplyIssue {
        let pool = base.remoteBlocks.first { $0.cidr == route.destination }.map { " (\($0.encapsulation) pool)" } ?? ""
        return ApplyIssue(component: component, subject: "block \(route.destination)\(pool)",
                          reason: "not programmed: device \(device) is missing (\(error.message))",
                          remedy: device == base.settings.ipipDevice ? "load the ipip kernel module (modprobe ipip)" : nil)
    }

    private func blocksUsing(device: String) -> [String] {
        desired.routes.values.filter { $0.devices.contains(device) }.map(\.destination).sorted().map(\.description)
    }

    private static func subject(_ op: RoutingOperation) -> String {
        switch op {
        case .replaceRoute(let r), .deleteRoute(let r): "route \(r.destination)"
        case .setNeighbour(let k, _), .deleteNeighbour(let k, _): "neighbour \(k)"
        case .setFDB(let k, _), .deleteFDB(let k, _): "fdb \(k)"
        case .setSysctl(let k, _): "sysctl \(k)"
        case .addAddress(let a), .deleteAddress(let a): "address \(a)"
        case .createDevice(let d): "device \(d.name)"
        case .deleteDevice(let n), .setDeviceMTU(let n, _), .setDeviceUp(let n): "device \(n)"
        }
    }
}

extension RoutingState {
    static func with(routes: [RouteKey: Route], neighbours: [NeighbourKey: MACAddress]) -> RoutingState {
        var s = RoutingState()
        s.routes = routes; s.neighbours = neighbours
        return s
    }
}
