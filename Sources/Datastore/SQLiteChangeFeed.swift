import Dispatch
import Synchronization

/// Follows the change log of one database file for all watches of one `SQLiteDatastore`.
///
/// It owns a read connection and, while at least one watch is registered, a timer source that
/// checks `PRAGMA data_version` every `watchPollInterval` (the value changes when another
/// connection, in this process or another, commits). Only then does it read the new change rows,
/// once, and hand each watch the rows under its prefix. Local commits `poke()` it for
/// immediate delivery.
///
/// Confinement: every mutable field is touched only on `queue` (hence `@unchecked Sendable`;
/// each entry point either runs on `queue` or hops onto it). The timer handler holds `self`
/// weakly; the timer is cancelled when the last watch leaves and in `deinit` (it is always
/// resumed, so releasing it after `cancel()` is safe).
final class SQLiteChangeFeed: @unchecked Sendable {
    private struct Watcher {
        var prefix: KeyPrefix
        /// Only changes after this revision (matters when a watch starts ahead of the store).
        var after: Int64
        var sink: WatchSink

        func events(_ rows: [ChangeRecord]) -> [WatchEvent] {
            rows.filter { $0.revision > after && prefix.contains($0.key) }.map(\.event)
        }
    }

    private let path: String
    private let options: SQLiteDatastore.Options
    private let queue = DispatchQueue(label: "twill.datastore.sqlite.feed")
    private var conn: SQLiteConnection?
    private var timer: DispatchSourceTimer?
    private var watchers: [Int: Watcher] = [:]
    private var nextID = 0
    /// `watchers.count`, readable off the queue so commits skip `poke()` when nobody watches.
    private let watching = Atomic<Int>(0)
    /// The store revision up to which every watch has been handed its changes; nil before the
    /// first read.
    private var lastRevision: Int64?
    private var dataVersion: Int64?

    init(path: String, options: SQLiteDatastore.Options) {
        self.path = path
        self.options = options
    }

    deinit {
        timer?.cancel()
    }

    /// Registers a watch: replays the history after `afterRevision` under the prefix, then
    /// `.inSync`, then follows. Returns nil when the watch ended at once (`.resyncRequired`).
    func add(prefix: KeyPrefix, afterRevision: Int64, sink: WatchSink) throws(DatastoreError) -> Int? {
        let r: Result<Int?, DatastoreError> = queue.sync {
            do {
                return .success(try register(prefix: prefix, afterRevision: afterRevision, sink: sink))
            } catch let e as SQLiteError {
                return .failure(e.datastoreError(path: path))
            } catch {
                return .failure(.unavailable("\(path): \(error)"))
            }
        }
        return try r.get()
    }

    func remove(_ id: Int) {
        queue.async { [self] in
            watchers.removeValue(forKey: id)
            watchersChanged()
        }
    }

    /// A local commit happened: read it now rather than at the next tick.
    func poke() {
        guard watching.load(ordering: .relaxed) > 0 else { return }
        queue.async { [weak self] in self?.pollHandlingErrors() }
    }

    // MARK: on `queue`

    private func connection() throws -> SQLiteConnection {
        if let conn { return conn }
        let c = try SQLiteConnection(path: path, create: false, busyTimeoutMilliseconds: options.busyTimeout.milliseconds)
        conn = c
        return c
    }

    private func register(prefix: KeyPrefix, afterRevision: Int64, sink: WatchSink) throws -> Int? {
        dispatchPrecondition(condition: .onQueue(queue))
        try poll()
        let c = try connection()
        let upTo = lastRevision ?? 0
        let replay: [WatchEvent]? = try c.transaction(immediate: false) {
            let meta = try c.statement(SQLiteSchema.meta)
            defer { meta.reset() }
            guard try meta.step() else { return nil }
            if afterRevision < meta.int64(1) { return nil }
            meta.reset()
            return try Self.changes(c, after: afterRevision, upTo: upTo, prefix: prefix).map(\.event)
        }
        guard let replay else {
            sink.deliver([.resyncRequired])
            return nil
        }
        sink.deliver(replay + [.inSync(revision: max(upTo, afterRevision))])
        let id = nextID
        nextID += 1
        watchers[id] = Watcher(prefix: prefix, after: afterRevision, sink: sink)
        watchersChanged()
        return id
    }

