import NetCore

/// Defaulting, as Calico's clientv3 does it before writing (`validateAndSetDefaults` and
/// friends). It is a separate, explicit step: decoding never invents values, so `validate`
/// can tell "absent" from "set", and `twillctl` decides when to default (create/apply).
public protocol Defaultable {
    func withDefaults() -> Self
}

extension IPPoolSpec {
    public static let defaultBlockSizeV4 = 26
    public static let defaultBlockSizeV6 = 122

    /// blockSize 26 (v4) / 122 (v6), ipipMode/vxlanMode Never, nodeSelector `all()`,
    /// allowedUses [Workload, Tunnel], assignmentMode Automatic; the CIDR is normalized when
    /// it parses (IPv6 text to RFC 5952 form).
    public func withDefaults() -> IPPoolSpec {
        var s = self
        let prefix = IPPrefix(cidr)
        if let prefix { s.cidr = prefix.description }
        if s.blockSize == 0, let prefix {
            s.blockSize = prefix.family == .v4 ? Self.defaultBlockSizeV4 : Self.defaultBlockSizeV6
        }
        if s.ipipMode == nil { s.ipipMode = .never }
        if s.vxlanMode == nil { s.vxlanMode = .never }
        if s.nodeSelector.isEmpty { s.nodeSelector = "all()" }
        if s.allowedUses.isEmpty { s.allowedUses = [.workload, .tunnel] }
        if s.assignmentMode == nil { s.assignmentMode = .automatic }
        return s
    }
}

extension BGPConfigurationSpec {
    public static let defaultASNumber = ASNumber(64512)
    public static let defaultListenPort = 179

    /// For the global `default` configuration: what calico-node writes when it creates it
    /// (logSeverityScreen Info, nodeToNodeMeshEnabled true, asNumber 64512). Per-node
    /// (`node.<name>`) configurations get nothing: a value there would override the global one,
    /// and Calico forbids most of these fields on them.
    public func withDefaults(isGlobal: Bool) -> BGPConfigurationSpec {
        guard isGlobal else { return self }
        var s = self
        if s.logSeverityScreen == nil { s.logSeverityScreen = .info }
        if s.nodeToNodeMeshEnabled == nil { s.nodeToNodeMeshEnabled = true }
        if s.asNumber == nil { s.asNumber = Self.defaultASNumber }
        return s
    }
}

extension NetworkPolicySpec {
    /// tier `default`; `types` from the rules present (clientv3 `defaultPolicyTypesField`):
    /// no egress rules → [Ingress] (even with no rules at all), only egress → [Egress],
    /// both → [Ingress, Egress].
    public func withDefaults() -> NetworkPolicySpec {
        var s = self
        if s.tier.isEmpty { s.tier = "default" }
        if s.types.isEmpty {
            if egress.isEmpty { s.types = [.ingress] }
            else if ingress.isEmpty { s.types = [.egress] }
            else { s.types = [.ingress, .egress] }
        }
        return s
    }
}

extension IPAMConfigurationSpec {
    /// autoAllocateBlocks true.
    public func withDefaults() -> IPAMConfigurationSpec {
        var s = self
        if s.autoAllocateBlocks == nil { s.autoAllocateBlocks = true }
        return s
    }
}

extension Resource: Defaultable {
    /// The resource with Calico's defaults filled in; namespaced kinds get namespace `default`.
    public func withDefaults() -> Resource {
        var r = self
        if kind.isNamespaced && r.metadata.namespace.isEmpty { r.metadata.namespace = "default" }
        switch r {
        case .ipPool(var p): p.spec = p.spec.withDefaults(); r = .ipPool(p)
        case .bgpConfiguration(var c): c.spec = c.spec.withDefaults(isGlobal: c.name == "default"); r = .bgpConfiguration(c)
        case .networkPolicy(var p): p.spec = p.spec.withDefaults(); r = .networkPolicy(p)
        case .globalNetworkPolicy(var p): p.spec.common = p.spec.common.withDefaults(); r = .globalNetworkPolicy(p)
        case .ipamConfiguration(var c): c.spec = c.spec.withDefaults(); r = .ipamConfiguration(c)
        case .workloadEndpoint(var w):
            // clientv3 `assignOrValidateName`: an unnamed endpoint gets the name derived from
            // its identifiers.
            if w.metadata.name.isEmpty, w.spec.hasIdentifiers { w.metadata.name = w.spec.calicoName }
            r = .workloadEndpoint(w)
        default: break
        }
        return r
    }
}
