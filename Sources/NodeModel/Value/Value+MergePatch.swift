/// JSON Merge Patch (RFC 7386) over `Value`, for `patch -t merge` style updates: objects merge
/// recursively, `null` deletes a key, anything else replaces. Key order of the target is kept;
/// new keys are appended in patch order.
extension Value {
    public func merging(patch: Value) -> Value {
        guard case .object(let patchFields) = patch else { return patch }
        var result: Value = if case .object = self { self } else { .object([]) }
        for f in patchFields {
            if f.value == .null {
                result[f.key] = nil
            } else {
                result[f.key] = (result[f.key] ?? .null).merging(patch: f.value)
            }
        }
        return result
    }
}
