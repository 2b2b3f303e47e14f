import Foundation

/// Loopback TCP ports for daemons a test starts (etcd, …).
public enum FreePorts {
    /// Ports the kernel hands out for port 0 on loopback (released before etcd binds them).
    public static func loopback(_ n: Int) throws -> [Int] {
        var fds: [Int32] = [], ports: [Int] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<n {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
                }
            }
            guard ok else { throw ShellError.failed(["bind 127.0.0.1:0"], errno, "") }
            fds.append(fd)
            ports.append(Int(UInt16(bigEndian: addr.sin_port)))
        }
        return ports
    }
}
