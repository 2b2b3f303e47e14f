/// A point on the shell's monotonic clock, in milliseconds. The FSM never reads a clock: the
/// shell passes `now` with every event, and tests pass a fake one. Only differences between
/// two instants mean anything; the origin is the shell's choice (e.g. process start).
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public static let zero = Instant(milliseconds: 0)

    public func advanced(by d: Duration) -> Instant { Instant(milliseconds: milliseconds &+ d.milliseconds) }
    /// Elapsed time from `earlier` to `self`.
    public func duration(since earlier: Instant) -> Duration { .milliseconds(milliseconds - earlier.milliseconds) }

    public static func + (l: Instant, r: Duration) -> Instant { l.advanced(by: r) }
    public static func < (l: Instant, r: Instant) -> Bool { l.milliseconds < r.milliseconds }
    public var description: String { "\(milliseconds)ms" }
}

extension Duration {
    /// Whole milliseconds (truncated), the FSM's timer resolution.
    public var milliseconds: Int64 {
        let c = components
        return c.seconds &* 1000 &+ c.attoseconds / 1_000_000_000_000_000
    }
}
