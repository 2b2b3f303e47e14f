import CtlCore
import Datastore
import DatastoreEtcd
import Foundation
import Testing
import TestSupport

/// SQLite → etcd → SQLite through `twillctl datastore migrate`, against a real etcd on loopback
/// (default `--max-txn-ops` 128, so the import into etcd needs batches).
@Suite(.serialized) struct MigrateEtcdTests {
    @Test func sqliteToEtcdToSqliteRoundTrip() throws {
        guard Privileged.check("etcd migrate", needs: ["etcd"]) else { return }
        let h = try CtlHarness(); defer { h.cleanup() }
        let etcd = try LoopbackEtcd(dir: h.dir); defer { etcd.stop() }

        try MigrateFixture.populate(url: h.url, pods: 70)
        let source = try openDatastore(url: h.url)
        let keys = try MigrateFixture.stored(source).count
        #expect(keys > 128, "the import must exceed etcd's default --max-txn-ops")
        let file = h.dir.file("export.txt")
        try h.ok(["datastore", "migrate", "export", "-o", file])

        // Into etcd: too many writes for one Txn, so batches.
        let toEtcd = try Shell.run([BuiltProducts.path("twillctl"), "--datastore", etcd.url,
                                    "datastore", "migrate", "import", "-f", file])
        #expect(toEtcd.status == 0, "\(toEtcd.stderr)")
        #expect(toEtcd.stdout.contains("commits (the datastore refused one commit for all)"), "\(toEtcd.stdout)")
        let etcdStore = try openAnyDatastore(url: etcd.url)
        try MigrateFixture.expectSameData(source, etcdStore)

        // A second import into the now non-empty etcd is refused, naming what is there.
        let again = try Shell.run([BuiltProducts.path("twillctl"), "--datastore", etcd.url,
                                   "datastore", "migrate", "import", "-f", file])
        #expect(again.status == 1)
        #expect(again.stderr.contains("the destination datastore already holds Calico data: "))
        #expect(again.stderr.contains("2 IPPool (pool-v4, pool-v6)"))

        // Out of etcd: the same file, then back into a fresh SQLite in one commit.
        let fromEtcd = try Shell.run([BuiltProducts.path("twillctl"), "--datastore", etcd.url,
                                      "datastore", "migrate", "export"])
        #expect(fromEtcd.status == 0, "\(fromEtcd.stderr)")
        #expect(fromEtcd.stdout == (try String(contentsOfFile: file, encoding: .utf8)))
        let back = try CtlHarness(); defer { back.cleanup() }
        let out = try back.ok(["datastore", "migrate", "import", "-f", "-"], stdin: fromEtcd.stdout)
        #expect(out.contains("in one commit"))
        try MigrateFixture.expectSameData(source, try openDatastore(url: back.url))
    }
}

/// One etcd member on loopback ports, data in `dir`; `stop()` kills it.
final class LoopbackEtcd: @unchecked Sendable {
    let process = TestProcess()
    let url: String
    let log: String

    init(dir: TempDir, deadline: Double = 30) throws {
        let ports = try Self.freePorts(2)
        url = "etcd://127.0.0.1:\(ports[0])"
        log = dir.file("etcd.log")
        process.executableURL = URL(fileURLWithPath: Shell.which("etcd") ?? "/usr/bin/etcd")
        process.arguments = [
            "--name", "m0", "--data-dir", dir.file("etcd-data"),
            "--listen-client-urls", "http://127.0.0.1:\(ports[0])", "--advertise-client-urls", "http://127.0.0.1:\(ports[0])",
            "--listen-peer-urls", "http://127.0.0.1:\(ports[1])", "--initial-advertise-peer-urls", "http://127.0.0.1:\(ports[1])",
            "--initial-cluster", "m0=http://127.0.0.1:\(ports[1])", "--initial-cluster-state", "new",
        ]
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        do { try waitUntilServing(deadline: deadline) } catch { stop(); throw error }
    }

    func waitUntilServing(deadline: Double) throws {
        var options = try EtcdOptions(parsing: url)
        options.timeout = 1
        let store = try EtcdDatastore(options: options)
        let end = Date().addingTimeInterval(deadline)
        while (try? store.currentRevision()) == nil {
            let tail = String(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(1500))
            if !process.isRunning { throw ShellError.failed(["etcd"], -1, "exited during startup:\n\(tail)") }
            if Date() > end { throw ShellError.failed(["etcd"], -1, "not serving after \(deadline) s:\n\(tail)") }
            usleep(50_000)
        }
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static func freePorts(_ n: Int) throws -> [Int] { try FreePorts.loopback(n) }
}
