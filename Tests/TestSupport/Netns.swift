import Foundation
import Synchronization

/// Runs code inside a network namespace the test made (`ip netns add NAME`).
public enum Netns {
    public struct SetnsFailed: Error, CustomStringConvertible {
        public var namespace: String
        public var errno: Int32
        public var description: String { "setns into \(namespace) failed: errno \(errno)" }
    }

    /// setns(2) is declared by glibc only under _GNU_SOURCE, which Swift's Glibc module does not
    /// import; look the symbol up at run time instead of adding a C target for tests.
    private typealias SetnsFn = @convention(c) (Int32, Int32) -> Int32
    private static let clone_newnet: Int32 = 0x4000_0000

    /// Runs `body` on a fresh thread moved into `/run/netns/NAME`, so every socket it opens
    /// (netlink, UDP, TCP) lives in that namespace; the thread ends afterwards, so the caller's
    /// threads never change namespace.
    public static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let t = Thread {
            defer { done.signal() }
            guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else {   // RTLD_DEFAULT
                result.withLock { $0 = .failure(SetnsFailed(namespace: name, errno: ENOSYS)) }
                return
            }
            let setns = unsafeBitCast(sym, to: SetnsFn.self)
            let fd = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { result.withLock { $0 = .failure(SetnsFailed(namespace: name, errno: errno)) }; return }
            defer { close(fd) }
            guard setns(fd, clone_newnet) == 0 else {
                result.withLock { $0 = .failure(SetnsFailed(namespace: name, errno: errno)) }
                return
            }
            let r = Result { try body() }
            result.withLock { $0 = r }
        }
        t.start()
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
