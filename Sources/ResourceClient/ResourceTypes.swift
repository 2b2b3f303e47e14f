import Datastore
import NodeModel

/// Which resource: kind (canonical, `IPPool`), name and, for namespaced kinds, namespace.
public struct ResourceID: Hashable, Sendable, CustomStringConvertible {
    public var kind: String
    public var name: String
    public var namespace: String?

    public init(kind: String, name: String, namespace: String? = nil) {
        self.kind = kind; self.name = name; self.namespace = namespace
    }

    /// calicoctl's identifier form: `IPPool(pool-a)`, `NetworkPolicy(ns/name)`.
    public var description: String {
        if let namespace { "\(kind)(\(namespace)/\(name))" } else { "\(kind)(\(name))" }
    }
}

/// A stored resource: the full v3 document (apiVersion, kind, metadata with resourceVersion,
/// spec) and the datastore revision it was read or written at.
public struct Resource: Hashable, Sendable {
    public var id: ResourceID
    public var document: Value
    public var revision: Int64

    public init(id: ResourceID, document: Value, revision: Int64) {
        self.id = id; self.document = document; self.revision = revision
    }

    public var metadata: Value { document["metadata"] ?? .object([]) }
    public var spec: Value { document["spec"] ?? .object([]) }
    public var labels: [String: String] {
        var out: [String: String] = [:]
        for f in metadata["labels"]?.objectFields ?? [] { out[f.key] = f.value.stringValue ?? "" }
        return out
    }
}

/// Where a document sits in the user's input, for error messages.
public struct DocumentRef: Hashable, Sendable, CustomStringConvertible {
    /// 1-based position in the input (after `kind: List` expansion).
    public var index: Int
    public var id: ResourceID?

    public init(index: Int, id: ResourceID?) { self.index = index; self.id = id }

    public var description: String {
        if let id { "document \(index) (\(id.kind)/\(id.name))" } else { "document \(index)" }
    }
}

/// Why a resource operation failed. Every case names the resource (or document) and the reason,
/// in calicoctl's words where calicoctl has them.
public enum ResourceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The document does not decode or validate: `field` is the dotted path (`spec.cidr`).
    case invalid(DocumentRef, field: String?, reason: String)
    case notFound(ResourceID)
    case alreadyExists(ResourceID)
    /// The resource changed since the version the caller gave.
    case conflict(ResourceID, reason: String)
    case unknownKind(String)
    /// Several documents failed; nothing was written.
    case multiple([ResourceError])
    case datastore(DatastoreError)

    public var description: String {
        switch self {
        case .invalid(let doc, let field, let reason):
            if let field { "\(doc): \(field): \(reason)" } else { "\(doc): \(reason)" }
        case .notFound(let id): "resource does not exist: \(id)"
        case .alreadyExists(let id): "resource already exists: \(id)"
        case .conflict(let id, let reason): "update conflict: \(id): \(reason)"
        case .unknownKind(let k): "resource type '\(k)' is not supported"
        case .multiple(let errors): errors.map(\.description).joined(separator: "\n")
        case .datastore(let e): e.description
        }
    }

    /// The individual errors (one for a single error).
    public var all: [ResourceError] {
        if case .multiple(let e) = self { e } else { [self] }
    }
}
