import ArgumentParser
import BGPWire
import Foundation
import Glibc
import NetCore
import Posix
import Synchronization

/// `twill-bench bgp`: the daemon under test (twill-bgpd, BIRD 2, GoBGP, FRR bgpd) between speakers
/// simulated by the bench. Scenarios (`--scenario`):
/// - `full`: a feeder sends N IPv4 /24s in K attribute sets over eBGP, the daemon re-advertises them
///   over eBGP to a monitor; feeder's first UPDATE → monitor's last prefix, then the same for a
///   withdrawal of everything.
/// - `feeders`: F eBGP feeders × M distinct /24s each → one monitor.
/// - `mesh`: one iBGP daemon, route reflector for P clients each announcing one /26; first
///   announcement → every client has every other client's route.
/// Each row has the daemon's peak RSS (VmHWM). Two network namespaces joined by a veth: the
/// daemon's (10.77.0.1/16) and the peers' (feeder 10.77.0.2, monitor 10.77.0.3, feeders
/// 10.77.2.x, mesh clients 10.77.1.x); the command re-runs itself inside the peers' namespace.
struct BGPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgp",
        abstract: "Twill vs BIRD 2, GoBGP, FRR (time and peak RSS): one feeder → daemon → monitor, many feeders, iBGP route-reflector mesh.")

    @Option(help: "full (one feeder → daemon → monitor, then withdraw all), feeders (many feeders → daemon → monitor), mesh (iBGP route reflector with many clients), or all.")
    var scenario = "full"
    @Option(help: "full: IPv4 /24 prefixes the feeder announces.") var prefixes = 1_000_000
    @Option(help: "full: distinct attribute sets (MED varies).") var attrSets = 100_000
    @Option(help: "feeders: feeder peers (eBGP, AS 65101 upward, 10.77.2.1 upward).") var feeders = 100
    @Option(help: "feeders: distinct /24s each feeder announces.") var feederPrefixes = 10_000
    @Option(help: "feeders: attribute sets per feeder (MED varies; AS_PATH differs per feeder).") var feederAttrSets = 1_000
    @Option(help: "mesh: iBGP route-reflector clients (10.77.1.1 upward), each announcing one /26.") var meshPeers = 250
    @Option(help: "Seconds allowed per daemon and scenario for the sessions and the load (and again for full's withdraw-all).")
    var timeout = 300.0
    @Option(help: "Daemons to run, comma-separated (twill, bird, gobgp, frr).") var daemons = "twill,bird,gobgp,frr"
    @Option(help: "twill-bgpd binary (default: beside twill-bench).") var twillBgpd: String?
    @Flag(help: "full: skip the withdraw-all phase.") var noWithdraw = false
    @Option(help: .hidden) var inNamespace: String?

    static let scenarioNames = ["full", "feeders", "mesh"]

    func validate() throws {
        guard scenario == "all" || Self.scenarioNames.contains(scenario) else {
            throw ValidationError("--scenario must be full, feeders, mesh or all, got '\(scenario)'")
        }
        guard prefixes > 0, prefixes <= 8_000_000 else { throw ValidationError("--prefixes must be 1...8000000") }
        guard attrSets > 0, attrSets <= prefixes else { throw ValidationError("--attr-sets must be 1...--prefixes") }
        guard (1...250).contains(feeders) else { throw ValidationError("--feeders must be 1...250 (one address each in 10.77.2.0/24)") }
        guard feederPrefixes > 0, feeders * feederPrefixes <= 8_000_000 else {
            throw ValidationError("--feeder-prefixes must be ≥ 1 and --feeders × --feeder-prefixes ≤ 8000000")
        }
        guard feederAttrSets > 0, feederAttrSets <= feederPrefixes else { throw ValidationError("--feeder-attr-sets must be 1...--feeder-prefixes") }
        guard (2...250).contains(meshPeers) else { throw ValidationError("--mesh-peers must be 2...250 (one address each in 10.77.1.0/24)") }
        guard timeout > 0 else { throw ValidationError("--timeout must be > 0") }
        for d in daemonList where !["twill", "bird", "gobgp", "frr"].contains(d) {
            throw ValidationError("--daemons: unknown daemon '\(d)' (twill, bird, gobgp, frr)")
        }
    }

    var daemonList: [String] { daemons.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    var scenarioList: [String] { scenario == "all" ? Self.scenarioNames : [scenario] }

    func run() throws {
        installInterruptHandler()
        if let dns = inNamespace { return try BGPBenchRun(options: self, daemonNS: dns).run() }
        let sfx = String(UInt32.random(in: 0...0xfffff), radix: 16)
        let dns = "twbd-\(sfx)", pns = "twbp-\(sfx)"
        defer { removeNamespaces([dns, pns]) }
        try sh(["ip", "netns", "add", dns])
        try sh(["ip", "netns", "add", pns])
        let a = "vbd\(sfx)", b = "vbp\(sfx)"
        try sh(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
        try sh(["ip", "link", "set", a, "netns", dns])
        try sh(["ip", "link", "set", b, "netns", pns])
        try sh(["ip", "-n", dns, "addr", "add", "\(BenchAddr.daemon)/16", "dev", a])
        var peerAddrs = [BenchAddr.feeder, BenchAddr.monitor]
        if scenarioList.contains("feeders") { peerAddrs += (0..<feeders).map(BenchAddr.feeder) }
        if scenarioList.contains("mesh") { peerAddrs += (0..<meshPeers).map(BenchAddr.meshPeer) }
        let batch = peerAddrs.map { "addr add \($0)/16 dev \(b)\n" }.joined()
        try sh(["ip", "-n", pns, "-batch", "-"], input: Array(batch.utf8))
        for (ns, dev) in [(dns, a), (pns, b)] {
            try sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            try sh(["ip", "-n", ns, "link", "set", dev, "up"])
        }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        var args = ["ip", "netns", "exec", pns, me, "bgp", "--scenario", scenario,
                    "--prefixes", "\(prefixes)", "--attr-sets", "\(attrSets)",
                    "--feeders", "\(feeders)", "--feeder-prefixes", "\(feederPrefixes)", "--feeder-attr-sets", "\(feederAttrSets)",
                    "--mesh-peers", "\(meshPeers)",
                    "--timeout", "\(timeout)", "--daemons", daemons, "--in-namespace", dns]
        if let t = twillBgpd { args += ["--twill-bgpd", URL(fileURLWithPath: t).path] }
        else { args += ["--twill-bgpd", URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("twill-bgpd").path] }
        if noWithdraw { args.append("--no-withdraw") }
        // The inner run gets Ctrl-C itself (same process group); we forward SIGTERM. Either way we
        // wait for it, then the defer removes whatever is left.
        let inner = try ChildProcess(args, stdout: .inherit, stderr: .inherit)
        var forwarded = false
        var status: Int32?
        while status == nil {
            status = inner.wait(timeout: 0.2)
            if benchInterrupted.load(ordering: .relaxed) && !forwarded { inner.signal(SIGINT); forwarded = true }
        }
        if benchInterrupted.load(ordering: .relaxed) { throw ExitCode(130) }
        if status != 0 { throw ExitCode(status ?? 1) }
    }

    /// Kills what is still running in our namespaces (processes this bench started: the inner run,
    /// daemons), then deletes them (which removes the veth).
    func removeNamespaces(_ names: [String]) {
        for ns in names {
            let pids = (try? ChildProcess.run(["ip", "netns", "pids", ns], timeout: 10))?.stdoutText
                .split(separator: "\n").compactMap { pid_t($0.trimmingCharacters(in: .whitespaces)) } ?? []
            for pid in pids where pid != getpid() { kill(pid, SIGKILL) }
            if !pids.isEmpty { usleep(200_000) }
            _ = try? sh(["ip", "netns", "del", ns])
        }
    }
}

/// Addresses: the daemon's namespace has 10.77.0.1/16, the peers' namespace the rest.
enum BenchAddr {
    static let daemon = "10.77.0.1", feeder = "10.77.0.2", monitor = "10.77.0.3"
    /// The feeders scenario's feeder `i` (0-based): 10.77.2.(i+1).
    static func feeder(_ i: Int) -> String { "10.77.2.\(i + 1)" }
    /// The mesh scenario's iBGP client `i` (0-based): 10.77.1.(i+1).
    static func meshPeer(_ i: Int) -> String { "10.77.1.\(i + 1)" }
    static func v4(_ s: String) -> IPv4Address { IPv4Address(s)! }
}

/// Set by SIGINT/SIGTERM; every wait loop checks it, so the bench stops, kills its daemon and
/// removes its namespaces.
let benchInterrupted = Atomic<Bool>(false)

func installInterruptHandler() {
    signal(SIGPIPE, SIG_IGN)
    for s in [SIGINT, SIGTERM] { signal(s) { _ in benchInterrupted.store(true, ordering: .relaxed) } }
}

/// Runs a command to completion (no shell); throws on a non-zero exit.
func sh(_ args: [String], input: [UInt8]? = nil) throws {
    let out = try ChildProcess.run(args, input: input, timeout: 30)
    if out.status != 0 || out.timedOut {
        throw BenchError("command failed (\(out.timedOut ? "timed out" : "\(out.status)")): \(args.joined(separator: " ")): "
                         + out.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// user + system CPU seconds of this process (all threads): the simulated peers' own cost.
func selfCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

struct BenchError: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

/// Polls `done` every 2 ms until it returns a time; throws on `failure` (checked every 0.1 s),
/// at `limit` (with `progress` in the message) or on Ctrl-C.
func waitFor(until limit: Double, progress: () -> String, failure: () -> String? = { nil }, _ done: () -> Double?) throws -> Double {
    var polls = 0
    while true {
        if let t = done() { return t }
        polls += 1
        if polls % 50 == 0, let f = failure() { throw BenchError(f) }
        if benchInterrupted.load(ordering: .relaxed) { throw BenchError("interrupted: \(progress())") }
        if monotonic() > limit { throw BenchError("timed out: \(progress())") }
        usleep(2_000)
    }
}

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

    typealias Handler = (UInt8, UnsafeBufferPointer<UInt8>) throws -> Bool

    /// Calls `handle(type, body)` for each message; stops when it returns false. Throws on EOF.
    func readMessages(_ handle: Handler) throws {
        while try processBuffered(handle) { try fill() }
    }

    /// One read (for a socket epoll found readable), then every complete message. Throws on EOF.
    func pump(_ handle: Handler) throws {
        try fill()
        _ = try processBuffered(handle)
    }

    /// Hands every complete buffered message to `handle`; false once `handle` returned false.
    private func processBuffered(_ handle: Handler) throws -> Bool {
        while end - start >= 19 {
            let (type, len): (UInt8, Int) = buf.withUnsafeBufferPointer { b in (b[start + 18], Int(b[start + 16]) << 8 | Int(b[start + 17])) }
            guard len >= 19 else { throw BenchError("bad message length \(len)") }
            if end - start < len { break }
            let s = start
            start += len
            let more = try buf.withUnsafeBufferPointer { b in try handle(type, UnsafeBufferPointer(rebasing: b[(s + 19)..<(s + len)])) }
            if !more { return false }
        }
        return true
    }

    /// One read() after the buffered bytes.
    private func fill() throws {
        if start > 0 {
            let rem = end - start
            buf.withUnsafeMutableBytes { p in _ = memmove(p.baseAddress!, p.baseAddress! + start, rem) }
            start = 0; end = rem
        }
        while true {
            let n = buf.withUnsafeMutableBytes { p in read(fd, p.baseAddress! + end, p.count - end) }
            if n < 0 {
                if errno == EINTR { continue }
                throw BenchError(errno == EAGAIN ? "no answer from the peer" : "read: errno \(errno)")
            }
            if n == 0 { throw BenchError("connection closed by the peer") }
            end += n
            return
        }
    }

    /// OPEN, then KEEPALIVE both ways; gives up after `timeout` seconds of silence.
    func handshake(asn: UInt32, id: IPv4Address, timeout: Int = 15) throws {
        setReceiveTimeout(timeout)
        defer { setReceiveTimeout(0) }
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

    private func setReceiveTimeout(_ seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    var isStopped: Bool { writeLock.lock(); defer { writeLock.unlock() }; return stopped }
    func stop() { writeLock.lock(); stopped = true; writeLock.unlock(); shutdown(fd, Int32(SHUT_RDWR)) }
}

/// One thread sending a KEEPALIVE every 10 s on each connection until all are stopped.
func startKeepalives(_ conns: [BGPConn]) {
    Thread.detachNewThread {
        while true {
            for _ in 0..<100 {
                if conns.allSatisfy(\.isStopped) { return }
                usleep(100_000)
            }
            for c in conns where !c.isStopped { try? c.send(BGPMessage.keepaliveBytes) }
        }
    }
}

func sockaddrIn(_ addr: String, _ port: UInt16) -> sockaddr_in {
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    _ = inet_pton(AF_INET, addr, &a.sin_addr)
    return a
}

/// A listening socket on `addr:port` (for the no-daemon baselines).
final class Listener {
    let fd: Int32
    init(_ addr: String, _ port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(4))
        var a = sockaddrIn(addr, port)
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        guard ok, listen(fd, 512) == 0 else { let e = errno; close(fd); throw BenchError("listen \(addr):\(port): errno \(e)") }
    }
    deinit { close(fd) }
    func accept() throws -> BGPConn {
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { throw BenchError("accept: errno \(errno)") }
        return BGPConn(fd: c)
    }
}

// MARK: - Feeder and monitor

/// Pre-encoded UPDATEs with chunk boundaries on message ends (~64 KiB each).
struct UpdateStream: Sendable {
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
let meshPrefixBase: UInt32 = 0x1E00_0000   // 30.0.0.0, one /26 per mesh client

func prefix(_ i: Int) -> NLRI { NLRI(IPPrefix(.v4(IPv4Address(benchPrefixBase + UInt32(i) << 8)), length: 24)) }

/// Announcements of /24s `range` in `attrSets` sets (MED = set number) from `asn`/`nextHop`, and
/// their withdrawal.
func feederStreams(_ range: Range<Int>, attrSets k: Int, asn: UInt32 = 65001, nextHop: String = BenchAddr.feeder,
                   withdrawals: Bool = true) throws -> (announce: UpdateStream, withdraw: UpdateStream) {
    let ctx = EncodeContext(fourOctetAS: true)
    var ann = UpdateStream(), wd = UpdateStream()
    let n = range.count
    var lo = 0
    for s in 0..<k {
        let hi = (s + 1) * n / k
        let nlri = (range.lowerBound + lo..<range.lowerBound + hi).map(prefix)
        let attrs = PathAttributes(origin: .igp, asPath: ASPath(sequence: [asn]), nextHop: BenchAddr.v4(nextHop), med: UInt32(s))
        ann.append(try UpdatePacker.announcements(nlri, family: .ipv4Unicast, attributes: attrs, context: ctx))
        lo = hi
    }
    if withdrawals { wd.append(try UpdatePacker.withdrawals(range.map(prefix), family: .ipv4Unicast, context: ctx)) }
    ann.finish(); wd.finish()
    return (ann, wd)
}

/// Counts distinct expected prefixes (`n` prefixes of `length` bits upward from `base`, except
/// index `exclude`) announced and withdrawn in the UPDATEs it reads; safe to feed from several
/// connections at once. Keeps the first UPDATE that announced an expected prefix.
final class Monitor: @unchecked Sendable {
    let n: Int, base: UInt32, length: Int, exclude: Int?
    let expected: Int
    private let lock = NSLock()
    private var announced: [UInt64], withdrawn: [UInt64]
    private var nAnn = 0, nWd = 0
    private var firstPrefixAt: Double?, allAnnouncedAt: Double?, allWithdrawnAt: Double?
    private var error: String?
    private var firstUpdate: [UInt8]?

    init(n: Int, base: UInt32 = benchPrefixBase, length: Int = 24, exclude: Int? = nil) {
        self.n = n; self.base = base; self.length = length; self.exclude = exclude
        expected = n - (exclude == nil ? 0 : 1)
        announced = [UInt64](repeating: 0, count: n / 64 + 1)
        withdrawn = announced
    }

    var snapshot: (ann: Int, wd: Int, first: Double?, allAnn: Double?, allWd: Double?, error: String?) {
        lock.lock(); defer { lock.unlock() }
        return (nAnn, nWd, firstPrefixAt, allAnnouncedAt, allWithdrawnAt, error)
    }

    /// The body of the first UPDATE that announced an expected prefix.
    var firstAnnouncement: [UInt8]? { lock.lock(); defer { lock.unlock() }; return firstUpdate }

    private func count(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, into bits: inout [UInt64]) -> Int {
        var i = from, added = 0
        let shift = UInt32(32 - length)
        while i < to {
            let len = Int(b[i]), nb = (len + 7) / 8
            if len == length && i + nb < to {
                var a: UInt32 = 0
                for k in 0..<nb { a |= UInt32(b[i + 1 + k]) << UInt32(24 - 8 * k) }
                if a >= base {
                    let idx = Int((a - base) >> shift)
                    if idx < n && idx != exclude {
                        let m: UInt64 = 1 << UInt64(idx & 63)
                        if bits[idx >> 6] & m == 0 { bits[idx >> 6] |= m; added += 1 }
                    }
                }
            }
            i += 1 + nb
        }
        return added
    }

    /// Counts one message's prefixes (UPDATE); throws on a NOTIFICATION.
    func consume(_ type: UInt8, _ b: UnsafeBufferPointer<UInt8>) throws -> Bool {
        guard type == 2 else {
            if type == 3 { throw BenchError("NOTIFICATION \(b.first ?? 0)/\(b.count > 1 ? b[1] : 0)") }
            return true
        }
        let wlen = Int(b[0]) << 8 | Int(b[1])
        let alen = Int(b[2 + wlen]) << 8 | Int(b[3 + wlen])
        lock.lock(); defer { lock.unlock() }
        let w = count(b, 2, 2 + wlen, into: &withdrawn)
        let a = count(b, 4 + wlen + alen, b.count, into: &announced)
        if a > 0 || w > 0 {
            let now = monotonic()
            nAnn += a; nWd += w
            if firstPrefixAt == nil && a > 0 { firstPrefixAt = now; firstUpdate = Array(b) }
            if nAnn == expected && allAnnouncedAt == nil { allAnnouncedAt = now }
            if nWd == expected && allWithdrawnAt == nil { allWithdrawnAt = now }
        }
        return true
    }

    func fail(_ e: Error) { lock.lock(); if error == nil { error = "\(e)" }; lock.unlock() }

    func run(_ c: BGPConn) {
        do { try c.readMessages(consume) } catch { fail(error) }
    }

    func start(_ c: BGPConn) { Thread.detachNewThread { self.run(c) } }
}

/// One thread reading many connections, each into its own monitor, through poll(2): far fewer
/// wake-ups than a thread per connection when hundreds of sessions get small UPDATEs. A poll
/// costs O(connections), so after each busy pass it waits 2 ms for more to arrive (bounding
/// the polls to ~500/s; a measured time can be up to 2 ms late). Ends when every connection
/// has ended (`BGPConn.stop()` shuts them down).
func startReader(_ pairs: [(BGPConn, Monitor)]) {
    Thread.detachNewThread {
        var fds = pairs.map { pollfd(fd: $0.0.fd, events: Int16(POLLIN), revents: 0) }
        var live = pairs.count
        while live > 0 {
            let n = poll(&fds, nfds_t(fds.count), 100)
            guard n > 0 else { continue }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let (c, m) = pairs[i]
                do { try c.pump(m.consume) } catch {
                    m.fail(error)
                    fds[i].fd = -1  // poll ignores negative descriptors
                    live -= 1
                }
            }
            if pairs.count > 1 { usleep(2_000) }
        }
    }
}

/// Reads and drops what the daemon sends a feeder.
func drain(_ c: BGPConn) { Thread.detachNewThread { _ = try? c.readMessages { _, _ in true } } }
