import Datastore
import Foundation
import Logging
import NodeModel
import ResourceClient
import Synchronization
import Testing
import TestSupport
@testable import NodeAgent

/// The syncer's probe: a store whose watches ride out an outage by themselves (as etcd's do)
/// still has the outage said once, shown in `unavailableReason`, and its end said once.
@Suite struct AgentLabSyncerProbeTests {
    /// A memory store whose unary calls fail while `down` is set; its watches keep running,
    /// as an etcd watch that reconnects by itself.
    final class OutageStore: Datastore, @unchecked Sendable {
        let inner = MemoryDatastore()
        let down = Mutex(false)
        private func check() throws(DatastoreError) {
            if down.withLock({ $0 }) { throw .unavailable("cannot reach etcd (test): Connection refused") }
        }
        func get(_ key: String) throws(DatastoreError) -> KVPair? { try check(); return try inner.get(key) }
        func list(prefix: String) throws(DatastoreError) -> KVList { try check(); return try inner.list(prefix: prefix) }
        func commit(_ ops: [KVOperation]) throws(DatastoreError) -> Int64 { try check(); return try inner.commit(ops) }
        func watch(prefix: String, afterRevision: Int64,
                   handler: @escaping @Sendable (WatchEvent) -> Void) throws(DatastoreError) -> any WatchHandle {
            try check()
            return try inner.watch(prefix: prefix, afterRevision: afterRevision, handler: handler)
        }
        func currentRevision() throws(DatastoreError) -> Int64 { try check(); return try inner.currentRevision() }
    }

    final class States: @unchecked Sendable {
        private let lock = NSLock()
        private var last: DatastoreSyncer.State?
        func add(_ s: DatastoreSyncer.State) { lock.withLock { last = s } }
        var count: Int { lock.withLock { last?.resources.count ?? -1 } }
    }

    @Test func outageHiddenByTheWatchIsSaidOnceAndItsEnd() throws {
        let store = OutageStore()
        let client = ResourceClient(datastore: store)
        _ = try client.apply([try DatastoreSyncerTests.pool("p1", "10.1.0.0/16")])
        let log = BIRDTestLog(), states = States()
        let syncer = DatastoreSyncer(store: store, logger: log.logger("syncer"), probeInterval: 0.05) { states.add($0) }
        syncer.start()
        defer { syncer.stop() }
        #expect(eventually(timeout: 5) { syncer.isInSync && states.count == 1 })
        #expect(syncer.unavailableReason == nil)

        store.down.withLock { $0 = true }
        #expect(eventually(timeout: 5) { syncer.unavailableReason?.contains("Connection refused") == true })
        #expect(eventually(timeout: 5) { log.contains("datastore unavailable") })
        // Said once however many probes fail; the cache (everything programmed from it) stays.
        Thread.sleep(forTimeInterval: 0.3)
        #expect(log.lines.filter { $0.1.contains("datastore unavailable") }.count == 1, "\(log.lines)")
        #expect(states.count == 1 && syncer.isInSync)

        store.down.withLock { $0 = false }
        #expect(eventually(timeout: 5) { syncer.unavailableReason == nil && log.contains("datastore is back") })
        // The watches never stopped: a change after the outage arrives.
        _ = try client.apply([try DatastoreSyncerTests.pool("p2", "10.2.0.0/16")])
        #expect(eventually(timeout: 5) { states.count == 2 })
        #expect(log.lines.filter { $0.1.contains("datastore is back") }.count == 1, "\(log.lines)")
    }
}
