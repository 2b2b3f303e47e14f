import NetCore

public enum BlockAffinityState: String, StringEnum {
    case confirmed, pending, pendingDeletion
}

/// A node's claim on an IPAM block (calico.md §1.6). Calico's etcd layout encodes node and
/// CIDR in the key and stores only `{"state":..., "deleted":false}` as the value.
public struct BlockAffinitySpec: ResourceSpec {
    public static let kind = ResourceKind.blockAffinity
    public var state: BlockAffinityState = .confirmed
    public var node: String = ""
    /// `host` (default) or `virtual`.
    public var type: String = ""
    public var cidr: String = ""
    /// A string in the v3 API ("true"/"false") for compatibility with old releases.
    public var deleted: String = ""

    public init() {}
    public init(node: String, cidr: IPPrefix, state: BlockAffinityState = .confirmed) {
        self.node = node; self.cidr = cidr.description; self.state = state
    }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        state = try r.field("state", default: .confirmed)
        node = try r.string("node")
        type = try r.string("type")
        cidr = try r.string("cidr")
        if let d = r.raw("deleted") {
            switch d {
            case .bool(let b): deleted = b ? "true" : "false"
            case .null: deleted = ""
            default: deleted = try String(from: d, at: path.child("deleted"))
            }
        }
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.always("state", state)
        w.always("node", node)
        w.omitEmpty("type", type)
        w.always("cidr", cidr)
        w.always("deleted", deleted.isEmpty ? "false" : deleted)
        return w.value
    }

    /// The etcd value: `{"state":"confirmed","deleted":false}`.
    public var storageValue: Value { .object(["state": state.toValue(), "deleted": .bool(deleted == "true")]) }

    /// Reads the etcd value for the affinity of `node` on `cidr`; an empty value is a legacy
    /// confirmed affinity.
    public init(node: String, cidr: IPPrefix, storage value: Value?) throws(FieldError) {
        self.init(node: node, cidr: cidr)
        guard let value, value != .null else { return }
        var r = try ObjectReader(value, at: .root)
        state = try r.field("state", default: .confirmed)
        deleted = try r.bool("deleted") ? "true" : "false"
    }
}

public typealias BlockAffinity = CalicoObject<BlockAffinitySpec>

extension CalicoObject where Spec == BlockAffinitySpec {
    /// Named as Calico names BlockAffinity objects: `<node>-<cidr name>`.
    public init(spec: BlockAffinitySpec) {
        self.init(metadata: ObjectMeta(name: spec.node + "-" + IPAMNames.resourceName(cidr: spec.cidr)), spec: spec)
    }
}

/// An IPAM handle: which blocks hold addresses for one owner (pod, tunnel), and how many.
/// Stored at `/calico/ipam/v2/handle/<id>` as `{"block":{"10.0.0.0/26":1},"deleted":false}`.
public struct IPAMHandleSpec: ResourceSpec {
    public static let kind = ResourceKind.ipamHandle
    public var handleID: String = ""
    /// Block CIDR → number of addresses this handle holds there.
    public var block: [String: Int] = [:]
    public var deleted: Bool = false

    public init() {}
    public init(handleID: String, block: [String: Int] = [:]) { self.handleID = handleID; self.block = block }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        handleID = try r.string("handleID")
        block = try r.field("block", default: [:])
        deleted = try r.bool("deleted")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.always("handleID", handleID); w.always("block", block); w.always("deleted", deleted)
        return w.value
    }

    public var storageValue: Value { .object(["block": block.toValue(), "deleted": .bool(deleted)]) }

    public init(handleID: String, storage value: Value) throws(FieldError) {
        self.handleID = handleID
        var r = try ObjectReader(value, at: .root)
        block = try r.field("block", default: [:])
        deleted = try r.bool("deleted")
    }
}

public typealias IPAMHandle = CalicoObject<IPAMHandleSpec>
