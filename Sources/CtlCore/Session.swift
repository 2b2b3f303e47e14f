import Datastore
import Foundation
import NodeModel
import ResourceClient

/// One twillctl invocation's work: resolves kinds, runs the ResourceClient, and renders the
/// messages calicoctl prints. Every method returns the stdout text or throws a `CtlError`
/// whose message names the document, the field and the reason.
public final class Session {
    public static let defaultDatastoreURL = DatastoreURL.defaultURL
    public static let version = "0.1.0"
    public static var versionText: String { "Client Version:    v\(version)\nAPI Version:       \(ResourceKind.apiVersion)\n" }

    public let client: ResourceClient
    public let logLevel: LogLevel

    public init(client: ResourceClient, logLevel: LogLevel = .panic) {
        self.client = client
        self.logLevel = logLevel
    }

    /// Opens the datastore named by `datastoreURL`, else `$TWILL_DATASTORE`, else the default.
    public convenience init(datastoreURL: String?, logLevel: LogLevel = .panic) throws(CtlError) {
        let url = DatastoreURL.resolve(datastoreURL.flatMap { $0.isEmpty ? nil : $0 })
        if logLevel >= .info { Console.err("info: datastore \(url)\n") }
        let store: any Datastore
        do { store = try openDatastore(url: url) } catch {
            throw CtlError("cannot open datastore \(url): \(error)")
        }
        self.init(client: ResourceClient(datastore: store), logLevel: logLevel)
    }

    /// A session on a throw-away in-memory store (validation without a reachable datastore).
    public static func offline() -> Session {
        Session(client: ResourceClient(datastore: MemoryDatastore()))
    }

    // MARK: File commands

    public func create(_ input: InputText, skipExists: Bool) throws(CtlError) -> String {
        let docs = try parse(input)
        let r = try run("create", docs) { () throws(ClientError) in try client.create(docs, skipExisting: skipExists) }
        let skipped = r.count(.skipped)
        let note = skipped > 0 ? " (\(skipped) already existed and were skipped)" : ""
        return success("created", r.count(.created), kinds(r)) + note + "\n"
    }

    public func apply(_ input: InputText) throws(CtlError) -> String {
        let docs = try parse(input)
        let r = try run("apply", docs) { () throws(ClientError) in try client.apply(docs) }
        return success("applied", r.items.count, kinds(r)) + "\n"
    }

    public func replace(_ input: InputText) throws(CtlError) -> String {
        let docs = try parse(input)
        let r = try run("replace", docs) { () throws(ClientError) in try client.replace(docs) }
        return success("replaced", r.items.count, kinds(r)) + "\n"
    }

    public func delete(_ input: InputText, skipNotExists: Bool) throws(CtlError) -> String {
        let docs = try parse(input)
        let r = try run("delete", docs) { () throws(ClientError) in
            try client.submit(.delete(skipMissing: skipNotExists), documents: docs)
        }
        return deleted(r)
    }

    public func delete(kind: String, names: [String], namespace: String? = nil,
                       skipNotExists: Bool) throws(CtlError) -> String {
        let k = try resolve(kind)
        let ids = names.map { ResourceID(kind: k, name: $0, namespace: Self.namespace(k, namespace)) }
        let r: BatchResult
        do { r = try client.delete(ids, skipMissing: skipNotExists) } catch {
            throw failure("delete", count: ids.count, kinds: [k.name], error)
        }
        return deleted(r)
    }

    /// Validates without writing: decoding, defaults, validation, and the checks against the
    /// stored state that apply would make (pool overlap, immutable fields).
    public func validate(_ input: InputText) throws(CtlError) -> String {
        let docs = try parse(input)
        let resources: [Resource]
        do { resources = try client.validate(docs) } catch {
            throw failure("validate", count: docs.count, kinds: docKinds(docs), error)
        }
        return success("validated", resources.count, Set(resources.map(\.kind.name))) + "\n"
    }

    // MARK: get

    /// `get KIND [NAME…]`. Namespaced kinds: `namespace` (default "default"); a listing with
    /// `allNamespaces` covers every namespace.
    public func get(kind: String, names: [String], namespace: String? = nil, allNamespaces: Bool = false,
                    output: OutputFormat) throws(CtlError) -> String {
        let k = try resolve(kind)
        do {
            if names.isEmpty {
                let ns = allNamespaces ? "" : Self.namespace(k, namespace)
                let (resources, revision) = try client.listAll(kind: k, namespace: ns)
                return try render(resources, listKind: k, listRevision: revision, output: output)
            }
            return try render(try client.list(kind: k, names: names, namespace: Self.namespace(k, namespace)),
                              listKind: nil, output: output)
        } catch let error as CtlError {
            throw error
        } catch let error as ClientError {
            throw CtlError(getMessage(error))
        } catch {
            throw CtlError("\(error)")
        }
    }

