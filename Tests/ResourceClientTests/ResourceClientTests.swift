import Datastore
import Foundation
import NetCore
import NodeModel
import Testing
import TestSupport
@testable import ResourceClient

@Suite struct ResourceClientTests {
    let store = MemoryDatastore()
    var client: ResourceClient {
        ResourceClient(datastore: store, clock: { Date(timeIntervalSince1970: 1_700_000_000) }, uid: { "uid-1" })
    }

    @Test func applyCreatesThenUpdatesKeepingIdentity() throws {
        let r1 = try client.apply([Doc.pool("a", "10.0.0.0/16")])
        #expect(r1.items.map(\.outcome) == [.created])
        let created = try client.get(ResourceID(kind: .ipPool, name: "a"))
        #expect(created.resource.metadata.resourceVersion == String(r1.revision))
        #expect(created.resource.metadata.uid == "uid-1")
        #expect(created.resource.metadata.creationTimestamp == "2023-11-14T22:13:20Z")
        #expect(created.key == "/calico/resources/v3/projectcalico.org/ippools/a")

        let later = ResourceClient(datastore: store, clock: { Date(timeIntervalSince1970: 1_800_000_000) },
                                   uid: { "uid-2" })
        let r2 = try later.apply([Doc.pool("a", "10.0.0.0/16", extra: [.init("natOutgoing", .bool(true))])])
        #expect(r2.items.map(\.outcome) == [.updated])
        let updated = try client.get(ResourceID(kind: .ipPool, name: "a"))
        #expect(updated.revision == r2.revision)
        #expect(updated.revision > created.revision)
        #expect(updated.resource.metadata.uid == "uid-1")
        #expect(updated.resource.metadata.creationTimestamp == "2023-11-14T22:13:20Z")
        #expect(updated.resource.as(IPPool.self)?.spec.natOutgoing == true)
    }

    @Test func storedValueIsCalicoJSONWithoutResourceVersion() throws {
        try client.apply([Doc.pool("a", "10.0.0.0/16")])
        let pair = try #require(try store.get("/calico/resources/v3/projectcalico.org/ippools/a"))
        let v = try Value(jsonBytes: pair.value)
        #expect(v["kind"] == .string("IPPool"))
        #expect(v["apiVersion"] == .string("projectcalico.org/v3"))
        #expect(v["metadata"]?["resourceVersion"] == nil)
        #expect(v["spec"]?["cidr"] == .string("10.0.0.0/16"))
    }

