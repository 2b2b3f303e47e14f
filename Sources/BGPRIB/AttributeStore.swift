import BGPWire

/// One shared, immutable attribute set. Identity (`===`) means equal attributes when both came
/// from the same `AttributeStore`.
public final class InternedAttributes: Hashable, Sendable {
    public let value: PathAttributes
    init(_ value: PathAttributes) { self.value = value }
    public static func == (l: InternedAttributes, r: InternedAttributes) -> Bool { l === r || l.value == r.value }
    public func hash(into h: inout Hasher) { h.combine(value) }
}

/// Interns `PathAttributes`: one reference-counted object per distinct set. Entries no RIB
/// references any more are dropped by `purge()` (a value type; the owner serialises access).
public struct AttributeStore {
    private var table: [PathAttributes: InternedAttributes] = [:]
    public init() {}

    /// The shared object for `attrs` (created on first use).
    public mutating func intern(_ attrs: PathAttributes) -> InternedAttributes {
        if let hit = table[attrs] { return hit }
        let obj = InternedAttributes(attrs)
        table[attrs] = obj
        return obj
    }

    /// Distinct attribute sets currently held.
    public var count: Int { table.count }

    /// Drops the sets only this store still references; returns how many were dropped.
    @discardableResult
    public mutating func purge() -> Int {
        let before = table.count
        for key in Array(table.keys) {
            guard var obj = table.removeValue(forKey: key) else { continue }
            if !isKnownUniquelyReferenced(&obj) { table[key] = obj }
        }
        return before - table.count
    }
}

