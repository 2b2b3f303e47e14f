import Foundation
import TestSupport

/// Runs the built `twillctl` binary against a private SQLite file in a temp dir.
struct CtlHarness {
    let dir: TempDir
    var url: String { "sqlite:" + dir.file("twill.db") }

    init() throws { dir = try TempDir("twillctl") }
    func cleanup() { dir.cleanup() }

    /// `twillctl --datastore <url> args…`
    @discardableResult
    func run(_ args: [String], stdin: String? = nil) throws -> Shell.Result {
        try Shell.run([BuiltProducts.path("twillctl"), "--datastore", url] + args, stdin: stdin)
    }

    /// Runs and fails loudly (with stderr) unless the exit status is 0.
    @discardableResult
    func ok(_ args: [String], stdin: String? = nil) throws -> String {
        let r = try run(args, stdin: stdin)
        guard r.status == 0 else { throw HarnessError.failed(args, r.status, r.stderr) }
        return r.stdout
    }

    /// Writes `text` to a file in the temp dir and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let p = dir.file(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
}

enum HarnessError: Error, CustomStringConvertible {
    case failed([String], Int32, String)
    var description: String {
        switch self {
        case .failed(let a, let s, let e): "twillctl \(a.joined(separator: " ")) exited \(s): \(e)"
        }
    }
}
