import Datastore
import DatastoreConformance
@testable import DatastoreEtcd
import Foundation
import Testing
import TestSupport

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Expects `body` to fail with an error whose text contains one of `anyOf`.
private func expectFailure(_ what: String, anyOf texts: [String], sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("\(what) succeeded", sourceLocation: sourceLocation)
    } catch {
        #expect(texts.contains { "\(error)".contains($0) }, "\(error)", sourceLocation: sourceLocation)
    }
}

/// The shared contract, case by case, each on a fresh single-member etcd.
@Suite(.serialized) struct EtcdConformance {
    @Test(arguments: DatastoreConformance.names)
    func conformance(_ name: String) throws {
        guard Privileged.check("etcd conformance", needs: ["etcd"]) else { return }
        let etcd = try EtcdCluster()
        defer { etcd.stop() }
        try DatastoreConformance.run(name) {
            let store = try EtcdDatastore(url: etcd.url)
            return .init(store: store, compact: { try store.compact(through: $0) })
        }
    }
}

@Suite(.serialized) struct EtcdBehaviour {
    /// Two clients: the one holding a stale revision loses with the stored revision named.
    @Test func staleRevisionConflictsAcrossClients() throws {
        guard Privileged.check("etcd conflict", needs: ["etcd"]) else { return }
        let etcd = try EtcdCluster()
        defer { etcd.stop() }
        let a = try EtcdDatastore(url: etcd.url), b = try EtcdDatastore(url: etcd.url)
        let key = "/calico/resources/v3/projectcalico.org/ippools/default-ipv4-ippool"
        let r1 = try a.create(key, value: bytes("{\"v\":1}"))
        let r2 = try b.update(key, value: bytes("{\"v\":2}"), expectedRevision: r1)
        #expect(throws: DatastoreError.conflict(key: key, expected: r1, actual: r2)) {
            try a.update(key, value: bytes("{\"v\":3}"), expectedRevision: r1)
        }
        #expect(throws: DatastoreError.conflict(key: key, expected: r1, actual: r2)) {
            try a.delete(key, expectedRevision: r1)
        }
        #expect(try a.get(key)?.value == bytes("{\"v\":2}"))
        // Ops on one key in one commit are merged (etcd rejects a key twice in one Txn): delete
        // then create is one put guarded by the delete's precondition, so the key keeps its
        // create revision (SQLite would give it a new one) and a watch sees one put.
        let r3 = try a.commit([.delete(key: key, expectedRevision: r2), .create(key: key, value: bytes("new"))])
        #expect(try b.get(key) == KVPair(key: key, value: bytes("new"), revision: r3, createRevision: r1))
        #expect(throws: DatastoreError.conflict(key: key, expected: r2, actual: r3)) {
            try a.commit([.delete(key: key, expectedRevision: r2), .create(key: key, value: bytes("again"))])
        }
    }

    /// History after `afterRevision` holds writes, none under the prefix: etcd sends nothing
    /// for the catch-up, and the watch still reports .inSync at the start revision.
    @Test func inSyncWhenTheHistoryHasNothingForThePrefix() throws {
        guard Privileged.check("etcd quiet history", needs: ["etcd"]) else { return }
        let etcd = try EtcdCluster()
        defer { etcd.stop() }
        let store = try EtcdDatastore(url: etcd.url)
        let a = try store.put("/w/a", value: bytes("a"))
        for i in 0..<3 { try store.put("/other/\(i)", value: []) }
        let now = try store.currentRevision()
        let rec = WatchRecorder()
        let h = try store.watch(prefix: "/w/", afterRevision: a, handler: rec.handler)
        defer { h.cancel() }
        #expect(rec.wait(for: 1) == [.inSync(revision: now)])
        let b = try store.put("/w/b", value: bytes("b"))
        #expect(rec.wait(for: 2) == [.inSync(revision: now), .put(KVPair(key: "/w/b", value: bytes("b"), revision: b, createRevision: b))])
    }

    /// A listing of several MiB (many reads of the socket, one body) and a 1 MiB value.
    @Test func largeListingsAndValues() throws {
        guard Privileged.check("etcd large", needs: ["etcd"]) else { return }
        let etcd = try EtcdCluster()
        defer { etcd.stop() }
        let store = try EtcdDatastore(url: etcd.url)
        let value = (0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for chunk in stride(from: 0, to: 1500, by: 100) {
            try store.commit((chunk..<chunk + 100).map { .put(key: "/calico/ipam/v2/block/\($0)", value: value) })
        }
        let list = try store.list(prefix: "/calico/ipam/v2/block/")
        #expect(list.pairs.count == 1500 && list.pairs.allSatisfy { $0.value == value })
        let big = [UInt8](repeating: 0xAB, count: 1 << 20)
        try store.put("/calico/big", value: big)
        #expect(try store.get("/calico/big")?.value == big)
    }

    /// Compaction through etcdctl: a watch from before it gets .resyncRequired; one after it works.
    @Test func compactionByEtcdctlRequiresResync() throws {
        guard Privileged.check("etcd compaction", needs: ["etcd", "etcdctl"]) else { return }
        let etcd = try EtcdCluster()
        defer { etcd.stop() }
        let store = try EtcdDatastore(url: etcd.url)
        var revs: [Int64] = []
        for i in 0..<5 { revs.append(try store.put("/calico/ipam/v2/handle/h\(i)", value: bytes("\(i)"))) }
        try etcd.etcdctl(["compact", String(revs[3])])
        let stale = WatchRecorder()
        let h = try store.watch(prefix: "/calico/ipam/v2/", afterRevision: revs[0], handler: stale.handler)
        defer { h.cancel() }
        #expect(stale.wait(for: 1) == [.resyncRequired])
        let list = try store.list(prefix: "/calico/ipam/v2/")
        #expect(list.pairs.count == 5)
        let fresh = WatchRecorder()
        let h2 = try store.watch(prefix: "/calico/ipam/v2/", afterRevision: list.revision, handler: fresh.handler)
        defer { h2.cancel() }
        #expect(fresh.wait(for: 1) == [.inSync(revision: list.revision)])
    }

    /// etcd killed and restarted under a running watch: calls fail with .unavailable meanwhile,
    /// the watch reconnects by itself and delivers every later write exactly once, in order.
    @Test func watchSurvivesEtcdRestart() throws {
        guard Privileged.check("etcd restart", needs: ["etcd"]) else { return }
        let etcd = try EtcdCluster()
        defer { etcd.stop() }
        let store = try EtcdDatastore(options: EtcdOptions(endpoints: etcd.endpoints, timeout: 2))
        let start = try store.currentRevision()
        let rec = WatchRecorder()
        let h = try store.watch(prefix: "/w/", afterRevision: start, handler: rec.handler)
        defer { h.cancel() }
        let r1 = try store.put("/w/a", value: bytes("1"))
        #expect(rec.wait(for: 2).count == 2)

        etcd.kill(0)
        do {
            try store.put("/w/b", value: bytes("down"))
            Issue.record("a write succeeded while etcd was down")
        } catch {
            guard case .unavailable(let why) = error else { Issue.record("expected .unavailable, got \(error)"); return }
            #expect(why.contains("cannot reach etcd") && why.contains(etcd.endpoints[0]))
        }
        try etcd.start(0)
        try etcd.waitUntilServing()
        // Written right after the restart, possibly before the watch has reconnected: the
        // stream resumes from the revision after the last delivered one, so nothing is lost.
        var expected: [WatchEvent] = [.inSync(revision: start), .put(KVPair(key: "/w/a", value: bytes("1"), revision: r1, createRevision: r1))]
        for i in 0..<10 {
            let r = try store.put("/w/k\(i)", value: bytes("\(i)"))
            expected.append(.put(KVPair(key: "/w/k\(i)", value: bytes("\(i)"), revision: r, createRevision: r)))
        }
        let rd = try store.delete("/w/a")
        expected.append(.deleted(key: "/w/a", revision: rd))
        #expect(rec.wait(for: expected.count, timeout: 15) == expected)
        usleep(200_000)
        #expect(rec.snapshot.count == expected.count)  // no duplicates after the reconnect
    }

    /// A 3-member cluster whose leader is the first endpoint (the one the client and the watch
    /// use) loses that member: reads, writes and the watch go on through the other two.
    @Test func threeMemberClusterSurvivesAMember() throws {
        guard Privileged.check("etcd cluster", needs: ["etcd", "etcdctl"]) else { return }
        let etcd = try EtcdCluster(size: 3)
        defer { etcd.stop() }
        try etcd.makeLeader(0)
        let store = try EtcdDatastore(options: EtcdOptions(endpoints: etcd.endpoints, timeout: 2))
        let r0 = try store.put("/calico/resources/v3/projectcalico.org/nodes/n0", value: bytes("n0"))
        let rec = WatchRecorder()
        let h = try store.watch(prefix: "/calico/", afterRevision: r0, handler: rec.handler)
        defer { h.cancel() }
        #expect(rec.wait(for: 1) == [.inSync(revision: r0)])

        etcd.kill(0)
        // The first write after the kill may meet a leader election (election timeout 500 ms):
        // etcd answers "no leader"/timeout and the client moves on; give it a bounded time.
        let began = Date()
        var r1: Int64?
        while r1 == nil && Date().timeIntervalSince(began) < 10 {
            do { r1 = try store.put("/calico/resources/v3/projectcalico.org/nodes/n1", value: bytes("n1")) }
            catch { print("etcd cluster: write during the election: \(error)") }
        }
        let firstWrite = try #require(r1)
        print("etcd cluster: first write after killing m0 took \(Int(Date().timeIntervalSince(began) * 1000)) ms")
        let r2 = try store.put("/calico/resources/v3/projectcalico.org/nodes/n2", value: bytes("n2"))
        #expect(try store.get("/calico/resources/v3/projectcalico.org/nodes/n1")?.revision == firstWrite)
        #expect(try store.list(prefix: "/calico/resources/v3/projectcalico.org/nodes/").pairs.map(\.key).count == 3)
        #expect(try etcd.leaderEndpoint() != etcd.endpoints[0])
        let got = rec.wait(for: 3, timeout: 15)
        #expect(got.dropFirst().compactMap { if case .put(let p) = $0 { p.revision } else { nil } } == [firstWrite, r2])
    }

    /// Keys are stored verbatim: what etcdctl writes Twill reads, and the reverse.
    @Test func etcdctlInteropBothWays() throws {
        guard Privileged.check("etcdctl interop", needs: ["etcd", "etcdctl"]) else { return }
        let etcd = try EtcdCluster()
        defer { etcd.stop() }
        let store = try EtcdDatastore(url: etcd.url)
        let pool = "/calico/resources/v3/projectcalico.org/ippools/default-ipv4-ippool"
        let json = "{\"kind\":\"IPPool\",\"apiVersion\":\"projectcalico.org/v3\",\"spec\":{\"cidr\":\"10.244.0.0/16\"}}"
        try etcd.etcdctl(["put", pool, json])
        let got = try #require(try store.get(pool))
        #expect(got.value == bytes(json))
        let ctlJSON = try etcd.etcdctl(["get", pool, "-w", "json"])
        let obj = try JSONSerialization.jsonObject(with: Data(ctlJSON.utf8)) as? [String: Any]
        let kv = (obj?["kvs"] as? [[String: Any]])?.first
        #expect((kv?["mod_revision"] as? NSNumber)?.int64Value == got.revision)

        let block = "/calico/ipam/v2/assignment/ipv4/block/10.244.1.0-26"
        let value = bytes("{\"cidr\":\"10.244.1.0/26\",\"allocations\":[0,null]}")
        try store.create(block, value: value)
        #expect(try etcd.etcdctl(["get", block, "--print-value-only"]) == String(decoding: value, as: UTF8.self) + "\n")
        #expect(try etcd.etcdctl(["get", "/calico/", "--prefix", "--keys-only"])
            .split(separator: "\n").map(String.init) == [block, pool])
        // A delete by etcdctl reaches a Twill watch.
        let rec = WatchRecorder()
        let after = try store.currentRevision()
        let h = try store.watch(prefix: "/calico/ipam/", afterRevision: after, handler: rec.handler)
        defer { h.cancel() }
        try etcd.etcdctl(["del", block])
        let events = rec.wait(for: 2)
        #expect(events == [.inSync(revision: after), .deleted(key: block, revision: after + 1)])
    }

    /// Nothing listening: a clear .unavailable naming every endpoint.
    @Test func unreachableEndpointsAreUnavailable() throws {
        let ports = try EtcdCluster.freePorts(2)
        let eps = ports.map { "127.0.0.1:\($0)" }
        let store = try EtcdDatastore(options: EtcdOptions(endpoints: eps, timeout: 1))
        do {
            _ = try store.get("/x")
            Issue.record("get succeeded with no etcd")
        } catch {
            guard case .unavailable(let why) = error else { Issue.record("got \(error)"); return }
            #expect(why.contains("cannot reach etcd") && why.contains(eps[0]) && why.contains(eps[1]))
            #expect(why.contains("Connection refused"))
        }
    }
}

