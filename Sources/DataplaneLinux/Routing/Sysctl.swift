import Dataplane
import Glibc

/// Sysctls through /proc/sys file reads and writes (not a subprocess). /proc/sys/net is
/// per network namespace: callers run in the namespace they program.
enum Sysctl {
    static let root = "/proc/sys"

    static func path(_ key: SysctlKey) -> String { root + "/" + key.relativePath }

    static func read(_ key: SysctlKey) -> String? {
        let fd = open(path(key), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 128)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        var s = String(decoding: buf[0..<n], as: UTF8.self)
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s
    }

    /// Writes `value`; returns the errno on failure.
    static func write(_ key: SysctlKey, _ value: String) -> Int32? {
        let fd = open(path(key), O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        return n == bytes.count ? nil : (n < 0 ? errno : EIO)
    }
}