    @Test func invalidDocumentWritesNothingAndNamesDocumentAndField() throws {
        let before = try store.currentRevision()
        let bad = Doc.pool("b", "10.1.0.0/16", extra: [.init("cidrr", .string("x"))])
        #expect {
            try client.apply([Doc.pool("a", "10.0.0.0/16"), bad, Doc.peer("p", ip: "192.0.2.1", asn: 65001)])
        } throws: { error in
            let text = "\(error)"
            return text.contains("document 2") && text.contains("spec.cidrr") && text.contains("unknown field")
        }
        #expect(try store.currentRevision() == before)
        #expect(try store.list(prefix: "/calico/").pairs.isEmpty)
    }

    @Test func createFailsOnExistingAndWritesNothing() throws {
        try client.create([Doc.pool("a", "10.0.0.0/16")])
        let rev = try store.currentRevision()
        #expect(throws: ClientError.alreadyExists(ResourceID(kind: .ipPool, name: "a"))) {
            try client.create([Doc.peer("p", ip: "192.0.2.1", asn: 65001), Doc.pool("a", "10.0.0.0/16")])
        }
        #expect(try store.currentRevision() == rev)
        let skipped = try client.create([Doc.peer("p", ip: "192.0.2.1", asn: 65001), Doc.pool("a", "10.0.0.0/16")],
                                        skipExisting: true)
        #expect(skipped.items.map(\.outcome) == [.created, .skipped])
    }

    @Test func replaceAndDeleteOfMissingFail() throws {
        let id = ResourceID(kind: .ipPool, name: "a")
        #expect(throws: ClientError.notFound(id)) { try client.replace([Doc.pool("a", "10.0.0.0/16")]) }
        #expect(throws: ClientError.notFound(id)) { try client.delete([id]) }
        let r = try client.delete([id], skipMissing: true)
        #expect(r.items.map(\.outcome) == [.skipped])
        try client.apply([Doc.pool("a", "10.0.0.0/16")])
        #expect(try client.delete([id, id]).items.map(\.outcome) == [.deleted])
        #expect(throws: ClientError.notFound(id)) { try client.get(id) }
    }

    @Test func poolOverlapIsRejectedAgainstStoredAndBatch() throws {
        try client.apply([Doc.pool("a", "10.0.0.0/16")])
        #expect {
            try client.apply([Doc.pool("b", "10.0.128.0/17")])
        } throws: { "\($0)".contains("spec.cidr") && "\($0)".contains("overlaps with IPPool(a)") }
        #expect {
            try client.apply([Doc.pool("c", "10.2.0.0/16"), Doc.pool("d", "10.2.3.0/24")])
        } throws: { "\($0)".contains("IPPool(d) CIDR overlaps with IPPool(c)") }
        #expect {
            try client.apply([Doc.pool("wide", "10.0.0.0/8")])
        } throws: { "\($0)".contains("IPPool(wide) CIDR overlaps with IPPool(a) CIDR 10.0.0.0/16") }
        // Other families and disjoint ranges are fine.
        try client.apply([Doc.pool("v6", "fd00::/48"), Doc.pool("e", "10.1.0.0/16")])
        // Re-applying the same pool is not an overlap with itself.
        try client.apply([Doc.pool("a", "10.0.0.0/16")])
    }

    @Test func cidrAndBlockSizeAreImmutable() throws {
        try client.apply([Doc.pool("a", "10.0.0.0/16", extra: [.init("blockSize", .int(26))])])
        #expect {
            try client.apply([Doc.pool("a", "10.9.0.0/16", extra: [.init("blockSize", .int(26))])])
        } throws: { "\($0)".contains("spec.cidr") && "\($0)".contains("cannot be changed") }
        #expect {
            try client.replace([Doc.pool("a", "10.0.0.0/16", extra: [.init("blockSize", .int(28))])])
        } throws: { "\($0)".contains("spec.blockSize") }
    }

    @Test func applyRetriesWholeBatchWhenAnotherWriterGetsIn() throws {
        let base = MemoryDatastore()
        let seed = ResourceClient(datastore: base)
        try seed.apply([Doc.pool("a", "10.0.0.0/16")])
        let ds = InterferingDatastore(base) { inner in
            // Someone else updates pool a and creates peer p between our read and our commit.
            _ = try? ResourceClient(datastore: inner).apply([
                Doc.pool("a", "10.0.0.0/16", extra: [.init("disabled", .bool(true))]),
                Doc.peer("p", ip: "192.0.2.9", asn: 65009),
            ])
        }
        let client = ResourceClient(datastore: ds)
        let r = try client.apply([Doc.pool("a", "10.0.0.0/16", extra: [.init("natOutgoing", .bool(true))]),
                                  Doc.peer("p", ip: "192.0.2.1", asn: 65001)])
        #expect(ds.commitAttempts == 2)
        #expect(r.items.map(\.outcome) == [.updated, .updated])
        let pool = try client.get(ResourceID(kind: .ipPool, name: "a")).resource.as(IPPool.self)
        #expect(pool?.spec.natOutgoing == true)
        let peer = try client.get(ResourceID(kind: .bgpPeer, name: "p")).resource.as(BGPPeer.self)
        #expect(peer?.spec.peerIP == "192.0.2.1")
    }

    @Test func userResourceVersionIsAPreconditionNotRetried() throws {
        try client.apply([Doc.pool("a", "10.0.0.0/16")])
        let stale = try client.get(ResourceID(kind: .ipPool, name: "a")).revision
        try client.apply([Doc.pool("a", "10.0.0.0/16", extra: [.init("disabled", .bool(true))])])
        let rev = try store.currentRevision()
        #expect {
            try client.apply([Doc.pool("a", "10.0.0.0/16", rv: String(stale))])
        } throws: { error in
            guard case ClientError.conflict(let id, _) = error else { return false }
            return id.name == "a"
        }
        #expect(try store.currentRevision() == rev)
        // The current version is accepted.
        try client.replace([Doc.pool("a", "10.0.0.0/16", rv: String(rev))])
    }

    @Test func commitTimeConflictWithUserVersionIsReported() throws {
        let base = MemoryDatastore()
        try ResourceClient(datastore: base).apply([Doc.pool("a", "10.0.0.0/16")])
        let rv = try base.currentRevision()
        let ds = InterferingDatastore(base) { inner in
            _ = try? ResourceClient(datastore: inner).apply([
                Doc.pool("a", "10.0.0.0/16", extra: [.init("disabled", .bool(true))])])
        }
        #expect {
            try ResourceClient(datastore: ds).replace([Doc.pool("a", "10.0.0.0/16", rv: String(rv))])
        } throws: { error in
            if case ClientError.conflict = error { return true } else { return false }
        }
        #expect(ds.commitAttempts == 1)
        let pool = try ResourceClient(datastore: base).get(ResourceID(kind: .ipPool, name: "a")).resource.as(IPPool.self)
        #expect(pool?.spec.disabled == true)
    }

    @Test func concurrentAppliersAllLand() async throws {
        let store = MemoryDatastore()
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask {
                    let c = ResourceClient(datastore: store)
                    for i in 0..<10 {
                        _ = try? c.apply([Doc.peer("p-\(w)-\(i)", ip: "192.0.2.\(w * 10 + i + 1)", asn: 65000),
                                          Doc.peer("shared", ip: "198.51.100.\(w + 1)", asn: 65000)])
                    }
                }
            }
        }
        let peers = try ResourceClient(datastore: store).list(kind: .bgpPeer)
        #expect(peers.count == 81)
    }

    @Test func patchMergesThenValidates() throws {
        try client.apply([Doc.pool("a", "10.0.0.0/16", extra: [.init("natOutgoing", .bool(true))])])
        let id = ResourceID(kind: .ipPool, name: "a")
        let patched = try client.patch(id, mergePatch: .object([
            .init("spec", .object([.init("natOutgoing", .null), .init("disabled", .bool(true))])),
        ]))
        let pool = try #require(patched.resource.as(IPPool.self))
        #expect(pool.spec.natOutgoing == false)
        #expect(pool.spec.disabled == true)
        #expect {
            try client.patch(id, mergePatch: .object([.init("spec", .object([.init("bogus", .int(1))]))]))
        } throws: { "\($0)".contains("spec.bogus") }
    }

    @Test func typedUpdate() throws {
        try client.apply([Doc.peer("p", ip: "192.0.2.1", asn: 65001)])
        let id = ResourceID(kind: .bgpPeer, name: "p")
        let r = try client.update(id, typed: { (r: inout Resource) throws(ClientError) in
            guard case .bgpPeer(var peer) = r else { throw .rejected("not a peer") }
            peer.metadata.labels["rack"] = "r1"
            r = .bgpPeer(peer)
        })
        #expect(r.resource.metadata.labels == ["rack": "r1"])
        #expect(try client.get(id).resource.metadata.labels == ["rack": "r1"])
        #expect(try client.get(id).resource.metadata.uid == "uid-1")
    }

    @Test func listsInKeyOrderAndByName() throws {
        try client.apply([Doc.peer("b", ip: "192.0.2.2", asn: 1), Doc.peer("a", ip: "192.0.2.1", asn: 1)])
        #expect(try client.list(kind: .bgpPeer).map(\.name) == ["a", "b"])
        #expect(try client.list(kind: .bgpPeer, names: ["b"]).map(\.name) == ["b"])
        #expect(throws: ClientError.notFound(ResourceID(kind: .bgpPeer, name: "c"))) {
            try client.list(kind: .bgpPeer, names: ["b", "c"])
        }
    }

    @Test func validationErrorsOfEveryDocumentAreReported() throws {
        #expect {
            try client.apply([Doc.pool("a", "10.0.0.0/16", extra: [.init("blockSize", .int(50))]),
                              Doc.pool("b", "10.1.0.1/16"),
                              Doc.peer("p", ip: "192.0.2.1", asn: 65001)])
        } throws: { error in
            let text = "\(error)"
            return text.contains("document 1") && text.contains("spec.blockSize")
                && text.contains("document 2") && text.contains("spec.cidr")
        }
        #expect(try store.list(prefix: "/calico/").pairs.isEmpty)
    }

    @Test func undecodableStoredValueIsReplacedByApply() throws {
        try store.put("/calico/resources/v3/projectcalico.org/bgppeers/p", value: Array("not json".utf8))
        #expect {
            try client.list(kind: .bgpPeer)
        } throws: { error in
            guard case ClientError.corrupt(let key, _) = error else { return false }
            return key == "/calico/resources/v3/projectcalico.org/bgppeers/p"
        }
        let r = try client.apply([Doc.peer("p", ip: "192.0.2.1", asn: 65001)])
        #expect(r.items.map(\.outcome) == [.updated])
        #expect(try client.get(ResourceID(kind: .bgpPeer, name: "p")).resource.as(BGPPeer.self)?.spec.peerIP == "192.0.2.1")
    }

    @Test func duplicateInBatchIsRejected() throws {
        #expect {
            try client.apply([Doc.pool("a", "10.0.0.0/16"), Doc.pool("a", "10.1.0.0/16")])
        } throws: { "\($0)".contains("appears twice") }
    }
}

