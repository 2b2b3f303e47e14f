import NodeModel

/// JSON merge patch (RFC 7386): objects merge member by member, `null` removes a member,
/// anything else (arrays included) replaces the target wholesale.
public enum MergePatch {
    public static func apply(_ patch: Value, to target: Value) -> Value {
        guard case .object(let patchFields) = patch else { return patch }
        var result: Value = if case .object = target { target } else { .object([]) }
        for field in patchFields {
            if case .null = field.value {
                result[field.key] = nil
            } else {
                result[field.key] = apply(field.value, to: result[field.key] ?? .null)
            }
        }
        return result
    }
}
