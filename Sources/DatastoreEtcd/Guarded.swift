import Foundation

/// A value behind an `NSLock` (pthread-based, so ThreadSanitizer sees it; `Synchronization.Mutex`
/// locks with raw futex calls on Linux, which it does not). Not reentrant.
final class Guarded<Value>: @unchecked Sendable {
    private let lock = NSLock()
    // Only touched while `lock` is held.
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
