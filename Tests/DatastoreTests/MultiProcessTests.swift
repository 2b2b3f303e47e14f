import Datastore
import DatastoreConformance
import Foundation
import Testing
import TestSupport

/// Several real processes (the built `twill-dstool`) on one SQLite file, as in the lab where
/// one agent per namespace and twillctl share a file.
@Suite(.serialized) struct MultiProcessTests {
    static func tool() throws -> String {
        let path = BuiltProducts.path("twill-dstool")
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ShellError.failed([path], -1, "twill-dstool is not built at \(path): run `swift build` before `swift test`")
        }
        return path
    }

    /// Runs `args` in `count` processes started together; returns their results in order.
    /// Each process gets `--start-at-ms` a moment ahead so their loops really overlap.
    static func runConcurrently(_ count: Int, _ args: @Sendable (Int) -> [String]) throws -> [Shell.Result] {
        let results = LockedResults(count)
        let startAt = String(monotonicNanoseconds() / 1_000_000 + 700)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            results.set(i, Result { try Shell.run(args(i) + ["--start-at-ms", startAt], timeout: 120) })
        }
        return try results.all()
    }

    @Test func concurrentReadModifyWriteLosesNothing() throws {
        let tool = try Self.tool()
        let dir = try TempDir("twill-mp")
        defer { dir.cleanup() }
        let url = "sqlite:" + dir.file("sub/dir/shared.db")  // the parent directories do not exist yet
        let results = try Self.runConcurrently(4) { _ in
            [tool, "hammer", "counter", "--datastore", url, "--key", "/hammer/counter", "--n", "200"]
        }
        for r in results {
            #expect(r.status == 0, "hammer failed: \(r.stderr)")
            print("hammer counter: \(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let ds = try SQLiteDatastore(path: dir.file("sub/dir/shared.db"))
        #expect(try ds.get("/hammer/counter")?.value == Array("800".utf8))
        // Every successful increment is one revision, plus the one create that won.
        #expect(try ds.currentRevision() == 801)
    }

    @Test func concurrentCreatesAllLand() throws {
        let tool = try Self.tool()
        let dir = try TempDir("twill-mp")
        defer { dir.cleanup() }
        let url = "sqlite:" + dir.file("shared.db")
        // A watch in this process follows the four writers through the file.
        let watcher = try SQLiteDatastore(path: dir.file("shared.db"))
        let rec = WatchRecorder()
        let h = try watcher.watch(prefix: "/hammer/keys/", afterRevision: 0, handler: rec.handler)
        defer { h.cancel() }
        let results = try Self.runConcurrently(4) { i in
            [tool, "hammer", "create", "--datastore", url, "--prefix", "/hammer/keys/", "--tag", "p\(i)", "--n", "200"]
        }
        for r in results {
            #expect(r.status == 0, "hammer failed: \(r.stderr)")
            print("hammer create: \(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let ds = try SQLiteDatastore(path: dir.file("shared.db"))
        let list = try ds.list(prefix: "/hammer/keys/")
        let expected = Set((0..<4).flatMap { p in (0..<200).map { "/hammer/keys/p\(p)-\($0)" } })
        #expect(Set(list.pairs.map(\.key)) == expected)
        #expect(list.pairs.count == 800)
        #expect(list.revision == 800)
        // One revision per commit, never shared between processes.
        #expect(Set(list.pairs.map(\.revision)).count == 800)
        // The watch saw every create exactly once, in revision order 1...800.
        let puts = rec.wait(for: 801).compactMap { e -> KVPair? in if case .put(let p) = e { p } else { nil } }
        #expect(puts.map(\.revision) == Array(1...800))
        #expect(Set(puts.map(\.key)) == expected)
    }

    @Test func watchSeesAnotherProcessWithinLatencyTarget() throws {
        let tool = try Self.tool()
        let dir = try TempDir("twill-mp")
        defer { dir.cleanup() }
        let ds = try SQLiteDatastore(path: dir.file("shared.db"))
        let start = try ds.currentRevision()
        let delays = LockedDelays()
        let rec = WatchRecorder()
        let h = try ds.watch(prefix: "/latency/", afterRevision: start) { e in
            if case .put(let p) = e, let stamp = UInt64(String(decoding: p.value, as: UTF8.self)) {
                delays.append(Double(monotonicNanoseconds() &- stamp) / 1e6)
            }
            rec.handler(e)
        }
        defer { h.cancel() }
        #expect(rec.wait(for: 1) == [.inSync(revision: start)])
        let r = try Shell.run([tool, "hammer", "stamp", "--datastore", "sqlite:" + dir.file("shared.db"),
                               "--key", "/latency/k", "--n", "50", "--interval-ms", "20"])
        #expect(r.status == 0, "stamp failed: \(r.stderr)")
        let events = rec.wait(for: 51)
        #expect(events.count == 51)
        let d = delays.sorted
        try #require(d.count == 50)
        let p50 = d[25], p90 = d[45], max = d[49]
        print("cross-process watch latency over 50 writes: p50 \(p50) ms, p90 \(p90) ms, max \(max) ms")
        #expect(p50 < 100)
    }

    @Test func watchProcessReceivesThisProcessWrites() throws {
        let tool = try Self.tool()
        let dir = try TempDir("twill-mp")
        defer { dir.cleanup() }
        let ds = try SQLiteDatastore(path: dir.file("shared.db"))
        let start = try ds.currentRevision()
        let url = "sqlite:" + dir.file("shared.db")
        let result = LockedResults(1)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            result.set(0, Result { try Shell.run([tool, "watch", "/w/", "--datastore", url,
                                                   "--after-revision", String(start), "--count", "3"], timeout: 30) })
            done.signal()
        }
        let r1 = try ds.create("/w/a", value: Array("1".utf8))
        try ds.put("/x/other", value: [])
        let r2 = try ds.commit([.put(key: "/w/b", value: Array("2".utf8)), .delete(key: "/w/a", expectedRevision: r1)])
        #expect(done.wait(timeout: .now() + 30) == .success)
        let out = try result.all()[0]
        #expect(out.status == 0, "watch failed: \(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("IN-SYNC") }
        #expect(lines == [
            "PUT /w/a mod_revision=\(r1) create_revision=\(r1) value=1",
            "PUT /w/b mod_revision=\(r2) create_revision=\(r2) value=2",
            "DELETE /w/a mod_revision=\(r2)",
        ])
    }
}

