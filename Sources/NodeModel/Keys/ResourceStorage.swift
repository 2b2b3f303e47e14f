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
                r = try Resource(from: value, listKind: kind)
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
}
