import Datastore
import Dispatch

/// Records what a watch delivers and lets a test wait (with a deadline) for a number of events.
public final class WatchRecorder: Sendable {
    private let events = Protected<[WatchEvent]>([])
    private let arrived = DispatchSemaphore(value: 0)

    public init() {}

    public var handler: @Sendable (WatchEvent) -> Void {
        { [self] e in
            events.withLock { $0.append(e) }
            arrived.signal()
        }
    }

    public var snapshot: [WatchEvent] { events.withLock { $0 } }

    /// Waits until at least `count` events arrived or `timeout` seconds passed; returns them all.
    @discardableResult
    public func wait(for count: Int, timeout: Double = 5) -> [WatchEvent] {
        let deadline = DispatchTime.now() + timeout
        while snapshot.count < count {
            if arrived.wait(timeout: deadline) == .timedOut { break }
        }
        return snapshot
    }
}
