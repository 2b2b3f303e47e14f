import CSQLite
import Glibc

/// The embedded datastore: one SQLite file in WAL mode, safe for many processes at once.
///
/// Writes run in `BEGIN IMMEDIATE` transactions (the write lock is taken first, waiting up to
/// `Options.busyTimeout`), check every precondition inside the transaction, and give all writes of
/// a commit one new global revision. Each write also appends to a change log that watches replay
/// and follow (by polling `PRAGMA data_version`, so writes of other processes are seen within
/// ~10 ms). docs/datastore.md explains the schema and the multi-process reasoning.
public final class SQLiteDatastore: Datastore {
    public struct Options: Sendable {
        /// Change history kept for watches, in revisions; a watch from further back gets
        /// `.resyncRequired`. 0 disables automatic trimming (use `compact(through:)`).
        public var changeLogRetention: Int64
        /// Automatic trimming runs when the history exceeds the retention by this many revisions,
        /// so its cost is spread over many commits.
        public var compactionSlack: Int64
        /// How long a writer waits for another process's write lock before `.unavailable`.
        public var busyTimeout: Duration
        /// How often watches check the file for writes of other connections.
        public var watchPollInterval: Duration

        public init(changeLogRetention: Int64 = 10_000, compactionSlack: Int64 = 1_000,
                    busyTimeout: Duration = .seconds(10), watchPollInterval: Duration = .milliseconds(10)) {
            self.changeLogRetention = changeLogRetention
            self.compactionSlack = compactionSlack
            self.busyTimeout = busyTimeout
            self.watchPollInterval = watchPollInterval
        }
    }

    /// The database file.
    public let path: String
    public let options: Options
    private let conn: Locked<SQLiteConnection>
    private let feed: SQLiteChangeFeed

    /// Opens or creates the database at `path` (the parent directory must exist; see
    /// `openDatastore(url:)` for the variant that creates it). Fails with `.unavailable` carrying
    /// SQLite's message and the path.
    public init(path: String, options: Options = Options()) throws(DatastoreError) {
        self.path = path
        self.options = options
        let c: SQLiteConnection
        do {
            c = try Self.openRetryingWhileBusy(path: path, options: options)
        } catch let e as SQLiteError {
            throw e.datastoreError(path: path)
        } catch {
            throw .unavailable("\(path): \(error)")
        }
        conn = Locked(c)
        feed = SQLiteChangeFeed(path: path, options: options)
    }

    /// Opens the connection and checks (or creates) the schema, retrying while another process
    /// holds a lock, up to `busyTimeout`. SQLite does not call the busy handler everywhere on
    /// first open: switching a brand-new file to WAL and initialising the WAL index can fail with
    /// SQLITE_BUSY at once when several processes open the same new file together (seen with four
    /// `twill-dstool hammer` processes), so the whole open sequence is retried here.
    private static func openRetryingWhileBusy(path: String, options: Options) throws -> SQLiteConnection {
        let deadline = monotonicMilliseconds() + Int64(options.busyTimeout.milliseconds)
        var pause: UInt32 = 1_000  // microseconds, doubled up to 50 ms
        while true {
            do {
                return try openOnce(path: path, options: options)
            } catch let e as SQLiteError where e.isBusy && monotonicMilliseconds() < deadline {
                usleep(pause + UInt32.random(in: 0...pause))
                pause = min(pause * 2, 50_000)
            }
        }
    }

    private static func openOnce(path: String, options: Options) throws -> SQLiteConnection {
        let c = try SQLiteConnection(path: path, create: true, busyTimeoutMilliseconds: options.busyTimeout.milliseconds)
        do {
            // Only a new file takes the write lock to create the schema, so opening an existing
            // store (every twillctl run) never waits behind busy writers.
            if try c.queryInt(SQLiteSchema.tableCount) != 3 {
                try c.transaction(immediate: true) { try c.exec(SQLiteSchema.create) }
            }
            let version = try c.statement(SQLiteSchema.meta)
            defer { version.reset() }
            guard try version.step() else {
                throw SQLiteError(code: SQLITE_CORRUPT, message: "the meta row is missing")
            }
            guard version.int64(2) == SQLiteSchema.version else {
                throw SQLiteError(code: SQLITE_MISMATCH,
                                  message: "schema version \(version.int64(2)) is not supported (expected \(SQLiteSchema.version))")
            }
        } catch {
            c.close()
            throw error
        }
        return c
    }

    private static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Runs `body` on the connection under the lock, mapping SQLite failures to `.unavailable`.
    private func withConnection<T: Sendable>(_ body: (SQLiteConnection) throws -> T) throws(DatastoreError) -> T {
        let r: Result<T, DatastoreError> = conn.withLock { c in
            do {
                return .success(try body(c))
            } catch let e as DatastoreError {
                return .failure(e)
            } catch let e as SQLiteError {
                return .failure(e.datastoreError(path: path))
            } catch {
                return .failure(.unavailable("\(path): \(error)"))
            }
        }
        return try r.get()
    }