@Suite struct EtcdOptionsTests {
    @Test func parsesEndpointsAuthAndTLSOptions() throws {
        #expect(try EtcdOptions(parsing: "etcd://127.0.0.1:2379") == EtcdOptions(endpoints: ["127.0.0.1:2379"]))
        let o = try EtcdOptions(parsing: "etcds://calico:p%40ss@a:2379,[::1]:2379?ca=/etc/ca.pem&cert=/c.pem&key=/k.pem&timeout=2.5")
        #expect(o == EtcdOptions(endpoints: ["a:2379", "[::1]:2379"], tls: true, caFile: "/etc/ca.pem", certFile: "/c.pem",
                                 keyFile: "/k.pem", username: "calico", password: "p@ss", timeout: 2.5))
        #expect(try EtcdOptions(parsing: "etcd://h:1?ca=/ca.pem").tls)
    }

    @Test(arguments: [
        ("etcd://", "is empty"),
        ("etcd://h", "needs :PORT"),
        ("etcd://h:1?bogus=1", "unknown option \"bogus\""),
        ("etcd://h:1?cert=/c.pem", "cert and key go together"),
        ("etcd://h:1?timeout=0", "timeout \"0\""),
        ("etcd://user@h:1", "USER:PASSWORD"),
        ("http://h:1", "not an etcd URL"),
    ])
    func rejectsBadURLs(_ url: String, _ why: String) {
        do {
            _ = try EtcdOptions(parsing: url)
            Issue.record("\(url) was accepted")
        } catch {
            guard case .invalidURL(let text) = error else { Issue.record("got \(error)"); return }
            #expect(text.contains(why), "\(text)")
        }
    }

    @Test func passwordIsRedactedInErrors() {
        do {
            _ = try EtcdOptions(parsing: "etcd://u:secret@h:1?x=1")
        } catch {
            #expect(!"\(error)".contains("secret"))
            #expect("\(error)".contains("u:***@h:1"))
        }
    }

    @Test func calicoEnvironmentFillsTheGaps() {
        let o = EtcdOptions(endpoints: ["h:1"]).withCalicoEnvironment([
            "ETCD_USERNAME": "root", "ETCD_PASSWORD": "pw", "ETCD_CA_CERT_FILE": "/ca.pem",
        ])
        #expect(o.username == "root" && o.password == "pw" && o.caFile == "/ca.pem" && o.tls)
        #expect(EtcdOptions(endpoints: ["h:1"], username: "me").withCalicoEnvironment(["ETCD_USERNAME": "root"]).username == "me")
    }

    @Test func unreadableTLSFilesAreNamed() {
        expectFailure("a missing CA file", anyOf: ["invalid datastore URL: ca /nonexistent/ca.pem: cannot load"]) {
            _ = try openAnyDatastore(url: "etcds://h:1?ca=/nonexistent/ca.pem")
        }
    }

    @Test func openAnyDatastoreFallsThroughToOtherBackends() throws {
        #expect(try openAnyDatastore(url: "memory:") is MemoryDatastore)
        #expect(try openAnyDatastore(url: "etcd://127.0.0.1:1") is EtcdDatastore)
    }
}

