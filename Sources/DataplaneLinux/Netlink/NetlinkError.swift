import CNetlink
import Glibc

/// A libnl failure. libnl returns its own `-NLE_*` codes, not errno (STYLE.md (d) 17):
/// `code` is the positive NLE value and `description` uses `nl_geterror`.
public struct NetlinkError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: Int32
    /// What was being done, e.g. `add route 10.0.0.0/24`.
    public let operation: String

    /// The kernel's errno when the failure came from a netlink ack or a syscall (libnl folds
    /// many errnos into NLE_FAILURE; the errno keeps the precise reason).
    public let systemErrno: Int32?

    public init(code: Int32, operation: String, errno: Int32? = nil) {
        self.code = code < 0 ? -code : code
        self.operation = operation
        self.systemErrno = errno
    }

    /// From an errno: the NLE code libnl would use, keeping the errno.
    public init(errno e: Int32, operation: String) {
        self.init(code: nl_syserr2nlerr(e), operation: operation, errno: e)
    }

    public var message: String {
        if let e = systemErrno { return String(cString: strerror(e)) }
        return String(cString: nl_geterror(code))
    }

    public var description: String {
        if let e = systemErrno { return "\(operation): \(message) (errno \(e))" }
        return "\(operation): \(message) (NLE \(code))"
    }

    public static let exists = NLE_EXIST
    public static let objectNotFound = NLE_OBJ_NOTFOUND
    public static let noDevice = NLE_NODEV
    public static let notSupported = NLE_OPNOTSUPP
    /// libnl maps ENOBUFS (socket receive queue overflow) to NLE_NOMEM.
    public static let noBuffers = NLE_NOMEM

    /// Throws for a negative libnl return value.
    @discardableResult
    static func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(NetlinkError) -> Int32 {
        if rc < 0 { throw NetlinkError(code: rc, operation: operation()) }
        return rc
    }
}
