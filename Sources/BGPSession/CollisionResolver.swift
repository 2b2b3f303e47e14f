import NetCore

/// One of a peer's (at most two) connections, as collision resolution needs to see it.
public struct ConnectionView: Hashable, Sendable {
    public var direction: ConnectionDirection
    public var state: SessionState
    /// The BGP Identifier from the OPEN received on this connection, once known.
    public var peerRouterID: IPv4Address?
    public var peerAS: ASNumber?
    /// Graceful restart was negotiated on this connection.
    public var gracefulRestartNegotiated: Bool

    public init(direction: ConnectionDirection, state: SessionState, peerRouterID: IPv4Address? = nil,
                peerAS: ASNumber? = nil, gracefulRestartNegotiated: Bool = false) {
        self.direction = direction
        self.state = state
        self.peerRouterID = peerRouterID
        self.peerAS = peerAS
        self.gracefulRestartNegotiated = gracefulRestartNegotiated
    }
}

/// What to do about two connections to the same peer.
public enum CollisionDecision: Hashable, Sendable {
    /// Not decidable yet (no BGP Identifier known) or not a collision: keep both for now.
    case undecided
    /// Deliver `.openCollisionDump` to the instance running the connection in this direction
    /// (it sends Cease 6/7 and closes); the other one survives.
    case close(ConnectionDirection)
    /// Both connections run in the same direction: the peer opened another one while its
    /// session is Established (it restarted without us noticing, e.g. a hard reboot). Deliver
    /// `.openCollisionDump` to the Established instance if `established` (graceful restart was
    /// negotiated: the peer restarted, RFC 4724 §4.2), else to the other one (RFC 4271 §6.8).
    case closeSameDirection(established: Bool)
}

/// Connection collision resolution (RFC 4271 §6.8, RFC 6286 §2.3, RFC 4724 §4.2). Pure: the
/// shell calls it after every event on either instance while a peer has two connections.
public enum CollisionResolver {
    public static func resolve(localRouterID: IPv4Address, localAS: ASNumber,
                               _ a: ConnectionView, _ b: ConnectionView) -> CollisionDecision {
        let relevant: Set<SessionState> = [.openSent, .openConfirm, .established]
        guard relevant.contains(a.state), relevant.contains(b.state) else { return .undecided }
        let sameDirection = a.direction == b.direction

        // Exactly one is Established (both cannot be: the shell establishes one at a time).
        if (a.state == .established) != (b.state == .established) {
            let (est, other) = a.state == .established ? (a, b) : (b, a)
            if est.gracefulRestartNegotiated {
                // RFC 4724 §4.2: a new OPEN from a GR peer while the old session is still up
                // means the peer restarted: the old connection goes, its routes become stale.
                guard other.peerRouterID != nil else { return .undecided }
                return sameDirection ? .closeSameDirection(established: true) : .close(est.direction)
            }
            // RFC 4271 §6.8: a collision with an Established connection closes the new one.
            return sameDirection ? .closeSameDirection(established: false) : .close(other.direction)
        }
        guard !sameDirection else { return .undecided }

        guard let remoteID = a.peerRouterID ?? b.peerRouterID else { return .undecided }
        let outboundWins: Bool
        if localRouterID != remoteID {
            // The connection initiated by the speaker with the higher BGP Identifier survives.
            outboundWins = localRouterID.value > remoteID.value
        } else {
            // Same identifier (allowed between ASes, RFC 6286 §2.3): the larger AS's connection survives.
            let remoteAS = a.peerAS ?? b.peerAS ?? localAS
            outboundWins = localAS > remoteAS
        }
        return .close(outboundWins ? .inbound : .outbound)
    }
}
