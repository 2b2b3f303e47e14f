import CNetlink

/// A libnl failure. libnl returns its own `-NLE_*` codes, not errno (STYLE.md (d) 17):
/// `code` is the positive NLE value and `description` uses `nl_geterror`.
public struct NetlinkError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: Int32
    /// What was being done, e.g. `add route 10.0.0.0/24`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code < 0 ? -code : code
        self.operation = operation
    }

    public var message: String { String(cString: nl_geterror(code)) }
    public var description: String { "\(operation): \(message) (NLE \(code))" }

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