    public func get(_ key: String) throws(DatastoreError) -> KVPair? {
        try withConnection { c in
            let s = try c.statement(SQLiteSchema.get)
            defer { s.reset() }
            try s.bind(1, key)
            guard try s.step() else { return nil }
            return KVPair(key: key, value: s.blob(0), revision: s.int64(1), createRevision: s.int64(2))
        }
    }

    public func list(prefix: String) throws(DatastoreError) -> KVList {
        let p = KeyPrefix(prefix)
        return try withConnection { c in
            try c.transaction(immediate: false) {
                let rev = try c.queryInt(SQLiteSchema.revision) ?? 0
                let s = try c.statement(p.end == nil ? SQLiteSchema.listFrom : SQLiteSchema.listRange)
                defer { s.reset() }
                try s.bind(1, text: p.bytes)
                if let end = p.end { try s.bind(2, text: end) }
                var pairs: [KVPair] = []
                while try s.step() {
                    pairs.append(KVPair(key: s.text(0), value: s.blob(1), revision: s.int64(2), createRevision: s.int64(3)))
                }
                return KVList(pairs: pairs, revision: rev)
            }
        }
    }

    public func currentRevision() throws(DatastoreError) -> Int64 {
        try withConnection { c in try c.queryInt(SQLiteSchema.revision) ?? 0 }
    }

    @discardableResult
    public func commit(_ ops: [KVOperation]) throws(DatastoreError) -> Int64 {
        if ops.isEmpty { return try currentRevision() }
        let retention = options.changeLogRetention, slack = options.compactionSlack
        let rev = try withConnection { c in
            try c.transaction(immediate: true) { () throws -> Int64 in
                let meta = try c.statement(SQLiteSchema.meta)
                guard try meta.step() else { throw SQLiteError(code: SQLITE_CORRUPT, message: "the meta row is missing") }
                let rev = meta.int64(0) + 1, compacted = meta.int64(1)
                meta.reset()
                for (seq, op) in ops.enumerated() {
                    let q = try c.statement(SQLiteSchema.revisions)
                    try q.bind(1, op.key)
                    let existing: (mod: Int64, create: Int64)? = try q.step() ? (q.int64(0), q.int64(1)) : nil
                    q.reset()
                    if let err = preconditionFailure(of: op, existingRevision: existing?.mod) { throw err }
                    let created: Int64
                    if let value = op.writtenValue {
                        created = existing?.create ?? rev
                        let u = try c.statement(SQLiteSchema.upsert)
                        try u.bind(1, op.key); try u.bind(2, blob: value); try u.bind(3, rev); try u.bind(4, created)
                        try u.run()
                    } else {
                        created = existing?.create ?? 0
                        let d = try c.statement(SQLiteSchema.delete)
                        try d.bind(1, op.key)
                        try d.run()
                    }
                    let l = try c.statement(SQLiteSchema.logChange)
                    try l.bind(1, rev); try l.bind(2, Int64(seq)); try l.bind(3, op.key)
                    try l.bind(4, blob: op.writtenValue); try l.bind(5, created)
                    try l.run()
                }
                let u = try c.statement(SQLiteSchema.setRevision)
                try u.bind(1, rev)
                try u.run()
                if retention > 0, rev - retention >= compacted + max(slack, 1) {
                    try Self.trim(c, through: rev - retention)
                }
                return rev
            }
        }
        feed.poke()
        return rev
    }

    public func watch(prefix: String, afterRevision: Int64,
                      handler: @escaping @Sendable (WatchEvent) -> Void) throws(DatastoreError) -> any WatchHandle {
        let sink = WatchSink(label: "twill.datastore.sqlite.watch", handler: handler)
        let id = try feed.add(prefix: KeyPrefix(prefix), afterRevision: afterRevision, sink: sink)
        return SinkWatchHandle(sink: sink) { [feed] in if let id { feed.remove(id) } }
    }

    /// Discards the change history at or before `revision` (etcd compaction): a later watch with
    /// `afterRevision < revision` gets `.resyncRequired`; running watches that have not yet
    /// read that far get it too. Keys and values are untouched.
    public func compact(through revision: Int64) throws(DatastoreError) {
        try withConnection { c in
            try c.transaction(immediate: true) {
                let current = try c.queryInt(SQLiteSchema.revision) ?? 0
                try Self.trim(c, through: min(revision, current))
            }
        }
    }

    private static func trim(_ c: SQLiteConnection, through revision: Int64) throws {
        let d = try c.statement(SQLiteSchema.trimChanges)
        try d.bind(1, revision)
        try d.run()
        let m = try c.statement(SQLiteSchema.setCompacted)
        try m.bind(1, revision)
        try m.run()
    }
}

extension Duration {
    /// Whole milliseconds, clamped to Int32 (for sqlite3_busy_timeout).
    var milliseconds: Int32 {
        let (s, atto) = components
        let ms = s * 1000 + atto / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}
