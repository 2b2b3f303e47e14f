import BGPSpeaker
import Calc
import NetCore
import NodeAgentCore

/// Turns the agent's plan (Calc's Calico-shaped peers, the advertised prefixes) into the native
/// speaker's configuration. Kept apart from the agent so the mapping is unit-tested.
public enum SpeakerMapping {
    /// One speaker peer per Calc peer. Passwords come from Kubernetes secrets in Calico; Twill
    /// has no secret store yet, so a peer that needs one is reported and configured without.
    public static func peerConfig(_ p: Peer, passwords: [PasswordRef: String] = [:]) -> PeerConfig {
        var c = PeerConfig(name: p.name, address: p.address, port: UInt16(clamping: p.port ?? 179), asNumber: p.remoteAS,
                           passive: p.passive, password: p.password.flatMap { passwords[$0] },
                           keepaliveTime: p.keepaliveTime,
                           multihop: p.multihop ? 255 : nil,
                           ttlSecurity: p.ttlSecurityHops != nil,
                           addressFamilies: [UnicastFamily(p.family)],
                           sourceAddress: p.sourceAddress)
        c.peerType = p.type.rawValue
        c.gracefulRestartTime = p.gracefulRestartTime
        return c
    }

    /// The speaker configuration for a plan. `listenPort` from the effective BGPConfiguration.
    public static func speakerConfig(plan: AgentPlan, routerID: IPv4Address, asNumber: ASNumber, listenPort: Int,
                                     controlSocket: String?, passwords: [PasswordRef: String] = [:]) -> SpeakerConfig {
        SpeakerConfig(routerID: routerID, asNumber: asNumber,
                      listen: ListenConfig(address: nil, port: UInt16(clamping: listenPort)),
                      controlSocket: controlSocket,
                      peers: plan.peers.map { peerConfig($0, passwords: passwords) },
                      announce: plan.advertised.map { Announcement(prefix: $0) })
    }
}
