/// The precondition rule of `commit`, shared by every backend (the functional core of a write).
///
/// `existing` is the stored (mod) revision of the op's key as seen by this op, i.e. after the
/// earlier ops of the same commit. Returns the error naming the key, or nil when the op may apply.
func preconditionFailure(of op: KVOperation, existingRevision: Int64?) -> DatastoreError? {
    switch op {
    case .create(let key, _):
        return existingRevision == nil ? nil : .alreadyExists(key: key)
    case .put:
        return nil
    case .update(let key, _, let expected), .delete(let key, let expected):
        guard let actual = existingRevision else {
            if let expected { return .conflict(key: key, expected: expected, actual: nil) }
            return .notFound(key: key)
        }
        if let expected, expected != actual { return .conflict(key: key, expected: expected, actual: actual) }
        return nil
    }
}

extension KVOperation {
    /// The value written, or nil for a delete.
    var writtenValue: [UInt8]? {
        switch self {
        case .create(_, let v), .update(_, let v, _), .put(_, let v): v
        case .delete: nil
        }
    }
}

/// One entry of the change history: a put (value present) or a delete (value nil).
struct ChangeRecord: Sendable, Hashable {
    var revision: Int64
    var key: String
    var value: [UInt8]?
    var createRevision: Int64

    var event: WatchEvent {
        if let value {
            .put(KVPair(key: key, value: value, revision: revision, createRevision: createRevision))
        } else {
            .deleted(key: key, revision: revision)
        }
    }
}
