import Datastore
import DatastoreConformance
import Foundation
import Testing
import TestSupport

/// Behaviour specific to the SQLite backend (the shared contract is in the conformance suite).
@Suite struct SQLiteDatastoreTests {
    @Test func changeLogIsTrimmedToTheRetention() throws {
        let dir = try TempDir("twill-sqlite")
        defer { dir.cleanup() }
        let ds = try SQLiteDatastore(path: dir.file("t.db"),
                                     options: .init(changeLogRetention: 10, compactionSlack: 5))
        var revs: [Int64] = []
        for i in 0..<30 { revs.append(try ds.put("/k\(i % 3)", value: [UInt8(i)])) }
        // History at or before 30 - 10 - (up to slack) is gone; the last 10 revisions are kept.
        let old = WatchRecorder()
        let h1 = try ds.watch(prefix: "", afterRevision: 0, handler: old.handler)
        defer { h1.cancel() }
        #expect(old.wait(for: 1) == [.resyncRequired])
        let recent = WatchRecorder()
        let h2 = try ds.watch(prefix: "", afterRevision: 20, handler: recent.handler)
        defer { h2.cancel() }
        let got = recent.wait(for: 11)
        #expect(got.count == 11)
        #expect(got.last == .inSync(revision: 30))
        #expect(try ds.list(prefix: "").pairs.count == 3)
    }

    @Test func droppingTheHandleCancelsTheWatch() throws {
        let dir = try TempDir("twill-sqlite")
        defer { dir.cleanup() }
        let ds = try SQLiteDatastore(path: dir.file("t.db"))
        let dropped = WatchRecorder(), control = WatchRecorder()
        do {
            let h = try ds.watch(prefix: "", afterRevision: 0, handler: dropped.handler)
            _ = h
        }
        let h2 = try ds.watch(prefix: "", afterRevision: 0, handler: control.handler)
        defer { h2.cancel() }
        try ds.put("/k", value: [])
        #expect(control.wait(for: 2).count == 2)
        #expect(dropped.snapshot.allSatisfy { if case .inSync = $0 { true } else { false } })
    }

    @Test func watchOutlivesTheStoreObject() throws {
        let dir = try TempDir("twill-sqlite")
        defer { dir.cleanup() }
        let rec = WatchRecorder()
        var h: (any WatchHandle)?
        do {
            let ds = try SQLiteDatastore(path: dir.file("t.db"))
            h = try ds.watch(prefix: "", afterRevision: 0, handler: rec.handler)
        }
        let writer = try SQLiteDatastore(path: dir.file("t.db"))
        let r = try writer.put("/k", value: [7])
        #expect(rec.wait(for: 2) == [.inSync(revision: 0), .put(KVPair(key: "/k", value: [7], revision: r, createRevision: r))])
        h?.cancel()
    }

    @Test func storeUsesWALAndTheDocumentedSchema() throws {
        let dir = try TempDir("twill-sqlite")
        defer { dir.cleanup() }
        let path = dir.file("t.db")
        let ds = try SQLiteDatastore(path: path)
        try ds.put("/k", value: Array("v".utf8))
        guard Shell.which("sqlite3") != nil else { return }
        #expect(try Shell.check(["sqlite3", path, "PRAGMA journal_mode"]) == "wal\n")
        #expect(try Shell.check(["sqlite3", path, "SELECT key, mod_revision, create_revision FROM kv"]) == "/k|1|1\n")
        #expect(try Shell.check(["sqlite3", path, "SELECT revision, key, hex(value) FROM changes"]) == "1|/k|76\n")
        #expect(try Shell.check(["sqlite3", path, "SELECT revision, compacted FROM meta"]) == "1|0\n")
    }

    @Test func watchFailsWhenTheStoreBreaks() throws {
        guard Shell.which("sqlite3") != nil else {
            Issue.record("sqlite3 CLI missing (scripts/setup.sh installs it)")
            return
        }
        let dir = try TempDir("twill-sqlite")
        defer { dir.cleanup() }
        let path = dir.file("t.db")
        let ds = try SQLiteDatastore(path: path)
        let rec = WatchRecorder()
        let h = try ds.watch(prefix: "", afterRevision: 0, handler: rec.handler)
        defer { h.cancel() }
        #expect(rec.wait(for: 1) == [.inSync(revision: 0)])
        // Another process breaks the schema and bumps the revision: the feed's next read fails.
        try Shell.check(["sqlite3", path, "DROP TABLE changes; UPDATE meta SET revision = 5"])
        let got = rec.wait(for: 2)
        try #require(got.count == 2)
        guard case .failed(.unavailable(let why)) = got[1] else {
            Issue.record("expected .failed(.unavailable), got \(got[1])")
            return
        }
        #expect(why.contains(path) && why.contains("no such table: changes"))
    }

    @Test func aWatchThatFallsBehindCompactionMustResync() throws {
        let dir = try TempDir("twill-sqlite")
        defer { dir.cleanup() }
        let path = dir.file("t.db")
        // The watcher looks at the file only every 2 s; meanwhile another connection writes 60
        // revisions with a retention of 10, trimming history the watcher has not read yet.
        let watcher = try SQLiteDatastore(path: path, options: .init(watchPollInterval: .seconds(2)))
        let writer = try SQLiteDatastore(path: path, options: .init(changeLogRetention: 10, compactionSlack: 5))
        let rec = WatchRecorder()
        let h = try watcher.watch(prefix: "", afterRevision: 0, handler: rec.handler)
        defer { h.cancel() }
        #expect(rec.wait(for: 1) == [.inSync(revision: 0)])
        for i in 0..<60 { try writer.put("/k", value: [UInt8(i)]) }
        #expect(rec.wait(for: 2, timeout: 10) == [.inSync(revision: 0), .resyncRequired])
        // A fresh watch from the listing works again.
        let l = try watcher.list(prefix: "")
        let again = WatchRecorder()
        let h2 = try watcher.watch(prefix: "", afterRevision: l.revision, handler: again.handler)
        defer { h2.cancel() }
        #expect(again.wait(for: 1) == [.inSync(revision: 60)])
    }
}
