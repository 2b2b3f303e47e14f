/// Result of applying a new configuration to a running session.
public enum ReconfigureOutcome: Hashable, Sendable {
    /// Applied without disturbing the session (timers and policies take effect at their next use).
    case inPlace
    /// The session must be reset for the change to apply: the shell sends
    /// `.manualStop(subcode: CeaseSubcode.otherConfigurationChange)` then `.manualStart`.
    case resetSession(ResetReason)
}

/// Why a reconfiguration needs a reset: the fields that changed.
public struct ResetReason: Hashable, Sendable, CustomStringConvertible {
    public var changedFields: [String]
    public init(changedFields: [String]) { self.changedFields = changedFields }
    public var description: String { changedFields.joined(separator: ", ") + " changed" }
}

extension PeerSessionConfig {
    /// The fields of `new` that differ from `self` and can only take effect in a new session:
    /// identity, transport, the offered hold time and every advertised capability (a new OPEN
    /// is needed, as BIRD's `bgp_reconfigure` and OpenBGPD's reload decide). Everything else
    /// (passive, keepalive, retry/backoff timers, DelayOpen, EoR policy, the GR R bit) is
    /// applied in place.
    public func fieldsRequiringReset(_ new: PeerSessionConfig) -> [String] {
        var f: [String] = []
        if localAS != new.localAS { f.append("localAS") }
        if peerAS != new.peerAS { f.append("peerAS") }
        if localRouterID != new.localRouterID { f.append("localRouterID") }
        if peerAddress != new.peerAddress { f.append("peerAddress") }
        if localAddress != new.localAddress { f.append("localAddress") }
        if peerPort != new.peerPort { f.append("peerPort") }
        if password != new.password { f.append("password") }
        if holdTime != new.holdTime { f.append("holdTime") }
        if families != new.families { f.append("families") }
        if routeRefresh != new.routeRefresh { f.append("routeRefresh") }
        if enhancedRouteRefresh != new.enhancedRouteRefresh { f.append("enhancedRouteRefresh") }
        if extendedMessage != new.extendedMessage { f.append("extendedMessage") }
        var oldGR = gracefulRestart, newGR = new.gracefulRestart
        oldGR?.restarting = false
        newGR?.restarting = false
        if oldGR != newGR { f.append("gracefulRestart") }
        if addPath != new.addPath { f.append("addPath") }
        if extendedNextHop != new.extendedNextHop { f.append("extendedNextHop") }
        return f
    }
}

extension SessionFSM {
    /// Adopt `new`. Returns whether the running session must be reset for it to apply; an
    /// Idle instance always takes it in place (it is used at the next start).
    public mutating func reconfigure(_ new: PeerSessionConfig) -> ReconfigureOutcome {
        let fields = config.fieldsRequiringReset(new)
        let wasIdle = state == .idle
        config = new
        if !config.passive && passiveRun && !isSecondary && state == .idle { passiveRun = false }
        return wasIdle || fields.isEmpty ? .inPlace : .resetSession(ResetReason(changedFields: fields))
    }
}
