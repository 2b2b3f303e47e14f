import NetCore

// The desired nftables state of Twill's one table, as plain values. `ACLRenderer` produces it,
// `NFTPlan` diffs two of them, `NFTModel.script()` prints it as `nft -f` text, and
// DataplaneLinux lowers it to libnftnl expressions. Matches are high level (what `nft` prints),
// with every protocol dependency explicit, so the text and the netlink forms are the same rule.

/// Which interface a match or verdict map looks at.
public enum NFTInterfaceKey: String, Hashable, Sendable {
    case iifname, oifname
}

/// Source or destination address of one family (`ip saddr`, `ip6 daddr`, ...).
public struct NFTAddressField: Hashable, Sendable {
    public enum Side: Hashable, Sendable { case source, destination }
    public var side: Side
    public var family: IPFamily
    public init(_ side: Side, _ family: IPFamily) { self.side = side; self.family = family }
}

/// What an address is compared with.
public enum NFTAddressValue: Hashable, Sendable {
    case prefix(IPPrefix)
    case set(String)
}

/// What a transport port is compared with (`th dport 80`, `th dport 80-90`, `th dport @set`).
public enum NFTPortValue: Hashable, Sendable {
    case range(ACLPortRange)
    case set(String)
}

/// Conntrack state bits, as the kernel numbers them (`NF_CT_STATE_*_BIT`).
public struct NFTCtState: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let invalid = NFTCtState(rawValue: 1)
    public static let established = NFTCtState(rawValue: 1 << 1)
    public static let related = NFTCtState(rawValue: 1 << 2)
    public static let new = NFTCtState(rawValue: 1 << 3)
}

/// One match of a rule. All matches of a rule must hold (logical and).
public enum NFTMatch: Hashable, Sendable {
    /// `meta nfproto ipv4|ipv6`.
    case nfproto(IPFamily)
    /// `meta l4proto [!=] N`.
    case l4proto(UInt8, negated: Bool)
    /// `iifname|oifname [!=] "name"`; with `wildcard`, `name` is a prefix (`"tw*"`).
    case interface(NFTInterfaceKey, String, wildcard: Bool, negated: Bool)
    /// `ip saddr [!=] 10.0.0.0/8` or `ip6 daddr [!=] @set`.
    case address(NFTAddressField, NFTAddressValue, negated: Bool)
    /// `th sport|dport [!=] value`; needs an `l4proto` match earlier in the rule.
    case port(NFTAddressField.Side, NFTPortValue, negated: Bool)
    /// `icmp type 8 icmp code 0` (`icmpv6` for v6); negated means "not this type (and code)".
    case icmp(IPFamily, type: UInt8, code: UInt8?, negated: Bool)
    /// `icmpv6 type 130-136` style ranges.
    case icmpTypeRange(IPFamily, UInt8, UInt8)
    /// `ct state established,related` (any of the bits), or negated (none of them).
    case ctState(NFTCtState, negated: Bool)
    /// `meta mark & bits != 0` (`isSet`) or `== 0`.
    case mark(UInt32, isSet: Bool)
}

/// A non-terminal statement of a rule.
public enum NFTStatement: Hashable, Sendable {
    /// `meta mark set mark & ~clear | set`.
    case setMark(clear: UInt32, set: UInt32)
    /// `log prefix "..."`.
    case log(prefix: String)
    /// `masquerade fully-random`.
    case masquerade
}

/// The verdict that ends a rule.
public enum NFTVerdict: Hashable, Sendable {
    case accept, drop, `return`
    case jump(String)
    case goto(String)
    /// `iifname vmap @map`: look the interface up in a verdict map.
    case vmap(NFTInterfaceKey, String)
}

/// One rule: matches, then statements, then an optional verdict. The comment is rule user data.
public struct NFTRule: Hashable, Sendable {
    public var matches: [NFTMatch]
    public var statements: [NFTStatement]
    public var verdict: NFTVerdict?
    public var comment: String?
    public init(_ matches: [NFTMatch] = [], _ statements: [NFTStatement] = [], _ verdict: NFTVerdict?,
                comment: String? = nil) {
        self.matches = matches; self.statements = statements; self.verdict = verdict; self.comment = comment
    }

    /// Chains this rule jumps or goes to.
    public var chainReferences: [String] {
        switch verdict {
        case .jump(let c), .goto(let c): [c]
        default: []
        }
    }

    /// Sets and maps this rule looks up.
    public var setReferences: [String] {
        var out: [String] = []
        for m in matches {
            switch m {
            case .address(_, .set(let s), _): out.append(s)
            case .port(_, .set(let s), _): out.append(s)
            default: break
            }
        }
        if case .vmap(_, let m) = verdict { out.append(m) }
        return out
    }
}

