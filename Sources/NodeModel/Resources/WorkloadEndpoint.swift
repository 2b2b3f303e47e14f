import NetCore

public struct IPNAT: Hashable, Sendable, ValueCodable {
    public var internalIP: String = ""
    public var externalIP: String = ""
    public init(internalIP: String = "", externalIP: String = "") { self.internalIP = internalIP; self.externalIP = externalIP }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        internalIP = try r.string("internalIP"); externalIP = try r.string("externalIP"); try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter(); w.always("internalIP", internalIP); w.always("externalIP", externalIP); return w.value
    }
}

public struct WorkloadEndpointPort: Hashable, Sendable, ValueCodable {
    public var name: String = ""
    public var `protocol`: IPProtocol? = nil
    public var port: Int = 0
    public var hostPort: Int = 0
    public var hostIP: String = ""
    public init(name: String = "", protocol p: IPProtocol? = nil, port: Int = 0) { self.name = name; self.protocol = p; self.port = port }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        name = try r.string("name"); `protocol` = try r.optional("protocol"); port = try r.int("port")
        hostPort = try r.int("hostPort"); hostIP = try r.string("hostIP")
        try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter()
        w.always("name", name); w.optional("protocol", `protocol`); w.always("port", port)
        w.omitEmpty("hostPort", hostPort); w.omitEmpty("hostIP", hostIP)
        return w.value
    }
}

/// `WorkloadEndpointSpec` (calico.md §1.8). `qosControls` is kept verbatim.
public struct WorkloadEndpointSpec: ResourceSpec {
    public static let kind = ResourceKind.workloadEndpoint
    public var orchestrator: String = ""
    public var workload: String = ""
    public var node: String = ""
    public var containerID: String = ""
    public var pod: String = ""
    public var endpoint: String = ""
    public var serviceAccountName: String = ""
    /// Host prefixes only (/32 or /128).
    public var ipNetworks: [String] = []
    public var ipNATs: [IPNAT] = []
    public var ipv4Gateway: String = ""
    public var ipv6Gateway: String = ""
    public var profiles: [String] = []
    public var interfaceName: String = ""
    public var mac: String = ""
    public var ports: [WorkloadEndpointPort] = []
    public var allowSpoofedSourcePrefixes: [String] = []
    public var qosControls: Value? = nil

    public init() {}

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        orchestrator = try r.string("orchestrator")
        workload = try r.string("workload")
        node = try r.string("node")
        containerID = try r.string("containerID")
        pod = try r.string("pod")
        endpoint = try r.string("endpoint")
        serviceAccountName = try r.string("serviceAccountName")
        ipNetworks = try r.list("ipNetworks")
        ipNATs = try r.list("ipNATs")
        ipv4Gateway = try r.string("ipv4Gateway")
        ipv6Gateway = try r.string("ipv6Gateway")
        profiles = try r.list("profiles")
        interfaceName = try r.string("interfaceName")
        mac = try r.string("mac")
        ports = try r.list("ports")
        allowSpoofedSourcePrefixes = try r.list("allowSpoofedSourcePrefixes")
        qosControls = try r.optional("qosControls")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.omitEmpty("orchestrator", orchestrator)
        w.omitEmpty("workload", workload)
        w.omitEmpty("node", node)
        w.omitEmpty("containerID", containerID)
        w.omitEmpty("pod", pod)
        w.omitEmpty("endpoint", endpoint)
        w.omitEmpty("serviceAccountName", serviceAccountName)
        w.omitEmpty("ipNetworks", ipNetworks)
        w.omitEmpty("ipNATs", ipNATs)
        w.omitEmpty("ipv4Gateway", ipv4Gateway)
        w.omitEmpty("ipv6Gateway", ipv6Gateway)
        w.omitEmpty("profiles", profiles)
        w.omitEmpty("interfaceName", interfaceName)
        w.omitEmpty("mac", mac)
        w.omitEmpty("ports", ports)
        w.omitEmpty("allowSpoofedSourcePrefixes", allowSpoofedSourcePrefixes)
        w.optional("qosControls", qosControls)
        return w.value
    }
}

public typealias WorkloadEndpoint = CalicoObject<WorkloadEndpointSpec>

extension WorkloadEndpointSpec {
    /// The resource name Calico derives from the endpoint's identifiers
    /// (`names.WorkloadEndpointIdentifiers.CalculateWorkloadEndpointName`): node, orchestrator,
    /// pod (k8s) / containerID (cni) / workload, and endpoint, each with `-` doubled, joined by
    /// `-`; e.g. `node1-k8s-web--0-eth0`.
    /// Node, orchestrator and endpoint are set (the parts the name is derived from).
    public var hasIdentifiers: Bool { !node.isEmpty && !orchestrator.isEmpty && !endpoint.isEmpty }

    public var calicoName: String {
        let middle: String
        switch orchestrator {
        case "k8s": middle = pod
        case "cni": middle = containerID
        default: middle = workload
        }
        return [node, orchestrator, middle, endpoint]
            .map { String($0.flatMap { $0 == "-" ? ["-", "-"] : [$0] }) }
            .joined(separator: "-")
    }
}
