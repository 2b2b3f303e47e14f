/// A Calico label selector (`projectcalico.org/v3` `selector`, `nodeSelector`, `peerSelector`...).
///
/// Grammar (libcalico-go `lib/selector/parser`), loosest binding first:
/// ```
/// expr   := and ( "||" and )*
/// and    := unary ( "&&" unary )*
/// unary  := "!" unary | "(" expr ")" | "all()" | "global()" | "has(" key ")"
///         | key ("==" | "!=") literal | key ["not"] "in" "{" [literal ("," literal)*] "}"
///         | key ("contains" | "starts with" | "ends with") literal
/// literal:= '...' | "..."
/// ```
/// An empty selector matches everything, like `all()`.
public indirect enum Selector: Hashable, Sendable, CustomStringConvertible {
    case all
    /// `global()`: matches non-namespaced resources only; over a plain label map it matches.
    case global
    case has(String)
    case equal(String, String)
    case notEqual(String, String)
    case `in`(String, [String])
    case notIn(String, [String])
    case contains(String, String)
    case startsWith(String, String)
    case endsWith(String, String)
    case not(Selector)
    case and([Selector])
    case or([Selector])

    /// Parses `text`; the error carries the character offset of the problem.
    public init(_ text: String) throws(SelectorParseError) {
        var p = SelectorParser(text)
        self = try p.parseAll()
    }

    /// True when `labels` satisfy the selector. A missing label never equals anything, so
    /// `k != "v"` and `k not in {...}` match when `k` is absent (Calico semantics).
    public func matches(_ labels: [String: String]) -> Bool {
        switch self {
        case .all, .global: return true
        case .has(let k): return labels[k] != nil
        case .equal(let k, let v): return labels[k] == v
        case .notEqual(let k, let v): return labels[k] != v
        case .in(let k, let vs): return labels[k].map(vs.contains) ?? false
        case .notIn(let k, let vs): return !(labels[k].map(vs.contains) ?? false)
        case .contains(let k, let v): return labels[k]?.contains(v) ?? false
        case .startsWith(let k, let v): return labels[k]?.hasPrefix(v) ?? false
        case .endsWith(let k, let v): return labels[k]?.hasSuffix(v) ?? false
        case .not(let s): return !s.matches(labels)
        case .and(let ss): return ss.allSatisfy { $0.matches(labels) }
        case .or(let ss): return ss.contains { $0.matches(labels) }
        }
    }

    /// Canonical text: double-quoted literals, single spaces, parentheses only where
    /// precedence needs them. Parsing the canonical text gives back an equal selector.
    public var description: String { render(parentPrecedence: 0) }

    private var precedence: Int {
        switch self {
        case .or: 1
        case .and: 2
        default: 3
        }
    }

    private func render(parentPrecedence: Int) -> String {
        func lit(_ s: String) -> String {
            // Calico literals have no escapes: use whichever quote the text does not contain.
            s.contains("\"") ? "'\(s)'" : "\"\(s)\""
        }
        let text: String
        switch self {
        case .all: text = "all()"
        case .global: text = "global()"
        case .has(let k): text = "has(\(k))"
        case .equal(let k, let v): text = "\(k) == \(lit(v))"
        case .notEqual(let k, let v): text = "\(k) != \(lit(v))"
        case .in(let k, let vs): text = "\(k) in {\(vs.map(lit).joined(separator: ", "))}"
        case .notIn(let k, let vs): text = "\(k) not in {\(vs.map(lit).joined(separator: ", "))}"
        case .contains(let k, let v): text = "\(k) contains \(lit(v))"
        case .startsWith(let k, let v): text = "\(k) starts with \(lit(v))"
        case .endsWith(let k, let v): text = "\(k) ends with \(lit(v))"
        case .not(let s):
            if case .has(let k) = s { text = "!has(\(k))" } else { text = "!" + s.render(parentPrecedence: 3) }
        case .and(let ss): text = ss.map { $0.render(parentPrecedence: 2) }.joined(separator: " && ")
        case .or(let ss): text = ss.map { $0.render(parentPrecedence: 1) }.joined(separator: " || ")
        }
        return precedence < parentPrecedence || (parentPrecedence == 3 && precedence < 3) ? "(\(text))" : text
    }
}

/// A selector syntax error: the offset (0-based, in characters) and what was expected.
public struct SelectorParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var position: Int
    public var reason: String
    public var description: String { "\(reason) at position \(position)" }
}

extension Selector {
    /// Validates selector text for a field, returning a field error naming it.
    public static func check(_ text: String, at path: FieldPath) -> FieldError? {
        do { _ = try Selector(text); return nil } catch {
            return FieldError(path, "invalid selector \"\(text)\": \(error)")
        }
    }
}
