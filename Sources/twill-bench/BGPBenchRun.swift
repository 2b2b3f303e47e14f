import ArgumentParser
import BGPWire
import Foundation
import Glibc
import NetCore
import Posix

/// One row of a scenario's table.
struct BGPBenchRow {
    var name: String
    /// The scenario's time (full: feeder's first UPDATE → monitor's last prefix).
    var seconds: Double?
    var withdrawSeconds: Double?
    var feederWriteSeconds: Double?
    var firstPrefixSeconds: Double?
    var peakRSSKiB: Int?
    var cpuSeconds: Double?
    /// CPU time of the bench process (the simulated peers) during the timed phase.
    var benchCPUSeconds: Double?
    var note: String?
    var failure: String?
}

/// Runs inside the peers' namespace: each scenario, each with its no-daemon baseline (where there
/// is one) and each daemon in turn.
struct BGPBenchRun {
    let options: BGPBench
    let daemonNS: String

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("twill-bench-bgp-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) CPUs, "
              + "\(ProcessInfo.processInfo.physicalMemory >> 20) MiB, load average \(loadAverage()) at start")
        for s in options.scenarioList {
            if benchInterrupted.load(ordering: .relaxed) { break }
            switch s {
            case "full": try runFull(dir: dir)
            case "feeders": try runFeeders(dir: dir)
            default: try runMesh(dir: dir)
            }
        }
        print("load average \(loadAverage()) at the end")
        if benchInterrupted.load(ordering: .relaxed) { throw ExitCode(130) }
    }

    func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    // MARK: tables

    /// A scenario-specific column.
    struct Column { let header: String; let value: (BGPBenchRow) -> String }

    static func fmt(_ v: Double?, _ p: Int = 3) -> String { v.map { String(format: "%.\(p)f", $0) } ?? "–" }

    /// Runs the daemons of `options`, printing each row as it comes, then the table and the targets.
    func runScenario(_ title: String, routes: Int, rateHeader: String, baseline: BGPBenchRow?, extra: [Column],
                     daemon: (String) -> BGPBenchRow) {
        var rows: [BGPBenchRow] = []
        func add(_ r: BGPBenchRow) {
            rows.append(r)
            print(line(r, bird: nil, routes: routes, extra: extra)); fflush(nil)
        }
        if let baseline { add(baseline) }
        for d in options.daemonList {
            if benchInterrupted.load(ordering: .relaxed) { break }
            add(daemon(d))
        }
        let bird = rows.first { $0.name == "bird" && $0.failure == nil }
        print("\n\(title)\n")
        print("| daemon | time (s) | \(rateHeader) | peak RSS (MiB) | time ÷ BIRD | RSS ÷ BIRD | "
              + extra.map { "\($0.header) | " }.joined() + "daemon CPU (s) | bench CPU (s) |")
        print("|" + String(repeating: "---|", count: 8 + extra.count))
        for r in rows { print(line(r, bird: bird, routes: routes, extra: extra)) }
        print("\n" + targets(rows) + "\n"); fflush(nil)
    }

    func line(_ r: BGPBenchRow, bird: BGPBenchRow?, routes: Int, extra: [Column]) -> String {
        let f = Self.fmt
        let rss = r.peakRSSKiB.map { Double($0) / 1024 }
        let rate = r.seconds.map { Double(routes) / $0 }
        let tr = r.seconds.flatMap { t in bird?.seconds.map { t / $0 } }
        let rr = rss.flatMap { m in bird?.peakRSSKiB.map { m / (Double($0) / 1024) } }
        let fail = r.failure.map { " FAILED: \($0)" } ?? ""
        return "| \(r.name)\(fail) | \(f(r.seconds, 3)) | \(rate.map { String(Int($0)) } ?? "–") | \(f(rss, 1)) | \(f(tr, 2)) | \(f(rr, 2)) | "
            + extra.map { "\($0.value(r)) | " }.joined() + "\(f(r.cpuSeconds, 2)) | \(f(r.benchCPUSeconds, 2)) |"
    }

    /// Issue 7's targets: Twill's time ≤ 1.0× BIRD's, peak RSS ≤ 1.2× BIRD's, ≥ 5× faster than GoBGP.
    func targets(_ rows: [BGPBenchRow]) -> String {
        func ok(_ name: String) -> BGPBenchRow? { rows.first { $0.name == name && $0.failure == nil && $0.seconds != nil } }
        let twill = ok("twill"), bird = ok("bird"), gobgp = ok("gobgp")
        func verdict(_ met: Bool, _ detail: String) -> String { (met ? "met" : "MISSED") + " (\(detail))" }
        let why = rows.contains { $0.name == "twill" } ? "twill failed" : "twill not run"
        let time: String, rss: String, go: String
        if let t = twill?.seconds, let b = bird?.seconds {
            time = verdict(t <= b, String(format: "%.2f×", t / b))
        } else { time = "not measured (\(twill == nil ? why : "no BIRD figure"))" }
        if let t = twill?.peakRSSKiB, let b = bird?.peakRSSKiB {
            rss = verdict(Double(t) <= 1.2 * Double(b), String(format: "%.2f×", Double(t) / Double(b)))
        } else { rss = "not measured (\(twill == nil ? why : "no BIRD figure"))" }
        if let t = twill?.seconds, let g = gobgp?.seconds {
            go = verdict(g >= 5 * t, String(format: "%.1f× faster", g / t))
        } else if twill?.seconds != nil, rows.contains(where: { $0.name == "gobgp" && $0.failure != nil }) {
            go = "not measured (GoBGP failed or timed out; if it timed out, Twill is at least "
                + String(format: "%.1f× faster)", options.timeout / twill!.seconds!)
        } else { go = "not measured (\(twill == nil ? why : "no GoBGP figure"))" }
        return "targets: Twill time ≤ 1.0× BIRD: \(time); peak RSS ≤ 1.2× BIRD: \(rss); ≥ 5× faster than GoBGP: \(go)"
    }

    // MARK: daemons

    /// Starts `name` with a config for `topology`, runs `body` with the daemon and a deadline
    /// `--timeout` away, then records its peak RSS and CPU and kills it. Failures (including the
    /// daemon exiting or rejecting its config) land in the row, never escape.
    func runDaemon(_ name: String, topology: BenchTopology, dir: String,
                   _ body: (DaemonUnderTest, Double, inout BGPBenchRow) throws -> Void) -> BGPBenchRow {
        var row = BGPBenchRow(name: name)
        do {
            let d = try DaemonUnderTest(name, topology: topology, dir: "\(dir)/\(name)-\(topology.label)",
                                        namespace: daemonNS, twillBgpd: options.twillBgpd)
            defer { d.kill() }
            do { try body(d, monotonic() + options.timeout, &row) } catch { row.failure = "\(error)" }
            (row.peakRSSKiB, row.cpuSeconds) = d.stats()
            if let f = row.failure, !benchInterrupted.load(ordering: .relaxed) {
                let tail = d.logTail()
                row.failure = f + (tail.isEmpty ? "" : " (log: \(tail))")
            }
        } catch { row.failure = "\(error)" }
        return row
    }

    // MARK: full: one feeder → daemon → monitor, then withdraw all

    func runFull(dir: String) throws {
        let n = options.prefixes
        let t0 = monotonic()
        let streams = try feederStreams(0..<n, attrSets: options.attrSets)
        print("\n== full: \(n) prefixes in \(options.attrSets) attribute sets; \(streams.announce.messages) UPDATEs, "
              + "\(streams.announce.bytes.count / 1024) KiB (+ \(streams.withdraw.messages) withdrawal UPDATEs), encoded in "
              + String(format: "%.2f s", monotonic() - t0))
        let topology = BenchTopology(label: "full", peers: [
            BenchPeer(name: "feeder", address: BenchAddr.feeder, asn: 65001, role: .feeder),
            BenchPeer(name: "monitor", address: BenchAddr.monitor, asn: 65003, role: .monitor),
        ])
        let f = Self.fmt
        runScenario("full: \(n) prefixes in \(options.attrSets) attribute sets, one feeder → daemon → monitor (eBGP)",
                    routes: n, rateHeader: "prefixes/s", baseline: fullBaseline(streams),
                    extra: [Column(header: "withdraw all (s)") { f($0.withdrawSeconds, 3) },
                            Column(header: "feeder done writing (s)") { f($0.feederWriteSeconds, 3) },
                            Column(header: "first prefix out (s)") { f($0.firstPrefixSeconds, 3) }]) { name in
            runDaemon(name, topology: topology, dir: dir) { d, deadline, row in
                let mon = try d.establish(local: BenchAddr.monitor, asn: 65003, until: deadline)
                let feeder = try d.establish(local: BenchAddr.feeder, asn: 65001, until: deadline)
                startKeepalives([mon, feeder])
                drain(feeder)
                defer { feeder.stop(); mon.stop() }
                try measureFull(feeder: feeder, monitor: mon, streams: streams, deadline: deadline, daemon: d, row: &row)
            }
        }
    }

    /// Feeder straight into the monitor (a listener on the monitor's address).
    func fullBaseline(_ s: (announce: UpdateStream, withdraw: UpdateStream)) -> BGPBenchRow {
        var row = BGPBenchRow(name: "feeder → monitor (no daemon)")
        do {
            let l = try Listener(BenchAddr.monitor, 1790)
            let feeder = try BGPConn.connect(local: BenchAddr.feeder, remote: BenchAddr.monitor, port: 1790)
            let mon = try l.accept()
            defer { feeder.stop(); mon.stop() }
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread { try? mon.handshake(asn: 65003, id: BenchAddr.v4(BenchAddr.monitor)); done.signal() }
            try feeder.handshake(asn: 65001, id: BenchAddr.v4(BenchAddr.feeder))
            done.wait()
            try measureFull(feeder: feeder, monitor: mon, streams: s, deadline: monotonic() + options.timeout, daemon: nil, row: &row)
        } catch { row.failure = "\(error)" }
        return row
    }

    func measureFull(feeder: BGPConn, monitor mon: BGPConn, streams s: (announce: UpdateStream, withdraw: UpdateStream),
                     deadline: Double, daemon: DaemonUnderTest?, row: inout BGPBenchRow) throws {
        let n = options.prefixes
        let m = Monitor(n: n)
        m.start(mon)
        usleep(500_000)  // the daemon sees both sessions Established
        let cpu0 = selfCPUSeconds()
        let start = monotonic()
        let wrote = WriteTimes()
        Thread.detachNewThread {
            do { try s.announce.write(to: feeder); wrote.set(announce: monotonic()) } catch { wrote.fail("\(error)") }
        }
        let progress = { let s = m.snapshot; return "monitor had \(s.ann) of \(n) announced, \(s.wd) withdrawn" }
        let failure = { () -> String? in
            if let e = m.snapshot.error { return "monitor: \(e) (\(progress()))" }
            if let e = wrote.failure { return "feeder: \(e)" }
            return daemon?.exitMessage
        }
        let allAnn = try waitFor(until: deadline, progress: progress, failure: failure) { m.snapshot.allAnn }
        row.seconds = allAnn - start
        row.benchCPUSeconds = selfCPUSeconds() - cpu0
        row.firstPrefixSeconds = m.snapshot.first.map { $0 - start }
        row.feederWriteSeconds = wrote.announce.map { $0 - start }
        guard !options.noWithdraw else { return }
        usleep(500_000)
        let wstart = monotonic()
        Thread.detachNewThread { do { try s.withdraw.write(to: feeder) } catch { wrote.fail("\(error)") } }
        do {
            let allWd = try waitFor(until: monotonic() + options.timeout, progress: progress, failure: failure) { m.snapshot.allWd }
            row.withdrawSeconds = allWd - wstart
        } catch { throw BenchError("withdraw phase: \(error)") }
    }

    final class WriteTimes: @unchecked Sendable {
        private let lock = NSLock()
        private var a: Double?, f: String?, count = 0
        func set(announce t: Double) { lock.lock(); a = max(a ?? t, t); count += 1; lock.unlock() }
        func fail(_ e: String) { lock.lock(); if f == nil { f = e }; lock.unlock() }
        /// The latest `set` so far.
        var announce: Double? { lock.lock(); defer { lock.unlock() }; return a }
        var done: Int { lock.lock(); defer { lock.unlock() }; return count }
        var failure: String? { lock.lock(); defer { lock.unlock() }; return f }
    }
}

