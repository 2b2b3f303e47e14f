import NodeModel
import ResourceFormat
import Testing
import TestSupport

/// Deterministic pseudo-random round trips: any string must survive YAML and JSON printing and
/// re-parsing unchanged (this is what catches a missing quoting rule).
@Suite struct RoundTripFuzzTests {

    static let alphabet: [Character] = Array("a1:- #'\"{}[],\né./!*&?|>%@`\t0xe+~_=<()yYnN\\") + ["\u{1}", "😀"]

    static func randomString(_ rng: inout SeededRandom) -> String {
        let n = Int(rng.next() % 9)
        return String((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }

    static func randomValue(_ rng: inout SeededRandom, depth: Int) -> Value {
        switch rng.next() % (depth > 2 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2: return .int(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 63))
        case 3: return .double(Double(Int64(rng.next() % 100_000) - 50_000) / 64)
        case 4: return .string(randomString(&rng))
        case 5: return .array((0..<Int(rng.next() % 4)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var fields: [Value.Field] = []
            for _ in 0..<Int(rng.next() % 4) {
                let k = randomString(&rng)
                if !fields.contains(where: { $0.key == k }) { fields.append(.init(k, randomValue(&rng, depth: depth + 1))) }
            }
            return .object(fields)
        }
    }

    @Test func randomStringsSurviveYAML() throws {
        var rng = SeededRandom(seed: 1)
        for _ in 0..<3000 {
            let s = Self.randomString(&rng)
            let doc = Value.object(["k": .string(s), "l": .array([.string(s)]), s.isEmpty ? "e" : s: .int(1)])
            let text = YAMLWriter.document(doc, sortKeys: false)
            let back = try parseDocuments(text: text, format: .yaml)
            #expect(back == [doc], "\(s.debugDescription) printed as:\n\(text)")
            if back != [doc] { return }
        }
    }

    @Test func randomValuesSurviveJSONAndYAML() throws {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<500 {
            let v = Value.object(["root": Self.randomValue(&rng, depth: 0)])
            #expect(try Value(json: v.json) == v)
            #expect(try Value(json: v.prettyJSON()) == v)
            let yaml = YAMLWriter.document(v)
            let back = try parseDocuments(text: yaml, format: .yaml)
            #expect(back == [v], "YAML:\n\(yaml)")
            if back != [v] { return }
        }
    }
}
