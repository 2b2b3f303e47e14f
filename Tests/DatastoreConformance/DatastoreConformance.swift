import Datastore
import Dispatch
import Testing

/// The contract every `Datastore` backend must meet, as a list of named cases that each take a
/// fresh store. A backend's test suite runs every case against its own factory:
///
///     @Test(arguments: DatastoreConformance.names)
///     func conformance(_ name: String) throws {
///         try DatastoreConformance.run(name) { .init(store: MemoryDatastore(), compact: …) }
///     }
public enum DatastoreConformance {
    /// A store under test and how to compact its history through a revision.
    public struct Subject {
        public var store: any Datastore
        public var compact: (Int64) throws -> Void
        public init(store: any Datastore, compact: @escaping (Int64) throws -> Void) {
            self.store = store; self.compact = compact
        }
    }

    public typealias Case = @Sendable (Subject) throws -> Void

    public static var names: [String] { cases.map(\.0) }

    /// Runs the case `name` on a fresh subject from `make`.
    public static func run(_ name: String, _ make: () throws -> Subject) throws {
        guard let c = cases.first(where: { $0.0 == name }) else {
            Issue.record("no conformance case named \(name)")
            return
        }
        try c.1(try make())
    }

    static let cases: [(String, Case)] = [
        ("createAndGet", createAndGet),
        ("createExistingFails", createExistingFails),
        ("updateWithoutExpectedRevision", updateWithoutExpectedRevision),
        ("updateWithExpectedRevision", updateWithExpectedRevision),
        ("putCreatesAndReplaces", putCreatesAndReplaces),
        ("deleteWithAndWithoutPrecondition", deleteWithAndWithoutPrecondition),
        ("recreateGetsNewCreateRevision", recreateGetsNewCreateRevision),
        ("valuesAreBinarySafe", valuesAreBinarySafe),
        ("listByPrefixInKeyOrder", listByPrefixInKeyOrder),
        ("commitIsAllOrNothing", commitIsAllOrNothing),
        ("commitSharesOneRevision", commitSharesOneRevision),
        ("commitAppliesOpsInOrder", commitAppliesOpsInOrder),
        ("revisionIsMonotonic", revisionIsMonotonic),
        ("concurrentIncrementsLoseNothing", concurrentIncrementsLoseNothing),
        ("watchStartsInSync", watchStartsInSync),
        ("watchDeliversInOrder", watchDeliversInOrder),
        ("watchReplaysExactlyLaterChanges", watchReplaysExactlyLaterChanges),
        ("watchFiltersByPrefix", watchFiltersByPrefix),
        ("watchResyncAfterCompaction", watchResyncAfterCompaction),
        ("watchFromAFutureRevision", watchFromAFutureRevision),
        ("watchSeesConcurrentWritesOnceInOrder", watchSeesConcurrentWritesOnceInOrder),
        ("cancelStopsDelivery", cancelStopsDelivery),
        ("cancelInsideHandler", cancelInsideHandler),
    ]

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Expects `body` to throw exactly `expected`.
    static func expectError(_ expected: DatastoreError, sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(expected), nothing was thrown", sourceLocation: sourceLocation)
        } catch {
            #expect(error as? DatastoreError == expected, sourceLocation: sourceLocation)
        }
    }

    // MARK: key/value

    static func createAndGet(_ s: Subject) throws {
        let ds = s.store
        #expect(try ds.get("/k") == nil)
        let r0 = try ds.currentRevision()
        let r = try ds.create("/k", value: bytes("v"))
        #expect(r > r0)
        #expect(try ds.get("/k") == KVPair(key: "/k", value: bytes("v"), revision: r, createRevision: r))
        #expect(try ds.currentRevision() == r)
    }

    static func createExistingFails(_ s: Subject) throws {
        let ds = s.store
        let r = try ds.create("/k", value: bytes("v1"))
        expectError(.alreadyExists(key: "/k")) { try ds.create("/k", value: bytes("v2")) }
        #expect(try ds.get("/k")?.value == bytes("v1"))
        #expect(try ds.currentRevision() == r)
    }

    static func updateWithoutExpectedRevision(_ s: Subject) throws {
        let ds = s.store
        expectError(.notFound(key: "/missing")) { try ds.update("/missing", value: bytes("x")) }
        let r1 = try ds.create("/k", value: bytes("v1"))
        let r2 = try ds.update("/k", value: bytes("v2"))
        #expect(r2 > r1)
        #expect(try ds.get("/k") == KVPair(key: "/k", value: bytes("v2"), revision: r2, createRevision: r1))
    }

    static func updateWithExpectedRevision(_ s: Subject) throws {
        let ds = s.store
        let r1 = try ds.create("/k", value: bytes("v1"))
        let r2 = try ds.update("/k", value: bytes("v2"), expectedRevision: r1)
        // A writer holding the stale revision r1 loses and is told what is stored now.
        expectError(.conflict(key: "/k", expected: r1, actual: r2)) {
            try ds.update("/k", value: bytes("stale"), expectedRevision: r1)
        }
        #expect(try ds.get("/k")?.value == bytes("v2"))
        expectError(.conflict(key: "/gone", expected: 7, actual: nil)) {
            try ds.update("/gone", value: bytes("x"), expectedRevision: 7)
        }
        #expect(try ds.get("/gone") == nil)
    }

    static func putCreatesAndReplaces(_ s: Subject) throws {
        let ds = s.store
        let r1 = try ds.put("/k", value: bytes("v1"))
        let r2 = try ds.put("/k", value: bytes("v2"))
        #expect(r2 > r1)
        #expect(try ds.get("/k") == KVPair(key: "/k", value: bytes("v2"), revision: r2, createRevision: r1))
    }

    static func deleteWithAndWithoutPrecondition(_ s: Subject) throws {
        let ds = s.store
        expectError(.notFound(key: "/none")) { try ds.delete("/none") }
        let r1 = try ds.create("/a", value: bytes("1"))
        let r2 = try ds.update("/a", value: bytes("2"))
        expectError(.conflict(key: "/a", expected: r1, actual: r2)) { try ds.delete("/a", expectedRevision: r1) }
        #expect(try ds.get("/a") != nil)
        let r3 = try ds.delete("/a", expectedRevision: r2)
        #expect(r3 > r2)
        #expect(try ds.get("/a") == nil)
        try ds.create("/b", value: [])
        try ds.delete("/b")
        #expect(try ds.get("/b") == nil)
        expectError(.notFound(key: "/b")) { try ds.delete("/b") }
    }

    static func recreateGetsNewCreateRevision(_ s: Subject) throws {
        let ds = s.store
        let r1 = try ds.create("/k", value: bytes("1"))
        try ds.delete("/k")
        let r3 = try ds.create("/k", value: bytes("2"))
        #expect(r3 > r1)
        #expect(try ds.get("/k")?.createRevision == r3)
    }

    static func valuesAreBinarySafe(_ s: Subject) throws {
        let ds = s.store
        let odd: [UInt8] = [0, 255, 0, 10, 13, 0]
        try ds.create("/empty", value: [])
        try ds.create("/odd", value: odd)
        try ds.create("/ünïcode/κλειδί", value: bytes("ok"))
        #expect(try ds.get("/empty")?.value == [])
        #expect(try ds.get("/odd")?.value == odd)
        #expect(try ds.get("/ünïcode/κλειδί")?.value == bytes("ok"))
        #expect(try ds.list(prefix: "/ünïcode/").pairs.map(\.key) == ["/ünïcode/κλειδί"])
    }

    static func listByPrefixInKeyOrder(_ s: Subject) throws {
        let ds = s.store
        for k in ["/b", "/a/c", "/a/bc", "/a/b/2", "/a/b/10", "/a/b/1", "/a/b", "/a/b\u{7F}"] {
            try ds.create(k, value: bytes(k))
        }
        let under = try ds.list(prefix: "/a/b/")
        #expect(under.pairs.map(\.key) == ["/a/b/1", "/a/b/10", "/a/b/2"])
        #expect(under.pairs.allSatisfy { $0.value == bytes($0.key) })
        #expect(under.revision == (try ds.currentRevision()))
        // A plain byte prefix: "/a/b" also covers "/a/bc" and "/a/b\x7F", but "/a/b/" does not.
        #expect(try ds.list(prefix: "/a/b").pairs.map(\.key) == ["/a/b", "/a/b/1", "/a/b/10", "/a/b/2", "/a/bc", "/a/b\u{7F}"])
        #expect(try ds.list(prefix: "").pairs.count == 8)
        #expect(try ds.list(prefix: "/zzz").pairs.isEmpty)
        let before = try ds.list(prefix: "/a/").revision
        try ds.create("/a/new", value: [])
        #expect(try ds.list(prefix: "/a/").revision == before + 1)
    }

    static func commitIsAllOrNothing(_ s: Subject) throws {
        let ds = s.store
        let r1 = try ds.create("/exists", value: bytes("old"))
        let ops: [KVOperation] = [
            .create(key: "/new1", value: bytes("n")),
            .put(key: "/exists", value: bytes("changed")),
            .create(key: "/exists", value: bytes("dup")),
            .create(key: "/new2", value: bytes("n")),
        ]
        expectError(.alreadyExists(key: "/exists")) { try ds.commit(ops) }
        #expect(try ds.get("/new1") == nil)
        #expect(try ds.get("/new2") == nil)
        #expect(try ds.get("/exists") == KVPair(key: "/exists", value: bytes("old"), revision: r1, createRevision: r1))
        #expect(try ds.currentRevision() == r1)
        // Ops apply in order: the update sees the delete before it.
        expectError(.conflict(key: "/exists", expected: r1 + 5, actual: nil)) {
            try ds.commit([.delete(key: "/exists", expectedRevision: nil),
                           .update(key: "/exists", value: [], expectedRevision: r1 + 5)])
        }
        expectError(.notFound(key: "/nope")) {
            try ds.commit([.put(key: "/p", value: []), .delete(key: "/nope", expectedRevision: nil)])
        }
        #expect(try ds.get("/exists") != nil)
        #expect(try ds.get("/p") == nil)
        #expect(try ds.currentRevision() == r1)
    }

    static func commitSharesOneRevision(_ s: Subject) throws {
        let ds = s.store
        try ds.create("/x", value: bytes("x"))
        let before = try ds.currentRevision()
        let r = try ds.commit([
            .create(key: "/a", value: bytes("a")),
            .put(key: "/b", value: bytes("b")),
            .update(key: "/x", value: bytes("x2"), expectedRevision: before),
        ])
        #expect(r == before + 1)
        for k in ["/a", "/b", "/x"] { #expect(try ds.get(k)?.revision == r) }
        #expect(try ds.get("/x")?.createRevision == before)
        #expect(try ds.commit([]) == r)
        #expect(try ds.currentRevision() == r)
    }

    static func commitAppliesOpsInOrder(_ s: Subject) throws {
        let ds = s.store
        // Later ops see the earlier ones of the same commit.
        let r = try ds.commit([.create(key: "/k", value: bytes("1")), .update(key: "/k", value: bytes("2"), expectedRevision: nil)])
        #expect(try ds.get("/k") == KVPair(key: "/k", value: bytes("2"), revision: r, createRevision: r))
        try ds.commit([.delete(key: "/k", expectedRevision: r), .create(key: "/k", value: bytes("3"))])
        #expect(try ds.get("/k")?.value == bytes("3"))
    }

    static func revisionIsMonotonic(_ s: Subject) throws {
        let ds = s.store
        var last = try ds.currentRevision()
        for i in 0..<20 {
            let r = i % 3 == 2 ? try ds.delete("/k\(i - 1)") : try ds.put("/k\(i)", value: bytes("\(i)"))
            #expect(r == last + 1)
            last = r
        }
        expectError(.notFound(key: "/never")) { try ds.delete("/never") }
        #expect(try ds.currentRevision() == last)
    }

    static func concurrentIncrementsLoseNothing(_ s: Subject) throws {
        let ds = s.store
        try ds.create("/counter", value: bytes("0"))
        let threads = 4, each = 50
        let failures = Protected<[String]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<each {
                while true {
                    do {
                        guard let cur = try ds.get("/counter") else { throw DatastoreError.notFound(key: "/counter") }
                        let n = Int(String(decoding: cur.value, as: UTF8.self))! + 1
                        try ds.update("/counter", value: Array("\(n)".utf8), expectedRevision: cur.revision)
                        break
                    } catch DatastoreError.conflict {
                        continue
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                        return
                    }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(try ds.get("/counter")?.value == bytes("\(threads * each)"))
    }

    // MARK: watch

    static func watchStartsInSync(_ s: Subject) throws {
        let ds = s.store
        try ds.create("/w/a", value: [])
        let rev = try ds.currentRevision()
        let rec = WatchRecorder()
        let h = try ds.watch(prefix: "/w/", afterRevision: rev, handler: rec.handler)
        defer { h.cancel() }
        #expect(rec.wait(for: 1) == [.inSync(revision: rev)])
    }

    static func watchDeliversInOrder(_ s: Subject) throws {
        let ds = s.store
        let start = try ds.list(prefix: "/w/").revision
        let rec = WatchRecorder()
        let h = try ds.watch(prefix: "/w/", afterRevision: start, handler: rec.handler)
        defer { h.cancel() }
        #expect(rec.wait(for: 1) == [.inSync(revision: start)])
        let r1 = try ds.create("/w/a", value: bytes("1"))
        let r2 = try ds.update("/w/a", value: bytes("2"))
        let r3 = try ds.commit([.put(key: "/w/c", value: bytes("c")), .put(key: "/w/b", value: bytes("b")),
                                .delete(key: "/w/a", expectedRevision: r2)])
        let got = rec.wait(for: 6)
        #expect(got == [
            .inSync(revision: start),
            .put(KVPair(key: "/w/a", value: bytes("1"), revision: r1, createRevision: r1)),
            .put(KVPair(key: "/w/a", value: bytes("2"), revision: r2, createRevision: r1)),
            .put(KVPair(key: "/w/c", value: bytes("c"), revision: r3, createRevision: r3)),
            .put(KVPair(key: "/w/b", value: bytes("b"), revision: r3, createRevision: r3)),
            .deleted(key: "/w/a", revision: r3),
        ])
    }

    static func watchReplaysExactlyLaterChanges(_ s: Subject) throws {
        let ds = s.store
        var revs: [Int64] = []
        for i in 0..<5 { revs.append(try ds.put("/w/k\(i % 2)", value: bytes("\(i)"))) }
        try ds.put("/other", value: [])
        revs.append(try ds.delete("/w/k0"))
        let now = try ds.currentRevision()
        let rec = WatchRecorder()
        let h = try ds.watch(prefix: "/w/", afterRevision: revs[2], handler: rec.handler)
        defer { h.cancel() }
        let got = rec.wait(for: 4)
        #expect(got == [
            .put(KVPair(key: "/w/k1", value: bytes("3"), revision: revs[3], createRevision: revs[1])),
            .put(KVPair(key: "/w/k0", value: bytes("4"), revision: revs[4], createRevision: revs[0])),
            .deleted(key: "/w/k0", revision: revs[5]),
            .inSync(revision: now),
        ])
        // Then live changes follow the replay.
        let r = try ds.put("/w/k2", value: bytes("live"))
        #expect(rec.wait(for: 5).last == .put(KVPair(key: "/w/k2", value: bytes("live"), revision: r, createRevision: r)))
    }

    static func watchFiltersByPrefix(_ s: Subject) throws {
        let ds = s.store
        let start = try ds.currentRevision()
        let rec = WatchRecorder()
        let h = try ds.watch(prefix: "/a/b/", afterRevision: start, handler: rec.handler)
        defer { h.cancel() }
        let all = WatchRecorder()
        let hAll = try ds.watch(prefix: "", afterRevision: start, handler: all.handler)
        defer { hAll.cancel() }
        try ds.put("/a/bc", value: [])
        try ds.put("/a/b", value: [])
        try ds.put("/a/c/x", value: [])
        let r = try ds.put("/a/b/x", value: [])
        // The unfiltered watch proves every write was dispatched before we look at the filtered one.
        #expect(all.wait(for: 5).count == 5)
        #expect(rec.wait(for: 2) == [.inSync(revision: start), .put(KVPair(key: "/a/b/x", value: [], revision: r, createRevision: r))])
    }

    static func watchResyncAfterCompaction(_ s: Subject) throws {
        let ds = s.store
        var revs: [Int64] = []
        for i in 0..<6 { revs.append(try ds.put("/w/k", value: bytes("\(i)"))) }
        try s.compact(revs[3])
        let stale = WatchRecorder()
        let h1 = try ds.watch(prefix: "/w/", afterRevision: revs[1], handler: stale.handler)
        defer { h1.cancel() }
        #expect(stale.wait(for: 1) == [.resyncRequired])
        // The watch stopped: later writes are not delivered to it.
        let fresh = WatchRecorder()
        let h2 = try ds.watch(prefix: "/w/", afterRevision: revs[3], handler: fresh.handler)
        defer { h2.cancel() }
        #expect(fresh.wait(for: 3) == [
            .put(KVPair(key: "/w/k", value: bytes("4"), revision: revs[4], createRevision: revs[0])),
            .put(KVPair(key: "/w/k", value: bytes("5"), revision: revs[5], createRevision: revs[0])),
            .inSync(revision: revs[5]),
        ])
        let r = try ds.put("/w/k", value: bytes("6"))
        #expect(fresh.wait(for: 4).last == .put(KVPair(key: "/w/k", value: bytes("6"), revision: r, createRevision: revs[0])))
        #expect(stale.snapshot == [.resyncRequired])
        // The data itself is untouched by compaction.
        #expect(try ds.get("/w/k")?.value == bytes("6"))
    }

    static func watchFromAFutureRevision(_ s: Subject) throws {
        let ds = s.store
        let now = try ds.currentRevision()
        let rec = WatchRecorder()
        let h = try ds.watch(prefix: "/w/", afterRevision: now + 2, handler: rec.handler)
        defer { h.cancel() }
        #expect(rec.wait(for: 1) == [.inSync(revision: now + 2)])
        try ds.put("/w/1", value: [])
        try ds.put("/w/2", value: [])
        let r = try ds.put("/w/3", value: [])
        #expect(rec.wait(for: 2) == [.inSync(revision: now + 2), .put(KVPair(key: "/w/3", value: [], revision: r, createRevision: r))])
    }

    static func watchSeesConcurrentWritesOnceInOrder(_ s: Subject) throws {
        let ds = s.store
        let start = try ds.currentRevision()
        let rec = WatchRecorder()
        let h = try ds.watch(prefix: "/c/", afterRevision: start, handler: rec.handler)
        defer { h.cancel() }
        let threads = 4, each = 25
        let written = Protected<[Int64: String]>([:])
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<each {
                let key = "/c/t\(t)/\(i)"
                if let r = try? ds.put(key, value: bytes(key)) { written.withLock { $0[r] = key } }
            }
        }
        let expected = written.withLock { $0 }
        #expect(expected.count == threads * each)
        let events = rec.wait(for: 1 + threads * each)
        let puts = events.compactMap { e -> KVPair? in if case .put(let p) = e { p } else { nil } }
        #expect(events.first == .inSync(revision: start))
        #expect(puts.count == threads * each)
        #expect(puts.map(\.revision) == expected.keys.sorted())
        #expect(puts.allSatisfy { expected[$0.revision] == $0.key && $0.value == bytes($0.key) })
    }

    static func cancelStopsDelivery(_ s: Subject) throws {
        let ds = s.store
        let start = try ds.currentRevision()
        let cancelled = WatchRecorder(), control = WatchRecorder()
        let h1 = try ds.watch(prefix: "/w/", afterRevision: start, handler: cancelled.handler)
        let h2 = try ds.watch(prefix: "/w/", afterRevision: start, handler: control.handler)
        defer { h2.cancel() }
        let r = try ds.put("/w/1", value: [])
        #expect(cancelled.wait(for: 2).count == 2)
        h1.cancel()
        h1.cancel()  // idempotent
        let seen = cancelled.snapshot
        try ds.put("/w/2", value: [])
        try ds.put("/w/3", value: [])
        #expect(control.wait(for: 4).count == 4)
        #expect(cancelled.snapshot == seen)
        #expect(seen == [.inSync(revision: start), .put(KVPair(key: "/w/1", value: [], revision: r, createRevision: r))])
    }

    static func cancelInsideHandler(_ s: Subject) throws {
        let ds = s.store
        let start = try ds.currentRevision()
        let rec = WatchRecorder()
        let box = HandleBox()
        let h = try ds.watch(prefix: "/w/", afterRevision: start) { e in
            rec.handler(e)
            if case .put = e { box.handle.withLock { $0 }?.cancel() }  // must not deadlock
        }
        box.handle.withLock { $0 = h }
        let control = WatchRecorder()
        let h2 = try ds.watch(prefix: "/w/", afterRevision: start, handler: control.handler)
        defer { h2.cancel() }
        try ds.commit([.put(key: "/w/1", value: []), .put(key: "/w/2", value: [])])
        try ds.put("/w/3", value: [])
        #expect(control.wait(for: 4).count == 4)
        #expect(rec.wait(for: 2).count == 2)
        #expect(rec.snapshot.count == 2)  // the second put of the same commit was not delivered
        h.cancel()
    }
}

private final class HandleBox: Sendable {
    let handle = Protected<(any WatchHandle)?>(nil)
}
