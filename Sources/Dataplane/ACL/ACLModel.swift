import NetCore

// Twill's own policy IR for the ACL dataplane (the analogue of Felix's proto.Rule / proto.Policy).
// The agent translates NodeModel policies into these values: selectors arrive already resolved
// (a policy carries the set of local workload interfaces it applies to; a rule's selector is an
// IP set id whose members the agent computed). Everything here is plain data; `ACLRenderer`
// turns an `ACLInput` into the desired nftables model (`NFTModel`).

/// What a rule does when it matches (Calico `Rule.action`).
public enum ACLAction: String, Hashable, Sendable, Codable, CaseIterable {
    /// Accept for this direction: the endpoint chain returns with the accept mark set.
    case allow = "Allow"
    /// Drop the packet.
    case deny = "Deny"
    /// Log the packet (nft `log`) and carry on with the next rule.
    case log = "Log"
    /// Skip the rest of this tier: go on to the next tier, or to the profile stage.
    case pass = "Pass"
}

/// Which way a policy looks at a workload: ingress = traffic to it, egress = traffic from it.
public enum ACLDirection: String, Hashable, Sendable, Codable, CaseIterable {
    case ingress = "Ingress"
    case egress = "Egress"
}

/// An ICMP match: a type and optionally a code (Calico `icmp`/`notICMP`).
public struct ACLICMPMatch: Hashable, Sendable, Codable {
    public var type: UInt8
    public var code: UInt8?
    public init(type: UInt8, code: UInt8? = nil) { self.type = type; self.code = code }
}

/// A numeric port or inclusive range. Named ports are resolved by the agent before rendering.
public struct ACLPortRange: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var first: UInt16
    public var last: UInt16
    public init(_ port: UInt16) { first = port; last = port }
    public init(_ first: UInt16, _ last: UInt16) { self.first = first; self.last = last }
    public static func < (l: Self, r: Self) -> Bool { (l.first, l.last) < (r.first, r.last) }
    public var description: String { first == last ? "\(first)" : "\(first)-\(last)" }
}

/// A stable id for an IP set: the hash of the selector expression it was computed from, so the
/// same selector always names the same nft set across restarts and across nodes.
public struct ACLIPSetID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    /// The id of the IP set holding the addresses a selector matches (16 hex digits of FNV-1a 64).
    public static func forSelector(_ selector: String) -> ACLIPSetID {
        ACLIPSetID(rawValue: ACLHash.hex64(selector))
    }
    public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }
    public var description: String { rawValue }
}

/// One side of a rule (Calico `EntityRule`) with selectors already resolved to IP sets.
public struct ACLEntityMatch: Hashable, Sendable {
    public var nets: [IPPrefix]
    public var notNets: [IPPrefix]
    public var ports: [ACLPortRange]
    public var notPorts: [ACLPortRange]
    /// The IP set of the addresses `selector` matches.
    public var selector: ACLIPSetID?
    public var notSelector: ACLIPSetID?

    public init(nets: [IPPrefix] = [], notNets: [IPPrefix] = [], ports: [ACLPortRange] = [],
                notPorts: [ACLPortRange] = [], selector: ACLIPSetID? = nil, notSelector: ACLIPSetID? = nil) {
        self.nets = nets; self.notNets = notNets; self.ports = ports; self.notPorts = notPorts
        self.selector = selector; self.notSelector = notSelector
    }

    var hasPorts: Bool { !ports.isEmpty || !notPorts.isEmpty }
}

/// One policy rule (Calico `Rule`). Calico's validator runs upstream: ports come with TCP, UDP or
/// SCTP, ICMP with a matching `ipVersion`. The renderer still refuses what it cannot express.
public struct ACLRule: Hashable, Sendable {
    public var action: ACLAction
    public var ipVersion: IPFamily?
    /// IP protocol number (6 tcp, 17 udp, 132 sctp, 1 icmp, 58 icmpv6, ...).
    public var protocol_: UInt8?
    public var notProtocol: UInt8?
    public var icmp: ACLICMPMatch?
    public var notICMP: ACLICMPMatch?
    public var source: ACLEntityMatch
    public var destination: ACLEntityMatch

