import Foundation
import Testing

/// Golden files under Tests/CtlTests/Golden; `UPDATE_GOLDEN=1 swift test` rewrites them.
enum Golden {
    static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path
    }

    static func check(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = directory + "/" + name
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try actual.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = FileManager.default.contents(atPath: path) else {
            Issue.record("missing golden file \(name): run with UPDATE_GOLDEN=1", sourceLocation: sourceLocation)
            return
        }
        #expect(actual == String(decoding: expected, as: UTF8.self), "golden \(name) differs",
                sourceLocation: sourceLocation)
    }
}
