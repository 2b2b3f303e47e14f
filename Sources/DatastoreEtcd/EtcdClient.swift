import Datastore
import Foundation

/// etcd v3 over its JSON gateway (`POST /v3/...`, base64 keys and values, int64 as strings):
/// endpoint failover, a keep-alive connection pool and the auth token.
final class EtcdClient: Sendable {
    let options: EtcdOptions
    /// Index of the endpoint that answered last; calls start there.
    private let current = Guarded<Int>(0)
    private let idle = Guarded<[String: [HTTPConnection]]>([:])
    private let token = Guarded<String?>(nil)
    let tls: TLSContext?

    init(options: EtcdOptions) throws(DatastoreError) {
        self.options = options
        tls = options.tls ? try TLSContext(caFile: options.caFile, certFile: options.certFile, keyFile: options.keyFile) : nil
    }

    /// A new connection to `endpoint` with this client's TLS settings.
    func connect(_ endpoint: String, ioTimeout: Double) throws(HTTPFailure) -> HTTPConnection {
        try HTTPConnection(endpoint: endpoint, timeout: options.timeout, ioTimeout: ioTimeout, tls: tls)
    }

    var preferredEndpoint: Int { current.withLock { $0 } }
    func prefer(_ i: Int) { current.withLock { $0 = i % options.endpoints.count } }

    /// Endpoints in the order to try them: the last good one first.
    func endpointOrder() -> [String] {
        let n = options.endpoints.count, s = preferredEndpoint
        return (0..<n).map { options.endpoints[(s + $0) % n] }
    }

    /// Headers every request carries (the auth token when auth is on).
    func authHeaders() throws(DatastoreError) -> [(String, String)] {
        guard options.username != nil else { return [] }
        if let t = token.withLock({ $0 }) { return [("Authorization", t)] }
        let t = try authenticate()
        return [("Authorization", t)]
    }

    private func authenticate() throws(DatastoreError) -> String {
        let body: [String: Any] = ["name": options.username ?? "", "password": options.password ?? ""]
        let r = try call("/v3/auth/authenticate", body, idempotent: true, authenticated: false)
        guard let t = r["token"] as? String, !t.isEmpty else {
            throw .unavailable("etcd authentication as \(options.username ?? "") returned no token")
        }
        token.withLock { $0 = t }
        return t
    }

    /// Forgets the auth token (etcd said "invalid auth token", e.g. after a restart: simple
    /// tokens live in the member's memory); the next request authenticates again.
    func invalidateToken() { token.withLock { $0 = nil } }

    static func isInvalidToken(_ message: String) -> Bool {
        message.contains("invalid auth token") || message.contains("user name is empty")
    }

    /// A fresh or pooled connection to `endpoint`; `reused` says it came from the pool.
    private func connection(_ endpoint: String) throws(HTTPFailure) -> (HTTPConnection, reused: Bool) {
        if let c = idle.withLock({ $0[endpoint]?.popLast() }) { return (c, true) }
        return (try connect(endpoint, ioTimeout: options.timeout), false)
    }

    private func release(_ c: HTTPConnection) {
        guard !c.broken else { return }
        idle.withLock { pool in
            if pool[c.endpoint, default: []].count < 8 { pool[c.endpoint, default: []].append(c) }
        }
    }

