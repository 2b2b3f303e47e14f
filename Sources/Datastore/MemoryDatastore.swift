
/// The `Datastore` contract in memory: same semantics as `SQLiteDatastore` (revisions, atomic
/// commits, watch replay and compaction), for tests of the logic above the store and as a fake.
/// Nothing survives the process. Thread-safe: one lock around the state; watch handlers run on
/// each watch's own queue.
public final class MemoryDatastore: Datastore {
    private struct Watcher {
        var prefix: KeyPrefix
        /// Only changes after this revision (matters when a watch starts ahead of the store).
        var after: Int64
        var sink: WatchSink
    }

    private struct State {
        var kv: [String: KVPair] = [:]
        var revision: Int64 = 0
        /// Change history with revision > `compacted`, in revision order.
        var log: [ChangeRecord] = []
        var compacted: Int64 = 0
        var watchers: [Int: Watcher] = [:]
        var nextWatchID = 0
    }

    private let state = Locked(State())
    /// With a value, each commit trims the change history to the last `changeLogRetention`
    /// revisions (as `SQLiteDatastore` does); nil keeps everything until `compact(through:)`.
    public let changeLogRetention: Int64?

    public init(changeLogRetention: Int64? = nil) {
        self.changeLogRetention = changeLogRetention
    }

    public func get(_ key: String) throws(DatastoreError) -> KVPair? {
        state.withLock { $0.kv[key] }
    }

    public func list(prefix: String) throws(DatastoreError) -> KVList {
        let p = KeyPrefix(prefix)
        return state.withLock { s in
            let pairs = s.kv.values.filter { p.contains($0.key) }.sorted { keyPrecedes($0.key, $1.key) }
            return KVList(pairs: pairs, revision: s.revision)
        }
    }

    public func currentRevision() throws(DatastoreError) -> Int64 {
        state.withLock { $0.revision }
    }

    @discardableResult
    public func commit(_ ops: [KVOperation]) throws(DatastoreError) -> Int64 {
        let result: Result<Int64, DatastoreError> = state.withLock { s in
            if ops.isEmpty { return .success(s.revision) }
            // Check every precondition against the state as the earlier ops leave it, on a copy
            // of the touched entries only; write nothing unless all pass.
            var touched: [String: KVPair?] = [:]
            let rev = s.revision + 1
            var changes: [ChangeRecord] = []
            changes.reserveCapacity(ops.count)
            for op in ops {
                let current: KVPair? = touched[op.key] ?? s.kv[op.key]
                if let err = preconditionFailure(of: op, existingRevision: current?.revision) { return .failure(err) }
                if let value = op.writtenValue {
                    let created = current?.createRevision ?? rev
                    touched[op.key] = .some(KVPair(key: op.key, value: value, revision: rev, createRevision: created))
                    changes.append(ChangeRecord(revision: rev, key: op.key, value: value, createRevision: created))
                } else {
                    touched[op.key] = .some(nil)
                    changes.append(ChangeRecord(revision: rev, key: op.key, value: nil,
                                                createRevision: current?.createRevision ?? 0))
                }
            }
            for (k, v) in touched { s.kv[k] = v }
            s.revision = rev
            s.log.append(contentsOf: changes)
            for (_, w) in s.watchers {
                w.sink.deliver(changes.filter { $0.revision > w.after && w.prefix.contains($0.key) }.map(\.event))
            }
            if let keep = changeLogRetention, rev - keep > s.compacted {
                Self.compact(&s, through: rev - keep)
            }
            return .success(rev)
        }
        return try result.get()
    }

    public func watch(prefix: String, afterRevision: Int64,
                      handler: @escaping @Sendable (WatchEvent) -> Void) throws(DatastoreError) -> any WatchHandle {
        let p = KeyPrefix(prefix)
        let sink = WatchSink(label: "twill.datastore.memory.watch", handler: handler)
        let id: Int? = state.withLock { s in
            if afterRevision < s.compacted {
                sink.deliver([.resyncRequired])
                return nil
            }
            var replay = s.log.filter { $0.revision > afterRevision && p.contains($0.key) }.map(\.event)
            replay.append(.inSync(revision: max(s.revision, afterRevision)))
            sink.deliver(replay)
            let id = s.nextWatchID
            s.nextWatchID += 1
            s.watchers[id] = Watcher(prefix: p, after: afterRevision, sink: sink)
            return id
        }
        return SinkWatchHandle(sink: sink) { if let id { self.removeWatcher(id) } }
    }

    /// Discards the change history at or before `revision` (etcd compaction): a later watch with
    /// `afterRevision < revision` gets `.resyncRequired`. Keys and values are untouched.
    public func compact(through revision: Int64) throws(DatastoreError) {
        state.withLock { s in Self.compact(&s, through: min(revision, s.revision)) }
    }

    private static func compact(_ s: inout State, through revision: Int64) {
        guard revision > s.compacted else { return }
        let cut = s.log.firstIndex { $0.revision > revision } ?? s.log.count
        s.log.removeFirst(cut)
        s.compacted = revision
    }

    private func removeWatcher(_ id: Int) {
        _ = state.withLock { $0.watchers.removeValue(forKey: id) }
    }
}
