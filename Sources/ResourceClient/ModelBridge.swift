import NodeModel

/// The one place ResourceClient calls NodeModel's typed API: decoding with defaults and
/// validation, identities and datastore keys.
enum ModelBridge {
    /// Identity for error messages, read leniently from a raw document.
    static func documentRef(_ raw: Value, index: Int) -> DocumentRef {
        DocumentRef(index: index, kind: raw["kind"]?.stringValue, namespace: raw["metadata"]?["namespace"]?.stringValue,
                    name: raw["metadata"]?["name"]?.stringValue)
    }

    /// Strict decoding, Calico's defaults, then validation: the canonical stored document.
    static func decode(_ doc: Value, ref: DocumentRef, listKind: ResourceKind?) throws(ClientError) -> (ResourceID, Value) {
        let resource: Resource
        do { resource = try Resource(from: doc, listKind: listKind) } catch {
            throw .invalid(ResourceError(ref, error))
        }
        var r = resource
        if r.kind.isNamespaced, r.namespace.isEmpty { r.metadata.namespace = "default" }
        let id = ResourceID(kind: r.kind, name: r.name, namespace: r.kind.isNamespaced ? r.namespace : "")
        var docRef = ref
        docRef.kind = id.kind.name; docRef.name = id.name
        try checkName(id, ref: docRef)
        return (id, r.toValue())
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

    static func key(_ id: ResourceID) throws(ClientError) -> String {
        listPrefix(kind: id.kind, namespace: id.namespace) + id.name
    }

    /// Every key of `kind` (in `namespace`, or all namespaces when "") starts with this.
    static func listPrefix(kind: ResourceKind, namespace: String) -> String {
        let base = "/calico/resources/v3/projectcalico.org/\(kind.plural)/"
        return namespace.isEmpty ? base : base + namespace + "/"
    }
}
