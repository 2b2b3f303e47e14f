import Datastore
import Foundation
import Testing
import TestSupport

@Suite struct DatastoreURLTests {
    @Test(arguments: [
        ("sqlite:/var/lib/twill/twill.db", DatastoreURL.sqlite(path: "/var/lib/twill/twill.db")),
        ("sqlite:relative/x.db", .sqlite(path: "relative/x.db")),
        ("sqlite:x.db", .sqlite(path: "x.db")),
        ("sqlite:///abs/x.db", .sqlite(path: "/abs/x.db")),
        ("memory:", .memory),
        ("etcd://127.0.0.1:2379", .etcd(endpoints: ["127.0.0.1:2379"])),
        ("etcd://a.example:2379,b.example:22379,[::1]:2379", .etcd(endpoints: ["a.example:2379", "b.example:22379", "[::1]:2379"])),
        ("etcd://10.0.0.1:2379/", .etcd(endpoints: ["10.0.0.1:2379"])),
    ])
    func parsesAcceptedForms(_ url: String, _ expected: DatastoreURL) throws {
        #expect(try DatastoreURL(parsing: url) == expected)
    }

    @Test(arguments: [
        ("", "unknown scheme"),
        ("postgres://x", "unknown scheme"),
        ("/var/lib/twill/twill.db", "unknown scheme"),
        ("sqlite:", "the sqlite path is empty"),
        ("sqlite://host/x.db", "not a host"),
        ("etcd://", "endpoint \"\" is empty"),
        ("etcd://host", "needs :PORT"),
        ("etcd://host:0", "invalid port"),
        ("etcd://host:70000", "invalid port"),
        ("etcd://:2379", "has no host"),
        ("etcd://::1:2379", "without [brackets]"),
        ("etcd://a:1,,b:2", "is empty"),
        ("etcd://a:1/path", "no path"),
    ])
    func rejectsMalformedNamingTheURLAndTheForms(_ url: String, _ why: String) {
        #expect {
            try DatastoreURL(parsing: url)
        } throws: { error in
            guard case .invalidURL(let msg) = error as? DatastoreError else { return false }
            return msg.contains("\"\(url)\"") && msg.contains(why) && msg.contains("sqlite:PATH, memory:, or etcd://")
        }
    }

    @Test func etcdIsNotBuiltYet() {
        #expect(throws: DatastoreError.notBuilt("the etcd datastore is not built yet (issue: etcd v3 datastore); use sqlite:PATH")) {
            try openDatastore(url: "etcd://127.0.0.1:2379")
        }
    }

    @Test func memoryOpensAFreshStore() throws {
        let a = try openDatastore(url: "memory:"), b = try openDatastore(url: "memory:")
        try a.put("/k", value: [1])
        #expect(try b.get("/k") == nil)
        #expect(a is MemoryDatastore)
    }

    @Test func sqliteCreatesTheParentDirectoryAndPersists() throws {
        let dir = try TempDir("twill-url")
        defer { dir.cleanup() }
        let path = dir.file("a/b/c/twill.db")
        do {
            let ds = try openDatastore(url: "sqlite:" + path)
            #expect(ds is SQLiteDatastore)
            try ds.commit([.put(key: "/k", value: [1, 2]), .put(key: "/l", value: [])])
        }
        #expect(FileManager.default.fileExists(atPath: path))
        let again = try openDatastore(url: "sqlite:" + path)
        #expect(try again.get("/k") == KVPair(key: "/k", value: [1, 2], revision: 1, createRevision: 1))
        #expect(try again.currentRevision() == 1)
    }

    @Test func sqliteRelativePath() throws {
        let dir = try TempDir("twill-url")
        defer { dir.cleanup() }
        // Reach the temp dir relative to the working directory (no chdir: it is process-wide).
        let cwd = FileManager.default.currentDirectoryPath
        let depth = cwd.split(separator: "/").count
        let rel = String(repeating: "../", count: depth) + String(dir.file("sub/rel.db").dropFirst())
        let ds = try openDatastore(url: "sqlite:" + rel)
        try ds.put("/k", value: [])
        #expect(FileManager.default.fileExists(atPath: dir.file("sub/rel.db")))
    }

    @Test func unusablePathsAreUnavailableWithPathAndReason() throws {
        let dir = try TempDir("twill-url")
        defer { dir.cleanup() }
        let file = dir.file("plain-file")
        _ = FileManager.default.createFile(atPath: file, contents: Data("not a directory".utf8))
        // A parent that is a regular file: mkdir fails.
        #expect {
            try openDatastore(url: "sqlite:" + file + "/sub/twill.db")
        } throws: { error in
            guard case .unavailable(let msg) = error as? DatastoreError else { return false }
            return msg.contains(file) && msg.contains("is not a directory")
        }
        // The database path is a directory: SQLite cannot open it.
        try FileManager.default.createDirectory(atPath: dir.file("isdir.db"), withIntermediateDirectories: true)
        #expect {
            try openDatastore(url: "sqlite:" + dir.file("isdir.db"))
        } throws: { error in
            guard case .unavailable(let msg) = error as? DatastoreError else { return false }
            return msg.contains(dir.file("isdir.db")) && msg.contains("unable to open database file")
        }
        // A file that is not a database.
        #expect {
            try openDatastore(url: "sqlite:" + file)
        } throws: { error in
            guard case .unavailable(let msg) = error as? DatastoreError else { return false }
            return msg.contains(file) && msg.contains("not a database")
        }
    }
}

/// `TWILL_DATASTORE` is process-wide: these tests set it, so they run one at a time.
@Suite(.serialized) struct DatastoreURLEnvironmentTests {
    @Test func nilMeansEnvironmentThenDefault() {
        unsetenv(DatastoreURL.environmentVariable)
        #expect(DatastoreURL.resolve(nil) == "sqlite:/var/lib/twill/twill.db")
        setenv(DatastoreURL.environmentVariable, "memory:", 1)
        defer { unsetenv(DatastoreURL.environmentVariable) }
        #expect(DatastoreURL.resolve(nil) == "memory:")
        #expect(DatastoreURL.resolve("sqlite:x.db") == "sqlite:x.db")
        #expect((try? openDatastore(url: nil)) is MemoryDatastore)
    }
}
