import Foundation
import Posix
#if canImport(Glibc)
import Glibc
#endif

/// Child processes for the BIRD backend, started with `posix_spawnp` so the child gets a clean
/// signal state: an agent that blocks SIGTERM to handle it on a dispatch source would otherwise
/// pass the blocked mask on, and BIRD would never see `stop()`'s SIGTERM (Foundation's
/// `Process` does not reset it). stdin is /dev/null; stdout and stderr go where the caller says.
enum BIRDSubprocess {
    struct SpawnError: Error, CustomStringConvertible {
        var argv: [String]
        var errno: Int32
        var description: String { "cannot run \(argv.first ?? "?"): \(String(cString: strerror(errno)))" }
    }

    /// Starts `argv` (looked up in PATH) with stdout → `stdoutFD` and stderr → `stderrFD`
    /// (nil: /dev/null), every signal at its default disposition (SIGPIPE stays ignored when
    /// the agent ignores it, so a child writing to a closed pipe gets EPIPE) and none blocked.
    static func spawn(_ argv: [String], stdoutFD: Int32?, stderrFD: Int32?) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let fd = stdoutFD { posix_spawn_file_actions_adddup2(&actions, fd, 1) }
        else { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        if let fd = stderrFD { posix_spawn_file_actions_adddup2(&actions, fd, 2) }
        else { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
        // Nothing else of the agent's reaches the child: a BIRD outliving a killed agent must
        // not hold its sockets (health port, control socket) or pipe ends open.
        if let closeFrom = addCloseFrom { _ = closeFrom(&actions, 3) }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cargs.append(nil)
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cargs, environ)
        guard rc == 0 else { throw SpawnError(argv: argv, errno: rc) }
        return pid
    }

    typealias CloseFromFunction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    /// glibc ≥ 2.34's `posix_spawn_file_actions_addclosefrom_np`, declared only under
    /// _GNU_SOURCE (which Swift's Glibc module does not define): looked up at run time.
    static let addCloseFrom: CloseFromFunction? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: CloseFromFunction.self)
    }()

    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
        var timedOut: Bool
        /// stderr, else stdout, trimmed: what to quote in an error.
        var message: String {
            let e = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return e.isEmpty ? stdout.trimmingCharacters(in: .whitespacesAndNewlines) : e
        }
    }

    /// Runs `argv` to completion, capturing stdout and stderr; killed (SIGKILL) after `timeout`
    /// seconds. `status` is the exit code, or 128 + signal. (Posix.ChildProcess does the work:
    /// the same spawn with every other descriptor closed and our own pid reaped.)
    static func run(_ argv: [String], timeout: Double) throws(SpawnError) -> Output {
        let r: ChildProcess.Output
        do { r = try ChildProcess.run(argv, timeout: timeout) } catch {
            throw SpawnError(argv: argv, errno: error.errno.rawValue)
        }
        return Output(status: r.status, stdout: r.stdoutText, stderr: r.stderrText, timedOut: r.timedOut)
    }

    /// pipe() with both ends close-on-exec (glibc's pipe2 is not visible without _GNU_SOURCE).
    static func makePipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// Blocks until `pid` exits; returns its exit code, or 128 + the signal that ended it.
    static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return exitCode(status)
    }

    /// Exit code from a wait status (the `WIFEXITED`/`WTERMSIG` macros do not import).
    static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// "exited with status 1" / "killed by signal 9".
    static func describe(_ code: Int32) -> String {
        code > 128 ? "killed by signal \(code - 128)" : "exited with status \(code)"
    }
}
