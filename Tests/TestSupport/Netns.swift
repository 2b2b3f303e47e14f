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
    /// threads never change namespace. A bare pthread, joined, so it has exited before
    /// `strayPoolThreads` looks; `body` itself must queue no Dispatch work, since a pool thread
    /// created from inside the namespace would stay there (see `PoolThreadInNamespace`).
    public static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        try onFreshThread {
            let r: Result<T, any Error>
            if let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") {   // RTLD_DEFAULT
                let setns = unsafeBitCast(sym, to: SetnsFn.self)
                let fd = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
                if fd < 0 {
                    r = .failure(SetnsFailed(namespace: name, errno: errno))
                } else if setns(fd, clone_newnet) != 0 {
                    r = .failure(SetnsFailed(namespace: name, errno: errno))
                    close(fd)
                } else {
                    close(fd)
                    r = Result { try body() }
                }
            } else {
                r = .failure(SetnsFailed(namespace: name, errno: ENOSYS))
            }
            result.withLock { $0 = r }
        }
        let stray = strayPoolThreads()
        if !stray.isEmpty { throw PoolThreadInNamespace(namespace: name, threads: stray) }
        return try result.withLock { $0! }.get()
    }

    /// The closure a fresh thread runs; the creating thread joins it.
    private final class ThreadBody: @unchecked Sendable {
        let work: () -> Void
        init(_ work: @escaping () -> Void) { self.work = work }
    }

    /// Runs `work` on a new pthread and joins it.
    private static func onFreshThread(_ work: @escaping () -> Void) throws {
        var tid = pthread_t()
        let arg = Unmanaged.passRetained(ThreadBody(work)).toOpaque()
        let rc = pthread_create(&tid, nil, { p in
            // A new thread inherits its creator's name (a pool thread's): rename it, so that
            // `strayPoolThreads` does not mistake it, or its exit, for a pool thread.
            let comm = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            if comm >= 0 { _ = write(comm, "twill-netns", 11); close(comm) }
            Unmanaged<ThreadBody>.fromOpaque(p!).takeRetainedValue().work()
            return nil
        }, arg)
        guard rc == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(arg).release()
            throw SetnsFailed(namespace: "(pthread_create)", errno: rc)
        }
        pthread_join(tid, nil)
    }

    /// A Dispatch or Swift-concurrency pool thread was born inside a namespace: a thread inherits
    /// the network namespace of the thread that creates it, and the pools create workers from
    /// whichever thread queues work. Such a worker stays in the namespace and later runs other
    /// tests' code there (their listeners become unreachable: "Connection refused").
    public struct PoolThreadInNamespace: Error, CustomStringConvertible {
        public var namespace: String
        public var threads: [String]
        public var description: String {
            "pool threads now live in network namespace \(namespace): \(threads.joined(separator: ", ")); "
                + "queue Dispatch work only after leaving the namespace"
        }
    }

    /// Pool threads (Dispatch workers and the cooperative pool: their names contain "qos") whose
    /// network namespace is not the process's, as "tid name".
    public static func strayPoolThreads() -> [String] {
        func link(_ path: String) -> String? {
            var buf = [CChar](repeating: 0, count: 64)
            let n = readlink(path, &buf, buf.count - 1)
            return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
        }
        guard let own = link("/proc/self/ns/net"),
              let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [] }
        return tasks.sorted().compactMap { tid in
            guard let ns = link("/proc/self/task/\(tid)/ns/net"), ns != own,
                  let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8),
                  comm.contains("qos") else { return nil }
            return "\(tid) \(comm.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
    }
}
