import NetCore
import Yams

/// A YAML mapping being read field by field, remembering which keys exist so `only(_:)` can
/// reject unknown ones with their path.
struct Fields {
    let path: String
    let entries: [(String, Node)]

    init(_ node: Node, path: String) throws(ConfigError) {
        guard case .mapping(let m) = node else { throw ConfigError(path.isEmpty ? "(top level)" : path, "must be a mapping") }
        var out: [(String, Node)] = []
        for (k, v) in m {
            guard let key = k.string else { throw ConfigError(path, "keys must be strings") }
            if out.contains(where: { $0.0 == key }) { throw ConfigError(join(path, key), "appears twice") }
            out.append((key, v))
        }
        self.path = path
        entries = out
    }

    subscript(key: String) -> Node? {
        guard let v = entries.first(where: { $0.0 == key })?.1 else { return nil }
        if v.null != nil { return nil }
        return v
    }

    func only(_ allowed: [String]) throws(ConfigError) {
        for (k, _) in entries where !allowed.contains(k) {
            throw ConfigError(join(path, k), "unknown field (allowed: \(allowed.joined(separator: ", ")))")
        }
    }

    func required<T>(_ key: String, _ parse: (Node, String) throws(ConfigError) -> T) throws(ConfigError) -> T {
        guard let v = self[key] else { throw ConfigError(join(path, key), "is required") }
        return try parse(v, join(path, key))
    }

    func optional<T>(_ key: String, _ parse: (Node, String) throws(ConfigError) -> T) throws(ConfigError) -> T? {
        guard let v = self[key] else { return nil }
        return try parse(v, join(path, key))
    }

    // MARK: scalar readers

    static func string(_ n: Node, _ p: String) throws(ConfigError) -> String {
        guard case .scalar(let s) = n else { throw ConfigError(p, "must be a scalar") }
        return s.string
    }

    static func bool(_ n: Node, _ p: String) throws(ConfigError) -> Bool {
        guard case .scalar = n, let b = n.bool else { throw ConfigError(p, "must be true or false") }
        return b
    }

    static func ip(_ n: Node, _ p: String) throws(ConfigError) -> IPAddress {
        let s = try string(n, p)
        guard let a = IPAddress(s) else { throw ConfigError(p, "\"\(s)\" is not an IP address") }
        return a
    }

    static func port(_ n: Node, _ p: String) throws(ConfigError) -> UInt16 {
        guard case .scalar = n, let v = n.int, (1...65535).contains(v) else { throw ConfigError(p, "must be a port 1-65535") }
        return UInt16(v)
    }

    static func asn(_ n: Node, _ p: String) throws(ConfigError) -> ASNumber {
        let s = try string(n, p)
        guard let a = ASNumber(s), a.value != 0 else { throw ConfigError(p, "\"\(s)\" is not an AS number (plain 1-4294967295 or asdot X.Y)") }
        return a
    }

    /// Calico durations: `90s`, `1m30s`; a bare integer means seconds.
    static func duration(_ n: Node, _ p: String) throws(ConfigError) -> CalicoDuration {
        if let i = n.int, i >= 0 { return CalicoDuration(seconds: Int64(i)) }
        let s = try string(n, p)
        guard let d = CalicoDuration(s) else { throw ConfigError(p, "\"\(s)\" is not a duration (like 90s or 1m30s)") }
        return d
    }

    static func sequence(_ n: Node, _ p: String) throws(ConfigError) -> [Node] {
        guard case .sequence(let s) = n else { throw ConfigError(p, "must be a list") }
        return Array(s)
    }
}

func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
