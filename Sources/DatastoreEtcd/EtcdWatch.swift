import Datastore
import Foundation
import Synchronization

/// One watch: a thread that holds an etcd watch stream (`POST /v3/watch`, chunked JSON lines)
/// and runs the handler itself, serially.
///
/// - Replay: the stream starts at `afterRevision + 1` (etcd's start_revision), so nothing written
///   after `afterRevision` is missed, whenever the stream is actually established.
/// - `.inSync(max(afterRevision, R))`, R the store revision when `watch` was called, comes
///   before the first event newer than R, or once etcd's catch-up batch (a response whose header
///   revision is at least R) is delivered, or — when the history holds nothing for the prefix and
///   etcd therefore sends nothing — after `quietSync` seconds without data, provided no key
///   under the prefix still shows an undelivered write up to R (`historyPending`).
/// - Outage: on a broken stream the thread reconnects with backoff (`retryDelay`, doubling to
///   `maxRetryDelay`), trying each endpoint in turn, and resumes from the revision after the
///   last one delivered. Compaction past that revision ends the watch with `.resyncRequired`;
///   an error etcd will keep returning (permission denied) ends it with `.failed`.
final class EtcdWatch: Sendable {
    let client: EtcdClient
    let prefix: String
    let afterRevision: Int64
    let syncRevision: Int64
    let handler: @Sendable (WatchEvent) -> Void

    static let quietSync = 0.3
    static let retryDelay = 0.05
    static let maxRetryDelay = 2.0

    private let stopped = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let stream = Guarded<HTTPConnection?>(nil)
    private let thread = Guarded<pthread_t?>(nil)

    init(client: EtcdClient, prefix: String, afterRevision: Int64, startRevision: Int64,
         handler: @escaping @Sendable (WatchEvent) -> Void) {
        self.client = client
        self.prefix = prefix
        self.afterRevision = afterRevision
        syncRevision = max(afterRevision, startRevision)
        self.handler = handler
        let t = Thread { [self] in
            thread.withLock { $0 = pthread_self() }
            run()
            finished.signal()
        }
        t.name = "twill.etcd.watch"
        t.start()
    }

    var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Stops the watch; when called from outside the handler, waits for a running handler.
    func cancel() {
        if stopped.exchange(true, ordering: .acquiringAndReleasing) { waitUnlessSelf(); return }
        wake.signal()
        stream.withLock { $0?.shutdown() }
        waitUnlessSelf()
    }

    private func waitUnlessSelf() {
        if let t = thread.withLock({ $0 }), pthread_equal(t, pthread_self()) != 0 { return }
        finished.wait()
        finished.signal()  // later cancels return at once too
    }

    private func deliver(_ e: WatchEvent) {
        guard !isStopped else { return }
        handler(e)
    }

    private func run() {
        var next = afterRevision + 1
        var synced = false
        if afterRevision >= syncRevision {
            deliver(.inSync(revision: syncRevision))
            synced = true
        }
        var delay = Self.retryDelay
        var attempt = 0
        while !isStopped {
            let endpoints = client.endpointOrder()
            let endpoint = endpoints[attempt % endpoints.count]
            attempt += 1
            switch stream(endpoint: endpoint, next: &next, synced: &synced) {
            case .stop: return
            case .terminal(let e): deliver(e); return
            case .broken(let progressed):
                if progressed { delay = Self.retryDelay }
                // A restarted member forgets simple tokens, and how it says so varies (an HTTP
                // error, an in-stream error, a cancelled watch): authenticate afresh each time.
                if client.options.username != nil { client.invalidateToken() }
                // Back off once per round through the endpoints.
                if attempt % endpoints.count == 0 {
                    _ = wake.wait(timeout: .now() + delay)
                    delay = min(delay * 2, Self.maxRetryDelay)
                }
            }
        }
    }

    private enum Outcome { case stop, terminal(WatchEvent), broken(progressed: Bool) }

