/// Kubernetes name rules (apimachinery `validation`), used for metadata and references.
public enum NameRules {
    /// DNS-1123 subdomain: ≤253 chars of `[a-z0-9.-]`, each dot-separated part starting and
    /// ending with an alphanumeric.
    public static func dnsSubdomainProblem(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 253 { return "must be no more than 253 characters" }
        for part in s.split(separator: ".", omittingEmptySubsequences: false) {
            if let p = labelPartProblem(part) { return "\"\(s)\" is not a valid DNS-1123 subdomain: \(p)" }
        }
        return nil
    }

    /// DNS-1123 label (namespaces): ≤63 chars of `[a-z0-9-]`, alphanumeric at both ends.
    public static func dnsLabelProblem(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 63 { return "must be no more than 63 characters" }
        if let p = labelPartProblem(Substring(s)) { return "\"\(s)\" is not a valid DNS-1123 label: \(p)" }
        return nil
    }

    static func labelPartProblem(_ part: Substring) -> String? {
        guard let f = part.first, let l = part.last else { return "empty segment" }
        func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLowercase || c.isNumber) }
        if !alnum(f) || !alnum(l) { return "must start and end with a lower-case letter or digit" }
        if !part.allSatisfy({ alnum($0) || $0 == "-" }) { return "only lower-case letters, digits, '-' and '.' are allowed" }
        return nil
    }

    /// A label key: optional DNS subdomain prefix and `/`, then a name of ≤63 chars of
    /// `[A-Za-z0-9_.-]` with alphanumerics at both ends.
    public static func labelKeyProblem(_ key: String) -> String? {
        var name = Substring(key)
        if let slash = key.firstIndex(of: "/") {
            let prefix = String(key[key.startIndex..<slash])
            if let p = dnsSubdomainProblem(prefix) { return "label key prefix: \(p)" }
            name = key[key.index(after: slash)...]
        }
        if name.isEmpty { return "label key \"\(key)\" has an empty name" }
        if let p = qualifiedPartProblem(name) { return "label key \"\(key)\": \(p)" }
        return nil
    }

    /// A label value: empty, or ≤63 chars of `[A-Za-z0-9_.-]` with alphanumerics at both ends.
    public static func labelValueProblem(_ v: String) -> String? {
        if v.isEmpty { return nil }
        if let p = qualifiedPartProblem(Substring(v)) { return "label value \"\(v)\": \(p)" }
        return nil
    }

    static func qualifiedPartProblem(_ s: Substring) -> String? {
        if s.utf8.count > 63 { return "must be no more than 63 characters" }
        func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        guard let f = s.first, let l = s.last, alnum(f), alnum(l) else { return "must start and end with a letter or digit" }
        if !s.allSatisfy({ alnum($0) || $0 == "-" || $0 == "_" || $0 == "." }) {
            return "only letters, digits, '-', '_' and '.' are allowed"
        }
        return nil
    }
}
