import NetCore

/// WorkloadEndpoint validation (calico.md §1.8).
enum WorkloadEndpointRules {
    static func validate(_ w: WorkloadEndpoint, _ p: inout Problems) {
        let s = w.spec
        if s.hasIdentifiers && !w.name.isEmpty && w.name != s.calicoName {
            p.add("metadata.name", "\"\(w.name)\" does not match the endpoint's identifiers: expected \"\(s.calicoName)\"")
        }
        for (i, n) in s.ipNetworks.enumerated() {
            guard let prefix = IPPrefix.parse(n, strict: false).success else {
                p.add(FieldPath("spec.ipNetworks").index(i), "invalid CIDR \"\(n)\""); continue
            }
            if prefix.length != prefix.family.bitWidth {
                p.add(FieldPath("spec.ipNetworks").index(i), "\(n) must be a single address (/32 or /128)")
            }
        }
        for (i, nat) in s.ipNATs.enumerated() {
            let path = FieldPath("spec.ipNATs").index(i)
            if IPAddress(nat.internalIP) == nil { p.add(path.child("internalIP"), "invalid IP address \"\(nat.internalIP)\"") }
            if IPAddress(nat.externalIP) == nil { p.add(path.child("externalIP"), "invalid IP address \"\(nat.externalIP)\"") }
        }
        if !s.ipv4Gateway.isEmpty, IPv4Address(s.ipv4Gateway) == nil { p.add("spec.ipv4Gateway", "invalid IPv4 address") }
        if !s.ipv6Gateway.isEmpty, IPv6Address(s.ipv6Gateway) == nil { p.add("spec.ipv6Gateway", "invalid IPv6 address") }
        if !s.mac.isEmpty, MACAddress(s.mac) == nil { p.add("spec.mac", "invalid MAC address \"\(s.mac)\"") }
        if s.interfaceName.utf8.count > 15 { p.add("spec.interfaceName", "must be no more than 15 characters") }
        for (i, port) in s.ports.enumerated() {
            let path = FieldPath("spec.ports").index(i)
            if !(1...65535).contains(port.port) { p.add(path.child("port"), "must be between 1 and 65535") }
            if !(0...65535).contains(port.hostPort) { p.add(path.child("hostPort"), "must be between 0 and 65535") }
            if let proto = port.protocol, !proto.supportsPorts { p.add(path.child("protocol"), "must be TCP, UDP or SCTP") }
        }
        if !s.node.isEmpty, let problem = NameRules.dnsSubdomainProblem(s.node) { p.add("spec.node", problem) }
    }
}

/// IPAM record validation (calico.md §1.6).
enum IPAMRules {
    static func validate(_ c: IPAMConfiguration, _ p: inout Problems) {
        if c.spec.maxBlocksPerHost < 0 { p.add("spec.maxBlocksPerHost", "must not be negative") }
        if let s = c.spec.ipCooldownSeconds, !(0...1200).contains(s) { p.add("spec.ipCooldownSeconds", "must be between 0 and 1200") }
    }

    static func validate(_ b: IPAMBlockSpec, _ p: inout Problems) {
        guard case .success(let prefix) = IPPrefix.parse(b.cidr, strict: true) else {
            p.add("spec.cidr", "invalid block CIDR \"\(b.cidr)\""); return
        }
        if let a = b.affinity, !(a.hasPrefix("host:") || a.hasPrefix("virtual:")) {
            p.add("spec.affinity", "must be host:<node> or virtual:<node>")
        }
        if UInt64(b.allocations.count) != prefix.addressCount {
            p.add("spec.allocations", "has \(b.allocations.count) entries, the block has \(prefix.addressCount) addresses")
        }
        for (i, a) in b.allocations.enumerated() {
            if let a, a < 0 || a >= b.attributes.count {
                p.add(FieldPath("spec.allocations").index(i), "refers to attribute \(a), which does not exist")
            }
        }
    }

    static func validate(_ a: BlockAffinitySpec, _ p: inout Problems) {
        if a.node.isEmpty { p.add("spec.node", "required") }
        if case .failure(let e) = IPPrefix.parse(a.cidr, strict: true) { p.add("spec.cidr", e.description) }
        if a.deleted == "true" { p.add("spec.deleted", "cannot be set to true") }
        if !["", "host", "virtual"].contains(a.type) { p.add("spec.type", "must be host or virtual") }
    }
}
