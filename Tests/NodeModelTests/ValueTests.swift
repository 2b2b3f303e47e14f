import NodeModel
import Testing

@Suite struct ValueTests {
    @Test func jsonParsesAllTypes() throws {
        let v = try Value(json: #" {"a": null, "b": true, "c": -12, "d": 1.5e3, "e": "x\"\u00e9\ud83d\ude00\n", "f": [1, {}], "g": {}} "#)
        #expect(v == .object(["a": .null, "b": .bool(true), "c": .int(-12), "d": .double(1500), "e": .string("x\"é😀\n"),
                              "f": .array([.int(1), .object([])]), "g": .object([])]))
        #expect(try Value(json: v.json) == v)
        #expect(try Value(json: v.prettyJSON()) == v)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\":1,}", "01", "\"\\x\"", "tru", "{\"a\":1 \"b\":2}", "{\"a\":1,\"a\":2}", "1 2", "\"\u{01}\""])
    func jsonRejects(text: String) {
        #expect(throws: JSONParseError.self) { try Value(json: text) }
    }

    @Test func jsonErrorHasLineAndColumn() {
        do { _ = try Value(json: "{\n  \"a\": tru\n}"); Issue.record("should fail") } catch {
            #expect(error.line == 2 && error.column == 8)
        }
    }

    @Test func prettyJSONShape() {
        let v = Value.object(["kind": .string("IPPool"), "spec": .object(["blockSize": .int(26), "uses": .array([.string("Workload")])])])
        #expect(v.prettyJSON() == "{\n  \"kind\": \"IPPool\",\n  \"spec\": {\n    \"blockSize\": 26,\n    \"uses\": [\n      \"Workload\"\n    ]\n  }\n}")
    }

    @Test func mergePatch() {
        let target = Value.object(["a": .string("b"), "c": .object(["d": .string("e"), "f": .string("g")])])
        let patch = Value.object(["a": .string("z"), "c": .object(["f": .null]), "n": .int(1)])
        #expect(target.merging(patch: patch) == .object(["a": .string("z"), "c": .object(["d": .string("e")]), "n": .int(1)]))
        #expect(target.merging(patch: .array([])) == .array([]))
    }

    @Test func objectEqualityIgnoresKeyOrder() {
        let a = Value.object(["x": .int(1), "y": .array([.object(["p": .null, "q": .bool(true)])])])
        let b = Value.object(["y": .array([.object(["q": .bool(true), "p": .null])]), "x": .int(1)])
        #expect(a == b && a.hashValue == b.hashValue)
        #expect(a != .object(["x": .int(1)]))
        #expect(Value.array([.int(1), .int(2)]) != .array([.int(2), .int(1)]))
    }

    @Test func subscriptSetAndRemove() {
        var v = Value.object([:])
        v["x"] = .int(1); v["y"] = .int(2); v["x"] = .int(3); v["y"] = nil
        #expect(v == .object(["x": .int(3)]))
    }
}
