import CNetlink
import CNetlinkWorkload
import Glibc
import NetCore

/// A libnl failure in workload setup: what was done and libnl's (or the kernel's) reason.
public struct WorkloadNetlinkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Positive NLE code (libnl's, not errno; STYLE.md (d) 17).
    public let code: Int32
    public let operation: String
    public var description: String { "\(operation): \(String(cString: nl_geterror(code))) (NLE \(code))" }
    public var isExists: Bool { code == NLE_EXIST }
    public var isNotFound: Bool { code == NLE_OBJ_NOTFOUND || code == NLE_NODEV }
}

/// An owned NETLINK_ROUTE socket, bound to the network namespace of the thread that made it.
/// Used from one thread at a time (the one-shot CNI plugin's), hence @unchecked Sendable.
final class WLSocket: @unchecked Sendable {
    let raw: OpaquePointer

    init() throws(WorkloadNetlinkError) {
        guard let s = nl_socket_alloc() else { throw WorkloadNetlinkError(code: NLE_NOMEM, operation: "allocate netlink socket") }
        let rc = nl_connect(s, NETLINK_ROUTE)
        if rc < 0 { nl_socket_free(s); throw WorkloadNetlinkError(code: -rc, operation: "connect netlink socket") }
        raw = s
    }

    deinit { nl_close(raw); nl_socket_free(raw) }

    func check(_ rc: Int32, _ op: @autoclosure () -> String) throws(WorkloadNetlinkError) {
        if rc < 0 { throw WorkloadNetlinkError(code: -rc, operation: op()) }
    }

    /// The link named `name`, or nil when absent. The caller releases it with `rtnl_link_put`.
    func link(named name: String) throws(WorkloadNetlinkError) -> OpaquePointer? {
        var link: OpaquePointer? = nil
        let rc = rtnl_link_get_kernel(raw, 0, name, &link)
        if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return nil }
        try check(rc, "look up link \(name)")
        return link
    }

    func setUp(_ link: OpaquePointer, name: String) throws(WorkloadNetlinkError) {
        guard rtnl_link_get_flags(link) & twill_wl_iff_up() == 0 else { return }
        guard let change = rtnl_link_alloc() else { throw WorkloadNetlinkError(code: NLE_NOMEM, operation: "allocate link") }
        defer { rtnl_link_put(change) }
        rtnl_link_set_flags(change, twill_wl_iff_up())
        try check(rtnl_link_change(raw, link, change, 0), "set \(name) up")
    }

    /// A /len route in the main table through `ifindex`, optionally via `gateway`.
    func addRoute(_ dst: IPPrefix, ifindex: Int32, gateway: IPAddress? = nil, scopeLink: Bool) throws(WorkloadNetlinkError) {
        guard let route = rtnl_route_alloc(), let nh = rtnl_route_nh_alloc() else {
            throw WorkloadNetlinkError(code: NLE_NOMEM, operation: "allocate route")
        }
        defer { rtnl_route_put(route) }
        let d = WLAddress(dst.address, prefixLength: dst.length)
        rtnl_route_set_family(route, UInt8(AF_INET))
        _ = rtnl_route_set_dst(route, d.raw)
        rtnl_route_set_table(route, UInt32(RT_TABLE_MAIN.rawValue))
        rtnl_route_set_protocol(route, UInt8(RTPROT_BOOT))
        rtnl_route_set_scope(route, UInt8(scopeLink ? RT_SCOPE_LINK.rawValue : RT_SCOPE_UNIVERSE.rawValue))
        _ = rtnl_route_set_type(route, UInt8(RTN_UNICAST))
        rtnl_route_nh_set_ifindex(nh, ifindex)
        if let gateway {
            let g = WLAddress(gateway)
            rtnl_route_nh_set_gateway(nh, g.raw)
        }
        rtnl_route_add_nexthop(route, nh)   // the route owns nh now
        try check(rtnl_route_add(raw, route, NLM_F_CREATE | NLM_F_REPLACE), "add route \(dst) dev #\(ifindex)")
    }

    func addAddress(_ ip: IPAddress, prefixLength: Int, ifindex: Int32) throws(WorkloadNetlinkError) {
        guard let addr = rtnl_addr_alloc() else { throw WorkloadNetlinkError(code: NLE_NOMEM, operation: "allocate address") }
        defer { rtnl_addr_put(addr) }
        let local = WLAddress(ip, prefixLength: prefixLength)
        rtnl_addr_set_ifindex(addr, ifindex)
        rtnl_addr_set_family(addr, AF_INET)
        try check(rtnl_addr_set_local(addr, local.raw), "set address \(ip)")
        try check(rtnl_addr_add(raw, addr, NLM_F_CREATE | NLM_F_REPLACE), "add address \(ip)/\(prefixLength) dev #\(ifindex)")
    }

    func addPermanentNeighbour(_ ip: IPAddress, mac: MACAddress, ifindex: Int32) throws(WorkloadNetlinkError) {
        guard let neigh = rtnl_neigh_alloc() else { throw WorkloadNetlinkError(code: NLE_NOMEM, operation: "allocate neighbour") }
        defer { rtnl_neigh_put(neigh) }
        let dst = WLAddress(ip)
        let ll = WLAddress(mac: mac)
        rtnl_neigh_set_ifindex(neigh, ifindex)
        rtnl_neigh_set_family(neigh, AF_INET)
        try check(rtnl_neigh_set_dst(neigh, dst.raw), "set neighbour \(ip)")
        rtnl_neigh_set_lladdr(neigh, ll.raw)
        rtnl_neigh_set_state(neigh, Int32(NUD_PERMANENT))
        try check(rtnl_neigh_add(raw, neigh, NLM_F_CREATE | NLM_F_REPLACE), "add neighbour \(ip) lladdr \(mac) dev #\(ifindex)")
    }

    /// IPv4 addresses on `ifindex` (with prefix lengths).
    func addresses(ifindex: Int32) throws(WorkloadNetlinkError) -> [IPPrefix] {
        var cache: OpaquePointer? = nil
        try check(rtnl_addr_alloc_cache(raw, &cache), "list addresses")
        guard let cache else { return [] }
        defer { nl_cache_free(cache) }
        var out: [IPPrefix] = []
        var obj = nl_cache_get_first(cache)
        while let o = obj {
            if rtnl_addr_get_ifindex(o) == ifindex, rtnl_addr_get_family(o) == AF_INET,
               let ip = WLAddress.ip(rtnl_addr_get_local(o)) {
                out.append(IPPrefix(ip, length: Int(rtnl_addr_get_prefixlen(o))))
            }
            obj = nl_cache_get_next(o)
        }
        return out
    }

    /// IPv4 main-table routes: destination and output interface of the first next hop.
    func routes() throws(WorkloadNetlinkError) -> [(dst: IPPrefix, ifindex: Int32, gateway: IPAddress?)] {
        var cache: OpaquePointer? = nil
        try check(rtnl_route_alloc_cache(raw, AF_INET, 0, &cache), "list routes")
        guard let cache else { return [] }
        defer { nl_cache_free(cache) }
        var out: [(dst: IPPrefix, ifindex: Int32, gateway: IPAddress?)] = []
        var obj = nl_cache_get_first(cache)
        while let o = obj {
            if rtnl_route_get_table(o) == UInt32(RT_TABLE_MAIN.rawValue), let dstAddr = rtnl_route_get_dst(o) {
                let len = Int(nl_addr_get_prefixlen(dstAddr))
                let ip = WLAddress.ip(dstAddr) ?? .v4(.any)
                if let nh = rtnl_route_nexthop_n(o, 0) {
                    out.append((IPPrefix(ip, length: len), rtnl_route_nh_get_ifindex(nh), WLAddress.ip(rtnl_route_nh_get_gateway(nh))))
                }
            }
            obj = nl_cache_get_next(o)
        }
        return out
    }
}

