@preconcurrency import Glibc
import NetCore

/// An IPv4 or IPv6 transport address (address + port), convertible to and from `sockaddr`.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16

    public init(_ ip: IPAddress, port: UInt16) { self.ip = ip; self.port = port }

    public var family: IPFamily { ip.family }

    /// "10.0.0.1:179" or "[fd00::1]:179".
    public var description: String {
        switch ip {
        case .v4: "\(ip):\(port)"
        case .v6: "[\(ip)]:\(port)"
        }
    }

    var domain: Int32 { family == .v4 ? AF_INET : AF_INET6 }

    /// Calls `body` with a filled sockaddr and its length.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        switch ip {
        case .v4(let a):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = a.value.bigEndian
            return try withUnsafePointer(to: &sin) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(let a):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            let b = a.bytes
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                for i in 0..<16 { raw[i] = b[i] }
            }
            return try withUnsafePointer(to: &sin6) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// Reads a sockaddr_storage filled by accept/getsockname/getpeername. IPv4-mapped IPv6
    /// addresses (::ffff:a.b.c.d, from a dual-stack listener) come back as IPv4.
    init?(storage: sockaddr_storage) {
        var st = storage
        switch Int32(st.ss_family) {
        case AF_INET:
            let sin = withUnsafeBytes(of: &st) { $0.load(as: sockaddr_in.self) }
            self.init(.v4(IPv4Address(UInt32(bigEndian: sin.sin_addr.s_addr))), port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &st) { $0.load(as: sockaddr_in6.self) }
            let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            let port = UInt16(bigEndian: sin6.sin6_port)
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff,
               let v4 = IPv4Address(bytes: bytes[12..<16]) {
                self.init(.v4(v4), port: port)
            } else {
                guard let v6 = IPv6Address(bytes: bytes) else { return nil }
                self.init(.v6(v6), port: port)
            }
        default:
            return nil
        }
    }
}