    /// One stream: connect, create the watch at `next`, deliver until it breaks.
    private func stream(endpoint: String, next: inout Int64, synced: inout Bool) -> Outcome {
        let conn: HTTPConnection
        do {
            conn = try client.connect(endpoint, ioTimeout: 0)
        } catch { return .broken(progressed: false) }
        stream.withLock { $0 = conn }
        defer { stream.withLock { $0 = nil } }
        if isStopped { return .stop }
        var create = EtcdJSON.prefixRange(prefix)
        create["start_revision"] = String(next)
        create["progress_notify"] = true
        var headers: [(String, String)]
        do { headers = try client.authHeaders() } catch { return .broken(progressed: false) }
        // clientv3's WithRequireLeader: a member cut off from the leader cancels the watch
        // ("no leader") instead of going silent, and the stream moves to another member.
        headers.append(("Grpc-Metadata-hasleader", "true"))
        let body = (try? JSONSerialization.data(withJSONObject: ["create_request": create])).map { Array($0) } ?? []
        var progressed = false
        var pending: [UInt8] = []
        do {
            try conn.send(path: "/v3/watch", body: body, headers: headers)
            let head = try conn.readHead()
            guard head.status == 200 else {
                var text: [UInt8] = []
                if head.chunked { while let c = try conn.readChunk() { text += c } }
                let message = String(decoding: text.prefix(300), as: UTF8.self)
                if client.options.username != nil && EtcdClient.isInvalidToken(message) {
                    client.invalidateToken()
                    return .broken(progressed: false)
                }
                if head.status == 401 || head.status == 403 || message.contains("permission denied") {
                    return .terminal(.failed(.unavailable("etcd at \(endpoint) refused the watch: \(message)")))
                }
                return .broken(progressed: false)
            }
            guard head.chunked else { return .broken(progressed: false) }
            while !isStopped {
                if !synced && !conn.hasBufferedData && !conn.waitReadable(timeout: Self.quietSync) {
                    // Silence may also mean etcd's catch-up is late: keys still holding a write
                    // in (next-1, syncRevision] prove it, and we keep waiting.
                    if historyPending(from: next) { continue }
                    deliver(.inSync(revision: syncRevision))
                    synced = true
                    continue
                }
                guard let chunk = try conn.readChunk() else { return .broken(progressed: progressed) }
                pending += chunk
                while let nl = pending.firstIndex(of: 10) {
                    let line = Array(pending[..<nl])
                    pending.removeSubrange(...nl)
                    guard !line.isEmpty else { continue }
                    switch handle(line: line, endpoint: endpoint, next: &next, synced: &synced) {
                    case .some(let outcome): return outcome
                    case .none: progressed = true
                    }
                }
            }
            return .stop
        } catch {
            return isStopped ? .stop : .broken(progressed: progressed)
        }
    }

    /// True when some key under the prefix, as of `syncRevision`, was last written at a revision
    /// in [`from`, `syncRevision`], i.e. history the stream has not delivered yet. (Keys deleted
    /// inside that window are invisible to this check.)
    private func historyPending(from: Int64) -> Bool {
        guard from <= syncRevision else { return false }
        var range = EtcdJSON.prefixRange(prefix)
        // etcd's `count` ignores the mod-revision filters; the filtered keys are what counts.
        range["keys_only"] = true
        range["revision"] = String(syncRevision)
        range["min_mod_revision"] = String(from)
        range["max_mod_revision"] = String(syncRevision)
        guard let r = try? client.call("/v3/kv/range", range, idempotent: true) else { return false }
        return !(r["kvs"] as? [Any] ?? []).isEmpty
    }

    /// Handles one JSON message of the stream; non-nil ends the stream.
    private func handle(line: [UInt8], endpoint: String, next: inout Int64, synced: inout Bool) -> Outcome? {
        guard let msg = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else { return nil }
        if let error = msg["error"] as? [String: Any] {
            let message = error["message"] as? String ?? "\(error)"
            if message.contains("compacted") { return .terminal(.resyncRequired) }
            if client.options.username != nil && EtcdClient.isInvalidToken(message) {
                client.invalidateToken()
                return .broken(progressed: false)
            }
            if message.contains("permission denied") {
                return .terminal(.failed(.unavailable("etcd at \(endpoint) refused the watch: \(message)")))
            }
            return .broken(progressed: false)
        }
        guard let result = msg["result"] as? [String: Any] else { return nil }
        if EtcdJSON.int(result["compact_revision"]) > 0 { return .terminal(.resyncRequired) }
        if result["canceled"] as? Bool == true { return .broken(progressed: false) }
        let header = EtcdJSON.revision(result)
        var revisions = Set<Int64>()
        let resumeAt = next
        for e in result["events"] as? [[String: Any]] ?? [] {
            guard let kv = e["kv"] as? [String: Any] else { continue }
            let rev = EtcdJSON.int(kv["mod_revision"])
            guard rev >= resumeAt else { continue }  // already delivered before a reconnect
            revisions.insert(rev)
            if !synced && rev > syncRevision {
                deliver(.inSync(revision: syncRevision))
                synced = true
            }
            if (e["type"] as? String) == "DELETE" {
                deliver(.deleted(key: EtcdJSON.string(kv["key"]), revision: rev))
            } else {
                deliver(.put(EtcdJSON.pair(kv)))
            }
            // Events of one revision arrive in one response, so the next stream starts after it.
            next = rev + 1
        }
        // A catch-up batch carries the revision etcd had when it sent it; unless it was cut at
        // etcd's batch limit (1000 revisions), history up to syncRevision is now delivered.
        if !synced && header >= syncRevision && revisions.count < 1000 && !(result["created"] as? Bool ?? false) {
            deliver(.inSync(revision: syncRevision))
            synced = true
        }
        return nil
    }
}

/// Releasing the handle cancels the watch.
final class EtcdWatchHandle: WatchHandle {
    let watch: EtcdWatch
    init(_ watch: EtcdWatch) { self.watch = watch }
    func cancel() { watch.cancel() }
    deinit { watch.cancel() }
}