@Suite struct TxnPlanTests {
    @Test func deleteThenCreateBecomesOneGuardedPut() {
        let plan = TxnPlan([.delete(key: "/k", expectedRevision: 7), .create(key: "/k", value: bytes("v"))])
        #expect(plan.staticFailure == nil)
        #expect(plan.checks.map(\.op.key) == ["/k"])
        #expect(plan.checks.first?.compare["mod_revision"] as? String == "7")
        #expect(plan.writes.map(\.key) == ["/k"] && plan.writes.first?.value == bytes("v"))
    }

    @Test func laterOpsAreCheckedAgainstEarlierOnes() {
        let p1 = TxnPlan([.put(key: "/a", value: []), .create(key: "/a", value: [])])
        #expect(p1.staticFailure == .alreadyExists(key: "/a"))
        let p2 = TxnPlan([.create(key: "/b", value: []), .delete(key: "/c", expectedRevision: nil),
                          .delete(key: "/b", expectedRevision: nil), .update(key: "/b", value: [], expectedRevision: nil)])
        #expect(p2.staticFailure == .notFound(key: "/b"))
        #expect(p2.checks.map(\.op.key) == ["/b", "/c"])  // still guarded: an earlier failure wins
        let p3 = TxnPlan([.put(key: "/d", value: []), .put(key: "/e", value: bytes("1")), .put(key: "/d", value: bytes("2"))])
        #expect(p3.checks.isEmpty && p3.writes.map(\.key) == ["/d", "/e"] && p3.writes[0].value == bytes("2"))
    }

