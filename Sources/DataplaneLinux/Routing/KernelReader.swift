import CNetlink
import Dataplane
import Glibc
import NetCore

/// What Twill considers its own in the kernel (docs/dataplane.md, "Ownership").
public struct RoutingOwnership: Hashable, Sendable {
    /// Routes: every route in `table` whose rtm_protocol is `routeProtocol`.
    public var routeProtocol: UInt8
    public var table: UInt32
    /// Devices: exactly these names (the tunnel devices). Addresses, neighbours and FDB
    /// entries on them are ours too.
    public var deviceNames: Set<String>
    /// Permanent neighbour entries on these interfaces (workload host sides) are ours.
    public var workloadInterfaces: Set<String>
    /// ...and on any interface whose name starts with one of these prefixes (Felix `cali`).
    public var workloadInterfacePrefixes: [String]

    public init(settings: RoutingSettings, workloadInterfaces: Set<String> = [], workloadInterfacePrefixes: [String] = []) {
        routeProtocol = settings.routeProtocol
        table = settings.routeTable
        deviceNames = [settings.vxlanDevice, settings.vxlanV6Device, settings.ipipDevice]
        self.workloadInterfaces = workloadInterfaces
        self.workloadInterfacePrefixes = workloadInterfacePrefixes
    }

    func ownsNeighbours(on device: String) -> Bool {
        deviceNames.contains(device) || workloadInterfaces.contains(device)
            || workloadInterfacePrefixes.contains { !$0.isEmpty && device.hasPrefix($0) }
    }
}

/// Interface name ↔ index, from a link dump, with on-demand lookups for new interfaces.
struct LinkIndex {
    var byName: [String: Int32] = [:]
    var byIndex: [Int32: String] = [:]

    mutating func set(_ name: String, _ index: Int32) {
        if let old = byName[name] { byIndex[old] = nil }
        byName[name] = index; byIndex[index] = name
    }

    mutating func forget(_ name: String) {
        if let i = byName.removeValue(forKey: name) { byIndex[i] = nil }
    }

    func name(_ index: Int32) -> String { byIndex[index] ?? "if\(index)" }
}

/// Reads the kernel objects Twill owns into a `RoutingState` (the "actual" side of the diff).
struct KernelReader {
    let socket: NetlinkSocket
    let ownership: RoutingOwnership

    func read(sysctls: some Sequence<SysctlKey>, links: inout LinkIndex) throws(NetlinkError) -> RoutingState {
        var state = RoutingState()
        try readLinks(into: &state, links: &links)
        try readAddresses(into: &state, links: links)
        try readRoutes(into: &state, links: links)
        try readNeighbours(into: &state, links: links)
        try readFDB(into: &state, links: links)
        for k in sysctls { if let v = Sysctl.read(k) { state.sysctls[k] = v } }
        return state
    }

    /// Dumps into a fresh libnl cache, visits each object, frees the cache.
    func dump(_ what: String, _ alloc: (inout OpaquePointer?) -> Int32, _ body: (OpaquePointer) -> Void) throws(NetlinkError) {
        var cache: OpaquePointer?
        try NetlinkError.check(alloc(&cache), "dump \(what)")
        guard let cache else { return }
        defer { nl_cache_free(cache) }
        forEachObject(in: cache, body)
    }

    func readLinks(into state: inout RoutingState, links: inout LinkIndex) throws(NetlinkError) {
        var cache: OpaquePointer?
        try NetlinkError.check(rtnl_link_alloc_cache(socket.raw, AF_UNSPEC, &cache), "dump links")
        guard let cache else { return }
        defer { nl_cache_free(cache) }
        links = LinkIndex()
        forEachObject(in: cache) { link in
            guard let cname = rtnl_link_get_name(link) else { return }
            links.set(String(cString: cname), rtnl_link_get_ifindex(link))
        }
        forEachObject(in: cache) { link in
            let name = String(cString: rtnl_link_get_name(link))
            guard ownership.deviceNames.contains(name) else { return }
            let kind = rtnl_link_get_type(link).map { String(cString: $0) } ?? ""
            let mtu = Int(rtnl_link_get_mtu(link))
            if rtnl_link_get_flags(link) & twill_nl_iff_up() == 0 { state.devicesDown.insert(name) }
            if kind == "vxlan" {
                var vni: UInt32 = 0, port: UInt32 = 0, parent: UInt32 = 0
                var local: OpaquePointer?
                _ = rtnl_link_vxlan_get_id(link, &vni)
                _ = rtnl_link_vxlan_get_port(link, &port)
                _ = rtnl_link_vxlan_get_link(link, &parent)
                _ = rtnl_link_vxlan_get_local(link, &local)
                let localIP = NLConvert.ip(local)
                if let local { nl_addr_put(local) }
                let learning = rtnl_link_vxlan_get_learning(link) == 1
                let mac = NLConvert.mac(rtnl_link_get_addr(link)) ?? MACAddress(bytes: [0, 0, 0, 0, 0, 0])!
                state.devices[name] = .vxlan(VXLANDevice(
                    name: name, vni: vni, port: UInt16(truncatingIfNeeded: port), learning: learning,
                    localAddress: localIP ?? .v4(.any), parent: parent == 0 ? "" : links.name(Int32(parent)),
                    mac: mac, mtu: mtu))
            } else if kind == "ipip" {
                state.devices[name] = .ipip(IPIPDevice(name: name, mtu: mtu))
            } else {
                state.devices[name] = .foreign(name: name, kind: kind, mtu: mtu)   // replaced by ours
            }
        }
    }

