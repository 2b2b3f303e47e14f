import BGPWire
import NetCore

/// A route's path attributes: BGPWire's `PathAttributes` (ORIGIN, AS_PATH, MED, LOCAL_PREF,
/// communities, unknown transitive ones...) with the next hop of either family lifted out
/// (NEXT_HOP for IPv4, the MP_REACH_NLRI next hop for IPv6). `path.nextHop` is unused.
///
/// The attributes live in one shared, immutable box (value semantics, copy on write): every
/// route of one UPDATE and every table that holds the route (Adj-RIB-In, Loc-RIB, each peer's
/// view) share it, as BIRD's `rta` cache and FRR's `attrhash` do.
public struct RouteAttributes: Hashable, Sendable {
    private var box: Box
    public var nextHop: IPAddress

    public init(path: PathAttributes = PathAttributes(origin: .igp, asPath: .empty), nextHop: IPAddress) {
        var p = path
        p.nextHop = nil
        box = Box(p)
        self.nextHop = nextHop
    }

    public var path: PathAttributes {
        get { box.path }
        set {
            var p = newValue
            p.nextHop = nil
            box = Box(p)
        }
    }

    public var asPath: ASPath { box.path.asPath ?? .empty }
    /// "65001 65002 {65003}", BIRD's and calicoctl's style.
    public var asPathText: String { asPath.description }
    public func contains(as asn: UInt32) -> Bool { asPath.contains(asn) }

    public static func == (l: Self, r: Self) -> Bool {
        l.nextHop == r.nextHop && (l.box === r.box || l.box.path == r.box.path)
    }

    public func hash(into h: inout Hasher) {
        h.combine(nextHop)
        h.combine(box.hash)
    }

    private final class Box: Sendable {
        let path: PathAttributes
        let hash: Int
        init(_ p: PathAttributes) { path = p; hash = p.hashValue }
    }
}

/// Where a route came from.
public enum RouteSource: Hashable, Sendable, Comparable {
    /// An `announce` entry of our own configuration.
    case local
    /// A peer, by address, and whether that session is eBGP.
    case peer(IPAddress, ebgp: Bool)

    public static func < (l: Self, r: Self) -> Bool {
        switch (l, r) {
        case (.local, .local): false
        case (.local, .peer): true
        case (.peer, .local): false
        case (.peer(let a, _), .peer(let b, _)): a < b
        }
    }
}

public struct Route: Hashable, Sendable {
    public var prefix: IPPrefix
    public var source: RouteSource
    public var attributes: RouteAttributes
    public init(prefix: IPPrefix, source: RouteSource, attributes: RouteAttributes) {
        self.prefix = prefix; self.source = source; self.attributes = attributes
    }
}

/// The Loc-RIB of part 1: every candidate per prefix (our announcements and each peer's
/// Adj-RIB-In after import policy) and the best one. Pure value type, owned by the speaker queue.
public struct RouteTable: Sendable {
    /// prefix → its candidates. Almost every prefix has one or two, so a small array (one
    /// allocation, linear search) instead of a dictionary per prefix.
    private var table: [IPPrefix: [Candidate]] = [:]

    struct Candidate: Sendable {
        var source: RouteSource
        var attributes: RouteAttributes
    }

    public init() {}

    /// Adds or replaces a route. Returns true when the best route for the prefix changed.
    @discardableResult
    public mutating func upsert(_ r: Route) -> Bool {
        let before = best(for: r.prefix)
        let c = Candidate(source: r.source, attributes: r.attributes)
        if let i = table[r.prefix]?.firstIndex(where: { $0.source == r.source }) {
            table[r.prefix]![i] = c
        } else {
            table[r.prefix, default: []].append(c)
        }
        return best(for: r.prefix) != before
    }

    /// Removes a route. Returns true when the best route changed.
    @discardableResult
    public mutating func remove(prefix: IPPrefix, source: RouteSource) -> Bool {
        guard let i = table[prefix]?.firstIndex(where: { $0.source == source }) else { return false }
        let before = best(for: prefix)
        table[prefix]!.remove(at: i)
        if table[prefix]!.isEmpty { table[prefix] = nil }
        return best(for: prefix) != before
    }

    /// Removes every route from `source`; returns the prefixes whose best route changed.
    public mutating func removeAll(from source: RouteSource) -> [IPPrefix] {
        var changed: [IPPrefix] = []
        for (prefix, list) in table where list.contains(where: { $0.source == source }) {
            if remove(prefix: prefix, source: source) { changed.append(prefix) }
        }
        return changed
    }

    /// Every candidate for `prefix`, by source.
    public func candidates(for prefix: IPPrefix) -> [RouteSource: RouteAttributes] {
        Dictionary((table[prefix] ?? []).map { ($0.source, $0.attributes) }) { a, _ in a }
    }

    public func routes(from source: RouteSource) -> [Route] {
        table.compactMap { p, list in
            list.first { $0.source == source }.map { Route(prefix: p, source: source, attributes: $0.attributes) }
        }
    }

    public var prefixes: [IPPrefix] { table.keys.sorted() }
    public var count: Int { table.count }

    /// The best route of every prefix.
    public var bestRoutes: [IPPrefix: Route] {
        var out: [IPPrefix: Route] = [:]
        out.reserveCapacity(table.count)
        for p in table.keys { out[p] = best(for: p) }
        return out
    }

    /// Best path, RFC 4271 §9.1.2.2 simplified for part 1: our own announcements first, then
    /// highest LOCAL_PREF (default 100), shortest AS_PATH, lowest ORIGIN, lowest MED between
    /// routes from the same neighbour AS, eBGP over iBGP, lowest peer address.
    public func best(for prefix: IPPrefix) -> Route? { best(for: prefix, learnedOnly: false) }

    /// The best route learned from a peer (our own announcements left out): what the node agent
    /// programs into the kernel.
    public func bestLearned(for prefix: IPPrefix) -> Route? { best(for: prefix, learnedOnly: true) }

    private func best(for prefix: IPPrefix, learnedOnly: Bool) -> Route? {
        guard let list = table[prefix] else { return nil }
        var best: Candidate?
        for c in list where !(learnedOnly && c.source == .local) {
            if let b = best { if RouteTable.better(c.source, c.attributes, than: b.source, b.attributes) { best = c } } else { best = c }
        }
        return best.map { Route(prefix: prefix, source: $0.source, attributes: $0.attributes) }
    }

    static func better(_ s: RouteSource, _ a: RouteAttributes, than t: RouteSource, _ b: RouteAttributes) -> Bool {
        switch (s == .local, t == .local) {
        case (true, false): return true
        case (false, true), (true, true): return false
        case (false, false): break
        }
        let lpA = a.path.localPref ?? 100, lpB = b.path.localPref ?? 100
        if lpA != lpB { return lpA > lpB }
        if a.asPath.length != b.asPath.length { return a.asPath.length < b.asPath.length }
        let oA = a.path.origin ?? .incomplete, oB = b.path.origin ?? .incomplete
        if oA != oB { return oA < oB }
        if a.asPath.firstAS == b.asPath.firstAS, (a.path.med ?? 0) != (b.path.med ?? 0) { return (a.path.med ?? 0) < (b.path.med ?? 0) }
        if case .peer(_, let ea) = s, case .peer(_, let eb) = t, ea != eb { return ea }
        return s < t
    }
}
