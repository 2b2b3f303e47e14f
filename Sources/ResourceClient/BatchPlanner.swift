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

/// A decoded, validated, defaulted document ready to plan: server-set metadata cleared, the
/// caller's `resourceVersion` (if any) kept aside as a revision precondition. Deletes carry
/// only the identity (`resource` nil).
struct PreparedDocument: Sendable {
    var ref: DocumentRef
    var id: ResourceID
    var key: String
    var resource: Resource?
    var userRevision: Int64?
}

/// The writes of one batch and the per-document result they produce.
struct BatchPlan: Sendable {
    struct Entry: Sendable {
        var ref: DocumentRef
        var id: ResourceID
        var key: String
        /// The resource as it will be stored (created/updated).
        var stored: Resource?
        /// The stored pair before the batch (updated/deleted/skipped).
        var previous: KVPair?
        var outcome: Outcome
    }

    var ops: [KVOperation] = []
    var entries: [Entry] = []
}

/// The functional core of a batch: given the prepared documents and the stored state of the
/// keys they touch (and every stored pool's name and CIDR, for overlap checks), decide the writes or the errors.
/// Nothing here does I/O; the client reads, calls `plan`, and commits the ops in one transaction.
enum BatchPlanner {
    struct Stamp: Sendable {
        var uid: String
        var creationTimestamp: String
    }

    static func plan(_ action: BatchAction, _ docs: [PreparedDocument], stored: [String: KVPair],
                     otherPools: [String: String], stamp: () -> Stamp) -> Result<BatchPlan, ClientError> {
        var plan = BatchPlan()
        var errors: [ClientError] = []

        for doc in docs {
            let old = stored[doc.key]
            func entry(_ stored: Resource?, _ outcome: Outcome) -> BatchPlan.Entry {
                .init(ref: doc.ref, id: doc.id, key: doc.key, stored: stored, previous: old, outcome: outcome)
            }
            if let rv = doc.userRevision, let old, rv != old.revision {
                errors.append(.conflict(doc.id, reason: staleMessage(rv, old.revision)))
                continue
            }
            switch action {
            case .delete(let skipMissing):
                guard let old else {
                    if skipMissing { plan.entries.append(entry(nil, .skipped)) } else { errors.append(.notFound(doc.id)) }
                    continue
                }
                plan.ops.append(.delete(key: doc.key, expectedRevision: old.revision))
                plan.entries.append(entry(nil, .deleted))

            case .create(let skipExisting):
                guard let new = doc.resource else { continue }
                if old != nil {
                    if skipExisting { plan.entries.append(entry(nil, .skipped)) } else { errors.append(.alreadyExists(doc.id)) }
                    continue
                }
                let stamped = stampedForCreate(new, stamp())
                plan.ops.append(.create(key: doc.key, value: ModelBridge.encode(stamped)))
                plan.entries.append(entry(stamped, .created))

            case .apply, .replace:
                guard let new = doc.resource else { continue }
                guard let old else {
                    if action == .replace {
                        errors.append(.notFound(doc.id))
                        continue
                    }
                    let stamped = stampedForCreate(new, stamp())
                    plan.ops.append(.create(key: doc.key, value: ModelBridge.encode(stamped)))
                    plan.entries.append(entry(stamped, .created))
                    continue
                }
                // A stored value that no longer decodes (written by an older version, or by
                // hand) is simply replaced: nothing to keep, nothing to compare.
                var merged = stampedForCreate(new, stamp())
                if let oldResource = try? ModelBridge.decode(old) {
                    let immutable = CrossChecks.immutableFieldErrors(old: oldResource, new: new)
                    if !immutable.isEmpty {
                        errors.append(.invalid(ResourceError(doc.ref, immutable)))
                        continue
                    }
                    merged = mergedForUpdate(new, stored: oldResource)
                }
                plan.ops.append(.update(key: doc.key, value: ModelBridge.encode(merged), expectedRevision: old.revision))
                plan.entries.append(entry(merged, .updated))
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

    /// Create: the user's metadata with uid and creationTimestamp set.
    static func stampedForCreate(_ r: Resource, _ stamp: Stamp) -> Resource {
        var r = r
        r.metadata.uid = stamp.uid
        r.metadata.creationTimestamp = stamp.creationTimestamp
        return r
    }

    /// Update: the new spec, labels and annotations; the stored uid and creationTimestamp.
    static func mergedForUpdate(_ r: Resource, stored: Resource) -> Resource {
        var r = r
        r.metadata.uid = stored.metadata.uid
        r.metadata.creationTimestamp = stored.metadata.creationTimestamp
        return r
    }
}
