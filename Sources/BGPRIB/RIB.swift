import BGPWire
import NetCore

/// One peer's Adj-RIB-In: the last path it announced per prefix.
public struct AdjRIBIn: Sendable {
    public let peer: PeerInfo
    public private(set) var routes: [IPPrefix: PathCandidate] = [:]
    public init(peer: PeerInfo) { self.peer = peer }

    /// Stores `c`, replacing (implicitly withdrawing) any earlier path for its prefix; returns the old one.
    @discardableResult
    public mutating func announce(_ c: PathCandidate) -> PathCandidate? { routes.updateValue(c, forKey: c.prefix) }
    @discardableResult
    public mutating func withdraw(_ prefix: IPPrefix) -> PathCandidate? { routes.removeValue(forKey: prefix) }
    /// Drops everything (session down); returns the prefixes that were held.
    public mutating func removeAll() -> [IPPrefix] {
        let p = Array(routes.keys); routes.removeAll(); return p
    }
    /// Graceful restart helper: keep every path but mark it stale.
    public mutating func markAllStale() {
        for k in Array(routes.keys) { routes[k]!.stale = true }
    }
    /// Removes paths still stale (not refreshed after the restart); returns their prefixes.
    public mutating func sweepStale() -> [IPPrefix] {
        let gone = routes.filter { $0.value.stale }.map(\.key)
        for p in gone { routes.removeValue(forKey: p) }
        return gone
    }
    public var count: Int { routes.count }
}

/// A best-path change for one prefix.
public enum RouteChange: Hashable, Sendable {
    case newBest(PathCandidate)
    case bestChanged(old: PathCandidate, new: PathCandidate)
    case bestWithdrawn(PathCandidate)
    public var prefix: IPPrefix {
        switch self { case let .newBest(c), let .bestWithdrawn(c), let .bestChanged(_, c): c.prefix }
    }
}

/// The Loc-RIB: every candidate per prefix, ordered best first.
public struct LocRIB: Sendable {
    public private(set) var table: [IPPrefix: [PathCandidate]] = [:]
    public init() {}

    public func candidates(_ prefix: IPPrefix) -> [PathCandidate] { table[prefix] ?? [] }
    public func best(_ prefix: IPPrefix) -> PathCandidate? { table[prefix]?.first }
    /// The best path and every candidate multipath-equal to it (ECMP set), best first.
    public func multipath(_ prefix: IPPrefix) -> [PathCandidate] {
        guard let list = table[prefix], let b = list.first else { return [] }
        return [b] + list.dropFirst().filter { BestPath.multipathEqual(b, $0) }
    }
    public var prefixCount: Int { table.count }

    /// Installs `path` for `prefix` from `peer` (replacing that peer's earlier path), or removes
    /// the peer's path when `path` is nil. Returns a change only when the best path changed.
    public mutating func update(prefix: IPPrefix, peer: IPAddress, path: PathCandidate?) -> [RouteChange] {
        var list = table[prefix] ?? []
        let oldBest = list.first
        list.removeAll { $0.peer.address == peer }
        if let path {
            let i = list.firstIndex { BestPath.decide(path, $0).aWins } ?? list.count
            list.insert(path, at: i)
        }
        table[prefix] = list.isEmpty ? nil : list
        let newBest = list.first
        switch (oldBest, newBest) {
        case (nil, nil): return []
        case let (nil, n?): return [.newBest(n)]
        case let (o?, nil): return [.bestWithdrawn(o)]
        case let (o?, n?): return o == n ? [] : [.bestChanged(old: o, new: n)]
        }
    }

    /// Removes every path from `peer` (session down) across `prefixes`.
    public mutating func removePeer(_ peer: IPAddress, prefixes: [IPPrefix]) -> [RouteChange] {
        prefixes.sorted().flatMap { update(prefix: $0, peer: peer, path: nil) }
    }
}
