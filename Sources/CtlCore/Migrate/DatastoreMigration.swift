import Datastore
import IPAM
import NodeModel
import ResourceClient

/// `twillctl datastore migrate export|import`: moves every Calico resource and IPAM record
/// between datastores (SQLite ↔ etcd) through the file `MigrationFile` describes.
public enum DatastoreMigration {
    public static let root = "/calico/"

    // MARK: Export

    public struct Export: Sendable {
        public var text: String
        public var resources: Int
        public var ipamRecords: Int
        /// Keys under /calico/ that are neither a v3 resource Twill models nor an IPAM record
        /// (Calico's FelixConfigurations, Profiles…): not exported.
        public var skipped: [String]
    }

    /// Reads everything under `/calico/` in one listing (one consistent snapshot) and renders it.
    /// Fails, naming each key, if a stored resource does not decode: an export that silently
    /// dropped data would lose it on import.
    public static func export(from store: any Datastore) throws(CtlError) -> Export {
        let listing: KVList
        do { listing = try store.list(prefix: root) } catch { throw CtlError("cannot read the datastore: \(error)") }
        var contents = MigrationFile.Contents()
        var skipped: [String] = []
        var errors: [String] = []
        for pair in listing.pairs {
            guard let parsed = ResourceKeys.parse(pair.key) else { skipped.append(pair.key); continue }
            if let section = MigrationFile.Section.of(parsed) {
                contents.records.append(.init(section: section, key: pair.key, value: pair.value))
                continue
            }
            guard case .resource(let kind, _, _) = parsed, ![.ipamBlock, .blockAffinity, .ipamHandle, .ipamConfiguration].contains(kind)
            else { skipped.append(pair.key); continue }
            do { contents.resources.append((pair.key, try ResourceStorage.decode(key: pair.key, bytes: pair.value))) } catch {
                errors.append("\(pair.key): \(error.errors.map(\.description).joined(separator: "; "))")
            }
        }
        if !errors.isEmpty {
            throw CtlError("cannot export: stored value(s) do not decode (fix or delete them first):\n  " + errors.joined(separator: "\n  "))
        }
        return Export(text: MigrationFile.render(contents), resources: contents.resources.count,
                      ipamRecords: contents.records.count, skipped: skipped)
    }

    // MARK: Import

    public struct ImportOptions: Sendable {
        /// Write into a datastore that already holds Calico data (existing keys are replaced).
        public var allowNonEmpty = false
        /// Most operations per commit when a backend refuses one commit for everything (etcd's
        /// `--max-txn-ops`, 128 by default). Halved further if the backend still refuses.
        public var batchOps = 128
        /// Most value bytes per batch (etcd's `--max-request-bytes` is 1.5 MiB by default).
        public var batchBytes = 1 << 20
        public init(allowNonEmpty: Bool = false) { self.allowNonEmpty = allowNonEmpty }
    }

    public struct Import: Sendable {
        public var resources: Int
        public var ipamRecords: Int
        /// 1: everything in one all-or-nothing commit.
        public var commits: Int
        /// Revision of the (last) commit.
        public var revision: Int64
        /// IPAM inconsistencies the imported data carries (`twillctl ipam check`'s findings on
        /// the data as written, empty when consistent): reported, not refused — the import
        /// reproduces the source, problems included.
        public var ipamProblems: [String] = []
        public var message: String {
            if commits == 0 { return "Nothing to import: the file holds no resources and no IPAM records\n" }
            let how = commits == 1 ? "in one commit" : "in \(commits) commits (the datastore refused one commit for all)"
            return "Successfully imported \(resources) resource(s) and \(ipamRecords) IPAM record(s) \(how) at revision \(revision)\n"
        }
    }

