/// Collects field errors while walking a resource.
public struct Problems {
    public private(set) var errors: [FieldError] = []
    public init() {}
    public mutating func add(_ path: FieldPath, _ reason: String) { errors.append(FieldError(path, reason)) }
    public mutating func add(_ e: FieldError?) { if let e { errors.append(e) } }
    public mutating func selector(_ text: String, at path: FieldPath) {
        if !text.isEmpty { add(Selector.check(text, at: path)) }
    }
}

extension Resource {
    /// Every rule violation of this resource on its own (Calico's validator and clientv3
    /// checks), each naming its field. Rules that need other resources (pool overlap) or the
    /// previous version (immutable fields) are `IPPoolRules.overlap` and `validateUpdate(from:)`.
    public func validate() -> [FieldError] {
        var p = Problems()
        validateMetadata(&p)
        switch self {
        case .ipPool(let r): IPPoolRules.validate(r.spec, &p)
        case .bgpPeer(let r): BGPPeerRules.validate(r.spec, &p)
        case .bgpConfiguration(let r): BGPConfigurationRules.validate(r, &p)
        case .node(let r): NodeRules.validate(r.spec, &p)
        case .bgpFilter(let r): BGPFilterRules.validate(r.spec, &p)
        case .workloadEndpoint(let r): WorkloadEndpointRules.validate(r, &p)
        case .networkPolicy(let r): PolicyRules.validate(r.spec, at: "spec", &p)
        case .globalNetworkPolicy(let r): PolicyRules.validate(r.spec, &p)
        case .ipamConfiguration(let r): IPAMRules.validate(r, &p)
        case .ipamBlock(let r): IPAMRules.validate(r.spec, &p)
        case .blockAffinity(let r): IPAMRules.validate(r.spec, &p)
        case .ipamHandle(let r): if r.spec.handleID.isEmpty && r.name.isEmpty { p.add("spec.handleID", "required") }
        }
        return p.errors
    }

    /// Throws all problems at once, naming the resource.
    public func validated() throws(ResourceError) -> Resource {
        let errors = validate()
        if !errors.isEmpty { throw ResourceError(documentRef, errors) }
        return self
    }

    /// Rules that compare an update with the stored version (immutable fields).
    public func validateUpdate(from old: Resource) -> [FieldError] {
        var p = Problems()
        if old.kind != kind { p.add("kind", "cannot change kind from \(old.kind) to \(kind)") }
        if case .ipPool(let new) = self, case .ipPool(let prev) = old { IPPoolRules.validateUpdate(old: prev.spec, new: new.spec, &p) }
        return p.errors
    }

    func validateMetadata(_ p: inout Problems) {
        let m = metadata
        switch kind {
        case .bgpConfiguration:
            if m.name != "default" {
                if m.name.hasPrefix("node."), NameRules.dnsSubdomainProblem(String(m.name.dropFirst(5))) == nil {} else {
                    p.add("metadata.name", "BGPConfiguration name \"\(m.name)\" must be \"default\" or \"node.<nodename>\"")
                }
            }
        case .ipamConfiguration:
            if m.name != "default" { p.add("metadata.name", "IPAMConfiguration name must be \"default\"") }
        default:
            if m.name.isEmpty { p.add("metadata.name", "required") }
            else if let problem = NameRules.dnsSubdomainProblem(m.name) { p.add("metadata.name", problem) }
        }
        if kind.isNamespaced {
            if m.namespace.isEmpty { p.add("metadata.namespace", "required for \(kind) (defaults to \"default\")") }
            else if let problem = NameRules.dnsLabelProblem(m.namespace) { p.add("metadata.namespace", problem) }
        } else if !m.namespace.isEmpty {
            p.add("metadata.namespace", "\(kind) is not namespaced")
        }
        for (k, v) in m.labels.sorted(by: { $0.key < $1.key }) {
            if let problem = NameRules.labelKeyProblem(k) { p.add(FieldPath("metadata.labels").child(k), problem) }
            if let problem = NameRules.labelValueProblem(v) { p.add(FieldPath("metadata.labels").child(k), problem) }
        }
    }
}
