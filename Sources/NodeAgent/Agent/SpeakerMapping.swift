import BGPRIB
import BGPSpeaker
import Calc
import NetCore
import NodeAgentCore
import NodeModel

/// Turns the agent's plan (Calc's Calico-shaped peers, the advertised prefixes) into the native
/// speaker's configuration. Kept apart from the agent so the mapping is unit-tested.
public enum SpeakerMapping {
    /// One speaker peer per Calc peer. Passwords come from Kubernetes secrets in Calico; Twill
    /// has no secret store yet, so a peer that needs one is reported and configured without.
    /// `filters` keeps only the names in `available` (the BGPFilters that exist and convert):
    /// confd skips a filter it cannot find the same way.
    public static func peerConfig(_ p: Calc.Peer, passwords: [PasswordRef: String] = [:],
                                  available: Set<String>? = nil) -> PeerConfig {
        var c = PeerConfig(name: p.name, address: p.address, port: UInt16(clamping: p.port ?? 179), asNumber: p.remoteAS,
                           passive: p.passive, password: p.password.flatMap { passwords[$0] },
                           keepaliveTime: p.keepaliveTime,
                           multihop: p.multihop ? 255 : nil,
                           ttlSecurity: p.ttlSecurityHops != nil,
                           addressFamilies: [UnicastFamily(p.family)],
                           sourceAddress: p.sourceAddress)
        c.peerType = p.type.rawValue
        c.gracefulRestartTime = p.gracefulRestartTime
        // PeerCalculator sets the cluster ID on exactly the peers confd renders `rr client;` for:
        // this node is a reflector, the peer is iBGP and not in our cluster.
        c.routeReflectorClient = p.isRouteReflectorClient
        c.allowASIn = min(max(p.allowLocalAS ?? 0, 0), 10)
        c.nextHopMode = switch p.nextHop {
        case .auto: .auto
        case .self: .self_
        case .keep: .keep
        }
        c.filters = p.filters.filter { available?.contains($0) ?? true }
        return c
    }

    /// The plan's BGPFilters converted for the speaker, by name; a filter that does not validate
    /// is left out, with the reason in `problems`.
    public static func routeFilters(_ filters: [BGPFilter]) -> (filters: [String: RouteFilter], problems: [String]) {
        var out: [String: RouteFilter] = [:]
        var problems: [String] = []
        for f in filters {
            do { out[f.metadata.name] = try RouteFilter(validating: f) } catch {
                problems.append("BGPFilter \(f.metadata.name): \(error)")
            }
        }
        return (out, problems)
    }

    /// What the mapping leaves out of a plan's filters, one line each, for the agent's log: a
    /// BGPFilter that does not convert, and a peer's filter name that names no usable filter
    /// (the peer is configured without it, as confd renders it).
    public static func filterProblems(_ plan: AgentPlan) -> [String] {
        let converted = routeFilters(plan.filters)
        var problems = converted.problems
        for p in plan.peers {
            for name in p.filters where converted.filters[name] == nil {
                problems.append("BGP peer \(p.name) (\(p.address)): filter \"\(name)\" is missing or invalid; the peer runs without it")
            }
        }
        return problems
    }

    /// The speaker configuration for a plan. `listenPort` from the effective BGPConfiguration.
    /// The node's `routeReflectorClusterID` becomes the speaker's CLUSTER_ID.
    public static func speakerConfig(plan: AgentPlan, routerID: IPv4Address, asNumber: ASNumber, listenPort: Int,
                                     controlSocket: String?, passwords: [PasswordRef: String] = [:]) -> SpeakerConfig {
        let filters = routeFilters(plan.filters).filters
        let available = Set(filters.keys)
        var config = SpeakerConfig(routerID: routerID, asNumber: asNumber,
                                   listen: ListenConfig(address: nil, port: UInt16(clamping: listenPort)),
                                   controlSocket: controlSocket,
                                   peers: plan.peers.map { peerConfig($0, passwords: passwords, available: available) },
                                   announce: plan.advertised.map { Announcement(prefix: $0) },
                                   clusterID: plan.routeReflectorClusterID.flatMap { IPv4Address($0) },
                                   filters: filters)
        // Calico's BIRD kernel protocol has `merge paths on`: equal BGP paths become one ECMP route.
        config.multipath = true
        return config
    }

    /// The kernel-route input for a change the speaker's route observer reported: nil when no
    /// peer route is left. With multipath, every equal path's next hop, best first, once each
    /// (one ECMP route, as BIRD's `merge paths on`).
    public static func learnedRoute(_ c: BestRouteChange) -> LearnedRoute? {
        guard let best = c.best, case .peer(let peer, _) = best.source else { return nil }
        var hops: [IPAddress] = []
        for r in c.multipath where !hops.contains(r.attributes.nextHop) { hops.append(r.attributes.nextHop) }
        return LearnedRoute(prefix: c.prefix, nextHops: hops.isEmpty ? [best.attributes.nextHop] : hops, peer: peer)
    }
}