    @Test func comparesFollowTheOperation() {
        #expect(TxnPlan.compare(.create(key: "/k", value: []))?["target"] as? String == "CREATE")
        #expect(TxnPlan.compare(.update(key: "/k", value: [], expectedRevision: nil))?["target"] as? String == "VERSION")
        #expect(TxnPlan.compare(.delete(key: "/k", expectedRevision: 3))?["target"] as? String == "MOD")
        #expect(TxnPlan.compare(.put(key: "/k", value: [])) == nil)
    }
}

/// Throughput figures against a local single-member etcd (printed; the test checks every write landed).
@Suite(.serialized) struct EtcdThroughput {
    @Test func putsGetsAndWatchLatency() throws {
        guard Privileged.check("etcd throughput", needs: ["etcd"]) else { return }
        let etcd = try EtcdCluster()
        defer { etcd.stop() }
        let store = try EtcdDatastore(url: etcd.url)
        let n = 1000
        var t0 = Date()
        for i in 0..<n { try store.put("/bench/seq/\(i)", value: bytes("{\"i\":\(i)}")) }
        let seqPuts = Double(n) / Date().timeIntervalSince(t0)
        t0 = Date()
        for i in 0..<n { _ = try store.get("/bench/seq/\(i)") }
        let seqGets = Double(n) / Date().timeIntervalSince(t0)
        let threads = 8
        t0 = Date()
        // Real threads: concurrentPerform runs only as many at once as there are cores.
        let done = DispatchGroup()
        for t in 0..<threads {
            done.enter()
            Thread {
                for i in 0..<(n / threads) { _ = try? store.create("/bench/par/\(t)/\(i)", value: bytes("x")) }
                done.leave()
            }.start()
        }
        done.wait()
        let parPuts = Double(n) / Date().timeIntervalSince(t0)
        #expect(try store.list(prefix: "/bench/par/").pairs.count == n)
        #expect(try store.list(prefix: "/bench/seq/").pairs.count == n)
        // Watch latency: put, then the time until the watch delivers it.
        let rec = WatchRecorder()
        let start = try store.currentRevision()
        let h = try store.watch(prefix: "/bench/lat/", afterRevision: start, handler: rec.handler)
        defer { h.cancel() }
        #expect(rec.wait(for: 1).count == 1)
        var worst = 0.0
        for i in 0..<50 {
            let t = Date()
            try store.put("/bench/lat/k", value: bytes("\(i)"))
            #expect(rec.wait(for: 2 + i).count == 2 + i)
            worst = max(worst, Date().timeIntervalSince(t))
        }
        print(String(format: "etcd throughput: %.0f puts/s sequential, %.0f gets/s sequential, %.0f creates/s with %d threads; put→watch worst %.1f ms",
                     seqPuts, seqGets, parPuts, threads, worst * 1000))
    }
}

