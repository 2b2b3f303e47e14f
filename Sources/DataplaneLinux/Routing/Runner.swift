import Dataplane
import Dispatch
import Foundation
import Logging

/// A repeating timer, injected so tests fire it by hand (no sleeping, STYLE.md (b) 4).
public protocol RepeatingTimer: AnyObject, Sendable {
    func start(every interval: Duration, _ handler: @escaping @Sendable () -> Void)
    func cancel()
}

/// `RepeatingTimer` on a `DispatchSourceTimer`. The source is kept strongly and cancelled
/// explicitly (STYLE.md (d) 1–2).
public final class DispatchRepeatingTimer: RepeatingTimer, @unchecked Sendable {
    private let lock = NSLock()
    private var source: DispatchSourceTimer?
    private let queue: DispatchQueue

    public init(queue: DispatchQueue = DispatchQueue(label: "twill.dataplane.timer")) { self.queue = queue }

    public func start(every interval: Duration, _ handler: @escaping @Sendable () -> Void) {
        let s = DispatchSource.makeTimerSource(queue: queue)
        let (sec, atto) = interval.components
        let ns = Int(sec) * 1_000_000_000 + Int(atto / 1_000_000_000)
        s.schedule(deadline: .now() + .nanoseconds(ns), repeating: .nanoseconds(ns), leeway: .milliseconds(100))
        s.setEventHandler { @Sendable in handler() }
        lock.withLock { source?.cancel(); source = s }
        s.resume()
    }

    public func cancel() { lock.withLock { source?.cancel(); source = nil } }
}

/// Runs a `LinuxRoutingDataplane`: applies on a serial queue when kicked, when the monitor
/// reports a route of ours deleted by someone else, a permanent neighbour or FDB entry deleted,
/// a link going up/down or away, or a
/// notification overflow, and on the periodic resync timer (Felix `RouteRefreshInterval`).
public final class RoutingDataplaneRunner: @unchecked Sendable {
    public static let defaultResyncInterval: Duration = .seconds(90)

    private let dataplane: LinuxRoutingDataplane
    private let timer: any RepeatingTimer
    private let interval: Duration
    private let queue = DispatchQueue(label: "twill.dataplane.routes")
    private let onReport: @Sendable (ComponentReport) -> Void
    private let logger: Logger
    private let lock = NSLock()
    private var pending = false
    private var monitor: RouteMonitor?
    private var last: ComponentReport?

    /// The report of the most recent apply (for health and status output).
    public var lastReport: ComponentReport? { lock.withLock { last } }

    public init(dataplane: LinuxRoutingDataplane, resyncInterval: Duration = RoutingDataplaneRunner.defaultResyncInterval,
                timer: any RepeatingTimer = DispatchRepeatingTimer(), logger: Logger = Logger(label: "twill.dataplane.routes"),
                onReport: @escaping @Sendable (ComponentReport) -> Void = { _ in }) {
        self.dataplane = dataplane; self.timer = timer; self.interval = resyncInterval
        self.onReport = onReport; self.logger = logger
    }

    /// Opens the monitor's netlink socket in the calling thread's network namespace, without
    /// starting anything. A caller that enters a namespace only to open sockets calls this there
    /// and `start()` after it has left: threads started from a thread inside a namespace (the
    /// monitor's, Dispatch's workers for `kick()`) are born in it and stay there.
    public func prepare() throws {
        guard lock.withLock({ monitor == nil }) else { return }
        let m = try RouteMonitor { [weak self] ev in self?.handle(ev) }
        lock.withLock { monitor = m }
    }

    /// Starts the monitor and the periodic resync, then applies once (with a full resync).
    public func start() throws {
        try prepare()
        guard let m = lock.withLock({ monitor }) else { return }
        m.start()
        timer.start(every: interval) { [weak self] in
            guard let self else { return }
            self.dataplane.requestResync()
            self.kick()
        }
        dataplane.requestResync()
        kick()
    }

    public func stop() {
        timer.cancel()
        let m: RouteMonitor? = lock.withLock { let m = monitor; monitor = nil; return m }
        m?.stop()
        queue.sync {}   // let a running apply finish
    }

    /// Schedules an apply (coalesced: several kicks before it runs give one apply).
    public func kick() {
        let schedule: Bool = lock.withLock { if pending { return false }; pending = true; return true }
        guard schedule else { return }
        queue.async { [weak self] in
            guard let self else { return }
            self.lock.withLock { self.pending = false }
            do {
                let started = DispatchTime.now().uptimeNanoseconds
                var report = try self.dataplane.apply()
                report.durationSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                self.lock.withLock { self.last = report }
                self.onReport(report)
            } catch {
                self.logger.error("routing apply failed", metadata: ["error": "\(error)"])
                self.dataplane.requestResync()
                let report = ComponentReport(component: .routes, issues: [
                    ApplyIssue(component: .routes, subject: "apply", reason: "\(error)"),
                ])
                self.lock.withLock { self.last = report }
                self.onReport(report)
            }
        }
    }

    func handle(_ event: RouteMonitorEvent) {
        switch event {
        case .routeDeleted(let key, let proto):
            guard proto == dataplane.routeProtocol, key.table == dataplane.routeTable,
                  !dataplane.consumeExpectedDeletion(key) else { return }
            logger.info("route of ours deleted by someone else; resyncing", metadata: ["route": "\(key)"])
        case .routeAdded(let key, let proto):
            guard proto != dataplane.routeProtocol, key.table == dataplane.routeTable,
                  dataplane.desiresRoute(key) else { return }
            logger.info("foreign route replaced one of ours; resyncing", metadata: ["route": "\(key)"])
        case .neighbourDeleted(let index):
            switch dataplane.neighbourDeleted(index: index) {
            case .ignore: return
            case .partial: kick(); return
            case .fullResync: logger.info("neighbour entry of ours deleted; resyncing", metadata: ["ifindex": "\(index)"])
            }
        case .linkChanged(let index, let name, _, _):
            switch dataplane.linkChanged(index: index, name: name) {
            case .ignore: return
            case .partial: kick(); return   // only that workload interface's objects are replanned
            case .fullResync: break
            }
        case .overflow:
            logger.info("netlink notifications lost (ENOBUFS); resyncing")
        }
        dataplane.requestResync()
        kick()
    }
}
