import Datastore
import Dispatch
import Foundation
import Logging
import NodeModel

/// Follows the part of the datastore the agent computes from — every `projectcalico.org/v3`
/// resource and the IPAM block affinities — as a decoded cache, the way Felix's and confd's
/// syncers do: list, then watch from the listing's revision; re-list when history is compacted;
/// on an outage keep the cache (and so everything programmed from it), retry with backoff, and
/// catch up from the last revision seen.
///
/// A watch may ride out an outage by itself (etcd's reconnects from its last revision), which
/// would hide the outage from the syncer; so while the watches run the store is probed every
/// `probeInterval` seconds (one cheap `currentRevision`, off the syncer's queue) and an outage is
/// said once ("datastore unavailable") and its end once ("datastore is back"), and shows in
/// `unavailableReason` (readiness) meanwhile.
///
/// `onChange` runs on the syncer's queue with the whole cache whenever it changed (coalesced:
/// a burst of events gives one call) and says whether the cache is in sync with the store.
public final class DatastoreSyncer: @unchecked Sendable {
    public struct State: Sendable {
        public var resources: [String: Resource]
        public var revision: Int64
        public var inSync: Bool
    }

    static let prefixes = [ResourceKeys.v3Root, ResourceKeys.ipamRoot + "host/"]

    private let store: any Datastore
    private let logger: Logger
    private let queue = DispatchQueue(label: "twill.node.syncer")
    private let onChange: @Sendable (State) -> Void
    // Confined to `queue`.
    private var cache: [String: Resource] = [:]
    private var revision: Int64 = 0
    private var synced: Set<String> = []
    private var watches: [any WatchHandle] = []
    private var generation = 0
    private var flushScheduled = false
    private var stopped = false
    private var retryDelay = 0.1
    private var lastError: String?
    /// Set while the probe finds the store away although the watches still stand.
    private var probeFailure: String?
    private let probeInterval: Double
    /// When the last event arrived and the revision it carried (watch lag for metrics).
    public private(set) var lastEventAt: Date?

    public init(store: any Datastore, logger: Logger, probeInterval: Double = 2,
                onChange: @escaping @Sendable (State) -> Void) {
        self.store = store
        self.logger = logger
        self.probeInterval = probeInterval
        self.onChange = onChange
    }

    public func start() { queue.async { self.resync(); self.scheduleProbe() } }

    public func stop() {
        let ws: [any WatchHandle] = queue.sync { stopped = true; defer { watches = [] }; return watches }
        for w in ws { w.cancel() }
    }

    /// Whether the cache reflects the store (false while the store is away or re-listing).
    public var isInSync: Bool { queue.sync { synced.count == Self.prefixes.count } }

    public var unavailableReason: String? { queue.sync { lastError ?? probeFailure } }

    // MARK: on `queue`

    private func resync() {
        guard !stopped else { return }
        for w in watches { w.cancel() }
        watches = []
        generation += 1
        synced = []
        let gen = generation
        var fresh: [String: Resource] = [:]
        var rev: Int64 = 0
        do {
            // Each prefix is watched from its own listing's revision: a write between the two
            // listings is then in one listing or delivered by that prefix's watch, never lost.
            for prefix in Self.prefixes {
                let list = try store.list(prefix: prefix)
                rev = max(rev, list.revision)
                for pair in list.pairs { if let r = decode(pair) { fresh[pair.key] = r } }
                let h = try store.watch(prefix: prefix, afterRevision: list.revision) { [weak self] ev in
                    guard let self else { return }
                    self.queue.async { self.handle(ev, prefix: prefix, generation: gen) }
                }
                watches.append(h)
            }
        } catch {
            fail("\(error)")
            return
        }
        if lastError != nil || probeFailure != nil {
            logger.info("datastore is back; resynchronised", metadata: ["revision": "\(rev)"])
        }
        lastError = nil
        probeFailure = nil
        retryDelay = 0.1
        cache = fresh
        revision = rev
        scheduleFlush()
    }

    private func fail(_ reason: String) {
        for w in watches { w.cancel() }
        watches = []
        synced = []
        if lastError == nil && probeFailure == nil {
            logger.error("datastore unavailable; keeping everything programmed and retrying", metadata: ["error": "\(reason)"])
        }
        lastError = reason
        let delay = retryDelay
        retryDelay = min(retryDelay * 2, 5)
        queue.asyncAfter(deadline: .now() + delay) { [weak self] in self?.resync() }
    }

    private func scheduleProbe() {
        guard probeInterval > 0 else { return }
        queue.asyncAfter(deadline: .now() + probeInterval) { [weak self] in self?.probe() }
    }

    /// Asks the store for its revision while the watches run (a failed listing already reports
    /// and retries by itself). The call may block up to the store's timeout: not on `queue`.
    private func probe() {
        guard !stopped else { return }
        guard lastError == nil, !watches.isEmpty else { scheduleProbe(); return }
        let store = self.store
        DispatchQueue.global().async { [weak self] in
            let failure: String?
            do { _ = try store.currentRevision(); failure = nil } catch { failure = "\(error)" }
            guard let self else { return }
            self.queue.async { self.probed(failure) }
        }
    }

    private func probed(_ failure: String?) {
        guard !stopped else { return }
        if let failure, probeFailure == nil, lastError == nil {
            logger.error("datastore unavailable; keeping everything programmed, the watches retry with backoff",
                         metadata: ["error": "\(failure)", "revision": "\(revision)"])
        } else if failure == nil, probeFailure != nil {
            logger.info("datastore is back; the watches catch up from the last revision seen", metadata: ["revision": "\(revision)"])
        }
        probeFailure = lastError == nil ? failure : nil
        scheduleProbe()
    }

    private func handle(_ event: WatchEvent, prefix: String, generation gen: Int) {
        guard gen == generation, !stopped else { return }
        lastEventAt = Date()
        switch event {
        case .put(let pair):
            if let r = decode(pair) { cache[pair.key] = r } else { cache[pair.key] = nil }
            revision = max(revision, pair.revision)
        case .deleted(let key, let rev):
            cache[key] = nil
            revision = max(revision, rev)
        case .inSync(let rev):
            synced.insert(prefix)
            revision = max(revision, rev)
        case .resyncRequired:
            logger.warning("datastore history compacted; listing again")
            resync()
            return
        case .failed(let e):
            fail("\(e)")
            return
        }
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        // Coalesce: events already queued are applied before the consumer runs.
        queue.async { [weak self] in
            guard let self else { return }
            self.flushScheduled = false
            self.onChange(State(resources: self.cache, revision: self.revision,
                                inSync: self.synced.count == Self.prefixes.count))
        }
    }

    private func decode(_ pair: KVPair) -> Resource? {
        do {
            return try ResourceStorage.decode(key: pair.key, bytes: pair.value, revision: pair.revision)
        } catch {
            logger.warning("ignoring a datastore value that does not decode", metadata: ["key": "\(pair.key)", "error": "\(error)"])
            return nil
        }
    }
}
