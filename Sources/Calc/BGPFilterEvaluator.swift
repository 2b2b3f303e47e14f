import NetCore
import NodeModel

public enum FilterDirection: String, Hashable, Sendable { case `import`, export }

/// The outcome of running BGPFilters over one route.
public enum FilterResult: Hashable, Sendable {
    /// A rule accepted the route (after its operations were applied).
    case accept(RouteDescription)
    case reject
    /// No rule matched: Calico's default follows (export: `calico_export_to_bgp_peers`, import: accept).
    case noMatch(RouteDescription)

    /// BGPFilter's own default is Accept.
    public var accepted: Bool { if case .reject = self { false } else { true } }
}

/// BGPFilter semantics (calico.md §1.5) over `RouteDescription`: rules in order, first match wins,
/// filters in the peer's order, operations applied on Accept.
public enum BGPFilterEvaluator {
    public static func evaluate(_ filters: [BGPFilterSpec], _ direction: FilterDirection, route: RouteDescription,
                                peerType: BGPFilterPeerType) -> FilterResult {
        for f in filters {
            for rule in rules(f, direction, route.prefix.family)
            where matches(rule, route: route, peerType: peerType, direction: direction) {
                switch rule.action ?? .accept {
                case .reject: return .reject
                case .accept: return .accept(apply(rule.operations, to: route))
                }
            }
        }
        return .noMatch(route)
    }

    public static func rules(_ f: BGPFilterSpec, _ direction: FilterDirection, _ family: IPFamily) -> [BGPFilterRule] {
        switch (direction, family) {
        case (.export, .v4): f.exportV4
        case (.import, .v4): f.importV4
        case (.export, .v6): f.exportV6
        case (.import, .v6): f.importV6
        }
    }

    /// Every condition the rule sets must hold. On export an unset priority is Calico's
    /// default 1024 (the rendered export filter normalises `krt_metric` first); on import an
    /// unset priority matches no `priority` rule.
    public static func matches(_ rule: BGPFilterRule, route: RouteDescription, peerType: BGPFilterPeerType,
                               direction: FilterDirection = .export) -> Bool {
        let net = route.prefix
        if !rule.cidr.isEmpty {
            guard let cidr = IPPrefix(rule.cidr),
                  cidr.family == net.family else { return false }
            let op = rule.matchOperator ?? .in
            let lengthOK = lengthRange(rule, cidr).contains(net.length)
            switch op {
            case .equal: if net != cidr { return false }
            case .notEqual: if net == cidr { return false }
            case .in: if !(cidr.contains(net) && lengthOK) { return false }
            case .notIn: if cidr.contains(net) && lengthOK { return false }
            }
        }
        if let pt = rule.peerType, pt != peerType { return false }
        if rule.source == .remotePeers, route.source != .bgp { return false }
        if !rule.interface.isEmpty {
            guard let ifname = route.interface, glob(rule.interface, ifname) else { return false }
        }
        for c in rule.communities where !route.communities.contains(c) { return false }
        if !rule.asPathPrefix.isEmpty {
            let want = rule.asPathPrefix.map { UInt32(truncatingIfNeeded: $0) }
            if Array(route.asPath.prefix(want.count)) != want { return false }
        }
        if let p = rule.priority, (direction == .export ? route.priority ?? 1024 : route.priority) != p { return false }
        return true
    }

    /// The prefix lengths an `In`/`NotIn` rule covers: `prefixLength` within the CIDR's length
    /// and the family width (BIRD `net ~ [ cidr{min,max} ]`).
    public static func lengthRange(_ rule: BGPFilterRule, _ cidr: IPPrefix) -> ClosedRange<Int> {
        let lo = max(rule.prefixLength?.min ?? cidr.length, cidr.length)
        let hi = min(rule.prefixLength?.max ?? cidr.family.bitWidth, cidr.family.bitWidth)
        return lo <= hi ? lo...hi : lo...lo
    }

    static func apply(_ ops: [BGPFilterOperation], to route: RouteDescription) -> RouteDescription {
        var r = route
        for op in ops {
            if let c = op.addCommunity, !r.communities.contains(c) { r.communities.append(c) }
            if let p = op.prependASPath { r.asPath = p.map { UInt32(truncatingIfNeeded: $0) } + r.asPath }
            if let v = op.setPriority { r.priority = v }
        }
        return r
    }

    /// Shell-style `*` / `?` glob (BIRD's `~` on strings).
    public static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        func go(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == t.count }
            if p[i] == "*" { return (j...t.count).contains { go(i + 1, $0) } }
            guard j < t.count, p[i] == "?" || p[i] == t[j] else { return false }
            return go(i + 1, j + 1)
        }
        return go(0, 0)
    }
}
