import Foundation
import Testing

/// The pure core must not do I/O: STYLE.md §c. This test greps the sources so a stray
/// `import Foundation` in the codec or FSM fails the build's tests, not a code review.
@Suite struct PureTargetsTests {
    static let pure = ["NetCore", "NodeModel", "BGPWire", "BGPSession", "Dataplane", "Calc", "BGPRIB", "NodeAgentCore"]
    static let forbidden = ["Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Darwin"]

    @Test(arguments: pure)
    func pureTargetImportsNoIO(target: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("Sources/\(target)")
        let files = FileManager.default.enumerator(atPath: dir.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") } ?? []
        #expect(!files.isEmpty, "no sources found for \(target)")
        for f in files {
            let text = try String(contentsOfFile: dir.appendingPathComponent(f).path, encoding: .utf8)
            for line in text.split(separator: "\n") {
                let t = line.trimmingCharacters(in: .whitespaces)
                for m in Self.forbidden where t.range(of: "^(@[A-Za-z]+ )*import \(m)$", options: .regularExpression) != nil {
                    Issue.record("\(target)/\(f) imports \(m): pure targets must not")
                }
            }
        }
    }

    @Test func noShellingOutToIpOrNft() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: dir.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") } ?? []
        for f in files {
            let text = try String(contentsOfFile: dir.appendingPathComponent(f).path, encoding: .utf8)
            #expect(text.range(of: #""/(usr/)?s?bin/(ip|nft)""#, options: .regularExpression) == nil,
                    "\(f) shells out to ip/nft")
        }
    }
}
