import CSystemShims
@preconcurrency import Glibc
import NetCore
import SystemPackage

/// A non-blocking stream socket (TCP over IPv4/IPv6, or a Unix stream socket) that owns its
/// descriptor. Ownership is explicit: call `close()` exactly once (normally from a Dispatch
/// source's cancel handler, STYLE.md (d) 3); `deinit` only asserts that happened, as NIO's
/// `BaseSocket` does.
///
/// Not thread-safe: confine each socket to one serial queue. It is `@unchecked Sendable` so it
/// can be handed to that queue; the invariant is "used from one queue at a time".
public final class Socket: @unchecked Sendable, CustomStringConvertible {
    public private(set) var descriptor: Int32
    public var isOpen: Bool { descriptor >= 0 }

    init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { assert(descriptor < 0, "leak of open Socket fd \(descriptor)") }

    public var description: String { "Socket(fd: \(descriptor))" }

    /// A new non-blocking, close-on-exec TCP socket of `family`.
    /// The corresponding C call is `socket(AF_INET[6], SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC)`.
    public static func tcp(_ family: IPFamily) throws(SyscallError) -> Socket {
        let fd = try sys_checked("socket") { twill_tcp_socket(family == .v4 ? AF_INET : AF_INET6) }
        return Socket(descriptor: fd)
    }

    /// A new non-blocking Unix stream socket.
    public static func unixStream() throws(SyscallError) -> Socket {
        Socket(descriptor: try sys_checked("socket(AF_UNIX)") { twill_unix_socket() })
    }

    /// Closes the descriptor. Never retries EINTR. Calling it twice is a programmer error.
    public func close() {
        precondition(descriptor >= 0, "Socket closed twice")
        sys_close(descriptor)
        descriptor = -1
    }

    private func fd() -> Int32 {
        precondition(descriptor >= 0, "use of closed Socket")
        return descriptor
    }

    // MARK: options

    /// SO_REUSEADDR, so a restarted listener can bind while old connections sit in TIME_WAIT.
    public func setReuseAddress() throws(SyscallError) { try sys_checked("setsockopt(SO_REUSEADDR)") { twill_set_reuseaddr(fd()) } }

    /// IPV6_V6ONLY: with `true` an IPv6 socket never sees IPv4-mapped peers.
    public func setV6Only(_ on: Bool) throws(SyscallError) { try sys_checked("setsockopt(IPV6_V6ONLY)") { twill_set_v6only(fd(), on ? 1 : 0) } }

    /// TCP_NODELAY: BGP messages are whole records; don't hold them back for Nagle.
    public func setNoDelay() throws(SyscallError) { try sys_checked("setsockopt(TCP_NODELAY)") { twill_set_nodelay(fd()) } }

    /// RFC 2385 TCP MD5 signature for segments to/from `peer` (port ignored). On a listening
    /// socket call it once per peer address; accepted sockets inherit the keys. `nil` removes it.
    /// The corresponding C call is `setsockopt(IPPROTO_TCP, TCP_MD5SIG, struct tcp_md5sig)`.
    public func setMD5Key(peer: IPAddress, key: String?) throws(SyscallError) {
        let bytes = Array((key ?? "").utf8)
        let family = family()
        // A v6 socket (dual-stack listener) needs the v4 peer key as an IPv4-mapped address.
        var addrIP = peer
        if family == .v6, case .v4(let a) = peer {
            addrIP = .v6(IPv6Address(high: 0, low: 0x0000_ffff_0000_0000 | UInt64(a.value)))
        }
        let sa = SocketAddress(addrIP, port: 0)
        let fd = fd()
        try sys_checked("setsockopt(TCP_MD5SIG)") {
            sa.withSockAddr { p, len in bytes.withUnsafeBufferPointer { twill_set_tcp_md5(fd, p, len, $0.baseAddress, Int32(bytes.count)) } }
        }
    }

    /// RFC 5082 GTSM: drop segments that arrive with a TTL / hop limit below `ttl`.
    /// The corresponding C call is `setsockopt(IP_MINTTL)` / `setsockopt(IPV6_MINHOPCOUNT)`.
    public func setMinimumTTL(_ ttl: Int) throws(SyscallError) {
        let dom = family() == .v4 ? AF_INET : AF_INET6
        try sys_checked("setsockopt(IP_MINTTL)") { twill_set_min_ttl(fd(), dom, Int32(ttl)) }
    }

    /// The TTL / hop limit of segments we send (`IP_TTL` / `IPV6_UNICAST_HOPS`).
    public func setTTL(_ ttl: Int) throws(SyscallError) {
        let dom = family() == .v4 ? AF_INET : AF_INET6
        try sys_checked("setsockopt(IP_TTL)") { twill_set_ttl(fd(), dom, Int32(ttl)) }
    }

    /// The pending socket error (`getsockopt(SO_ERROR)`), nil when none.
    public func pendingError() throws(SyscallError) -> Errno? {
        let e = try sys_checked("getsockopt(SO_ERROR)") { twill_so_error(fd()) }
        return e == 0 ? nil : Errno(rawValue: e)
    }

