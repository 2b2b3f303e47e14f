import NetCore

/// One host interface as the kernel reports it (RTM_GETLINK + RTM_GETADDR): the input of the
/// pure selection below, so tests drive it with made-up interface lists.
public struct HostInterface: Equatable, Sendable {
    public var name: String
    public var index: Int
    public var mtu: Int
    /// In the kernel's dump order (the order `ip addr` shows).
    public var addresses: [InterfaceAddressEntry]
    public init(name: String, index: Int, mtu: Int, addresses: [InterfaceAddressEntry]) {
        self.name = name; self.index = index; self.mtu = mtu; self.addresses = addresses
    }
}

/// An address with its on-link prefix length, as configured on an interface.
public struct InterfaceAddressEntry: Equatable, Sendable {
    public var address: IPAddress
    public var prefixLength: Int
    public init(_ address: IPAddress, prefixLength: Int) { self.address = address; self.prefixLength = prefixLength }
}

extension Autodetect {
    /// Interfaces `first-found` and `skip-interface=` never pick: calico-node's
    /// `DEFAULT_INTERFACES_TO_EXCLUDE` (current master, including `^podman.*` and `^br-.*`)
    /// plus Twill's own devices (VXLAN devices and the CNI's `tw<hex>` host-side veths,
    /// `WorkloadNetwork.hostInterfaceName`).
    public static let defaultExclusions: [String] = [
        "^docker.*", "^cbr.*", "^dummy.*", "^podman.*", "^virbr.*", "^lxcbr.*", "^veth.*", "^lo",
        "^br-.*", "^cali.*", "^tunl.*", "^flannel.*", "^kube-ipvs.*", "^cni.*",
        #"^vxlan\.calico.*"#, #"^vxlan-v6\.calico.*"#, #"^wireguard\.cali.*"#, #"^wg-v6\.cali.*"#,
        "^nodelocaldns.*",
        #"^vxlan\.twill"#, #"^vxlan-v6\.twill"#, "^tw[0-9a-f]",
    ]

    /// Calico's `IsGlobalUnicast` test: not unspecified, loopback, link-local, multicast or the
    /// IPv4 limited broadcast. Private ranges and IPv6 ULAs are valid node addresses.
    public static func isGlobalUnicast(_ ip: IPAddress) -> Bool {
        switch ip {
        case .v4(let a):
            let v = a.value
            if v == 0 || v == 0xFFFF_FFFF { return false }
            if v >> 24 == 127 { return false }             // 127.0.0.0/8
            if v >> 16 == 0xA9FE { return false }          // 169.254.0.0/16
            if v >> 28 == 0xE { return false }             // 224.0.0.0/4
            return true
        case .v6(let a):
            if a.high == 0 && (a.low == 0 || a.low == 1) { return false }   // :: and ::1
            if a.high >> 54 == 0x3FA { return false }                       // fe80::/10
            if a.high >> 56 == 0xFF { return false }                        // ff00::/8
            if a.high == 0 && a.low >> 32 == 0xFFFF {                       // ::ffff:a.b.c.d
                return isGlobalUnicast(.v4(IPv4Address(UInt32(truncatingIfNeeded: a.low))))
            }
            return true
        }
    }

    /// The pure half of `detect`: picks an address from `interfaces` (in ifindex order, as the
    /// kernel lists them). `canReach` needs the source address the kernel chose (`reachSource`).
    ///
    /// Like calico-node's `FilteredEnumeration`, interfaces are tried in *reverse* ifindex order
    /// (Calico keeps that for compatibility with its older releases), and within one interface
    /// addresses in the kernel's order; the first global unicast address of `family` that passes
    /// the method's filter wins.
    public static func select(_ method: AutodetectMethod, family: IPFamily, from interfaces: [HostInterface],
                              reachSource: IPAddress? = nil) throws(AutodetectError) -> DetectedAddress {
        let methodText = method.description
        switch method {
        case .firstFound:
            return try firstMatch(interfaces, family: family, include: [], exclude: defaultExclusions, cidrs: [], method: methodText)
        case .interface(let regexes):
            return try firstMatch(interfaces, family: family, include: regexes, exclude: [], cidrs: [], method: methodText)
        case .skipInterface(let regexes):
            return try firstMatch(interfaces, family: family, include: [], exclude: defaultExclusions + regexes, cidrs: [],
                                  method: methodText)
        case .cidr(let cidrs):
            return try firstMatch(interfaces, family: family, include: [], exclude: [], cidrs: cidrs, method: methodText)
        case .canReach(let dest):
            guard let source = reachSource else {
                throw AutodetectError(method: methodText, reason: "no source address for \(dest)")
            }
            guard source.family == family else {
                throw AutodetectError(method: methodText, reason: "\(dest) was reached from \(source), not an \(family) address")
            }
            guard let hit = holding(source, in: interfaces) else {
                throw AutodetectError(method: methodText,
                                      reason: "the source address \(source) used to reach \(dest) is not on any local interface")
            }
            return hit
        }
    }

    /// The interface and prefix length holding exactly `address` (any interface, no exclusions).
    public static func holding(_ address: IPAddress, in interfaces: [HostInterface]) -> DetectedAddress? {
        for i in interfaces.sorted(by: { $0.index > $1.index }) {
            for a in i.addresses where a.address == address {
                return DetectedAddress(interface: i.name, address: a.address, prefixLength: a.prefixLength, mtu: i.mtu)
            }
        }
        return nil
    }

    static func firstMatch(_ interfaces: [HostInterface], family: IPFamily, include: [String], exclude: [String],
                           cidrs: [IPPrefix], method: String) throws(AutodetectError) -> DetectedAddress {
        let inc = try compile(include, method: method)
        let exc = try compile(exclude, method: method)
        var considered = 0
        for i in interfaces.sorted(by: { $0.index > $1.index }) {
            if !inc.isEmpty && !inc.contains(where: { i.name.contains($0) }) { continue }
            if exc.contains(where: { i.name.contains($0) }) { continue }
            considered += 1
            for a in i.addresses where a.address.family == family && isGlobalUnicast(a.address) {
                if !cidrs.isEmpty && !cidrs.contains(where: { $0.contains(a.address) }) { continue }
                return DetectedAddress(interface: i.name, address: a.address, prefixLength: a.prefixLength, mtu: i.mtu)
            }
        }
        if considered == 0 { throw AutodetectError(method: method, reason: "no valid host interfaces found") }
        let scope = cidrs.isEmpty ? "" : " inside \(cidrs.map(\.description).joined(separator: ", "))"
        throw AutodetectError(method: method, reason: "no valid \(family) addresses\(scope) found on the host interfaces")
    }

    private static func compile(_ patterns: [String], method: String) throws(AutodetectError) -> [Regex<AnyRegexOutput>] {
        var out: [Regex<AnyRegexOutput>] = []
        for p in patterns {
            do { out.append(try Regex(p)) } catch {
                throw AutodetectError(method: method, reason: "invalid interface regex \"\(p)\": \(error)")
            }
        }
        return out
    }
}
