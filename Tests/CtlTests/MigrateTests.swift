import CtlCore
import Datastore
import Foundation
import IPAM
import NetCore
import NodeModel
import ResourceClient
import Testing
import TestSupport

/// Data for migration tests: every v3 kind, and IPAM records made by real IPAM calls.
enum MigrateFixture {
    static let resources = """
        apiVersion: projectcalico.org/v3
        kind: IPPool
        metadata: {name: pool-v4}
        spec: {cidr: 10.244.0.0/16, blockSize: 26, ipipMode: Always, natOutgoing: true}
        ---
        apiVersion: projectcalico.org/v3
        kind: IPPool
        metadata: {name: pool-v6}
        spec: {cidr: "fd00:244::/48", blockSize: 122}
        ---
        apiVersion: projectcalico.org/v3
        kind: BGPConfiguration
        metadata: {name: default}
        spec: {asNumber: 64512, nodeToNodeMeshEnabled: false, logSeverityScreen: Info}
        ---
        apiVersion: projectcalico.org/v3
        kind: BGPPeer
        metadata: {name: tor-1}
        spec: {peerIP: 192.0.2.1, asNumber: 64513}
        ---
        apiVersion: projectcalico.org/v3
        kind: BGPPeer
        metadata: {name: rack-peer}
        spec: {nodeSelector: "rack == 'r1'", peerIP: 192.0.2.2, asNumber: 64514}
        ---
        apiVersion: projectcalico.org/v3
        kind: BGPFilter
        metadata: {name: no-private}
        spec:
          exportV4:
          - {action: Reject, matchOperator: In, cidr: 10.0.0.0/8}
        ---
        apiVersion: projectcalico.org/v3
        kind: Node
        metadata: {name: node1, labels: {rack: r1}}
        spec: {bgp: {ipv4Address: 192.0.2.11/24}}
        ---
        apiVersion: projectcalico.org/v3
        kind: Node
        metadata: {name: node2}
        spec: {bgp: {ipv4Address: 192.0.2.12/24, asNumber: 64600}}
        ---
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: allow-dns}
        spec:
          selector: all()
          types: [Egress]
          egress:
          - {action: Allow, protocol: UDP, destination: {ports: [53]}}
        ---
        apiVersion: projectcalico.org/v3
        kind: NetworkPolicy
        metadata: {name: db, namespace: production}
        spec:
          selector: role == 'database'
          ingress:
          - {action: Allow, protocol: TCP, source: {selector: role == 'frontend'}, destination: {ports: [6379]}}
        ---
        apiVersion: projectcalico.org/v3
        kind: IPAMConfiguration
        metadata: {name: default}
        spec: {strictAffinity: false, maxBlocksPerHost: 20}

        """

    /// Writes the resources, `pods` pods (an IPAM address each and its WorkloadEndpoint) and
    /// node1's IPIP tunnel address into the store at `url`.
    static func populate(url: String, pods: Int) throws {
        let store = try openDatastore(url: url)
        let session = Session(client: ResourceClient(datastore: store))
        _ = try session.apply(InputText(source: "fixture", text: resources))
        let ipam = IPAMClient(store: store)
        var weps = ""
        for i in 0..<pods {
            let node = i % 3 == 0 ? "node2" : "node1"
            let ip = try #require(try ipam.autoAssign(AssignRequest(
                handleID: "c\(i)", node: node,  // the container ID, as twill-cni does
                attributes: ["node": node, "namespace": "default", "pod": "web\(i)"])).first)
            weps += """
                ---
                apiVersion: projectcalico.org/v3
                kind: WorkloadEndpoint
                metadata: {name: \(node)-k8s-web\(i)-eth0, namespace: default, labels: {app: web}}
                spec: {node: \(node), orchestrator: k8s, pod: web\(i), endpoint: eth0, containerID: c\(i),
                       interfaceName: cali\(i), ipNetworks: [\(ip)/32], profiles: [kns.default]}

                """
        }
        if pods > 0 { _ = try session.apply(InputText(source: "weps", text: weps)) }
        _ = try ipam.tunnelAddress(node: "node1", kind: .ipip)
    }

    /// Every pair under /calico/ (key → value).
    static func stored(_ store: any Datastore) throws -> [(key: String, value: [UInt8])] {
        try store.list(prefix: "/calico/").pairs.map { ($0.key, $0.value) }
    }

    /// The destination holds the same keys with byte-identical values, except that v3 resources
    /// carry the destination's own uid and creationTimestamp (not exported, as in calicoctl):
    /// with the source's uid and timestamp substituted in place, the bytes are identical too.
    static func expectSameData(_ source: any Datastore, _ dest: any Datastore) throws {
        let a = try stored(source), b = try stored(dest)
        #expect(a.map(\.key) == b.map(\.key))
        for (x, y) in zip(a, b) where x.key == y.key {
            guard x.key.hasPrefix(ResourceKeys.v3Root) else {
                #expect(x.value == y.value, "\(x.key) differs")
                continue
            }
            var xv = try Value(jsonBytes: x.value)
            let yv = try Value(jsonBytes: y.value)
            #expect(xv.jsonBytes() == x.value, "\(x.key) is not in canonical form")
            var meta = try #require(xv["metadata"])
            let uid = try #require(yv["metadata"]?["uid"]?.stringValue)
            #expect(!uid.isEmpty && uid != meta["uid"]?.stringValue, "\(x.key): uid must be the destination's own")
            meta["uid"] = .string(uid)
            meta["creationTimestamp"] = yv["metadata"]?["creationTimestamp"]
            xv["metadata"] = meta
            #expect(xv.jsonBytes() == y.value, "\(x.key): \(String(decoding: x.value, as: UTF8.self)) vs \(String(decoding: y.value, as: UTF8.self))")
        }
    }
}

