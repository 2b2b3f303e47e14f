import CNetlink
import Dataplane
import Glibc
import NetCore

/// Builds libnl objects for routing operations and sends them. Each object is released with
/// its `*_put`; a nexthop handed to `rtnl_route_add_nexthop` belongs to the route.
struct KernelWriter {
    let socket: NetlinkSocket

    /// Resolves an interface index, asking the kernel when the cached index is missing.
    static func index(of name: String, socket: NetlinkSocket, links: inout LinkIndex) throws(NetlinkError) -> Int32 {
        if let i = links.byName[name] { return i }
        var link: OpaquePointer?
        let rc = rtnl_link_get_kernel(socket.raw, 0, name, &link)
        guard rc >= 0, let link else { throw NetlinkError(code: rc < 0 ? rc : NLE_NODEV, operation: "find interface \(name)") }
        defer { rtnl_link_put(link) }
        let i = rtnl_link_get_ifindex(link)
        links.set(name, i)
        return i
    }

    func perform(_ op: RoutingOperation, links: inout LinkIndex) throws(NetlinkError) {
        switch op {
        case .createDevice(let d):
            let link = try Self.buildLink(d, socket: socket, links: &links)
            defer { rtnl_link_put(link) }
            try NetlinkError.check(rtnl_link_add(socket.raw, link, NLM_F_CREATE | NLM_F_EXCL), "create \(d.kind) device \(d.name)")
            links.forget(d.name)
        case .deleteDevice(let name):
            let link = rtnl_link_alloc()!
            defer { rtnl_link_put(link) }
            rtnl_link_set_name(link, name)
            let rc = rtnl_link_delete(socket.raw, link)
            if rc < 0 && -rc != NLE_NODEV && -rc != NLE_OBJ_NOTFOUND {
                throw NetlinkError(code: rc, operation: "delete device \(name)")
            }
            links.forget(name)
        case .setDeviceMTU(let name, let mtu):
            try change(name, links: &links, "set \(name) mtu \(mtu)") { rtnl_link_set_mtu($0, UInt32(mtu)) }
        case .setDeviceUp(let name):
            try change(name, links: &links, "set \(name) up") { rtnl_link_set_flags($0, twill_nl_iff_up()) }
        case .addAddress(let a), .deleteAddress(let a):
            let addr = rtnl_addr_alloc()!
            defer { rtnl_addr_put(addr) }
            rtnl_addr_set_ifindex(addr, try Self.index(of: a.device, socket: socket, links: &links))
            let local = NLAddress(a.address.address, prefixLength: a.address.prefixLength)
            try NetlinkError.check(rtnl_addr_set_local(addr, local.raw), "address \(a)")
            if a.address.family == .v6 { rtnl_addr_set_flags(addr, UInt32(IFA_F_NODAD)) }   // a tunnel /128: no DAD
            if case .addAddress = op {
                try NetlinkError.check(rtnl_addr_add(socket.raw, addr, NLM_F_CREATE | NLM_F_REPLACE), "add address \(a)")
            } else {
                try ignoringMissing(rtnl_addr_delete(socket.raw, addr, 0), "delete address \(a)")
            }
        case .setNeighbour, .deleteNeighbour, .setFDB, .deleteFDB, .replaceRoute, .deleteRoute:
            if let error = performBatch([op], links: &links)[0] { throw error }
        case .setSysctl(let k, let v):
            if let e = Sysctl.write(k, v) { throw NetlinkError(errno: e, operation: "write \(v) to \(Sysctl.path(k))") }
        }
    }

    private func ignoringMissing(_ rc: Int32, _ what: @autoclosure () -> String) throws(NetlinkError) {
        if rc < 0 && -rc != NLE_OBJ_NOTFOUND && -rc != NLE_NODEV && -rc != NLE_NOADDR { throw NetlinkError(code: rc, operation: what()) }
    }

    private func change(_ name: String, links: inout LinkIndex, _ what: String,
                        _ edit: (OpaquePointer) -> Void) throws(NetlinkError) {
        var orig: OpaquePointer?
        try NetlinkError.check(rtnl_link_get_kernel(socket.raw, 0, name, &orig), what)
        guard let orig else { throw NetlinkError(code: NLE_NODEV, operation: what) }
        defer { rtnl_link_put(orig) }
        let changes = rtnl_link_alloc()!
        defer { rtnl_link_put(changes) }
        edit(changes)
        try NetlinkError.check(rtnl_link_change(socket.raw, orig, changes, 0), what)
    }

    func buildNeighbour(_ k: NeighbourKey, mac: MACAddress, links: inout LinkIndex) throws(NetlinkError) -> OpaquePointer {
        let idx = try Self.index(of: k.device, socket: socket, links: &links)
        let n = rtnl_neigh_alloc()!
        rtnl_neigh_set_ifindex(n, idx)
        let dst = NLAddress(k.address)
        _ = rtnl_neigh_set_dst(n, dst.raw)
        let ll = NLAddress(mac: mac)
        rtnl_neigh_set_lladdr(n, ll.raw)
        rtnl_neigh_set_state(n, Int32(NUD_PERMANENT))
        return n
    }

