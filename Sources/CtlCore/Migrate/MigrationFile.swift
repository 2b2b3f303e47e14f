import Datastore
import NodeModel
import ResourceFormat

/// The file `twillctl datastore migrate export` writes and `import` reads (functional core: no
/// I/O here).
///
/// ```
/// # comment lines
/// ---
/// apiVersion: projectcalico.org/v3      ← every v3 resource, one YAML document each, in
/// kind: IPPool                             `kindOrder`, then datastore key order; no
/// ...                                      resourceVersion, uid or creationTimestamp
/// ===                                   ← a line of its own: the IPAM section follows
/// { "format": "twill-ipam/v1",          ← the IPAM records as stored (key + JSON value),
///   "ipamConfig": {...} | null,            one record per line, in key order
///   "blocks": [...], "blockAffinities": [...], "handles": [...] }
/// ```
///
/// The part before `===` is what `twillctl apply`/`create` accept. The IPAM records keep the
/// stored JSON value; a value whose stored bytes are not what compact re-encoding gives
/// (written by another tool) is carried as `valueText`, the stored text verbatim, so import
/// restores every record byte for byte.
public enum MigrationFile {
    public static let marker = "==="
    public static let format = "twill-ipam/v1"

    /// calicoctl's export order, cluster-wide configuration first; kinds not listed follow in
    /// `ResourceKind` order.
    public static let kindOrder: [ResourceKind] = [
        .ipPool, .bgpConfiguration, .bgpPeer, .bgpFilter, .node, .networkPolicy, .globalNetworkPolicy,
        .workloadEndpoint,
    ]

    /// IPAM record sections, in file (and write) order.
    public enum Section: String, CaseIterable, Sendable {
        case ipamConfig, blocks, blockAffinities, handles

        var what: String {
            switch self {
            case .ipamConfig: "IPAM configuration"
            case .blocks: "IPAM block"
            case .blockAffinities: "block affinity"
            case .handles: "IPAM handle"
            }
        }

        /// The section a stored key belongs to (nil: not an IPAM record key).
        static func of(_ parsed: ResourceKeys.Parsed) -> Section? {
            switch parsed {
            case .ipamConfig: .ipamConfig
            case .block: .blocks
            case .affinity: .blockAffinities
            case .handle: .handles
            case .resource: nil
            }
        }
    }

    /// One IPAM record: the key and the exact stored bytes.
    public struct Record: Hashable, Sendable {
        public var section: Section
        public var key: String
        public var value: [UInt8]
    }

    // MARK: Writing

    /// The stored data, classified. `resources` keep their datastore key for ordering.
    public struct Contents: Sendable {
        public var resources: [(key: String, resource: Resource)] = []
        public var records: [Record] = []
        public init() {}
    }

    /// Server-set metadata that a migration does not carry (calicoctl's export clears the same).
    static let serverMetadata = [
        "resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink",
        "deletionTimestamp", "deletionGracePeriodSeconds",
    ]

    /// The v3 document as exported: the resource without server-set metadata.
    public static func exportDocument(_ r: Resource) -> Value {
        var doc = r.toValue()
        if var meta = doc["metadata"] {
            for k in serverMetadata { meta[k] = nil }
            doc["metadata"] = meta
        }
        return doc
    }