    /// Validates everything, checks the destination, then writes. Nothing is written when
    /// anything fails before the write; see `write` for what a failed write leaves.
    public static func importFile(_ input: InputText, into store: any Datastore,
                                  options: ImportOptions = ImportOptions()) throws(CtlError) -> Import {
        let file = try MigrationFile.parse(input.text, source: input.source)

        // The destination: empty unless allowed (calicoctl refuses a non-empty one).
        let existing: KVList
        do { existing = try store.list(prefix: root) } catch { throw CtlError("cannot read the destination datastore: \(error)") }
        if !options.allowNonEmpty, !existing.pairs.isEmpty {
            throw CtlError("the destination datastore already holds Calico data: \(summary(existing.pairs.map(\.key))); "
                           + "import into an empty datastore, or pass --allow-non-empty to merge (existing keys are replaced)")
        }

        // v3 resources: strict decoding, defaults, validation and the checks against the stored
        // state (pool overlap, immutable fields), as `apply` makes them. Every error at once.
        let client = ResourceClient(datastore: store)
        var resources: [Resource] = []
        var problems: [String] = []
        if !file.documents.isEmpty {
            do { resources = try client.validate(file.documents) } catch {
                problems = error.all.map { $0.description.replacingOccurrences(of: "\n", with: "\n  ") }
            }
        }
        problems += file.ipamErrors
        if !problems.isEmpty {
            throw CtlError("failed to import, nothing was written:\n  " + problems.joined(separator: "\n  "))
        }

        // The writes: resources first (pools, config… in file order), then IPAM in section order.
        var writes: [(key: String, value: [UInt8], what: String)] = []
        var index: [String: String] = [:]
        for (i, r) in resources.enumerated() {
            let key = ResourceKeys.key(for: r)
            let what = "document \(i + 1), \(r.kind) \"\(r.kind.isNamespaced ? r.namespace + "/" : "")\(r.name)\""
            writes.append((key, ResourceStorage.bytes(for: r), what))
            index[key] = what
        }
        var clashes: [String] = []
        for rec in file.records.sorted(by: { sectionRank($0.section) < sectionRank($1.section) }) {
            let what = "IPAM section, \(MigrationFile.identity(rec.key) ?? rec.key)"
            if let other = index[rec.key] { clashes.append("\(what): \(rec.key) is also written by \(other)") }
            writes.append((rec.key, rec.value, what))
            index[rec.key] = what
        }
        if !clashes.isEmpty {
            throw CtlError("failed to import, nothing was written:\n  " + clashes.joined(separator: "\n  "))
        }

        // Preconditions: absent keys must still be absent, present ones (--allow-non-empty)
        // unchanged since the listing, so a concurrent writer fails the import instead of
        // being overwritten.
        let revisions = Dictionary(existing.pairs.map { ($0.key, $0.revision) }, uniquingKeysWith: { a, _ in a })
        let ops: [KVOperation] = writes.map { w in
            if let rev = revisions[w.key] { return .update(key: w.key, value: w.value, expectedRevision: rev) }
            return .create(key: w.key, value: w.value)
        }
        let previous = Dictionary(existing.pairs.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let findings = ipamProblems(existing: existing.pairs, writes: writes.map { ($0.key, $0.value) })
        let (commits, revision) = try write(ops, to: store, previous: previous, options: options)
        return Import(resources: resources.count, ipamRecords: file.records.count, commits: commits, revision: revision,
                      ipamProblems: findings)
    }

    /// `IPAMCheck` on the destination as the import leaves it, computed in memory beforehand.
    static func ipamProblems(existing: [KVPair], writes: [(key: String, value: [UInt8])]) -> [String] {
        guard writes.contains(where: { $0.key.hasPrefix(ResourceKeys.ipamRoot) }) else { return [] }
        let scratch = MemoryDatastore()
        var final: [String: [UInt8]] = [:]
        for p in existing { final[p.key] = p.value }
        for w in writes { final[w.key] = w.value }
        do {
            try scratch.commit(final.map { .put(key: $0.key, value: $0.value) })
            return try IPAMCheck.run(store: scratch).map(\.description)
        } catch {
            return ["the IPAM check could not run: \(error)"]
        }
    }

    static func sectionRank(_ s: MigrationFile.Section) -> Int { MigrationFile.Section.allCases.firstIndex(of: s) ?? 0 }

    /// `2 IPPool (pool-a, pool-b), 1 IPAMBlock (/calico/ipam/v2/…)`.
    static func summary(_ keys: [String]) -> String {
        var order: [String] = []
        var byKind: [String: [String]] = [:]
        for k in keys {
            let kind = MigrationFile.describe(k)
            if byKind[kind] == nil { order.append(kind) }
            let name: String
            switch ResourceKeys.parse(k) {
            case .resource(_, let ns, let n)?: name = ns.isEmpty ? n : ns + "/" + n
            case .some: name = MigrationFile.identity(k).map { String($0.drop { $0 != " " }.dropFirst()) } ?? k
            case nil: name = k
            }
            byKind[kind, default: []].append(name)
        }
        return order.map { kind in
            let names = byKind[kind]!
            let shown = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", …" : "")
            return "\(names.count) \(kind) (\(shown))"
        }.joined(separator: ", ")
    }

    // MARK: Writing

