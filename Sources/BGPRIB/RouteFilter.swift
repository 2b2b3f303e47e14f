import BGPWire
import NetCore

// Calico's BGPFilter (calico.md §1.5) as a pure evaluator over BGP path attributes.
//
// confd renders each BGPFilter into four BIRD functions (`bgp_<name>_{import,export}FilterV{4,6}`)
// of one `if (<conditions>) then { <operations> accept; }` / `{ reject; }` statement per rule, and
// calls them in the peer's `spec.filters` order from the peer's import/export filter. So: the first
// rule that matches, across the peer's filters in order, decides; a route no rule matches falls
// through to the default behaviour (Calico's export policy on export, accept on import), which
// is the caller's (`FilterOutcome.noMatch`).

/// Which of a filter's rule lists applies.
public enum FilterDirection: Hashable, Sendable { case importing, exporting }

/// What a rule can look at besides the attributes.
public struct FilterSubject: Hashable, Sendable {
    public var prefix: IPPrefix
    /// The BGP peer the filter is attached to (the sender on import, the receiver on export).
    /// `.local` matches neither `peerType: eBGP` nor `iBGP`.
    public var peerType: PeerType
    /// The route was learned from a BGP peer (for `source: RemotePeers`), false for our own/local routes.
    public var learnedFromPeer: Bool
    /// The interface the route points at, when known (Calico `interface` match); nil never matches an interface rule.
    public var interface: String?

    public init(prefix: IPPrefix, peerType: PeerType, learnedFromPeer: Bool, interface: String? = nil) {
        self.prefix = prefix; self.peerType = peerType; self.learnedFromPeer = learnedFromPeer; self.interface = interface
    }
}

/// Which rule decided.
public enum FilterOutcome: Hashable, Sendable {
    /// Rule `rule` (index in its list) of filter `filter` accepted the route, after its operations.
    case accepted(filter: String, rule: Int)
    case rejected(filter: String, rule: Int)
    /// No rule matched: the caller's default applies.
    case noMatch
}

/// A BGP community as Calico writes it: `aa:nn` (RFC 1997) or `aa:nn:mm` (RFC 8092 large).
public enum FilterCommunity: Hashable, Sendable, CustomStringConvertible {
    case standard(Community)
    case large(LargeCommunity)

    /// Parses `aa:nn` (each 0-65535) or `aa:nn:mm` (each 0-4294967295).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) else { return nil }
        switch parts.count {
        case 2:
            guard let a = UInt16(parts[0]), let b = UInt16(parts[1]) else { return nil }
            self = .standard(Community(asn: a, local: b))
        case 3:
            guard let a = UInt32(parts[0]), let b = UInt32(parts[1]), let c = UInt32(parts[2]) else { return nil }
            self = .large(LargeCommunity(a, b, c))
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .standard(let c): c.description
        case .large(let c): c.description
        }
    }

    func isPresent(in attrs: PathAttributes) -> Bool {
        switch self {
        case .standard(let c): attrs.communities.contains(c)
        case .large(let c): attrs.largeCommunities.contains(c)
        }
    }

    /// BIRD's `bgp_community.add` / `bgp_large_community.add`: set semantics, no duplicate.
    func add(to attrs: inout PathAttributes) {
        switch self {
        case .standard(let c): if !attrs.communities.contains(c) { attrs.communities.append(c) }
        case .large(let c): if !attrs.largeCommunities.contains(c) { attrs.largeCommunities.append(c) }
        }
    }
}

