import Dataplane
import Synchronization

/// A strict in-memory routing dataplane for other parts' tests (Felix `MockDataplane`): the
/// same calculator and planner as the Linux driver, a `RoutingState` playing the kernel, every
/// apply's operations recorded, failure injection, and contract breaches collected in
/// `violations` (a test asserts it is empty).
public final class FakeRoutingDataplane: RoutingDataplane, Sendable {
    public struct Recorded: Sendable {
        public var operations: [RoutingOperation]
        public var report: ComponentReport
    }

    struct State {
        var input: RoutingInput?
        var kernel = RoutingState()
        var inSync = false
        var applies: [Recorded] = []
        var violations: [String] = []
        var failing: @Sendable (RoutingOperation) -> String? = { _ in nil }
    }

    private let state = Mutex(State())
    public let component = DataplaneComponent.routes

    public init(kernel: RoutingState = RoutingState()) { state.withLock { $0.kernel = kernel } }

    /// Operations for which this returns a reason fail (and are not recorded into the kernel).
    public func failOperations(_ rule: @escaping @Sendable (RoutingOperation) -> String?) {
        state.withLock { $0.failing = rule }
    }

    public var kernel: RoutingState { state.withLock { $0.kernel } }
    public var applies: [Recorded] { state.withLock { $0.applies } }
    public var violations: [String] { state.withLock { $0.violations } }
    public var input: RoutingInput? { state.withLock { $0.input } }

    public func setRoutingInput(_ input: RoutingInput) { state.withLock { $0.input = input } }

    public func upsertWorkload(_ workload: Workload) {
        state.withLock { s in
            guard s.input != nil else { s.violations.append("upsertWorkload(\(workload.name)) before setRoutingInput"); return }
            s.input!.workloads.removeAll { $0.name == workload.name }
            s.input!.workloads.append(workload)
        }
    }

    public func removeWorkload(named name: String) {
        state.withLock { s in
            guard let input = s.input, input.workloads.contains(where: { $0.name == name }) else {
                s.violations.append("removeWorkload(\(name)): no such workload")
                return
            }
            s.input!.workloads.removeAll { $0.name == name }
        }
    }

    public func markInSync() { state.withLock { $0.inSync = true } }
    public func requestResync() {}

    public func apply() throws -> ComponentReport {
        state.withLock { s in
            guard let input = s.input else {
                s.violations.append("apply() before setRoutingInput")
                return ComponentReport(component: component)
            }
            let computed = RoutingCalculator.compute(input)
            let ops = RoutingPlanner.plan(desired: computed.state, actual: s.kernel, sweep: s.inSync)
            var issues = computed.issues
            var done = 0
            for op in ops {
                if let reason = s.failing(op) {
                    issues.append(ApplyIssue(component: component, subject: op.description, reason: reason))
                    continue
                }
                RoutingPlanner.record(op, in: &s.kernel)
                done += 1
            }
            let report = ComponentReport(component: component, operations: done, issues: issues)
            s.applies.append(Recorded(operations: ops, report: report))
            return report
        }
    }
}