/// etcd's own auth: user and password from the URL, token in every call and in the watch.
@Suite(.serialized) struct EtcdAuth {
    @Test func passwordAuthForCallsAndWatches() throws {
        guard Privileged.check("etcd auth", needs: ["etcd", "etcdctl"]) else { return }
        let etcd = try EtcdCluster()
        defer { etcd.stop() }
        try etcd.etcdctl(["user", "add", "root:rootpw"])
        try etcd.etcdctl(["user", "add", "calico:s3cr%t"])
        try etcd.etcdctl(["role", "add", "calico"])
        try etcd.etcdctl(["role", "grant-permission", "calico", "--prefix=true", "readwrite", "/calico/"])
        try etcd.etcdctl(["user", "grant-role", "calico", "calico"])
        try etcd.etcdctl(["auth", "enable"])

        let store = try EtcdDatastore(url: "etcd://calico:s3cr%25t@\(etcd.endpoints[0])")
        let start = try store.currentRevision()
        let rec = WatchRecorder()
        let h = try store.watch(prefix: "/calico/", afterRevision: start, handler: rec.handler)
        defer { h.cancel() }
        let r = try store.create("/calico/resources/v3/projectcalico.org/nodes/a", value: bytes("a"))
        #expect(rec.wait(for: 2) == [.inSync(revision: start),
                                     .put(KVPair(key: "/calico/resources/v3/projectcalico.org/nodes/a", value: bytes("a"),
                                                 revision: r, createRevision: r))])
        // Outside the granted prefix: etcd's refusal, as is.
        expectFailure("a write outside the role's prefix", anyOf: ["permission denied"]) {
            try store.put("/other", value: [])
        }
        // etcd's simple tokens die with the process: after a restart calls and the watch
        // authenticate again by themselves.
        etcd.kill(0)
        try etcd.start(0)
        try etcd.waitUntilServing()
        // Another client writes, so only the watch's own stream can renew the watching client's token.
        let writer = try EtcdDatastore(url: "etcd://calico:s3cr%25t@\(etcd.endpoints[0])")
        let r2 = try writer.put("/calico/resources/v3/projectcalico.org/nodes/a", value: bytes("a2"))
        #expect(rec.wait(for: 3, timeout: 15).last == .put(KVPair(key: "/calico/resources/v3/projectcalico.org/nodes/a",
                                                                  value: bytes("a2"), revision: r2, createRevision: r)))
        let wrong = try EtcdDatastore(url: "etcd://calico:nope@\(etcd.endpoints[0])")
        expectFailure("a wrong password", anyOf: ["authentication failed"]) { _ = try wrong.get("/calico/x") }
        let anonymous = try EtcdDatastore(url: "etcd://\(etcd.endpoints[0])")
        expectFailure("an anonymous read", anyOf: ["user name is empty", "permission denied"]) {
            _ = try anonymous.get("/calico/x")
        }
    }
}

