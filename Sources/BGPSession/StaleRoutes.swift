import NetCore

/// Graceful restart helper bookkeeping for one peer (RFC 4724 §4.2): which of the peer's routes
/// are stale and until when. Pure: the shell passes its monotonic `now`, keeps one timer armed
/// for `nextDeadline` (calling `expire(now:)` when it fires) and withdraws every prefix a
/// method returns. It outlives the FSM instances of the peer (a collision replaces one).
///
/// Life of a restart, as BIRD, FRR and GoBGP run it:
/// 1. The session drops without a NOTIFICATION (or with one under RFC 8538's N bit) and the FSM
///    says `.retainStaleRoutes(families, restartTime)`: `sessionLost` marks the peer's routes of
///    those families stale (they stay in the RIB, unchanged) and starts the restart timer
///    (the peer's advertised Restart Time). Routes of other families go at once.
/// 2. The restart timer fires before a new session is Established: every stale route goes.
/// 3. The new session is Established: `sessionEstablished` flushes the families the new OPEN
///    no longer preserves (no GR, family gone, F bit clear) and gives the others the stale
///    time (FRR's `stalepath-time`, 360 s) to send their End-of-RIB.
/// 4. Each route the peer sends again (announced or withdrawn) stops being stale (`refreshed`);
///    at the family's End-of-RIB (`endOfRIB`) or at the stale deadline the still-stale ones go.
public struct StaleRoutes: Hashable, Sendable {
    /// Upper bound on waiting for End-of-RIB once the session is back (RFC 4724 §4.2 "MAY
    /// support a (configurable) timer"; FRR's `bgp graceful-restart stalepath-time` default).
    public static let defaultStaleTime: Duration = .seconds(360)

    public enum Phase: Hashable, Sendable {
        /// No stale routes: not helping.
        case idle
        /// The session is down; stale routes wait for the peer to come back.
        case waitingForSession
        /// The session is back; stale routes wait for the peer's End-of-RIB.
        case waitingForEndOfRIB
    }

    public var staleTime: Duration
    /// Stale prefixes per family.
    public private(set) var stale: [AddressFamily: Set<IPPrefix>] = [:]
    /// When each family's stale routes go if nothing else removed them first.
    public private(set) var deadlines: [AddressFamily: Instant] = [:]
    public private(set) var sessionUp = true

    public init(staleTime: Duration = StaleRoutes.defaultStaleTime) {
        self.staleTime = staleTime
    }

    public var phase: Phase {
        if stale.isEmpty { return .idle }
        return sessionUp ? .waitingForEndOfRIB : .waitingForSession
    }

    /// Helping the peer through a restart (some of its routes are stale).
    public var isHelping: Bool { !stale.isEmpty }
    public var staleCount: Int { stale.values.reduce(0) { $0 + $1.count } }
    /// The earliest deadline: arm the shell's timer for it.
    public var nextDeadline: Instant? { deadlines.values.min() }

    public func isStale(_ prefix: IPPrefix) -> Bool {
        stale[AddressFamily(unicast: prefix.family)]?.contains(prefix) == true
    }

    /// The session went down and the FSM said `.retainStaleRoutes(families, restartTime)`.
    /// `routes` is every prefix currently accepted from the peer (stale ones included). Returns
    /// the prefixes to withdraw now: those of families not retained.
    public mutating func sessionLost(retaining families: Set<AddressFamily>, restartTime: Duration,
                                     routes: some Sequence<IPPrefix>, now: Instant) -> [IPPrefix] {
        var flush: [IPPrefix] = []
        var kept: [AddressFamily: Set<IPPrefix>] = [:]
        for p in routes {
            let f = AddressFamily(unicast: p.family)
            if families.contains(f) { kept[f, default: []].insert(p) } else { flush.append(p) }
        }
        stale = kept
        sessionUp = false
        deadlines = [:]
        let until = now + restartTime
        for f in kept.keys { deadlines[f] = until }
        return flush
    }

    /// The session went down without retention (or the peer was stopped): nothing is stale any
    /// more. Returns the prefixes that were stale (the shell withdraws every route anyway).
    @discardableResult
    public mutating func reset() -> [IPPrefix] {
        let out = stale.values.flatMap { $0 }
        stale = [:]
        deadlines = [:]
        sessionUp = true
        return out
    }

    /// A new session is Established. Returns the stale prefixes to withdraw at once (families
    /// the new OPEN does not preserve); the others wait for End-of-RIB or the stale time.
    public mutating func sessionEstablished(_ session: NegotiatedSession, now: Instant) -> [IPPrefix] {
        sessionUp = true
        guard !stale.isEmpty else { return [] }
        var flush: [IPPrefix] = []
        for f in session.staleFamiliesToFlush(retained: Set(stale.keys)) { flush += drop(f) }
        for f in stale.keys { deadlines[f] = now + staleTime }
        return flush
    }

    /// The peer sent this prefix again (announced or withdrawn): it is no longer stale.
    public mutating func refreshed(_ prefix: IPPrefix) {
        guard !stale.isEmpty else { return }
        let f = AddressFamily(unicast: prefix.family)
        guard stale[f]?.remove(prefix) != nil else { return }
        if stale[f]?.isEmpty == true { stale[f] = nil; deadlines[f] = nil }
    }

    /// End-of-RIB from the peer: its still-stale routes of `family` go. (Ignored while the
    /// session is down: it cannot arrive then.)
    public mutating func endOfRIB(_ family: AddressFamily) -> [IPPrefix] {
        guard sessionUp else { return [] }
        return drop(family)
    }

    /// The shell's timer fired: the stale routes of every family whose deadline has passed go
    /// (within the FSM's timer slack, so an early firing counts).
    public mutating func expire(now: Instant) -> [IPPrefix] {
        var out: [IPPrefix] = []
        for (f, due) in deadlines where now.milliseconds >= due.milliseconds - SessionFSM.timerSlack {
            out += drop(f)
        }
        return out
    }

    private mutating func drop(_ f: AddressFamily) -> [IPPrefix] {
        deadlines[f] = nil
        return Array(stale.removeValue(forKey: f) ?? [])
    }
}

extension AddressFamily {
    /// IPv4 or IPv6 unicast for a prefix's family.
    public init(unicast f: IPFamily) { self = f == .v4 ? .ipv4Unicast : .ipv6Unicast }
}
