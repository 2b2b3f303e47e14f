import Foundation
import Posix

/// A drop-in for the parts of `Foundation.Process` the tests use, on `Posix.ChildProcess`.
///
/// Foundation's `Process` on Linux detects a child's exit through a socket the child inherits;
/// when tests spawn etcd, BIRD or `ip` in parallel, one child inherits another's socket and
/// `waitUntilExit()` never returns (swift-corelibs-foundation#4795) — the suite then hangs.
/// `ChildProcess` closes every other descriptor in the child and reaps exactly its own pid.
public final class TestProcess: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String] = []
    public var environment: [String: String]?
    /// `FileHandle`, `Pipe` or nil (inherit; stdin defaults to /dev/null).
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?
    public var terminationHandler: (@Sendable (TestProcess) -> Void)?
    private var child: ChildProcess?

    public init() {}

    public func run() throws {
        guard let url = executableURL else { throw ShellError.failed(arguments, -1, "no executableURL") }
        func stream(_ s: Any?, input: Bool) -> ChildProcess.Stream {
            switch s {
            case let p as Pipe: .descriptor((input ? p.fileHandleForReading : p.fileHandleForWriting).fileDescriptor)
            case let h as FileHandle where h === FileHandle.nullDevice || h.fileDescriptor < 0: .null
            case let h as FileHandle: .descriptor(h.fileDescriptor)
            default: input ? .null : .inherit
            }
        }
        child = try ChildProcess([url.path] + arguments, environment: environment,
                                 stdin: stream(standardInput, input: true),
                                 stdout: stream(standardOutput, input: false),
                                 stderr: stream(standardError, input: false))
        // As Foundation does: the parent's copy of the child's pipe ends closes, so EOF arrives.
        if let p = standardInput as? Pipe { try? p.fileHandleForReading.close() }
        if let p = standardOutput as? Pipe { try? p.fileHandleForWriting.close() }
        if let p = standardError as? Pipe, (standardOutput as? Pipe) !== p { try? p.fileHandleForWriting.close() }
    }

    public var processIdentifier: Int32 { child?.pid ?? 0 }
    public var isRunning: Bool { child?.isRunning ?? false }
    public var terminationStatus: Int32 { child?.exitStatus ?? -1 }

    /// Waits for the child (no deadline, like Foundation; callers kill first where needed).
    public func waitUntilExit() {
        _ = child?.wait()
        terminationHandler?(self)
    }

    /// Waits at most `timeout` seconds; true if it exited.
    public func wait(timeout: Double) -> Bool { child?.wait(timeout: timeout) != nil }

    /// SIGTERM.
    public func terminate() { child?.signal(SIGTERM) }
}
