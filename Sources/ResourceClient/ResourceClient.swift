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

    /// The datastore revision of the write (every resource written by the batch has it).
    public var revision: Int64
    public var items: [Item]

    public func count(_ outcome: Outcome) -> Int { items.filter { $0.outcome == outcome }.count }
}

/// Typed CRUD over any `Datastore`, storing Calico's JSON at Calico's keys (NodeModel's
/// `ResourceKeys` / `ResourceStorage`).
///
/// - Every document is decoded strictly, defaulted and validated (NodeModel) before anything is
///   written, then cross-checked against the stored state (pool overlap, immutable fields).
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
                maxAttempts: Int = 100) {
        self.datastore = datastore
        self.clock = clock
        self.makeUID = uid
        self.maxAttempts = maxAttempts
    }

    // MARK: Reads

    /// One resource; `.notFound` if absent.
    public func get(_ id: ResourceID) throws(ClientError) -> StoredResource {
        guard ModelBridge.keyedByName(id.kind) else {
            guard let r = try list(kind: id.kind).first(where: { $0.name == id.name }) else { throw .notFound(id) }
            return r
        }
        let key = ModelBridge.key(id)
        guard let pair = try ds({ () throws(DatastoreError) in try datastore.get(key) }) else { throw .notFound(id) }
        return try stored(pair)
    }

    /// Every resource of `kind` in key order, or just `names` (in the order given; `.notFound`
    /// for the first missing one). `namespace` "" lists every namespace of a namespaced kind.
    public func list(kind: ResourceKind, names: [String] = [], namespace: String = "") throws(ClientError) -> [StoredResource] {
        if !names.isEmpty {
            var out: [StoredResource] = []
            for n in names {
                let ns = kind.isNamespaced ? (namespace.isEmpty ? "default" : namespace) : ""
                out.append(try get(ResourceID(kind: kind, name: n, namespace: ns)))
            }
            return out
        }
        return try listAll(kind: kind, namespace: namespace).resources
    }

    /// Every resource of `kind` and the store revision of the listing (start a watch after it).
    public func listAll(kind: ResourceKind, namespace: String = "") throws(ClientError) -> (resources: [StoredResource], revision: Int64) {
        let prefix = ModelBridge.listPrefix(kind: kind, namespace: namespace)
        let listing = try ds { () throws(DatastoreError) in try datastore.list(prefix: prefix) }
        var out: [StoredResource] = []
        for pair in listing.pairs {
            // IPAM prefixes hold several record types (a node's affinities sit under host/).
            if !ModelBridge.keyedByName(kind), (try? ModelBridge.decode(pair))?.kind != kind { continue }
            out.append(try stored(pair))
        }
        return (out, listing.revision)
    }

    // MARK: Writes

    /// Decodes, validates and writes `documents` (lists expanded) as one all-or-nothing batch.
    @discardableResult
    public func submit(_ action: BatchAction, documents: [Value]) throws(ClientError) -> BatchResult {
        try run(action, try prepare(documents, identityOnly: isDelete(action)))
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

    /// Typed variants for code that builds resources (the node agent registering its Node).
    @discardableResult
    public func apply(_ resources: [Resource]) throws(ClientError) -> BatchResult {
        try submit(.apply, documents: resources.map { $0.toValue() })
    }

    /// Deletes by identity, all or nothing. IPPools are deleted in one step: Calico first
    /// disables the pool and releases its block affinities, which needs IPAM (not built yet).
    @discardableResult
    public func delete(_ ids: [ResourceID], skipMissing: Bool = false) throws(ClientError) -> BatchResult {
        var prepared: [PreparedDocument] = []
        var seen: Set<ResourceID> = []
        for (i, id) in ids.enumerated() where seen.insert(id).inserted {
            let ref = ref(id, index: i)
            try ModelBridge.checkName(id, ref: ref)
            var key = ModelBridge.key(id)
            if !ModelBridge.keyedByName(id.kind) {
                // IPAM records: find the key by listing (a missing one plans as not found).
                key = (try? get(id))?.key ?? key
            }
            prepared.append(PreparedDocument(ref: ref, id: id, key: key, resource: nil, userRevision: nil))
        }
        return try run(.delete(skipMissing: skipMissing), prepared)
    }

    /// Everything `apply` would check (decoding, defaults, validation, overlap with stored
    /// pools, immutable fields), without writing. Returns the resources as they would be stored.
    public func validate(_ documents: [Value]) throws(ClientError) -> [Resource] {
        let prepared = try prepare(documents, identityOnly: false)
        return try planAgainstStore(.apply, prepared).entries.compactMap(\.stored)
    }

    /// Read-modify-write of one resource: `change` edits the full v3 document, which is then
    /// validated like an apply. Retried from a fresh read if another writer got in between.
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

    /// Typed read-modify-write (the node agent updating its Node): `change` edits the decoded
    /// resource; validated and retried like `update`.
    @discardableResult
    public func update(_ id: ResourceID,
                       typed change: (inout Resource) throws(ClientError) -> Void) throws(ClientError) -> StoredResource {
        try update(id) { (doc: inout Value) throws(ClientError) in
            var r: Resource
            do throws(FieldError) { r = try Resource(from: doc) } catch { throw .invalid(ResourceError(id.documentRef, error)) }
            try change(&r)
            doc = r.toValue()
        }
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
            let plan = try planAgainstStore(action, prepared)
            do {
                let revision = try datastore.commit(plan.ops)
                return result(plan, revision: revision)
            } catch {
                switch error {
                case .conflict, .alreadyExists, .notFound:
                    // Another writer got in between our read and our commit: re-read and re-plan
                    // (the plan then reports "already exists" etc. if that is now the truth).
                    if retry, attempt < maxAttempts { continue }
                    if let doc = prepared.first(where: { $0.key == error.key }) {
                        throw .conflict(doc.id, reason: "modified concurrently (\(error)); re-read it and try again")
                    }
                    throw .datastore(error)
                default:
                    throw .datastore(error)
                }
            }
        }
    }

    /// Reads the stored state the batch depends on and plans it.
    private func planAgainstStore(_ action: BatchAction, _ prepared: [PreparedDocument]) throws(ClientError) -> BatchPlan {
        var stored: [String: KVPair] = [:]
        var pools: [String: String] = [:]
        let needsPools = !isDelete(action) && prepared.contains { $0.id.kind == .ipPool }
        if needsPools {
            // One listing covers every pool key the batch touches and the overlap check.
            let prefix = ModelBridge.listPrefix(kind: .ipPool, namespace: "")
            let listing = try ds { () throws(DatastoreError) in try datastore.list(prefix: prefix) }
            for pair in listing.pairs {
                stored[pair.key] = pair
                // Name and CIDR are all the overlap check needs: skip the typed decode.
                if let v = try? Value(jsonBytes: pair.value), let name = v["metadata"]?["name"]?.stringValue,
                   let cidr = v["spec"]?["cidr"]?.stringValue {
                    pools[name] = cidr
                }
            }
        }
        // Few keys of a kind: point reads. Many: one listing is far cheaper than N reads.
        var byKind: [ResourceKind: [PreparedDocument]] = [:]
        for p in prepared where !(needsPools && p.id.kind == .ipPool) { byKind[p.id.kind, default: []].append(p) }
        for (kind, docs) in byKind {
            if docs.count > 16 {
                let prefix = ModelBridge.listPrefix(kind: kind, namespace: "")
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
        case .success(let p): return p
        case .failure(let e): throw e
        }
    }

    private func result(_ plan: BatchPlan, revision: Int64) -> BatchResult {
        var items: [BatchResult.Item] = []
        for e in plan.entries {
            var res: StoredResource?
            if var r = e.stored {
                r.metadata.resourceVersion = String(revision)
                res = StoredResource(key: e.key, resource: r, revision: revision)
            } else if let prev = e.previous {
                res = try? stored(prev)
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
                let userRevision = try Self.takeServerMetadata(&doc, ref: ref0)
                let id: ResourceID
                var resource: Resource?
                var key: String
                if identityOnly {
                    id = try ModelBridge.identity(doc, ref: ref0, listKind: item.listKind)
                    key = ModelBridge.key(id)
                    if !ModelBridge.keyedByName(id.kind) { key = (try? get(id))?.key ?? key }
                } else {
                    let r = try ModelBridge.decode(doc, ref: ref0, listKind: item.listKind)
                    id = ResourceID(r)
                    key = ModelBridge.key(r)
                    resource = r
                }
                let docRef = ref(id, index: i)
                if let first = seen[key] {
                    throw ClientError.invalid(docRef, "metadata.name", "\(id) appears twice in the input (also \(first))")
                }
                seen[key] = docRef
                out.append(PreparedDocument(ref: docRef, id: id, key: key, resource: resource, userRevision: userRevision))
            } catch {
                errors += error.all
            }
        }
        if !errors.isEmpty { throw .combine(errors) }
        return out
    }

    /// Metadata the server sets; never taken from the user's document.
    static let serverMetadataKeys = [
        "resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink",
        "deletionTimestamp", "deletionGracePeriodSeconds",
    ]

    /// Removes server-set metadata from `doc`; returns the caller's resourceVersion, if any.
    static func takeServerMetadata(_ doc: inout Value, ref: DocumentRef) throws(ClientError) -> Int64? {
        guard var meta = doc["metadata"], case .object = meta else { return nil }
        var userRevision: Int64?
        switch meta["resourceVersion"] {
        case nil, .null?: break
        case .string(let s)? where s.isEmpty: break
        case .string(let s)?:
            guard let n = Int64(s), n > 0 else {
                throw .invalid(ref, "metadata.resourceVersion", "\"\(s)\" is not a resource version (a revision number)")
            }
            userRevision = n
        case .int(let n)?: userRevision = n
        case let other?:
            throw .invalid(ref, "metadata.resourceVersion", "must be a string, got \(other.typeName)")
        }
        for k in serverMetadataKeys { meta[k] = nil }
        doc["metadata"] = meta
        return userRevision
    }

    private func ref(_ id: ResourceID, index: Int) -> DocumentRef {
        var r = id.documentRef
        r.index = index
        return r
    }

    private func stored(_ pair: KVPair) throws(ClientError) -> StoredResource {
        StoredResource(key: pair.key, resource: try ModelBridge.decode(pair), revision: pair.revision)
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

extension DatastoreError {
    /// The key a precondition failure names, if any.
    var key: String? {
        switch self {
        case .notFound(let k), .alreadyExists(let k), .conflict(let k, _, _): k
        default: nil
        }
    }
}
