import NodeModel
import Yams

/// A YAML or JSON syntax problem, with the document and position when known.
public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public var document: Int?
    public var line: Int?
    public var column: Int?
    public var reason: String
    public var description: String {
        var where_ = document.map { "document \($0 + 1)" } ?? "input"
        if let line { where_ += " line \(line)" + (column.map { " column \($0)" } ?? "") }
        return "\(where_): \(reason)"
    }
}

/// YAML text → `Value` documents, via Yams' composer (libyaml) and our own scalar typing.
public enum YAMLReader {
    /// Parses every `---`-separated document; an empty document yields `.null`.
    public static func documents(_ text: String) throws(SyntaxError) -> [Value] {
        var out: [Value] = []
        do {
            var seq = try Yams.compose_all(yaml: text, .basic)
            while let node = seq.next() {
                out.append(try convert(node, document: out.count))
            }
            if let e = seq.error { throw e }
        } catch let e as SyntaxError {
            throw e
        } catch let e as YamlError {
            throw syntax(e, document: out.count)
        } catch {
            throw SyntaxError(document: out.count, reason: "\(error)")
        }
        return out
    }

    static func syntax(_ e: YamlError, document: Int) -> SyntaxError {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return SyntaxError(document: document, line: mark.line, column: mark.column, reason: problem)
        case .composer(_, let problem, let mark, _):
            return SyntaxError(document: document, line: mark.line, column: mark.column, reason: problem)
        default:
            return SyntaxError(document: document, reason: "\(e)")
        }
    }

    static func convert(_ node: Yams.Node, document: Int) throws(SyntaxError) -> Value {
        switch node {
        case .scalar(let s): return scalar(s)
        case .sequence(let seq):
            var items: [Value] = []
            for n in seq { items.append(try convert(n, document: document)) }
            return .array(items)
        case .mapping(let map):
            var fields: [Value.Field] = []
            var merged: [Value.Field] = []
            var seen = Set<String>()
            for (k, v) in map {
                guard case .scalar(let ks) = k else {
                    throw SyntaxError(document: document, line: k.mark?.line, column: k.mark?.column, reason: "mapping keys must be scalars")
                }
                // `<<: *anchor` merge keys (YAML 1.1): fields not set explicitly come from the merged maps.
                if ks.string == "<<", ks.style == .plain {
                    let sources: [Value]
                    switch try convert(v, document: document) {
                    case .object(let f): sources = [.object(f)]
                    case .array(let a): sources = a
                    default: throw SyntaxError(document: document, line: ks.mark?.line, column: ks.mark?.column, reason: "merge key needs a mapping")
                    }
                    for case .object(let f) in sources { merged.append(contentsOf: f) }
                    continue
                }
                guard seen.insert(ks.string).inserted else {
                    throw SyntaxError(document: document, line: ks.mark?.line, column: ks.mark?.column, reason: "duplicate key \"\(ks.string)\"")
                }
                fields.append(Value.Field(ks.string, try convert(v, document: document)))
            }
            for f in merged where seen.insert(f.key).inserted { fields.append(f) }
            return .object(fields)
        case .alias(let a):
            throw SyntaxError(document: document, line: a.mark?.line, column: a.mark?.column, reason: "unresolved alias")
        }
    }

    static func scalar(_ s: Yams.Node.Scalar) -> Value {
        switch s.tag.rawValue {
        case "", "!", Tag.Name.str.rawValue:
            // Quoted and block scalars are strings; plain ones are typed by content.
            return s.style == .plain && s.tag.rawValue != "!" ? ScalarResolver.resolve(plain: s.string) : .string(s.string)
        case Tag.Name.int.rawValue: return ScalarResolver.integer(s.string).map(Value.int) ?? .string(s.string)
        case Tag.Name.float.rawValue: return (ScalarResolver.float(s.string) ?? Double(s.string)).map(Value.double) ?? .string(s.string)
        case Tag.Name.bool.rawValue: return ScalarResolver.resolve(plain: s.string)
        case Tag.Name.null.rawValue: return .null
        default: return .string(s.string)
        }
    }
}
