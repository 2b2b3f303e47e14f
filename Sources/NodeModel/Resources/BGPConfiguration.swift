import NetCore

/// `{cidr: ...}` entries of `serviceClusterIPs` etc.
public struct ServiceIPBlock: Hashable, Sendable, ValueCodable {
    public var cidr: String = ""
    public init(cidr: String = "") { self.cidr = cidr }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path); cidr = try r.string("cidr"); try r.finish()
    }
    public func toValue() -> Value { var w = ObjectWriter(); w.omitEmpty("cidr", cidr); return w.value }
}

/// A named community: `value` is `aa:nn` (standard) or `aa:nn:mm` (large).
public struct Community: Hashable, Sendable, ValueCodable {
    public var name: String = ""
    public var value: String = ""
    public init(name: String = "", value: String = "") { self.name = name; self.value = value }
    public init(from v: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(v, at: path)
        name = try r.string("name"); value = try r.string("value"); try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter(); w.omitEmpty("name", name); w.omitEmpty("value", value); return w.value
    }
}

/// Communities to attach to routes in `cidr`: each a literal or the name of a `Community`.
public struct PrefixAdvertisement: Hashable, Sendable, ValueCodable {
    public var cidr: String = ""
    public var communities: [String] = []
    public init(cidr: String = "", communities: [String] = []) { self.cidr = cidr; self.communities = communities }
    public init(from v: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(v, at: path)
        cidr = try r.string("cidr"); communities = try r.list("communities"); try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter(); w.omitEmpty("cidr", cidr); w.omitEmpty("communities", communities); return w.value
    }
}

public enum ServiceLoadBalancerAggregation: String, StringEnum {
    case enabled = "Enabled"
    case disabled = "Disabled"
}

public enum BindMode: String, StringEnum {
    case none = "None"
    case nodeIP = "NodeIP"
}

public enum ProgramClusterRoutes: String, StringEnum {
    case enabled = "Enabled"
    case disabled = "Disabled"
    case enabledIPIPOnly = "EnabledIPIPOnly"
    case enabledNoEncapOnly = "EnabledNoEncapOnly"
}

public enum LogSeverity: String, StringEnum {
    case trace = "Trace", debug = "Debug", info = "Info", warning = "Warning", error = "Error", fatal = "Fatal"
}

/// `BGPConfigurationSpec` (calico.md §1.3). Name `default` is global, `node.<name>` per node.
public struct BGPConfigurationSpec: ResourceSpec {
    public static let kind = ResourceKind.bgpConfiguration
    public var logSeverityScreen: LogSeverity? = nil
    public var nodeToNodeMeshEnabled: Bool? = nil
    public var asNumber: ASNumber? = nil
    public var serviceLoadBalancerIPs: [ServiceIPBlock] = []
    public var serviceExternalIPs: [ServiceIPBlock] = []
    public var serviceClusterIPs: [ServiceIPBlock] = []
    public var serviceLoadBalancerAggregation: ServiceLoadBalancerAggregation? = nil
    public var communities: [Community] = []
    public var prefixAdvertisements: [PrefixAdvertisement] = []
    /// 0 = not set (Calico: "Defaults to 179").
    public var listenPort: Int = 0
    public var nodeMeshPassword: BGPPassword? = nil
    public var nodeMeshMaxRestartTime: CalicoDuration? = nil
    public var bindMode: BindMode? = nil
    public var ignoredInterfaces: [String] = []
    public var localWorkloadPeeringIPV4: String = ""
    public var localWorkloadPeeringIPV6: String = ""
    public var programClusterRoutes: ProgramClusterRoutes? = nil
    public var ipv4NormalRoutePriority: Int? = nil
    public var ipv6NormalRoutePriority: Int? = nil
    public var extensions: StringMap = [:]

    public init() {}

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        logSeverityScreen = try r.optional("logSeverityScreen")
        nodeToNodeMeshEnabled = try r.optional("nodeToNodeMeshEnabled")
        asNumber = try r.optional("asNumber")
        serviceLoadBalancerIPs = try r.list("serviceLoadBalancerIPs")
        serviceExternalIPs = try r.list("serviceExternalIPs")
        serviceClusterIPs = try r.list("serviceClusterIPs")
        serviceLoadBalancerAggregation = try r.optional("serviceLoadBalancerAggregation")
        communities = try r.list("communities")
        prefixAdvertisements = try r.list("prefixAdvertisements")
        listenPort = try r.int("listenPort")
        nodeMeshPassword = try r.optional("nodeMeshPassword")
        nodeMeshMaxRestartTime = try r.optional("nodeMeshMaxRestartTime")
        bindMode = try r.optional("bindMode")
        ignoredInterfaces = try r.list("ignoredInterfaces")
        localWorkloadPeeringIPV4 = try r.string("localWorkloadPeeringIPV4")
        localWorkloadPeeringIPV6 = try r.string("localWorkloadPeeringIPV6")
        programClusterRoutes = try r.optional("programClusterRoutes")
        ipv4NormalRoutePriority = try r.optional("ipv4NormalRoutePriority")
        ipv6NormalRoutePriority = try r.optional("ipv6NormalRoutePriority")
        extensions = try r.map("extensions")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.optional("logSeverityScreen", logSeverityScreen)
        w.optional("nodeToNodeMeshEnabled", nodeToNodeMeshEnabled)
        w.optional("asNumber", asNumber)
        w.omitEmpty("serviceLoadBalancerIPs", serviceLoadBalancerIPs)
        w.omitEmpty("serviceExternalIPs", serviceExternalIPs)
        w.omitEmpty("serviceClusterIPs", serviceClusterIPs)
        w.optional("serviceLoadBalancerAggregation", serviceLoadBalancerAggregation)
        w.omitEmpty("communities", communities)
        w.omitEmpty("prefixAdvertisements", prefixAdvertisements)
        w.omitEmpty("listenPort", listenPort)
        w.optional("nodeMeshPassword", nodeMeshPassword)
        w.optional("nodeMeshMaxRestartTime", nodeMeshMaxRestartTime)
        w.optional("bindMode", bindMode)
        w.omitEmpty("ignoredInterfaces", ignoredInterfaces)
        w.omitEmpty("localWorkloadPeeringIPV4", localWorkloadPeeringIPV4)
        w.omitEmpty("localWorkloadPeeringIPV6", localWorkloadPeeringIPV6)
        w.optional("programClusterRoutes", programClusterRoutes)
        w.optional("ipv4NormalRoutePriority", ipv4NormalRoutePriority)
        w.optional("ipv6NormalRoutePriority", ipv6NormalRoutePriority)
        w.omitEmpty("extensions", extensions)
        return w.value
    }
}

public typealias BGPConfiguration = CalicoObject<BGPConfigurationSpec>
