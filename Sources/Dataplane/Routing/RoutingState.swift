import NetCore

/// Route type (rtm_type).
public enum RouteType: String, Hashable, Sendable {
    case unicast, blackhole
}

/// Route scope (rtm_scope): link for directly attached workload routes, universe otherwise.
public enum RouteScope: String, Hashable, Sendable {
    case universe, link
}

/// One next hop: a device, optionally a gateway, optionally `onlink` (gateway reachable on
/// the device without a covering connected route).
public struct NextHop: Hashable, Sendable, CustomStringConvertible {
    public var device: String
    public var gateway: IPAddress?
    public var onlink: Bool
    /// ECMP weight (1 = equal share).
    public var weight: UInt8

    public init(device: String, gateway: IPAddress? = nil, onlink: Bool = false, weight: UInt8 = 1) {
        self.device = device; self.gateway = gateway; self.onlink = onlink; self.weight = weight
    }

    public var description: String {
        (gateway.map { "via \($0) " } ?? "") + "dev \(device)" + (onlink ? " onlink" : "") + (weight != 1 ? " weight \(weight)" : "")
    }
}

/// Kernel routes are indexed by table and destination (we program one route per prefix, at
/// the default metric, as Felix does for its main-table routes).
public struct RouteKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var table: UInt32
    public var destination: IPPrefix
    public init(table: UInt32 = RoutingSettings.mainTable, destination: IPPrefix) {
        self.table = table; self.destination = destination
    }
    public static func < (l: Self, r: Self) -> Bool {
        l.table == r.table ? l.destination < r.destination : l.table < r.table
    }
    public var description: String { table == RoutingSettings.mainTable ? "\(destination)" : "\(destination) table \(table)" }
}

public struct Route: Hashable, Sendable, CustomStringConvertible {
    public var destination: IPPrefix
    public var table: UInt32
    public var type: RouteType
    public var scope: RouteScope
    /// Empty for blackhole routes; one entry for a plain route; several for ECMP (sorted).
    public var nextHops: [NextHop]
    public var protocolNumber: UInt8
    /// Route MTU (`RTAX_MTU`); nil leaves the device MTU.
    public var mtu: Int?

    public init(destination: IPPrefix, table: UInt32 = RoutingSettings.mainTable, type: RouteType = .unicast,
                scope: RouteScope = .universe, nextHops: [NextHop] = [], protocolNumber: UInt8, mtu: Int? = nil) {
        self.destination = destination; self.table = table; self.type = type; self.scope = scope
        self.nextHops = nextHops.sorted { $0.description < $1.description }
        self.protocolNumber = protocolNumber; self.mtu = mtu
    }

    public var key: RouteKey { RouteKey(table: table, destination: destination) }
    public var isECMP: Bool { nextHops.count > 1 }
    /// Devices the route depends on.
    public var devices: Set<String> { Set(nextHops.map(\.device)) }

    public var description: String {
        var s = type == .blackhole ? "blackhole \(destination)" : "\(destination)"
        if nextHops.count == 1 { s += " " + nextHops[0].description }
        else if !nextHops.isEmpty { s += " " + nextHops.map { "nexthop \($0)" }.joined(separator: " ") }
        s += " proto \(protocolNumber)"
        if scope == .link { s += " scope link" }
        if let mtu { s += " mtu \(mtu)" }
        return s
    }
}

/// VXLAN device attributes Twill manages; a drift in any of them triggers repair.
public struct VXLANDevice: Hashable, Sendable {
    public var name: String
    public var vni: UInt32
    public var port: UInt16
    public var learning: Bool
    /// Local VTEP address (the node address of the device's family).
    public var localAddress: IPAddress
    public var parent: String
    public var mac: MACAddress
    public var mtu: Int

    public init(name: String, vni: UInt32, port: UInt16, learning: Bool = false, localAddress: IPAddress,
                parent: String, mac: MACAddress, mtu: Int) {
        self.name = name; self.vni = vni; self.port = port; self.learning = learning
        self.localAddress = localAddress; self.parent = parent; self.mac = mac; self.mtu = mtu
    }
}

public struct IPIPDevice: Hashable, Sendable {
    public var name: String
    public var mtu: Int
    public init(name: String, mtu: Int) { self.name = name; self.mtu = mtu }
}

/// A tunnel device Twill creates and owns.
public enum TunnelDevice: Hashable, Sendable, CustomStringConvertible {
    case vxlan(VXLANDevice)
    case ipip(IPIPDevice)
    /// Actual side only: a device with one of our names but another kind (always replaced).
    case foreign(name: String, kind: String, mtu: Int)

