/// The datastore contract every backend (SQLite now, etcd later) implements.
///
/// It is a key/value store with etcd v3 semantics, because etcd is where Calico keeps its state
/// and the etcd backend must store the very same keys: keys are Calico's paths
/// (`/calico/resources/v3/projectcalico.org/<plural>/<name>`, `/calico/ipam/v2/...`), values are
/// the resource's JSON bytes, and every write gets a new global revision (etcd's mod_revision).
/// A resource's `metadata.resourceVersion` is the revision of its last write.
///
/// The API is synchronous on purpose: twillctl and the CNI plugin are one-shot processes, and the
/// agent runs it on its own queue. Implementations must be safe to call from several threads
/// and, for SQLite, from several processes on the same file.
public protocol Datastore: AnyObject, Sendable {
    /// The value at `key`, or nil.
    func get(_ key: String) throws(DatastoreError) -> KVPair?

    /// Every pair whose key starts with `prefix`, in key order, and the store revision the
    /// listing was taken at: `watch(prefix:afterRevision: list.revision)` then misses nothing
    /// (etcd's start revision `revision + 1`).
    ///
    /// Prefixes and key order are byte-wise on UTF-8, as in etcd: `/a/b` covers `/a/bc`,
    /// `/a/b/` does not. End a prefix with `/` for directory semantics.
    func list(prefix: String) throws(DatastoreError) -> KVList

    /// Applies all operations or none (etcd Txn). Fails with `.conflict`, `.notFound` or
    /// `.alreadyExists` naming the first key whose precondition failed.
    /// Returns the revision of the write (the store revision if `ops` is empty).
    ///
    /// Every write of one commit gets the same new revision. Operations apply in order, each
    /// precondition seeing the earlier operations of the same commit (so `[.delete(k), .create(k)]`
    /// recreates `k`); watches receive the writes of one commit in operation order.
    @discardableResult
    func commit(_ ops: [KVOperation]) throws(DatastoreError) -> Int64

    /// Streams changes under `prefix` with revision > `afterRevision`, in revision order,
    /// then `.inSync` once caught up; afterwards new changes as they happen (latency target
    /// < 100 ms across processes). The handler runs on a queue owned by the watch, serially.
    /// If history before `afterRevision` is no longer available the watch delivers
    /// `.resyncRequired` and stops: the caller re-lists and watches again (etcd compaction).
    ///
    /// The watch lives as long as its handle: keep the handle, and `cancel()` it (releasing the
    /// last reference cancels too). Do not cancel one watch from another watch's handler while
    /// that one may be cancelling yours (each waits for the other's running handler).
    func watch(prefix: String, afterRevision: Int64,
               handler: @escaping @Sendable (WatchEvent) -> Void) throws(DatastoreError) -> any WatchHandle

    /// Current store revision.
    func currentRevision() throws(DatastoreError) -> Int64
}

extension Datastore {
    /// Creates `key`; `.alreadyExists` if present.
    @discardableResult
    public func create(_ key: String, value: [UInt8]) throws(DatastoreError) -> Int64 {
        try commit([.create(key: key, value: value)])
    }

    /// Replaces `key`. With `expectedRevision`, fails with `.conflict` unless the stored
    /// revision matches; without it, fails with `.notFound` only if the key is absent.
    @discardableResult
    public func update(_ key: String, value: [UInt8], expectedRevision: Int64? = nil) throws(DatastoreError) -> Int64 {
        try commit([.update(key: key, value: value, expectedRevision: expectedRevision)])
    }

    /// Creates or replaces `key` unconditionally.
    @discardableResult
    public func put(_ key: String, value: [UInt8]) throws(DatastoreError) -> Int64 {
        try commit([.put(key: key, value: value)])
    }

    /// Deletes `key`; `.notFound` if absent, `.conflict` if `expectedRevision` does not match.
    @discardableResult
    public func delete(_ key: String, expectedRevision: Int64? = nil) throws(DatastoreError) -> Int64 {
        try commit([.delete(key: key, expectedRevision: expectedRevision)])
    }
}

/// One stored value with its etcd-style revisions.
public struct KVPair: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]
    /// Revision of the last write to this key (etcd mod_revision; the resourceVersion).
    public var revision: Int64
    /// Revision at which the key was created (etcd create_revision).
    public var createRevision: Int64

    public init(key: String, value: [UInt8], revision: Int64, createRevision: Int64) {
        self.key = key; self.value = value; self.revision = revision; self.createRevision = createRevision
    }
}

/// A listing and the store revision it was taken at.
public struct KVList: Sendable {
    public var pairs: [KVPair]
    public var revision: Int64
    public init(pairs: [KVPair], revision: Int64) { self.pairs = pairs; self.revision = revision }
}

/// One write inside `commit`.
public enum KVOperation: Hashable, Sendable {
    /// Fails with `.alreadyExists` if the key exists.
    case create(key: String, value: [UInt8])
    /// Fails with `.notFound` if absent, `.conflict` if `expectedRevision` is given and differs.
    case update(key: String, value: [UInt8], expectedRevision: Int64?)
    /// Create or replace, no precondition.
    case put(key: String, value: [UInt8])
    /// Fails with `.notFound` if absent, `.conflict` if `expectedRevision` is given and differs.
    case delete(key: String, expectedRevision: Int64?)

    public var key: String {
        switch self {
        case .create(let k, _), .update(let k, _, _), .put(let k, _), .delete(let k, _): k
        }
    }
}

/// What a watch delivers.
public enum WatchEvent: Hashable, Sendable {
    case put(KVPair)
    case deleted(key: String, revision: Int64)
    /// Everything up to `revision` has been delivered.
    case inSync(revision: Int64)
    /// History was compacted past the requested revision: re-list and watch again.
    case resyncRequired
    /// The backend failed (store gone, I/O error); the watch has stopped.
    case failed(DatastoreError)
}

/// Stops a watch. `cancel()` is idempotent; after it returns the handler is not called again.
public protocol WatchHandle: AnyObject, Sendable {
    func cancel()
}

/// Errors, each saying which key and why, for the CLI to print as is.
public enum DatastoreError: Error, Hashable, Sendable, CustomStringConvertible {
    case notFound(key: String)
    case alreadyExists(key: String)
    /// Stale precondition: the stored revision is `actual` (nil when the key vanished).
    case conflict(key: String, expected: Int64, actual: Int64?)
    /// The backend cannot be reached or failed; the text is the backend's reason.
    case unavailable(String)
    /// The datastore URL is malformed or names an unknown scheme.
    case invalidURL(String)
    /// The backend exists in the design but is not built yet.
    case notBuilt(String)

    public var description: String {
        switch self {
        case .notFound(let k): "\(k) does not exist"
        case .alreadyExists(let k): "\(k) already exists"
        case .conflict(let k, let e, let a):
            "\(k) was modified concurrently (expected revision \(e), found \(a.map(String.init) ?? "deleted"))"
        case .unavailable(let r): "datastore unavailable: \(r)"
        case .invalidURL(let r): "invalid datastore URL: \(r)"
        case .notBuilt(let r): r
        }
    }
}
