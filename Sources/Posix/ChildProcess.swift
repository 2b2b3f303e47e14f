import CSystemShims
@preconcurrency import Glibc

/// A child process we spawned and reap ourselves.
///
/// Why not Foundation's `Process`: on Linux it learns that a child exited through a socket the
/// child inherits, so a child spawned at the same moment by another thread (or a daemon the
/// child forks) keeps that socket open and `waitUntilExit()` never returns — a test suite that
/// starts etcd, BIRD and `ip` from parallel tests hangs that way. Here every descriptor but
/// 0/1/2 is closed in the child, pipes are close-on-exec, and `wait` reaps exactly this pid,
/// with a deadline.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let arguments: [String]
    private var status: Int32?
    private let lock = PthreadLock()

    /// What a child's standard stream is connected to.
    public enum Stream: Sendable {
        case inherit, null
        case descriptor(Int32)
        var fd: Int32 {
            switch self {
            case .inherit: -1
            case .null: -2
            case .descriptor(let d): d
            }
        }
    }

    /// Spawns `arguments[0]` (looked up in PATH) with the given streams. `environment` nil keeps ours.
    public init(_ arguments: [String], environment: [String: String]? = nil, stdin: Stream = .null,
                stdout: Stream = .inherit, stderr: Stream = .inherit, ownProcessGroup: Bool = false) throws(SyscallError) {
        precondition(!arguments.isEmpty, "ChildProcess needs a program")
        self.arguments = arguments
        let env = environment.map { $0.map { "\($0.key)=\($0.value)" }.sorted() }
        var pid: Int32 = 0
        let r = withCStrings(arguments) { argv in
            withOptionalCStrings(env) { envp in
                twill_spawn(&pid, argv, envp, stdin.fd, stdout.fd, stderr.fd, ownProcessGroup ? 1 : 0)
            }
        }
        guard r == 0 else { throw SyscallError("posix_spawn(\(arguments[0]))", .init(rawValue: r)) }
        self.pid = pid
    }

    /// The exit code (or 128 + signal), nil while running. Reaps the child once it exited.
    public var exitStatus: Int32? {
        lock.locked {
            if status == nil { status = Self.reap(pid, block: false) }
            return status
        }
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Waits at most `timeout` seconds (nil: forever) for the child; its exit status, or nil if it
    /// is still running at the deadline.
    @discardableResult
    public func wait(timeout: Double? = nil) -> Int32? {
        let deadline = timeout.map { Self.now() + $0 }
        var pause: UInt32 = 1000
        while true {
            if let s = exitStatus { return s }
            if let deadline, Self.now() >= deadline { return nil }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    /// Sends a signal (no-op once reaped).
    public func signal(_ sig: Int32) {
        lock.locked { if status == nil { _ = kill(pid, sig) } }
    }

    /// SIGTERM, up to `grace` seconds, then SIGKILL; always reaps.
    @discardableResult
    public func terminate(grace: Double = 2) -> Int32 {
        signal(SIGTERM)
        if let s = wait(timeout: grace) { return s }
        signal(SIGKILL)
        return wait() ?? -1
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static func reap(_ pid: pid_t, block: Bool) -> Int32? {
        var st: Int32 = 0
        while true {
            let r = waitpid(pid, &st, block ? 0 : WNOHANG)
            if r == pid { break }
            if r == 0 { return nil }
            if errno == EINTR { continue }
            return -1  // ECHILD: someone else reaped it; report it gone
        }
        let sig = st & 0x7f
        return sig == 0 ? (st >> 8) & 0xff : 128 + sig
    }

    // MARK: run to completion

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var timedOut: Bool
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs a command to completion, feeding `input` and collecting both outputs (read
    /// concurrently through poll, so a chatty child never blocks on a full pipe). At the deadline
    /// the child is killed and `timedOut` is set. Children that fork daemons which keep our pipes
    /// open are handled: once the child exited, output is read only for a short grace period.
    public static func run(_ arguments: [String], input: [UInt8]? = nil, environment: [String: String]? = nil,
                           timeout: Double = 60) throws(SyscallError) -> Output {
        var inFDs: [Int32] = [-1, -1], outFDs: [Int32] = [-1, -1], errFDs: [Int32] = [-1, -1]
        guard twill_pipe_cloexec(&inFDs) == 0 else { throw SyscallError("pipe2", .init(rawValue: errno)) }
        guard twill_pipe_cloexec(&outFDs) == 0 else {
            close(inFDs[0]); close(inFDs[1]); throw SyscallError("pipe2", .init(rawValue: errno))
        }
        guard twill_pipe_cloexec(&errFDs) == 0 else {
            for fd in inFDs + outFDs { close(fd) }
            throw SyscallError("pipe2", .init(rawValue: errno))
        }
        let child: ChildProcess
        do {
            child = try ChildProcess(arguments, environment: environment, stdin: .descriptor(inFDs[0]),
                                     stdout: .descriptor(outFDs[1]), stderr: .descriptor(errFDs[1]))
        } catch {
            for fd in inFDs + outFDs + errFDs { close(fd) }
            throw error
        }
        close(inFDs[0]); close(outFDs[1]); close(errFDs[1])
        var pendingInput = input ?? []
        var inFD: Int32 = inFDs[1]
        if pendingInput.isEmpty { close(inFD); inFD = -1 } else { _ = fcntl(inFD, F_SETFL, O_NONBLOCK) }
        var out: [UInt8] = [], err: [UInt8] = []
        var open: [Int32] = [outFDs[0], errFDs[0]]
        let deadline = now() + timeout
        var exitedAt: Double?
        var timedOut = false
        var buf = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty || inFD >= 0 {
            let t = now()
            if t >= deadline { timedOut = true; break }
            if exitedAt == nil, !child.isRunning { exitedAt = t }
            // A daemon the child forked may hold our pipes for ever: after exit, read briefly.
            if let e = exitedAt, t - e > 0.5 { break }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if inFD >= 0 { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), 50)
            if n < 0 && errno != EINTR { break }
            guard n > 0 else { continue }
            for p in fds where p.revents != 0 {
                if p.fd == inFD {
                    let w = pendingInput.withUnsafeBytes { write(inFD, $0.baseAddress, $0.count) }
                    if w > 0 { pendingInput.removeFirst(w) }
                    if w < 0 && errno != EAGAIN && errno != EINTR { pendingInput.removeAll() }
                    if pendingInput.isEmpty { close(inFD); inFD = -1 }
                    continue
                }
                let r = buf.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if r > 0 {
                    if p.fd == outFDs[0] { out += buf[0..<r] } else { err += buf[0..<r] }
                } else if r == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(p.fd)
                    open.removeAll { $0 == p.fd }
                }
            }
        }
        for fd in open { close(fd) }
        if inFD >= 0 { close(inFD) }
        var status: Int32
        if timedOut {
            child.signal(SIGKILL)
            status = child.wait(timeout: 5) ?? -1
        } else {
            status = child.wait(timeout: max(0.1, deadline - now())) ?? -1
            if status == -1 && child.isRunning {
                timedOut = true
                child.signal(SIGKILL)
                _ = child.wait(timeout: 5)
            }
        }
        return Output(status: status, stdout: out, stderr: err, timedOut: timedOut)
    }
}

/// A tiny pthread mutex (Posix cannot use Synchronization's Mutex as a stored property of a class
/// shared across threads without ceremony, and this file needs nothing more).
final class PthreadLock: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return body()
    }
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var cs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { for p in cs { free(p) } }
    cs.append(nil)
    return cs.withUnsafeBufferPointer { buf in
        buf.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) { body($0) }
    }
}

private func withOptionalCStrings<R>(_ strings: [String]?, _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    guard let strings else { return body(nil) }
    return withCStrings(strings) { body($0) }
}
