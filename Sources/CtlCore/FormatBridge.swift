import NodeModel
import ResourceFormat

/// Text in and out through ResourceFormat (YAML/JSON, multi-document).
enum FormatBridge {
    static func documents(_ text: String) throws(CtlError) -> [Value] {
        do { return try parseDocuments(text: text).filter { $0 != Value.null } } catch {
            throw CtlError(error.description)
        }
    }

    /// One document (a patch): JSON or YAML.
    static func parseSingle(_ text: String) throws(CtlError) -> Value {
        let docs = try documents(text)
        guard docs.count == 1 else { throw CtlError("expected one document, found \(docs.count)") }
        return docs[0]
    }

    static func yaml(_ value: Value) -> String { encode(value, format: .yaml) }
    static func json(_ value: Value) -> String { encode(value, format: .json) }
}

extension InputText {
    /// False when the text holds no documents (only comments, blank lines or `---`).
    public var hasDocuments: Bool {
        (try? FormatBridge.documents(text).isEmpty == false) ?? true
    }
}