/// One BGPFilter rule with Calico's fields as typed values. Immutable: what evaluation needs
/// (the effective prefix-length range, the interface glob's bytes) is computed once in `init`,
/// and the whole rule lives in one shared box.
public struct FilterRule: Hashable, Sendable {
    public enum MatchOperator: String, Hashable, Sendable { case equal = "Equal", notEqual = "NotEqual", `in` = "In", notIn = "NotIn" }
    public enum Action: String, Hashable, Sendable { case accept = "Accept", reject = "Reject" }
    public enum Source: String, Hashable, Sendable { case remotePeers = "RemotePeers" }
    public enum PeerTypeMatch: String, Hashable, Sendable { case ebgp = "eBGP", ibgp = "iBGP" }
    public enum Operation: Hashable, Sendable {
        case addCommunity(FilterCommunity)
        /// The ASNs go in front of the path in the order given (`[1, 2]` on `3` gives `1 2 3`).
        case prependASPath([UInt32])
        /// Calico's route priority (kernel metric); stored as LOCAL_PREF `2147483647 - value`.
        case setPriority(Int)
    }
    /// `prefixLength` (`In`/`NotIn` only): bounds on the route's prefix length; unset bounds are
    /// the CIDR's own length and the family's width.
    public struct PrefixLength: Hashable, Sendable {
        public var min: Int?
        public var max: Int?
        public init(min: Int? = nil, max: Int? = nil) { self.min = min; self.max = max }
    }

    /// The rule's fields as given (`FilterRule` exposes each one).
    struct Fields: Hashable, Sendable {
        var cidr: IPPrefix?
        var matchOperator: MatchOperator
        var prefixLength: PrefixLength?
        var source: Source?
        var interface: String?
        var peerType: PeerTypeMatch?
        var communities: [FilterCommunity]
        var asPathPrefix: [UInt32]
        var priority: Int?
        var action: Action
        var operations: [Operation]
    }

    /// One shared, immutable box: copying a rule while evaluating is one retain, not a copy of
    /// every field (the per-prefix loop on a full table would otherwise spend its time there).
    final class Storage: Sendable {
        let fields: Fields
        /// `In`/`NotIn` prefix lengths (BIRD `{min,max}`), clamped to the CIDR's length and the family width.
        let lengths: ClosedRange<Int>
        let interfacePattern: [UInt8]
        let matchesRemotePeersOnly: Bool
        init(_ f: Fields) {
            fields = f
            if let cidr = f.cidr {
                let width = cidr.family.bitWidth
                let lo = Swift.max(f.prefixLength?.min ?? cidr.length, cidr.length)
                let hi = Swift.min(f.prefixLength?.max ?? width, width)
                lengths = lo <= hi ? lo...hi : lo...lo
            } else {
                lengths = 0...128
            }
            interfacePattern = f.interface.map { Array($0.utf8) } ?? []
            if case .remotePeers? = f.source { matchesRemotePeersOnly = true } else { matchesRemotePeersOnly = false }
        }
    }

    let storage: Storage

    /// `cidr` with `matchOperator`: `Equal`/`NotEqual` compare the route's prefix with it,
    /// `In` matches prefixes inside it (itself included) whose length is in `prefixLength`,
    /// `NotIn` the others (BIRD `net ~ [ cidr{min,max} ]`, `net !~ …`).
    public var cidr: IPPrefix? { storage.fields.cidr }
    public var matchOperator: MatchOperator { storage.fields.matchOperator }
    public var prefixLength: PrefixLength? { storage.fields.prefixLength }
    public var source: Source? { storage.fields.source }
    /// A BIRD string pattern (`*`, `?`) on the route's interface name.
    public var interface: String? { storage.fields.interface }
    public var peerType: PeerTypeMatch? { storage.fields.peerType }
    /// `communities.values`: every one must be on the route.
    public var communities: [FilterCommunity] { storage.fields.communities }
    /// The AS_PATH must start with these ASNs (BIRD `bgp_path ~ [= a b * =]`).
    public var asPathPrefix: [UInt32] { storage.fields.asPathPrefix }
    /// The route's priority (see `RouteFilter.priority(of:learnedFromPeer:)`) must equal this.
    public var priority: Int? { storage.fields.priority }
    public var action: Action { storage.fields.action }
    /// Applied in order when the rule accepts (Calico allows them only with Accept).
    public var operations: [Operation] { storage.fields.operations }