    private static func changes(_ c: SQLiteConnection, after: Int64, upTo: Int64,
                                prefix: KeyPrefix?) throws -> [ChangeRecord] {
        let sql = prefix == nil || prefix?.bytes.isEmpty == true
            ? SQLiteSchema.changesAll
            : (prefix?.end == nil ? SQLiteSchema.changesFrom : SQLiteSchema.changesRange)
        let s = try c.statement(sql)
        defer { s.reset() }
        try s.bind(1, after)
        try s.bind(2, upTo)
        if let prefix, !prefix.bytes.isEmpty {
            try s.bind(3, text: prefix.bytes)
            if let end = prefix.end { try s.bind(4, text: end) }
        }
        var out: [ChangeRecord] = []
        while try s.step() {
            out.append(ChangeRecord(revision: s.int64(0), key: s.text(1), value: s.isNull(2) ? nil : s.blob(2),
                                    createRevision: s.int64(3)))
        }
        return out
    }

    /// Reads what other connections committed since the last look and hands it out.
    private func poll() throws {
        dispatchPrecondition(condition: .onQueue(queue))
        let c = try connection()
        let version = try c.queryInt(SQLiteSchema.dataVersion)
        if version == dataVersion, lastRevision != nil { return }
        let last = lastRevision
        let watching = !watchers.isEmpty
        let (revision, compacted, rows): (Int64, Int64, [ChangeRecord]) = try c.transaction(immediate: false) {
            let meta = try c.statement(SQLiteSchema.meta)
            defer { meta.reset() }
            guard try meta.step() else { return (0, 0, []) }
            let rev = meta.int64(0), compacted = meta.int64(1)
            meta.reset()
            guard let last, watching, last >= compacted, rev > last else { return (rev, compacted, []) }
            return (rev, compacted, try Self.changes(c, after: last, upTo: rev, prefix: nil))
        }
        dataVersion = version
        if let last, watching, last < compacted {
            // This feed fell behind a compaction: every watch must re-list.
            for (_, w) in watchers { w.sink.deliver([.resyncRequired]) }
            watchers.removeAll()
            watchersChanged()
        } else {
            for (_, w) in watchers {
                w.sink.deliver(w.events(rows))
            }
        }
        lastRevision = max(revision, last ?? 0)
    }

    private func pollHandlingErrors() {
        do {
            try poll()
        } catch let e as SQLiteError where e.isBusy {
            return  // another process is checkpointing or recovering: try at the next tick
        } catch {
            let reason: DatastoreError = (error as? SQLiteError)?.datastoreError(path: path)
                ?? .unavailable("\(path): \(error)")
            for (_, w) in watchers { w.sink.deliver([.failed(reason)]) }
            watchers.removeAll()
            watchersChanged()
        }
    }

    /// Runs the timer exactly while someone watches.
    private func watchersChanged() {
        watching.store(watchers.count, ordering: .relaxed)
        if watchers.isEmpty { stopTimer() } else { startTimer() }
    }

    private func startTimer() {
        guard timer == nil else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        let interval = Int(options.watchPollInterval.milliseconds.clamped(to: 1...Int32.max))
        t.schedule(deadline: .now() + .milliseconds(interval), repeating: .milliseconds(interval),
                   leeway: .milliseconds(max(1, interval / 2)))
        t.setEventHandler { @Sendable [weak self] in self?.pollHandlingErrors() }
        timer = t
        t.resume()
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }
}

extension Comparable {
    fileprivate func clamped(to r: ClosedRange<Self>) -> Self { min(max(self, r.lowerBound), r.upperBound) }
}
