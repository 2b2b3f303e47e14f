/// A key prefix compared byte-wise on UTF-8, the way etcd and SQLite's BINARY collation compare keys.
///
/// `/a/bc` is not under `/a/b/`; it is under `/a/b` (a plain byte prefix, as in etcd's `--prefix`).
/// Callers who want directory semantics end the prefix with `/`.
struct KeyPrefix: Sendable, Hashable {
    let prefix: String
    let bytes: [UInt8]
    /// The smallest byte string greater than every key with this prefix (etcd's range_end),
    /// or nil when there is none (empty prefix, or all 0xFF bytes): the range is unbounded above.
    let end: [UInt8]?

    init(_ prefix: String) {
        self.prefix = prefix
        bytes = Array(prefix.utf8)
        var e = bytes
        while let last = e.last, last == 0xFF { e.removeLast() }
        if e.isEmpty {
            end = nil
        } else {
            e[e.count - 1] += 1
            end = e
        }
    }

    func contains(_ key: String) -> Bool { key.utf8.starts(with: bytes) }
}

/// Byte-wise key order (UTF-8), shared by every backend so listings agree.
func keyPrecedes(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
