@preconcurrency import Glibc

/// A failure programming nftables, naming the call or the batch object the kernel refused.
public enum NFTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed (socket, setsockopt, sendto, recvfrom, setns, open).
    case system(call: String, errno: Int32)
    /// The kernel rejected the batch: nothing was applied. `operation` names the first object
    /// that failed ("add rule 3 to chain tw-twab12"); `failures` counts all failed messages.
    case rejected(operation: String, errno: Int32, failures: Int)
    /// A dump or batch answer did not arrive (or ended early) within the socket timeout.
    case noAnswer(String)
    /// An answer that could not be parsed.
    case malformed(String)

    public var description: String {
        switch self {
        case .system(let call, let e): "\(call) failed: \(NFTError.text(e)) (errno \(e))"
        case .rejected(let op, let e, let n):
            "nftables rejected the batch at '\(op)': \(NFTError.text(e)) (errno \(e))"
                + (n > 1 ? "; \(n) messages failed in total; nothing was applied" : "; nothing was applied")
        case .noAnswer(let what): "no answer from nf_tables for \(what)"
        case .malformed(let what): "malformed nf_tables answer: \(what)"
        }
    }

    static func text(_ e: Int32) -> String { String(cString: strerror(e)) }
}
