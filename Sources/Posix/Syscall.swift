import CSystemShims
@preconcurrency import Glibc
import SystemPackage

/// The result of a non-blocking call: it ran, or the kernel said "try again later".
public enum IOResult<T: Sendable>: Sendable {
    case processed(T)
    case wouldBlock
}

/// A failed system call: which call, and the errno it left (swift-system's `Errno`).
public struct SyscallError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var errno: Errno
    public init(_ call: String, _ errno: Errno) { self.call = call; self.errno = errno }
    public var description: String { "\(call): \(errno) (errno \(errno.rawValue))" }
}

/// The one funnel every socket call goes through (NIO's `syscall(blocking:)`, swift-system's
/// `valueOrErrno`). It retries EINTR, turns EAGAIN/EWOULDBLOCK into `.wouldBlock`, and reads
/// errno immediately after the call inside this inlined function, before any ARC traffic can
/// run a deinit that clobbers it. EBADF and EFAULT are programmer errors and trap.
@inline(__always)
func sys_call<T: BinaryInteger & Sendable>(_ name: String, _ body: () -> T) throws(SyscallError) -> IOResult<T> {
    while true {
        let r = body()
        if r >= 0 { return .processed(r) }
        let e = Glibc.errno
        switch e {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        case EBADF, EFAULT: preconditionFailure("\(name): \(Errno(rawValue: e)) — descriptor or buffer misuse")
        default: throw SyscallError(name, Errno(rawValue: e))
        }
    }
}

/// Like `sys_call` for calls that never legitimately return EAGAIN (setsockopt, bind, listen).
@inline(__always)
@discardableResult
func sys_checked<T: BinaryInteger & Sendable>(_ name: String, _ body: () -> T) throws(SyscallError) -> T {
    switch try sys_call(name, body) {
    case .processed(let v): return v
    case .wouldBlock: throw SyscallError(name, .wouldBlock)
    }
}

/// close(2) never retries EINTR: on Linux the descriptor is gone either way, and a retry could
/// close a descriptor another thread just got (see NIO's `sysClose` notes).
@inline(__always)
func sys_close(_ fd: Int32) {
    _ = Glibc.close(fd)
}

/// Process-wide setup a daemon (or a test) using these sockets wants once.
public enum ProcessSignals {
    /// Ignores SIGPIPE process-wide. Sends also pass MSG_NOSIGNAL, so this only guards other writes.
    public static func ignoreSIGPIPE() { twill_ignore_sigpipe() }
}

/// Process-wide malloc tuning for the daemons.
public enum ProcessMemory {
    /// Caps glibc's malloc arenas (default 8 per core). Dispatch runs the peers' decoding on
    /// worker threads that come and go, each taking an arena; memory freed in one arena is not
    /// reused by another, so a full-table load cost ~30 MiB more RSS with the default
    /// (`twill-bench bgp`, docs/benchmarks.md). `MALLOC_ARENA_MAX` in the environment wins.
    public static func limitMallocArenas(_ n: Int32 = 1) {
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        _ = twill_set_malloc_arena_max(n)
    }
}
