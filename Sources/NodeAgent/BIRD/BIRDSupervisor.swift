import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Restart delays for a BIRD that keeps dying: 1 s, 2 s, 4 s … capped at 30 s; a run longer
/// than `stableAfter` counts as healthy and resets the sequence (runit restarts calico-node's
/// BIRD after 1 s every time; backing off keeps a config that crashes BIRD from spinning).
public struct BIRDRestartBackoff: Hashable, Sendable {
    public var initial: Double
    public var maximum: Double
    public var stableAfter: Double
    /// Consecutive short-lived runs so far.
    public private(set) var failures = 0

    public init(initial: Double = 1, maximum: Double = 30, stableAfter: Double = 60) {
        self.initial = initial; self.maximum = maximum; self.stableAfter = stableAfter
    }

    /// The delay before the next start, given how long the process that just exited ran.
    public mutating func delay(afterRunningFor seconds: Double) -> Double {
        if seconds >= stableAfter { failures = 0 }
        let d = min(maximum, initial * Double(1 << min(failures, 20)))
        failures += 1
        return d
    }
}

/// Runs one BIRD in the foreground as a child and keeps it running: restarts it with backoff
/// when it dies, logs its stderr (BIRD's log, `log stderr all`) through the agent's logger.
final class BIRDSupervisor: @unchecked Sendable {
    // Invariant: every `var` below is read and written with `cond` locked.
    private let cond = NSCondition()
    private var pid: pid_t?
    private var stopping = false
    private var finished = false
    private var starts = 0
    private var exits = 0
    private var lastExit: String?
    private var tail: [String] = []
    private var backoff: BIRDRestartBackoff

    let argv: [String]
    let logger: Logger

    /// A BIRD this supervisor did not start (left running by a previous agent) and watches
    /// until it exits; then it starts its own.
    let adopted: pid_t?

    init(argv: [String], adopting: pid_t? = nil, backoff: BIRDRestartBackoff = BIRDRestartBackoff(), logger: Logger) {
        self.argv = argv; self.adopted = adopting; self.backoff = backoff; self.logger = logger
        pid = adopting
    }

    /// True while `pid` is a live BIRD (a recycled pid running something else does not count).
    static func isBIRD(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return false }
        return comm.hasPrefix("bird")
    }

    struct Snapshot { var pid: pid_t?; var starts: Int; var exits: Int; var lastExit: String?; var stderrTail: [String]; var finished: Bool }

    var snapshot: Snapshot {
        cond.lock(); defer { cond.unlock() }
        return Snapshot(pid: pid, starts: starts, exits: exits, lastExit: lastExit, stderrTail: tail, finished: finished)
    }

    /// Starts the supervision thread (which starts BIRD at once).
    func start() {
        let t = Thread { [self] in loop() }
        t.name = "bird-supervisor"
        t.start()
    }

    private func loop() {
        var adopted = self.adopted
        while true {
            let started = Date()
            let exit: String
            let wasAdopted = adopted != nil
            if let p = adopted {
                adopted = nil
                exit = watchAdopted(p)
            } else {
                exit = runChild()
            }
            cond.lock()
            pid = nil
            exits += 1
            lastExit = exit
            // After an adopted BIRD, start our own at once; after our own, back off.
            let wasStopping = stopping
            let delay = wasStopping || wasAdopted ? 0 : backoff.delay(afterRunningFor: Date().timeIntervalSince(started))
            cond.broadcast()
            cond.unlock()
            if wasStopping { logger.info("BIRD \(exit)") }
            else if wasAdopted { logger.warning("the BIRD this agent adopted \(exit): starting its own") }
            else { logger.error("BIRD \(exit); restarting", metadata: ["bird.restart_in_s": "\(delay)"]) }
            cond.lock()
            let until = Date().addingTimeInterval(delay)
            while !stopping && Date() < until { _ = cond.wait(until: until) }
            if stopping {
                finished = true
                cond.broadcast()
                cond.unlock()
                return
            }
            cond.unlock()
        }
    }

    /// Waits for a BIRD that is not our child (no waitpid: poll; stop() signals it like a child).
    private func watchAdopted(_ p: pid_t) -> String {
        while Self.isBIRD(p) { usleep(100_000) }
        return "(adopted, pid \(p)) exited"
    }

    /// Starts BIRD, logs its stderr, waits for it to exit; returns how it ended.
    private func runChild() -> String {
        var fds: [Int32] = [0, 0]
        guard BIRDSubprocess.makePipe(&fds) else { return "pipe: \(String(cString: strerror(errno)))" }
        let child: pid_t
        do {
            child = try BIRDSubprocess.spawn(argv, stdoutFD: fds[1], stderrFD: fds[1])
        } catch {
            close(fds[0]); close(fds[1])
            return error.description
        }
        close(fds[1])
        cond.lock()
        pid = child
        starts += 1
        let n = starts
        if stopping { kill(child, SIGTERM) }  // stop() ran while we were spawning
        cond.unlock()
        logger.info("BIRD started", metadata: ["bird.pid": "\(child)", "bird.start": "\(n)"])
        let reader = fds[0]
        let r = Thread { [self] in readLog(reader) }
        r.name = "bird-stderr"
        r.start()
        return BIRDSubprocess.describe(BIRDSubprocess.waitForExit(child))
    }

    /// BIRD's stderr, line by line, into the logger at the level BIRD gave the line.
    private func readLog(_ fd: Int32) {
        defer { close(fd) }
        var pending: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending += buf[0..<n]
            while let nl = pending.firstIndex(of: 10) {
                emit(String(decoding: pending[..<nl], as: UTF8.self))
                pending.removeSubrange(...nl)
            }
        }
        if !pending.isEmpty { emit(String(decoding: pending, as: UTF8.self)) }
    }

    private func emit(_ line: String) {
        guard !line.isEmpty else { return }
        cond.lock()
        tail.append(line)
        if tail.count > 20 { tail.removeFirst(tail.count - 20) }
        cond.unlock()
        logger.log(level: Self.level(of: line), "\(line)", metadata: ["component": "bird"])
    }

    /// BIRD tags each log line with its class: `<ERR>`, `<WARN>`, `<INFO>`, `<TRACE>`…
    static func level(of line: String) -> Logger.Level {
        if line.contains("<FATAL>") || line.contains("<BUG>") { return .critical }
        if line.contains("<ERR>") { return .error }
        if line.contains("<WARN>") || line.contains("<AUTH>") { return .warning }
        if line.contains("<TRACE>") || line.contains("<DBG>") { return .debug }
        if line.contains("<INFO>") || line.contains("<RMT>") { return .info }
        return .notice  // untagged: BIRD's own start-up errors ("bird: …")
    }

    /// SIGTERM, up to `timeout` seconds for BIRD to exit, then SIGKILL. Returns once the
    /// supervision thread has ended (no child left), or after a second bounded wait.
    func stop(timeout: Double) {
        cond.lock()
        stopping = true
        cond.broadcast()
        if let p = pid { kill(p, SIGTERM) }
        var deadline = Date().addingTimeInterval(timeout)
        while !finished && Date() < deadline { _ = cond.wait(until: deadline) }
        if !finished, let p = pid {
            logger.warning("BIRD did not exit \(timeout)s after SIGTERM: SIGKILL", metadata: ["bird.pid": "\(p)"])
            kill(p, SIGKILL)
            deadline = Date().addingTimeInterval(timeout)
            while !finished && Date() < deadline { _ = cond.wait(until: deadline) }
        }
        cond.unlock()
    }
}