    public init(action: ACLAction, ipVersion: IPFamily? = nil, protocol_: UInt8? = nil, notProtocol: UInt8? = nil,
                icmp: ACLICMPMatch? = nil, notICMP: ACLICMPMatch? = nil,
                source: ACLEntityMatch = .init(), destination: ACLEntityMatch = .init()) {
        self.action = action; self.ipVersion = ipVersion; self.protocol_ = protocol_; self.notProtocol = notProtocol
        self.icmp = icmp; self.notICMP = notICMP; self.source = source; self.destination = destination
    }

    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let sctp: UInt8 = 132
    public static let icmpV4: UInt8 = 1
    public static let icmpV6: UInt8 = 58
}

/// A Calico tier: policies are evaluated tier by tier (lower `order` first, ties by name).
public struct ACLTier: Hashable, Sendable {
    public enum DefaultAction: String, Hashable, Sendable { case deny = "Deny", pass = "Pass" }
    public var name: String
    public var order: Double?
    public var defaultAction: DefaultAction
    public init(name: String, order: Double? = nil, defaultAction: DefaultAction = .deny) {
        self.name = name; self.order = order; self.defaultAction = defaultAction
    }
    /// Calico's `default` tier (order 1,000,000, default action Deny).
    public static let `default` = ACLTier(name: "default", order: 1_000_000)
}

/// A policy with its selector already resolved to the local workload interfaces it applies to.
public struct ACLPolicy: Hashable, Sendable {
    /// Unique among the input's policies (Calico's `tier.name` / `namespace/name` key).
    public var name: String
    /// Lower first; nil sorts last; ties broken by name (Calico `order`).
    public var order: Double?
    public var tier: String
    /// Interface names of the local workloads the selector matches.
    public var selects: Set<String>
    /// Which directions the policy applies to (Calico `types`).
    public var types: Set<ACLDirection>
    public var ingress: [ACLRule]
    public var egress: [ACLRule]

    /// `types` defaults as Calico does: Ingress always, plus Egress when there are egress rules.
    public init(name: String, order: Double? = nil, tier: String = "default", selects: Set<String>,
                types: Set<ACLDirection>? = nil, ingress: [ACLRule] = [], egress: [ACLRule] = []) {
        self.name = name; self.order = order; self.tier = tier; self.selects = selects
        self.types = types ?? (egress.isEmpty ? [.ingress] : [.ingress, .egress])
        self.ingress = ingress; self.egress = egress
    }
}

/// A workload on this node: its host-side interface and the addresses it may send from.
public struct ACLWorkload: Hashable, Sendable {
    public var interface: String
    public var addresses: [IPAddress]
    public init(interface: String, addresses: [IPAddress]) { self.interface = interface; self.addresses = addresses }
}

/// An IP pool as far as the ACL dataplane cares: its CIDR and whether to masquerade.
public struct ACLPool: Hashable, Sendable {
    public var cidr: IPPrefix
    public var natOutgoing: Bool
    public init(cidr: IPPrefix, natOutgoing: Bool) { self.cidr = cidr; self.natOutgoing = natOutgoing }
}

