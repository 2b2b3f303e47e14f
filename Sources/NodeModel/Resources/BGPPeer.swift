import NetCore

public enum NextHopMode: String, StringEnum {
    case auto = "Auto"
    case `self` = "Self"
    case keep = "Keep"
}

public enum SourceAddress: String, StringEnum {
    case useNodeIP = "UseNodeIP"
    case none = "None"
}

public enum ReversePeering: String, StringEnum {
    case auto = "Auto"
    case manual = "Manual"
}

/// `BGPPeerSpec` (calico.md §1.2). Neither `node` nor `nodeSelector` means a global peer.
public struct BGPPeerSpec: ResourceSpec {
    public static let kind = ResourceKind.bgpPeer
    public var node: String = ""
    /// `IP`, `IPv4:port` or `[IPv6]:port`; see `peerEndpoint` for the parsed form.
    public var peerIP: String = ""
    /// Nil = not set (Go's zero AS is "unset" and omitted).
    public var asNumber: ASNumber? = nil
    public var nodeSelector: String = ""
    public var peerSelector: String = ""
    public var keepOriginalNextHop: Bool = false
    public var nextHopMode: NextHopMode? = nil
    public var password: BGPPassword? = nil
    public var sourceAddress: SourceAddress? = nil
    public var maxRestartTime: CalicoDuration? = nil
    public var numAllowedLocalASNumbers: Int? = nil
    public var ttlSecurity: Int? = nil
    public var keepaliveTime: CalicoDuration? = nil
    public var reachableBy: String = ""
    public var filters: [String] = []
    public var localWorkloadSelector: String = ""
    public var reversePeering: ReversePeering? = nil
    public var localASNumber: ASNumber? = nil

    public init() {}

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        node = try r.string("node")
        peerIP = try r.string("peerIP")
        asNumber = try r.optional("asNumber")
        if asNumber == ASNumber(0) { asNumber = nil }
        nodeSelector = try r.string("nodeSelector")
        peerSelector = try r.string("peerSelector")
        keepOriginalNextHop = try r.bool("keepOriginalNextHop")
        nextHopMode = try r.optional("nextHopMode")
        password = try r.optional("password")
        sourceAddress = try r.optional("sourceAddress")
        maxRestartTime = try r.optional("maxRestartTime")
        numAllowedLocalASNumbers = try r.optional("numAllowedLocalASNumbers")
        ttlSecurity = try r.optional("ttlSecurity")
        keepaliveTime = try r.optional("keepaliveTime")
        reachableBy = try r.string("reachableBy")
        filters = try r.list("filters")
        localWorkloadSelector = try r.string("localWorkloadSelector")
        reversePeering = try r.optional("reversePeering")
        localASNumber = try r.optional("localASNumber")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.omitEmpty("node", node)
        w.omitEmpty("peerIP", peerIP)
        w.optional("asNumber", asNumber)
        w.omitEmpty("nodeSelector", nodeSelector)
        w.omitEmpty("peerSelector", peerSelector)
        w.omitEmpty("keepOriginalNextHop", keepOriginalNextHop)
        w.optional("nextHopMode", nextHopMode)
        w.optional("password", password)
        w.optional("sourceAddress", sourceAddress)
        w.optional("maxRestartTime", maxRestartTime)
        w.optional("numAllowedLocalASNumbers", numAllowedLocalASNumbers)
        w.optional("ttlSecurity", ttlSecurity)
        w.optional("keepaliveTime", keepaliveTime)
        w.omitEmpty("reachableBy", reachableBy)
        w.omitEmpty("filters", filters)
        w.omitEmpty("localWorkloadSelector", localWorkloadSelector)
        w.optional("reversePeering", reversePeering)
        w.optional("localASNumber", localASNumber)
        return w.value
    }
}

public typealias BGPPeer = CalicoObject<BGPPeerSpec>
