import CNetlink
import CNetlinkWorkload
import Glibc
import NetCore

/// The workload operations on a `NetlinkSocket`, which is bound to the network namespace of
/// the thread that made it. Used from one thread at a time (the one-shot CNI plugin's).
final class WLSocket: @unchecked Sendable {
    let socket: NetlinkSocket
    var raw: OpaquePointer { socket.raw }

    init() throws(NetlinkError) { socket = try NetlinkSocket() }

    func check(_ rc: Int32, _ op: @autoclosure () -> String) throws(NetlinkError) {
        if rc < 0 { throw NetlinkError(code: rc, operation: op()) }
    }

    /// The link named `name`, or nil when absent. The caller releases it with `rtnl_link_put`.
    func link(named name: String) throws(NetlinkError) -> OpaquePointer? {
        var link: OpaquePointer? = nil
        let rc = rtnl_link_get_kernel(raw, 0, name, &link)
        if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return nil }
        try check(rc, "look up link \(name)")
        return link
    }

    func setUp(_ link: OpaquePointer, name: String) throws(NetlinkError) {
        guard rtnl_link_get_flags(link) & twill_wl_iff_up() == 0 else { return }
        guard let change = rtnl_link_alloc() else { throw NetlinkError(code: NLE_NOMEM, operation: "allocate link") }
        defer { rtnl_link_put(change) }
        rtnl_link_set_flags(change, twill_wl_iff_up())
        try check(rtnl_link_change(raw, link, change, 0), "set \(name) up")
    }

    /// A /len route in the main table through `ifindex`, optionally via `gateway`.
    func addRoute(_ dst: IPPrefix, ifindex: Int32, gateway: IPAddress? = nil, scopeLink: Bool) throws(NetlinkError) {
        guard let route = rtnl_route_alloc(), let nh = rtnl_route_nh_alloc() else {
            throw NetlinkError(code: NLE_NOMEM, operation: "allocate route")
        }
        defer { rtnl_route_put(route) }
        let d = NLAddress(dst.address, prefixLength: dst.length)
        rtnl_route_set_family(route, UInt8(AF_INET))
        _ = rtnl_route_set_dst(route, d.raw)
        rtnl_route_set_table(route, UInt32(RT_TABLE_MAIN.rawValue))
        rtnl_route_set_protocol(route, UInt8(RTPROT_BOOT))
        rtnl_route_set_scope(route, UInt8(scopeLink ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue))
        _ = rtnl_route_set_type(route, UInt8(RTN_UNICAST))
        rtnl_route_nh_set_ifindex(nh, ifindex)
        if let gateway {
            let g = NLAddress(gateway)
            rtnl_route_nh_set_gateway(nh, g.raw)
        }
        rtnl_route_add_nexthop(route, nh)   // the route owns nh now
        try check(rtnl_route_add(raw, route, NLM_F_CREATE | NLM_F_REPLACE), "add route \(dst) dev #\(ifindex)")
    }

    func addAddress(_ ip: IPAddress, prefixLength: Int, ifindex: Int32) throws(NetlinkError) {
        guard let addr = rtnl_addr_alloc() else { throw NetlinkError(code: NLE_NOMEM, operation: "allocate address") }
        defer { rtnl_addr_put(addr) }
        let local = NLAddress(ip, prefixLength: prefixLength)
        rtnl_addr_set_ifindex(addr, ifindex)
        rtnl_addr_set_family(addr, AF_INET)
        try check(rtnl_addr_set_local(addr, local.raw), "set address \(ip)")
        try check(rtnl_addr_add(raw, addr, NLM_F_CREATE | NLM_F_REPLACE), "add address \(ip)/\(prefixLength) dev #\(ifindex)")
    }

    func addPermanentNeighbour(_ ip: IPAddress, mac: MACAddress, ifindex: Int32) throws(NetlinkError) {
        guard let neigh = rtnl_neigh_alloc() else { throw NetlinkError(code: NLE_NOMEM, operation: "allocate neighbour") }
        defer { rtnl_neigh_put(neigh) }
        let dst = NLAddress(ip)
        let ll = NLAddress(mac: mac)
        rtnl_neigh_set_ifindex(neigh, ifindex)
        rtnl_neigh_set_family(neigh, AF_INET)
        try check(rtnl_neigh_set_dst(neigh, dst.raw), "set neighbour \(ip)")
        rtnl_neigh_set_lladdr(neigh, ll.raw)
        rtnl_neigh_set_state(neigh, Int32(NUD_PERMANENT))
        try check(rtnl_neigh_add(raw, neigh, NLM_F_CREATE | NLM_F_REPLACE), "add neighbour \(ip) lladdr \(mac) dev #\(ifindex)")
    }

    /// IPv4 addresses on `ifindex` (with prefix lengths).
    func addresses(ifindex: Int32) throws(NetlinkError) -> [IPPrefix] {
        var cache: OpaquePointer? = nil
        try check(rtnl_addr_alloc_cache(raw, &cache), "list addresses")
        guard let cache else { return [] }
        defer { nl_cache_free(cache) }
        var out: [IPPrefix] = []
        var obj = nl_cache_get_first(cache)
        while let o = obj {
            if rtnl_addr_get_ifindex(o) == ifindex, rtnl_addr_get_family(o) == AF_INET,
               let ip = NLConvert.ip(rtnl_addr_get_local(o)) {
                out.append(IPPrefix(ip, length: Int(rtnl_addr_get_prefixlen(o))))
            }
            obj = nl_cache_get_next(o)
        }
        return out
    }

    /// IPv4 main-table routes: destination and output interface of the first next hop.
    func routes() throws(NetlinkError) -> [(dst: IPPrefix, ifindex: Int32, gateway: IPAddress?)] {
        var cache: OpaquePointer? = nil
        try check(rtnl_route_alloc_cache(raw, AF_INET, 0, &cache), "list routes")
        guard let cache else { return [] }
        defer { nl_cache_free(cache) }
        var out: [(dst: IPPrefix, ifindex: Int32, gateway: IPAddress?)] = []
        var obj = nl_cache_get_first(cache)
        while let o = obj {
            if rtnl_route_get_table(o) == UInt32(RT_TABLE_MAIN.rawValue), let dstAddr = rtnl_route_get_dst(o) {
                let len = Int(nl_addr_get_prefixlen(dstAddr))
                let ip = NLConvert.ip(dstAddr) ?? .v4(.any)
                if let nh = rtnl_route_nexthop_n(o, 0) {
                    out.append((IPPrefix(ip, length: len), rtnl_route_nh_get_ifindex(nh), NLConvert.ip(rtnl_route_nh_get_gateway(nh))))
                }
            }
            obj = nl_cache_get_next(o)
        }
        return out
    }
}

