import Foundation

/// A temporary directory removed when `cleanup()` runs (call it in `defer`).
public struct TempDir: Sendable {
    public let path: String
    public init(_ prefix: String = "twill") throws {
        let base = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }
    public func file(_ name: String) -> String { path + "/" + name }
    public func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Where built executables live, for end-to-end tests that run the real binaries.
public enum BuiltProducts {
    public static var directory: String {
        // The test bundle runs from .build/<config>/; executables sit beside it.
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("twillctl").path) { return dir.path }
            dir = dir.deletingLastPathComponent()
        }
        return ProcessInfo.processInfo.environment["TWILL_BIN_DIR"] ?? ".build/debug"
    }
    public static func path(_ name: String) -> String { directory + "/" + name }
}
