import NetCore

/// An address with the prefix length of the subnet it sits in (`192.168.1.10/24`): the
/// CrossSubnet test asks whether a remote node's address lies in our node's subnet.
public struct InterfaceAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var prefixLength: Int

    public init(_ address: IPAddress, prefixLength: Int) {
        precondition(prefixLength >= 0 && prefixLength <= address.family.bitWidth, "prefix length out of range")
        self.address = address; self.prefixLength = prefixLength
    }

    /// Parses `ADDR/LEN` (host bits allowed, as in `Node.spec.bgp.ipv4Address`).
    public init?(_ text: String) {
        guard case .success(let p) = IPPrefix.parse(text, strict: false),
              let slash = text.firstIndex(of: "/"), let a = IPAddress(String(text[..<slash]))
        else { return nil }
        self.init(a, prefixLength: p.length)
    }

    public var family: IPFamily { address.family }
    public var subnet: IPPrefix { IPPrefix(address, length: prefixLength) }
    public var description: String { "\(address)/\(prefixLength)" }
}

/// Calico's pool encapsulation for a block.
public enum Encapsulation: String, Hashable, Sendable, CaseIterable {
    case none, ipip, vxlan
}

/// Calico's `ipipMode` / `vxlanMode` (Never is `Encapsulation.none`).
public enum EncapsulationMode: String, Hashable, Sendable, CaseIterable {
    case always = "Always"
    /// Encapsulate only towards nodes outside our subnet.
    case crossSubnet = "CrossSubnet"
}

/// This node.
public struct LocalNode: Hashable, Sendable {
    public var name: String
    /// Node IPv4 address with its subnet length (CrossSubnet test; VXLAN local VTEP address).
    public var ipv4: InterfaceAddress?
    public var ipv6: InterfaceAddress?
    /// The NIC holding the node address (parent of the VXLAN devices; no-encap routes use it).
    public var parentInterface: String
    /// MTU of the parent interface; tunnel MTUs are derived from it.
    public var parentMTU: Int
    public var ipv4IPIPTunnelAddress: IPAddress?
    public var ipv4VXLANTunnelAddress: IPAddress?
    public var ipv6VXLANTunnelAddress: IPAddress?
    /// VTEP MAC of `vxlan.twill`; nil derives it from the node name (`VTEPMAC.derived`).
    public var vxlanMAC: MACAddress?
    public var vxlanV6MAC: MACAddress?

    public init(name: String, ipv4: InterfaceAddress? = nil, ipv6: InterfaceAddress? = nil,
                parentInterface: String, parentMTU: Int = 1500,
                ipv4IPIPTunnelAddress: IPAddress? = nil, ipv4VXLANTunnelAddress: IPAddress? = nil,
                ipv6VXLANTunnelAddress: IPAddress? = nil, vxlanMAC: MACAddress? = nil, vxlanV6MAC: MACAddress? = nil) {
        self.name = name; self.ipv4 = ipv4; self.ipv6 = ipv6
        self.parentInterface = parentInterface; self.parentMTU = parentMTU
        self.ipv4IPIPTunnelAddress = ipv4IPIPTunnelAddress
        self.ipv4VXLANTunnelAddress = ipv4VXLANTunnelAddress
        self.ipv6VXLANTunnelAddress = ipv6VXLANTunnelAddress
        self.vxlanMAC = vxlanMAC; self.vxlanV6MAC = vxlanV6MAC
    }

    public func address(_ family: IPFamily) -> InterfaceAddress? { family == .v4 ? ipv4 : ipv6 }
}

/// A local workload (pod): its host-side interface and addresses.
public struct Workload: Hashable, Sendable {
    public var name: String
    /// Host side of the veth (`cali…`-style name).
    public var interface: String
    /// Workload addresses; each becomes a /32 or /128 route.
    public var addresses: [IPAddress]
    /// Workload-side MAC; when known a permanent neighbour entry is programmed.
    public var mac: MACAddress?

    public init(name: String, interface: String, addresses: [IPAddress], mac: MACAddress? = nil) {
        self.name = name; self.interface = interface; self.addresses = addresses; self.mac = mac
    }
}

/// A remote node that hosts (part of) a block: one ECMP next hop.
public struct RemoteNode: Hashable, Sendable {
    public var name: String
    /// The node's address with its subnet length (`Node.spec.bgp.ipv4Address`).
    public var address: InterfaceAddress
    /// VXLAN: the remote VTEP MAC and tunnel address.
    public var vtepMAC: MACAddress?
    public var tunnelAddress: IPAddress?

