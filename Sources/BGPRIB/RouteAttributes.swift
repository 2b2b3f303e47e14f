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

/// A route as the speaker's API shows it: a prefix, where it came from and its attributes.
public struct Route: Hashable, Sendable {
    public var prefix: IPPrefix
    public var source: RouteSource
    public var attributes: RouteAttributes
    public init(prefix: IPPrefix, source: RouteSource, attributes: RouteAttributes) {
        self.prefix = prefix; self.source = source; self.attributes = attributes
    }
}
