/// Any resource of any kind: what a YAML file, a `get` listing or a datastore read yields.
public enum Resource: Hashable, Sendable {
    case ipPool(IPPool)
    case bgpPeer(BGPPeer)
    case bgpConfiguration(BGPConfiguration)
    case node(Node)
    case bgpFilter(BGPFilter)
    case workloadEndpoint(WorkloadEndpoint)
    case networkPolicy(NetworkPolicy)
    case globalNetworkPolicy(GlobalNetworkPolicy)
    case ipamConfiguration(IPAMConfiguration)
    case ipamBlock(IPAMBlock)
    case blockAffinity(BlockAffinity)
    case ipamHandle(IPAMHandle)

    /// The wrapped value as the common protocol (for generic code).
    public var object: any CalicoResource {
        switch self {
        case .ipPool(let r): r
        case .bgpPeer(let r): r
        case .bgpConfiguration(let r): r
        case .node(let r): r
        case .bgpFilter(let r): r
        case .workloadEndpoint(let r): r
        case .networkPolicy(let r): r
        case .globalNetworkPolicy(let r): r
        case .ipamConfiguration(let r): r
        case .ipamBlock(let r): r
        case .blockAffinity(let r): r
        case .ipamHandle(let r): r
        }
    }

    /// Wraps a typed resource.
    public init(_ r: some CalicoResource) {
        switch r {
        case let r as IPPool: self = .ipPool(r)
        case let r as BGPPeer: self = .bgpPeer(r)
        case let r as BGPConfiguration: self = .bgpConfiguration(r)
        case let r as Node: self = .node(r)
        case let r as BGPFilter: self = .bgpFilter(r)
        case let r as WorkloadEndpoint: self = .workloadEndpoint(r)
        case let r as NetworkPolicy: self = .networkPolicy(r)
        case let r as GlobalNetworkPolicy: self = .globalNetworkPolicy(r)
        case let r as IPAMConfiguration: self = .ipamConfiguration(r)
        case let r as IPAMBlock: self = .ipamBlock(r)
        case let r as BlockAffinity: self = .blockAffinity(r)
        case let r as IPAMHandle: self = .ipamHandle(r)
        default: preconditionFailure("unknown resource type \(type(of: r))")
        }
    }

    /// The typed resource if it is of type `T`.
    public func `as`<T: CalicoResource>(_: T.Type) -> T? { object as? T }

    public var kind: ResourceKind { type(of: object).kind }

    public var metadata: ObjectMeta {
        get { object.metadata }
        set {
            switch self {
            case .ipPool(var r): r.metadata = newValue; self = .ipPool(r)
            case .bgpPeer(var r): r.metadata = newValue; self = .bgpPeer(r)
            case .bgpConfiguration(var r): r.metadata = newValue; self = .bgpConfiguration(r)
            case .node(var r): r.metadata = newValue; self = .node(r)
            case .bgpFilter(var r): r.metadata = newValue; self = .bgpFilter(r)
            case .workloadEndpoint(var r): r.metadata = newValue; self = .workloadEndpoint(r)
            case .networkPolicy(var r): r.metadata = newValue; self = .networkPolicy(r)
            case .globalNetworkPolicy(var r): r.metadata = newValue; self = .globalNetworkPolicy(r)
            case .ipamConfiguration(var r): r.metadata = newValue; self = .ipamConfiguration(r)
            case .ipamBlock(var r): r.metadata = newValue; self = .ipamBlock(r)
            case .blockAffinity(var r): r.metadata = newValue; self = .blockAffinity(r)
            case .ipamHandle(var r): r.metadata = newValue; self = .ipamHandle(r)
            }
        }
    }

    public var name: String { metadata.name }
    public var namespace: String { metadata.namespace }

    /// Identity for error messages.
    public var documentRef: DocumentRef {
        DocumentRef(kind: kind.name, namespace: kind.isNamespaced && !namespace.isEmpty ? namespace : nil, name: name)
    }

    /// The full document (`apiVersion`, `kind`, `metadata`, `spec`), Calico key order.
    public func toValue() -> Value { object.toValue() }

    /// Decodes one document whose `kind` names a known kind. `listKind`, when decoding items of
    /// a typed list (`IPPoolList`), supplies the kind for items that omit it.
    public init(from value: Value, at path: FieldPath = .root, listKind: ResourceKind? = nil) throws(FieldError) {
        guard case .object = value else { throw .type(path, expected: "object", got: value) }
        let kindName: String
        switch value["kind"] {
        case nil, .null?:
            guard let listKind else { throw FieldError(path.child("kind"), "required: the resource kind, e.g. IPPool") }
            kindName = listKind.name
        case .string(let s)?: kindName = s
        case let other?: throw .type(path.child("kind"), expected: "string", got: other)
        }
        guard let kind = ResourceKind(kindName: kindName) else {
            let hint = ResourceKind(alias: kindName).map { " (did you mean \($0.name)?)" } ?? ""
            throw FieldError(path.child("kind"), "unknown resource kind \"\(kindName)\"\(hint)")
        }
        if value["apiVersion"] == nil && listKind == nil {
            throw FieldError(path.child("apiVersion"), "required: must be \(ResourceKind.apiVersion)")
        }
        switch kind {
        case .ipPool: self = .ipPool(try IPPool(from: value, at: path))
        case .bgpPeer: self = .bgpPeer(try BGPPeer(from: value, at: path))
        case .bgpConfiguration: self = .bgpConfiguration(try BGPConfiguration(from: value, at: path))
        case .node: self = .node(try Node(from: value, at: path))
        case .bgpFilter: self = .bgpFilter(try BGPFilter(from: value, at: path))
        case .workloadEndpoint: self = .workloadEndpoint(try WorkloadEndpoint(from: value, at: path))
        case .networkPolicy: self = .networkPolicy(try NetworkPolicy(from: value, at: path))
        case .globalNetworkPolicy: self = .globalNetworkPolicy(try GlobalNetworkPolicy(from: value, at: path))
        case .ipamConfiguration: self = .ipamConfiguration(try IPAMConfiguration(from: value, at: path))
        case .ipamBlock: self = .ipamBlock(try IPAMBlock(from: value, at: path))
        case .blockAffinity: self = .blockAffinity(try BlockAffinity(from: value, at: path))
        case .ipamHandle: self = .ipamHandle(try IPAMHandle(from: value, at: path))
        }
    }
}
