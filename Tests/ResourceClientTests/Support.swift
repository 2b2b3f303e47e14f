import Datastore
import Foundation
import NodeModel
@testable import ResourceClient

/// Builds v3 documents for tests.
enum Doc {
    static func pool(_ name: String, _ cidr: String, extra: [Value.Field] = [], rv: String? = nil) -> Value {
        var meta: [Value.Field] = [.init("name", .string(name))]
        if let rv { meta.append(.init("resourceVersion", .string(rv))) }
        return .object([
            .init("apiVersion", .string("projectcalico.org/v3")),
            .init("kind", .string("IPPool")),
            .init("metadata", .object(meta)),
            .init("spec", .object([.init("cidr", .string(cidr))] + extra)),
        ])
    }

    static func peer(_ name: String, ip: String, asn: Int64) -> Value {
        .object([
            .init("apiVersion", .string("projectcalico.org/v3")),
            .init("kind", .string("BGPPeer")),
            .init("metadata", .object([.init("name", .string(name))])),
            .init("spec", .object([.init("peerIP", .string(ip)), .init("asNumber", .int(asn))])),
        ])
    }
}

/// A datastore that runs `interfere` once, just before the first `commit` it sees: another
/// writer getting in between a batch's reads and its commit.
final class InterferingDatastore: Datastore, @unchecked Sendable {
    // Invariant: `interfere` and `commits` are only touched under `lock`.
    let inner: MemoryDatastore
    private let lock = NSLock()
    private var interfere: ((MemoryDatastore) -> Void)?
    private(set) var commits = 0

    init(_ inner: MemoryDatastore = MemoryDatastore(), interfere: @escaping (MemoryDatastore) -> Void) {
        self.inner = inner
        self.interfere = interfere
    }

    var commitAttempts: Int { lock.withLock { commits } }

    func get(_ key: String) throws(DatastoreError) -> KVPair? { try inner.get(key) }
    func list(prefix: String) throws(DatastoreError) -> KVList { try inner.list(prefix: prefix) }
    func commit(_ ops: [KVOperation]) throws(DatastoreError) -> Int64 {
        let hook: ((MemoryDatastore) -> Void)? = lock.withLock {
            commits += 1
            defer { interfere = nil }
            return interfere
        }
        hook?(inner)
        return try inner.commit(ops)
    }
    func watch(prefix: String, afterRevision: Int64,
               handler: @escaping @Sendable (WatchEvent) -> Void) throws(DatastoreError) -> any WatchHandle {
        try inner.watch(prefix: prefix, afterRevision: afterRevision, handler: handler)
    }
    func currentRevision() throws(DatastoreError) -> Int64 { try inner.currentRevision() }
}
