import Datastore
import Foundation
import NodeModel

/// The result of one batch: the revision it was written at and what happened to each document.
public struct BatchResult: Sendable {
    public struct Item: Sendable {
        public var ref: DocumentRef
        public var id: ResourceID
        public var outcome: Outcome
        /// The resource as stored now (created/updated), or as it was (deleted/skipped).
        public var resource: StoredResource?
    }

    /// The datastore revision of the write (every resource of the batch has it).
    public var revision: Int64
    public var items: [Item]

    public func count(_ outcome: Outcome) -> Int { items.filter { $0.outcome == outcome }.count }
}

/// Typed CRUD over any `Datastore`, storing Calico's v3 JSON at Calico's keys.
///
/// - Every document is decoded, defaulted and validated (NodeModel) before anything is written,
///   then cross-checked against the stored state (pool overlap, immutable fields).
/// - A batch is all or nothing: one `commit` carries every write with a revision precondition
///   for each key it read, so concurrent writers never lose an update. When a precondition
///   fails and the caller gave no `resourceVersion`, the whole batch is re-read, re-planned and
///   retried; with a caller-given `resourceVersion` the conflict is reported.
/// - `metadata.resourceVersion` is the key's revision (a decimal string); `uid` and
///   `creationTimestamp` are set on create and kept on update.
public final class ResourceClient: Sendable {
    public let datastore: any Datastore
    let clock: @Sendable () -> Date
    let makeUID: @Sendable () -> String
    let maxAttempts: Int

