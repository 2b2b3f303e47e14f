import NetCore

/// ORIGIN (RFC 4271 §5.1.1), ordered by preference.
public enum RouteOrigin: UInt8, Hashable, Sendable, Comparable, CustomStringConvertible {
    case igp = 0, egp = 1, incomplete = 2
    public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }
    public var description: String { switch self { case .igp: "IGP"; case .egp: "EGP"; case .incomplete: "incomplete" } }
}

/// One AS_PATH segment: AS_SEQUENCE or AS_SET (RFC 4271 §4.3), with 4-octet ASNs.
public enum ASPathSegment: Hashable, Sendable {
    case sequence([UInt32])
    case set([UInt32])
}

/// The path attributes the speaker keeps for a route. Attributes it does not interpret but must
/// pass on (optional transitive, RFC 4271 §5) are kept as raw `(flags, code, value)`.
public struct RouteAttributes: Hashable, Sendable {
    public var origin: RouteOrigin
    public var asPath: [ASPathSegment]
    public var nextHop: IPAddress
    public var med: UInt32?
    public var localPref: UInt32?
    public var communities: [UInt32]
    public var otherTransitive: [RawAttribute]

    public init(origin: RouteOrigin = .igp, asPath: [ASPathSegment] = [], nextHop: IPAddress, med: UInt32? = nil,
                localPref: UInt32? = nil, communities: [UInt32] = [], otherTransitive: [RawAttribute] = []) {
        self.origin = origin; self.asPath = asPath; self.nextHop = nextHop; self.med = med
        self.localPref = localPref; self.communities = communities; self.otherTransitive = otherTransitive
    }

    /// AS_PATH length for best-path selection: an AS_SET counts as one (RFC 4271 §9.1.2.2).
    public var asPathLength: Int {
        asPath.reduce(0) { n, s in switch s { case .sequence(let a): n + a.count; case .set: n + 1 } }
    }

    /// "65001 65002 {65003 65004}", BIRD's and calicoctl's style.
    public var asPathText: String {
        asPath.map { s in
            switch s {
            case .sequence(let a): a.map(String.init).joined(separator: " ")
            case .set(let a): "{" + a.map(String.init).joined(separator: " ") + "}"
            }
        }.joined(separator: " ")
    }

    /// The first AS of the path (the neighbour AS), if any.
    public var firstAS: UInt32? {
        if case .sequence(let a)? = asPath.first { return a.first }
        return nil
    }

    public func contains(as asn: UInt32) -> Bool {
        asPath.contains { s in switch s { case .sequence(let a), .set(let a): a.contains(asn) } }
    }
}

public struct RawAttribute: Hashable, Sendable {
    public var flags: UInt8
    public var code: UInt8
    public var value: [UInt8]
    public init(flags: UInt8, code: UInt8, value: [UInt8]) { self.flags = flags; self.code = code; self.value = value }
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
    /// prefix → source → attributes.
    public private(set) var candidates: [IPPrefix: [RouteSource: RouteAttributes]] = [:]

    public init() {}

    /// Adds or replaces a route. Returns true when the best route for the prefix changed.
    @discardableResult
    public mutating func upsert(_ r: Route) -> Bool {
        let before = best(for: r.prefix)
        candidates[r.prefix, default: [:]][r.source] = r.attributes
        return best(for: r.prefix) != before
    }

    /// Removes a route. Returns true when the best route changed.
    @discardableResult
    public mutating func remove(prefix: IPPrefix, source: RouteSource) -> Bool {
        guard candidates[prefix]?[source] != nil else { return false }
        let before = best(for: prefix)
        candidates[prefix]?[source] = nil
        if candidates[prefix]?.isEmpty == true { candidates[prefix] = nil }
        return best(for: prefix) != before
    }

    /// Removes every route from `source`; returns the prefixes whose best route changed.
    public mutating func removeAll(from source: RouteSource) -> [IPPrefix] {
        var changed: [IPPrefix] = []
        for prefix in candidates.keys where candidates[prefix]?[source] != nil {
            if remove(prefix: prefix, source: source) { changed.append(prefix) }
        }
        return changed
    }

    public func routes(from source: RouteSource) -> [Route] {
        candidates.compactMap { p, m in m[source].map { Route(prefix: p, source: source, attributes: $0) } }
    }

    public var prefixes: [IPPrefix] { candidates.keys.sorted() }

    /// Best path, RFC 4271 §9.1.2.2 simplified for part 1: our own announcements first, then
    /// highest LOCAL_PREF (default 100), shortest AS_PATH, lowest ORIGIN, lowest MED between
    /// routes from the same neighbour AS, eBGP over iBGP, lowest peer address.
    public func best(for prefix: IPPrefix) -> Route? {
        guard let m = candidates[prefix] else { return nil }
        var best: (RouteSource, RouteAttributes)?
        for (s, a) in m {
            if let b = best { if RouteTable.better(s, a, than: b.0, b.1) { best = (s, a) } } else { best = (s, a) }
        }
        return best.map { Route(prefix: prefix, source: $0.0, attributes: $0.1) }
    }

    static func better(_ s: RouteSource, _ a: RouteAttributes, than t: RouteSource, _ b: RouteAttributes) -> Bool {
        switch (s == .local, t == .local) {
        case (true, false): return true
        case (false, true), (true, true): return false
        case (false, false): break
        }
        let lpA = a.localPref ?? 100, lpB = b.localPref ?? 100
        if lpA != lpB { return lpA > lpB }
        if a.asPathLength != b.asPathLength { return a.asPathLength < b.asPathLength }
        if a.origin != b.origin { return a.origin < b.origin }
        if a.firstAS == b.firstAS, (a.med ?? 0) != (b.med ?? 0) { return (a.med ?? 0) < (b.med ?? 0) }
        if case .peer(_, let ea) = s, case .peer(_, let eb) = t, ea != eb { return ea }
        return s < t
    }
}
