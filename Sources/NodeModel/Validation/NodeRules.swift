import NetCore

/// Node validation (calico.md §1.4).
enum NodeRules {
    static func validate(_ s: NodeSpec, _ p: inout Problems) {
        if let bgp = s.bgp {
            if bgp == NodeBGPSpec() { p.add("spec.bgp", "must not be empty: set ipv4Address and/or ipv6Address, or remove bgp") }
            interface(bgp.ipv4Address, family: .v4, at: "spec.bgp.ipv4Address", &p)
            interface(bgp.ipv6Address, family: .v6, at: "spec.bgp.ipv6Address", &p)
            address(bgp.ipv4IPIPTunnelAddr, family: .v4, at: "spec.bgp.ipv4IPIPTunnelAddr", &p)
            if !bgp.routeReflectorClusterID.isEmpty, IPv4Address(bgp.routeReflectorClusterID) == nil {
                p.add("spec.bgp.routeReflectorClusterID", "must be in IPv4 address form, e.g. 224.0.0.1")
            }
        }
        address(s.ipv4VXLANTunnelAddr, family: .v4, at: "spec.ipv4VXLANTunnelAddr", &p)
        address(s.ipv6VXLANTunnelAddr, family: .v6, at: "spec.ipv6VXLANTunnelAddr", &p)
        for (f, mac) in [("vxlanTunnelMACAddr", s.vxlanTunnelMACAddr), ("vxlanTunnelMACAddrV6", s.vxlanTunnelMACAddrV6)]
        where !mac.isEmpty && MACAddress(mac) == nil {
            p.add(FieldPath("spec").child(f), "invalid MAC address \"\(mac)\"")
        }
        if let wg = s.wireguard {
            address(wg.interfaceIPv4Address, family: .v4, at: "spec.wireguard.interfaceIPv4Address", &p)
            address(wg.interfaceIPv6Address, family: .v6, at: "spec.wireguard.interfaceIPv6Address", &p)
        }
        for (i, a) in s.addresses.enumerated() where IPAddress(a.address) == nil && IPPrefix.parse(a.address, strict: false).success == nil {
            p.add(FieldPath("spec.addresses").index(i).child("address"), "invalid IP address or CIDR \"\(a.address)\"")
        }
    }

    /// Node BGP addresses are interface addresses in CIDR form (`10.0.0.5/24`): host bits are
    /// expected, the length gives the subnet used for CrossSubnet decisions. Like Calico's
    /// `cidrv4`/`cidrv6` validators, a bare address is accepted as a host prefix.
    static func interface(_ text: String, family: IPFamily, at path: FieldPath, _ p: inout Problems) {
        guard !text.isEmpty else { return }
        guard let iface = NodeBGPSpec.parseInterface(text) else {
            p.add(path, "\"\(text)\" is not an \(family) address in CIDR form (address/prefix-length, e.g. \(family == .v4 ? "10.0.0.5/24" : "fd00::5/64"))")
            return
        }
        if iface.address.family != family { p.add(path, "\"\(text)\" is not an \(family) address") }
    }

    static func address(_ text: String, family: IPFamily, at path: FieldPath, _ p: inout Problems) {
        guard !text.isEmpty else { return }
        guard let a = IPAddress(text), a.family == family else { p.add(path, "invalid \(family) address \"\(text)\""); return }
    }
}
