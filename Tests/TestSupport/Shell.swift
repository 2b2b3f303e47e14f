import Foundation

/// Runs helper commands from tests (tests may use `ip`/`nft` to look; product code never does).
public enum Shell {
    public struct Result: Sendable { public var status: Int32; public var stdout: String; public var stderr: String }

    @discardableResult
    public static func run(_ args: [String], stdin: String? = nil, env: [String: String]? = nil,
                           timeout: Double = 60) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        if let env { p.environment = ProcessInfo.processInfo.environment.merging(env) { _, n in n } }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? inp.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let g = DispatchGroup()
        g.enter(); DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        g.enter(); DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        if g.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            throw ShellError.timedOut(args)
        }
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
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
