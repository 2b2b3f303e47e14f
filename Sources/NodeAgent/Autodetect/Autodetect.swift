import CNetlink
@preconcurrency import Glibc
import NetCore

/// The node address autodetection picked (or `--ip ADDR/PLEN` resolved to): the interface
/// holding it, its on-link prefix length (Calico stores `spec.bgp.ipv4Address` as
/// `ADDR/PLEN`; CrossSubnet compares those subnets) and the interface MTU (for the pool MTU).
public struct DetectedAddress: Equatable, Sendable, CustomStringConvertible {
    public var interface: String
    public var address: IPAddress
    public var prefixLength: Int
    public var mtu: Int
    public init(interface: String, address: IPAddress, prefixLength: Int, mtu: Int) {
        self.interface = interface; self.address = address; self.prefixLength = prefixLength; self.mtu = mtu
    }
    /// `ADDR/PLEN`, the form Calico writes into the Node resource.
    public var cidr: String { "\(address)/\(prefixLength)" }
    public var description: String { "\(cidr) on \(interface) (mtu \(mtu))" }
}

/// Node IP autodetection against the kernel of the calling thread's network namespace.
/// Interfaces are read over rtnetlink (libnl: `rtnl_link_alloc_cache`, `rtnl_addr_alloc_cache`);
/// nothing shells out. The choice itself is the pure `select(_:family:from:reachSource:)`.
public enum Autodetect {
    /// Finds this node's `family` address with `method`.
    public static func detect(_ method: AutodetectMethod, family: IPFamily) throws(AutodetectError) -> DetectedAddress {
        let interfaces = try hostInterfaces(method: method.description)
        var source: IPAddress?
        if case .canReach(let dest) = method {
            source = try reachSource(dest, family: family, method: method.description)
        }
        return try select(method, family: family, from: interfaces, reachSource: source)
    }

    /// The MTU and addresses (with prefix lengths, kernel order) of the interface `name`.
    public static func interface(named name: String) throws(AutodetectError) -> (mtu: Int, addresses: [(IPAddress, Int)]) {
        let all = try hostInterfaces(method: "interface \(name)")
        guard let i = all.first(where: { $0.name == name }) else {
            throw AutodetectError(method: "interface \(name)", reason: "no interface named \"\(name)\"")
        }
        return (i.mtu, i.addresses.map { ($0.address, $0.prefixLength) })
    }

    /// For `--ip ADDR/PLEN` (or a bare ADDR): the interface that holds `address`, its
    /// configured prefix length and MTU. Throws when no local interface has it.
    public static func interfaceHolding(_ address: IPAddress) throws(AutodetectError) -> DetectedAddress {
        let all = try hostInterfaces(method: "ip \(address)")
        guard let hit = holding(address, in: all) else {
            throw AutodetectError(method: "ip \(address)", reason: "\(address) is not configured on any local interface")
        }
        return hit
    }

    // MARK: kernel reads

    /// Every interface with its addresses, in ifindex order (RTM_GETLINK and RTM_GETADDR dumps).
    public static func hostInterfaces() throws(AutodetectError) -> [HostInterface] {
        try hostInterfaces(method: "list interfaces")
    }