/// A daemon under test, started through `ip netns exec` in the daemon's namespace, in its own
/// process group (Ctrl-C reaches the bench, which then kills it).
final class DaemonUnderTest {
    let name: String
    let dir: String
    let child: ChildProcess

    init(_ name: String, topology: BenchTopology, dir: String, namespace: String, twillBgpd: String?) throws {
        self.name = name
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cmd = try topology.command(for: name, dir: dir, twillBgpd: twillBgpd)
        let log = open("\(dir)/log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw BenchError("\(dir)/log: errno \(errno)") }
        defer { close(log) }
        child = try ChildProcess(["ip", "netns", "exec", namespace] + cmd, stdout: .descriptor(log), stderr: .descriptor(log),
                                 ownProcessGroup: true)
    }

    /// Set once the daemon has exited.
    var exitMessage: String? { child.exitStatus.map { "\(name) exited (status \($0))" } }

    /// Connects from `local` and completes the OPEN exchange, retrying while the daemon starts
    /// (at most 60 s, and not past `deadline`).
    func establish(local: String, asn: UInt32, until deadline: Double) throws -> BGPConn {
        let limit = min(deadline, monotonic() + 60)
        var last = ""
        while monotonic() < limit {
            if let e = exitMessage { throw BenchError(e) }
            if benchInterrupted.load(ordering: .relaxed) { throw BenchError("interrupted while connecting from \(local)") }
            do {
                let c = try BGPConn.connect(local: local, remote: BenchAddr.daemon, port: 179)
                try c.handshake(asn: asn, id: BenchAddr.v4(local))
                return c
            } catch { last = "\(error)"; usleep(200_000) }
        }
        throw BenchError("no session from \(local): \(last)")
    }

    /// VmHWM (KiB) and utime+stime (s).
    func stats() -> (Int?, Double?) {
        let pid = child.pid
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let hwm = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        var cpu: Double?
        if let close = stat.lastIndex(of: ")") {
            let f = stat[stat.index(after: close)...].split(separator: " ")
            if f.count > 13, let u = Double(f[11]), let s = Double(f[12]) { cpu = (u + s) / Double(sysconf(Int32(_SC_CLK_TCK))) }
        }
        return (hwm, cpu)
    }

    /// The last lines of the daemon's output, one line.
    func logTail() -> String {
        let text = (try? String(contentsOfFile: "\(dir)/log", encoding: .utf8)) ?? ""
        return String(text.split(separator: "\n").suffix(3).joined(separator: " / ").prefix(300))
    }

    func kill() {
        child.signal(SIGKILL)
        _ = child.wait(timeout: 10)
    }
}
