/// Strict conversion between `Value` and model types. Decoding takes the field path so every
/// error names where it happened; encoding produces the exact JSON shape Calico writes.
public protocol ValueDecodable {
    init(from value: Value, at path: FieldPath) throws(FieldError)
}

public protocol ValueEncodable {
    func toValue() -> Value
}

public typealias ValueCodable = ValueDecodable & ValueEncodable

extension FieldError {
    static func type(_ path: FieldPath, expected: String, got: Value) -> FieldError {
        FieldError(path, "expected \(expected), got \(got.typeName)")
    }
}

extension String: ValueCodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        guard case .string(let s) = value else { throw .type(path, expected: "string", got: value) }
        self = s
    }
    public func toValue() -> Value { .string(self) }
}

extension Bool: ValueCodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        guard case .bool(let b) = value else { throw .type(path, expected: "boolean", got: value) }
        self = b
    }
    public func toValue() -> Value { .bool(self) }
}

extension Int: ValueCodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        switch value {
        case .int(let i): self = Int(i)
        // Go's encoding/json accepts 26.0 for an int field only if integral; so do we.
        case .double(let d) where d == d.rounded() && abs(d) < 9e15: self = Int(d)
        default: throw .type(path, expected: "integer", got: value)
        }
    }
    public func toValue() -> Value { .int(Int64(self)) }
}

extension UInt64: ValueCodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        let i = try Int(from: value, at: path)
        guard i >= 0 else { throw FieldError(path, "must not be negative") }
        self = UInt64(i)
    }
    public func toValue() -> Value { .int(Int64(truncatingIfNeeded: self)) }
}

extension Double: ValueCodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        switch value {
        case .int(let i): self = Double(i)
        case .double(let d): self = d
        default: throw .type(path, expected: "number", got: value)
        }
    }
    public func toValue() -> Value {
        self == rounded() && abs(self) < 9e15 ? .int(Int64(self)) : .double(self)
    }
}

extension Array: ValueDecodable where Element: ValueDecodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        switch value {
        case .null: self = []
        case .array(let items):
            var out: [Element] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() { out.append(try Element(from: item, at: path.index(i))) }
            self = out
        default: throw .type(path, expected: "list", got: value)
        }
    }
}

extension Array: ValueEncodable where Element: ValueEncodable {
    public func toValue() -> Value { .array(map { $0.toValue() }) }
}

extension Value: ValueCodable {
    public init(from value: Value, at path: FieldPath) throws(FieldError) { self = value }
    public func toValue() -> Value { self }
}

/// A string-to-string map (labels, annotations): ordered by key when encoded, so output is
/// stable whatever the input order.
public typealias StringMap = [String: String]

extension Dictionary: ValueDecodable where Key == String, Value: ValueDecodable {
    public init(from value: NodeModel.Value, at path: FieldPath) throws(FieldError) {
        switch value {
        case .null: self = [:]
        case .object(let fields):
            var out: [String: Value] = [:]
            for f in fields { out[f.key] = try Value(from: f.value, at: path.child(f.key)) }
            self = out
        default: throw .type(path, expected: "object", got: value)
        }
    }
}

extension Dictionary: ValueEncodable where Key == String, Value: ValueEncodable {
    public func toValue() -> NodeModel.Value {
        .object(keys.sorted().map { NodeModel.Value.Field($0, self[$0]!.toValue()) })
    }
}

/// Enums spelled as strings in Calico YAML decode with an error listing the allowed values.
public protocol StringEnum: ValueCodable, RawRepresentable, CaseIterable, Hashable, Sendable
where RawValue == String {}

extension StringEnum {
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        let s = try String(from: value, at: path)
        guard let v = Self(rawValue: s) else {
            throw FieldError(path, "invalid value \"\(s)\": must be one of " + Self.allCases.map { $0.rawValue }.joined(separator: ", "))
        }
        self = v
    }
    public func toValue() -> Value { .string(rawValue) }
}
