import ArgumentParser
import Datastore
import Foundation
import NodeModel
import Posix
import ResourceClient

/// Benchmarks. `twill-bench datastore --n 10000` times ResourceClient and the twillctl binary
/// against a fresh SQLite file (or `--datastore URL`).
@main
struct TwillBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twill-bench", abstract: "Twill benchmarks.", subcommands: [DatastoreBench.self, BGPBench.self])
}

struct DatastoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datastore",
        abstract: "Apply, update, get and list N IPPools and N BGPPeers through ResourceClient and twillctl.")

    @Option(help: "Resources of each kind.") var n = 10_000
    @Option(help: "Datastore URL (default: a fresh SQLite file in a temp directory, removed afterwards).")
    var datastore: String?
    @Option(help: "Single-resource operations to time (per-op latency).") var singles = 1_000
    @Option(help: "twillctl binary (default: beside twill-bench).") var twillctl: String?

    func validate() throws {
        guard n > 0, n <= 65_536 else { throw ValidationError("--n must be 1...65536 (pool CIDRs are 10.x.y.0/24)") }
    }

    func run() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("twill-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let url = datastore ?? "sqlite:\(tmp)/client.db"
        print("twill-bench datastore: n=\(n), datastore \(url)")
        let store = try openDatastore(url: url)
        let client = ResourceClient(datastore: store)

        let pools = (0..<n).map { pool("bench-pool-\($0)", index: $0, firstOctet: 10) }
        let peers = (0..<n).map { peer("bench-peer-\($0)", index: $0, asn: 65000) }
        var report = Report()

        report.time("ResourceClient apply \(n) IPPools (one batch)", ops: n) { try client.apply(pools) }
        report.time("ResourceClient apply \(n) BGPPeers (one batch)", ops: n) { try client.apply(peers) }
        report.time("ResourceClient re-apply \(n) BGPPeers (updates, one batch)", ops: n) {
            try client.apply((0..<n).map { peer("bench-peer-\($0)", index: $0, asn: 65001) })
        }
        report.time("ResourceClient list \(n) IPPools", ops: n) {
            let c = try client.list(kind: .ipPool).count
            guard c >= n else { throw ValidationError("listed \(c) pools, expected \(n)") }
        }
        report.time("ResourceClient list \(n) BGPPeers", ops: n) {
            let c = try client.list(kind: .bgpPeer).count
            guard c >= n else { throw ValidationError("listed \(c) peers, expected \(n)") }
        }
        let k = min(singles, n)
        report.time("ResourceClient get \(k) BGPPeers one by one", ops: k) {
            for i in 0..<k { _ = try client.get(ResourceID(kind: .bgpPeer, name: "bench-peer-\(i)")) }
        }
        report.time("ResourceClient apply \(k) BGPPeers one per call", ops: k) {
            for i in 0..<k { try client.apply([peer("bench-peer-\(i)", index: i, asn: 65002)]) }
        }
        report.time("ResourceClient apply \(min(k, 20)) IPPools one per call (\(n) stored)", ops: min(k, 20)) {
            for i in 0..<min(k, 20) { try client.apply([pool("bench-pool-\(i)", index: i, firstOctet: 10, nat: true)]) }
        }

        // The twillctl binary: one bulk file with N pools and N peers, into a fresh SQLite file.
        let ctl = twillctl ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("twillctl").path
        if FileManager.default.isExecutableFile(atPath: ctl) {
            let file = tmp + "/bulk.yaml"
            let docs = (0..<n).map { pool("ctl-pool-\($0)", index: $0, firstOctet: 11) }
                + (0..<n).map { peer("ctl-peer-\($0)", index: $0, asn: 65010) }
            try encode(docs).write(toFile: file, atomically: true, encoding: .utf8)
            let ctlURL = "sqlite:\(tmp)/ctl.db"
            report.time("twillctl apply -f (\(2 * n) resources, one file)", ops: 2 * n) {
                try runCtl(ctl, ["--datastore", ctlURL, "apply", "-f", file])
            }
            report.time("twillctl get ippools -o yaml (\(n))", ops: n) {
                try runCtl(ctl, ["--datastore", ctlURL, "get", "ippools", "-o", "yaml"])
            }
            report.time("twillctl get bgppeers (table, \(n))", ops: n) {
                try runCtl(ctl, ["--datastore", ctlURL, "get", "bgppeers"])
            }
        } else {
            print("(twillctl not found at \(ctl): skipping the binary measurements)")
        }
        report.print()
        if let failure = report.failure { throw failure }
    }
}

