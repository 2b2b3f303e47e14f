import Foundation
import Posix

/// Runs helper commands from tests (tests may use `ip`/`nft` to look; product code never does).
public enum Shell {
    public struct Result: Sendable { public var status: Int32; public var stdout: String; public var stderr: String }

    @discardableResult
    public static func run(_ args: [String], stdin: String? = nil, env: [String: String]? = nil,
                           timeout: Double = 60) throws -> Result {
        let environment = env.map { ProcessInfo.processInfo.environment.merging($0) { _, n in n } }
        let out = try ChildProcess.run(args, input: stdin.map { Array($0.utf8) }, environment: environment,
                                       timeout: timeout)
        if out.timedOut { throw ShellError.timedOut(args) }
        return Result(status: out.status, stdout: out.stdoutText, stderr: out.stderrText)
    }

    /// Runs and throws unless the exit status is 0.
    @discardableResult
    public static func check(_ args: [String], stdin: String? = nil) throws -> String {
        let r = try run(args, stdin: stdin)
        guard r.status == 0 else { throw ShellError.failed(args, r.status, r.stderr) }
        return r.stdout
    }

    public static func which(_ tool: String) -> String? {
        for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let path = dir + "/" + tool
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

public enum ShellError: Error, CustomStringConvertible {
    case failed([String], Int32, String)
    case timedOut([String])
    public var description: String {
        switch self {
        case .failed(let a, let s, let e): "\(a.joined(separator: " ")) exited \(s): \(e)"
        case .timedOut(let a): "\(a.joined(separator: " ")) timed out"
        }
    }
}

/// Poll with a deadline: for conditions that depend on a real process (never a bare sleep).
public func eventually(timeout: Double = 10, interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}