    public init(datastore: any Datastore, clock: @escaping @Sendable () -> Date = { Date() },
                uid: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() },
                maxAttempts: Int = 50) {
        self.datastore = datastore
        self.clock = clock
        self.makeUID = uid
        self.maxAttempts = maxAttempts
    }

    // MARK: Reads

    /// One resource; `.notFound` if absent.
    public func get(_ id: ResourceID) throws(ClientError) -> StoredResource {
        let k = try key(id)
        guard let pair = try ds({ () throws(DatastoreError) in try datastore.get(k) }) else {
            throw .notFound(id)
        }
        return try resource(from: pair, id: id)
    }

    /// Every resource of `kind` (in name order), or just `names` (in the order given; `.notFound`
    /// for the first missing one). `namespace` "" lists all namespaces of a namespaced kind.
    public func list(kind: ResourceKind, names: [String] = [], namespace: String = "") throws(ClientError) -> [StoredResource] {
        if !names.isEmpty {
            var out: [StoredResource] = []
            for n in names { out.append(try get(ResourceID(kind: kind, name: n, namespace: namespace))) }
            return out
        }
        let prefix = try ModelBridge.listPrefix(kind: kind, namespace: namespace)
        let listing = try ds { () throws(DatastoreError) in try datastore.list(prefix: prefix) }
        var out: [StoredResource] = []
        for pair in listing.pairs {
            out.append(try resource(from: pair, id: nil, kind: kind))
        }
        return out
    }

    // MARK: Writes

    /// Decodes, validates and writes `documents` as one all-or-nothing batch.
    @discardableResult
    public func submit(_ action: BatchAction, documents: [Value]) throws(ClientError) -> BatchResult {
        let prepared = try prepare(documents, identityOnly: isDelete(action))
        return try run(action, prepared)
    }

    @discardableResult
    public func create(_ documents: [Value], skipExisting: Bool = false) throws(ClientError) -> BatchResult {
        try submit(.create(skipExisting: skipExisting), documents: documents)
    }

    @discardableResult
    public func apply(_ documents: [Value]) throws(ClientError) -> BatchResult {
        try submit(.apply, documents: documents)
    }

    @discardableResult
    public func replace(_ documents: [Value]) throws(ClientError) -> BatchResult {
        try submit(.replace, documents: documents)
    }

    /// Deletes by identity, all or nothing. IPPools are deleted in one step: Calico first
    /// disables the pool and releases its block affinities, which needs IPAM (not built yet).
    @discardableResult
    public func delete(_ ids: [ResourceID], skipMissing: Bool = false) throws(ClientError) -> BatchResult {
        var prepared: [PreparedDocument] = []
        for (i, id) in ids.enumerated() {
            prepared.append(PreparedDocument(ref: ref(id, index: i), id: id, key: try key(id),
                                             document: .null, userRevision: nil))
        }
        return try run(.delete(skipMissing: skipMissing), prepared)
    }

    /// Everything `apply` would check (decoding, defaults, validation, overlap with stored
    /// pools, immutable fields), without writing. Returns the resources as they would be stored.
    public func validate(_ documents: [Value]) throws(ClientError) -> [StoredResource] {
        let prepared = try prepare(documents, identityOnly: false)
        let (plan, _) = try planAgainstStore(.apply, prepared)
        return plan.entries.compactMap { e in e.stored.map { StoredResource(id: e.id, document: $0, revision: 0) } }
    }

    /// Read-modify-write of one resource; the change is validated like an apply, and retried
    /// from a fresh read if another writer got in between.
    @discardableResult
    public func update(_ id: ResourceID,
                       _ change: (inout Value) throws(ClientError) -> Void) throws(ClientError) -> StoredResource {
        for _ in 0..<maxAttempts {
            let current = try get(id)
            var doc = current.document
            try change(&doc)
            var meta = doc["metadata"] ?? .object([])
            meta["resourceVersion"] = .string(String(current.revision))
            doc["metadata"] = meta
            do {
                let result = try submit(.replace, documents: [doc])
                if let r = result.items.first?.resource { return r }
                return try get(id)
            } catch {
                if case .conflict = error { continue }
                throw error
            }
        }
        throw .conflict(id, reason: "gave up after \(maxAttempts) concurrent modifications")
    }

    /// Applies an RFC 7386 merge patch to the stored document, then validates and writes it.
    @discardableResult
    public func patch(_ id: ResourceID, mergePatch: Value) throws(ClientError) -> StoredResource {
        try update(id) { (doc: inout Value) throws(ClientError) in
            let before = doc
            doc = MergePatch.apply(mergePatch, to: doc)
            // Identity is not patchable: the patch applies to this resource.
            doc["kind"] = before["kind"]
            doc["apiVersion"] = before["apiVersion"]
            var meta = doc["metadata"] ?? .object([])
            meta["name"] = before["metadata"]?["name"]
            meta["namespace"] = before["metadata"]?["namespace"]
            doc["metadata"] = meta
        }
    }

    // MARK: Internals

    private func isDelete(_ a: BatchAction) -> Bool {
        if case .delete = a { true } else { false }
    }

    private func run(_ action: BatchAction, _ prepared: [PreparedDocument]) throws(ClientError) -> BatchResult {
        let retry = !prepared.contains { $0.userRevision != nil }
        var attempt = 0
        while true {
            attempt += 1
            let (plan, _) = try planAgainstStore(action, prepared)
            do {
                let revision = try datastore.commit(plan.ops)
                return result(plan, revision: revision)
            } catch {
                switch error {
                case .conflict, .alreadyExists, .notFound:
                    if retry, attempt < maxAttempts { continue }
                    if case .conflict(let key, _, _) = error, let doc = prepared.first(where: { $0.key == key }) {
                        throw .conflict(doc.id, reason: "modified concurrently; re-read it and try again")
                    }
                    throw .datastore(error)
                default:
                    throw .datastore(error)
                }
            }
        }
    }

    /// Reads the stored state the batch depends on and plans it.
    private func planAgainstStore(_ action: BatchAction,
                                  _ prepared: [PreparedDocument]) throws(ClientError) -> (BatchPlan, Int64) {
        var stored: [String: KVPair] = [:]
        var revision: Int64 = 0
        var pools: [ResourceID: Value] = [:]
        let needsPools = !isDelete(action) && prepared.contains { $0.id.kind == .ipPool }
        if needsPools {
            // One listing covers every pool key the batch touches and the overlap check.
            let listing = try ds { () throws(DatastoreError) in
                try datastore.list(prefix: try ModelBridge.listPrefix(kind: .ipPool, namespace: ""))
            }
            revision = listing.revision
            for pair in listing.pairs {
                stored[pair.key] = pair
                if let doc = try? Value(jsonBytes: pair.value), let name = doc["metadata"]?["name"]?.stringValue {
                    pools[ResourceID(kind: .ipPool, name: name)] = doc
                }
            }
        }
        // Few keys: point reads. Many: one listing per kind is far cheaper than N reads.
        var byKind: [ResourceKind: [PreparedDocument]] = [:]
        for p in prepared where stored[p.key] == nil { byKind[p.id.kind, default: []].append(p) }
        for (kind, docs) in byKind {
            if needsPools, kind == .ipPool { continue }
            if docs.count > 16, let prefix = try? ModelBridge.listPrefix(kind: kind, namespace: "") {
                let listing = try ds { () throws(DatastoreError) in try datastore.list(prefix: prefix) }
                let wanted = Set(docs.map(\.key))
                for pair in listing.pairs where wanted.contains(pair.key) { stored[pair.key] = pair }
            } else {
                for d in docs {
                    if let pair = try ds({ () throws(DatastoreError) in try datastore.get(d.key) }) {
                        stored[d.key] = pair
                    }
                }
            }
        }
        let now = Self.timestamp(clock())
        let plan = BatchPlanner.plan(action, prepared, stored: stored, otherPools: pools) {
            BatchPlanner.Stamp(uid: makeUID(), creationTimestamp: now)
        }
        switch plan {
        case .success(let p): return (p, revision)
        case .failure(let e): throw e
        }
    }

    private func result(_ plan: BatchPlan, revision: Int64) -> BatchResult {
        var items: [BatchResult.Item] = []
        for e in plan.entries {
            var res: StoredResource?
            if let doc = e.stored {
                res = StoredResource(id: e.id, document: withVersion(doc, revision), revision: revision)
            } else if let prev = e.previous {
                res = try? resource(from: prev, id: e.id)
            }
            items.append(.init(ref: e.ref, id: e.id, outcome: e.outcome, resource: res))
        }
        return BatchResult(revision: revision, items: items)
    }

    /// Expands lists, then decodes each document; collects every invalid one so the user sees
    /// them all at once.
    func prepare(_ documents: [Value], identityOnly: Bool) throws(ClientError) -> [PreparedDocument] {
        let flat: [(ref: DocumentRef, value: Value, listKind: ResourceKind?)]
        do { flat = try ResourceDocuments.flatten(documents) } catch { throw .invalid(error) }
        var out: [PreparedDocument] = []
        var errors: [ClientError] = []
        var seen: [String: DocumentRef] = [:]
        for (i, item) in flat.enumerated() {
            let ref0 = ModelBridge.documentRef(item.value, index: i)
            do throws(ClientError) {
                var doc = item.value
                var userRevision: Int64?
                if var meta = doc["metadata"], case .object = meta {
                    if let rv = meta["resourceVersion"] {
                        switch rv {
                        case .string(let s) where s.isEmpty: break
                        case .string(let s):
                            guard let n = Int64(s), n > 0 else {
                                throw ClientError.invalid(ref0, "metadata.resourceVersion",
                                                          "'\(s)' is not a resource version")
                            }
                            userRevision = n
                        case .int(let n): userRevision = n
                        default:
                            throw ClientError.invalid(ref0, "metadata.resourceVersion",
                                                      "must be a string, got \(rv.typeName)")
                        }
                    }
                    for k in serverMetadataKeys { meta[k] = nil }
                    doc["metadata"] = meta
                }
                let id: ResourceID
                var canonicalDoc = Value.null
                if identityOnly {
                    id = try ModelBridge.identity(doc, ref: ref0, listKind: item.listKind)
                } else {
                    (id, canonicalDoc) = try ModelBridge.decode(doc, ref: ref0, listKind: item.listKind)
                }
                let docRef = ref(id, index: i)
                let key = try ModelBridge.key(id)
                if let first = seen[key] {
                    throw ClientError.invalid(docRef, "metadata.name",
                                              "\(id) appears twice in the input (also \(first))")
                }
                seen[key] = docRef
                out.append(PreparedDocument(ref: docRef, id: id, key: key, document: canonicalDoc,
                                            userRevision: userRevision))
            } catch {
                errors += error.all
            }
        }
        if !errors.isEmpty { throw .combine(errors) }
        return out
    }

    private func ref(_ id: ResourceID, index: Int) -> DocumentRef {
        var r = id.documentRef
        r.index = index
        return r
    }

    private func key(_ id: ResourceID) throws(ClientError) -> String { try ModelBridge.key(id) }

    private func resource(from pair: KVPair, id: ResourceID?, kind: ResourceKind? = nil) throws(ClientError) -> StoredResource {
        let doc: Value
        do { doc = try Value(jsonBytes: pair.value) } catch {
            throw .datastore(.unavailable("stored value at \(pair.key) is not JSON: \(error)"))
        }
        let rid = id ?? ResourceID(kind: kind ?? doc["kind"]?.stringValue.flatMap(ResourceKind.init(kindName:)) ?? .ipPool,
                                   name: doc["metadata"]?["name"]?.stringValue ?? "",
                                   namespace: doc["metadata"]?["namespace"]?.stringValue ?? "")
        return StoredResource(id: rid, document: withVersion(doc, pair.revision), revision: pair.revision)
    }

    private func withVersion(_ doc: Value, _ revision: Int64) -> Value {
        var d = doc
        var meta = d["metadata"] ?? .object([])
        meta["resourceVersion"] = .string(String(revision))
        d["metadata"] = meta
        return d
    }

    private func ds<T>(_ body: () throws(DatastoreError) -> T) throws(ClientError) -> T {
        do { return try body() } catch { throw .datastore(error) }
    }

    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