/// Timings, printed as a table: wall time, ops/s on wall time, and the CPU time used (this
/// process and the twillctl children), which is what to compare on a busy machine.
struct Report {
    var rows: [(what: String, wall: Double, cpu: Double, ops: Int)] = []
    var failure: (any Error)?

    mutating func time(_ what: String, ops: Int, _ body: () throws -> Void) {
        guard failure == nil else { return }
        let clock = ContinuousClock()
        let cpu0 = Self.cpuSeconds()
        let start = clock.now
        do { try body() } catch {
            Swift.print("FAILED: \(what): \(error)")
            failure = error
            return
        }
        let d = clock.now - start
        let wall = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        let cpu = Self.cpuSeconds() - cpu0
        rows.append((what, wall, cpu, ops))
        Swift.print(String(format: "%-62@ %9.3f s wall %9.3f s cpu %10.0f ops/s", what as NSString, wall, cpu,
                           Double(ops) / wall))
    }

    func print() {
        Swift.print("\n| operation | wall (s) | ops/s (wall) | CPU (s) | ops/s (CPU) |\n|---|---:|---:|---:|---:|")
        for r in rows {
            Swift.print(String(format: "| %@ | %.3f | %.0f | %.3f | %.0f |", r.what as NSString, r.wall,
                               Double(r.ops) / r.wall, r.cpu, Double(r.ops) / max(r.cpu, 1e-9)))
        }
    }

    /// User + system CPU of this process and its waited-for children.
    static func cpuSeconds() -> Double {
        var total = 0.0
        for who in [RUSAGE_SELF, RUSAGE_CHILDREN] {
            var u = rusage()
            getrusage(__rusage_who_t(who.rawValue), &u)
            total += Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
                + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
        }
        return total
    }
}

func pool(_ name: String, index i: Int, firstOctet: Int, nat: Bool = false) -> Value {
    var spec: [Value.Field] = [.init("cidr", .string("\(firstOctet).\(i / 256).\(i % 256).0/24"))]
    if nat { spec.append(.init("natOutgoing", .bool(true))) }
    return doc("IPPool", name, spec)
}

func peer(_ name: String, index i: Int, asn: Int64) -> Value {
    doc("BGPPeer", name, [.init("peerIP", .string("172.16.\(i / 256).\(i % 256)")), .init("asNumber", .int(asn))])
}

func doc(_ kind: String, _ name: String, _ spec: [Value.Field]) -> Value {
    .object([
        .init("apiVersion", .string(ResourceKind.apiVersion)), .init("kind", .string(kind)),
        .init("metadata", .object([.init("name", .string(name))])), .init("spec", .object(spec)),
    ])
}

func encode(_ docs: [Value]) -> String {
    docs.map { $0.json }.joined(separator: "\n")
}

func runCtl(_ path: String, _ args: [String]) throws {
    // Through Posix.ChildProcess, as every other spawn in the project (Foundation.Process can hang
    // waiting for a child on Linux, swift-corelibs-foundation#4795).
    let r = try ChildProcess.run([path] + args, timeout: 600)
    guard r.status == 0, !r.timedOut else {
        throw ValidationError("twillctl \(args.joined(separator: " ")) exited \(r.timedOut ? "(timed out)" : "\(r.status)"): \(r.stderrText)")
    }
}
