import ArgumentParser
import BGPWire
import Foundation
import Glibc
import NetCore

/// `twill-bench bgp`: a feeder speaker sends N IPv4 /24s in K attribute sets over eBGP to the
/// daemon under test (twill-bgpd, BIRD 2, GoBGP, FRR bgpd), which re-advertises them over eBGP
/// to a monitor speaker. Times feeder's first UPDATE → monitor's last prefix, then the same for a
/// withdrawal of everything, and the daemon's peak RSS (VmHWM). Two network namespaces joined by a
/// veth: the daemon's (10.77.0.1) and the peers' (feeder 10.77.0.2, monitor 10.77.0.3); the
/// command re-runs itself inside the peers' namespace.
struct BGPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgp",
        abstract: "Feeder → daemon → monitor over eBGP: Twill vs BIRD 2, GoBGP, FRR (time and peak RSS).")

    @Option(help: "IPv4 /24 prefixes the feeder announces.") var prefixes = 1_000_000
    @Option(help: "Distinct attribute sets (MED varies).") var attrSets = 100_000
    @Option(help: "Seconds allowed per daemon for the sessions and the full load, and again for the withdraw-all phase.") var timeout = 300.0
    @Option(help: "Daemons to run, comma-separated (twill, bird, gobgp, frr).") var daemons = "twill,bird,gobgp,frr"
    @Option(help: "twill-bgpd binary (default: beside twill-bench).") var twillBgpd: String?
    @Flag(help: "Skip the withdraw-all phase.") var noWithdraw = false
    @Option(help: .hidden) var inNamespace: String?

    func validate() throws {
        guard prefixes > 0, prefixes <= 8_000_000 else { throw ValidationError("--prefixes must be 1...8000000") }
        guard attrSets > 0, attrSets <= prefixes else { throw ValidationError("--attr-sets must be 1...--prefixes") }
        guard timeout > 0 else { throw ValidationError("--timeout must be > 0") }
        for d in daemonList where !["twill", "bird", "gobgp", "frr"].contains(d) {
            throw ValidationError("--daemons: unknown daemon '\(d)' (twill, bird, gobgp, frr)")
        }
    }

    var daemonList: [String] { daemons.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func run() throws {
        if let dns = inNamespace { return try BGPBenchRun(options: self, daemonNS: dns).run() }
        let sfx = String(UInt32.random(in: 0...0xfffff), radix: 16)
        let dns = "twbd-\(sfx)", pns = "twbp-\(sfx)"
        defer {
            _ = try? sh(["ip", "netns", "del", dns])
            _ = try? sh(["ip", "netns", "del", pns])
        }
        try sh(["ip", "netns", "add", dns])
        try sh(["ip", "netns", "add", pns])
        let a = "vbd\(sfx)", b = "vbp\(sfx)"
        try sh(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
        try sh(["ip", "link", "set", a, "netns", dns])
        try sh(["ip", "link", "set", b, "netns", pns])
        try sh(["ip", "-n", dns, "addr", "add", "10.77.0.1/24", "dev", a])
        try sh(["ip", "-n", pns, "addr", "add", "10.77.0.2/24", "dev", b])
        try sh(["ip", "-n", pns, "addr", "add", "10.77.0.3/24", "dev", b])
        for (ns, dev) in [(dns, a), (pns, b)] {
            try sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            try sh(["ip", "-n", ns, "link", "set", dev, "up"])
        }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        var args = ["ip", "netns", "exec", pns, me, "bgp", "--prefixes", "\(prefixes)", "--attr-sets", "\(attrSets)",
                    "--timeout", "\(timeout)", "--daemons", daemons, "--in-namespace", dns]
        if let t = twillBgpd { args += ["--twill-bgpd", URL(fileURLWithPath: t).path] }
        else { args += ["--twill-bgpd", URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("twill-bgpd").path] }
        if noWithdraw { args.append("--no-withdraw") }
        let status = try sh(args, inherit: true)
        if status != 0 { throw ExitCode(status) }
    }
}

@discardableResult
func sh(_ args: [String], inherit: Bool = false, log: String? = nil) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    if !inherit { p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice }
    try p.run()
    p.waitUntilExit()
    if !inherit && p.terminationStatus != 0 { throw ValidationError("command failed (\(p.terminationStatus)): \(args.joined(separator: " "))") }
    return p.terminationStatus
}

func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct BenchError: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

