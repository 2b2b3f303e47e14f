/// The SQL of `SQLiteDatastore`, in one place (docs/datastore.md explains the design).
enum SQLiteSchema {
    static let version: Int64 = 1

    /// Idempotent; run inside `BEGIN IMMEDIATE` so concurrent first opens serialize.
    static let create = """
        CREATE TABLE IF NOT EXISTS meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            schema_version INTEGER NOT NULL,
            revision INTEGER NOT NULL,   -- the global store revision (etcd header.revision)
            compacted INTEGER NOT NULL   -- change history at or before this revision is gone
        );
        INSERT OR IGNORE INTO meta (id, schema_version, revision, compacted) VALUES (1, 1, 0, 0);
        CREATE TABLE IF NOT EXISTS kv (
            key TEXT PRIMARY KEY NOT NULL,   -- compared byte-wise (BINARY collation)
            value BLOB NOT NULL,
            mod_revision INTEGER NOT NULL,
            create_revision INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS changes (
            revision INTEGER NOT NULL,
            seq INTEGER NOT NULL,            -- position of the op inside its commit
            key TEXT NOT NULL,
            value BLOB,                      -- NULL: tombstone (the key was deleted)
            create_revision INTEGER NOT NULL,
            PRIMARY KEY (revision, seq)
        ) WITHOUT ROWID;
        """

    static let tableCount =
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'kv', 'changes')"
    static let meta = "SELECT revision, compacted, schema_version FROM meta WHERE id = 1"
    static let revision = "SELECT revision FROM meta WHERE id = 1"
    static let setRevision = "UPDATE meta SET revision = ?1 WHERE id = 1"

    static let get = "SELECT value, mod_revision, create_revision FROM kv WHERE key = ?1"
    static let revisions = "SELECT mod_revision, create_revision FROM kv WHERE key = ?1"
    static let listFrom = "SELECT key, value, mod_revision, create_revision FROM kv WHERE key >= ?1 ORDER BY key"
    static let listRange =
        "SELECT key, value, mod_revision, create_revision FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key"
    static let upsert = """
        INSERT INTO kv (key, value, mod_revision, create_revision) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_revision = excluded.mod_revision
        """
    static let delete = "DELETE FROM kv WHERE key = ?1"
    static let logChange =
        "INSERT INTO changes (revision, seq, key, value, create_revision) VALUES (?1, ?2, ?3, ?4, ?5)"

    /// Changes in (?1, ?2], every key.
    static let changesAll = """
        SELECT revision, key, value, create_revision FROM changes
        WHERE revision > ?1 AND revision <= ?2 ORDER BY revision, seq
        """
    /// Changes in (?1, ?2] with key >= ?3.
    static let changesFrom = """
        SELECT revision, key, value, create_revision FROM changes
        WHERE revision > ?1 AND revision <= ?2 AND key >= ?3 ORDER BY revision, seq
        """
    /// Changes in (?1, ?2] with ?3 <= key < ?4.
    static let changesRange = """
        SELECT revision, key, value, create_revision FROM changes
        WHERE revision > ?1 AND revision <= ?2 AND key >= ?3 AND key < ?4 ORDER BY revision, seq
        """
    static let trimChanges = "DELETE FROM changes WHERE revision <= ?1"
    static let setCompacted = "UPDATE meta SET compacted = ?1 WHERE id = 1 AND compacted < ?1"
    static let dataVersion = "PRAGMA data_version"
}