    public var name: String {
        switch self { case .vxlan(let d): d.name; case .ipip(let d): d.name; case .foreign(let n, _, _): n }
    }
    public var mtu: Int {
        switch self { case .vxlan(let d): d.mtu; case .ipip(let d): d.mtu; case .foreign(_, _, let m): m }
    }
    public var kind: String {
        switch self { case .vxlan: "vxlan"; case .ipip: "ipip"; case .foreign(_, let k, _): k }
    }

    /// True when `actual` can be brought to `self` by changing MTU only; otherwise the device
    /// must be deleted and recreated (Felix `vxlanLinksIncompat`).
    public func isCompatible(with actual: TunnelDevice) -> Bool {
        switch (self, actual) {
        case (.vxlan(var a), .vxlan(var b)):
            a.mtu = 0; b.mtu = 0
            return a == b
        case (.ipip, .ipip): return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .vxlan(let d):
            "vxlan \(d.name) id \(d.vni) dstport \(d.port) local \(d.localAddress) dev \(d.parent) address \(d.mac)"
                + "\(d.learning ? "" : " nolearning") mtu \(d.mtu)"
        case .ipip(let d): "ipip \(d.name) mtu \(d.mtu)"
        case .foreign(let n, let k, let m): "\(k.isEmpty ? "device" : k) \(n) mtu \(m)"
        }
    }
}

/// An address on a device Twill owns (the tunnel address).
public struct DeviceAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var device: String
    public var address: InterfaceAddress
    public init(device: String, address: InterfaceAddress) { self.device = device; self.address = address }
    public static func < (l: Self, r: Self) -> Bool {
        l.device == r.device ? l.address.address < r.address.address : l.device < r.device
    }
    public var description: String { "\(address) dev \(device)" }
}

/// A permanent ARP/ND entry: `ip neigh replace <ip> lladdr <mac> dev <device> nud permanent`.
public struct NeighbourKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var device: String
    public var address: IPAddress
    public init(device: String, address: IPAddress) { self.device = device; self.address = address }
    public static func < (l: Self, r: Self) -> Bool { l.device == r.device ? l.address < r.address : l.device < r.device }
    public var description: String { "\(address) dev \(device)" }
}

/// A VXLAN forwarding entry: `bridge fdb replace <mac> dev <device> dst <ip> self permanent`.
public struct FDBKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var device: String
    public var mac: MACAddress
    public init(device: String, mac: MACAddress) { self.device = device; self.mac = mac }
    public static func < (l: Self, r: Self) -> Bool {
        l.device == r.device ? l.mac.bytes.lexicographicallyPrecedes(r.mac.bytes) : l.device < r.device
    }
    public var description: String { "\(mac) dev \(device)" }
}

/// A sysctl under /proc/sys, by its dotted name (`net.ipv4.conf.cali1.proxy_arp`). Interface
/// names are kept as one component even when they contain dots (`vxlan.twill`). Stored as the
/// slash-separated path (interface names cannot contain `/`) so hashing is one string.
public struct SysctlKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Path relative to /proc/sys, e.g. `net/ipv4/conf/cali1/proxy_arp`.
    public let relativePath: String

    public init(_ components: [String]) { relativePath = components.joined(separator: "/") }

    public var components: [String] { relativePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init) }
    /// Path under /proc/sys.
    public var path: String { "/proc/sys/" + relativePath }
    public var description: String { components.joined(separator: ".") }
    public static func < (l: Self, r: Self) -> Bool { l.relativePath < r.relativePath }
    /// The interface this sysctl belongs to, if it is a per-interface one.
    public var interface: String? {
        let c = components
        return c.count == 5 && (c[2] == "conf" || c[2] == "neigh") ? c[3] : nil
    }
}

/// Desired or actual state of everything the routing part owns. The same type describes the
/// kernel as read back, so the diff is a pure function of two values.
public struct RoutingState: Hashable, Sendable {
    public var devices: [String: TunnelDevice] = [:]
    public var addresses: Set<DeviceAddress> = []
    public var neighbours: [NeighbourKey: MACAddress] = [:]
    public var fdb: [FDBKey: IPAddress] = [:]
    public var routes: [RouteKey: Route] = [:]
    /// Desired sysctl values. The actual side holds only values Twill read back.
    public var sysctls: [SysctlKey: String] = [:]
    /// Actual side only: owned devices found administratively down.
    public var devicesDown: Set<String> = []

    public init() {}

    public var isEmpty: Bool {
        devices.isEmpty && addresses.isEmpty && neighbours.isEmpty && fdb.isEmpty && routes.isEmpty && sysctls.isEmpty
    }
}
