/// What a peer's exported routes carry as NEXT_HOP (Calico BGPPeer `nextHopMode`, BIRD
/// `next hop self` / `next hop keep`).
public enum NextHopMode: String, Hashable, Sendable {
    /// Next-hop self towards eBGP peers, the next hop unchanged towards iBGP peers (RFC 4271
    /// §5.1.3, BIRD's default).
    case auto
    /// Always our own address on the session.
    case self_ = "self"
    /// Always the route's next hop unchanged, eBGP included.
    case keep

    /// Whether a route sent to a peer of type `peerType` gets our address as next hop.
    public func setsSelf(towards peerType: PeerType) -> Bool {
        switch self {
        case .auto: peerType != .ibgp
        case .self_: true
        case .keep: false
        }
    }
}
