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
            default:
                out += " " + inline(f.value) + "\n"
            }
        }
    }

    static func writeSequence(_ items: [Value], indent: Int, into out: inout String) {
        for item in items {
            switch item {
            case .object(let sub) where !sub.isEmpty:
                writeMapping(sub, indent: indent + 2, into: &out, firstLinePrefix: pad(indent) + "- ")
            case .array(let inner) where !inner.isEmpty:
                out += pad(indent) + "-\n"
                writeSequence(inner, indent: indent + 2, into: &out)
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
            d.isNaN ? ".nan" : d.isInfinite ? (d < 0 ? "-.inf" : ".inf") : doubleText(d)
        case .string(let s): scalarText(s)
        case .array: "[]"
        case .object: "{}"
        }
    }

    /// A double that reads back as a double (keeps a `.0` on integral values).
    static func doubleText(_ d: Double) -> String {
        let s = "\(d)"
        return s
    }

    /// The string as a plain scalar when that reads back as the same string, else double-quoted.
    static func scalarText(_ s: String) -> String {
        needsQuotes(s) ? quoted(s) : s
    }

    static func needsQuotes(_ s: String) -> Bool {
        if s.isEmpty { return true }
        if ScalarResolver.resolve(plain: s) != .string(s) { return true }
        guard let first = s.first, let last = s.last else { return true }
        if first == " " || last == " " { return true }
        if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
            // `-x` and `:x` style starts are fine only when followed by a non-space; keep it simple.
            if !((first == "-" || first == "?" || first == ":") && s.count > 1 && s.dropFirst().first != " ") { return true }
            if first == "-" && s.hasPrefix("---") { return true }
        }
        if s.contains(": ") || s.contains(" #") || last == ":" { return true }
        if s.contains(where: { $0 == "\n" || $0 == "\t" || $0 == "\r" || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7f } ?? false) }) { return true }
        if s.contains(where: { "{}[],".contains($0) }) { return true }
        // Strings that look like YAML 1.1 timestamps are quoted by go-yaml; do the same so
        // other YAML tools never read them as dates.
        if s.count >= 10, s.prefix(4).allSatisfy(\.isNumber), s.dropFirst(4).first == "-" { return true }
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
