import Dispatch
import Synchronization

/// The delivery end of one watch, shared by every backend: a private serial queue on which the
/// handler runs, in order, and the cancellation rule of `WatchHandle`.
///
/// Invariants:
/// - events are handed over with `deliver` in revision order by one producer at a time (the store's
///   lock or its feed queue), and `queue.async` keeps that order;
/// - after `cancel()` returns the handler is never called again: `cancel` sets the flag, then
///   drains the queue with `queue.sync {}` so a handler already running finishes first; called
///   from inside the handler (on the queue) it only sets the flag;
/// - a terminal event (`.resyncRequired`, `.failed`) is the last one delivered.
final class WatchSink: Sendable {
    private let queue: DispatchQueue
    private let handler: @Sendable (WatchEvent) -> Void
    private let stopped = Atomic<Bool>(false)
    private let onQueue = DispatchSpecificKey<Bool>()

    init(label: String, handler: @escaping @Sendable (WatchEvent) -> Void) {
        queue = DispatchQueue(label: label)
        queue.setSpecific(key: onQueue, value: true)
        self.handler = handler
    }

    var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Queues events for the handler; a terminal event stops the sink after it is delivered.
    func deliver(_ events: [WatchEvent]) {
        guard !events.isEmpty, !isStopped else { return }
        queue.async { [self] in
            for e in events {
                if isStopped { return }
                handler(e)
                switch e {
                case .resyncRequired, .failed: stopped.store(true, ordering: .releasing); return
                default: continue
                }
            }
        }
    }

    func cancel() {
        stopped.store(true, ordering: .releasing)
        if DispatchQueue.getSpecific(key: onQueue) != true {
            queue.sync {}
        }
    }
}

/// The handle both backends return: cancelling stops the sink, then unregisters the watch from
/// its producer. `unregister` holds the producer (store or feed) strongly, so a watch outlives
/// the store object that made it; releasing the handle cancels.
final class SinkWatchHandle: WatchHandle {
    private let sink: WatchSink
    private let unregister: @Sendable () -> Void

    init(sink: WatchSink, unregister: @escaping @Sendable () -> Void) {
        self.sink = sink
        self.unregister = unregister
    }

    func cancel() {
        sink.cancel()
        unregister()
    }

    deinit { cancel() }
}
