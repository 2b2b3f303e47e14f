import Datastore
@testable import DatastoreEtcd
import Foundation
import TestSupport

/// A real etcd for tests: members on loopback, free ports, a temp data dir, bounded startup.
/// `stop()` (call it in `defer`) kills the members and removes the data.
final class EtcdCluster: @unchecked Sendable {
    struct Member {
        var name: String
        var clientPort: Int
        var peerPort: Int
        var dataDir: String
        var process: TestProcess?
        var clientEndpoint: String { "127.0.0.1:\(clientPort)" }
    }

    private(set) var members: [Member]
    let dir: TempDir
    let token: String
    /// Serve clients over TLS with client-certificate auth (`TestPKI` in `dir`).
    let pki: TestPKI?

    var endpoints: [String] { members.map(\.clientEndpoint) }
    var url: String {
        guard let pki else { return "etcd://" + endpoints.joined(separator: ",") }
        return "etcds://" + endpoints.joined(separator: ",") + "?ca=\(pki.ca)&cert=\(pki.clientCert)&key=\(pki.clientKey)"
    }
    var scheme: String { pki == nil ? "http" : "https" }

    /// Starts `size` members and waits (at most `deadline` seconds) until they serve.
    init(size: Int = 1, tls: Bool = false, deadline: Double = 30) throws {
        dir = try TempDir("twill-etcd")
        pki = tls ? try TestPKI(dir: dir.path) : nil
        token = "twill-\(UUID().uuidString.prefix(8))"
        var ports = try Self.freePorts(2 * size)
        members = (0..<size).map { i in
            Member(name: "m\(i)", clientPort: ports.removeFirst(), peerPort: ports.removeFirst(),
                   dataDir: "", process: nil)
        }
        for i in members.indices { members[i].dataDir = dir.file(members[i].name) }
        do {
            for i in members.indices { try start(i) }
            try waitUntilServing(deadline: deadline)
        } catch {
            stop()
            throw error
        }
    }

    static func freePorts(_ n: Int) throws -> [Int] { try FreePorts.loopback(n) }

