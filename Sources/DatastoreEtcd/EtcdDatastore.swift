import Datastore
import Foundation

/// The etcd v3 backend: the `Datastore` contract mapped onto etcd's KV, Txn and Watch APIs
/// through the JSON gateway on the client port. Keys are stored verbatim (Calico's paths), so
/// `etcdctl get --prefix /calico/` sees what Twill wrote and the reverse.
///
/// Thread-safe; calls from many threads share a keep-alive connection pool. While etcd cannot be
/// reached every call fails with `.unavailable` naming the endpoints and the reasons.
public final class EtcdDatastore: Datastore, DatastoreCompaction {
    public let options: EtcdOptions
    let client: EtcdClient

    /// Does not contact etcd (an agent may start before it); the first call reports an outage.
    /// With TLS the CA, certificate and key files are loaded here (`.invalidURL` naming the
    /// file and OpenSSL's reason when one cannot be used).
    public init(options: EtcdOptions) throws(DatastoreError) {
        guard !options.endpoints.isEmpty else { throw .invalidURL("etcd: no endpoints") }
        self.options = options
        client = try EtcdClient(options: options)
    }

    public convenience init(url: String) throws(DatastoreError) {
        try self.init(options: EtcdOptions(parsing: url).withCalicoEnvironment())
    }

    public func get(_ key: String) throws(DatastoreError) -> KVPair? {
        let r = try client.call("/v3/kv/range", ["key": EtcdJSON.b64(key)], idempotent: true)
        return (r["kvs"] as? [[String: Any]])?.first.map(EtcdJSON.pair)
    }

    public func list(prefix: String) throws(DatastoreError) -> KVList {
        let r = try client.call("/v3/kv/range", EtcdJSON.prefixRange(prefix), idempotent: true)
        let pairs = (r["kvs"] as? [[String: Any]] ?? []).map(EtcdJSON.pair)
        return KVList(pairs: pairs, revision: EtcdJSON.revision(r))
    }

    public func currentRevision() throws(DatastoreError) -> Int64 {
        // A count-only range of one key: cheap, linearizable, and carries the store revision.
        do {
            let r = try client.call("/v3/kv/range", ["key": EtcdJSON.b64([0]), "count_only": true], idempotent: true)
            return EtcdJSON.revision(r)
        } catch .unavailable(let why) where why.contains("permission denied") {
            // A user whose role covers only some prefixes (etcd auth): the member's status
            // carries the revision too (served by that member, not through Raft).
            return EtcdJSON.revision(try client.call("/v3/maintenance/status", [:], idempotent: true))
        }
    }

    /// The store revision, read through a range the caller may read (etcd auth roles grant
    /// prefixes): linearizable, unlike the status fallback of `currentRevision`.
    func revision(readablePrefix prefix: String) throws(DatastoreError) -> Int64 {
        var range = EtcdJSON.prefixRange(prefix)
        range["count_only"] = true
        return EtcdJSON.revision(try client.call("/v3/kv/range", range, idempotent: true))
    }

    @discardableResult
    public func commit(_ ops: [KVOperation]) throws(DatastoreError) -> Int64 {
        if ops.isEmpty { return try currentRevision() }
        let plan = TxnPlan(ops)
        var body: [String: Any] = [
            "compare": plan.checks.map(\.compare),
            "failure": plan.checks.map { ["request_range": ["key": EtcdJSON.b64($0.op.key)]] },
        ]
        if plan.staticFailure == nil { body["success"] = plan.writes.map(\.request) }
        let r = try client.call("/v3/kv/txn", body, idempotent: false)
        if r["succeeded"] as? Bool == true {
            if let failure = plan.staticFailure { throw failure }
            return EtcdJSON.revision(r)
        }
        // The failure branch read every compared key in the same snapshot: find the first that failed.
        let responses = r["responses"] as? [[String: Any]] ?? []
        for (i, check) in plan.checks.enumerated() {
            let range = i < responses.count ? responses[i]["response_range"] as? [String: Any] : nil
            let kv = (range?["kvs"] as? [[String: Any]])?.first
            let actual = kv.map { EtcdJSON.int($0["mod_revision"]) }
            if let failure = TxnPlan.failure(of: check.op, existingRevision: actual) { throw failure }
        }
        // Every compare held in the snapshot yet the txn failed: cannot happen in etcd.
        throw .unavailable("etcd txn failed without a failing compare (keys: \(plan.checks.map(\.op.key)))")
    }

