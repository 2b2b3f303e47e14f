/// One configured BGP session as readiness sees it.
public struct PeerReadiness: Hashable, Sendable {
    public var name: String
    /// The session state as shown to users (`Established`, `Active`, `Connect`, …).
    public var state: String
    public var established: Bool

    public init(name: String, state: String, established: Bool) {
        self.name = name; self.state = state; self.established = established
    }

    /// `established` from the state name.
    public init(name: String, state: String) { self.init(name: name, state: state, established: state == "Established") }
}

/// The agent's `/readiness`, as calico-node judges BIRD (calico.md §3.4,
/// `node/pkg/health/health.go checkBIRDReady`): no peers configured ⇒ ready; during start-up
/// ready only when EVERY configured peer is Established; once that has happened (or the shell
/// says the start-up period is over) ready when AT LEAST ONE is. Clock-free: the shell decides
/// when start-up ends and passes `startupComplete`.
public struct Readiness: Hashable, Sendable {
    public enum Phase: String, Hashable, Sendable { case startingUp, running }

    public private(set) var phase: Phase = .startingUp
    public private(set) var isReady: Bool = false
    /// Why not ready; nil when ready.
    public private(set) var reason: String? = "not evaluated yet"

    public init() {}

    public mutating func update(peers: [PeerReadiness], startupComplete: Bool = false) {
        let sorted = peers.sorted { ($0.name, $0.state) < ($1.name, $1.state) }
        let down = sorted.filter { !$0.established }
        let list = down.map { "\($0.name) (\($0.state))" }.joined(separator: ", ")
        if startupComplete || (!sorted.isEmpty && down.isEmpty) { phase = .running }
        if sorted.isEmpty {
            isReady = true; reason = nil
        } else if phase == .startingUp {
            isReady = down.isEmpty
            reason = isReady ? nil : "waiting for BGP sessions: \(list)"
        } else {
            isReady = down.count < sorted.count
            reason = isReady ? nil : "no BGP session established: \(list)"
        }
    }

    /// Peers as (name, established); the state text shown is `Established` / `not Established`.
    @_disfavoredOverload
    public mutating func update(peers: [(name: String, established: Bool)], startupComplete: Bool = false) {
        update(peers: peers.map { PeerReadiness(name: $0.name, state: $0.established ? "Established" : "not Established",
                                                established: $0.established) },
               startupComplete: startupComplete)
    }
}