/// A host port kept open whatever else Twill programs (Felix failsafe ports).
public struct ACLFailsafePort: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var protocol_: UInt8
    public var port: UInt16
    public init(_ protocol_: UInt8, _ port: UInt16) { self.protocol_ = protocol_; self.port = port }
    public static func tcp(_ p: UInt16) -> Self { .init(ACLRule.tcp, p) }
    public static func udp(_ p: UInt16) -> Self { .init(ACLRule.udp, p) }
    public static func < (l: Self, r: Self) -> Bool { (l.protocol_, l.port) < (r.protocol_, r.port) }
    public var description: String { "\(ACLNames.protocolName(protocol_)):\(port)" }

    /// Felix's `FailsafeInboundHostPorts` default.
    public static let defaultInbound: [ACLFailsafePort] = [
        .tcp(22), .udp(68), .tcp(179), .tcp(2379), .tcp(2380), .tcp(5473), .tcp(6443), .tcp(6666), .tcp(6667),
    ]
    /// Felix's `FailsafeOutboundHostPorts` default.
    public static let defaultOutbound: [ACLFailsafePort] = [
        .udp(53), .udp(67), .tcp(179), .tcp(2379), .tcp(2380), .tcp(5473), .tcp(6443), .tcp(6666), .tcp(6667),
    ]
}

/// Host-side verdict for traffic Twill does not otherwise decide.
public enum ACLHostAction: String, Hashable, Sendable { case accept = "Accept", drop = "Drop" }

/// Knobs (FelixConfiguration analogues).
public struct ACLSettings: Hashable, Sendable {
    /// nft table (family inet) that Twill owns; nothing outside it is ever touched.
    public var tableName: String
    /// Workload interface prefix (Felix `InterfacePrefix`); unknown interfaces with it are dropped.
    public var interfacePrefix: String
    /// Mark bit meaning "a policy allowed this packet" (inside Felix's 0xffff0000 mask).
    public var acceptMark: UInt32
    /// Mark bit meaning "a policy passed this packet to the next tier".
    public var passMark: UInt32
    public var failsafeInbound: [ACLFailsafePort]
    public var failsafeOutbound: [ACLFailsafePort]
    /// After a workload's egress policy allowed a packet to this host (Felix `DefaultEndpointToHostAction`).
    public var endpointToHostAction: ACLHostAction
    /// New inbound host traffic that is not from a workload, not loopback and not failsafe.
    public var hostInboundAction: ACLHostAction
    /// New outbound host traffic that is not to a workload, not loopback and not failsafe.
    public var hostOutboundAction: ACLHostAction
    /// Prefix of `log` statements rendered for the Log action (Felix `LogPrefix`).
    public var logPrefix: String

    public init(tableName: String = "twill", interfacePrefix: String = "tw", acceptMark: UInt32 = 0x10000,
                passMark: UInt32 = 0x20000, failsafeInbound: [ACLFailsafePort] = ACLFailsafePort.defaultInbound,
                failsafeOutbound: [ACLFailsafePort] = ACLFailsafePort.defaultOutbound,
                endpointToHostAction: ACLHostAction = .accept, hostInboundAction: ACLHostAction = .accept,
                hostOutboundAction: ACLHostAction = .accept, logPrefix: String = "twill-packet") {
        self.tableName = tableName; self.interfacePrefix = interfacePrefix
        self.acceptMark = acceptMark; self.passMark = passMark
        self.failsafeInbound = failsafeInbound; self.failsafeOutbound = failsafeOutbound
        self.endpointToHostAction = endpointToHostAction
        self.hostInboundAction = hostInboundAction; self.hostOutboundAction = hostOutboundAction
        self.logPrefix = logPrefix
    }
}

/// Everything the ACL dataplane renders from: the whole desired state, not a delta.
public struct ACLInput: Hashable, Sendable {
    public var workloads: [ACLWorkload]
    public var policies: [ACLPolicy]
    public var tiers: [ACLTier]
    public var ipSets: [ACLIPSetID: [IPAddress]]
    public var pools: [ACLPool]
    public var settings: ACLSettings

    public init(workloads: [ACLWorkload] = [], policies: [ACLPolicy] = [], tiers: [ACLTier] = [],
                ipSets: [ACLIPSetID: [IPAddress]] = [:], pools: [ACLPool] = [], settings: ACLSettings = .init()) {
        self.workloads = workloads; self.policies = policies; self.tiers = tiers
        self.ipSets = ipSets; self.pools = pools; self.settings = settings
    }
}
