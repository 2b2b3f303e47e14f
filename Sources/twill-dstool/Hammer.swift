import ArgumentParser
import Datastore
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension DSTool {
    struct Hammer: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load generators for multi-process tests.",
            discussion: """
                counter: N read-modify-write increments of one decimal counter key (update with the
                  read revision; retry on conflict). Run it in several processes at once: the final
                  value must be the sum of every N.
                create: creates PREFIX<tag>-<i> for i in 0..<N, one commit each.
                stamp: writes KEY = CLOCK_MONOTONIC nanoseconds N times, --interval-ms apart (for
                  watch latency; `watch --latency` reads them).
                Each prints one summary line: `<mode> done n=N retries=R seconds=S`.
                """)

        enum Mode: String, ExpressibleByArgument, CaseIterable { case counter, create, stamp }

        @OptionGroup var store: StoreOptions
        @Argument(help: "counter, create or stamp.") var mode: Mode
        @Option(help: "Number of operations.") var n = 200
        @Option(help: "Key for counter and stamp.") var key = "/hammer/counter"
        @Option(help: "Key prefix for create.") var prefix = "/hammer/keys/"
        @Option(help: "Tag that makes this process's create keys distinct.") var tag = "p\(getpid())"
        @Option(help: "Pause between stamp writes, in milliseconds.") var intervalMs = 20
        @Option(help: "Start at this CLOCK_MONOTONIC time in milliseconds (so several processes overlap).")
        var startAtMs: UInt64?

        func run() throws {
            let ds = try store.open()
            if let startAtMs {
                let now = monotonicNanoseconds() / 1_000_000
                if startAtMs > now { usleep(UInt32(min(startAtMs - now, 10_000)) * 1000) }
            }
            let start = monotonicNanoseconds()
            var retries = 0
            switch mode {
            case .counter:
                do {
                    try ds.create(key, value: Array("0".utf8))
                } catch .alreadyExists {
                } catch {
                    throw ToolError(error.description)
                }
                for _ in 0..<n {
                    while true {
                        guard let cur = try attempt({ try ds.get(key) }) else { throw ToolError("\(key) vanished") }
                        guard let v = Int(String(decoding: cur.value, as: UTF8.self)) else {
                            throw ToolError("\(key) does not hold a decimal counter")
                        }
                        do {
                            try ds.update(key, value: Array(String(v + 1).utf8), expectedRevision: cur.revision)
                            break
                        } catch .conflict {
                            retries += 1
                        } catch {
                            throw ToolError(error.description)
                        }
                    }
                }
            case .create:
                for i in 0..<n { try attempt { try ds.create("\(prefix)\(tag)-\(i)", value: Array(String(i).utf8)) } }
            case .stamp:
                for i in 0..<n {
                    if i > 0 { usleep(UInt32(max(0, intervalMs)) * 1000) }
                    try attempt { try ds.put(key, value: Array(String(monotonicNanoseconds()).utf8)) }
                }
            }
            let seconds = Double(monotonicNanoseconds() - start) / 1e9
            print("\(mode.rawValue) done n=\(n) retries=\(retries) seconds=\(seconds)")
        }
    }
}
