import CNetlink
import Glibc
import NetCore

/// An owned libnl route socket. libnl sockets are not thread-safe: each owner uses its socket
/// from one thread at a time (the routing dataplane under its lock, the monitor on its own
/// thread), hence `@unchecked Sendable` with that documented invariant (STYLE.md (d) 13).
public final class NetlinkSocket: @unchecked Sendable {
    let raw: OpaquePointer
    private var closed = false

    /// Allocates and connects a NETLINK_ROUTE socket (`nl_socket_alloc` + `nl_connect`).
    public init() throws(NetlinkError) {
        guard let s = nl_socket_alloc() else { throw NetlinkError(code: NLE_NOMEM, operation: "allocate netlink socket") }
        let rc = nl_connect(s, NETLINK_ROUTE)
        if rc < 0 { nl_socket_free(s); throw NetlinkError(code: rc, operation: "connect netlink socket") }
        // Batched requests read their acks directly (KernelWriter+Batch), which libnl's
        // strict sequence check cannot follow; requests stay strictly sequential per socket.
        nl_socket_disable_seq_check(s)
        raw = s
    }

    /// Socket buffer sizes (bytes); large dumps and bursts of notifications need more than the default.
    public func setBufferSize(receive: Int32, transmit: Int32) {
        _ = nl_socket_set_buffer_size(raw, receive, transmit)
    }

    public var fileDescriptor: Int32 { nl_socket_get_fd(raw) }

    public func close() {
        guard !closed else { return }
        closed = true
        nl_close(raw)
    }

    deinit {
        if !closed { nl_close(raw) }
        nl_socket_free(raw)
    }
}

/// An owned `nl_addr`, released with `nl_addr_put`.
struct NLAddress: ~Copyable {
    let raw: OpaquePointer

    init(_ ip: IPAddress, prefixLength: Int? = nil) {
        let family = ip.family == .v4 ? AF_INET : AF_INET6
        let bytes = ip.bytes
        raw = bytes.withUnsafeBytes { nl_addr_build(family, $0.baseAddress, $0.count)! }
        nl_addr_set_prefixlen(raw, Int32(prefixLength ?? ip.family.bitWidth))
    }

    init(mac: MACAddress) {
        raw = mac.bytes.withUnsafeBytes { nl_addr_build(AF_LLC, $0.baseAddress, $0.count)! }
    }

    deinit { nl_addr_put(raw) }
}

enum NLConvert {
    /// Reads an IP address out of a borrowed `nl_addr` (nil for other families or no data).
    static func ip(_ a: OpaquePointer?) -> IPAddress? {
        guard let a, let p = nl_addr_get_binary_addr(a) else { return nil }
        let len = Int(nl_addr_get_len(a))
        let bytes = Array(UnsafeRawBufferPointer(start: p, count: len))
        switch nl_addr_get_family(a) {
        case AF_INET: return IPv4Address(bytes: bytes).map { .v4($0) }
        case AF_INET6: return IPv6Address(bytes: bytes).map { .v6($0) }
        default: return nil
        }
    }

    static func prefix(_ a: OpaquePointer?, family: IPFamily) -> IPPrefix? {
        guard let a else { return nil }
        let len = Int(nl_addr_get_prefixlen(a))
        if nl_addr_get_len(a) == 0 {   // default route: no RTA_DST
            return IPPrefix(family == .v4 ? .v4(.any) : .v6(IPv6Address(high: 0, low: 0)), length: 0)
        }
        guard let ip = ip(a), len <= ip.family.bitWidth else { return nil }
        return IPPrefix(ip, length: len)
    }

    static func mac(_ a: OpaquePointer?) -> MACAddress? {
        guard let a, let p = nl_addr_get_binary_addr(a), nl_addr_get_len(a) == 6 else { return nil }
        return MACAddress(bytes: Array(UnsafeRawBufferPointer(start: p, count: 6)))
    }

    static func family(_ f: IPFamily) -> Int32 { f == .v4 ? AF_INET : AF_INET6 }
}

/// Iterates a libnl cache (`nl_cache_get_first` / `nl_cache_get_next`); objects are borrowed.
func forEachObject(in cache: OpaquePointer, _ body: (OpaquePointer) throws -> Void) rethrows {
    var obj = nl_cache_get_first(cache)
    while let o = obj {
        try body(o)
        obj = nl_cache_get_next(o)
    }
}
