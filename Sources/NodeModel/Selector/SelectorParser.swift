/// Recursive-descent parser for `Selector` (grammar documented there).
struct SelectorParser {
    let chars: [Character]
    var pos = 0

    init(_ text: String) { chars = Array(text) }

    func error(_ reason: String) -> SelectorParseError { SelectorParseError(position: pos, reason: reason) }

    mutating func skipSpace() { while pos < chars.count, chars[pos].isWhitespace { pos += 1 } }

    /// Consumes `word` if it is next (after spaces). Alphabetic words must end at a word boundary.
    mutating func eat(_ word: String) -> Bool {
        skipSpace()
        let w = Array(word)
        guard pos + w.count <= chars.count, Array(chars[pos..<pos + w.count]) == w else { return false }
        if let last = w.last, last.isLetter, pos + w.count < chars.count, SelectorParser.isKeyChar(chars[pos + w.count]) {
            return false
        }
        pos += w.count
        return true
    }

    mutating func parseAll() throws(SelectorParseError) -> Selector {
        skipSpace()
        if pos == chars.count { return .all }
        let s = try parseOr()
        skipSpace()
        if pos < chars.count { throw error("unexpected \"\(chars[pos])\"") }
        return s
    }

    mutating func parseOr() throws(SelectorParseError) -> Selector {
        // Nested groups of the same operator are flattened ((a || b) || c == a || b || c), so
        // the canonical text parses back to an equal value.
        var terms: [Selector] = []
        repeat {
            let t = try parseAnd()
            if case .or(let inner) = t { terms.append(contentsOf: inner) } else { terms.append(t) }
        } while eat("||")
        return terms.count == 1 ? terms[0] : .or(terms)
    }

    mutating func parseAnd() throws(SelectorParseError) -> Selector {
        var terms: [Selector] = []
        repeat {
            let t = try parseUnary()
            if case .and(let inner) = t { terms.append(contentsOf: inner) } else { terms.append(t) }
        } while eat("&&")
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    static func isKeyChar(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "." || c == "/" || c == "-")
    }

    mutating func parseKey() throws(SelectorParseError) -> String {
        skipSpace()
        let start = pos
        while pos < chars.count, SelectorParser.isKeyChar(chars[pos]) { pos += 1 }
        guard pos > start else { throw error(pos < chars.count ? "expected a label key, found \"\(chars[pos])\"" : "expected a label key") }
        let key = String(chars[start..<pos])
        guard key.first!.isLetter || key.first!.isNumber else { pos = start; throw error("label key must start with a letter or digit") }
        return key
    }

    mutating func parseLiteral() throws(SelectorParseError) -> String {
        skipSpace()
        guard pos < chars.count, chars[pos] == "\"" || chars[pos] == "'" else { throw error("expected a quoted string") }
        let quote = chars[pos]
        pos += 1
        let start = pos
        while pos < chars.count, chars[pos] != quote { pos += 1 }
        guard pos < chars.count else { pos = start - 1; throw error("unterminated string") }
        let s = String(chars[start..<pos])
        pos += 1
        return s
    }

    mutating func parseUnary() throws(SelectorParseError) -> Selector {
        skipSpace()
        guard pos < chars.count else { throw error("unexpected end of selector") }
        if chars[pos] == "!" && !(pos + 1 < chars.count && chars[pos + 1] == "=") {
            pos += 1
            return .not(try parseUnary())
        }
        if chars[pos] == "(" {
            pos += 1
            let inner = try parseOr()
            guard eat(")") else { throw error("expected \")\"") }
            return inner
        }
        if eat("all()") { return .all }
        if eat("global()") { return .global }
        let save = pos
        if eat("has") {
            skipSpace()
            if pos < chars.count, chars[pos] == "(" {
                pos += 1
                let key = try parseKey()
                guard eat(")") else { throw error("expected \")\" after has(\(key)") }
                return .has(key)
            }
            pos = save
        }
        let key = try parseKey()
        if eat("==") { return .equal(key, try parseLiteral()) }
        if eat("!=") { return .notEqual(key, try parseLiteral()) }
        if eat("contains") { return .contains(key, try parseLiteral()) }
        if eat("starts") {
            guard eat("with") else { throw error("expected \"with\"") }
            return .startsWith(key, try parseLiteral())
        }
        if eat("ends") {
            guard eat("with") else { throw error("expected \"with\"") }
            return .endsWith(key, try parseLiteral())
        }
        if eat("not") {
            guard eat("in") else { throw error("expected \"in\" after \"not\"") }
            return .notIn(key, try parseSet())
        }
        if eat("in") { return .in(key, try parseSet()) }
        throw error("expected an operator (==, !=, in, not in, contains, starts with, ends with) after \"\(key)\"")
    }

    mutating func parseSet() throws(SelectorParseError) -> [String] {
        guard eat("{") else { throw error("expected \"{\"") }
        var out: [String] = []
        if eat("}") { return out }
        repeat { out.append(try parseLiteral()) } while eat(",")
        guard eat("}") else { throw error("expected \",\" or \"}\"") }
        return out
    }
}
