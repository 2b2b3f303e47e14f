import Datastore
import NodeModel

/// The one place ResourceClient calls NodeModel's typed API: decoding with defaults and
/// validation, identities, datastore keys and the stored form.
enum ModelBridge {
    /// Identity for error messages, read leniently from a raw document.
    static func documentRef(_ raw: Value, index: Int) -> DocumentRef {
        DocumentRef(index: index, kind: raw["kind"]?.stringValue, namespace: raw["metadata"]?["namespace"]?.stringValue,
                    name: raw["metadata"]?["name"]?.stringValue)
    }

    /// Strict decoding, Calico's defaults, then validation.
    static func decode(_ doc: Value, ref: DocumentRef, listKind: ResourceKind?) throws(ClientError) -> Resource {
        let decoded: Resource
        do { decoded = try Resource(from: doc, listKind: listKind) } catch {
            throw .invalid(ResourceError(ref, error))
        }
        let r = decoded.withDefaults()
        var docRef = ref
        docRef.kind = r.kind.name; docRef.name = r.name
        let problems = r.validate()
        if !problems.isEmpty { throw .invalid(ResourceError(docRef, problems)) }
        try checkName(ResourceID(r), ref: docRef)
        return r
    }

    /// Kind and name only (deletes): the kind must be known and the name valid.
    static func identity(_ doc: Value, ref: DocumentRef, listKind: ResourceKind?) throws(ClientError) -> ResourceID {
        let kindName = doc["kind"]?.stringValue ?? listKind?.name
        guard let kindName else { throw .invalid(ref, "kind", "missing kind") }
        guard let kind = ResourceKind(kindName: kindName) else {
            throw .invalid(ref, "kind", "unknown resource kind \"\(kindName)\"")
        }
        let name = doc["metadata"]?["name"]?.stringValue ?? ""
        var ns = doc["metadata"]?["namespace"]?.stringValue ?? ""
        if kind.isNamespaced, ns.isEmpty { ns = "default" }
        let id = ResourceID(kind: kind, name: name, namespace: kind.isNamespaced ? ns : "")
        try checkName(id, ref: ref)
        return id
    }

    static func checkName(_ id: ResourceID, ref: DocumentRef) throws(ClientError) {
        if id.name.isEmpty { throw .invalid(ref, "metadata.name", "a name is required") }
        if id.name.contains("/") { throw .invalid(ref, "metadata.name", "\"\(id.name)\" must not contain '/'") }
    }

    /// Kinds stored as v3 documents at `<prefix><name>`; IPAM records live at keys derived
    /// from their spec (block CIDR, node) and are found by listing.
    static func keyedByName(_ kind: ResourceKind) -> Bool {
        switch kind {
        case .ipamBlock, .blockAffinity, .ipamHandle, .ipamConfiguration: false
        default: true
        }
    }

    static func key(_ id: ResourceID) -> String {
        ResourceKeys.key(kind: id.kind, namespace: id.namespace, name: id.name)
    }

    static func key(_ r: Resource) -> String { ResourceKeys.key(for: r) }

    static func listPrefix(kind: ResourceKind, namespace: String) -> String {
        ResourceKeys.listPrefix(kind: kind, namespace: namespace.isEmpty ? nil : namespace)
    }

    /// The bytes stored at the resource's key (no resourceVersion: the revision is the version).
    static func encode(_ r: Resource) -> [UInt8] {
        Array(ResourceStorage.value(for: r).json.utf8)
    }

    static func decode(_ pair: KVPair) throws(ClientError) -> Resource {
        let value: Value
        do { value = try Value(jsonBytes: pair.value) } catch {
            throw .corrupt(key: pair.key, reason: "not JSON: \(error)")
        }
        do { return try ResourceStorage.decode(key: pair.key, value: value, revision: pair.revision) } catch {
            throw .corrupt(key: pair.key, reason: error.errors.map(\.description).joined(separator: "; "))
        }
    }
}
