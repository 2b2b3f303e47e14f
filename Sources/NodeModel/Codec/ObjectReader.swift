/// Reads an object's fields one by one and rejects, in `finish()`, any field nobody read:
/// that is how a typo such as `spec.cidrr` becomes an error naming its path instead of being
/// silently dropped (calicoctl's strict decoding does the same).
public struct ObjectReader {
    public let path: FieldPath
    private let fields: [Value.Field]
    private var used: Set<String> = []

    /// `null` reads as an empty object (YAML `spec:` with nothing under it).
    public init(_ value: Value, at path: FieldPath) throws(FieldError) {
        self.path = path
        switch value {
        case .null: fields = []
        case .object(let f): fields = f
        default: throw .type(path, expected: "object", got: value)
        }
    }

    /// The raw value of `key`, marking it used; nil when absent.
    public mutating func raw(_ key: String) -> Value? {
        used.insert(key)
        return fields.first(where: { $0.key == key })?.value
    }

    /// An optional field; explicit `null` counts as absent (as Go's decoder treats it).
    public mutating func optional<T: ValueDecodable>(_ key: String, as: T.Type = T.self) throws(FieldError) -> T? {
        guard let v = raw(key), v != .null else { return nil }
        return try T(from: v, at: path.child(key))
    }

    /// A field with a zero value when absent.
    public mutating func field<T: ValueDecodable>(_ key: String, default d: T) throws(FieldError) -> T {
        try optional(key) ?? d
    }

    public mutating func string(_ key: String) throws(FieldError) -> String { try field(key, default: "") }
    public mutating func bool(_ key: String) throws(FieldError) -> Bool { try field(key, default: false) }
    public mutating func int(_ key: String) throws(FieldError) -> Int { try field(key, default: 0) }
    public mutating func list<T: ValueDecodable>(_ key: String, of: T.Type = T.self) throws(FieldError) -> [T] {
        try field(key, default: [])
    }
    public mutating func map(_ key: String) throws(FieldError) -> StringMap { try field(key, default: [:]) }

    /// Fails on the first field that was present but never read.
    public func finish() throws(FieldError) {
        if let extra = fields.first(where: { !used.contains($0.key) }) {
            throw FieldError(path.child(extra.key), "unknown field \"\(extra.key)\"")
        }
    }
}

/// Builds an object in Calico's field order, leaving out empty optionals the way Go's
/// `omitempty` does, so that `get -o yaml` output re-applies cleanly.
public struct ObjectWriter {
    public private(set) var fields: [Value.Field] = []
    public init() {}

    /// Always written, even when empty (Go fields without `omitempty`).
    public mutating func always(_ key: String, _ v: some ValueEncodable) {
        fields.append(Value.Field(key, v.toValue()))
    }

    /// Written unless nil (Go pointer fields: `false`/`0` survive).
    public mutating func optional(_ key: String, _ v: (some ValueEncodable)?) {
        if let v { fields.append(Value.Field(key, v.toValue())) }
    }

    /// Written unless empty (Go value fields with `omitempty`).
    public mutating func omitEmpty(_ key: String, _ v: (some ValueEncodable)?) {
        guard let v else { return }
        let value = v.toValue()
        if !value.isEmpty { fields.append(Value.Field(key, value)) }
    }

    public var value: Value { .object(fields) }
}