    public init(name: String, address: InterfaceAddress, vtepMAC: MACAddress? = nil, tunnelAddress: IPAddress? = nil) {
        self.name = name; self.address = address; self.vtepMAC = vtepMAC; self.tunnelAddress = tunnelAddress
    }
}

/// An IPAM block affine to other node(s), with its pool's encapsulation.
public struct RemoteBlock: Hashable, Sendable {
    public var cidr: IPPrefix
    /// Several nodes give an ECMP route.
    public var nodes: [RemoteNode]
    public var encapsulation: Encapsulation
    public var mode: EncapsulationMode

    public init(cidr: IPPrefix, nodes: [RemoteNode], encapsulation: Encapsulation, mode: EncapsulationMode = .always) {
        self.cidr = cidr; self.nodes = nodes; self.encapsulation = encapsulation; self.mode = mode
    }
}

/// Knobs, with Calico's defaults.
public struct RoutingSettings: Hashable, Sendable {
    /// rtm_protocol of every route Twill owns. 247 (0xF7) is unused in iproute2's rt_protos
    /// (which names 0–4, 8–16, 18, 42, 99, 186–189, 192) and below the 250+ private range
    /// other tools pick; see docs/dataplane.md.
    public var routeProtocol: UInt8
    public var routeTable: UInt32
    public var vxlanVNI: UInt32
    public var vxlanV6VNI: UInt32
    public var vxlanPort: UInt16
    public var vxlanDevice: String
    public var vxlanV6Device: String
    public var ipipDevice: String
    /// Explicit tunnel MTUs; nil derives parent MTU minus overhead.
    public var vxlanMTU: Int?
    public var vxlanV6MTU: Int?
    public var ipipMTU: Int?
    /// Set `net.ipv4.ip_forward` / `net.ipv6.conf.all.forwarding` (Felix `IPForwarding Enabled`).
    public var ipForwarding: Bool
    /// Value for `rp_filter` on workload interfaces (Calico: 1, strict).
    public var workloadRPFilter: Int

    public static let defaultRouteProtocol: UInt8 = 247
    public static let mainTable: UInt32 = 254

    public init(routeProtocol: UInt8 = RoutingSettings.defaultRouteProtocol, routeTable: UInt32 = RoutingSettings.mainTable,
                vxlanVNI: UInt32 = 4096, vxlanV6VNI: UInt32 = 4096, vxlanPort: UInt16 = 4789,
                vxlanDevice: String = "vxlan.twill", vxlanV6Device: String = "vxlan-v6.twill", ipipDevice: String = "tunl0",
                vxlanMTU: Int? = nil, vxlanV6MTU: Int? = nil, ipipMTU: Int? = nil,
                ipForwarding: Bool = true, workloadRPFilter: Int = 1) {
        self.routeProtocol = routeProtocol; self.routeTable = routeTable
        self.vxlanVNI = vxlanVNI; self.vxlanV6VNI = vxlanV6VNI; self.vxlanPort = vxlanPort
        self.vxlanDevice = vxlanDevice; self.vxlanV6Device = vxlanV6Device; self.ipipDevice = ipipDevice
        self.vxlanMTU = vxlanMTU; self.vxlanV6MTU = vxlanV6MTU; self.ipipMTU = ipipMTU
        self.ipForwarding = ipForwarding; self.workloadRPFilter = workloadRPFilter
    }

    /// Encapsulation overheads (Felix `ConfigureDefaultMTUs`).
    public static let ipipOverhead = 20
    public static let vxlanOverhead = 50
    public static let vxlanV6Overhead = 70
}

/// Everything the routing part needs. Pure data; the calculator turns it into `RoutingState`.
public struct RoutingInput: Hashable, Sendable {
    public var node: LocalNode
    public var workloads: [Workload]
    /// IPAM blocks affine to this node: each gets a blackhole route (not /32 or /128 blocks).
    public var localBlocks: [IPPrefix]
    public var remoteBlocks: [RemoteBlock]
    public var settings: RoutingSettings

    public init(node: LocalNode, workloads: [Workload] = [], localBlocks: [IPPrefix] = [],
                remoteBlocks: [RemoteBlock] = [], settings: RoutingSettings = RoutingSettings()) {
        self.node = node; self.workloads = workloads; self.localBlocks = localBlocks
        self.remoteBlocks = remoteBlocks; self.settings = settings
    }
}