    /// One JSON call with failover. Connection errors move on to the next endpoint; a request
    /// that may have reached a server is retried only when `idempotent`. etcd's own errors
    /// (leader lost, timeouts) also fail over; other errors are thrown as `.unavailable`
    /// with etcd's message.
    func call(_ path: String, _ body: [String: Any], idempotent: Bool,
              authenticated: Bool = true) throws(DatastoreError) -> [String: Any] {
        let payload: [UInt8]
        do { payload = Array(try JSONSerialization.data(withJSONObject: body)) } catch {
            throw .unavailable("cannot encode the etcd request for \(path): \(error)")
        }
        var reasons: [String] = []
        var reauthenticated = false
        var order = endpointOrder()
        var i = 0
        // "No leader" means not applied: during an election the whole round is retried until
        // the call's timeout, so the first write after losing the leader waits for the new one.
        let deadline = Date().addingTimeInterval(options.timeout)
        var sawNoLeader = false
        while true {
            if i == order.count {
                guard sawNoLeader, Date() < deadline else { break }
                usleep(50_000)
                sawNoLeader = false
                reasons.removeAll()
                order = endpointOrder()
                i = 0
            }
            let endpoint = order[i]
            // clientv3's WithRequireLeader: a member without a leader answers "no leader" at once.
            let headers = (authenticated ? try authHeaders() : []) + [("Grpc-Metadata-hasleader", "true")]
            let response: HTTPResponse
            do {
                var (conn, reused) = try connection(endpoint)
                do {
                    response = try conn.request(path: path, body: payload, headers: headers)
                } catch let failure where reused && (idempotent || !failure.timedOut) {
                    // A pooled keep-alive connection the server had closed (reset or EOF before
                    // any answer, as Go's net/http assumes too): once more on a fresh one. A
                    // timeout is not that: the server may be applying the write.
                    conn = try connect(endpoint, ioTimeout: options.timeout)
                    response = try conn.request(path: path, body: payload, headers: headers)
                }
                release(conn)
            } catch {
                reasons.append(error.reason)
                if error.sent && !idempotent {
                    throw .unavailable("\(error.reason); the write may or may not have been applied")
                }
                i += 1
                continue
            }
            let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
            if response.status == 200 {
                if let k = options.endpoints.firstIndex(of: endpoint) { prefer(k) }
                return json
            }
            let message = (json["message"] as? String) ?? (json["error"] as? String)
                ?? String(decoding: response.body.prefix(200), as: UTF8.self)
            let code = (json["code"] as? Int) ?? -1
            if authenticated, options.username != nil, !reauthenticated, Self.isInvalidToken(message) || code == 16 {
                reauthenticated = true
                invalidateToken()
                continue
            }
            // Unavailable (14), deadline exceeded (4), no leader: another member may serve it.
            if code == 14 || code == 4 || message.contains("no leader") || message.contains("timed out") {
                reasons.append("\(endpoint): \(message)")
                if message.contains("no leader") { sawNoLeader = true }
                if !idempotent && code == 4 {
                    throw .unavailable("\(endpoint): \(message); the write may or may not have been applied")
                }
                i += 1
                continue
            }
            throw .unavailable("etcd at \(endpoint) refused \(path): \(message) (HTTP \(response.status), code \(code))")
        }
        throw .unavailable("cannot reach etcd (\(options.endpoints.joined(separator: ", "))): \(reasons.joined(separator: "; "))")
    }
}

// MARK: JSON helpers

enum EtcdJSON {
    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
    static func b64(_ b: [UInt8]) -> String { Data(b).base64EncodedString() }

    static func bytes(_ v: Any?) -> [UInt8] {
        guard let s = v as? String, let d = Data(base64Encoded: s) else { return [] }
        return Array(d)
    }

    static func string(_ v: Any?) -> String { String(decoding: bytes(v), as: UTF8.self) }

    /// int64 fields come as strings ("5"); absent means 0 (proto3 defaults are omitted).
    static func int(_ v: Any?) -> Int64 {
        if let s = v as? String { return Int64(s) ?? 0 }
        if let n = v as? NSNumber { return n.int64Value }
        return 0
    }

    static func revision(_ r: [String: Any]) -> Int64 { int((r["header"] as? [String: Any])?["revision"]) }

    static func pair(_ kv: [String: Any]) -> KVPair {
        KVPair(key: string(kv["key"]), value: bytes(kv["value"]),
               revision: int(kv["mod_revision"]), createRevision: int(kv["create_revision"]))
    }

    /// The range end covering every key that starts with `prefix` (etcd's `--prefix`): the
    /// prefix with its last non-0xFF byte incremented; "\0" (no upper bound) when there is none.
    static func prefixEnd(_ prefix: String) -> [UInt8] {
        var e = Array(prefix.utf8)
        while let last = e.last, last == 0xFF { e.removeLast() }
        guard !e.isEmpty else { return [0] }
        e[e.count - 1] += 1
        return e
    }

    /// Range request fields for `prefix` ("" = every key).
    static func prefixRange(_ prefix: String) -> [String: Any] {
        let key: [UInt8] = prefix.isEmpty ? [0] : Array(prefix.utf8)
        return ["key": b64(key), "range_end": b64(prefixEnd(prefix))]
    }
}
