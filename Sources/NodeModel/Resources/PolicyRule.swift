import NetCore

public enum RuleAction: String, StringEnum {
    case allow = "Allow", deny = "Deny", log = "Log", pass = "Pass"
}

public enum PolicyType: String, StringEnum {
    case ingress = "Ingress", egress = "Egress"
}

public struct ICMPFields: Hashable, Sendable, ValueCodable {
    public var type: Int? = nil
    public var code: Int? = nil
    public init(type: Int? = nil, code: Int? = nil) { self.type = type; self.code = code }
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        type = try r.optional("type"); code = try r.optional("code"); try r.finish()
    }
    public func toValue() -> Value { var w = ObjectWriter(); w.optional("type", type); w.optional("code", code); return w.value }
}

public struct ServiceMatch: Hashable, Sendable, ValueCodable {
    public var name: String = ""
    public var namespace: String = ""
    public init() {}
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        name = try r.string("name"); namespace = try r.string("namespace"); try r.finish()
    }
    public func toValue() -> Value { var w = ObjectWriter(); w.omitEmpty("name", name); w.omitEmpty("namespace", namespace); return w.value }
}

public struct ServiceAccountMatch: Hashable, Sendable, ValueCodable {
    public var names: [String] = []
    public var selector: String = ""
    public init() {}
    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        names = try r.list("names"); selector = try r.string("selector"); try r.finish()
    }
    public func toValue() -> Value { var w = ObjectWriter(); w.omitEmpty("names", names); w.omitEmpty("selector", selector); return w.value }
}

/// `EntityRule`: the source or destination match of a rule.
public struct EntityRule: Hashable, Sendable, ValueCodable {
    public var nets: [String] = []
    public var selector: String = ""
    public var namespaceSelector: String = ""
    public var services: ServiceMatch? = nil
    public var ports: [Port] = []
    public var notNets: [String] = []
    public var notSelector: String = ""
    public var notPorts: [Port] = []
    public var serviceAccounts: ServiceAccountMatch? = nil

    public init(nets: [String] = [], selector: String = "", ports: [Port] = []) {
        self.nets = nets; self.selector = selector; self.ports = ports
    }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        nets = try r.list("nets")
        selector = try r.string("selector")
        namespaceSelector = try r.string("namespaceSelector")
        services = try r.optional("services")
        ports = try r.list("ports")
        notNets = try r.list("notNets")
        notSelector = try r.string("notSelector")
        notPorts = try r.list("notPorts")
        serviceAccounts = try r.optional("serviceAccounts")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.omitEmpty("nets", nets)
        w.omitEmpty("selector", selector)
        w.omitEmpty("namespaceSelector", namespaceSelector)
        w.optional("services", services)
        w.omitEmpty("ports", ports)
        w.omitEmpty("notNets", notNets)
        w.omitEmpty("notSelector", notSelector)
        w.omitEmpty("notPorts", notPorts)
        w.optional("serviceAccounts", serviceAccounts)
        return w.value
    }

    var isEmpty: Bool { toValue().isEmpty }
}

/// A policy rule (calico.md §1.9). `http` and `metadata` are kept verbatim.
public struct PolicyRule: Hashable, Sendable, ValueCodable {
    public var action: RuleAction? = nil
    public var ipVersion: Int? = nil
    public var `protocol`: IPProtocol? = nil
    public var icmp: ICMPFields? = nil
    public var notProtocol: IPProtocol? = nil
    public var notICMP: ICMPFields? = nil
    public var source = EntityRule()
    public var destination = EntityRule()
    public var http: Value? = nil
    public var metadata: Value? = nil

    public init(action: RuleAction? = nil, protocol p: IPProtocol? = nil, source: EntityRule = EntityRule(), destination: EntityRule = EntityRule()) {
        self.action = action; self.protocol = p; self.source = source; self.destination = destination
    }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        action = try r.optional("action")
        ipVersion = try r.optional("ipVersion")
        `protocol` = try r.optional("protocol")
        icmp = try r.optional("icmp")
        notProtocol = try r.optional("notProtocol")
        notICMP = try r.optional("notICMP")
        source = try r.field("source", default: EntityRule())
        destination = try r.field("destination", default: EntityRule())
        http = try r.optional("http")
        metadata = try r.optional("metadata")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.optional("action", action)
        w.optional("ipVersion", ipVersion)
        w.optional("protocol", `protocol`)
        w.optional("icmp", icmp)
        w.optional("notProtocol", notProtocol)
        w.optional("notICMP", notICMP)
        w.omitEmpty("source", source)
        w.omitEmpty("destination", destination)
        w.optional("http", http)
        w.optional("metadata", metadata)
        return w.value
    }
}
