// One-line log forms (no formatting on any decode or encode path).

extension BGPMessage: CustomStringConvertible {
    public var description: String {
        switch self {
        case .open(let o): o.description
        case .update(let u): u.description
        case .notification(let n): n.description
        case .keepalive: "KEEPALIVE"
        case .routeRefresh(let r): "ROUTE-REFRESH \(r.family) \(r.subtype)"
        }
    }
}

extension OpenMessage: CustomStringConvertible {
    public var description: String {
        "OPEN AS \(asNumber) hold \(holdTime) id \(bgpIdentifier) caps [\(capabilities.map(\.description).joined(separator: ", "))]"
    }
}

extension Capability: CustomStringConvertible {
    public var description: String {
        switch self {
        case .multiprotocol(let f): "mp \(f)"
        case .routeRefresh: "route-refresh"
        case .ciscoRouteRefresh: "route-refresh(cisco)"
        case .extendedNextHop(let e): "extended-nexthop \(e.map { "\($0.family)/afi\($0.nextHopAFI)" })"
        case .extendedMessage: "extended-message"
        case .gracefulRestart(let g):
            "graceful-restart time \(g.restartTime)\(g.restarting ? " R" : "")\(g.notification ? " N" : "") \(g.families.map { "\($0.family)\($0.forwardingPreserved ? "+F" : "")" })"
        case .fourOctetAS(let a): "as4 \(a)"
        case .addPath(let e): "add-path \(e.map { "\($0.family)=\($0.mode.rawValue)" })"
        case .enhancedRouteRefresh: "enhanced-route-refresh"
        case .longLivedGracefulRestart(let e): "llgr \(e.map { "\($0.family) \($0.staleTime)s" })"
        case .fqdn(let h, let d): "fqdn \(String(decoding: h, as: UTF8.self)).\(String(decoding: d, as: UTF8.self))"
        case .unknown(let c, let v): "cap\(c)(\(v.count) bytes)"
        }
    }
}

extension UpdateMessage: CustomStringConvertible {
    public var description: String {
        if let f = endOfRIBFamily { return "UPDATE End-of-RIB \(f)" }
        var parts: [String] = []
        if !withdrawn.isEmpty { parts.append("withdraw \(withdrawn.count)") }
        if let u = mpUnreach { parts.append("withdraw \(u.withdrawn.count) \(u.family)") }
        if !nlri.isEmpty { parts.append("announce \(nlri.count) via \(attributes.nextHop.map(\.description) ?? "?")") }
        if let r = mpReach { parts.append("announce \(r.nlri.count) \(r.family) via \(r.nextHop)") }
        if let p = attributes.asPath { parts.append("path [\(p)]") }
        if let a = action { parts.append("\(a) (\(errors.count) errors)") }
        return "UPDATE " + parts.joined(separator: ", ")
    }
}

extension MPNextHop: CustomStringConvertible {
    public var description: String {
        switch self {
        case .ipv4(let a): a.description
        case .ipv6(let g, let ll): ll.map { "\(g) \($0)" } ?? g.description
        case .raw(let b): "\(b.count) bytes"
        }
    }
}
