import Datastore
import DatastoreConformance
import Testing
import TestSupport

@Suite struct MemoryDatastoreConformance {
    @Test(arguments: DatastoreConformance.names)
    func conformance(_ name: String) throws {
        try DatastoreConformance.run(name) {
            let store = MemoryDatastore()
            return .init(store: store, compact: { try store.compact(through: $0) })
        }
    }
}

@Suite struct SQLiteDatastoreConformance {
    @Test(arguments: DatastoreConformance.names)
    func conformance(_ name: String) throws {
        let dir = try TempDir("twill-ds")
        defer { dir.cleanup() }
        try DatastoreConformance.run(name) {
            let store = try SQLiteDatastore(path: dir.file("conformance.db"))
            return .init(store: store, compact: { try store.compact(through: $0) })
        }
    }

    /// The same contract when the reader and the writer are different connections (as with
    /// twillctl beside the agents): writes go through one SQLiteDatastore, the watch and reads
    /// through another on the same file, so watches see the writes only through the file.
    @Test(arguments: DatastoreConformance.names)
    func conformanceAcrossConnections(_ name: String) throws {
        let dir = try TempDir("twill-ds")
        defer { dir.cleanup() }
        try DatastoreConformance.run(name) {
            let writer = try SQLiteDatastore(path: dir.file("shared.db"))
            let reader = try SQLiteDatastore(path: dir.file("shared.db"))
            return .init(store: SplitStore(reads: reader, writes: writer), compact: { try writer.compact(through: $0) })
        }
    }
}

/// Reads and watches through one store, commits through another.
final class SplitStore: Datastore {
    let reads: any Datastore, writes: any Datastore
    init(reads: any Datastore, writes: any Datastore) { self.reads = reads; self.writes = writes }
    func get(_ key: String) throws(DatastoreError) -> KVPair? { try reads.get(key) }
    func list(prefix: String) throws(DatastoreError) -> KVList { try reads.list(prefix: prefix) }
    func commit(_ ops: [KVOperation]) throws(DatastoreError) -> Int64 { try writes.commit(ops) }
    func watch(prefix: String, afterRevision: Int64,
               handler: @escaping @Sendable (WatchEvent) -> Void) throws(DatastoreError) -> any WatchHandle {
        try reads.watch(prefix: prefix, afterRevision: afterRevision, handler: handler)
    }
    func currentRevision() throws(DatastoreError) -> Int64 { try reads.currentRevision() }
}
