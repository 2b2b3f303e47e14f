/// Turning parsed documents into resources, all or nothing.
public enum ResourceDocuments {
    /// Expands `kind: List` / `kind: <Kind>List` documents into their items (in order) and
    /// drops empty documents (a trailing `---`). Each result keeps a reference to where it came
    /// from so errors can name it.
    public static func flatten(_ documents: [Value]) throws(ResourceError) -> [(ref: DocumentRef, value: Value, listKind: ResourceKind?)] {
        var out: [(ref: DocumentRef, value: Value, listKind: ResourceKind?)] = []
        for (i, doc) in documents.enumerated() {
            if doc == .null { continue }
            let ref = DocumentRef(index: i)
            guard case .object = doc else { throw ResourceError(ref, .type(.root, expected: "object", got: doc)) }
            guard case .string(let kind)? = doc["kind"], kind.hasSuffix("List") else {
                out.append((DocumentRef(index: out.count), doc, nil)); continue
            }
            var listKind: ResourceKind? = nil
            if kind != "List" {
                guard let k = ResourceKind(kindName: String(kind.dropLast(4))) else {
                    throw ResourceError(ref, FieldError("kind", "unknown list kind \"\(kind)\""))
                }
                listKind = k
            }
            if let api = doc["apiVersion"], api != .string(ResourceKind.apiVersion), api != .string("v1") {
                throw ResourceError(ref, FieldError("apiVersion", "unsupported apiVersion \(api.stringValue.map { "\"\($0)\"" } ?? api.typeName): expected \(ResourceKind.apiVersion)"))
            }
            for f in doc.objectFields ?? [] where !["apiVersion", "kind", "metadata", "items"].contains(f.key) {
                throw ResourceError(ref, FieldError(FieldPath(f.key), "unknown field \"\(f.key)\""))
            }
            let items: [Value]
            switch doc["items"] {
            case nil, .null?: items = []
            case .array(let a)?: items = a
            case let other?: throw ResourceError(ref, .type("items", expected: "list", got: other))
            }
            for item in items { out.append((DocumentRef(index: out.count), item, listKind)) }
        }
        return out
    }

    /// Decodes every document; the first failure aborts with the failing document's index,
    /// kind and name, and the field path.
    public static func decode(_ documents: [Value]) throws(ResourceError) -> [Resource] {
        var out: [Resource] = []
        for (ref, value, listKind) in try flatten(documents) {
            do {
                out.append(try Resource(from: value, listKind: listKind))
            } catch {
                var r = ref
                r.kind = value["kind"]?.stringValue ?? listKind?.name
                r.name = value["metadata"]?["name"]?.stringValue
                r.namespace = value["metadata"]?["namespace"]?.stringValue
                throw ResourceError(r, error)
            }
        }
        return out
    }

    /// The value for several resources as calicoctl prints them: a typed list (`IPPoolList`)
    /// when all share a kind (or, for an empty result, when `kind` names it), else `kind: List`.
    public static func listValue(_ resources: [Resource], kind: ResourceKind? = nil, resourceVersion: String? = nil) -> Value {
        var kinds = Set(resources.map(\.kind))
        if kinds.isEmpty, let kind { kinds = [kind] }
        var w = ObjectWriter()
        w.always("apiVersion", ResourceKind.apiVersion)
        w.always("items", resources.map { $0.toValue() })
        w.always("kind", kinds.count == 1 ? kinds.first!.listKind : "List")
        var meta = ObjectWriter()
        meta.optional("resourceVersion", resourceVersion)
        w.always("metadata", meta.value)
        return w.value
    }
}
