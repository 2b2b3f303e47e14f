import CSQLite

/// A failed SQLite call: the result code and SQLite's message.
struct SQLiteError: Error, Sendable {
    var code: Int32
    var message: String

    /// SQLITE_BUSY / SQLITE_LOCKED (primary codes): another connection holds the lock.
    var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }

    func datastoreError(path: String) -> DatastoreError {
        .unavailable("\(path): \(message) (SQLite error \(code))")
    }
}

/// One SQLite connection with its prepared-statement cache.
///
/// Not thread-safe: the owner confines it (SQLiteDatastore behind a mutex, the change feed on its
/// queue). Opened with SQLITE_OPEN_NOMUTEX for that reason. `close()` finalizes every statement.
final class SQLiteConnection {
    let path: String
    private var db: OpaquePointer?
    private var cache: [String: OpaquePointer] = [:]

    /// Opens (creating if asked) the file in WAL mode with a busy timeout and synchronous=NORMAL.
    init(path: String, create: Bool, busyTimeoutMilliseconds: Int32) throws(SQLiteError) {
        self.path = path
        var handle: OpaquePointer?
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        if create { flags |= SQLITE_OPEN_CREATE }
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(handle)
            throw SQLiteError(code: rc, message: msg)
        }
        db = handle
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        do throws(SQLiteError) {
            let mode = try queryText("PRAGMA journal_mode=WAL")
            guard mode?.lowercased() == "wal" else {
                throw SQLiteError(code: SQLITE_ERROR, message: "cannot switch to WAL journal mode (got \(mode ?? "nothing"))")
            }
            try exec("PRAGMA synchronous=NORMAL")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    func close() {
        for (_, s) in cache { sqlite3_finalize(s) }
        cache.removeAll()
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    private var handle: OpaquePointer {
        guard let db else { preconditionFailure("SQLite connection to \(path) used after close") }
        return db
    }

    func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs SQL without results (one or several statements), not cached.
    func exec(_ sql: String) throws(SQLiteError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: msg)
        }
    }

    /// The cached prepared statement for `sql`, reset and with bindings cleared.
    func statement(_ sql: String) throws(SQLiteError) -> Statement {
        if let s = cache[sql] {
            sqlite3_reset(s)
            sqlite3_clear_bindings(s)
            return Statement(conn: self, stmt: s)
        }
        var s: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &s, nil)
        guard rc == SQLITE_OK, let s else { throw error(rc) }
        cache[sql] = s
        return Statement(conn: self, stmt: s)
    }

    /// First column of the first row as text (for PRAGMAs).
    func queryText(_ sql: String) throws(SQLiteError) -> String? {
        let s = try statement(sql)
        defer { s.reset() }
        return try s.step() ? s.text(0) : nil
    }

    /// First column of the first row as an integer.
    func queryInt(_ sql: String) throws(SQLiteError) -> Int64? {
        let s = try statement(sql)
        defer { s.reset() }
        return try s.step() ? s.int64(0) : nil
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE` for writes, so the write lock is taken
    /// up front and waits under busy_timeout instead of failing on upgrade). Rolls back when
    /// `body` throws, and rethrows its error.
    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T {
        try statement(immediate ? "BEGIN IMMEDIATE" : "BEGIN").run()
        let value: T
        do {
            value = try body()
            try statement("COMMIT").run()
        } catch {
            if sqlite3_get_autocommit(handle) == 0 { try? statement("ROLLBACK").run() }
            throw error
        }
        return value
    }
}

/// A cached statement borrowed from its connection. Column and bind indexes are as in SQLite
/// (bind from 1, columns from 0).
struct Statement {
    let conn: SQLiteConnection
    let stmt: OpaquePointer

    func bind(_ i: Int32, _ v: Int64) throws(SQLiteError) {
        let rc = sqlite3_bind_int64(stmt, i, v)
        if rc != SQLITE_OK { throw conn.error(rc) }
    }

    /// Binds UTF-8 text; raw bytes (such as a prefix's range end) are bound as text unchecked
    /// so they compare byte-wise with the BINARY collation.
    func bind(_ i: Int32, text bytes: [UInt8]) throws(SQLiteError) {
        let rc = bytes.withUnsafeBufferPointer { b in
            b.baseAddress.map { p in
                p.withMemoryRebound(to: CChar.self, capacity: b.count) {
                    sqlite3_bind_text(stmt, i, $0, Int32(b.count), csqlite_transient())
                }
            } ?? sqlite3_bind_text(stmt, i, "", 0, csqlite_transient())
        }
        if rc != SQLITE_OK { throw conn.error(rc) }
    }

    func bind(_ i: Int32, _ s: String) throws(SQLiteError) { try bind(i, text: Array(s.utf8)) }

    func bind(_ i: Int32, blob bytes: [UInt8]?) throws(SQLiteError) {
        let rc: Int32
        if let bytes {
            rc = bytes.withUnsafeBytes { b in
                // A zero-length blob must still be a blob, not NULL.
                sqlite3_bind_blob(stmt, i, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(b.count),
                                  csqlite_transient())
            }
        } else {
            rc = sqlite3_bind_null(stmt, i)
        }
        if rc != SQLITE_OK { throw conn.error(rc) }
    }

    /// Advances: true when a row is available, false when done.
    func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let e = conn.error(rc)
            sqlite3_reset(stmt)
            throw e
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws(SQLiteError) {
        defer { reset() }
        while try step() {}
    }

    func reset() { sqlite3_reset(stmt) }

    func int64(_ col: Int32) -> Int64 { sqlite3_column_int64(stmt, col) }

    func isNull(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_NULL }

    func text(_ col: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, col) else { return "" }
        let n = Int(sqlite3_column_bytes(stmt, col))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    func blob(_ col: Int32) -> [UInt8] {
        let p = sqlite3_column_blob(stmt, col)
        let n = Int(sqlite3_column_bytes(stmt, col))
        guard let p, n > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}
