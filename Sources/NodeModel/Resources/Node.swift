import NetCore

/// `NodeBGPSpec`: the node's BGP identity. Addresses are in CIDR form (`10.0.0.5/24`): the
/// prefix length tells which peers are on the same subnet (CrossSubnet encapsulation).
public struct NodeBGPSpec: Hashable, Sendable, ValueCodable {
    public var asNumber: ASNumber? = nil
    public var ipv4Address: String = ""
    public var ipv6Address: String = ""
    public var ipv4IPIPTunnelAddr: String = ""
    public var routeReflectorClusterID: String = ""

    public init(asNumber: ASNumber? = nil, ipv4Address: String = "", ipv6Address: String = "") {
        self.asNumber = asNumber; self.ipv4Address = ipv4Address; self.ipv6Address = ipv6Address
    }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        asNumber = try r.optional("asNumber")
        ipv4Address = try r.string("ipv4Address")
        ipv6Address = try r.string("ipv6Address")
        ipv4IPIPTunnelAddr = try r.string("ipv4IPIPTunnelAddr")
        routeReflectorClusterID = try r.string("routeReflectorClusterID")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.optional("asNumber", asNumber)
        w.omitEmpty("ipv4Address", ipv4Address)
        w.omitEmpty("ipv6Address", ipv6Address)
        w.omitEmpty("ipv4IPIPTunnelAddr", ipv4IPIPTunnelAddr)
        w.omitEmpty("routeReflectorClusterID", routeReflectorClusterID)
        return w.value
    }

    /// The parsed `ipv4Address` (address and subnet), nil when unset or malformed.
    public var ipv4Interface: (address: IPAddress, subnet: IPPrefix)? { Self.parseInterface(ipv4Address) }
    public var ipv6Interface: (address: IPAddress, subnet: IPPrefix)? { Self.parseInterface(ipv6Address) }

    /// `ADDRESS/LEN`, or a bare address taken as a host prefix (Calico's `ParseCIDROrIP`).
    static func parseInterface(_ text: String) -> (address: IPAddress, subnet: IPPrefix)? {
        if let a = IPAddress(text) { return (a, IPPrefix(host: a)) }
        guard case .success(let p) = IPPrefix.parse(text, strict: false),
              let slash = text.firstIndex(of: "/"), let a = IPAddress(text[text.startIndex..<slash]) else { return nil }
        return (a, p)
    }
}

public struct NodeOrchRef: Hashable, Sendable, ValueCodable {
    public var nodeName: String = ""
    public var orchestrator: String = ""
    public init(nodeName: String = "", orchestrator: String = "") { self.nodeName = nodeName; self.orchestrator = orchestrator }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        nodeName = try r.string("nodeName"); orchestrator = try r.string("orchestrator"); try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter(); w.omitEmpty("nodeName", nodeName); w.always("orchestrator", orchestrator); return w.value
    }
}

public struct NodeWireguardSpec: Hashable, Sendable, ValueCodable {
    public var interfaceIPv4Address: String = ""
    public var interfaceIPv6Address: String = ""
    public init() {}
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        interfaceIPv4Address = try r.string("interfaceIPv4Address")
        interfaceIPv6Address = try r.string("interfaceIPv6Address")
        try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter()
        w.omitEmpty("interfaceIPv4Address", interfaceIPv4Address); w.omitEmpty("interfaceIPv6Address", interfaceIPv6Address)
        return w.value
    }
}

public enum NodeAddressType: String, StringEnum {
    case calicoNodeIP = "CalicoNodeIP"
    case internalIP = "InternalIP"
    case externalIP = "ExternalIP"
}

public struct NodeAddress: Hashable, Sendable, ValueCodable {
    public var address: String = ""
    public var type: NodeAddressType? = nil
    public init(address: String = "", type: NodeAddressType? = nil) { self.address = address; self.type = type }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        address = try r.string("address"); type = try r.optional("type"); try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter(); w.always("address", address); w.optional("type", type); return w.value
    }
}

public struct NodeInterface: Hashable, Sendable, ValueCodable {
    public var name: String = ""
    public var addresses: [String] = []
    public init(name: String = "", addresses: [String] = []) { self.name = name; self.addresses = addresses }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        name = try r.string("name"); addresses = try r.list("addresses"); try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter(); w.always("name", name); w.omitEmpty("addresses", addresses); return w.value
    }
}

/// `NodeSpec` (calico.md §1.4).
public struct NodeSpec: ResourceSpec {
    public static let kind = ResourceKind.node
    public var bgp: NodeBGPSpec? = nil
    public var ipv4VXLANTunnelAddr: String = ""
    public var vxlanTunnelMACAddr: String = ""
    public var ipv6VXLANTunnelAddr: String = ""
    public var vxlanTunnelMACAddrV6: String = ""
    public var orchRefs: [NodeOrchRef] = []
    public var wireguard: NodeWireguardSpec? = nil
    public var addresses: [NodeAddress] = []
    public var interfaces: [NodeInterface] = []

    public init() {}
    public init(bgp: NodeBGPSpec?) { self.bgp = bgp }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        bgp = try r.optional("bgp")
        ipv4VXLANTunnelAddr = try r.string("ipv4VXLANTunnelAddr")
        vxlanTunnelMACAddr = try r.string("vxlanTunnelMACAddr")
        ipv6VXLANTunnelAddr = try r.string("ipv6VXLANTunnelAddr")
        vxlanTunnelMACAddrV6 = try r.string("vxlanTunnelMACAddrV6")
        orchRefs = try r.list("orchRefs")
        wireguard = try r.optional("wireguard")
        addresses = try r.list("addresses")
        interfaces = try r.list("interfaces")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.optional("bgp", bgp)
        w.omitEmpty("ipv4VXLANTunnelAddr", ipv4VXLANTunnelAddr)
        w.omitEmpty("vxlanTunnelMACAddr", vxlanTunnelMACAddr)
        w.omitEmpty("ipv6VXLANTunnelAddr", ipv6VXLANTunnelAddr)
        w.omitEmpty("vxlanTunnelMACAddrV6", vxlanTunnelMACAddrV6)
        w.omitEmpty("orchRefs", orchRefs)
        w.optional("wireguard", wireguard)
        w.omitEmpty("addresses", addresses)
        w.omitEmpty("interfaces", interfaces)
        return w.value
    }
}

public typealias Node = CalicoObject<NodeSpec>
