import ArgumentParser
import Datastore
import Dispatch
import Synchronization
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension DSTool {
    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a key's value (or every key under a prefix), etcdctl style: key line, then value line.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The key (or prefix with --prefix).") var key: String
        @Flag(help: "Treat KEY as a prefix.") var prefix = false
        @Flag(help: "Print only the keys.") var keysOnly = false
        @Flag(help: "Print mod and create revisions after each key.") var showRevision = false

        func run() throws {
            let ds = try store.open()
            let pairs: [KVPair]
            if prefix {
                pairs = try attempt { try ds.list(prefix: key) }.pairs
            } else {
                guard let p = try attempt({ try ds.get(key) }) else { throw ToolError("\(key) does not exist") }
                pairs = [p]
            }
            for p in pairs {
                print(showRevision ? "\(p.key) mod_revision=\(p.revision) create_revision=\(p.createRevision)" : p.key)
                if !keysOnly { print(String(decoding: p.value, as: UTF8.self)) }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List keys under a prefix with their revisions and sizes, then the store revision.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Key prefix (default: everything).") var prefix = ""

        func run() throws {
            let ds = try store.open()
            let l = try attempt { try ds.list(prefix: prefix) }
            let width = max(3, l.pairs.map(\.key.count).max() ?? 0)
            func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
            print("\(pad("KEY", width))  \(pad("MOD", 8))  \(pad("CREATE", 8))  BYTES")
            for p in l.pairs {
                print("\(pad(p.key, width))  \(pad(String(p.revision), 8))  \(pad(String(p.createRevision), 8))  \(p.value.count)")
            }
            print("\(l.pairs.count) keys at revision \(l.revision)")
        }
    }

    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a key; prints the new revision.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The key.") var key: String
        @Argument(help: "The value; - reads it from standard input.") var value: String
        @Flag(help: "Fail if the key exists (create).") var create = false
        @Flag(help: "Fail if the key does not exist (update).") var update = false
        @Option(help: "Fail unless the key's current mod revision is this (implies --update).")
        var expectedRevision: Int64?

        func validate() throws {
            if create && (update || expectedRevision != nil) {
                throw ValidationError("--create cannot be combined with --update or --expected-revision")
            }
        }

        func run() throws {
            let ds = try store.open()
            let bytes = value == "-" ? readStandardInput() : Array(value.utf8)
            let op: KVOperation = create ? .create(key: key, value: bytes)
                : (update || expectedRevision != nil) ? .update(key: key, value: bytes, expectedRevision: expectedRevision)
                : .put(key: key, value: bytes)
            let rev = try attempt { try ds.commit([op]) }
            print("OK revision \(rev)")
        }
    }

    struct Del: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a key (or every key under a prefix, in one commit); prints the revision.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The key (or prefix with --prefix).") var key: String
        @Flag(help: "Delete every key under KEY.") var prefix = false
        @Option(help: "Fail unless the key's current mod revision is this.") var expectedRevision: Int64?

        func run() throws {
            let ds = try store.open()
            if prefix {
                // Deleting exactly what was listed: a key changed in between fails the commit.
                let l = try attempt { try ds.list(prefix: key) }
                let rev = try attempt { try ds.commit(l.pairs.map { .delete(key: $0.key, expectedRevision: $0.revision) }) }
                print("deleted \(l.pairs.count) keys, revision \(rev)")
            } else {
                let rev = try attempt { try ds.delete(key, expectedRevision: expectedRevision) }
                print("deleted 1 key, revision \(rev)")
            }
        }
    }

    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print changes under a prefix as they happen (PUT/DELETE/IN-SYNC lines).",
            discussion: """
                Without --after-revision the watch starts at the current revision. With --latency each
                value is read as a CLOCK_MONOTONIC stamp in nanoseconds (as `hammer stamp` writes) and
                the delay to its arrival is printed.
                """)
        @OptionGroup var store: StoreOptions
        @Argument(help: "Key prefix (default: everything).") var prefix = ""
        @Option(help: "Replay changes after this revision first.") var afterRevision: Int64?
        @Option(help: "Exit after this many PUT/DELETE events.") var count: Int?
        @Flag(help: "Print the delay of each event from the stamp in its value.") var latency = false

        func run() throws {
            let ds = try store.open()
            let after = try afterRevision ?? attempt { try ds.currentRevision() }
            let done = DispatchSemaphore(value: 0)
            let limit = count
            let showLatency = latency
            let seen = Counter()
            let handle = try attempt {
                try ds.watch(prefix: prefix, afterRevision: after) { @Sendable e in
                    switch e {
                    case .put(let p):
                        var line = "PUT \(p.key) mod_revision=\(p.revision) create_revision=\(p.createRevision)"
                        if showLatency, let stamp = UInt64(String(decoding: p.value, as: UTF8.self)) {
                            line += " latency_us=\((monotonicNanoseconds() &- stamp) / 1000)"
                        } else {
                            line += " value=\(String(decoding: p.value, as: UTF8.self))"
                        }
                        print(line)
                    case .deleted(let k, let r): print("DELETE \(k) mod_revision=\(r)")
                    case .inSync(let r): print("IN-SYNC revision=\(r)")
                    case .resyncRequired: print("RESYNC-REQUIRED (history compacted; re-list and watch again)"); done.signal()
                    case .failed(let err): print("FAILED \(err)"); done.signal()
                    }
                    fflush(stdout)
                    if case .put = e, let limit, seen.increment() >= limit { done.signal() }
                    if case .deleted = e, let limit, seen.increment() >= limit { done.signal() }
                }
            }
            done.wait()
            handle.cancel()
        }
    }

    struct Revision: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the current store revision.")
        @OptionGroup var store: StoreOptions
        func run() throws {
            let ds = try store.open()
            print(try attempt { try ds.currentRevision() })
        }
    }

    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Discard change history at or before a revision (watches from before it must re-list).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Revision to compact through.") var revision: Int64

        func run() throws {
            let ds = try store.open()
            guard let c = ds as? any DatastoreCompaction else {
                throw ToolError("this datastore does not support compaction from twill-dstool")
            }
            try attempt { try c.compact(through: revision) }
            print("compacted through revision \(revision)")
        }
    }
}

/// A thread-safe counter for handlers.
final class Counter: Sendable {
    private let value = Mutex(0)
    /// Adds one and returns the new value.
    func increment() -> Int { value.withLock { $0 += 1; return $0 } }
}

func readStandardInput() -> [UInt8] {
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return out
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
