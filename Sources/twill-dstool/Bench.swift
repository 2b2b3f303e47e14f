import ArgumentParser
import Datastore
import Dispatch
import Synchronization
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension DSTool {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Micro benchmark of the SQLite datastore on a fresh file.",
            discussion: """
                Measures single-put commits/s, 1,000-op batch commits, listing 10,000 keys, and watch
                latency (same store, and through a second connection on the file as another process
                sees it). Uses a temporary file unless --path is given (which must not exist).
                """)

        @Option(help: "Number of single-put commits.") var n = 10_000
        @Option(help: "Number of watch latency samples.") var samples = 200
        @Option(help: "Database file to create (default: a temporary one, removed afterwards).") var path: String?

        func run() throws {
            var template = Array("/tmp/twill-bench-XXXXXX".utf8CString)
            let dir: String? = path == nil ? template.withUnsafeMutableBufferPointer { b in
                mkdtemp(b.baseAddress!).map { String(cString: $0) }
            } : nil
            let file = path ?? (dir! + "/bench.db")
            defer {
                if let dir {
                    for f in ["bench.db", "bench.db-wal", "bench.db-shm"] { unlink(dir + "/" + f) }
                    rmdir(dir)
                }
            }
            let ds = try attempt { try SQLiteDatastore(path: file) }
            print("file: \(file)")

            // 1. single puts, one commit each
            let value = Array(repeating: UInt8(ascii: "x"), count: 200)
            var t = monotonicNanoseconds()
            for i in 0..<n { try attempt { try ds.put("/bench/single/\(i)", value: value) } }
            var s = seconds(since: t)
            print("single put:   \(n) commits in \(fmt(s)) s = \(Int(Double(n) / s)) commits/s")

            // 2. batches of 1,000 ops
            let batches = max(10, n / 1000)
            t = monotonicNanoseconds()
            for b in 0..<batches {
                try attempt { try ds.commit((0..<1000).map { .put(key: "/bench/batch/\(b)/\($0)", value: value) }) }
            }
            s = seconds(since: t)
            print("batch 1000:   \(batches) commits in \(fmt(s)) s = \(fmt(Double(batches) / s)) commits/s"
                  + " (\(Int(Double(batches * 1000) / s)) ops/s)")

            // 3. list 10,000 keys
            try attempt { try ds.commit((0..<10_000).map { .put(key: "/bench/list/\($0)", value: value) }) }
            let runs = 5
            t = monotonicNanoseconds()
            var count = 0
            for _ in 0..<runs { count = try attempt { try ds.list(prefix: "/bench/list/") }.pairs.count }
            s = seconds(since: t) / Double(runs)
            print("list:         \(count) keys in \(fmt(s * 1000)) ms (mean of \(runs))")

            // 4. watch latency: same store (poked) and a second connection (polls data_version)
            let other = try attempt { try SQLiteDatastore(path: file) }
            for (name, watcher) in [("same store", ds as any Datastore), ("second connection", other)] {
                let lat = try watchLatency(writer: ds, watcher: watcher)
                print("watch latency (\(name)): p50 \(fmt(lat.p50)) ms, p99 \(fmt(lat.p99)) ms, max \(fmt(lat.max)) ms over \(samples)")
            }
        }

        /// Writes `samples` stamps one at a time, each after the previous one arrived.
        func watchLatency(writer: any Datastore, watcher: any Datastore) throws -> (p50: Double, p99: Double, max: Double) {
            let arrived = DispatchSemaphore(value: 0)
            let delays = Mutex<[Double]>([])
            let start = try attempt { try writer.currentRevision() }
            let h = try attempt {
                try watcher.watch(prefix: "/bench/latency", afterRevision: start) { @Sendable e in
                    guard case .put(let p) = e, let stamp = UInt64(String(decoding: p.value, as: UTF8.self)) else { return }
                    let d = Double(monotonicNanoseconds() - stamp) / 1e6
                    delays.withLock { $0.append(d) }
                    arrived.signal()
                }
            }
            defer { h.cancel() }
            for _ in 0..<samples {
                try attempt { try writer.put("/bench/latency", value: Array(String(monotonicNanoseconds()).utf8)) }
                if arrived.wait(timeout: .now() + 5) == .timedOut { throw ToolError("a watch event took over 5 s") }
            }
            let d = delays.withLock { $0 }.sorted()
            return (d[d.count / 2], d[min(d.count - 1, d.count * 99 / 100)], d.last ?? 0)
        }
    }
}

func seconds(since t: UInt64) -> Double { Double(monotonicNanoseconds() - t) / 1e9 }

func fmt(_ x: Double) -> String {
    let r = (x * 100).rounded() / 100
    return String(r)
}
