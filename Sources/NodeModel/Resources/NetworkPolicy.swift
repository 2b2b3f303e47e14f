/// `NetworkPolicySpec` (namespaced) and, with the GNP-only fields set, `GlobalNetworkPolicySpec`:
/// both share this shape so rule validation and the dataplane compile them alike.
public struct NetworkPolicySpec: ResourceSpec {
    public static let kind = ResourceKind.networkPolicy
    public var tier: String = ""
    /// Lower orders apply first; nil = last (ties broken by name).
    public var order: Double? = nil
    public var ingress: [PolicyRule] = []
    public var egress: [PolicyRule] = []
    public var selector: String = ""
    /// Empty = not set; `withDefaults()` derives it from the rules present.
    public var types: [PolicyType] = []
    public var serviceAccountSelector: String = ""
    public var performanceHints: [String] = []

    public init() {}
    public init(selector: String, ingress: [PolicyRule] = [], egress: [PolicyRule] = []) {
        self.selector = selector; self.ingress = ingress; self.egress = egress
    }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        try decodeCommon(&r)
        try r.finish()
    }

    mutating func decodeCommon(_ r: inout ObjectReader) throws(FieldError) {
        tier = try r.string("tier")
        order = try r.optional("order")
        ingress = try r.list("ingress")
        egress = try r.list("egress")
        selector = try r.string("selector")
        types = try r.list("types")
        serviceAccountSelector = try r.string("serviceAccountSelector")
        performanceHints = try r.list("performanceHints")
    }

    func encodeCommon(_ w: inout ObjectWriter) {
        w.omitEmpty("tier", tier)
        w.optional("order", order)
        w.omitEmpty("ingress", ingress)
        w.omitEmpty("egress", egress)
        w.omitEmpty("selector", selector)
        w.omitEmpty("types", types)
        w.omitEmpty("serviceAccountSelector", serviceAccountSelector)
        w.omitEmpty("performanceHints", performanceHints)
    }

    public func toValue() -> Value { var w = ObjectWriter(); encodeCommon(&w); return w.value }
}

public struct GlobalNetworkPolicySpec: ResourceSpec {
    public static let kind = ResourceKind.globalNetworkPolicy
    /// The fields shared with `NetworkPolicySpec`.
    public var common = NetworkPolicySpec()
    public var doNotTrack: Bool = false
    public var preDNAT: Bool = false
    public var applyOnForward: Bool = false
    public var namespaceSelector: String = ""

    public init() {}

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        try common.decodeCommon(&r)
        doNotTrack = try r.bool("doNotTrack")
        preDNAT = try r.bool("preDNAT")
        applyOnForward = try r.bool("applyOnForward")
        namespaceSelector = try r.string("namespaceSelector")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        common.encodeCommon(&w)
        w.omitEmpty("doNotTrack", doNotTrack)
        w.omitEmpty("preDNAT", preDNAT)
        w.omitEmpty("applyOnForward", applyOnForward)
        w.omitEmpty("namespaceSelector", namespaceSelector)
        return w.value
    }
}

public typealias NetworkPolicy = CalicoObject<NetworkPolicySpec>

public typealias GlobalNetworkPolicy = CalicoObject<GlobalNetworkPolicySpec>