    /// One commit when the backend takes it (SQLite always; etcd up to its `--max-txn-ops` and
    /// request size). When the backend refuses the size, batches of `batchOps`, each its own
    /// transaction; if a batch then fails, the batches already written are undone (created keys
    /// deleted, replaced keys restored, each guarded by the revision the import wrote) and the
    /// error says whether that undo succeeded. Returns the number of commits and the last revision.
    static func write(_ ops: [KVOperation], to store: any Datastore, previous: [String: KVPair],
                      options: ImportOptions) throws(CtlError) -> (commits: Int, revision: Int64) {
        if ops.isEmpty {
            do { return (0, try store.currentRevision()) } catch { throw CtlError("cannot read the destination datastore: \(error)") }
        }
        do {
            return (1, try store.commit(ops))
        } catch where isTooLarge(error) {
            // Refused as a whole: nothing was written. Fall through to batches.
        } catch where isAmbiguous(error) {
            // The request may have reached etcd: the import is all there or not at all.
            throw CtlError("failed to import: \(error); the single commit either wrote everything or nothing: "
                           + "export the destination to see which (a repeated import refuses if it landed)")
        } catch {
            throw CtlError("failed to import, nothing was written: \(describe(error))")
        }

        var done: [(ops: [KVOperation], revision: Int64)] = []
        var rest = ops[...]
        var size = max(1, options.batchOps)
        while !rest.isEmpty {
            var n = 0, bytes = 0
            for op in rest.prefix(size) {
                let b = valueSize(op)
                if n > 0, bytes + b > options.batchBytes { break }
                n += 1; bytes += b
            }
            let batch = Array(rest.prefix(n))
            do {
                let rev = try store.commit(batch)
                done.append((batch, rev))
                rest = rest.dropFirst(n)
            } catch where isTooLarge(error) && n > 1 {
                size = max(1, n / 2)
            } catch {
                let written = done.reduce(0) { $0 + $1.ops.count }
                let undo = rollback(done, failed: isAmbiguous(error) ? batch : [], store: store, previous: previous)
                throw CtlError("failed to import: \(describe(error)) (batch \(done.count + 1), after \(written) of \(ops.count) writes in \(done.count) batch(es)); \(undo)")
            }
        }
        return (done.count, done.last?.revision ?? 0)
    }

    /// Undoes written batches, newest first, and the keys of a `failed` batch that may or may
    /// not have landed (those holding the value it wrote). Returns a sentence for the error message.
    static func rollback(_ done: [(ops: [KVOperation], revision: Int64)], failed: [KVOperation], store: any Datastore,
                         previous: [String: KVPair]) -> String {
        var done = done
        let batches = done.count
        var landed = 0
        for op in failed {
            guard case .create(let k, let v) = op.normalized, let now = try? store.get(k), now.value == v,
                  previous[k]?.value != v else { continue }
            done.append(([op], now.revision))
            landed += 1
        }
        if done.isEmpty { return "nothing was written" }
        var left: [String] = []
        for (ops, rev) in done.reversed() {
            let undo: [KVOperation] = ops.map { op in
                if let old = previous[op.key] { return .update(key: op.key, value: old.value, expectedRevision: rev) }
                return .delete(key: op.key, expectedRevision: rev)
            }
            do { try store.commit(undo) } catch {
                // One by one, so one key changed by someone else does not keep the rest.
                for u in undo {
                    do { try store.commit([u]) } catch { left.append(u.key) }
                }
            }
        }
        let what = "the \(batches) batch(es) written" + (landed > 0 ? " and \(landed) key(s) of the failed one" : "")
        if left.isEmpty { return "\(what) were rolled back: the datastore is as before" }
        let shown = left.prefix(10).joined(separator: ", ") + (left.count > 10 ? ", …" : "")
        return "rolling back failed for \(left.count) key(s), which still hold the imported value: \(shown)"
    }

    /// The backend refused the commit for its size (etcd: too many operations, request too large).
    static func isTooLarge(_ e: DatastoreError) -> Bool {
        guard case .unavailable(let why) = e else { return false }
        return why.contains("too many operations") || why.contains("request is too large")
            || why.contains("larger than max")
    }

    /// The write may or may not have been applied (the connection broke after sending it).
    static func isAmbiguous(_ e: DatastoreError) -> Bool {
        if case .unavailable(let why) = e { return why.contains("may or may not have been applied") }
        return false
    }

    static func describe(_ e: DatastoreError) -> String {
        switch e {
        case .alreadyExists(let k): "\(k) was created by someone else during the import"
        case .conflict(let k, _, _), .notFound(let k): "\(k) was changed by someone else during the import"
        default: e.description
        }
    }

    static func valueSize(_ op: KVOperation) -> Int {
        switch op {
        case .create(let k, let v), .update(let k, let v, _), .put(let k, let v): k.utf8.count + v.count
        case .delete(let k, _): k.utf8.count
        }
    }
}

extension KVOperation {
    /// Creates and updates alike as `(key, value)` in `.create` form (for probing what landed).
    fileprivate var normalized: KVOperation {
        switch self {
        case .update(let k, let v, _), .put(let k, let v): .create(key: k, value: v)
        default: self
        }
    }
}
