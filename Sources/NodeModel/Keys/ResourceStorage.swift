import NetCore

/// The value stored at a resource's key. v3 kinds store the whole document without the
/// `resourceVersion` (the datastore revision is the version); IPAM records store Calico's own
/// v1/v2 JSON forms (calico.md §1.6, §2.3) so Calico-written data is readable.
public enum ResourceStorage {
    public static func value(for r: Resource) -> Value {
        switch r {
        case .ipamBlock(let b): return b.spec.toValue()
        case .blockAffinity(let a): return a.spec.storageValue
        case .ipamHandle(let h): return h.spec.storageValue
        case .ipamConfiguration(let c): return c.spec.storageValue
        default:
            var doc = r
            doc.metadata.resourceVersion = ""
            return doc.toValue()
        }
    }

    /// The stored bytes: compact JSON, as Calico's etcd backend writes them.
    public static func bytes(for r: Resource) -> [UInt8] { Array(value(for: r).json.utf8) }

    /// Decodes stored JSON bytes (see `decode(key:value:revision:)`).
    public static func decode(key: String, bytes: [UInt8], revision: Int64? = nil) throws(ResourceError) -> Resource {
        let value: Value
        do { value = try Value(jsonBytes: bytes) } catch {
            throw ResourceError(DocumentRef(name: key), FieldError(.root, "stored value is not valid JSON: \(error)"))
        }
        return try decode(key: key, value: value, revision: revision)
    }

    /// Decodes what is stored at `key`; `revision` becomes `metadata.resourceVersion`.
    public static func decode(key: String, value: Value, revision: Int64? = nil) throws(ResourceError) -> Resource {
        let ref = DocumentRef(name: key)
        guard let parsed = ResourceKeys.parse(key) else {
            throw ResourceError(ref, FieldError(.root, "not a Calico resource key"))
        }
        var r: Resource
        do throws(FieldError) {
            switch parsed {
            case .resource(let kind, _, _):
                r = try decodeDroppingUnknownFields(value, kind: kind)
                guard r.kind == kind else { throw FieldError("kind", "stored kind \(r.kind) does not match key") }
            case .block(let p):
                var spec = try IPAMBlockSpec(from: value, at: .root)
                if spec.cidr.isEmpty { spec.cidr = p.description }
                r = .ipamBlock(IPAMBlock(spec: spec))
            case .affinity(let node, let cidr, let type):
                var spec = try BlockAffinitySpec(node: node, cidr: cidr, storage: value)
                spec.type = type
                r = .blockAffinity(BlockAffinity(spec: spec))
            case .handle(let id):
                r = .ipamHandle(IPAMHandle(metadata: ObjectMeta(name: id), spec: try IPAMHandleSpec(handleID: id, storage: value)))
            case .ipamConfig:
                r = .ipamConfiguration(IPAMConfiguration(metadata: ObjectMeta(name: "default"), spec: try IPAMConfigurationSpec(storage: value)))
            }
        } catch {
            throw ResourceError(ref, error)
        }
        if let revision { r.metadata.resourceVersion = String(revision) }
        return r
    }

    /// Stored documents may come from a newer Calico with fields this model does not know:
    /// rather than making the whole resource unreadable, unknown fields are dropped (one by
    /// one, as strict decoding names them). User input is never decoded this way.
    static func decodeDroppingUnknownFields(_ value: Value, kind: ResourceKind) throws(FieldError) -> Resource {
        var v = value
        for _ in 0..<64 {
            do {
                return try Resource(from: v, listKind: kind)
            } catch where error.reason.hasPrefix("unknown field") {
                guard let pruned = v.removing(path: error.path) else { throw error }
                v = pruned
            }
        }
        return try Resource(from: v, listKind: kind)
    }
}

extension Value {
    /// The value without the member at `path` (`spec.ingress[0].foo`); nil if the path does
    /// not lead to an object member. Keys with dots are not supported (schema field names
    /// have none).
    func removing(path: FieldPath) -> Value? {
        var steps: [(key: String, index: Int?)] = []
        for part in path.description.split(separator: ".") {
            var key = Substring(part)
            var index: Int? = nil
            if key.last == "]", let open = key.lastIndex(of: "[") {
                index = Int(key[key.index(after: open)..<key.index(before: key.endIndex)])
                key = key[key.startIndex..<open]
            }
            steps.append((String(key), index))
        }
        return Value.removing(steps[...], from: self)
    }

    private static func removing(_ steps: ArraySlice<(key: String, index: Int?)>, from v: Value) -> Value? {
        guard let step = steps.first, case .object = v, let child = v[step.key] else { return nil }
        var out = v
        if steps.count == 1, step.index == nil { out[step.key] = nil; return out }
        if let i = step.index {
            guard case .array(var items) = child, items.indices.contains(i) else { return nil }
            guard let newItem = removing(steps.dropFirst(), from: items[i]) else { return nil }
            items[i] = newItem
            out[step.key] = .array(items)
        } else {
            guard let newChild = removing(steps.dropFirst(), from: child) else { return nil }
            out[step.key] = newChild
        }
        return out
    }
}