    /// `get -f FILE`: the resources the file names (lists expanded), in file order.
    public func get(_ input: InputText, output: OutputFormat) throws(CtlError) -> String {
        let flat: [(ref: DocumentRef, value: Value, listKind: ResourceKind?)]
        do { flat = try ResourceDocuments.flatten(try parse(input)) } catch {
            throw CtlError("failed to read \(input.source): \(error)")
        }
        var resources: [StoredResource] = []
        for (i, item) in flat.enumerated() {
            let d = item.value
            guard let k = d["kind"]?.stringValue.flatMap(ResourceKind.init(kindName:)) ?? item.listKind else {
                throw CtlError("document \(i + 1): kind: missing or unknown kind")
            }
            guard let name = d["metadata"]?["name"]?.stringValue, !name.isEmpty else {
                throw CtlError("document \(i + 1), \(k): metadata.name: a name is required")
            }
            let ns = Self.namespace(k, d["metadata"]?["namespace"]?.stringValue)
            do { resources.append(try client.get(ResourceID(kind: k, name: name, namespace: ns))) } catch {
                throw CtlError(getMessage(error))
            }
        }
        return try render(resources, listKind: nil, output: output)
    }

    // MARK: label, patch

    public func label(kind: String, name: String, namespace: String? = nil, label: String, overwrite: Bool,
                      remove: Bool) throws(CtlError) -> String {
        let k = try resolve(kind)
        let id = ResourceID(kind: k, name: name, namespace: Self.namespace(k, namespace))
        let key: String, value: String
        if remove {
            key = label.split(separator: "=", maxSplits: 1).first.map(String.init) ?? label
            value = ""
        } else {
            let parts = label.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw CtlError("invalid label '\(label)': use key=value (or key with --remove)")
            }
            key = String(parts[0]); value = String(parts[1])
        }
        var overwritten = false
        do {
            try client.update(id) { (doc: inout Value) throws(ClientError) in
                var meta = doc["metadata"] ?? .object([])
                var labels = meta["labels"] ?? .object([])
                if case .null = labels { labels = .object([]) }
                let old = labels[key]?.stringValue
                if remove {
                    guard old != nil else { throw .rejected("cannot remove label of \(k.name) \(name), key \(key) does not exist") }
                    labels[key] = nil
                } else {
                    if let old {
                        guard overwrite || old == value else {
                            throw .rejected("failed to update label of \(k.name) \(name), key \(key) is already present; use --overwrite to set a new value")
                        }
                        overwritten = true
                    }
                    labels[key] = .string(value)
                }
                meta["labels"] = labels
                doc["metadata"] = meta
            }
        } catch {
            throw CtlError(getMessage(error))
        }
        if remove { return "Successfully removed label \(key) from \(k.name) \(name)\n" }
        if overwritten { return "Successfully updated label \(key) on \(k.name) \(name)\n" }
        return "Successfully set label \(key) on \(k.name) \(name)\n"
    }

    public func patch(kind: String, name: String, namespace: String? = nil, patch: String) throws(CtlError) -> String {
        let k = try resolve(kind)
        let id = ResourceID(kind: k, name: name, namespace: Self.namespace(k, namespace))
        let patchValue: Value
        do { patchValue = try FormatBridge.parseSingle(patch) } catch {
            throw CtlError("invalid patch: \(error.message)")
        }
        guard case .object = patchValue else { throw CtlError("invalid patch: a merge patch must be a JSON object") }
        do { try client.patch(id, mergePatch: patchValue) } catch {
            throw CtlError("failed to patch \(k.name) \(name): \(getMessage(error))")
        }
        return "Successfully patched 1 '\(k.name)' resource\n"
    }

    // MARK: Helpers

    /// The namespace for a namespaced kind (`-n`, default "default"); "" for cluster-scoped kinds.
    static func namespace(_ kind: ResourceKind, _ given: String?) -> String {
        guard kind.isNamespaced else { return "" }
        if let given, !given.isEmpty { return given }
        return "default"
    }

    func resolve(_ kind: String) throws(CtlError) -> ResourceKind {
        guard let k = ResourceKind(alias: kind) else { throw CtlError("resource type '\(kind)' is not supported") }
        return k
    }

    func parse(_ input: InputText) throws(CtlError) -> [Value] {
        let docs: [Value]
        do { docs = try FormatBridge.documents(input.text) } catch {
            throw CtlError("failed to read \(input.source): \(error.message)")
        }
        if docs.isEmpty { throw CtlError("no resources specified in \(input.source)") }
        return docs
    }

    private func run(_ verb: String, _ docs: [Value],
                     _ body: () throws(ClientError) -> BatchResult) throws(CtlError) -> BatchResult {
        let r: BatchResult
        do { r = try body() } catch { throw failure(verb, count: docs.count, kinds: docKinds(docs), error) }
        if logLevel >= .debug {
            for item in r.items { Console.err("debug: \(item.id) \(item.outcome.rawValue) at revision \(r.revision)\n") }
        }
        return r
    }

    /// `Failed to apply 'IPPool' resource(s), nothing was written:` and one line per problem.
    private func failure(_ verb: String, count: Int, kinds: Set<String>, _ error: ClientError) -> CtlError {
        let what = kinds.count == 1 ? "'\(kinds.first!)' resource(s)" : "resources"
        let errors = error.all
        let written = count > 1 || errors.count > 1 ? ", nothing was written" : ""
        if errors.count == 1 {
            return CtlError("failed to \(verb) \(what)\(written): \(errors[0])")
        }
        let lines = errors.map { "\n  " + $0.description.replacingOccurrences(of: "\n", with: "\n  ") }
        return CtlError("failed to \(verb) \(what)\(written):" + lines.joined())
    }

    private func getMessage(_ error: ClientError) -> String {
        if case .notFound = error { return "failed to get resources: \(error)" }
        return error.description
    }

    private func docKinds(_ docs: [Value]) -> Set<String> {
        Set(docs.map { $0["kind"]?.stringValue ?? "?" })
    }

    private func kinds(_ r: BatchResult) -> Set<String> { Set(r.items.map(\.id.kind.name)) }

    private func success(_ verb: String, _ n: Int, _ kinds: Set<String>) -> String {
        kinds.count == 1 ? "Successfully \(verb) \(n) '\(kinds.first!)' resource(s)" : "Successfully \(verb) \(n) resource(s)"
    }

    private func deleted(_ r: BatchResult) -> String {
        let n = r.count(.deleted)
        let skipped = r.count(.skipped)
        let note = skipped > 0 ? " (\(skipped) did not exist and were skipped)" : ""
        return success("deleted", n, kinds(r)) + note + "\n"
    }

    /// Renders `get` output. `listKind` set: a listing (an empty table still prints its
    /// headings; YAML/JSON print a `<Kind>List` at the listing's revision).
    func render(_ resources: [StoredResource], listKind: ResourceKind?, listRevision: Int64? = nil,
                output: OutputFormat) throws(CtlError) -> String {
        switch output {
        case .ps, .wide, .customColumns:
            var order: [ResourceKind] = []
            var byKind: [ResourceKind: [StoredResource]] = [:]
            if let listKind { order = [listKind]; byKind[listKind] = [] }
            for r in resources {
                if byKind[r.kind] == nil { order.append(r.kind) }
                byKind[r.kind, default: []].append(r)
            }
            var context = TableColumns.Context()
            if output != .ps, order.contains(.node) { context.globalASNumber = globalASNumber() }
            var text = ""
            for k in order {
                let rows = byKind[k]!
                switch output {
                case .customColumns(let columns):
                    text += try TableColumns.custom(columns, kind: k, rows, context: context)
                default:
                    let wide = output == .wide
                    text += TableWriter().render(headings: TableColumns.headings(k, wide: wide),
                                                 rows: rows.map { TableColumns.row($0, wide: wide, context: context) })
                }
            }
            return text
        case .yaml, .json:
            let value: Value
            if listKind != nil || resources.count != 1 {
                var v = ResourceDocuments.listValue(resources.map(\.resource),
                                                    resourceVersion: listRevision.map(String.init))
                if resources.isEmpty, let listKind { v["kind"] = .string(listKind.listKind) }
                value = v
            } else {
                value = resources[0].document
            }
            return output == .yaml ? FormatBridge.yaml(value) : FormatBridge.json(value)
        }
    }

    /// The global AS number for Node's ASN column: BGPConfiguration `default`, else 64512.
    private func globalASNumber() -> String {
        if let c = try? client.get(ResourceID(kind: .bgpConfiguration, name: "default")),
           let asn = c.spec["asNumber"] {
            return TableColumns.cell(asn)
        }
        return "64512"
    }
}