/// Where a base chain hooks in.
public struct NFTHook: Hashable, Sendable {
    public enum ChainType: String, Hashable, Sendable { case filter, nat }
    public enum Point: String, Hashable, Sendable { case prerouting, input, forward, output, postrouting }
    public var type: ChainType
    public var point: Point
    public var priority: Int32
    public var policyAccept: Bool
    public init(_ type: ChainType, _ point: Point, priority: Int32, policyAccept: Bool = true) {
        self.type = type; self.point = point; self.priority = priority; self.policyAccept = policyAccept
    }
}

/// A chain: regular (hook nil) or base.
public struct NFTChain: Hashable, Sendable {
    public var name: String
    public var hook: NFTHook?
    public var rules: [NFTRule]
    public init(name: String, hook: NFTHook? = nil, rules: [NFTRule] = []) {
        self.name = name; self.hook = hook; self.rules = rules
    }
}

/// Key type of a set, with the nft datatype number libnftnl sends (`NFTNL_SET_KEY_TYPE`).
public enum NFTKeyType: String, Hashable, Sendable {
    case ipv4Addr = "ipv4_addr", ipv6Addr = "ipv6_addr", inetService = "inet_service", ifname
    /// nft's datatype id (`enum datatypes` in nftables' datatype.h).
    public var datatype: UInt32 {
        switch self { case .ipv4Addr: 7; case .ipv6Addr: 8; case .inetService: 13; case .ifname: 41 }
    }
    /// Key length in bytes.
    public var length: Int {
        switch self { case .ipv4Addr: 4; case .ipv6Addr: 16; case .inetService: 2; case .ifname: 16 }
    }
}

/// One element: a key, an inclusive end for interval sets, a verdict for verdict maps.
public struct NFTSetElement: Hashable, Sendable, Comparable {
    public var key: [UInt8]
    public var keyLast: [UInt8]?
    public var verdict: NFTVerdict?
    public init(key: [UInt8], keyLast: [UInt8]? = nil, verdict: NFTVerdict? = nil) {
        self.key = key; self.keyLast = keyLast; self.verdict = verdict
    }
    public static func < (l: Self, r: Self) -> Bool {
        l.key.lexicographicallyPrecedes(r.key)
            || (l.key == r.key && (l.keyLast ?? []).lexicographicallyPrecedes(r.keyLast ?? []))
    }

    /// A typed address element.
    public static func address(_ a: IPAddress) -> NFTSetElement { NFTSetElement(key: a.bytes) }
    /// A verdict-map element keyed by interface name.
    public static func ifname(_ name: String, _ verdict: NFTVerdict) -> NFTSetElement {
        NFTSetElement(key: NFTSetElement.ifnameBytes(name), verdict: verdict)
    }
    /// An interface name as the kernel compares it: IFNAMSIZ (16) bytes, zero padded.
    public static func ifnameBytes(_ name: String) -> [UInt8] {
        var b = Array(name.utf8.prefix(15))
        b.append(contentsOf: repeatElement(0, count: 16 - b.count))
        return b
    }
}

/// A named set or verdict map. `mutable` sets (selector IP sets, dispatch maps) are diffed
/// element by element; immutable ones are named after their content and only added or deleted.
public struct NFTSet: Hashable, Sendable {
    public var name: String
    public var keyType: NFTKeyType
    public var interval: Bool
    public var isVerdictMap: Bool
    public var mutable: Bool
    public var elements: Set<NFTSetElement>
    public init(name: String, keyType: NFTKeyType, interval: Bool = false, isVerdictMap: Bool = false,
                mutable: Bool, elements: Set<NFTSetElement> = []) {
        self.name = name; self.keyType = keyType; self.interval = interval; self.isVerdictMap = isVerdictMap
        self.mutable = mutable; self.elements = elements
    }

    /// Same kernel object apart from its elements.
    public func sameDefinition(as o: NFTSet) -> Bool {
        name == o.name && keyType == o.keyType && interval == o.interval && isVerdictMap == o.isVerdictMap
    }
}

/// The whole desired content of Twill's table (always family `inet`).
public struct NFTModel: Hashable, Sendable {
    public var table: String
    public var chains: [String: NFTChain]
    public var sets: [String: NFTSet]
    public init(table: String, chains: [String: NFTChain] = [:], sets: [String: NFTSet] = [:]) {
        self.table = table; self.chains = chains; self.sets = sets
    }

    /// Every chain, set and map a rule or map element refers to exists (a strict self-check).
    public func danglingReferences() -> [String] {
        var out: [String] = []
        for c in chains.values.sorted(by: { $0.name < $1.name }) {
            for r in c.rules {
                for t in r.chainReferences where chains[t] == nil { out.append("chain \(c.name) jumps to missing chain \(t)") }
                for s in r.setReferences where sets[s] == nil { out.append("chain \(c.name) uses missing set \(s)") }
            }
        }
        for s in sets.values where s.isVerdictMap {
            for e in s.elements {
                switch e.verdict {
                case .jump(let t)?, .goto(let t)?:
                    if chains[t] == nil { out.append("map \(s.name) points at missing chain \(t)") }
                default: break
                }
            }
        }
        return out.sorted()
    }
}