/// Runs `body` on a fresh thread that first joins the network namespace `fd` (setns is
/// per-thread for the network namespace), so the calling thread never leaves its own.
/// `body` makes netlink calls only: Dispatch work or threads started from it would get workers
/// born in the pod's namespace, where they would stay (docs/architecture.md, Conventions).
func inNetworkNamespace<T>(_ fd: Int32, _ body: @escaping () throws(WorkloadError) -> T) throws(WorkloadError) -> T {
    var result: Result<T, WorkloadError> = .failure(.netns(path: "fd \(fd)", reason: "thread did not run"))
    let box = NetnsThreadBody()
    box.body = {
        if twill_wl_setns_net(fd) != 0 {
            result = .failure(.netns(path: "fd \(fd)", reason: "setns: \(String(cString: strerror(errno)))"))
            return
        }
        do throws(WorkloadError) { result = .success(try body()) } catch { result = .failure(error) }
    }
    var tid = pthread_t()
    let arg = Unmanaged.passRetained(box).toOpaque()
    let rc = pthread_create(&tid, nil, { p in
        let b = Unmanaged<NetnsThreadBody>.fromOpaque(p!).takeRetainedValue()
        b.body()
        return nil
    }, arg)
    if rc != 0 {
        Unmanaged<NetnsThreadBody>.fromOpaque(arg).release()
        throw .netns(path: "fd \(fd)", reason: "pthread_create: \(String(cString: strerror(rc)))")
    }
    pthread_join(tid, nil)
    return try result.get()
}

/// The closure a netns thread runs; the spawning thread joins it before reading results.
final class NetnsThreadBody: @unchecked Sendable {
    var body: () -> Void = {}
}
