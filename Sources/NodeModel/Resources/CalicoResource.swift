/// A spec type: strict `Value` decoding, a zero value (`init()`) for absent specs, and the
/// kind of resource it is the spec of.
public protocol ResourceSpec: ValueCodable, Hashable, Sendable {
    init()
    static var kind: ResourceKind { get }
}

/// One `projectcalico.org/v3` resource type: metadata, a typed spec and (read-only for users)
/// an opaque status kept so `kubectl`-style YAML round-trips.
public protocol CalicoResource: Hashable, Sendable, ValueCodable {
    associatedtype Spec: ResourceSpec
    static var kind: ResourceKind { get }
    var metadata: ObjectMeta { get set }
    var spec: Spec { get set }
    var status: Value? { get set }
    init(metadata: ObjectMeta, spec: Spec)
}

extension CalicoResource {
    /// Decodes a whole document (`apiVersion`, `kind`, `metadata`, `spec`, `status`).
    /// `apiVersion` must be `projectcalico.org/v3`; `kind` must match (or be absent, as in
    /// items of a typed list such as `IPPoolList`).
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        let api: String? = try r.optional("apiVersion")
        if let api, api != ResourceKind.apiVersion {
            throw FieldError(path.child("apiVersion"), "unsupported apiVersion \"\(api)\": expected \(ResourceKind.apiVersion)")
        }
        if let kind: String = try r.optional("kind"), kind != Self.kind.name {
            throw FieldError(path.child("kind"), "kind \"\(kind)\" is not \(Self.kind.name)")
        }
        let meta: ObjectMeta = try r.field("metadata", default: ObjectMeta())
        let spec: Spec = try r.field("spec", default: Spec())
        self.init(metadata: meta, spec: spec)
        status = try r.optional("status")
        try r.finish()
    }

    /// Encodes in Calico's key order: apiVersion, kind, metadata, spec (status if any).
    public func toValue() -> Value {
        var w = ObjectWriter()
        w.always("apiVersion", ResourceKind.apiVersion)
        w.always("kind", Self.kind.name)
        w.always("metadata", metadata)
        w.always("spec", spec)
        w.optional("status", status)
        return w.value
    }

    public var name: String { metadata.name }
    public var namespace: String { metadata.namespace }
}

/// The one concrete resource type: every kind is `CalicoObject<ItsSpec>` under its Calico name
/// (`IPPool = CalicoObject<IPPoolSpec>`), so metadata/status handling exists once.
public struct CalicoObject<Spec: ResourceSpec>: CalicoResource {
    public static var kind: ResourceKind { Spec.kind }
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: Value? = nil
    public init(metadata: ObjectMeta = ObjectMeta(), spec: Spec = Spec()) {
        self.metadata = metadata; self.spec = spec
    }
}
