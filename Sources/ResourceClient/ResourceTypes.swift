import Datastore
import NodeModel

/// Which resource: kind, name and, for namespaced kinds, namespace ("" for cluster-scoped).
public struct ResourceID: Hashable, Sendable, CustomStringConvertible {
    public var kind: ResourceKind
    public var name: String
    public var namespace: String

    public init(kind: ResourceKind, name: String, namespace: String = "") {
        self.kind = kind; self.name = name; self.namespace = namespace
    }

    /// calicoctl's identifier form: `IPPool(pool-a)`, `NetworkPolicy(ns/name)`.
    public var description: String {
        namespace.isEmpty ? "\(kind)(\(name))" : "\(kind)(\(namespace)/\(name))"
    }

    var documentRef: DocumentRef {
        DocumentRef(kind: kind.name, namespace: namespace.isEmpty ? nil : namespace, name: name)
    }
}

/// A resource as stored: the typed resource (its `metadata.resourceVersion` is the revision),
/// the datastore key it lives at, and the revision it was read or written at.
public struct StoredResource: Hashable, Sendable {
    public var key: String
    public var resource: Resource
    public var revision: Int64

    public init(key: String, resource: Resource, revision: Int64) {
        self.key = key; self.resource = resource; self.revision = revision
    }

    public var id: ResourceID { ResourceID(resource) }
    public var kind: ResourceKind { resource.kind }
    public var name: String { resource.name }
    /// The full v3 document (`apiVersion`, `kind`, `metadata`, `spec`), as `get -o yaml` prints it.
    public var document: Value { resource.toValue() }
    public var metadata: Value { document["metadata"] ?? .object([]) }
    public var spec: Value { document["spec"] ?? .object([]) }
}

extension ResourceID {
    public init(_ r: Resource) {
        self.init(kind: r.kind, name: r.name, namespace: r.kind.isNamespaced ? r.namespace : "")
    }
}

/// Why a resource operation failed. Every case names the resource (or document) and the reason,
/// in calicoctl's words where calicoctl has them.
public enum ClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A document does not decode or validate (NodeModel's error: document and field paths).
    case invalid(ResourceError)
    case notFound(ResourceID)
    case alreadyExists(ResourceID)
    /// The resource changed since the version the caller gave.
    case conflict(ResourceID, reason: String)
    case unknownKind(String)
    /// The value stored at `key` does not decode (written by hand or by an older version);
    /// `apply`/`replace` overwrite it and `delete` removes it.
    case corrupt(key: String, reason: String)
    /// An `update` closure refused the change (the message says why).
    case rejected(String)
    /// Several documents failed; nothing was written.
    case multiple([ClientError])
    case datastore(DatastoreError)

    public var description: String {
        switch self {
        case .invalid(let e): e.description
        case .notFound(let id): "resource does not exist: \(id)"
        case .alreadyExists(let id): "resource already exists: \(id)"
        case .conflict(let id, let reason): "update conflict: \(id): \(reason)"
        case .unknownKind(let k): "resource type '\(k)' is not supported"
        case .rejected(let m): m
        case .corrupt(let key, let reason): "the value stored at \(key) does not decode: \(reason)"
        case .multiple(let errors): errors.map(\.description).joined(separator: "\n")
        case .datastore(let e): e.description
        }
    }

    /// The individual errors (one for a single error).
    public var all: [ClientError] {
        if case .multiple(let e) = self { e } else { [self] }
    }

    static func invalid(_ ref: DocumentRef, _ path: String, _ reason: String) -> ClientError {
        .invalid(ResourceError(ref, FieldError(FieldPath(path), reason)))
    }

    static func combine(_ errors: [ClientError]) -> ClientError {
        errors.count == 1 ? errors[0] : .multiple(errors)
    }
}
