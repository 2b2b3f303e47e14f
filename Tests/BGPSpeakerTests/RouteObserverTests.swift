import BGPSpeaker
import Foundation
import NetCore
import Testing
import TestSupport

/// Collects route observer batches (called on a speaker's queue).
final class ObservedChanges: @unchecked Sendable {
    private let lock = NSLock()
    private var batches: [[BestRouteChange]] = []
    func add(_ b: [BestRouteChange]) { lock.withLock { batches.append(b) } }
    var all: [BestRouteChange] { lock.withLock { batches.flatMap { $0 } } }
    var batchCount: Int { lock.withLock { batches.count } }
    var lastBatch: [BestRouteChange] { lock.withLock { batches.last ?? [] } }
    /// (prefix, next hop or nil) per change, in order.
    var summary: [String] {
        all.map { "\($0.prefix) \($0.best.map { "\($0.attributes.nextHop)" } ?? "-")" }
    }
}

/// The route observer the node agent programs the kernel from: two speakers on loopback, B
/// observes what it learns from A.
@Suite(.serialized) struct RouteObserverTests {
    typealias L = SpeakerLoopbackTests

    /// iBGP (next hops kept): announce, change the next hop, withdraw, announce again, peer down.
    /// The observer sees exactly those five changes, never B's own announcement.
    @Test func observerSeesEveryBestRouteChangeOnce() throws {
        let log = ObservedChanges()
        let p9 = IPPrefix("10.9.0.0/24")!
        let p = try L.pair(aAS: 65002, aAnnounce: [Announcement(prefix: p9, nextHop: IPAddress("10.9.9.9"))],
                           bAnnounce: [Announcement(prefix: IPPrefix("10.2.0.0/24")!)],
                           bObserver: { log.add($0) })
        var stopped = false
        defer { if !stopped { p.stop() } }
        #expect(eventually(timeout: 10) { log.summary == ["10.9.0.0/24 10.9.9.9"] })
        let first = try #require(log.all.first?.best)
        #expect(first.source == .peer(IPAddress("127.0.0.1")!, ebgp: false))
        #expect(first.attributes.asPathText == "" && first.attributes.path.localPref == 100)
        #expect(p.b.learnedBestRoutes() == [first], "the snapshot is the learned route, not B's own")

        var cfg = p.a.config
        cfg.announce = [Announcement(prefix: p9, nextHop: IPAddress("10.9.9.8"))]
        try p.a.reload(cfg)
        #expect(eventually(timeout: 5) { log.summary.count == 2 })
        cfg.announce = []
        try p.a.reload(cfg)
        #expect(eventually(timeout: 5) { log.summary.count == 3 })
        #expect(p.b.learnedBestRoutes().isEmpty)
        cfg.announce = [Announcement(prefix: p9, nextHop: IPAddress("10.9.9.9"))]
        try p.a.reload(cfg)
        #expect(eventually(timeout: 5) { log.summary.count == 4 })
        // Peer down (A shuts down: Cease): its route goes at once.
        p.a.stop()
        #expect(eventually(timeout: 5) { log.summary.count == 5 })
        #expect(log.summary == ["10.9.0.0/24 10.9.9.9", "10.9.0.0/24 10.9.9.8", "10.9.0.0/24 -",
                                "10.9.0.0/24 10.9.9.9", "10.9.0.0/24 -"])
        #expect(log.batchCount == 5, "one call per UPDATE / session down")
        #expect(p.b.learnedBestRoutes().isEmpty)
        p.b.stop()
        p.dir.cleanup()
        stopped = true
    }

    /// Several prefixes changed by one UPDATE arrive in one batch; the observer may read the
    /// speaker from inside the callback without deadlocking.
    @Test func oneBatchPerUpdateAndReentrantReads() throws {
        let log = ObservedChanges()
        let seen = ObservedChanges()
        let box = SpeakerBox()
        let prefixes = (0..<50).map { IPPrefix("10.60.\($0).0/24")! }
        let p = try L.pair(aAS: 65002, aAnnounce: prefixes.map { Announcement(prefix: $0, nextHop: IPAddress("10.9.9.9")) },
                           bAnnounce: [], bObserver: { changes in
                               log.add(changes)
                               // Re-entrant read: must not deadlock, and already shows the change.
                               if let s = box.speaker { seen.add(s.learnedBestRoutes().map { BestRouteChange(prefix: $0.prefix, best: $0) }) }
                           })
        box.speaker = p.b
        defer { p.stop() }
        #expect(eventually(timeout: 10) { log.all.count == 50 })
        #expect(log.batchCount == 1, "50 prefixes with one attribute set fit one UPDATE: one batch")
        #expect(Set(log.all.map(\.prefix)) == Set(prefixes))
        // The box is filled after start: the next batch (one withdrawal) reads the speaker from
        // inside the callback, which must not deadlock and already shows the change.
        var cfg = p.a.config
        cfg.announce.removeLast()
        try p.a.reload(cfg)
        #expect(eventually(timeout: 5) { log.batchCount == 2 })
        #expect(log.all.last == BestRouteChange(prefix: prefixes[49], best: nil))
        #expect(eventually(timeout: 2) { seen.lastBatch.count == 49 })
    }
}

final class SpeakerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var s: Speaker?
    var speaker: Speaker? {
        get { lock.withLock { s } }
        set { lock.withLock { s = newValue } }
    }
}
