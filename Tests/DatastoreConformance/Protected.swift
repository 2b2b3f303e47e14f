import Foundation

/// A value behind an `NSLock` (pthread-based, so ThreadSanitizer sees the synchronization;
/// `Synchronization.Mutex` uses raw futexes on Linux and makes TSan report false races).
public final class Protected<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