/// etcd serving clients over TLS with client-certificate auth.
@Suite(.serialized) struct EtcdTLS {
    @Test func mutualTLSForCallsAndWatches() throws {
        guard Privileged.check("etcd TLS", needs: ["etcd", "etcdctl", "openssl"]) else { return }
        let etcd = try EtcdCluster(tls: true)
        defer { etcd.stop() }
        let store = try EtcdDatastore(url: etcd.url)
        let start = try store.currentRevision()
        let rec = WatchRecorder()
        let h = try store.watch(prefix: "/calico/", afterRevision: start, handler: rec.handler)
        defer { h.cancel() }
        let key = "/calico/resources/v3/projectcalico.org/nodes/tls"
        let r = try store.create(key, value: bytes("over TLS"))
        #expect(rec.wait(for: 2) == [.inSync(revision: start), .put(KVPair(key: key, value: bytes("over TLS"), revision: r, createRevision: r))])
        #expect(try etcd.etcdctl(["get", key, "--print-value-only"]) == "over TLS\n")
        // Restart: the pooled TLS connections are dead; calls reconnect, the watch resumes.
        etcd.kill(0)
        try etcd.start(0)
        try etcd.waitUntilServing()
        let r2 = try store.put(key, value: bytes("again"))
        #expect(rec.wait(for: 3, timeout: 15).last == .put(KVPair(key: key, value: bytes("again"), revision: r2, createRevision: r)))
        // Without a client certificate etcd refuses the handshake.
        let pki = try #require(etcd.pki)
        let noCert = try EtcdDatastore(url: "etcds://\(etcd.endpoints[0])?ca=\(pki.ca)")
        expectFailure("a handshake without a client certificate", anyOf: ["TLS", "receive failed", "connection closed"]) {
            _ = try noCert.get(key)
        }
        // A CA that did not sign the server's certificate: verification fails, and says so.
        let otherDir = try TempDir("twill-pki")
        defer { otherDir.cleanup() }
        let other = try TestPKI(dir: otherDir.path)
        let wrongCA = try EtcdDatastore(url: "etcds://\(etcd.endpoints[0])?ca=\(other.ca)&cert=\(pki.clientCert)&key=\(pki.clientKey)")
        expectFailure("trusting a server signed by another CA", anyOf: ["certificate verify failed"]) {
            _ = try wrongCA.get(key)
        }
    }
}
