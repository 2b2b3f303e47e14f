import ArgumentParser
import BGPWire
import Foundation
import Glibc
import NetCore

/// One row of the table.
struct BGPBenchRow {
    var name: String
    var loadSeconds: Double?
    var withdrawSeconds: Double?
    var feederWriteSeconds: Double?
    var firstPrefixSeconds: Double?
    var peakRSSKiB: Int?
    var cpuSeconds: Double?
    var failure: String?
}

/// Runs inside the peers' namespace: the baseline and each daemon in turn.
struct BGPBenchRun {
    let options: BGPBench
    let daemonNS: String
    static let daemonAddr = "10.77.0.1", feederAddr = "10.77.0.2", monitorAddr = "10.77.0.3"

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let n = options.prefixes
        let t0 = monotonic()
        let streams = try feederStreams(prefixes: n, attrSets: options.attrSets)
        print("twill-bench bgp: \(n) prefixes in \(options.attrSets) attribute sets; \(streams.announce.messages) UPDATEs, "
              + "\(streams.announce.bytes.count / 1024) KiB (+ \(streams.withdraw.messages) withdrawal UPDATEs), encoded in "
              + String(format: "%.2f s", monotonic() - t0))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("twill-bench-bgp-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let load = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3)
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) CPUs, "
              + "\(ProcessInfo.processInfo.physicalMemory >> 20) MiB, load average \(load.joined(separator: " ")) at start")
        var rows: [BGPBenchRow] = []
        rows.append(baseline(streams))
        print(line(rows.last!, bird: nil)); fflush(nil)
        for d in options.daemonList {
            var row: BGPBenchRow
            do { row = try runDaemon(d, streams: streams, dir: dir) }
            catch { row = BGPBenchRow(name: d, failure: "\(error)") }
            rows.append(row)
            print(line(row, bird: nil)); fflush(nil)
        }
        let endLoad = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3)
        print("load average \(endLoad.joined(separator: " ")) at the end")
        let bird = rows.first { $0.name == "bird" && $0.failure == nil }
        print("\n| daemon | load time (s) | prefixes/s | peak RSS (MiB) | time ÷ BIRD | RSS ÷ BIRD | withdraw all (s) | feeder done writing (s) | first prefix out (s) | daemon CPU (s) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows { print(line(r, bird: bird)) }
    }

    func line(_ r: BGPBenchRow, bird: BGPBenchRow?) -> String {
        func f(_ v: Double?, _ p: Int = 3) -> String { v.map { String(format: "%.\(p)f", $0) } ?? "–" }
        let rss = r.peakRSSKiB.map { Double($0) / 1024 }
        let rate = r.loadSeconds.map { Double(options.prefixes) / $0 }
        let tr = r.loadSeconds.flatMap { t in bird?.loadSeconds.map { t / $0 } }
        let rr = rss.flatMap { m in bird?.peakRSSKiB.map { m / (Double($0) / 1024) } }
        let fail = r.failure.map { " FAILED: \($0)" } ?? ""
        return "| \(r.name)\(fail) | \(f(r.loadSeconds)) | \(rate.map { String(Int($0)) } ?? "–") | \(f(rss, 1)) | \(f(tr)) | \(f(rr)) | "
            + "\(f(r.withdrawSeconds)) | \(f(r.feederWriteSeconds)) | \(f(r.firstPrefixSeconds)) | \(f(r.cpuSeconds)) |"
    }

    /// Feeder straight into the monitor (a listener on the monitor's address).
    func baseline(_ s: (announce: UpdateStream, withdraw: UpdateStream)) -> BGPBenchRow {
        var row = BGPBenchRow(name: "feeder → monitor (no daemon)")
        do {
            let lfd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(4))
            var a = sockaddrIn(Self.monitorAddr, 1790)
            _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(lfd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            listen(lfd, 4)
            defer { close(lfd) }
            let feeder = try BGPConn.connect(local: Self.feederAddr, remote: Self.monitorAddr, port: 1790)
            let mfd = accept(lfd, nil, nil)
            guard mfd >= 0 else { throw BenchError("accept: errno \(errno)") }
            let mon = BGPConn(fd: mfd)
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread { try? mon.handshake(asn: 65003, id: IPv4Address(10, 77, 0, 3)); done.signal() }
            try feeder.handshake(asn: 65001, id: IPv4Address(10, 77, 0, 2))
            done.wait()
            try measure(feeder: feeder, monitor: mon, streams: s, deadline: monotonic() + options.timeout, row: &row)
            feeder.stop(); mon.stop()
        } catch { row.failure = "\(error)" }
        return row
    }

    func measure(feeder: BGPConn, monitor mon: BGPConn, streams s: (announce: UpdateStream, withdraw: UpdateStream),
                 deadline: Double, row: inout BGPBenchRow) throws {
        let m = Monitor(n: options.prefixes)
        Thread.detachNewThread { m.run(mon) }
        usleep(500_000)  // the daemon sees both sessions Established
        let start = monotonic()
        let wrote = WriteTimes()
        Thread.detachNewThread {
            do { try s.announce.write(to: feeder); wrote.set(announce: monotonic()) } catch { wrote.fail("\(error)") }
        }
        func wait(until limit: Double, _ done: () -> Double?) throws -> Double {
            while true {
                let snap = m.snapshot
                if let t = done() { return t }
                if let e = snap.error { throw BenchError("monitor: \(e) after \(snap.ann) announced, \(snap.wd) withdrawn") }
                if let e = wrote.failure { throw BenchError("feeder: \(e)") }
                if monotonic() > limit {
                    throw BenchError("timed out: monitor had \(snap.ann) of \(options.prefixes) announced, \(snap.wd) withdrawn")
                }
                usleep(2_000)
            }
        }
        let allAnn = try wait(until: deadline) { m.snapshot.allAnn }
        row.loadSeconds = allAnn - start
        row.firstPrefixSeconds = m.snapshot.first.map { $0 - start }
        row.feederWriteSeconds = wrote.announce.map { $0 - start }
        guard !options.noWithdraw else { return }
        usleep(500_000)
        let wstart = monotonic()
        Thread.detachNewThread { do { try s.withdraw.write(to: feeder) } catch { wrote.fail("\(error)") } }
        let wdeadline = monotonic() + options.timeout
        let allWd: Double
        do { allWd = try wait(until: wdeadline) { m.snapshot.allWd } }
        catch { throw BenchError("withdraw phase: \(error)") }
        row.withdrawSeconds = allWd - wstart
    }

    final class WriteTimes: @unchecked Sendable {
        private let lock = NSLock()
        private var a: Double?, f: String?
        func set(announce t: Double) { lock.lock(); a = t; lock.unlock() }
        func fail(_ e: String) { lock.lock(); f = e; lock.unlock() }
        var announce: Double? { lock.lock(); defer { lock.unlock() }; return a }
        var failure: String? { lock.lock(); defer { lock.unlock() }; return f }
    }

    // MARK: daemons

    func runDaemon(_ name: String, streams: (announce: UpdateStream, withdraw: UpdateStream), dir: String) throws -> BGPBenchRow {
        var row = BGPBenchRow(name: name)
        let d = "\(dir)/\(name)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let cmd = try daemonCommand(name, dir: d)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", daemonNS] + cmd
        FileManager.default.createFile(atPath: "\(d)/log", contents: nil)
        let log = FileHandle(forWritingAtPath: "\(d)/log")
        p.standardOutput = log; p.standardError = log
        try p.run()
        let pid = p.processIdentifier
        defer {
            if p.isRunning { kill(pid, SIGKILL) }
            p.waitUntilExit()
        }
        let deadline = monotonic() + options.timeout
        func establish(_ local: String, _ asn: UInt32, _ id: IPv4Address) throws -> BGPConn {
            var last = ""
            while monotonic() < min(deadline, monotonic() + 60) {
                guard p.isRunning else { throw BenchError("\(name) exited (\(p.terminationStatus)); see its log") }
                do {
                    let c = try BGPConn.connect(local: local, remote: Self.daemonAddr, port: 179)
                    try c.handshake(asn: asn, id: id)
                    return c
                } catch { last = "\(error)"; usleep(200_000) }
            }
            throw BenchError("no session from \(local): \(last)")
        }
        let mon = try establish(Self.monitorAddr, 65003, IPv4Address(10, 77, 0, 3))
        mon.startKeepalives()
        let feeder = try establish(Self.feederAddr, 65001, IPv4Address(10, 77, 0, 2))
        feeder.startKeepalives()
        drain(feeder)
        defer { feeder.stop(); mon.stop() }
        do { try measure(feeder: feeder, monitor: mon, streams: streams, deadline: deadline, row: &row) }
        catch { row.failure = "\(error)" }
        let (rss, cpu) = procStats(pid)
        row.peakRSSKiB = rss; row.cpuSeconds = cpu
        if let f = row.failure {
            let tail = (try? String(contentsOfFile: "\(d)/log", encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: " / ") ?? ""
            row.failure = f + (tail.isEmpty ? "" : " (log: \(tail.prefix(300)))")
        }
        return row
    }

    /// VmHWM (KiB) and utime+stime (s) of `pid`.
    func procStats(_ pid: pid_t) -> (Int?, Double?) {
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

    func daemonCommand(_ name: String, dir d: String) throws -> [String] {
        let me = Self.daemonAddr, fa = Self.feederAddr, ma = Self.monitorAddr
        switch name {
        case "twill":
            let bin = options.twillBgpd ?? "twill-bgpd"
            guard FileManager.default.isExecutableFile(atPath: bin) else { throw BenchError("\(bin) is missing: build twill-bgpd") }
            try """
            routerID: \(me)
            asNumber: 65000
            listen:
              address: \(me)
              port: 179
            peers:
              - name: feeder
                address: "\(fa)"
                asNumber: 65001
                passive: true
                import: all
                export: none
              - name: monitor
                address: "\(ma)"
                asNumber: 65003
                passive: true
                import: none
                export: all

            """.write(toFile: "\(d)/twill.yaml", atomically: true, encoding: .utf8)
            return [bin, "-c", "\(d)/twill.yaml"]
        case "bird":
            try """
            router id \(me);
            protocol device { }
            protocol bgp feeder { local \(me) as 65000; neighbor \(fa) as 65001; passive on; ipv4 { import all; export none; }; }
            protocol bgp monitor { local \(me) as 65000; neighbor \(ma) as 65003; passive on; ipv4 { import none; export all; }; }

            """.write(toFile: "\(d)/bird.conf", atomically: true, encoding: .utf8)
            return ["bird", "-f", "-c", "\(d)/bird.conf", "-s", "\(d)/bird.ctl", "-P", "\(d)/bird.pid"]
        case "gobgp":
            var conf = "[global.config]\n  as = 65000\n  router-id = \"\(me)\"\n  local-address-list = [\"\(me)\"]\n"
            for (addr, asn) in [(fa, 65001), (ma, 65003)] {
                conf += """
                [[neighbors]]
                  [neighbors.config]
                    neighbor-address = "\(addr)"
                    peer-as = \(asn)
                  [neighbors.transport.config]
                    passive-mode = true
                  [[neighbors.afi-safis]]
                    [neighbors.afi-safis.config]
                      afi-safi-name = "ipv4-unicast"

                """
            }
            try conf.write(toFile: "\(d)/gobgpd.toml", atomically: true, encoding: .utf8)
            return ["gobgpd", "-f", "\(d)/gobgpd.toml", "-t", "toml", "--api-hosts", "127.0.0.1:50051", "--pprof-disable", "-p"]
        case "frr":
            try """
            frr defaults traditional
            hostname frr-bench
            router bgp 65000
             bgp router-id \(me)
             no bgp ebgp-requires-policy
             no bgp network import-check
             neighbor \(fa) remote-as 65001
             neighbor \(fa) passive
             neighbor \(ma) remote-as 65003
             neighbor \(ma) passive
             neighbor \(ma) advertisement-interval 0

            """.write(toFile: "\(d)/bgpd.conf", atomically: true, encoding: .utf8)
            return ["/usr/lib/frr/bgpd", "-S", "-Z", "-f", "\(d)/bgpd.conf", "--vty_socket", d, "-i", "\(d)/bgpd.pid", "-P", "0"]
        default:
            throw BenchError("unknown daemon \(name)")
        }
    }
}
