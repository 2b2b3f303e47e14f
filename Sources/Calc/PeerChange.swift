/// What changed for one session between two `PeerSet`s.
public enum PeerChange: Hashable, Sendable, CustomStringConvertible {
    case added(Peer)
    case removed(Peer)
    /// A setting negotiated in OPEN or fixed at connect time changed: the session must restart.
    case changedNeedsReset(old: Peer, new: Peer, fields: [String])
    /// Only routing policy changed (filters, next hop, reachableBy): re-evaluate routes, keep the session.
    case changedInPlace(old: Peer, new: Peer, fields: [String])

    public var name: String {
        switch self {
        case .added(let p), .removed(let p): p.name
        case .changedNeedsReset(_, let p, _), .changedInPlace(_, let p, _): p.name
        }
    }

    public var description: String {
        switch self {
        case .added(let p): "+ \(p.name)"
        case .removed(let p): "- \(p.name)"
        case .changedNeedsReset(_, let p, let f): "! \(p.name) reset (\(f.joined(separator: ", ")))"
        case .changedInPlace(_, let p, let f): "~ \(p.name) in place (\(f.joined(separator: ", ")))"
        }
    }
}

extension Peer {
    /// Fields whose change needs the session torn down: they shape the TCP connection or the
    /// OPEN message (AS numbers, capabilities such as graceful restart, hold/keepalive).
    static let resetFields: [(String, @Sendable (Peer) -> AnyHashable)] = [
        ("address", { $0.address }), ("port", { $0.port }), ("remoteAS", { $0.remoteAS }),
        ("localAS", { $0.localAS }), ("sourceAddress", { $0.sourceAddress }), ("password", { $0.password }),
        ("keepaliveTime", { $0.keepaliveTime }), ("gracefulRestartTime", { $0.gracefulRestartTime }),
        ("ttlSecurityHops", { $0.ttlSecurityHops }), ("multihop", { $0.multihop }), ("passive", { $0.passive }),
        ("routeReflectorClusterID", { $0.routeReflectorClusterID }), ("allowLocalAS", { $0.allowLocalAS }),
        ("type", { $0.type }),
    ]
    /// Fields that only change which routes flow and how: applied by re-running export/import.
    static let inPlaceFields: [(String, @Sendable (Peer) -> AnyHashable)] = [
        ("filters", { $0.filters }), ("nextHop", { $0.nextHop }), ("reachableBy", { $0.reachableBy }),
        ("isCalicoNode", { $0.isCalicoNode }), ("remoteNodeName", { $0.remoteNodeName }),
    ]
}

extension PeerSet {
    /// The per-session changes that turn `old` into `self`, sorted by peer name (removals of a
    /// name never coexist with additions of it: same name = same session, compared by field).
    public func changes(from old: PeerSet) -> [PeerChange] {
        var oldByName: [String: Peer] = [:]
        for p in old.peers { oldByName[p.name] = p }
        var out: [PeerChange] = []
        for p in peers {
            guard let o = oldByName.removeValue(forKey: p.name) else { out.append(.added(p)); continue }
            if o == p { continue }
            let reset = Peer.resetFields.filter { $0.1(o) != $0.1(p) }.map(\.0)
            if !reset.isEmpty {
                out.append(.changedNeedsReset(old: o, new: p, fields: reset))
            } else {
                out.append(.changedInPlace(old: o, new: p, fields: Peer.inPlaceFields.filter { $0.1(o) != $0.1(p) }.map(\.0)))
            }
        }
        out += oldByName.values.map { PeerChange.removed($0) }
        return out.sorted { $0.name < $1.name }
    }
}