// MARK: - A minimal blocking BGP connection

final class BGPConn: @unchecked Sendable {
    let fd: Int32
    private let writeLock = NSLock()
    private var buf = [UInt8](repeating: 0, count: 1 << 20)
    private var start = 0, end = 0
    private var stopped = false

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    static func connect(local: String, remote: String, port: UInt16) throws -> BGPConn {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
        var l = sockaddrIn(local, 0), r = sockaddrIn(remote, port)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafePointer(to: &l) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } } == 0
            && withUnsafePointer(to: &r) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, size) } } == 0
        if !ok { let e = errno; close(fd); throw BenchError("connect \(local) → \(remote):\(port): errno \(e)") }
        return BGPConn(fd: fd)
    }

    func send(_ bytes: [UInt8]) throws { try send(bytes, from: 0, to: bytes.count) }

    func send(_ bytes: [UInt8], from: Int, to: Int) throws {
        writeLock.lock(); defer { writeLock.unlock() }
        var off = from
        try bytes.withUnsafeBytes { p in
            while off < to {
                let n = write(fd, p.baseAddress! + off, to - off)
                if n < 0 { if errno == EINTR { continue }; throw BenchError("write: errno \(errno)") }
                off += n
            }
        }
    }

    /// Calls `handle(type, body)` for each message; stops when it returns false. Throws on EOF.
    func readMessages(_ handle: (UInt8, UnsafeBufferPointer<UInt8>) throws -> Bool) throws {
        while true {
            while end - start >= 19 {
                let (type, len): (UInt8, Int) = buf.withUnsafeBufferPointer { b in (b[start + 18], Int(b[start + 16]) << 8 | Int(b[start + 17])) }
                guard len >= 19 else { throw BenchError("bad message length \(len)") }
                if end - start < len { break }
                let s = start
                start += len
                let more = try buf.withUnsafeBufferPointer { b in try handle(type, UnsafeBufferPointer(rebasing: b[(s + 19)..<(s + len)])) }
                if !more { return }
            }
            if start > 0 {
                let rem = end - start
                buf.withUnsafeMutableBytes { p in _ = memmove(p.baseAddress!, p.baseAddress! + start, rem) }
                start = 0; end = rem
            }
            let n = buf.withUnsafeMutableBytes { p in read(fd, p.baseAddress! + end, p.count - end) }
            if n < 0 { if errno == EINTR { continue }; throw BenchError("read: errno \(errno)") }
            if n == 0 { throw BenchError("connection closed by the peer") }
            end += n
        }
    }

    /// OPEN, then KEEPALIVE both ways.
    func handshake(asn: UInt32, id: IPv4Address) throws {
        let open = OpenMessage(asn: ASNumber(asn), holdTime: 90, bgpIdentifier: id,
                               capabilities: [.multiprotocol(.ipv4Unicast), .routeRefresh, .fourOctetAS(asn)])
        try send(open.encoded())
        var gotOpen = false
        try readMessages { type, body in
            switch type {
            case 1: gotOpen = true; try send(BGPMessage.keepaliveBytes); return true
            case 4: return !gotOpen
            case 3: throw BenchError("NOTIFICATION \(body.first ?? 0)/\(body.count > 1 ? body[1] : 0)")
            default: return true
            }
        }
    }

    /// KEEPALIVE every 10 s until `stop()`.
    func startKeepalives() {
        Thread.detachNewThread { [self] in
            while true {
                for _ in 0..<100 { if isStopped { return }; usleep(100_000) }
                try? send(BGPMessage.keepaliveBytes)
            }
        }
    }
    var isStopped: Bool { writeLock.lock(); defer { writeLock.unlock() }; return stopped }
    func stop() { writeLock.lock(); stopped = true; writeLock.unlock(); shutdown(fd, Int32(SHUT_RDWR)) }
}

func sockaddrIn(_ addr: String, _ port: UInt16) -> sockaddr_in {
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    _ = inet_pton(AF_INET, addr, &a.sin_addr)
    return a
}

// MARK: - Feeder and monitor

/// Pre-encoded UPDATEs with chunk boundaries on message ends (~64 KiB each).
struct UpdateStream {
    var bytes: [UInt8] = []
    var chunkEnds: [Int] = []
    var messages = 0