    /// Resources sorted by `kindOrder`, then key.
    public static func sorted(_ resources: [(key: String, resource: Resource)]) -> [(key: String, resource: Resource)] {
        func rank(_ k: ResourceKind) -> Int {
            kindOrder.firstIndex(of: k) ?? kindOrder.count + (ResourceKind.allCases.firstIndex(of: k) ?? 0)
        }
        return resources.sorted {
            let (a, b) = (rank($0.resource.kind), rank($1.resource.kind))
            return a != b ? a < b : Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8))
        }
    }

    /// The whole export text (deterministic for the same stored data).
    public static func render(_ contents: Contents) -> String {
        let resources = sorted(contents.resources)
        var text = "# Twill datastore export: \(resources.count) projectcalico.org/v3 resource(s), then, after the\n"
        text += "# line \"\(marker)\", \(contents.records.count) IPAM record(s) as stored (\(format)).\n"
        text += "# Restore with: twillctl datastore migrate import -f FILE\n"
        for (_, r) in resources {
            text += "---\n" + YAMLWriter.document(exportDocument(r))
        }
        text += marker + "\n" + renderIPAM(contents.records)
        return text
    }

    static func renderIPAM(_ records: [Record]) -> String {
        let bySection = Dictionary(grouping: records, by: \.section)
        func sortedRecords(_ s: Section) -> [Record] {
            (bySection[s] ?? []).sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        }
        var text = "{\n  \"format\": \"\(format)\",\n"
        let config = sortedRecords(.ipamConfig)
        text += "  \"ipamConfig\": " + (config.first.map(recordJSON) ?? "null") + ",\n"
        let lists: [Section] = [.blocks, .blockAffinities, .handles]
        for (i, s) in lists.enumerated() {
            let items = sortedRecords(s)
            text += "  \"\(s.rawValue)\": ["
            text += items.isEmpty ? "]" : "\n" + items.map { "    " + recordJSON($0) }.joined(separator: ",\n") + "\n  ]"
            text += i == lists.count - 1 ? "\n" : ",\n"
        }
        return text + "}\n"
    }

    /// `{"key":…,"value":{…}}`, or `{"key":…,"valueText":"…"}` when re-encoding the parsed value
    /// would not give the stored bytes back.
    static func recordJSON(_ r: Record) -> String {
        var o = Value.object([])
        o["key"] = .string(r.key)
        if let v = try? Value(jsonBytes: r.value), v.jsonBytes() == r.value {
            o["value"] = v
        } else {
            o["valueText"] = .string(String(decoding: r.value, as: UTF8.self))
        }
        return o.json
    }

    // MARK: Reading

    /// The import file split into its two parts.
    public struct Parsed: Sendable {
        /// The v3 documents (YAML or JSON) before the marker.
        public var documents: [Value]
        /// The IPAM records that decoded and validated.
        public var records: [Record]
        /// What is wrong with the others (`IPAM section, blocks[2] (IPAMBlock 10.0.0.0/26): …`).
        public var ipamErrors: [String]
    }

    /// Splits and reads the file. Syntax errors throw; the IPAM records' problems are collected
    /// (all of them) for the caller to report with the v3 documents' (which ResourceClient validates).
    public static func parse(_ text: String, source: String) throws(CtlError) -> Parsed {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let markers = lines.indices.filter { lines[$0].trimmingSuffix() == marker }
        guard markers.count == 1, let m = markers.first else {
            throw CtlError(markers.isEmpty
                ? "\(source) is not a twillctl datastore export: no line \"\(marker)\" before the IPAM section (create the file with 'twillctl datastore migrate export')"
                : "\(source) has \(markers.count) lines \"\(marker)\" (lines \(markers.map { String($0 + 1) }.joined(separator: ", "))): an export has exactly one, before the IPAM section")
        }
        let ipamText = lines[(m + 1)...].joined(separator: "\n")
        lines.removeSubrange(m...)
        let yamlText = lines.joined(separator: "\n")
        let documents: [Value]
        do { documents = try FormatBridge.documents(yamlText) } catch {
            throw CtlError("failed to read the resources of \(source): \(error.message)")
        }
        let (records, errors) = try parseIPAM(ipamText, markerLine: m + 1, source: source)
        return Parsed(documents: documents, records: records, ipamErrors: errors)
    }

    /// Reads and validates the IPAM section: strict structure, every key an IPAM key of its
    /// section, every value decoding and validating as Calico's stored form, no key twice.
    static func parseIPAM(_ text: String, markerLine: Int, source: String) throws(CtlError) -> (records: [Record], errors: [String]) {
        let root: Value
        do { root = try Value(json: text) } catch {
            throw CtlError("failed to read the IPAM section of \(source) (after line \(markerLine)): \(error.reason) at line \(markerLine + error.line), column \(error.column)")
        }
        guard let fields = root.objectFields else {
            throw CtlError("IPAM section of \(source): expected a JSON object, got \(root.typeName)")
        }
        var errors: [String] = []
        func fail(_ what: String, _ reason: String) { errors.append("IPAM section, \(what): \(reason)") }
        let known = ["format"] + Section.allCases.map(\.rawValue)
        for f in fields where !known.contains(f.key) { fail(f.key, "unknown field \"\(f.key)\"") }
        if root["format"] != .string(format) {
            fail("format", "expected \"\(format)\", got \(root["format"].map { $0.stringValue.map { "\"\($0)\"" } ?? $0.typeName } ?? "nothing")")
        }
        var records: [Record] = []
        var seen: [String: String] = [:]
        for section in Section.allCases {
            var items: [(path: String, value: Value)] = []
            switch (section, root[section.rawValue]) {
            case (_, nil), (_, .null?): break
            case (.ipamConfig, let v?): items = [(section.rawValue, v)]
            case (_, .array(let a)?): items = a.enumerated().map { ("\(section.rawValue)[\($0.offset)]", $0.element) }
            case (_, let v?): fail(section.rawValue, "expected a list, got \(v.typeName)")
            }
            for (path, item) in items {
                do throws(RecordError) {
                    let r = try record(item, section: section)
                    if let first = seen[r.key] { throw RecordError(nil, "\(r.key) appears twice (also \(first))") }
                    seen[r.key] = path
                    records.append(r)
                } catch {
                    let ident = item["key"]?.stringValue.flatMap(identity) ?? section.what
                    fail("\(path) (\(ident))", error.field.map { "\($0): \(error.reason)" } ?? error.reason)
                }
            }
        }
        return (records, errors)
    }

    struct RecordError: Error {
        var field: String?
        var reason: String
        init(_ field: String?, _ reason: String) { self.field = field; self.reason = reason }
    }

    /// One record, checked: `key` is a key of `section`, `value` (or `valueText`) decodes as the
    /// record's stored form and validates.
    static func record(_ item: Value, section: Section) throws(RecordError) -> Record {
        guard let fields = item.objectFields else { throw RecordError(nil, "expected an object, got \(item.typeName)") }
        for f in fields where !["key", "value", "valueText"].contains(f.key) {
            throw RecordError(f.key, "unknown field \"\(f.key)\"")
        }
        guard let key = item["key"]?.stringValue, !key.isEmpty else { throw RecordError("key", "a datastore key (string) is required") }
        guard let parsed = ResourceKeys.parse(key), Section.of(parsed) == section else {
            throw RecordError("key", "\"\(key)\" is not the key of a \(section.what)")
        }
        let bytes: [UInt8]
        switch (item["value"], item["valueText"]) {
        case (let v?, nil): bytes = v.jsonBytes()
        case (nil, .string(let s)?): bytes = Array(s.utf8)
        case (nil, let v?): throw RecordError("valueText", "must be a string, got \(v.typeName)")
        case (nil, nil): throw RecordError("value", "required")
        case (_?, _?): throw RecordError("valueText", "give value or valueText, not both")
        }
        let resource: Resource
        do { resource = try ResourceStorage.decode(key: key, bytes: bytes) } catch {
            let e = error.errors.first
            throw RecordError(e.map { "value" + ($0.path.description.isEmpty ? "" : "." + $0.path.description) },
                              e?.reason ?? error.description)
        }
        // The record's identity is its key (parsed above): IPAM accepts any handle ID a CNI
        // runtime gives (upper case included), so the v3 naming rules do not apply. A stored
        // affinity may be marked deleted (Calico's two-step release); users may not set that,
        // but a migration carries it.
        let problems = resource.validate().filter {
            !$0.path.description.hasPrefix("metadata.")
                && !(resource.kind == .blockAffinity && $0.path.description == "spec.deleted")
        }
        if let p = problems.first {
            // The spec is the stored value.
            let path = p.path.description
            throw RecordError("value" + (path.isEmpty ? "" : "." + path.replacingOccurrences(of: "spec.", with: "")), p.reason)
        }
        if case .block(let prefix) = parsed, resource.as(IPAMBlock.self)?.spec.prefix != prefix {
            throw RecordError("value.cidr", "\"\(resource.as(IPAMBlock.self)?.spec.cidr ?? "")\" does not match the key's block \(prefix)")
        }
        return Record(section: section, key: key, value: bytes)
    }

    /// How an error names a record: `IPAMBlock 10.0.0.0/26`, `BlockAffinity node-1 10.0.0.0/26`.
    static func identity(_ key: String) -> String? {
        switch ResourceKeys.parse(key) {
        case .block(let p)?: "IPAMBlock \(p)"
        case .affinity(let node, let p, _)?: "BlockAffinity \(node) \(p)"
        case .handle(let id)?: "IPAMHandle \(id)"
        case .ipamConfig?: "IPAMConfiguration default"
        default: nil
        }
    }

    /// What a key holds, for "the destination already holds …" messages.
    static func describe(_ key: String) -> String {
        switch ResourceKeys.parse(key) {
        case .resource(let kind, _, _)?: kind.name
        case .block?: "IPAMBlock"
        case .affinity?: "BlockAffinity"
        case .handle?: "IPAMHandle"
        case .ipamConfig?: "IPAMConfiguration"
        case nil: "other"
        }
    }
}

extension Substring {
    func trimmingSuffix() -> Substring {
        var s = self
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s = s.dropLast() }
        return s
    }
}
