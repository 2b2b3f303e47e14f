public enum BGPFilterMatchOperator: String, StringEnum {
    case equal = "Equal", notEqual = "NotEqual", `in` = "In", notIn = "NotIn"
}

public enum BGPFilterAction: String, StringEnum {
    case accept = "Accept", reject = "Reject"
}

public enum BGPFilterMatchSource: String, StringEnum {
    case remotePeers = "RemotePeers"
}

public enum BGPFilterPeerType: String, StringEnum {
    case eBGP, iBGP
}

public struct BGPFilterPrefixLength: Hashable, Sendable, ValueCodable {
    public var min: Int? = nil
    public var max: Int? = nil
    public init(min: Int? = nil, max: Int? = nil) { self.min = min; self.max = max }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        min = try r.optional("min"); max = try r.optional("max"); try r.finish()
    }
    public func toValue() -> Value { var w = ObjectWriter(); w.optional("min", min); w.optional("max", max); return w.value }
}

/// One filter operation (exactly one member set).
public struct BGPFilterOperation: Hashable, Sendable, ValueCodable {
    public var addCommunity: String? = nil
    public var prependASPath: [Int]? = nil
    public var setPriority: Int? = nil
    public init() {}
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        if let v = r.raw("addCommunity"), v != .null {
            var c = try ObjectReader(v, at: path.child("addCommunity")); addCommunity = try c.string("value"); try c.finish()
        }
        if let v = r.raw("prependASPath"), v != .null {
            var c = try ObjectReader(v, at: path.child("prependASPath")); prependASPath = try c.list("prefix"); try c.finish()
        }
        if let v = r.raw("setPriority"), v != .null {
            var c = try ObjectReader(v, at: path.child("setPriority")); setPriority = try c.int("value"); try c.finish()
        }
        try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter()
        if let addCommunity { w.always("addCommunity", Value.object(["value": .string(addCommunity)])) }
        if let prependASPath { w.always("prependASPath", Value.object(["prefix": prependASPath.toValue()])) }
        if let setPriority { w.always("setPriority", Value.object(["value": .int(Int64(setPriority))])) }
        return w.value
    }
}

/// One ordered filter rule (the V4 and V6 rule types share their fields).
public struct BGPFilterRule: Hashable, Sendable, ValueCodable {
    public var cidr: String = ""
    public var prefixLength: BGPFilterPrefixLength? = nil
    public var source: BGPFilterMatchSource? = nil
    public var interface: String = ""
    public var matchOperator: BGPFilterMatchOperator? = nil
    public var peerType: BGPFilterPeerType? = nil
    /// `communities.values` (one community).
    public var communities: [String] = []
    public var asPathPrefix: [Int] = []
    public var priority: Int? = nil
    public var action: BGPFilterAction? = nil
    public var operations: [BGPFilterOperation] = []

    public init(cidr: String = "", matchOperator: BGPFilterMatchOperator? = nil, action: BGPFilterAction? = nil) {
        self.cidr = cidr; self.matchOperator = matchOperator; self.action = action
    }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        cidr = try r.string("cidr")
        prefixLength = try r.optional("prefixLength")
        source = try r.optional("source")
        interface = try r.string("interface")
        matchOperator = try r.optional("matchOperator")
        peerType = try r.optional("peerType")
        if let v = r.raw("communities"), v != .null {
            var c = try ObjectReader(v, at: path.child("communities")); communities = try c.list("values"); try c.finish()
        }
        asPathPrefix = try r.list("asPathPrefix")
        priority = try r.optional("priority")
        action = try r.optional("action")
        operations = try r.list("operations")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.omitEmpty("cidr", cidr)
        w.optional("prefixLength", prefixLength)
        w.optional("source", source)
        w.omitEmpty("interface", interface)
        w.optional("matchOperator", matchOperator)
        w.optional("peerType", peerType)
        if !communities.isEmpty { w.always("communities", Value.object(["values": communities.toValue()])) }
        w.omitEmpty("asPathPrefix", asPathPrefix)
        w.optional("priority", priority)
        w.optional("action", action)
        w.omitEmpty("operations", operations)
        return w.value
    }
}

/// `BGPFilterSpec` (calico.md §1.5): ordered rules, first match wins.
public struct BGPFilterSpec: ResourceSpec {
    public static let kind = ResourceKind.bgpFilter
    public var exportV4: [BGPFilterRule] = []
    public var importV4: [BGPFilterRule] = []
    public var exportV6: [BGPFilterRule] = []
    public var importV6: [BGPFilterRule] = []
    public init() {}
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        exportV4 = try r.list("exportV4"); importV4 = try r.list("importV4")
        exportV6 = try r.list("exportV6"); importV6 = try r.list("importV6")
        try r.finish()
    }
    public func toValue() -> Value {
        var w = ObjectWriter()
        w.omitEmpty("exportV4", exportV4); w.omitEmpty("importV4", importV4)
        w.omitEmpty("exportV6", exportV6); w.omitEmpty("importV6", importV6)
        return w.value
    }
}

public typealias BGPFilter = CalicoObject<BGPFilterSpec>
