import NetCore

/// NetworkPolicy / GlobalNetworkPolicy validation (calico.md §1.9, libcalico-go validator).
enum PolicyRules {
    static func validate(_ s: NetworkPolicySpec, at path: FieldPath, _ p: inout Problems) {
        p.selector(s.selector, at: path.child("selector"))
        p.selector(s.serviceAccountSelector, at: path.child("serviceAccountSelector"))
        if !s.tier.isEmpty, let problem = NameRules.dnsLabelProblem(s.tier) { p.add(path.child("tier"), problem) }
        if let o = s.order, !o.isFinite { p.add(path.child("order"), "must be a finite number") }
        if Set(s.types).count != s.types.count { p.add(path.child("types"), "contains duplicates") }
        if s.ingress.count > 1024 { p.add(path.child("ingress"), "at most 1024 rules") }
        if s.egress.count > 1024 { p.add(path.child("egress"), "at most 1024 rules") }
        for (i, r) in s.ingress.enumerated() { rule(r, at: path.child("ingress").index(i), &p) }
        for (i, r) in s.egress.enumerated() { rule(r, at: path.child("egress").index(i), &p) }
    }

    static func validate(_ g: GlobalNetworkPolicySpec, _ p: inout Problems) {
        validate(g.common, at: "spec", &p)
        p.selector(g.namespaceSelector, at: "spec.namespaceSelector")
        if g.preDNAT && g.doNotTrack { p.add("spec", "preDNAT and doNotTrack cannot both be true") }
        if (g.preDNAT || g.doNotTrack) && !g.applyOnForward {
            p.add("spec.applyOnForward", "must be true when preDNAT or doNotTrack is true")
        }
        if g.preDNAT && (!g.common.egress.isEmpty || g.common.types.contains(.egress)) {
            p.add("spec.egress", "a preDNAT policy cannot have egress rules or the Egress type")
        }
    }

    static func rule(_ r: PolicyRule, at path: FieldPath, _ p: inout Problems) {
        if r.action == nil { p.add(path.child("action"), "required: one of Allow, Deny, Log, Pass") }
        if let v = r.ipVersion, v != 4 && v != 6 { p.add(path.child("ipVersion"), "must be 4 or 6") }

        // Ports only make sense for protocols that have them.
        let hasPorts = !r.source.ports.isEmpty || !r.source.notPorts.isEmpty || !r.destination.ports.isEmpty || !r.destination.notPorts.isEmpty
        if hasPorts && !(r.protocol?.supportsPorts ?? false) {
            p.add(path.child("protocol"), "ports can only be used with protocol TCP, UDP or SCTP")
        }
        if let np = r.notProtocol, !np.supportsPorts, !r.source.notPorts.isEmpty || !r.destination.notPorts.isEmpty, r.protocol == nil {
            p.add(path.child("notProtocol"), "notPorts need protocol TCP, UDP or SCTP")
        }

        // ICMP fields need an ICMP protocol of the matching IP version.
        for (field, icmp, proto) in [("icmp", r.icmp, r.protocol), ("notICMP", r.notICMP, r.protocol ?? r.notProtocol)] {
            guard let icmp else { continue }
            let n = proto?.number
            if n != 1 && n != 58 {
                p.add(path.child(field), "requires protocol ICMP or ICMPv6")
            } else if let v = r.ipVersion, (n == 1 && v != 4) || (n == 58 && v != 6) {
                p.add(path.child(field), "protocol \(proto!) does not match ipVersion \(v)")
            }
            if icmp.code != nil && icmp.type == nil { p.add(path.child(field).child("code"), "requires type") }
            if let t = icmp.type, !(0...254).contains(t) { p.add(path.child(field).child("type"), "must be between 0 and 254") }
            if let c = icmp.code, !(0...255).contains(c) { p.add(path.child(field).child("code"), "must be between 0 and 255") }
        }
        if let proto = r.protocol, let v = r.ipVersion, r.icmp == nil, (proto.number == 1 && v == 6) || (proto.number == 58 && v == 4) {
            p.add(path.child("protocol"), "protocol \(proto) does not match ipVersion \(v)")
        }

        // Nets: all one family, matching ipVersion; notNets never the whole space.
        var families = Set<IPFamily>()
        for (side, e) in [("source", r.source), ("destination", r.destination)] {
            let sp = path.child(side)
            for (field, nets) in [("nets", e.nets), ("notNets", e.notNets)] {
                for (i, n) in nets.enumerated() {
                    guard let prefix = parseNet(n) else {
                        p.add(sp.child(field).index(i), "invalid CIDR \"\(n)\""); continue
                    }
                    families.insert(prefix.family)
                    if let v = r.ipVersion, v != prefix.family.rawValue {
                        p.add(sp.child(field).index(i), "\(n) is not an IPv\(v) CIDR but the rule has ipVersion \(v)")
                    }
                    if field == "notNets" && prefix.length == 0 {
                        p.add(sp.child(field).index(i), "notNets may not contain \(prefix): the rule could never match")
                    }
                }
            }
            p.selector(e.selector, at: sp.child("selector"))
            p.selector(e.notSelector, at: sp.child("notSelector"))
            p.selector(e.namespaceSelector, at: sp.child("namespaceSelector"))
            if let sa = e.serviceAccounts { p.selector(sa.selector, at: sp.child("serviceAccounts.selector")) }
        }
        if families.count > 1 { p.add(path, "a rule cannot mix IPv4 and IPv6 CIDRs") }
    }

    /// Calico accepts a bare IP (as a host prefix) or a CIDR whose host bits it masks.
    static func parseNet(_ s: String) -> IPPrefix? {
        if let a = IPAddress(s) { return IPPrefix(host: a) }
        return IPPrefix.parse(s, strict: false).success
    }
}
