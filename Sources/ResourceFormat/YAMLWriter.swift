import NodeModel

/// `Value` → YAML in the style `calicoctl get -o yaml` prints (go-yaml v2 via sigs.k8s.io/yaml):
/// two-space indentation, sequences flush with their parent key, `{}`/`[]` for empties, and
/// strings quoted only when a plain scalar would read back as something else.
public enum YAMLWriter {
    /// One document, ending with a newline. `sortKeys` (the default) orders every mapping's
    /// keys alphabetically, as calicoctl's output does.
    public static func document(_ v: Value, sortKeys: Bool = true) -> String {
        var out = ""
        let value = sortKeys ? v.sortedKeys : v
        switch value {
        case .object(let f) where !f.isEmpty: writeMapping(f, indent: 0, into: &out)
        case .array(let a) where !a.isEmpty: writeSequence(a, indent: 0, into: &out)
        default: out += inline(value) + "\n"
        }
        return out
    }

    /// Several documents separated by `---`.
    public static func documents(_ vs: [Value], sortKeys: Bool = true) -> String {
        vs.map { document($0, sortKeys: sortKeys) }.joined(separator: "---\n")
    }

    static func pad(_ n: Int) -> String { String(repeating: " ", count: n) }

    static func writeMapping(_ fields: [Value.Field], indent: Int, into out: inout String, firstLinePrefix: String? = nil) {
        for (i, f) in fields.enumerated() {
            out += (i == 0 && firstLinePrefix != nil) ? firstLinePrefix! : pad(indent)
            out += scalarText(f.key) + ":"
            switch f.value {
            case .object(let sub) where !sub.isEmpty:
                out += "\n"
                writeMapping(sub, indent: indent + 2, into: &out)
            case .array(let items) where !items.isEmpty:
                out += "\n"
                writeSequence(items, indent: indent, into: &out)
            case .string(let str) where blockLiteralFits(str):
                out += " " + blockLiteral(str, indent: indent + 2)
            default:
                out += " " + inline(f.value) + "\n"
            }
        }
    }

    /// Multi-line strings print as literal blocks (`|`, `|-`, `|+` by trailing newlines), as
    /// kubectl prints `last-applied-configuration`, when every line can be written verbatim.
    static func blockLiteralFits(_ s: String) -> Bool {
        guard s.contains("\n"), let first = s.first, first != " ", first != "\n" else { return false }
        return !s.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || $0.value == 0x7F }
            && !s.split(separator: "\n", omittingEmptySubsequences: false).contains { $0.hasSuffix(" ") }
    }

    static func blockLiteral(_ s: String, indent: Int) -> String {
        var body = Substring(s)
        var trailing = 0
        while body.last == "\n" { body = body.dropLast(); trailing += 1 }
        let header = trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+"
        var out = header + "\n"
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            out += line.isEmpty ? "\n" : pad(indent) + line + "\n"
        }
        if trailing > 1 { out += String(repeating: "\n", count: trailing - 1) }
        return out
    }

    static func writeSequence(_ items: [Value], indent: Int, into out: inout String) {
        for item in items {
            switch item {
            case .object(let sub) where !sub.isEmpty:
                writeMapping(sub, indent: indent + 2, into: &out, firstLinePrefix: pad(indent) + "- ")
            case .array(let inner) where !inner.isEmpty:
                out += pad(indent) + "-\n"
                writeSequence(inner, indent: indent + 2, into: &out)
            case .string(let str) where blockLiteralFits(str):
                out += pad(indent) + "- " + blockLiteral(str, indent: indent + 2)
            default:
                out += pad(indent) + "- " + inline(item) + "\n"
            }
        }
    }

    static func inline(_ v: Value) -> String {
        switch v {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .double(let d):
            d.isNaN ? ".nan" : d.isInfinite ? (d < 0 ? "-.inf" : ".inf") : "\(d)"
        case .string(let s): scalarText(s)
        case .array: "[]"
        case .object: "{}"
        }
    }

    /// The string as a plain scalar when that reads back as the same string, else double-quoted.
    static func scalarText(_ s: String) -> String {
        needsQuotes(s) ? quoted(s) : s
    }

    static let indicatorBytes: [UInt8] = Array("-?:,[]{}#&*!|>'\"%@`".utf8)

    /// Works on UTF-8 bytes: this runs for every scalar printed, and Character-level String
    /// operations (and Foundation's `contains`, which Yams pulls in) are far slower.
    static func needsQuotes(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, let last = b.last else { return true }
        // Would a plain scalar read back as something else (number, bool, null)?
        if ScalarResolver.mayBeNonString(b), ScalarResolver.resolve(plain: s) != .string(s) { return true }
        if first == 0x20 || last == 0x20 || last == UInt8(ascii: ":") { return true }
        if indicatorBytes.contains(first) {
            // `-x`, `?x`, `:x` are plain when followed by a non-space; `---` starts a document.
            let dashLike = first == UInt8(ascii: "-") || first == UInt8(ascii: "?") || first == UInt8(ascii: ":")
            if !dashLike || b.count == 1 || b[1] == 0x20 || s.hasPrefix("---") { return true }
        }
        var prev: UInt8 = 0
        for c in b {
            switch c {
            case 0..<0x20, 0x7F: return true
            case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","): return true
            case 0x20 where prev == UInt8(ascii: ":"): return true
            case UInt8(ascii: "#") where prev == 0x20: return true
            default: break
            }
            prev = c
        }
        // Strings that look like YAML 1.1 timestamps are quoted by go-yaml; do the same so
        // other YAML tools never read them as dates.
        if b.count >= 10, b[0..<4].allSatisfy({ (0x30...0x39).contains($0) }), b[4] == UInt8(ascii: "-") { return true }
        return false
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x7f:
                let h = String(u.value, radix: 16)
                out += "\\x" + (h.count == 1 ? "0" : "") + h
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
