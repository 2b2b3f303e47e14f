import NetCore

/// A BGP community value as Calico writes it: standard `aa:nn` (two 16-bit parts, RFC 1997)
/// or large `aa:nn:mm` (three 32-bit parts, RFC 8092).
public enum CommunityValue: Hashable, Sendable, CustomStringConvertible {
    case standard(UInt16, UInt16)
    case large(UInt32, UInt32, UInt32)

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && $0.count <= 10 && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        switch parts.count {
        case 2:
            guard let a = UInt16(parts[0]), let b = UInt16(parts[1]) else { return nil }
            self = .standard(a, b)
        case 3:
            guard let a = UInt32(parts[0]), let b = UInt32(parts[1]), let c = UInt32(parts[2]) else { return nil }
            self = .large(a, b, c)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .standard(let a, let b): "\(a):\(b)"
        case .large(let a, let b, let c): "\(a):\(b):\(c)"
        }
    }
}

/// BGPConfiguration validation (calico.md §1.3: clientv3 `bgpconfig.go`, CEL and Go validator).
enum BGPConfigurationRules {
    static func validate(_ c: BGPConfiguration, _ p: inout Problems) {
        let s = c.spec
        if c.name != "default" {
            // clientv3: only the global configuration may set these.
            var globalOnly: [String] = []
            if s.nodeToNodeMeshEnabled != nil { globalOnly.append("nodeToNodeMeshEnabled") }
            if s.asNumber != nil { globalOnly.append("asNumber") }
            if !s.serviceLoadBalancerIPs.isEmpty { globalOnly.append("serviceLoadBalancerIPs") }
            if !s.serviceExternalIPs.isEmpty { globalOnly.append("serviceExternalIPs") }
            if !s.serviceClusterIPs.isEmpty { globalOnly.append("serviceClusterIPs") }
            if s.nodeMeshPassword != nil { globalOnly.append("nodeMeshPassword") }
            if s.nodeMeshMaxRestartTime != nil { globalOnly.append("nodeMeshMaxRestartTime") }
            for f in globalOnly {
                p.add(FieldPath("spec").child(f), "may only be set on the global BGPConfiguration \"default\", not on \"\(c.name)\"")
            }
        }
        if s.nodeToNodeMeshEnabled == false {
            if s.nodeMeshPassword != nil { p.add("spec.nodeMeshPassword", "requires nodeToNodeMeshEnabled") }
            if s.nodeMeshMaxRestartTime != nil { p.add("spec.nodeMeshMaxRestartTime", "requires nodeToNodeMeshEnabled") }
        }
        if s.listenPort != 0 && !(1...65535).contains(s.listenPort) {
            p.add("spec.listenPort", "must be between 1 and 65535")
        }
        for (field, blocks) in [("serviceLoadBalancerIPs", s.serviceLoadBalancerIPs), ("serviceExternalIPs", s.serviceExternalIPs),
                                ("serviceClusterIPs", s.serviceClusterIPs)] {
            for (i, b) in blocks.enumerated() {
                if case .failure(let e) = IPPrefix.parse(b.cidr, strict: false) {
                    p.add(FieldPath("spec").child(field).index(i).child("cidr"), e.description)
                }
            }
        }
        var names = Set<String>()
        for (i, community) in s.communities.enumerated() {
            let path = FieldPath("spec.communities").index(i)
            if community.name.isEmpty { p.add(path.child("name"), "required") }
            else if !names.insert(community.name).inserted { p.add(path.child("name"), "duplicate community name \"\(community.name)\"") }
            if CommunityValue(community.value) == nil {
                p.add(path.child("value"), "invalid community value \"\(community.value)\": expected aa:nn (each 0-65535) or aa:nn:mm (each 0-4294967295)")
            }
        }
        if s.communities.count > 500 { p.add("spec.communities", "at most 500 entries") }
        if s.prefixAdvertisements.count > 500 { p.add("spec.prefixAdvertisements", "at most 500 entries") }
        if !s.communities.isEmpty && s.prefixAdvertisements.isEmpty {
            p.add("spec.communities", "communities are only used through prefixAdvertisements, which is empty")
        }
        for (i, adv) in s.prefixAdvertisements.enumerated() {
            let path = FieldPath("spec.prefixAdvertisements").index(i)
            if case .failure(let e) = IPPrefix.parse(adv.cidr, strict: false) { p.add(path.child("cidr"), e.description) }
            for (j, c) in adv.communities.enumerated() where CommunityValue(c) == nil && !names.contains(c) {
                p.add(path.child("communities").index(j),
                      "\"\(c)\" is neither a community value (aa:nn or aa:nn:mm) nor a name defined in spec.communities")
            }
        }
        if !s.localWorkloadPeeringIPV4.isEmpty, IPv4Address(s.localWorkloadPeeringIPV4) == nil {
            p.add("spec.localWorkloadPeeringIPV4", "invalid IPv4 address \"\(s.localWorkloadPeeringIPV4)\"")
        }
        if !s.localWorkloadPeeringIPV6.isEmpty, IPv6Address(s.localWorkloadPeeringIPV6) == nil {
            p.add("spec.localWorkloadPeeringIPV6", "invalid IPv6 address \"\(s.localWorkloadPeeringIPV6)\"")
        }
        for (i, name) in s.ignoredInterfaces.enumerated() where name.isEmpty || name.utf8.count > 15 && !name.contains("*") {
            p.add(FieldPath("spec.ignoredInterfaces").index(i), "invalid interface name \"\(name)\"")
        }
        for (f, v) in [("ipv4NormalRoutePriority", s.ipv4NormalRoutePriority), ("ipv6NormalRoutePriority", s.ipv6NormalRoutePriority)] {
            if let v, !(1...2147483646).contains(v) { p.add(FieldPath("spec").child(f), "must be between 1 and 2147483646") }
        }
    }
}
