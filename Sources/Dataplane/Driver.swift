/// The top-level dataplane contract (STYLE.md (b) 11): callers hand each part its desired state
/// cheaply (no kernel calls), then `apply()` does all kernel I/O in a fixed order and returns a
/// report. Routing is one part (`RoutingDataplane`); the nftables ACL part joins the same way
/// with its own component name, and `CompositeDataplane` applies the parts in order.

/// Names one part of the dataplane in reports. Parts add their own names in an extension
/// (`extension DataplaneComponent { static let acl = Self("acl") }`).
public struct DataplaneComponent: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { rawValue = name }
    public var description: String { rawValue }

    public static let routes = DataplaneComponent("routes")
}

/// One problem met while computing or applying desired state. Problems never abort the whole
/// apply: the affected object is skipped and everything else is still programmed.
public struct ApplyIssue: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Severity: Int, Hashable, Sendable, Comparable {
        case warning, error
        public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }
    }
    public var component: DataplaneComponent
    public var severity: Severity
    /// What the issue is about, e.g. `block 10.244.3.0/26` or `device tunl0`.
    public var subject: String
    /// Why, in words a user can act on.
    public var reason: String
    /// What to do about it, when there is something to do (e.g. `modprobe ipip`).
    public var remedy: String?

    public init(component: DataplaneComponent, severity: Severity = .error, subject: String, reason: String,
                remedy: String? = nil) {
        self.component = component; self.severity = severity; self.subject = subject
        self.reason = reason; self.remedy = remedy
    }

    public var description: String {
        "\(component): \(subject): \(reason)" + (remedy.map { " (\($0))" } ?? "")
    }
}

/// What one part did in one `apply()`.
public struct ComponentReport: Hashable, Sendable {
    public var component: DataplaneComponent
    /// Kernel operations performed (creates, replaces, deletes).
    public var operations: Int
    /// Whether this apply re-read the kernel state (full resync) instead of trusting its cache.
    public var resynced: Bool
    public var issues: [ApplyIssue]
    /// Wall time of the apply, filled in by the shell that timed it (0 when unknown).
    public var durationSeconds: Double = 0

    public init(component: DataplaneComponent, operations: Int = 0, resynced: Bool = false, issues: [ApplyIssue] = []) {
        self.component = component; self.operations = operations; self.resynced = resynced; self.issues = issues
    }
}

/// The combined result of an `apply()` over every part.
public struct ApplyReport: Hashable, Sendable {
    public var components: [ComponentReport]
    public init(_ components: [ComponentReport] = []) { self.components = components }

    public var issues: [ApplyIssue] { components.flatMap(\.issues) }
    public var errors: [ApplyIssue] { issues.filter { $0.severity == .error } }
    public var operations: Int { components.reduce(0) { $0 + $1.operations } }
    /// True when nothing failed (warnings allowed).
    public var isClean: Bool { errors.isEmpty }
    public subscript(component: DataplaneComponent) -> ComponentReport? {
        components.first { $0.component == component }
    }
}

/// One part of the dataplane. Implementations are I/O shells (DataplaneLinux) or fakes; all
/// setters are cheap and make no kernel calls, `apply()` does the kernel work.
public protocol DataplaneDriver: AnyObject, Sendable {
    var component: DataplaneComponent { get }
    /// The caller's datastore view is complete: stale kernel objects of ours may now be swept.
    /// Before this, `apply()` only creates and replaces (Felix's restart doctrine).
    func markInSync()
    /// Re-read the kernel state on the next `apply()` instead of trusting the cache.
    func requestResync()
    /// Programs the kernel towards the desired state. Throws only when the part cannot work at
    /// all (e.g. no netlink socket); per-object failures are issues in the report.
    func apply() throws -> ComponentReport
}

/// The routing part: takes the routing input (this node, workloads, blocks, settings).
public protocol RoutingDataplane: DataplaneDriver {
    /// Replaces the whole routing input (desired state, not commands: STYLE.md (b) 10).
    func setRoutingInput(_ input: RoutingInput)
    /// Adds or replaces one local workload without recomputing everything else.
    func upsertWorkload(_ workload: Workload)
    /// Removes one local workload by name.
    func removeWorkload(named name: String)
}

/// Applies several parts in a fixed order (e.g. ACL sets and rules before routes) and merges
/// their reports. A part that throws is reported as an error; the other parts still run.
public final class CompositeDataplane: Sendable {
    public let parts: [any DataplaneDriver]
    public init(_ parts: [any DataplaneDriver]) { self.parts = parts }

    public func markInSync() { for p in parts { p.markInSync() } }
    public func requestResync() { for p in parts { p.requestResync() } }

    public func apply() -> ApplyReport {
        var report = ApplyReport()
        for p in parts {
            do { report.components.append(try p.apply()) } catch {
                report.components.append(ComponentReport(component: p.component, issues: [
                    ApplyIssue(component: p.component, subject: "apply", reason: "\(error)"),
                ]))
            }
        }
        return report
    }
}