    /// (Re)starts member `i` on its data dir.
    func start(_ i: Int) throws {
        let m = members[i]
        let cluster = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        let p = TestProcess()
        p.executableURL = URL(fileURLWithPath: Shell.which("etcd") ?? "/usr/bin/etcd")
        p.arguments = [
            "--name", m.name, "--data-dir", m.dataDir,
            "--listen-client-urls", "\(scheme)://\(m.clientEndpoint)", "--advertise-client-urls", "\(scheme)://\(m.clientEndpoint)",
            "--listen-peer-urls", "http://127.0.0.1:\(m.peerPort)",
            "--initial-advertise-peer-urls", "http://127.0.0.1:\(m.peerPort)",
            "--initial-cluster", cluster, "--initial-cluster-token", token, "--initial-cluster-state", "new",
            "--heartbeat-interval", "50", "--election-timeout", "500",
        ] + (pki.map { ["--cert-file", $0.serverCert, "--key-file", $0.serverKey, "--trusted-ca-file", $0.ca,
                        "--client-cert-auth"] } ?? [])
        _ = FileManager.default.createFile(atPath: dir.file("\(m.name).log"), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("\(m.name).log")))
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        members[i].process = p
    }

    /// SIGKILL member `i` and reap it.
    func kill(_ i: Int) {
        guard let p = members[i].process, p.isRunning else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        members[i].process = nil
    }

    func stop() {
        for i in members.indices { kill(i) }
        dir.cleanup()
    }

    func logTail(_ i: Int) -> String {
        let text = (try? String(contentsOfFile: dir.file("\(members[i].name).log"), encoding: .utf8)) ?? ""
        return String(text.suffix(1500))
    }

    /// Polls every running member until each answers a read, within `deadline` seconds.
    func waitUntilServing(deadline: Double = 30) throws {
        let end = Date().addingTimeInterval(deadline)
        for (i, m) in members.enumerated() where m.process != nil {
            var options = try EtcdOptions(parsing: url)
            options.endpoints = [m.clientEndpoint]
            options.timeout = 1
            let store = try EtcdDatastore(options: options)
            while true {
                // Served: an answer, or a refusal from etcd itself (auth on, no credentials here).
                do { _ = try store.currentRevision(); break } catch {
                    if !"\(error)".contains("cannot reach etcd") { break }
                }
                if members[i].process?.isRunning != true {
                    throw ShellError.failed(["etcd", m.name], -1, "exited during startup:\n\(logTail(i))")
                }
                if Date() > end { throw ShellError.failed(["etcd", m.name], -1, "not serving after \(deadline) s:\n\(logTail(i))") }
                usleep(50_000)
            }
        }
    }

    /// The client endpoint of the current Raft leader, from `etcdctl endpoint status`.
    func leaderEndpoint() throws -> String? {
        for line in try etcdctl(["endpoint", "status", "-w", "simple"]).split(separator: "\n") {
            let f = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if f.count > 4, f[4] == "true" { return f[0].replacingOccurrences(of: "http://", with: "") }
        }
        return nil
    }

    /// Makes member `i` the Raft leader (`etcdctl move-leader`), within `deadline` seconds.
    func makeLeader(_ i: Int, deadline: Double = 15) throws {
        let end = Date().addingTimeInterval(deadline)
        let id = try etcdctl(["member", "list", "-w", "simple"]).split(separator: "\n")
            .map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            .first { $0.count > 2 && $0[2] == members[i].name }?[0]
        guard let id else { throw ShellError.failed(["etcdctl member list"], -1, "no member \(members[i].name)") }
        while true {
            if let leader = try? leaderEndpoint() {
                if leader == members[i].clientEndpoint { return }
                _ = try? Shell.run(["etcdctl", "--endpoints", "http://\(leader)", "move-leader", id],
                                   env: ["ETCDCTL_API": "3"], timeout: 10)
            }
            if Date() > end { throw ShellError.failed(["etcdctl move-leader"], -1, "\(members[i].name) did not become leader") }
            usleep(100_000)
        }
    }

    /// Runs etcdctl (v3 API) against the running members.
    @discardableResult
    func etcdctl(_ args: [String], stdin: String? = nil) throws -> String {
        let live = members.filter { $0.process != nil }.map { "\(scheme)://\($0.clientEndpoint)" }
        let tlsArgs = pki.map { ["--cacert", $0.ca, "--cert", $0.clientCert, "--key", $0.clientKey] } ?? []
        let r = try Shell.run(["etcdctl", "--endpoints", live.joined(separator: ",")] + tlsArgs + args,
                              stdin: stdin, env: ["ETCDCTL_API": "3"], timeout: 20)
        guard r.status == 0 else { throw ShellError.failed(["etcdctl"] + args, r.status, r.stderr) }
        return r.stdout
    }
}


/// A throw-away CA with a server certificate for 127.0.0.1 (also usable as a client, as etcd's
/// gateway needs) and a client certificate, made with the openssl CLI.
struct TestPKI {
    let ca, caKey, serverCert, serverKey, clientCert, clientKey: String

    init(dir: String) throws {
        ca = dir + "/ca.pem"; caKey = dir + "/ca-key.pem"
        serverCert = dir + "/server.pem"; serverKey = dir + "/server-key.pem"
        clientCert = dir + "/client.pem"; clientKey = dir + "/client-key.pem"
        try Shell.check(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-keyout", caKey, "-out", ca, "-days", "2", "-subj", "/CN=twill-test-ca"])
        try Self.issue(dir: dir, name: "server", cn: "127.0.0.1", ca: ca, caKey: caKey,
                       ext: "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth")
        try Self.issue(dir: dir, name: "client", cn: "twill", ca: ca, caKey: caKey, ext: "extendedKeyUsage=clientAuth")
    }

    private static func issue(dir: String, name: String, cn: String, ca: String, caKey: String, ext: String) throws {
        let key = "\(dir)/\(name)-key.pem", csr = "\(dir)/\(name).csr", ext_ = "\(dir)/\(name).ext"
        try ext.write(toFile: ext_, atomically: true, encoding: .utf8)
        try Shell.check(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-keyout", key, "-out", csr, "-subj", "/CN=\(cn)"])
        try Shell.check(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial",
                         "-out", "\(dir)/\(name).pem", "-days", "2", "-extfile", ext_])
    }
}