    public func compact(through revision: Int64) throws(DatastoreError) {
        _ = try client.call("/v3/kv/compaction", ["revision": String(revision), "physical": true], idempotent: true)
    }

    public func watch(prefix: String, afterRevision: Int64,
                      handler: @escaping @Sendable (WatchEvent) -> Void) throws(DatastoreError) -> any WatchHandle {
        let now = try revision(readablePrefix: prefix)
        return EtcdWatchHandle(EtcdWatch(client: client, prefix: prefix, afterRevision: afterRevision,
                                         startRevision: now, handler: handler))
    }
}

/// How one `commit` becomes one etcd Txn (the functional core of a write).
///
/// etcd rejects a key twice in one Txn, while our ops apply in order (`[delete k, create k]`
/// recreates `k`). So the ops are folded per key: the first op on a key becomes a compare on the
/// stored state; later ops on the same key are checked here against the state the earlier ops
/// leave (a failure there is `staticFailure`, reported only if every earlier compare holds);
/// the key's last write becomes the one request, in order of each key's first op.
struct TxnPlan {
    struct Check { var op: KVOperation; var compare: [String: Any] }
    struct Write { var key: String; var value: [UInt8]? 
        var request: [String: Any] {
            if let value { ["request_put": ["key": EtcdJSON.b64(key), "value": EtcdJSON.b64(value)]] }
            else { ["request_delete_range": ["key": EtcdJSON.b64(key)]] }
        }
    }
    var checks: [Check] = []
    var writes: [Write] = []
    var staticFailure: DatastoreError?

    init(_ ops: [KVOperation]) {
        var exists: [String: Bool] = [:]  // state after the ops so far, for keys already touched
        var slot: [String: Int] = [:]
        for op in ops {
            let key = op.key
            if let known = exists[key] {
                // A later op on a key this commit already wrote: its revision is the new one, which
                // no caller can hold, so an expected revision cannot match.
                if let f = Self.failure(of: op, existingRevision: known ? Int64.max : nil) {
                    staticFailure = f
                    return
                }
            } else if let c = Self.compare(op) {
                checks.append(Check(op: op, compare: c))
            }
            let value: [UInt8]?
            switch op {
            case .create(_, let v), .update(_, let v, _), .put(_, let v): value = v
            case .delete: value = nil
            }
            exists[key] = value != nil
            if let i = slot[key] { writes[i].value = value } else { slot[key] = writes.count; writes.append(Write(key: key, value: value)) }
        }
    }

    /// The compare that guards `op` against the stored state, or nil (put).
    static func compare(_ op: KVOperation) -> [String: Any]? {
        let key = EtcdJSON.b64(op.key)
        switch op {
        case .put: return nil
        case .create: return ["key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0"]
        case .update(_, _, let e?), .delete(_, let e?):
            return ["key": key, "target": "MOD", "result": "EQUAL", "mod_revision": String(e)]
        case .update, .delete: return ["key": key, "target": "VERSION", "result": "GREATER", "version": "0"]
        }
    }

    /// The error for `op` when its key's stored revision is `existingRevision` (nil: absent).
    static func failure(of op: KVOperation, existingRevision: Int64?) -> DatastoreError? {
        switch op {
        case .put: return nil
        case .create(let key, _): return existingRevision == nil ? nil : .alreadyExists(key: key)
        case .update(let key, _, let expected), .delete(let key, let expected):
            guard let actual = existingRevision else {
                return expected.map { .conflict(key: key, expected: $0, actual: nil) } ?? .notFound(key: key)
            }
            guard let expected, expected != actual else { return nil }
            return .conflict(key: key, expected: expected, actual: actual == .max ? nil : actual)
        }
    }
}
