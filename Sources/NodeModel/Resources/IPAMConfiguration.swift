public enum KubeVirtVMAddressPersistence: String, StringEnum {
    case enabled = "Enabled", disabled = "Disabled"
}

/// `IPAMConfigurationSpec` (calico.md §1.6); the single instance is named `default`.
public struct IPAMConfigurationSpec: ResourceSpec {
    public static let kind = ResourceKind.ipamConfiguration
    /// No borrowing of addresses from blocks affine to other hosts.
    public var strictAffinity: Bool = false
    /// nil = not set; Calico's default is true.
    public var autoAllocateBlocks: Bool? = nil
    /// 0 = unlimited.
    public var maxBlocksPerHost: Int = 0
    public var kubeVirtVMAddressPersistence: KubeVirtVMAddressPersistence? = nil
    /// Seconds a released address rests before reuse (0-1200).
    public var ipCooldownSeconds: Int? = nil

    public init() {}

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        strictAffinity = try r.bool("strictAffinity")
        autoAllocateBlocks = try r.optional("autoAllocateBlocks")
        maxBlocksPerHost = try r.int("maxBlocksPerHost")
        kubeVirtVMAddressPersistence = try r.optional("kubeVirtVMAddressPersistence")
        ipCooldownSeconds = try r.optional("ipCooldownSeconds")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.always("strictAffinity", strictAffinity)
        w.optional("autoAllocateBlocks", autoAllocateBlocks)
        w.omitEmpty("maxBlocksPerHost", maxBlocksPerHost)
        w.optional("kubeVirtVMAddressPersistence", kubeVirtVMAddressPersistence)
        w.optional("ipCooldownSeconds", ipCooldownSeconds)
        return w.value
    }

    /// Calico's etcd form at `/calico/ipam/v2/config` (`model.IPAMConfig`, snake_case keys).
    public var storageValue: Value {
        var w = ObjectWriter()
        w.omitEmpty("strict_affinity", strictAffinity)
        w.omitEmpty("auto_allocate_blocks", autoAllocateBlocks ?? true)
        w.omitEmpty("maxBlocksPerHost", maxBlocksPerHost)
        w.optional("kubeVirtVMAddressPersistence", kubeVirtVMAddressPersistence)
        w.optional("ipCooldownSeconds", ipCooldownSeconds)
        return w.value
    }

    /// Reads the etcd form; unknown keys are ignored so data written by newer Calico stays readable.
    public init(storage value: Value) throws(FieldError) {
        var r = try ObjectReader(value, at: .root)
        strictAffinity = try r.bool("strict_affinity")
        autoAllocateBlocks = try r.bool("auto_allocate_blocks")
        maxBlocksPerHost = try r.int("maxBlocksPerHost")
        kubeVirtVMAddressPersistence = try r.optional("kubeVirtVMAddressPersistence")
        ipCooldownSeconds = try r.optional("ipCooldownSeconds")
    }
}

public typealias IPAMConfiguration = CalicoObject<IPAMConfigurationSpec>