/// The etcdctl-like commands, end to end on a file.
@Suite struct DSToolCommandTests {
    @Test func putGetListDeleteAndErrors() throws {
        let tool = try MultiProcessTests.tool()
        let dir = try TempDir("twill-dstool")
        defer { dir.cleanup() }
        let url = "sqlite:" + dir.file("t.db")
        func run(_ args: String...) throws -> Shell.Result { try Shell.run([tool] + args + ["--datastore", url]) }

        #expect(try run("put", "/a/b", "one").stdout == "OK revision 1\n")
        #expect(try run("put", "/a/c", "two", "--create").stdout == "OK revision 2\n")
        #expect(try run("get", "/a/b", "--show-revision").stdout == "/a/b mod_revision=1 create_revision=1\none\n")
        #expect(try run("get", "/a/", "--prefix", "--keys-only").stdout == "/a/b\n/a/c\n")
        #expect(try run("list", "/a/").stdout.hasSuffix("2 keys at revision 2\n"))

        let dup = try run("put", "/a/c", "again", "--create")
        #expect(dup.status == 1)
        #expect(dup.stderr.contains("/a/c already exists"))
        let stale = try run("put", "/a/b", "x", "--expected-revision", "7")
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("/a/b was modified concurrently (expected revision 7, found 1)"))
        let missing = try run("get", "/nope")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/nope does not exist"))

        #expect(try run("del", "/a/", "--prefix").stdout == "deleted 2 keys, revision 3\n")
        #expect(try run("revision").stdout == "3\n")
        let bad = try Shell.run([tool, "list", "--datastore", "mysql://x"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("invalid datastore URL: \"mysql://x\""))
    }
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<Shell.Result, any Error>?]
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
    func set(_ i: Int, _ r: Result<Shell.Result, any Error>) { lock.withLock { results[i] = r } }
    func all() throws -> [Shell.Result] {
        try lock.withLock { results }.map { r throws -> Shell.Result in
            guard let r else { throw ShellError.timedOut(["(process did not finish)"]) }
            return try r.get()
        }
    }
}

final class LockedDelays: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Double] = []
    func append(_ v: Double) { lock.withLock { values.append(v) } }
    var sorted: [Double] { lock.withLock { values.sorted() } }
}
