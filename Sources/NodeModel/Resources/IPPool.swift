/// Encapsulation mode for IPIP and VXLAN (`ippool.go`).
public enum EncapMode: String, StringEnum {
    case never = "Never"
    case always = "Always"
    case crossSubnet = "CrossSubnet"
}

/// What addresses from a pool may be used for.
public enum IPPoolAllowedUse: String, StringEnum {
    case workload = "Workload"
    case tunnel = "Tunnel"
    case loadBalancer = "LoadBalancer"
}

public enum IPPoolAssignmentMode: String, StringEnum {
    case automatic = "Automatic"
    case manual = "Manual"
}

/// `IPPoolSpec` (calico.md §1.1). Zero values mean "not set"; `withDefaults()` fills Calico's
/// defaults (blockSize 26/122, modes Never, nodeSelector all(), ...).
public struct IPPoolSpec: ResourceSpec {
    public static let kind = ResourceKind.ipPool
    /// The pool's CIDR, strictly masked (validated, kept as written).
    public var cidr: String = ""
    public var vxlanMode: EncapMode? = nil
    public var ipipMode: EncapMode? = nil
    public var natOutgoing: Bool = false
    public var disabled: Bool = false
    public var disableBGPExport: Bool = false
    /// 0 = not set.
    public var blockSize: Int = 0
    public var nodeSelector: String = ""
    public var namespaceSelector: String = ""
    public var allowedUses: [IPPoolAllowedUse] = []
    public var assignmentMode: IPPoolAssignmentMode? = nil

    public init() {}
    public init(cidr: String) { self.cidr = cidr }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        cidr = try r.string("cidr")
        vxlanMode = try r.optional("vxlanMode")
        ipipMode = try r.optional("ipipMode")
        natOutgoing = try r.bool("natOutgoing")
        disabled = try r.bool("disabled")
        disableBGPExport = try r.bool("disableBGPExport")
        blockSize = try r.int("blockSize")
        nodeSelector = try r.string("nodeSelector")
        namespaceSelector = try r.string("namespaceSelector")
        allowedUses = try r.list("allowedUses")
        assignmentMode = try r.optional("assignmentMode")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.always("cidr", cidr)
        w.optional("vxlanMode", vxlanMode)
        w.optional("ipipMode", ipipMode)
        w.omitEmpty("natOutgoing", natOutgoing)
        w.omitEmpty("disabled", disabled)
        w.omitEmpty("disableBGPExport", disableBGPExport)
        w.omitEmpty("blockSize", blockSize)
        w.omitEmpty("nodeSelector", nodeSelector)
        w.omitEmpty("namespaceSelector", namespaceSelector)
        w.omitEmpty("allowedUses", allowedUses)
        w.optional("assignmentMode", assignmentMode)
        return w.value
    }
}

public typealias IPPool = CalicoObject<IPPoolSpec>