    public init(cidr: IPPrefix? = nil, matchOperator: MatchOperator = .in, prefixLength: PrefixLength? = nil,
                source: Source? = nil, interface: String? = nil, peerType: PeerTypeMatch? = nil,
                communities: [FilterCommunity] = [], asPathPrefix: [UInt32] = [], priority: Int? = nil,
                action: Action, operations: [Operation] = []) {
        storage = Storage(Fields(cidr: cidr, matchOperator: matchOperator, prefixLength: prefixLength, source: source,
                                 interface: interface, peerType: peerType, communities: communities,
                                 asPathPrefix: asPathPrefix, priority: priority, action: action,
                                 operations: action == .accept ? operations : []))
    }

    public static func == (l: FilterRule, r: FilterRule) -> Bool { l.storage === r.storage || l.storage.fields == r.storage.fields }
    public func hash(into h: inout Hasher) { h.combine(storage.fields) }

    /// Every condition the rule sets holds for the route. Allocation-free.
    public func matches(_ subject: FilterSubject, _ attrs: PathAttributes) -> Bool {
        let st = storage
        if let cidr = st.fields.cidr {
            let net = subject.prefix
            guard net.family == cidr.family else { return false }
            switch st.fields.matchOperator {
            case .equal: if net != cidr { return false }
            case .notEqual: if net == cidr { return false }
            case .in: if !(st.lengths.contains(net.length) && cidr.contains(net)) { return false }
            case .notIn: if st.lengths.contains(net.length) && cidr.contains(net) { return false }
            }
        }
        if let peerType = st.fields.peerType {
            switch (peerType, subject.peerType) {
            case (.ebgp, .ebgp), (.ibgp, .ibgp): break
            default: return false
            }
        }
        if st.matchesRemotePeersOnly, !subject.learnedFromPeer { return false }
        if st.fields.interface != nil {
            guard let name = subject.interface, Self.glob(st.interfacePattern, name.utf8) else { return false }
        }
        for c in st.fields.communities where !c.isPresent(in: attrs) { return false }
        if !st.fields.asPathPrefix.isEmpty, !Self.pathStarts(attrs.asPath, with: st.fields.asPathPrefix) { return false }
        if let priority = st.fields.priority,
           RouteFilter.priority(of: attrs, learnedFromPeer: subject.learnedFromPeer) != priority {
            return false
        }
        return true
    }

    /// Applies the rule's operations (an Accept's; a Reject has none).
    public func apply(to attrs: inout PathAttributes) {
        for op in operations {
            switch op {
            case .addCommunity(let c): c.add(to: &attrs)
            case .prependASPath(let asns):
                guard !asns.isEmpty else { continue }
                var path = attrs.asPath ?? .empty
                if let first = path.segments.first, first.kind == .sequence, first.asns.count + asns.count <= 255 {
                    path.segments[0].asns.insert(contentsOf: asns, at: 0)
                } else {
                    path.segments.insert(ASPathSegment(.sequence, asns), at: 0)
                }
                attrs.asPath = path
            case .setPriority(let p): attrs.localPref = RouteFilter.localPref(forPriority: p)
            }
        }
    }

    /// The path's leading ASNs are `want`, read through AS_SEQUENCE segments (an AS_SET or
    /// confederation segment before `want` is exhausted ends the match, as BIRD's `=` mask).
    static func pathStarts(_ path: ASPath?, with want: [UInt32]) -> Bool {
        guard let path else { return false }
        var i = 0
        for seg in path.segments {
            guard seg.kind == .sequence else { return false }
            for asn in seg.asns {
                if asn != want[i] { return false }
                i += 1
                if i == want.count { return true }
            }
        }
        return false
    }

