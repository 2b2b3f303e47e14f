import Datastore
import Dispatch
import Foundation
import Logging
import NodeModel
import ResourceClient
import Testing
import TestSupport
@testable import NodeAgent

/// The agent's view of the datastore: list + watch, coalesced, kept across an outage.
@Suite struct DatastoreSyncerTests {
    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var set = false
        /// True the first time only.
        func setFirst() -> Bool { lock.withLock { defer { set = true }; return !set } }
    }
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func inc() { lock.withLock { n += 1 } }
        var value: Int { lock.withLock { n } }
    }

    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var states: [DatastoreSyncer.State] = []
        func add(_ s: DatastoreSyncer.State) { lock.withLock { states.append(s) } }
        var last: DatastoreSyncer.State? { lock.withLock { states.last } }
        var count: Int { lock.withLock { states.count } }
    }

    static func pool(_ name: String, _ cidr: String) throws -> Resource {
        try ResourceDocuments.decode([Value(json: """
        {"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"\(name)"},"spec":{"cidr":"\(cidr)"}}
        """)])[0]
    }

    @Test func listsThenFollowsChangesAndIgnoresOtherKeys() throws {
        let store = MemoryDatastore()
        let client = ResourceClient(datastore: store)
        _ = try client.apply([try Self.pool("p1", "10.1.0.0/16")])
        _ = try store.put("/calico/ipam/v2/assignment/ipv4/block/10.1.0.0-26", value: Array("{}".utf8))
        let rec = Recorder()
        let syncer = DatastoreSyncer(store: store, logger: Logger(label: "test")) { rec.add($0) }
        syncer.start()
        defer { syncer.stop() }
        #expect(eventually(timeout: 5) { rec.last?.inSync == true })
        #expect(rec.last?.resources.count == 1)
        _ = try client.apply([try Self.pool("p2", "10.2.0.0/16")])
        #expect(eventually(timeout: 5) { rec.last?.resources.count == 2 })
        _ = try client.delete([ResourceID(kind: .ipPool, name: "p1")])
        #expect(eventually(timeout: 5) {
            rec.last.map { Array($0.resources.values).map(\.name) == ["p2"] } ?? false
        })
        #expect(syncer.isInSync)
    }

    @Test func burstsAreCoalesced() throws {
        let store = MemoryDatastore()
        let client = ResourceClient(datastore: store)
        let rec = Recorder()
        // The consumer is held inside its first call after the initial sync while a burst of
        // writes arrives: the events queue up behind it and must come out as one more call.
        let hold = DispatchSemaphore(value: 0)
        let held = DispatchSemaphore(value: 0)
        let holding = Flag()
        let syncer = DatastoreSyncer(store: store, logger: Logger(label: "test")) { state in
            rec.add(state)
            if state.inSync, holding.setFirst() {
                held.signal()
                hold.wait()
            }
        }
        syncer.start()
        defer { syncer.stop() }
        #expect(held.wait(timeout: .now() + 10) == .success)
        let before = rec.count
        // A second watch on the same prefix is the barrier: once it has seen every write, the
        // syncer's watch (fed by the same commits) has handed its events to the held queue.
        let barrier = Counter()
        let bw = try store.watch(prefix: "/calico/resources/v3/", afterRevision: try store.currentRevision()) { e in
            if case .put = e { barrier.inc() }
        }
        defer { bw.cancel() }
        for i in 0..<30 { _ = try client.apply([try Self.pool("p\(i)", "10.\(i).0.0/16")]) }
        #expect(eventually(timeout: 10) { barrier.value == 30 })
        hold.signal()
        #expect(eventually(timeout: 10) { rec.last?.resources.count == 30 })
        #expect(rec.count - before <= 3, "the burst gave \(rec.count - before) recomputes")
    }
}