    func readAddresses(into state: inout RoutingState, links: LinkIndex) throws(NetlinkError) {
        let owned = Set(ownership.deviceNames.compactMap { links.byName[$0] })
        guard !owned.isEmpty else { return }
        try dump("addresses", { rtnl_addr_alloc_cache(socket.raw, &$0) }) { a in
            let idx = rtnl_addr_get_ifindex(a)
            guard owned.contains(idx), let ip = NLConvert.ip(rtnl_addr_get_local(a)) else { return }
            if case .v6(let v6) = ip, v6.high >> 54 == 0x3FA { return }   // fe80::/10 link-local
            state.addresses.insert(DeviceAddress(device: links.name(idx),
                                                 address: InterfaceAddress(ip, prefixLength: Int(rtnl_addr_get_prefixlen(a)))))
        }
    }

    func readRoutes(into state: inout RoutingState, links: LinkIndex) throws(NetlinkError) {
        try dump("routes", { rtnl_route_alloc_cache(socket.raw, AF_UNSPEC, 0, &$0) }) { r in
            guard rtnl_route_get_protocol(r) == ownership.routeProtocol, rtnl_route_get_table(r) == ownership.table,
                  let route = Self.route(from: r, links: links)
            else { return }
            state.routes[route.key] = route
        }
    }

    /// Converts a borrowed `rtnl_route` to a `Route` (nil for families or types we never program).
    static func route(from r: OpaquePointer, links: LinkIndex) -> Route? {
        let family: IPFamily
        switch Int32(rtnl_route_get_family(r)) {
        case AF_INET: family = .v4
        case AF_INET6: family = .v6
        default: return nil
        }
        guard let dst = NLConvert.prefix(rtnl_route_get_dst(r), family: family) else { return nil }
        let type: RouteType
        switch Int(rtnl_route_get_type(r)) {
        case RTN_UNICAST: type = .unicast
        case RTN_BLACKHOLE: type = .blackhole
        default: return nil
        }
        let scope: RouteScope = UInt32(rtnl_route_get_scope(r)) == RT_SCOPE_LINK.rawValue ? .link : .universe
        var hops: [NextHop] = []
        let n = rtnl_route_get_nnexthops(r)
        if type == .unicast {
            for i in 0..<n {
                guard let nh = rtnl_route_nexthop_n(r, i) else { continue }
                let flags = rtnl_route_nh_get_flags(nh) | (n == 1 ? rtnl_route_get_flags(r) : 0)
                hops.append(NextHop(device: links.name(rtnl_route_nh_get_ifindex(nh)),
                                    gateway: NLConvert.ip(rtnl_route_nh_get_gateway(nh)),
                                    onlink: flags & UInt32(RTNH_F_ONLINK) != 0,
                                    weight: n > 1 ? rtnl_route_nh_get_weight(nh) &+ 1 : 1))
            }
        }
        var mtu: UInt32 = 0
        let hasMTU = rtnl_route_get_metric(r, Int32(RTAX_MTU), &mtu) == 0 && mtu != 0
        return Route(destination: dst, table: rtnl_route_get_table(r), type: type, scope: scope, nextHops: hops,
                     protocolNumber: rtnl_route_get_protocol(r), mtu: hasMTU ? Int(mtu) : nil)
    }

    func readNeighbours(into state: inout RoutingState, links: LinkIndex) throws(NetlinkError) {
        try dump("neighbours", { rtnl_neigh_alloc_cache(socket.raw, &$0) }) { n in
            let fam = rtnl_neigh_get_family(n)
            guard fam == AF_INET || fam == AF_INET6, rtnl_neigh_get_state(n) & Int32(NUD_PERMANENT) != 0 else { return }
            let dev = links.name(rtnl_neigh_get_ifindex(n))
            guard ownership.ownsNeighbours(on: dev), let ip = NLConvert.ip(rtnl_neigh_get_dst(n)),
                  let mac = NLConvert.mac(rtnl_neigh_get_lladdr(n)) else { return }
            state.neighbours[NeighbourKey(device: dev, address: ip)] = mac
        }
    }

    func readFDB(into state: inout RoutingState, links: LinkIndex) throws(NetlinkError) {
        let vxlans = state.devices.values.compactMap { d -> Int32? in
            if case .vxlan(let v) = d { return links.byName[v.name] }
            return nil
        }
        guard !vxlans.isEmpty else { return }
        var cache: OpaquePointer?
        try NetlinkError.check(nl_cache_alloc_name("route/neigh", &cache), "allocate fdb cache")
        guard let cache else { return }
        defer { nl_cache_free(cache) }
        nl_cache_set_arg1(cache, AF_BRIDGE)
        try NetlinkError.check(nl_cache_refill(socket.raw, cache), "dump fdb")
        forEachObject(in: cache) { n in
            guard rtnl_neigh_get_family(n) == AF_BRIDGE, vxlans.contains(rtnl_neigh_get_ifindex(n)),
                  let mac = NLConvert.mac(rtnl_neigh_get_lladdr(n)), mac.bytes != [0, 0, 0, 0, 0, 0],
                  let dst = NLConvert.ip(rtnl_neigh_get_dst(n))
            else { return }
            state.fdb[FDBKey(device: links.name(rtnl_neigh_get_ifindex(n)), mac: mac)] = dst
        }
    }
}