/// `twillctl datastore migrate export|import` (the built binary) and DatastoreMigration.
@Suite struct MigrateTests {
    @Test func sqliteExportImportRoundTripKeepsEveryValue() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        try MigrateFixture.populate(url: h.url, pods: 12)
        let source = try openDatastore(url: h.url)
        let stored = try MigrateFixture.stored(source)
        // Every record type is there, made by IPAM itself.
        for part in ["/ippools/", "/bgpconfigurations/", "/bgppeers/", "/bgpfilters/", "/nodes/", "/networkpolicies/",
                     "/globalnetworkpolicies/", "/workloadendpoints/", "/ipam/v2/assignment/ipv4/block/",
                     "/ipam/v2/host/node1/ipv4/block/", "/ipam/v2/handle/ipip-tunnel-addr-node1", "/ipam/v2/config"] {
            #expect(stored.contains { $0.key.contains(part) }, "no \(part) key")
        }

        let export = try h.ok(["datastore", "migrate", "export"])
        #expect(try h.ok(["datastore", "migrate", "export"]) == export, "export is deterministic")
        let file = h.dir.file("export.txt")
        #expect(try h.ok(["datastore", "migrate", "export", "-o", file])
                == "Exported \(stored.filter { $0.key.hasPrefix(ResourceKeys.v3Root) }.count) resource(s) and \(stored.filter { $0.key.hasPrefix(ResourceKeys.ipamRoot) }.count) IPAM record(s) to \(file)\n")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == export)
        #expect(!export.contains("resourceVersion") && !export.contains("uid:") && !export.contains("creationTimestamp"))
        // calicoctl's order: pools, then BGP configuration, peers, filters, nodes, policies, endpoints.
        let kinds = export.components(separatedBy: "\n").filter { $0.hasPrefix("kind: ") }
        let order = ["IPPool", "BGPConfiguration", "BGPPeer", "BGPFilter", "Node", "NetworkPolicy",
                     "GlobalNetworkPolicy", "WorkloadEndpoint"].map { "kind: " + $0 }
        #expect(kinds.map { order.firstIndex(of: $0) ?? -1 } == kinds.map { order.firstIndex(of: $0) ?? -1 }.sorted())
        #expect(!kinds.contains { order.firstIndex(of: $0) == nil })

        let dest = try CtlHarness(); defer { dest.cleanup() }
        let imported = try dest.run(["datastore", "migrate", "import", "-f", file])
        #expect(imported.status == 0 && imported.stderr.isEmpty, "\(imported.stderr)")
        let out = imported.stdout
        #expect(out.hasPrefix("Successfully imported \(kinds.count) resource(s) and "))
        #expect(out.contains("in one commit"))
        try MigrateFixture.expectSameData(source, try openDatastore(url: dest.url))
        // Exporting the copy gives the very same file.
        #expect(try dest.ok(["datastore", "migrate", "export"]) == export)
        // IPAM on the copy carries on where the source stopped: the next address is the same.
        let next = { (url: String) throws -> [IPAddress] in
            try IPAMClient(store: try openDatastore(url: url)).autoAssign(AssignRequest(handleID: "next", node: "node1"))
        }
        #expect(try next(dest.url) == (try next(h.url)))
        // `ipam check` finds the copy exactly as it finds the source.
        let (checkSource, checkDest) = (try h.run(["ipam", "check"]), try dest.run(["ipam", "check"]))
        #expect(checkSource.status == 0, "\(checkSource.stdout)")
        #expect(checkDest.status == checkSource.status && checkDest.stdout == checkSource.stdout)

        // The resource part is a file `twillctl apply` takes as is.
        let yaml = export.components(separatedBy: "\n===\n")[0]
        let third = try CtlHarness(); defer { third.cleanup() }
        #expect(try third.ok(["apply", "-f", "-"], stdin: yaml) == "Successfully applied \(kinds.count) resource(s)\n")
    }

    @Test func importIntoNonEmptyStoreIsRefusedUnlessAllowed() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        try MigrateFixture.populate(url: h.url, pods: 2)
        let file = h.dir.file("export.txt")
        try h.ok(["datastore", "migrate", "export", "-o", file])

        let dest = try CtlHarness(); defer { dest.cleanup() }
        try dest.ok(["apply", "-f", "-"], stdin: """
            apiVersion: projectcalico.org/v3
            kind: BGPPeer
            metadata: {name: existing}
            spec: {peerIP: 198.51.100.1, asNumber: 65001}
            """)
        let before = try MigrateFixture.stored(try openDatastore(url: dest.url))
        let r = try dest.run(["datastore", "migrate", "import", "-f", file])
        #expect(r.status == 1)
        #expect(r.stderr == "error: the destination datastore already holds Calico data: 1 BGPPeer (existing); import into an empty datastore, or pass --allow-non-empty to merge (existing keys are replaced)\n")
        #expect(r.stdout.isEmpty)
        let after = try MigrateFixture.stored(try openDatastore(url: dest.url))
        #expect(after.map(\.key) == before.map(\.key) && after.map(\.value) == before.map(\.value))

        // Allowed: everything lands, the existing peer stays.
        let out = try dest.ok(["datastore", "migrate", "import", "--allow-non-empty", "-f", file])
        #expect(out.contains("in one commit"))
        let merged = try MigrateFixture.stored(try openDatastore(url: dest.url))
        #expect(merged.contains { $0.key.hasSuffix("/bgppeers/existing") })
        #expect(Set(merged.map(\.key)).isSuperset(of: try MigrateFixture.stored(try openDatastore(url: h.url)).map(\.key)))
    }

    @Test func oneBadDocumentWritesNothingAndIsNamed() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        try MigrateFixture.populate(url: h.url, pods: 2)
        let good = try h.ok(["datastore", "migrate", "export"])
        // Document 2 (pool-v6) gets a CIDR that is not masked; the first block record a bad allocation list.
        var bad = good.replacingOccurrences(of: "cidr: fd00:244::/48", with: "cidr: fd00:244::1/48")
        let blockStart = try #require(bad.range(of: "\"allocations\":["))
        bad.replaceSubrange(blockStart, with: "\"allocations\":[7,")
        let file = try h.write("bad.txt", bad)

        let dest = try CtlHarness(); defer { dest.cleanup() }
        let r = try dest.run(["datastore", "migrate", "import", "-f", file])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: failed to import, nothing was written:\n"))
        #expect(r.stderr.contains("document 2, IPPool \"pool-v6\": spec.cidr: "), "\(r.stderr)")
        #expect(r.stderr.contains("IPAM section, blocks[0] (IPAMBlock 10.244."), "\(r.stderr)")
        #expect(r.stderr.contains("): value.allocations: has 65 entries, the block has 64 addresses\n"), "\(r.stderr)")
        #expect(try MigrateFixture.stored(try openDatastore(url: dest.url)).isEmpty)

        // Unknown fields are refused (strict decoding), in both parts.
        let unknown = good.replacingOccurrences(of: "  name: tor-1\n", with: "  name: tor-1\n  colour: blue\n")
            .replacingOccurrences(of: "\"handles\": [", with: "\"handlez\": [], \"handles\": [")
        let r2 = try dest.run(["datastore", "migrate", "import", "-f", try h.write("unknown.txt", unknown)])
        #expect(r2.status == 1)
        #expect(r2.stderr.contains("BGPPeer \"tor-1\": metadata.colour: unknown field"), "\(r2.stderr)")
        #expect(r2.stderr.contains("IPAM section, handlez: unknown field \"handlez\""), "\(r2.stderr)")
        // A file without the IPAM section is not an export.
        let r3 = try dest.run(["datastore", "migrate", "import", "-f", "-"], stdin: "apiVersion: projectcalico.org/v3\n")
        #expect(r3.status == 1 && r3.stderr.contains("is not a twillctl datastore export"))
        #expect(try MigrateFixture.stored(try openDatastore(url: dest.url)).isEmpty)
    }

    @Test func recordsWrittenByOtherToolsAreRestoredByteForByte() throws {
        // Go-style stored values: spaces, HTML escapes; an affinity marked deleted (Calico's
        // two-step release); a handle ID no v3 name could be (CNI container IDs may be upper
        // case). Re-encoding would change the bytes: they travel as valueText.
        let src = MemoryDatastore()
        let affinity = ResourceKeys.ipamRoot + "host/node-a/ipv4/block/10.9.0.0-26"
        let handle = ResourceKeys.ipamRoot + "handle/k8s-pod-network.ABC_def"
        let weird: [(String, String)] = [
            (affinity, #"{"state": "confirmed", "deleted": true}"#),
            (handle, #"{"block":{"10.9.0.0/26":1},"deleted":false,"note":"\u003cb\u003e"}"#),
            (ResourceKeys.ipamConfig, #"{"strict_affinity":true,"auto_allocate_blocks":true,"max_blocks_per_host":0}"#),
        ]
        for (k, v) in weird { try src.create(k, value: Array(v.utf8)) }
        // Calico data Twill does not model is named and left out.
        let felix = ResourceKeys.v3Root + "felixconfigurations/default"
        try src.create(felix, value: Array(#"{"kind":"FelixConfiguration"}"#.utf8))
        let export = try DatastoreMigration.export(from: src)
        #expect(export.ipamRecords == 3 && export.resources == 0 && export.skipped == [felix])
        try src.delete(felix)
        #expect(export.text.contains(#"{"key":"\#(affinity)","valueText":"{\"state\": \"confirmed\", \"deleted\": true}"}"#))
        #expect(export.text.contains(#""value":{"strict_affinity":true"#))
        let dest = MemoryDatastore()
        let result = try DatastoreMigration.importFile(InputText(source: "x", text: export.text), into: dest)
        #expect(result.ipamRecords == 3 && result.commits == 1)
        // Carried as they were, and reported: the handle counts an address in a block that does not exist.
        #expect(result.ipamProblems.contains { $0.hasPrefix(handle + ": ") }, "\(result.ipamProblems)")
        #expect(try dest.list(prefix: "/calico/").pairs.map { String(decoding: $0.value, as: UTF8.self) }
                == (try src.list(prefix: "/calico/").pairs.map { String(decoding: $0.value, as: UTF8.self) }))
        // A stored resource that does not decode fails the export, naming its key.
        let broken = ResourceKeys.v3Root + "ippools/broken"
        try src.create(broken, value: Array(#"{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"broken"},"spec":{"cidr":7}}"#.utf8))
        #expect {
            try DatastoreMigration.export(from: src)
        } throws: { error in
            ((error as? CtlError)?.message ?? "").contains("cannot export: stored value(s) do not decode (fix or delete them first):\n  \(broken): spec.cidr")
        }

        // A key of the wrong section is refused and named.
        let wrong = export.text.replacingOccurrences(of: #""handles": [\#n    {"key":"/calico/ipam/v2/handle/"#,
                                                     with: #""handles": [\#n    {"key":"/calico/ipam/v2/hondle/"#)
        #expect(wrong != export.text)
        #expect {
            try DatastoreMigration.importFile(InputText(source: "x", text: wrong), into: MemoryDatastore())
        } throws: { error in
            ((error as? CtlError)?.message ?? "").contains(#"IPAM section, handles[0] (IPAM handle): key: "/calico/ipam/v2/hondle/"#)
        }
    }

    @Test func backendRefusingOneLargeCommitGetsBatchesAndAFailedBatchIsRolledBack() throws {
        let dir = try TempDir("migrate"); defer { dir.cleanup() }
        let url = "sqlite:" + dir.file("src.db")
        try MigrateFixture.populate(url: url, pods: 20)
        let export = try DatastoreMigration.export(from: try openDatastore(url: url))
        let total = export.resources + export.ipamRecords
        #expect(total > 40)

        // Like etcd with --max-txn-ops 16: one commit refused, then batches halved until taken.
        let limited = LimitedStore(maxOps: 16)
        let ok = try DatastoreMigration.importFile(InputText(source: "x", text: export.text), into: limited)
        #expect(ok.commits > 1 && ok.commits == limited.accepted.count)
        #expect(ok.ipamProblems.isEmpty, "\(ok.ipamProblems)")
        #expect(limited.accepted.allSatisfy { $0 <= 16 } && limited.accepted.reduce(0, +) == total)
        #expect(ok.message.contains("in \(ok.commits) commits"))
        try MigrateFixture.expectSameData(try openDatastore(url: url), limited)

        // A batch that fails for another reason: the earlier batches are undone.
        let failing = LimitedStore(maxOps: 16, failAfter: 2)
        var options = DatastoreMigration.ImportOptions()
        options.batchOps = 16
        #expect {
            try DatastoreMigration.importFile(InputText(source: "x", text: export.text), into: failing, options: options)
        } throws: { error in
            let m = (error as? CtlError)?.message ?? ""
            return m.contains("injected failure") && m.contains("batch 3, after 32 of \(total) writes in 2 batch(es)")
                && m.contains("the 2 batch(es) written were rolled back: the datastore is as before")
        }
        #expect(try failing.list(prefix: "/calico/").pairs.isEmpty)

        // The failing batch reached the store but its answer was lost: its keys are undone too.
        let lost = LimitedStore(maxOps: 16, failAfter: 1, applyThenFail: true)
        #expect {
            try DatastoreMigration.importFile(InputText(source: "x", text: export.text), into: lost, options: options)
        } throws: { error in
            ((error as? CtlError)?.message ?? "").contains(
                "the 1 batch(es) written and 16 key(s) of the failed one were rolled back: the datastore is as before")
        }
        #expect(try lost.list(prefix: "/calico/").pairs.isEmpty)
    }
}

/// A memory store that refuses commits of more than `maxOps` operations as etcd does beyond
/// `--max-txn-ops`, and fails the commit after `failAfter` accepted ones (rollbacks then pass).
final class LimitedStore: Datastore, @unchecked Sendable {
    let inner = MemoryDatastore()
    let maxOps: Int
    let failAfter: Int?
    private let lock = NSLock()
    private var _accepted: [Int] = []
    private var failed = false
    /// Sizes of the commits taken.
    var accepted: [Int] { lock.withLock { _accepted } }

    /// The failing commit is applied, then reported as a broken connection.
    let applyThenFail: Bool

    init(maxOps: Int, failAfter: Int? = nil, applyThenFail: Bool = false) {
        self.maxOps = maxOps; self.failAfter = failAfter; self.applyThenFail = applyThenFail
    }

    func get(_ key: String) throws(DatastoreError) -> KVPair? { try inner.get(key) }
    func list(prefix: String) throws(DatastoreError) -> KVList { try inner.list(prefix: prefix) }
    func currentRevision() throws(DatastoreError) -> Int64 { try inner.currentRevision() }
    func watch(prefix: String, afterRevision: Int64,
               handler: @escaping @Sendable (WatchEvent) -> Void) throws(DatastoreError) -> any WatchHandle {
        try inner.watch(prefix: prefix, afterRevision: afterRevision, handler: handler)
    }
    @discardableResult
    func commit(_ ops: [KVOperation]) throws(DatastoreError) -> Int64 {
        if ops.count > maxOps {
            throw .unavailable("etcd at 127.0.0.1:2379 refused /v3/kv/txn: etcdserver: too many operations in txn request (HTTP 400, code 3)")
        }
        let fail = lock.withLock {
            if let failAfter, !failed, _accepted.count == failAfter { failed = true; return true }
            _accepted.append(ops.count)
            return false
        }
        if fail, applyThenFail {
            try inner.commit(ops)
            throw .unavailable("connection reset; the write may or may not have been applied")
        }
        if fail { throw .unavailable("injected failure") }
        return try inner.commit(ops)
    }
}
