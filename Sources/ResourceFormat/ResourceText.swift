import NodeModel

/// Text formats resources are read from and written in.
public enum ResourceFormat: String, Sendable, CaseIterable {
    case yaml
    case json

    /// JSON when the first non-blank character opens an object or array, else YAML.
    /// (A YAML flow mapping also starts with `{`, but is then valid JSON or rejected clearly.)
    public static func detect(_ text: String) -> ResourceFormat {
        for c in text.unicodeScalars {
            if c == " " || c == "\n" || c == "\t" || c == "\r" || c == "\u{FEFF}" { continue }
            return c == "{" || c == "[" ? .json : .yaml
        }
        return .yaml
    }
}

/// Why text could not be turned into resources.
public enum ResourceTextError: Error, Hashable, Sendable, CustomStringConvertible {
    case syntax(SyntaxError)
    case resource(ResourceError)

    public var description: String {
        switch self {
        case .syntax(let e): "syntax error: \(e)"
        case .resource(let e): e.description
        }
    }
}

/// Parses text into documents: YAML (one or many `---`-separated documents) or JSON (one value,
/// a stream of values, or a top-level array whose elements are documents).
public func parseDocuments(text: String, format: ResourceFormat? = nil) throws(ResourceTextError) -> [Value] {
    switch format ?? ResourceFormat.detect(text) {
    case .yaml:
        do { return try YAMLReader.documents(text) } catch { throw .syntax(error) }
    case .json:
        do { return try JSONStream.documents(text) } catch { throw .syntax(error) }
    }
}

/// Parses and decodes all resources in `text`, all or nothing: `kind: List` (and typed lists)
/// are flattened, and the first bad document fails the whole call with its index, kind/name
/// and field path. Defaults are NOT applied (call `withDefaults()`), nor validation.
public func decodeResources(text: String, format: ResourceFormat? = nil) throws(ResourceTextError) -> [Resource] {
    let docs = try parseDocuments(text: text, format: format)
    do { return try ResourceDocuments.decode(docs) } catch { throw .resource(error) }
}

/// Renders resources as calicoctl does: one resource as itself, several as a list
/// (`<Kind>List` when all share a kind, else `List`). YAML keys are sorted like calicoctl's
/// output; JSON keeps Calico's field order, pretty-printed.
/// `listKind` names the list's kind when `resources` is empty (`get ippools` with no pools
/// prints an empty `IPPoolList`).
public func encode(_ resources: [Resource], format: ResourceFormat, listKind: ResourceKind? = nil) -> String {
    let value = resources.count == 1 ? resources[0].toValue() : ResourceDocuments.listValue(resources, kind: listKind)
    return encode(value, format: format)
}

public func encode(_ resource: Resource, format: ResourceFormat) -> String { encode([resource], format: format) }

/// Renders any value (YAML ends with a newline; JSON too, for terminals).
public func encode(_ value: Value, format: ResourceFormat) -> String {
    switch format {
    case .yaml: YAMLWriter.document(value)
    case .json: value.prettyJSON(indent: 2) + "\n"
    }
}

enum JSONStream {
    /// Whitespace-separated JSON values; a top-level array contributes its elements.
    static func documents(_ text: String) throws(SyntaxError) -> [Value] {
        let bytes = Array(text.utf8)
        var out: [Value] = []
        var start = 0
        while true {
            while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) { start += 1 }
            if start >= bytes.count { break }
            let end = valueEnd(bytes, from: start)
            do {
                let v = try Value(jsonBytes: Array(bytes[start..<end]))
                if case .array(let items) = v { out.append(contentsOf: items) } else { out.append(v) }
            } catch {
                let line = bytes[0..<start].filter { $0 == 0x0A }.count + error.line
                throw SyntaxError(document: out.count, line: line, column: error.column, reason: error.reason)
            }
            start = end
        }
        return out
    }

    /// End of the JSON value starting at `from` (bracket matching outside strings); the parser
    /// then validates the slice.
    static func valueEnd(_ b: [UInt8], from: Int) -> Int {
        var depth = 0, i = from, inString = false
        while i < b.count {
            let c = b[i]
            if inString {
                if c == 0x5C { i += 2; continue }
                if c == 0x22 { inString = false }
            } else if c == 0x22 { inString = true }
            else if c == 0x7B || c == 0x5B { depth += 1 }
            else if c == 0x7D || c == 0x5D { depth -= 1; if depth == 0 { return i + 1 } }
            else if depth == 0, [0x20, 0x09, 0x0A, 0x0D].contains(c) { return i }
            i += 1
        }
        return b.count
    }
}
