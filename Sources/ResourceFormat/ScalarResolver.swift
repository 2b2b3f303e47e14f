import NodeModel

/// Types plain (unquoted) YAML scalars the way Kubernetes tooling does (go-yaml v2, i.e.
/// YAML 1.1 booleans and null, decimal/hex/octal integers, floats), but deliberately without
/// YAML 1.1 sexagesimal integers (Yams' default resolver would turn a port range `80:59` into
/// 4859) and without timestamps (Calico wants them as strings). Quoted scalars are always
/// strings, so `asNumber: "64512"` stays a string and `cidr: 10.0.0.0/8` is a string anyway.
enum ScalarResolver {
    // go-yaml v2 also reads `y`/`n` as booleans; like go-yaml v3 we do not, since one-letter
    // names (`namespace: n`) are far more common in resources than one-letter booleans.
    static let trueWords: Set<String> = ["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"]
    static let falseWords: Set<String> = ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"]
    static let nullWords: Set<String> = ["", "~", "null", "Null", "NULL"]

    /// Cheap pre-check on bytes: only scalars starting like a number, or short enough to be a
    /// bool/null word, can resolve to a non-string.
    static func mayBeNonString(_ b: [UInt8]) -> Bool {
        guard let f = b.first else { return true }
        if (0x30...0x39).contains(f) || f == UInt8(ascii: "-") || f == UInt8(ascii: "+") || f == UInt8(ascii: ".") { return true }
        return b.count <= 5
    }

    static func resolve(plain s: String) -> Value {
        if nullWords.contains(s) { return .null }
        if trueWords.contains(s) { return .bool(true) }
        if falseWords.contains(s) { return .bool(false) }
        if let i = integer(s) { return .int(i) }
        if let d = float(s) { return .double(d) }
        return .string(s)
    }

    static func integer(_ s: String) -> Int64? {
        var t = Substring(s)
        var negative = false
        if t.first == "-" || t.first == "+" { negative = t.first == "-"; t = t.dropFirst() }
        guard !t.isEmpty else { return nil }
        let digits = t.filter { $0 != "_" }
        guard !digits.isEmpty, digits.first != "_" else { return nil }
        let magnitude: Int64?
        if digits.hasPrefix("0x") { magnitude = Int64(digits.dropFirst(2), radix: 16) }
        else if digits.hasPrefix("0o") { magnitude = Int64(digits.dropFirst(2), radix: 8) }
        else if digits.hasPrefix("0b") { magnitude = Int64(digits.dropFirst(2), radix: 2) }
        else if digits.count > 1, digits.first == "0" { magnitude = Int64(digits.dropFirst(), radix: 8) }
        else {
            guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            magnitude = Int64(digits)
        }
        guard let m = magnitude else { return nil }
        return negative ? -m : m
    }

    static func float(_ s: String) -> Double? {
        switch s {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? — must contain a digit, and `.`
        // or an exponent (plain integers were handled above).
        let chars = Array(s.filter { $0 != "_" })
        var i = 0
        if i < chars.count, chars[i] == "-" || chars[i] == "+" { i += 1 }
        var sawDigit = false, sawDotOrExp = false
        while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1; sawDigit = true }
        if i < chars.count, chars[i] == "." {
            sawDotOrExp = true; i += 1
            while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1; sawDigit = true }
        }
        guard sawDigit else { return nil }
        if i < chars.count, chars[i] == "e" || chars[i] == "E" {
            sawDotOrExp = true; i += 1
            if i < chars.count, chars[i] == "-" || chars[i] == "+" { i += 1 }
            let start = i
            while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1 }
            guard i > start else { return nil }
        }
        guard i == chars.count, sawDotOrExp else { return nil }
        return Double(String(chars))
    }
}
