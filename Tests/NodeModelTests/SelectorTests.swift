import NodeModel
import Testing

@Suite struct SelectorTests {
    @Test(arguments: [
        ("", Selector.all),
        ("all()", .all),
        ("global()", .global),
        ("has(a)", .has("a")),
        ("!has(projectcalico.org/name)", .not(.has("projectcalico.org/name"))),
        ("a == 'x'", .equal("a", "x")),
        ("a==\"x\"", .equal("a", "x")),
        ("a != 'x'", .notEqual("a", "x")),
        ("a in {'x', \"y\"}", .in("a", ["x", "y"])),
        ("a not in {}", .notIn("a", [])),
        ("a contains 'x'", .contains("a", "x")),
        ("a starts with 'x'", .startsWith("a", "x")),
        ("a ends with 'x'", .endsWith("a", "x")),
        ("route-reflector == 'true'", .equal("route-reflector", "true")),
    ])
    func parses(text: String, expected: Selector) throws {
        #expect(try Selector(text) == expected)
    }

    @Test func andBindsTighterThanOr() throws {
        #expect(try Selector("a == 'x' || b == 'y' && c == 'z'")
            == .or([.equal("a", "x"), .and([.equal("b", "y"), .equal("c", "z")])]))
        #expect(try Selector("(a == 'x' || b == 'y') && c == 'z'")
            == .and([.or([.equal("a", "x"), .equal("b", "y")]), .equal("c", "z")]))
        #expect(try Selector("!a == 'x' && b == 'y'") == .and([.not(.equal("a", "x")), .equal("b", "y")]))
        #expect(try Selector("!(a == 'x' && b == 'y')") == .not(.and([.equal("a", "x"), .equal("b", "y")])))
    }

    @Test(arguments: [
        ("a ==", 4), ("== 'x'", 0), ("a == 'x", 5), ("has(a", 5), ("a in {'x'", 9), ("a == 'x' &&", 11),
        ("a = 'x'", 2), ("(a == 'x'", 9), ("a == 'x' b", 9), ("a not 'x'", 6),
    ])
    func errorsCarryPositions(text: String, position: Int) {
        do {
            _ = try Selector(text)
            Issue.record("\(text) should not parse")
        } catch {
            #expect(error.position == position, "\(text): \(error)")
        }
    }

    @Test func evaluation() throws {
        let labels = ["role": "db", "env": "prod", "rack": "r1-a"]
        let cases: [(String, Bool)] = [
            ("all()", true), ("", true), ("has(role)", true), ("has(zone)", false), ("!has(zone)", true),
            ("role == 'db'", true), ("role == 'web'", false), ("role != 'web'", true),
            ("zone != 'x'", true), ("zone == 'x'", false),
            ("env in {'prod', 'dev'}", true), ("env in {'dev'}", false), ("env not in {'dev'}", true),
            ("zone not in {'x'}", true), ("zone in {'x'}", false),
            ("role == 'db' && env == 'dev'", false), ("role == 'db' || env == 'dev'", true),
            ("!(role == 'db' && env == 'prod')", false),
            ("rack starts with 'r1'", true), ("rack ends with '-a'", true), ("rack contains '1-'", true),
        ]
        for (text, expected) in cases {
            #expect(try Selector(text).matches(labels) == expected, "\(text)")
        }
    }

    @Test func canonicalPrintingRoundTrips() throws {
        let texts = ["a=='x'", "!has(a)", "a in {'x','y'} && (b != \"z\" || has(c))", "!(a == 'x' || b == 'y')",
                     "a == 'x' || b == 'y' && c == 'z'", "k == \"it's\"", "((a=='1'))"]
        for t in texts {
            let s = try Selector(t)
            #expect(try Selector(s.description) == s, "\(t) → \(s)")
        }
        #expect(try Selector("a=='x'&&(b=='y'||c=='z')").description == "a == \"x\" && (b == \"y\" || c == \"z\")")
        #expect(try Selector("!has(a)").description == "!has(a)")
        #expect(try Selector("a in {'x','y'}").description == "a in {\"x\", \"y\"}")
    }
}
