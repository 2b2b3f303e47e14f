import NetCore

/// How the node's own address is found, as calico-node's `IP_AUTODETECTION_METHOD` /
/// `IP6_AUTODETECTION_METHOD` spell it (Calico `node/pkg/lifecycle/startup/autodetection`).
public enum AutodetectMethod: Equatable, Sendable, CustomStringConvertible {
    /// `first-found`: the first global unicast address on the first interface not excluded by
    /// `Autodetect.defaultExclusions`.
    case firstFound
    /// `interface=REGEX[,REGEX…]`: the first address on an interface whose name matches one regex.
    case interface(regexes: [String])
    /// `skip-interface=REGEX[,REGEX…]`: like `first-found`, also skipping interfaces matching these.
    case skipInterface(regexes: [String])
    /// `can-reach=DEST`: the source address the kernel picks to reach DEST (an IP or a hostname).
    case canReach(String)
    /// `cidr=CIDR[,CIDR…]`: the first address inside one of these prefixes.
    case cidr([IPPrefix])

    /// Parses Calico's text form. Lists are split on commas with surrounding spaces ignored (as
    /// Calico's `\s*,\s*`); regexes are checked to compile; CIDRs may have host bits set (they are
    /// masked, as Go's `net.ParseCIDR` does). An empty text means `first-found`, as in Calico.
    public init(parsing text: String) throws(AutodetectError) {
        let t = Self.trim(Substring(text))
        if t.isEmpty || t == "first-found" { self = .firstFound; return }
        if t == "kubernetes-internal-ip" {
            throw AutodetectError(method: String(t), reason: "not supported: twill-node has no Kubernetes Node object to read; use can-reach=, interface= or cidr=")
        }
        guard let eq = t.firstIndex(of: "=") else {
            throw AutodetectError(method: String(t), reason: "unknown method; expected first-found, interface=REGEX, skip-interface=REGEX, can-reach=DEST or cidr=CIDR")
        }
        let name = String(t[..<eq])
        let value = t[t.index(after: eq)...]
        switch name {
        case "interface":
            self = .interface(regexes: try Self.regexList(value, method: String(t)))
        case "skip-interface":
            self = .skipInterface(regexes: try Self.regexList(value, method: String(t)))
        case "can-reach":
            let dest = Self.trim(value)
            guard !dest.isEmpty else { throw AutodetectError(method: String(t), reason: "a destination address or hostname is required") }
            guard !dest.contains(where: { $0 == " " || $0 == "," || $0 == "/" }) else {
                throw AutodetectError(method: String(t), reason: "\"\(dest)\" is not an IP address or hostname")
            }
            self = .canReach(String(dest))
        case "cidr":
            var prefixes: [IPPrefix] = []
            for item in Self.list(value) {
                switch IPPrefix.parse(item, strict: false) {
                case .success(let p): prefixes.append(p)
                case .failure(let e): throw AutodetectError(method: String(t), reason: "invalid CIDR: \(e)")
                }
            }
            guard !prefixes.isEmpty else { throw AutodetectError(method: String(t), reason: "at least one CIDR is required") }
            self = .cidr(prefixes)
        default:
            throw AutodetectError(method: String(t), reason: "unknown method \"\(name)\"; expected interface=, skip-interface=, can-reach= or cidr=")
        }
    }

    /// The Calico text form (parses back to the same value).
    public var description: String {
        switch self {
        case .firstFound: "first-found"
        case .interface(let r): "interface=" + r.joined(separator: ",")
        case .skipInterface(let r): "skip-interface=" + r.joined(separator: ",")
        case .canReach(let d): "can-reach=" + d
        case .cidr(let c): "cidr=" + c.map(\.description).joined(separator: ",")
        }
    }

    static func trim(_ s: Substring) -> Substring {
        var s = s
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }

    static func list(_ s: Substring) -> [String] {
        s.split(separator: ",", omittingEmptySubsequences: false).map { String(trim($0)) }.filter { !$0.isEmpty }
    }

    private static func regexList(_ value: Substring, method: String) throws(AutodetectError) -> [String] {
        let items = list(value)
        guard !items.isEmpty else { throw AutodetectError(method: method, reason: "at least one interface regex is required") }
        for r in items {
            do { _ = try Regex(r) } catch {
                throw AutodetectError(method: method, reason: "invalid interface regex \"\(r)\": \(error)")
            }
        }
        return items
    }
}

/// Autodetection failed: which method (Calico text form) and why.
public struct AutodetectError: Error, Equatable, Sendable, CustomStringConvertible {
    public var method: String
    public var reason: String
    public init(method: String, reason: String) { self.method = method; self.reason = reason }
    public var description: String { "IP autodetection method \"\(method)\": \(reason)" }
}