    func buildFDB(_ k: FDBKey, dst: IPAddress, links: inout LinkIndex) throws(NetlinkError) -> OpaquePointer {
        let idx = try Self.index(of: k.device, socket: socket, links: &links)
        let n = rtnl_neigh_alloc()!
        // set_dst first: it checks the address family against the neighbour's and fails
        // with NLE_AF_MISMATCH once AF_BRIDGE is set; the family is overridden afterwards.
        let d = NLAddress(dst)
        _ = rtnl_neigh_set_dst(n, d.raw)
        rtnl_neigh_set_family(n, AF_BRIDGE)
        rtnl_neigh_set_ifindex(n, idx)
        let ll = NLAddress(mac: k.mac)
        rtnl_neigh_set_lladdr(n, ll.raw)
        rtnl_neigh_set_state(n, Int32(NUD_PERMANENT))
        rtnl_neigh_set_flags(n, UInt32(NTF_SELF))
        return n
    }

    /// Destination, table, family, protocol: enough to address a route for deletion.
    static func routeSkeleton(_ r: Route) -> OpaquePointer {
        let route = rtnl_route_alloc()!
        rtnl_route_set_family(route, UInt8(NLConvert.family(r.destination.family)))
        let dst = NLAddress(r.destination.address, prefixLength: r.destination.length)
        _ = rtnl_route_set_dst(route, dst.raw)
        rtnl_route_set_table(route, r.table)
        rtnl_route_set_protocol(route, r.protocolNumber)
        _ = rtnl_route_set_type(route, UInt8(r.type == .blackhole ? RTN_BLACKHOLE : RTN_UNICAST))
        return route
    }

    /// A full `rtnl_route` for `NLM_F_CREATE | NLM_F_REPLACE` (caller puts it).
    static func buildRoute(_ r: Route, socket: NetlinkSocket, links: inout LinkIndex) throws(NetlinkError) -> OpaquePointer {
        let route = routeSkeleton(r)
        rtnl_route_set_scope(route, UInt8(r.scope == .link ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue))
        if let mtu = r.mtu { _ = rtnl_route_set_metric(route, Int32(RTAX_MTU), UInt32(mtu)) }
        for hop in r.nextHops {
            let idx: Int32
            do { idx = try index(of: hop.device, socket: socket, links: &links) } catch {
                rtnl_route_put(route); throw error
            }
            let nh = rtnl_route_nh_alloc()!
            rtnl_route_nh_set_ifindex(nh, idx)
            if let gw = hop.gateway {
                let a = NLAddress(gw)
                rtnl_route_nh_set_gateway(nh, a.raw)
            }
            if hop.onlink { rtnl_route_nh_set_flags(nh, UInt32(RTNH_F_ONLINK)) }
            if r.nextHops.count > 1 { rtnl_route_nh_set_weight(nh, hop.weight &- 1) }
            rtnl_route_add_nexthop(route, nh)   // the route now owns nh
        }
        return route
    }

    /// A `rtnl_link` for creating a tunnel device (caller puts it).
    static func buildLink(_ d: TunnelDevice, socket: NetlinkSocket?, links: inout LinkIndex) throws(NetlinkError) -> OpaquePointer {
        switch d {
        case .vxlan(let v):
            let link = rtnl_link_vxlan_alloc()!
            rtnl_link_set_name(link, v.name)
            rtnl_link_set_mtu(link, UInt32(v.mtu))
            let mac = NLAddress(mac: v.mac)
            rtnl_link_set_addr(link, mac.raw)
            _ = rtnl_link_vxlan_set_id(link, v.vni)
            _ = rtnl_link_vxlan_set_port(link, UInt32(v.port))
            _ = rtnl_link_vxlan_set_learning(link, v.learning ? 1 : 0)
            let local = NLAddress(v.localAddress)
            _ = rtnl_link_vxlan_set_local(link, local.raw)
            if let socket {
                let parent: Int32
                do { parent = try index(of: v.parent, socket: socket, links: &links) } catch {
                    rtnl_link_put(link); throw error
                }
                _ = rtnl_link_vxlan_set_link(link, UInt32(parent))
            } else if let parent = links.byName[v.parent] {
                _ = rtnl_link_vxlan_set_link(link, UInt32(parent))
            }
            return link
        case .foreign(let name, let kind, _):
            throw NetlinkError(code: NLE_INVAL, operation: "create \(kind) device \(name): not a device kind Twill creates")
        case .ipip(let p):
            let link = rtnl_link_ipip_alloc()!
            rtnl_link_set_name(link, p.name)
            rtnl_link_set_mtu(link, UInt32(p.mtu))
            _ = rtnl_link_ipip_set_pmtudisc(link, 1)
            return link
        }
    }
}
