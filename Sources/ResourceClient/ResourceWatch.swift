import Datastore
import NodeModel

/// What a resource watch delivers: the datastore's events, decoded.
public enum ResourceEvent: Hashable, Sendable {
    /// Created or updated (the resource carries its new revision as resourceVersion).
    case upsert(StoredResource)
    /// Deleted at `revision`.
    case deleted(ResourceID, revision: Int64)
    /// Everything up to `revision` has been delivered.
    case inSync(revision: Int64)
    /// History is gone: list again (`listAll`) and watch from the listing's revision + 1.
    case resyncRequired
    /// A stored value under the watched prefix does not decode; the watch goes on.
    case invalid(key: String, ClientError)
    /// The datastore failed; the watch has stopped.
    case failed(DatastoreError)
}

extension ResourceClient {
    /// Watches every resource of `kind` (in `namespace`, or all) with revision > `afterRevision`.
    /// The usual pattern, which misses nothing: `let (rs, rev) = try listAll(kind:)`, then
    /// `watch(kind:afterRevision: rev)`. The handler runs serially on the watch's queue.
    public func watch(kind: ResourceKind, namespace: String = "", afterRevision: Int64,
                      handler: @escaping @Sendable (ResourceEvent) -> Void) throws(ClientError) -> any WatchHandle {
        let prefix = ModelBridge.listPrefix(kind: kind, namespace: namespace)
        do {
            return try datastore.watch(prefix: prefix, afterRevision: afterRevision) { event in
                handler(Self.decode(event, kind: kind))
            }
        } catch {
            throw .datastore(error)
        }
    }

    /// Watches every v3 resource of every kind (`/calico/resources/v3/projectcalico.org/`), for a
    /// consumer that follows the whole configuration (the agent's calculation graph). Start from
    /// a revision no older than the listings it was built from.
    public func watchAll(afterRevision: Int64,
                         handler: @escaping @Sendable (ResourceEvent) -> Void) throws(ClientError) -> any WatchHandle {
        do {
            return try datastore.watch(prefix: ResourceKeys.v3Root, afterRevision: afterRevision) { event in
                handler(Self.decode(event, kind: nil))
            }
        } catch {
            throw .datastore(error)
        }
    }

    static func decode(_ event: WatchEvent, kind: ResourceKind?) -> ResourceEvent {
        switch event {
        case .put(let pair):
            do {
                let r = try ModelBridge.decode(pair)
                return .upsert(StoredResource(key: pair.key, resource: r, revision: pair.revision))
            } catch {
                return .invalid(key: pair.key, error)
            }
        case .deleted(let key, let revision):
            if case .resource(let k, let ns, let name)? = ResourceKeys.parse(key) {
                return .deleted(ResourceID(kind: k, name: name, namespace: ns), revision: revision)
            }
            // IPAM records: the key names the record, not a v3 name.
            guard let kind else { return .invalid(key: key, .corrupt(key: key, reason: "not a resource key")) }
            return .deleted(ResourceID(kind: kind, name: key), revision: revision)
        case .inSync(let revision): return .inSync(revision: revision)
        case .resyncRequired: return .resyncRequired
        case .failed(let e): return .failed(e)
        }
    }
}