    /// Shell-style `*` / `?` glob over bytes (BIRD's `~` on strings), iterative with one
    /// backtrack point, so no allocation and linear-ish time.
    static func glob(_ p: [UInt8], _ text: String.UTF8View) -> Bool {
        var pi = 0
        var ti = text.startIndex
        var star: Int? = nil
        var starText = text.startIndex
        while ti != text.endIndex {
            if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi; pi += 1; starText = ti
            } else if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == text[ti] {
                pi += 1; ti = text.index(after: ti)
            } else if let s = star {
                pi = s + 1; starText = text.index(after: starText); ti = starText
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}

/// A Calico BGPFilter: four ordered rule lists, by direction and family.
public struct RouteFilter: Hashable, Sendable {
    public var name: String
    public var exportV4: [FilterRule]; public var importV4: [FilterRule]
    public var exportV6: [FilterRule]; public var importV6: [FilterRule]

    public init(name: String, exportV4: [FilterRule] = [], importV4: [FilterRule] = [], exportV6: [FilterRule] = [],
                importV6: [FilterRule] = []) {
        self.name = name
        self.exportV4 = exportV4; self.importV4 = importV4; self.exportV6 = exportV6; self.importV6 = importV6
    }

    /// The rule list for a direction and family.
    public func rules(_ direction: FilterDirection, _ family: IPFamily) -> [FilterRule] {
        switch (direction, family) {
        case (.exporting, .v4): exportV4
        case (.importing, .v4): importV4
        case (.exporting, .v6): exportV6
        case (.importing, .v6): importV6
        }
    }
}

extension RouteFilter {
    /// Runs `filters` in order for `direction`; the first matching rule decides; Accept applies its operations to `attrs`.
    /// The rules looked at are the subject prefix's family's (`exportV4`/`importV4` or the V6
    /// lists). `attrs` is left untouched on Reject and on no match. On import, pass the
    /// attributes as they will be stored (an eBGP peer's LOCAL_PREF already dropped).
    public static func evaluate(_ filters: [RouteFilter], direction: FilterDirection, subject: FilterSubject,
                                attrs: inout PathAttributes) -> FilterOutcome {
        let family = subject.prefix.family
        for filter in filters {
            let rules = filter.rules(direction, family)
            var i = 0
            for rule in rules {
                if rule.matches(subject, attrs) {
                    switch rule.action {
                    case .reject: return .rejected(filter: filter.name, rule: i)
                    case .accept:
                        rule.apply(to: &attrs)
                        return .accepted(filter: filter.name, rule: i)
                    }
                }
                i += 1
            }
        }
        return .noMatch
    }

    // MARK: Priority over LOCAL_PREF
    //
    // Calico's `priority` is the kernel route metric (lower wins). Its rendered export filter
    // normalises the two: `krt_metric = 2147483647 - bgp_local_pref` for BGP-learned routes, and
    // for local ones a missing metric is 1024 and `bgp_local_pref = 2147483647 - krt_metric`.
    // Twill has no kernel metric in the RIB, so the priority lives in LOCAL_PREF, with the same
    // formula: `priority` matches against `2147483647 - LOCAL_PREF` and `setPriority(p)` sets
    // LOCAL_PREF to `2147483647 - p`, so a lower priority is a higher LOCAL_PREF and best-path
    // selection prefers it, and iBGP peers (BIRD-based Calico nodes included) see the same value.
    // Where Calico matches `priority` only on export (its import filter has no `krt_metric`),
    // Twill matches it on import too, over the received LOCAL_PREF.

    /// `2147483647`: Calico's normalisation constant (priority = base - LOCAL_PREF).
    public static let priorityBase = 2_147_483_647
    /// The priority Calico gives local routes without a metric (`ipv4NormalRoutePriority`).
    public static let defaultLocalPriority = 1024
    /// LOCAL_PREF of a route without one: RFC 4271's and BIRD's `default bgp_local_pref` 100.
    public static let defaultLocalPref: UInt32 = 100

    /// A route's priority: `2147483647 - LOCAL_PREF`; without LOCAL_PREF, 1024 for our own
    /// routes and `2147483647 - 100` for BGP-learned ones (BIRD's default local pref).
    public static func priority(of attrs: PathAttributes, learnedFromPeer: Bool) -> Int {
        if let lp = attrs.localPref { return priorityBase - Int(lp) }
        return learnedFromPeer ? priorityBase - Int(defaultLocalPref) : defaultLocalPriority
    }

    /// The LOCAL_PREF carrying `priority` (clamped to 0...2147483647 for out-of-range values).
    public static func localPref(forPriority priority: Int) -> UInt32 {
        UInt32(Swift.min(Swift.max(priorityBase - priority, 0), priorityBase))
    }
}
