/// A datastore whose change history can be compacted on demand (etcd's Compact).
///
/// Compacting through `revision` discards the history at or before it; keys and values stay.
/// A watch with `afterRevision < revision` then gets `.resyncRequired`. Backends also compact
/// on their own (SQLite: `Options.changeLogRetention`).
public protocol DatastoreCompaction: Datastore {
    func compact(through revision: Int64) throws(DatastoreError)
}

extension MemoryDatastore: DatastoreCompaction {}
extension SQLiteDatastore: DatastoreCompaction {}