    // MARK: addresses

    public func family() -> IPFamily {
        (try? localAddress().family) ?? .v4
    }

    /// `getsockname(2)`.
    public func localAddress() throws(SyscallError) -> SocketAddress { try address("getsockname", getsockname) }

    /// `getpeername(2)`.
    public func remoteAddress() throws(SyscallError) -> SocketAddress { try address("getpeername", getpeername) }

    private func address(_ name: String, _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32)
        throws(SyscallError) -> SocketAddress {
        var st = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = fd()
        try sys_checked(name) {
            withUnsafeMutablePointer(to: &st) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &len) } }
        }
        guard let a = SocketAddress(storage: st) else { throw SyscallError(name, .addressFamilyNotSupported) }
        return a
    }

    // MARK: connection setup

    /// `bind(2)` to a local address (port 0 = any port, for a source address).
    public func bind(to address: SocketAddress) throws(SyscallError) {
        let fd = fd()
        try sys_checked("bind \(address)") { address.withSockAddr { Glibc.bind(fd, $0, $1) } }
    }

    /// `listen(2)`.
    public func listen(backlog: Int32 = 128) throws(SyscallError) {
        let fd = fd()
        try sys_checked("listen") { Glibc.listen(fd, backlog) }
    }

    public enum ConnectResult: Sendable, Equatable {
        case connected
        /// EINPROGRESS: wait for writability, then check `pendingError()` (STYLE.md (d) 6).
        case inProgress
    }

    /// Non-blocking `connect(2)`.
    public func connect(to address: SocketAddress) throws(SyscallError) -> ConnectResult {
        let fd = fd()
        while true {
            let r = address.withSockAddr { Glibc.connect(fd, $0, $1) }
            if r == 0 { return .connected }
            let e = Glibc.errno
            switch e {
            case EINTR: continue
            case EINPROGRESS, EALREADY: return .inProgress
            default: throw SyscallError("connect \(address)", Errno(rawValue: e))
            }
        }
    }

    /// `accept4(2)`: a new non-blocking socket and the peer's address.
    public func accept() throws(SyscallError) -> IOResult<AcceptedConnection> {
        var st = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = fd()
        let r = try sys_call("accept") {
            withUnsafeMutablePointer(to: &st) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { twill_accept(fd, $0, &len) } }
        }
        switch r {
        case .wouldBlock: return .wouldBlock
        case .processed(let nfd):
            let s = Socket(descriptor: nfd)
            return .processed(AcceptedConnection(socket: s, remote: SocketAddress(storage: st)))
        }
    }

    /// Binds a Unix stream socket to `path` (the caller removes a stale file first).
    public func bindUnix(path: String) throws(SyscallError) {
        let fd = fd()
        try sys_checked("bind \(path)") { path.withCString { twill_unix_bind(fd, $0) } }
    }

    /// Connects a Unix stream socket to `path`. Non-blocking: may return `.inProgress`
    /// only in theory (Unix sockets connect at once or fail with EAGAIN when the backlog is full).
    public func connectUnix(path: String) throws(SyscallError) {
        let fd = fd()
        try sys_checked("connect \(path)") { path.withCString { twill_unix_connect(fd, $0) } }
    }

    // MARK: data

    /// `read(2)` into `buffer`; `.processed(0)` is end of stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SyscallError) -> IOResult<Int> {
        let fd = fd()
        return try sys_call("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Reads up to `max` bytes, appending to `bytes`.
    public func read(appendingTo bytes: inout [UInt8], max: Int = 65536) throws(SyscallError) -> IOResult<Int> {
        var chunk = [UInt8](repeating: 0, count: max)
        let r = try chunk.withUnsafeMutableBytes { p in Result { () throws(SyscallError) in try read(into: p) } }.get()
        if case .processed(let n) = r, n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        return r
    }

    /// `send(2)` with MSG_NOSIGNAL (no SIGPIPE on a reset peer).
    public func send(_ bytes: UnsafeRawBufferPointer) throws(SyscallError) -> IOResult<Int> {
        let fd = fd()
        return try sys_call("send") { twill_send(fd, bytes.baseAddress, UInt(bytes.count)) }
    }

    /// Sends as much of `bytes[from...]` as the socket takes now.
    public func send(_ bytes: [UInt8], from offset: Int = 0) throws(SyscallError) -> IOResult<Int> {
        try bytes.withUnsafeBytes { p in
            Result { () throws(SyscallError) in try send(UnsafeRawBufferPointer(rebasing: p[offset...])) }
        }.get()
    }

    /// `shutdown(SHUT_WR)`: flush and signal end of stream, keeping the read side.
    public func shutdownWrite() {
        _ = Glibc.shutdown(fd(), Int32(SHUT_WR))
    }
}

/// A connection returned by `accept`.
public struct AcceptedConnection: @unchecked Sendable {
    public let socket: Socket
    /// nil only for an address family we do not speak (never for TCP v4/v6).
    public let remote: SocketAddress?
}
