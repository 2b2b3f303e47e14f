import Datastore

/// Opens any datastore Twill knows, etcd included: `etcd://…`/`etcds://…` (see `EtcdOptions`)
/// here, everything else through `openDatastore(url:)`. Executables that may run against etcd
/// call this instead of `openDatastore` (the `Datastore` module does not link the etcd client).
/// nil means `$TWILL_DATASTORE`, then the SQLite default.
public func openAnyDatastore(url: String?) throws(DatastoreError) -> any Datastore {
    let resolved = DatastoreURL.resolve(url)
    if EtcdOptions.isEtcdURL(resolved) { return try EtcdDatastore(url: resolved) }
    return try openDatastore(url: resolved)
}