@Suite struct MergePatchTests {
    @Test func rfc7386Examples() throws {
        let target = try Value(json: #"{"a":"b","c":{"d":"e","f":"g"}}"#)
        let patch = try Value(json: #"{"a":"z","c":{"f":null}}"#)
        #expect(MergePatch.apply(patch, to: target) == (try Value(json: #"{"a":"z","c":{"d":"e"}}"#)))
        #expect(MergePatch.apply(try Value(json: #"{"a":[1]}"#), to: try Value(json: #"{"a":{"b":"c"}}"#))
                == (try Value(json: #"{"a":[1]}"#)))
        #expect(MergePatch.apply(try Value(json: #"{"a":{"bb":{"ccc":null}}}"#), to: try Value(json: #"{}"#))
                == (try Value(json: #"{"a":{"bb":{}}}"#)))
        #expect(MergePatch.apply(try Value(json: #"["c"]"#), to: try Value(json: #"{"a":"b"}"#))
                == (try Value(json: #"["c"]"#)))
    }
}

@Suite struct ResourceWatchTests {
    @Test func listThenWatchMissesNothing() throws {
        let store = MemoryDatastore()
        let client = ResourceClient(datastore: store)
        try client.apply([Doc.peer("a", ip: "192.0.2.1", asn: 65001), Doc.pool("p", "10.0.0.0/16")])
        let (peers, revision) = try client.listAll(kind: .bgpPeer)
        #expect(peers.map(\.name) == ["a"])

        let events = Locked<[ResourceEvent]>([])
        let handle = try client.watch(kind: .bgpPeer, afterRevision: revision) { e in events.withLock { $0.append(e) } }
        defer { handle.cancel() }
        try client.apply([Doc.peer("b", ip: "192.0.2.2", asn: 65002)])
        try client.delete([ResourceID(kind: .bgpPeer, name: "a")])

        #expect(eventually {
            events.withLock { $0.contains { if case .deleted = $0 { true } else { false } } }
        })
        let seen = events.withLock { $0 }
        let upserts = seen.compactMap { if case .upsert(let r) = $0 { r.name } else { nil } }
        let deletes = seen.compactMap { if case .deleted(let id, _) = $0 { id } else { nil } }
        #expect(upserts == ["b"])
        #expect(deletes == [ResourceID(kind: .bgpPeer, name: "a")])
        #expect(seen.contains { if case .inSync = $0 { true } else { false } })
    }
}

extension ResourceWatchTests {
    @Test func watchAllSeesEveryKind() throws {
        let store = MemoryDatastore()
        let client = ResourceClient(datastore: store)
        let events = Locked<[ResourceEvent]>([])
        let handle = try client.watchAll(afterRevision: try store.currentRevision()) { e in
            events.withLock { $0.append(e) }
        }
        defer { handle.cancel() }
        try client.apply([Doc.peer("a", ip: "192.0.2.1", asn: 65001), Doc.pool("p", "10.0.0.0/16")])
        try client.delete([ResourceID(kind: .ipPool, name: "p")])
        #expect(eventually { events.withLock { $0.contains { if case .deleted = $0 { true } else { false } } } })
        let seen = events.withLock { $0 }
        #expect(Set(seen.compactMap { if case .upsert(let r) = $0 { r.id } else { nil } })
                == [ResourceID(kind: .bgpPeer, name: "a"), ResourceID(kind: .ipPool, name: "p")])
        #expect(seen.contains(where: { $0 == .deleted(ResourceID(kind: .ipPool, name: "p"), revision: 2) }))
    }
}

/// A lock-protected value for collecting events from a watch queue.
final class Locked<T>: @unchecked Sendable {
    // Invariant: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func withLock<R>(_ body: (inout T) -> R) -> R { lock.withLock { body(&value) } }
}

@Suite struct IPAMRecordTests {
    /// IPAM records live at Calico's v2 keys (derived from the spec, not the name) in Calico's
    /// forms; the client still gets, lists and deletes them by name.
    @Test func blockAndAffinityRoundTrip() throws {
        let store = MemoryDatastore()
        let client = ResourceClient(datastore: store)
        let cidr = try #require(IPPrefix("10.244.1.0/26"))
        let block = Resource.ipamBlock(IPAMBlock(spec: IPAMBlockSpec(cidr: cidr, affinity: "host:node1")))
        let affinity = Resource.blockAffinity(BlockAffinity(spec: BlockAffinitySpec(node: "node1", cidr: cidr)))
        try client.apply([block, affinity])
        #expect(try store.get("/calico/ipam/v2/assignment/ipv4/block/10.244.1.0-26") != nil)
        #expect(try store.get("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.0-26") != nil)

        let blocks = try client.list(kind: .ipamBlock)
        #expect(blocks.map(\.name) == [block.name])
        #expect(blocks.first?.resource.as(IPAMBlock.self)?.spec.affinity == "host:node1")
        let affinities = try client.list(kind: .blockAffinity)
        #expect(affinities.map(\.name) == [affinity.name])
        #expect(try client.get(ResourceID(kind: .ipamBlock, name: block.name)).key
                == "/calico/ipam/v2/assignment/ipv4/block/10.244.1.0-26")

        try client.delete([ResourceID(kind: .blockAffinity, name: affinity.name)])
        #expect(try store.get("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.0-26") == nil)
        #expect(try client.list(kind: .ipamBlock).count == 1)
    }
}
