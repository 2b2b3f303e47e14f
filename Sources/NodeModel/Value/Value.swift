/// A JSON-like document tree that both YAML and JSON map onto.
///
/// Objects keep their keys in order: encoding writes Calico's field order, and decoding
/// reports the first offending field in the order the user wrote them. Integers and doubles are
/// distinct cases because YAML/JSON text distinguishes `26` from `26.0`, and Calico fields such as
/// `blockSize` must reject fractional values.
public enum Value: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([Value])
    case object([Field])

    /// One key/value pair of an object.
    public struct Field: Hashable, Sendable {
        public var key: String
        public var value: Value
        public init(_ key: String, _ value: Value) { self.key = key; self.value = value }
    }

    /// Builds an object from ordered pairs (later duplicates replace earlier ones in place).
    public static func object(_ pairs: KeyValuePairs<String, Value>) -> Value {
        var o = Value.object([])
        for (k, v) in pairs { o[k] = v }
        return o
    }

    /// Object member access; `nil` when absent or not an object. Setting `nil` removes the key.
    public subscript(key: String) -> Value? {
        get {
            guard case .object(let fields) = self else { return nil }
            return fields.first(where: { $0.key == key })?.value
        }
        set {
            guard case .object(var fields) = self else { return }
            if let i = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[i].value = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                fields.append(Field(key, newValue))
            }
            self = .object(fields)
        }
    }

    /// Objects compare as JSON objects do: the same keys with equal values, in any order (a
    /// YAML round trip sorts keys; opaque fields such as `status` must still compare equal).
    public static func == (l: Value, r: Value) -> Bool {
        switch (l, r) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            if a == b { return true }
            return a.sorted { $0.key < $1.key } == b.sorted { $0.key < $1.key }
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0)
        case .bool(let b): h.combine(1); h.combine(b)
        case .int(let i): h.combine(2); h.combine(i)
        case .double(let d): h.combine(3); h.combine(d)
        case .string(let s): h.combine(4); h.combine(s)
        case .array(let a): h.combine(5); h.combine(a)
        case .object(let o): h.combine(6); h.combine(o.sorted { $0.key < $1.key })
        }
    }

    /// The name of this value's type as error messages print it.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "list"
        case .object: "object"
        }
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var objectFields: [Field]? { if case .object(let f) = self { f } else { nil } }
    public var arrayValue: [Value]? { if case .array(let a) = self { a } else { nil } }

    /// Go's `omitempty` notion of emptiness: null, false, 0, "", empty list or object.
    public var isEmpty: Bool {
        switch self {
        case .null: true
        case .bool(let b): !b
        case .int(let i): i == 0
        case .double(let d): d == 0
        case .string(let s): s.isEmpty
        case .array(let a): a.isEmpty
        case .object(let o): o.isEmpty
        }
    }

    /// A copy with every object's keys sorted (recursively): the order `sigs.k8s.io/yaml`, and
    /// therefore `calicoctl get -o yaml`, prints.
    public var sortedKeys: Value {
        switch self {
        case .array(let a): .array(a.map(\.sortedKeys))
        case .object(let o): .object(o.map { Field($0.key, $0.value.sortedKeys) }.sorted { $0.key < $1.key })
        default: self
        }
    }
}
