import NetCore

/// One attribute record of a block (`model.AllocationAttribute`): which handle owns the
/// addresses pointing at it, plus free-form owner attributes (pod, namespace, node).
public struct AllocationAttribute: Hashable, Sendable, ValueCodable {
    public var handleID: String? = nil
    public var secondary: StringMap = [:]
    public var alternateOwnerAttrs: StringMap = [:]
    /// RFC 3339 time the addresses were released (for IP cooldown), if any.
    public var releasedAt: String? = nil

    public init(handleID: String? = nil, secondary: StringMap = [:]) { self.handleID = handleID; self.secondary = secondary }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        handleID = try r.optional("handle_id")
        secondary = try r.map("secondary")
        alternateOwnerAttrs = try r.map("alternateOwnerAttrs")
        releasedAt = try r.optional("releasedAt")
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.always("handle_id", handleID.map(Value.string) ?? .null)
        w.always("secondary", secondary.isEmpty ? Value.null : secondary.toValue())
        w.omitEmpty("alternateOwnerAttrs", alternateOwnerAttrs)
        w.optional("releasedAt", releasedAt)
        return w.value
    }
}

/// An IPAM allocation block (`model.AllocationBlock`, calico.md §1.6). The spec's JSON is
/// exactly the value Calico stores at `/calico/ipam/v2/assignment/ipv4/block/<cidr>`, with
/// Calico's field names (`handle_id`, `sequenceNumberForAllocation`...), so either can read
/// what the other wrote.
public struct IPAMBlockSpec: ResourceSpec {
    public static let kind = ResourceKind.ipamBlock
    public var cidr: String = ""
    /// `host:<node>` or `virtual:<node>`; nil = not affine.
    public var affinity: String? = nil
    public var affinityClaimTime: String? = nil
    /// Deprecated in Calico (moved to IPAMConfiguration), kept for compatibility.
    public var strictAffinity: Bool = false
    /// Ordinal → attribute index; nil = free.
    public var allocations: [Int?] = []
    /// Free ordinals in allocation order (FIFO).
    public var unallocated: [Int] = []
    public var attributes: [AllocationAttribute] = []
    public var deleted: Bool = false
    public var sequenceNumber: UInt64 = 0
    public var sequenceNumberForAllocation: [String: UInt64] = [:]

    public init() {}

    /// A fresh, empty block: every ordinal free, in order.
    public init(cidr: IPPrefix, affinity: String?) {
        self.cidr = cidr.description
        self.affinity = affinity
        let size = Int(min(cidr.addressCount, 1 << 20))
        allocations = Array(repeating: nil, count: size)
        unallocated = Array(0..<size)
    }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        // Lenient on unknown keys on purpose: this is also Calico's storage form.
        var r = try ObjectReader(value, at: path)
        cidr = try r.string("cidr")
        affinity = try r.optional("affinity")
        affinityClaimTime = try r.optional("affinityClaimTime")
        strictAffinity = try r.bool("strictAffinity")
        if let a = r.raw("allocations") {
            let p = path.child("allocations")
            switch a {
            case .null: allocations = []
            case .array(let items):
                allocations = []
                allocations.reserveCapacity(items.count)
                for (i, item) in items.enumerated() {
                    allocations.append(item == .null ? nil : try Int(from: item, at: p.index(i)))
                }
            default: throw .type(p, expected: "list", got: a)
            }
        }
        unallocated = try r.list("unallocated")
        attributes = try r.list("attributes")
        deleted = try r.bool("deleted")
        sequenceNumber = try r.field("sequenceNumber", default: 0)
        sequenceNumberForAllocation = try r.field("sequenceNumberForAllocation", default: [:])
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.always("cidr", cidr)
        w.always("affinity", affinity.map(Value.string) ?? .null)
        w.optional("affinityClaimTime", affinityClaimTime)
        w.always("strictAffinity", strictAffinity)
        w.always("allocations", Value.array(allocations.map { $0.map { .int(Int64($0)) } ?? .null }))
        w.always("unallocated", unallocated)
        w.always("attributes", attributes)
        w.always("deleted", deleted)
        w.always("sequenceNumber", sequenceNumber)
        w.always("sequenceNumberForAllocation", sequenceNumberForAllocation)
        return w.value
    }

    public var prefix: IPPrefix? { IPPrefix(cidr) }
}

public typealias IPAMBlock = CalicoObject<IPAMBlockSpec>

extension CalicoObject where Spec == IPAMBlockSpec {
    /// A block named as Calico names its CRD objects (`10-244-1-0-26`).
    public init(spec: IPAMBlockSpec) {
        self.init(metadata: ObjectMeta(name: IPAMNames.resourceName(cidr: spec.cidr)), spec: spec)
    }
}

/// Calico's naming of IPAM objects.
public enum IPAMNames {
    /// `names.CIDRToName`: `10.244.1.0/26` → `10-244-1-0-26`, `fd00::/122` → `fd00---122`.
    public static func resourceName(cidr: String) -> String {
        String(cidr.map { $0 == "." || $0 == ":" || $0 == "/" ? "-" : $0 })
    }
}