    static func hostInterfaces(method: String) throws(AutodetectError) -> [HostInterface] {
        func fail(_ what: String, _ rc: Int32) -> AutodetectError {
            AutodetectError(method: method, reason: "\(what): \(String(cString: nl_geterror(rc)))")
        }
        guard let sock = nl_socket_alloc() else { throw AutodetectError(method: method, reason: "cannot allocate a netlink socket") }
        defer { nl_socket_free(sock) }
        var rc = nl_connect(sock, NETLINK_ROUTE)
        guard rc >= 0 else { throw fail("connect netlink socket", rc) }
        defer { nl_close(sock) }

        var linkCache: OpaquePointer?
        rc = rtnl_link_alloc_cache(sock, AF_UNSPEC, &linkCache)
        guard rc >= 0, let linkCache else { throw fail("dump links", rc) }
        defer { nl_cache_free(linkCache) }
        var byIndex: [Int: HostInterface] = [:]
        var order: [Int] = []
        visit(linkCache) { link in
            guard let cname = rtnl_link_get_name(link) else { return }
            let idx = Int(rtnl_link_get_ifindex(link))
            byIndex[idx] = HostInterface(name: String(cString: cname), index: idx, mtu: Int(rtnl_link_get_mtu(link)), addresses: [])
            order.append(idx)
        }

        var addrCache: OpaquePointer?
        rc = rtnl_addr_alloc_cache(sock, &addrCache)
        guard rc >= 0, let addrCache else { throw fail("dump addresses", rc) }
        defer { nl_cache_free(addrCache) }
        visit(addrCache) { a in
            let idx = Int(rtnl_addr_get_ifindex(a))
            guard byIndex[idx] != nil, let ip = ipAddress(rtnl_addr_get_local(a)) else { return }
            byIndex[idx]!.addresses.append(InterfaceAddressEntry(ip, prefixLength: Int(rtnl_addr_get_prefixlen(a))))
        }
        return order.sorted().compactMap { byIndex[$0] }
    }

    private static func visit(_ cache: OpaquePointer, _ body: (OpaquePointer) -> Void) {
        var obj = nl_cache_get_first(cache)
        while let o = obj {
            body(o)
            obj = nl_cache_get_next(o)
        }
    }

    private static func ipAddress(_ a: OpaquePointer?) -> IPAddress? {
        guard let a, let p = nl_addr_get_binary_addr(a) else { return nil }
        let bytes = Array(UnsafeRawBufferPointer(start: p, count: Int(nl_addr_get_len(a))))
        switch nl_addr_get_family(a) {
        case AF_INET: return IPv4Address(bytes: bytes).map { .v4($0) }
        case AF_INET6: return IPv6Address(bytes: bytes).map { .v6($0) }
        default: return nil
        }
    }

    // MARK: can-reach

    /// The local address the kernel would use to reach `dest` (an address or a hostname,
    /// resolved for `family`): a UDP `connect(2)` to port 80, which sends nothing, then
    /// `getsockname(2)`, as calico-node's `ReachDestination` does.
    static func reachSource(_ dest: String, family: IPFamily, method: String) throws(AutodetectError) -> IPAddress {
        var host = dest
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = family == .v4 ? AF_INET : AF_INET6
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var res: UnsafeMutablePointer<addrinfo>?
        let gai = getaddrinfo(host, "80", &hints, &res)
        guard gai == 0, let first = res else {
            let why = gai == 0 ? "no address" : String(cString: gai_strerror(gai))
            throw AutodetectError(method: method, reason: "cannot resolve \"\(dest)\" to an \(family) address: \(why)")
        }
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let cur = ai {
            defer { ai = cur.pointee.ai_next }
            let fd = socket(cur.pointee.ai_family, cur.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), cur.pointee.ai_protocol)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            defer { close(fd) }
            guard connect(fd, cur.pointee.ai_addr, cur.pointee.ai_addrlen) == 0 else {
                lastError = String(cString: strerror(errno)); continue
            }
            var st = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let r = withUnsafeMutablePointer(to: &st) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
            }
            guard r == 0 else { lastError = String(cString: strerror(errno)); continue }
            if let ip = ipAddress(storage: st) { return ip }
        }
        throw AutodetectError(method: method, reason: "cannot reach \(dest): \(lastError)")
    }

    private static func ipAddress(storage: sockaddr_storage) -> IPAddress? {
        var st = storage
        switch Int32(st.ss_family) {
        case AF_INET:
            let sin = withUnsafeBytes(of: &st) { $0.load(as: sockaddr_in.self) }
            return .v4(IPv4Address(UInt32(bigEndian: sin.sin_addr.s_addr)))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &st) { $0.load(as: sockaddr_in6.self) }
            return IPv6Address(bytes: withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }).map { .v6($0) }
        default:
            return nil
        }
    }
}
