import Datastore
import NetCore
import NodeModel

/// What a batch does to each of its documents.
public enum BatchAction: Hashable, Sendable {
    /// Fails for documents that exist (or skips them with `skipExisting`).
    case create(skipExisting: Bool)
    /// Create or update.
    case apply
    /// Update; fails for documents that do not exist.
    case replace
    /// Fails for documents that do not exist (or skips them with `skipMissing`).
    case delete(skipMissing: Bool)
}

/// What happened to one document.
public enum Outcome: String, Hashable, Sendable {
    case created, updated, deleted, skipped
}

/// A decoded, validated, defaulted document ready to plan: server-set metadata stripped,
/// the caller's `resourceVersion` (if any) kept aside as a revision precondition.
struct PreparedDocument: Sendable {
    var ref: DocumentRef
    var id: ResourceID
    var key: String
    var document: Value
    var userRevision: Int64?
}

/// The writes of one batch and the per-document result they produce.
struct BatchPlan: Sendable {
    struct Entry: Sendable {
        var ref: DocumentRef
        var id: ResourceID
        /// The document as it will be stored (nil for deletes and skips: see `previous`).
        var stored: Value?
        /// The document as it was before (for deletes and skips).
        var previous: KVPair?
        var outcome: Outcome
    }

    var ops: [KVOperation] = []
    var entries: [Entry] = []
}

/// Metadata the server sets; never taken from the user's document.
let serverMetadataKeys: Set<String> = [
    "resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink", "deletionTimestamp",
    "deletionGracePeriodSeconds",
]

/// The functional core of a batch: given the prepared documents and the stored state of the
/// keys they touch (and every stored pool, for overlap checks), decide the writes or the errors.
/// Nothing here does I/O; the client reads, calls `plan`, and commits the ops in one transaction.
enum BatchPlanner {
    struct Stamp: Sendable {
        var uid: String
        var creationTimestamp: String
    }

    static func plan(_ action: BatchAction, _ docs: [PreparedDocument], stored: [String: KVPair],
                     otherPools: [ResourceID: Value], stamp: () -> Stamp) -> Result<BatchPlan, ClientError> {
        var plan = BatchPlan()
        var errors: [ClientError] = []

        for doc in docs {
            let old = stored[doc.key]
            switch action {
            case .delete(let skipMissing):
                guard let old else {
                    if skipMissing {
                        plan.entries.append(.init(ref: doc.ref, id: doc.id, stored: nil, previous: nil, outcome: .skipped))
                    } else {
                        errors.append(.notFound(doc.id))
                    }
                    continue
                }
                if let rv = doc.userRevision, rv != old.revision {
                    errors.append(.conflict(doc.id, reason: staleMessage(rv, old.revision)))
                    continue
                }
                plan.ops.append(.delete(key: doc.key, expectedRevision: old.revision))
                plan.entries.append(.init(ref: doc.ref, id: doc.id, stored: nil, previous: old, outcome: .deleted))

            case .create(let skipExisting):
                if let old {
                    if skipExisting {
                        plan.entries.append(.init(ref: doc.ref, id: doc.id, stored: nil, previous: old, outcome: .skipped))
                    } else {
                        errors.append(.alreadyExists(doc.id))
                    }
                    continue
                }
                let new = stampedForCreate(doc.document, stamp())
                plan.ops.append(.create(key: doc.key, value: encode(new)))
                plan.entries.append(.init(ref: doc.ref, id: doc.id, stored: new, previous: nil, outcome: .created))

            case .apply, .replace:
                guard let old else {
                    if action == .replace {
                        errors.append(.notFound(doc.id))
                        continue
                    }
                    let new = stampedForCreate(doc.document, stamp())
                    plan.ops.append(.create(key: doc.key, value: encode(new)))
                    plan.entries.append(.init(ref: doc.ref, id: doc.id, stored: new, previous: nil, outcome: .created))
                    continue
                }
                if let rv = doc.userRevision, rv != old.revision {
                    errors.append(.conflict(doc.id, reason: staleMessage(rv, old.revision)))
                    continue
                }
                let oldDoc = (try? Value(jsonBytes: old.value)) ?? .object([])
                let immutable = CrossChecks.immutableFieldErrors(kind: doc.id.kind, old: oldDoc, new: doc.document)
                if !immutable.isEmpty {
                    errors += immutable.map { .invalid(doc.ref, $0.field, $0.reason) }
                    continue
                }
                let new = mergedForUpdate(doc.document, stored: oldDoc)
                plan.ops.append(.update(key: doc.key, value: encode(new), expectedRevision: old.revision))
                plan.entries.append(.init(ref: doc.ref, id: doc.id, stored: new, previous: old, outcome: .updated))
            }
        }

        if case .delete = action {} else {
            errors += CrossChecks.poolOverlapErrors(plan.entries, otherPools: otherPools)
        }
        if !errors.isEmpty { return .failure(.combine(errors)) }
        return .success(plan)
    }

    static func staleMessage(_ given: Int64, _ actual: Int64) -> String {
        "resource version '\(given)' is out of date (latest: \(actual)); update the resource YAML/JSON to make changes"
    }

    /// Create: keep the user's metadata (minus server fields) and set uid and creationTimestamp.
    static func stampedForCreate(_ doc: Value, _ stamp: Stamp) -> Value {
        var d = doc
        var meta = d["metadata"] ?? .object([])
        meta["uid"] = .string(stamp.uid)
        meta["creationTimestamp"] = .string(stamp.creationTimestamp)
        d["metadata"] = meta
        return d
    }

    /// Update: the new spec, labels and annotations; the stored uid and creationTimestamp.
    static func mergedForUpdate(_ doc: Value, stored: Value) -> Value {
        var d = doc
        var meta = d["metadata"] ?? .object([])
        for key in ["uid", "creationTimestamp"] {
            if let v = stored["metadata"]?[key] { meta[key] = v }
        }
        d["metadata"] = meta
        return d
    }

    /// The stored form: the document without `resourceVersion` (the revision is the version).
    static func encode(_ doc: Value) -> [UInt8] {
        Array(doc.json.utf8)
    }
}