    mutating func append(_ msgs: [[UInt8]]) {
        for m in msgs {
            bytes += m; messages += 1
            if bytes.count - (chunkEnds.last ?? 0) >= 65536 { chunkEnds.append(bytes.count) }
        }
    }
    mutating func finish() { if chunkEnds.last != bytes.count { chunkEnds.append(bytes.count) } }

    func write(to c: BGPConn) throws {
        var from = 0
        for e in chunkEnds { try c.send(bytes, from: from, to: e); from = e }
    }
}

let benchPrefixBase: UInt32 = 0x1400_0000  // 20.0.0.0, /24s upward

func prefix(_ i: Int) -> NLRI { NLRI(IPPrefix(.v4(IPv4Address(benchPrefixBase + UInt32(i) << 8)), length: 24)) }

func feederStreams(prefixes n: Int, attrSets k: Int) throws -> (announce: UpdateStream, withdraw: UpdateStream) {
    let ctx = EncodeContext(fourOctetAS: true)
    var ann = UpdateStream(), wd = UpdateStream()
    var lo = 0
    for s in 0..<k {
        let hi = (s + 1) * n / k
        let nlri = (lo..<hi).map(prefix)
        let attrs = PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001]), nextHop: IPv4Address(10, 77, 0, 2),
                                   med: UInt32(s))
        ann.append(try UpdatePacker.announcements(nlri, family: .ipv4Unicast, attributes: attrs, context: ctx))
        lo = hi
    }
    wd.append(try UpdatePacker.withdrawals((0..<n).map(prefix), family: .ipv4Unicast, context: ctx))
    ann.finish(); wd.finish()
    return (ann, wd)
}

/// Counts distinct expected prefixes announced and withdrawn in the UPDATEs it reads.
final class Monitor: @unchecked Sendable {
    let n: Int
    private let lock = NSLock()
    private var announced: [UInt64], withdrawn: [UInt64]
    private var nAnn = 0, nWd = 0
    private(set) var firstPrefixAt: Double?, allAnnouncedAt: Double?, allWithdrawnAt: Double?
    private(set) var error: String?

    init(n: Int) {
        self.n = n
        announced = [UInt64](repeating: 0, count: n / 64 + 1)
        withdrawn = announced
    }

    var snapshot: (ann: Int, wd: Int, first: Double?, allAnn: Double?, allWd: Double?, error: String?) {
        lock.lock(); defer { lock.unlock() }
        return (nAnn, nWd, firstPrefixAt, allAnnouncedAt, allWithdrawnAt, error)
    }

    private func count(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, into bits: inout [UInt64]) -> Int {
        var i = from, added = 0
        while i < to {
            let len = Int(b[i]), nb = (len + 7) / 8
            if len == 24 && i + 3 < to {
                let a = UInt32(b[i + 1]) << 24 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 8
                if a >= benchPrefixBase {
                    let idx = Int((a - benchPrefixBase) >> 8)
                    if idx < n {
                        let m: UInt64 = 1 << UInt64(idx & 63)
                        if bits[idx >> 6] & m == 0 { bits[idx >> 6] |= m; added += 1 }
                    }
                }
            }
            i += 1 + nb
        }
        return added
    }

    func run(_ c: BGPConn) {
        do {
            try c.readMessages { type, b in
                guard type == 2 else {
                    if type == 3 { throw BenchError("NOTIFICATION \(b.first ?? 0)/\(b.count > 1 ? b[1] : 0)") }
                    return true
                }
                let wlen = Int(b[0]) << 8 | Int(b[1])
                let alen = Int(b[2 + wlen]) << 8 | Int(b[3 + wlen])
                let w = count(b, 2, 2 + wlen, into: &withdrawn)
                let a = count(b, 4 + wlen + alen, b.count, into: &announced)
                if a > 0 || w > 0 {
                    let now = monotonic()
                    lock.lock()
                    nAnn += a; nWd += w
                    if firstPrefixAt == nil && a > 0 { firstPrefixAt = now }
                    if nAnn == n && allAnnouncedAt == nil { allAnnouncedAt = now }
                    if nWd == n && allWithdrawnAt == nil { allWithdrawnAt = now }
                    lock.unlock()
                }
                return true
            }
        } catch {
            lock.lock(); self.error = "\(error)"; lock.unlock()
        }
    }
}

/// Reads and drops what the daemon sends the feeder.
func drain(_ c: BGPConn) { Thread.detachNewThread { _ = try? c.readMessages { _, _ in true } } }