/// An owned `nl_addr`.
struct WLAddress: ~Copyable {
    let raw: OpaquePointer
    init(_ ip: IPAddress, prefixLength: Int? = nil) {
        let bytes = ip.bytes
        raw = bytes.withUnsafeBytes { nl_addr_build(ip.family == .v4 ? AF_INET : AF_INET6, $0.baseAddress, $0.count)! }
        nl_addr_set_prefixlen(raw, Int32(prefixLength ?? ip.family.bitWidth))
    }
    init(mac: MACAddress) {
        raw = mac.bytes.withUnsafeBytes { nl_addr_build(AF_LLC, $0.baseAddress, $0.count)! }
    }
    deinit { nl_addr_put(raw) }

    static func ip(_ a: OpaquePointer?) -> IPAddress? {
        guard let a, let p = nl_addr_get_binary_addr(a) else { return nil }
        let bytes = Array(UnsafeRawBufferPointer(start: p, count: Int(nl_addr_get_len(a))))
        if nl_addr_get_family(a) == AF_INET { return IPv4Address(bytes: bytes).map { .v4($0) } }
        return nil
    }
    static func mac(_ a: OpaquePointer?) -> MACAddress? {
        guard let a, let p = nl_addr_get_binary_addr(a), nl_addr_get_len(a) == 6 else { return nil }
        return MACAddress(bytes: Array(UnsafeRawBufferPointer(start: p, count: 6)))
    }
}

/// Runs `body` on a fresh thread that first joins the network namespace `fd` (setns is
/// per-thread for the network namespace), so the calling thread never leaves its own.
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
