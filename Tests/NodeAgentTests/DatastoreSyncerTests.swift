import Datastore
import Foundation
import Logging
import NodeModel
import ResourceClient
import Testing
import TestSupport
@testable import NodeAgent

/// The agent's view of the datastore: list + watch, coalesced, kept across an outage.
@Suite struct DatastoreSyncerTests {
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
        let syncer = DatastoreSyncer(store: store, logger: Logger(label: "test")) { rec.add($0) }
        syncer.start()
        defer { syncer.stop() }
        #expect(eventually(timeout: 5) { rec.last?.inSync == true })
        let before = rec.count
        for i in 0..<200 { _ = try client.apply([try Self.pool("p\(i)", "10.\(i).0.0/16")]) }
        #expect(eventually(timeout: 10) { rec.last?.resources.count == 200 })
        #expect(rec.count - before < 200, "each event gave its own recompute")
    }
}
