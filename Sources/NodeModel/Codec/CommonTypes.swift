import NetCore

/// `numorstring.ASNumber`: YAML may carry `64512` or `"64512"` or asdot `"1.10"`.
extension ASNumber: ValueCodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        switch value {
        case .int(let i):
            guard i >= 0, i <= Int64(UInt32.max) else { throw FieldError(path, "AS number \(i) out of range 0-4294967295") }
            self.init(UInt32(i))
        case .string(let s):
            guard let a = ASNumber(s) else { throw FieldError(path, "invalid AS number \"\(s)\": expected a number or asdot form \"a.b\"") }
            self = a
        case .double:
            // An unquoted `1.10` is a YAML float and has lost its text ("1.1"): refuse rather than guess.
            throw FieldError(path, "AS number in asdot form must be quoted (e.g. \"1.10\")")
        default: throw .type(path, expected: "AS number", got: value)
        }
    }
    public func toValue() -> Value { .int(Int64(value)) }
}

/// Go `metav1.Duration`: a string such as `120s` or `1m30s`.
extension CalicoDuration: ValueCodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        let s = try String(from: value, at: path)
        guard let d = CalicoDuration(s) else { throw FieldError(path, "invalid duration \"\(s)\": expected e.g. 90s, 1m30s, 500ms") }
        self = d
    }
    public func toValue() -> Value { .string(description) }
}

/// `numorstring.Port`: a number, a `"min:max"` range string or a named port.
extension Port: ValueCodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        switch value {
        case .int(let i):
            guard i >= 0, i <= 65535 else { throw FieldError(path, "port \(i) out of range 0-65535") }
            self = .number(UInt16(i))
        case .string(let s):
            guard let p = Port(s) else { throw FieldError(path, "invalid port \"\(s)\": expected a number, \"min:max\" or a port name") }
            self = p
        default: throw .type(path, expected: "port", got: value)
        }
    }
    public func toValue() -> Value {
        if case .number(let n) = self { return .int(Int64(n)) }
        return .string(description)
    }
}

/// `numorstring.Protocol`: a name (`TCP`, `UDP`, `ICMP`, `ICMPv6`, `SCTP`, `UDPLite`) or a number.
public enum IPProtocol: Hashable, Sendable, ValueCodable, CustomStringConvertible {
    case name(String)
    case number(UInt8)

    public static let names = ["TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite"]

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        switch value {
        case .int(let i):
            guard i >= 0, i <= 255 else { throw FieldError(path, "protocol number \(i) out of range 0-255") }
            self = .number(UInt8(i))
        case .string(let s):
            if let n = UInt8(s) { self = .number(n); return }
            guard let canon = IPProtocol.names.first(where: { $0.lowercased() == s.lowercased() }) else {
                throw FieldError(path, "invalid protocol \"\(s)\": must be a number or one of " + IPProtocol.names.joined(separator: ", "))
            }
            self = .name(canon)
        default: throw .type(path, expected: "protocol", got: value)
        }
    }

    public func toValue() -> Value {
        switch self { case .name(let n): .string(n); case .number(let n): .int(Int64(n)) }
    }

    public var description: String { switch self { case .name(let n): n; case .number(let n): "\(n)" } }

    /// IANA number of the protocol.
    public var number: UInt8 {
        switch self {
        case .number(let n): n
        case .name(let n):
            switch n { case "TCP": 6; case "UDP": 17; case "ICMP": 1; case "ICMPv6": 58; case "SCTP": 132; default: 136 }
        }
    }

    /// Ports are only meaningful for these (Calico's validator: "ports require TCP/UDP/SCTP").
    public var supportsPorts: Bool { [6, 17, 132].contains(number) }
}

/// Kubernetes `SecretKeySelector`, used by BGP passwords.
public struct SecretKeySelector: Hashable, Sendable, ValueCodable {
    public var name: String = ""
    public var key: String = ""
    public var optional: Bool? = nil
    public init(name: String = "", key: String = "") { self.name = name; self.key = key }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        name = try r.string("name"); key = try r.string("key"); optional = try r.optional("optional")
        try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter()
        w.omitEmpty("name", name); w.always("key", key); w.optional("optional", optional)
        return w.value
    }
}

/// `BGPPassword`: `{secretKeyRef: {name, key}}`.
public struct BGPPassword: Hashable, Sendable, ValueCodable {
    public var secretKeyRef: SecretKeySelector? = nil
    public init(secretKeyRef: SecretKeySelector? = nil) { self.secretKeyRef = secretKeyRef }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        secretKeyRef = try r.optional("secretKeyRef")
        try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter(); w.optional("secretKeyRef", secretKeyRef); return w.value
    }
}
