/// A dotted field path as users write it: `spec.ingress[0].source.nets[1]`.
public struct FieldPath: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var description: String
    public init(_ text: String = "") { description = text }
    public init(stringLiteral value: String) { description = value }
    public static let root = FieldPath()

    public func child(_ key: String) -> FieldPath {
        FieldPath(description.isEmpty ? key : description + "." + key)
    }
    public func index(_ i: Int) -> FieldPath { FieldPath(description + "[\(i)]") }
    public static func + (l: FieldPath, r: String) -> FieldPath { l.child(r) }
}

/// One problem with one field: the path and the reason, e.g. `spec.cidr: ... is not strictly masked`.
public struct FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: FieldPath
    public var reason: String
    public init(_ path: FieldPath, _ reason: String) { self.path = path; self.reason = reason }
    public var description: String { path.description.isEmpty ? reason : "\(path): \(reason)" }
}

/// Which document of an input an error belongs to: its position in the input (0-based,
/// after `kind: List` flattening) and, when known, kind/namespace/name.
public struct DocumentRef: Hashable, Sendable, CustomStringConvertible {
    public var index: Int?
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public init(index: Int? = nil, kind: String? = nil, namespace: String? = nil, name: String? = nil) {
        self.index = index; self.kind = kind; self.namespace = namespace; self.name = name
    }

    public var description: String {
        var parts: [String] = []
        if let index { parts.append("document \(index + 1)") }
        if let kind {
            var ident = kind
            if let name, !name.isEmpty { ident += " \"" + (namespace.map { $0 + "/" } ?? "") + name + "\"" }
            parts.append(ident)
        }
        return parts.isEmpty ? "resource" : parts.joined(separator: ", ")
    }
}

/// Errors about one resource document: the document's identity and every field problem found
/// (decoding stops at the first; validation reports all).
public struct ResourceError: Error, Hashable, Sendable, CustomStringConvertible {
    public var document: DocumentRef
    public var errors: [FieldError]
    public init(_ document: DocumentRef, _ errors: [FieldError]) { self.document = document; self.errors = errors }
    public init(_ document: DocumentRef, _ error: FieldError) { self.init(document, [error]) }

    public var description: String {
        if errors.count == 1 { return "\(document): \(errors[0])" }
        return "\(document):" + errors.map { "\n  - \($0)" }.joined()
    }
}
