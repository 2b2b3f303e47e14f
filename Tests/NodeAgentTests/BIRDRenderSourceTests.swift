import Calc
import Datastore
import Foundation
import NetCore
@testable import NodeAgent
import NodeModel
import ResourceClient
import TestSupport
import Testing

/// `twill-node render-bird`: the datastore → CalcSnapshot → BIRD configuration path, and the
/// parts of `BIRDBackend.apply` that need no root (the `bird -p` gate).
@Suite struct BIRDRenderSourceTests {
    @Test(arguments: ["memory", "sqlite"])
    func snapshotFromTheDatastoreHasEveryKind(_ kind: String) throws {
        let dir = try TempDir("bird-ds")
        defer { dir.cleanup() }
        let store: any Datastore = kind == "sqlite" ? try SQLiteDatastore(path: dir.file("twill.db")) : MemoryDatastore()
        let blocks = try BIRDCluster.twoNodeMesh(store)
        try ResourceClient(datastore: store).apply([BIRDCluster.peer("tor", ip: "10.0.0.254", as: 65001)])
        let s = try loadCalcSnapshot(store: store, nodeName: "a")
        #expect(s.nodes.map(\.metadata.name).sorted() == ["a", "b"])
        #expect(s.ipPools.map(\.spec.cidr) == ["10.244.0.0/16"])
        #expect(s.bgpPeers.map(\.metadata.name) == ["tor"])
        #expect(Set(s.blockAffinities.map(\.spec.node)) == ["a", "b"])
        #expect(blocks["a"] != nil && blocks["b"] != nil && blocks["a"] != blocks["b"])
    }

    /// The text is exactly Calc's rendering of the same state built by hand, so the golden tests
    /// of BIRDRenderer cover what `render-bird` prints.
    @Test func renderedTextIsCalcsRenderingOfTheStoredState() throws {
        let store = MemoryDatastore()
        let blocks = try BIRDCluster.twoNodeMesh(store)
        let text = try renderBIRDConfig(store: store, nodeName: "a")
        let snapshot = try loadCalcSnapshot(store: store, nodeName: "a")
        #expect(text == (try BIRDRenderer.render(#require(BIRDConfigInput(snapshot)))))
        #expect(text.contains("protocol bgp Mesh_10_0_0_2 from bgp_template"))
        #expect(text.contains("router id 10.0.0.1;"))
        #expect(text.contains("if ( net.type = NET_IP4 && net = \(blocks["a"]!) ) then { accept; }"))
        #expect(!text.contains("net = \(blocks["b"]!)"))
    }

    @Test func missingNodeAndNodeWithoutBGPAreNamed() throws {
        let store = MemoryDatastore()
        try BIRDCluster.twoNodeMesh(store)
        #expect(throws: BIRDRenderSourceError.nodeNotFound("zz")) { try renderBIRDConfig(store: store, nodeName: "zz") }
        try ResourceClient(datastore: store).apply([.node(Node(metadata: ObjectMeta(name: "nobgp"), spec: NodeSpec()))])
        #expect(throws: BIRDRenderSourceError.nodeHasNoBGP("nobgp")) { try renderBIRDConfig(store: store, nodeName: "nobgp") }
    }

    /// Passwords come from a Kubernetes-style secret mount (`<dir>/<secret>/<key>`); without
    /// one the peer has no password and the configuration says which secret was missing.
    @Test func passwordsFromASecretDirectory() throws {
        let store = MemoryDatastore()
        try BIRDCluster.twoNodeMesh(store)
        try ResourceClient(datastore: store).apply([
            BIRDCluster.peer("tor", ip: "10.0.0.254", as: 65001, password: ("bgp-secrets", "tor")),
        ])
        let withoutDir = try renderBIRDConfig(store: store, nodeName: "a")
        #expect(withoutDir.contains("# password: secret bgp-secrets/tor not available"))
        let dir = try TempDir("bird-secrets")
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(atPath: dir.file("bgp-secrets"), withIntermediateDirectories: true)
        try "s3cret-pw".write(toFile: dir.file("bgp-secrets/tor"), atomically: true, encoding: .utf8)
        let text = try renderBIRDConfig(store: store, nodeName: "a", secretsDirectory: dir.path)
        #expect(text.contains("password \"s3cret-pw\";"))
        // A password BIRD cannot write (a newline from `echo > file`) is refused by name.
        try "bad\n".write(toFile: dir.file("bgp-secrets/tor"), atomically: true, encoding: .utf8)
        #expect(throws: BIRDRenderSourceError.self) { try renderBIRDConfig(store: store, nodeName: "a", secretsDirectory: dir.path) }
    }

    /// A configuration BIRD refuses is never installed, and the error quotes BIRD. Needs only
    /// the bird binary (`bird -p` parses without privileges).
    @Test func rejectedConfigurationIsNotInstalled() throws {
        guard Shell.which("bird") != nil else { print("SKIP bird -p gate: bird is not installed"); return }
        let store = MemoryDatastore()
        try BIRDCluster.twoNodeMesh(store)
        var input = try birdConfigInput(store: store, nodeName: "a")
        input.config.listenPort = 70000
        let dir = try TempDir("bird-reject")
        defer { dir.cleanup() }
        let log = BIRDTestLog()
        let backend = BIRDBackend(configPath: dir.file("bird.cfg"), controlSocket: dir.file("bird.ctl"), logger: log.logger("bird"))
        defer { backend.stop() }
        let result = Result { () throws(BIRDBackendError) in try backend.apply(input) }
        guard case .failure(.rejected(let message)) = result else {
            Issue.record("expected BIRD to reject local port 70000, got \(result)")
            return
        }
        #expect(message.contains("Invalid port number"), "\(message)")
        #expect(message.hasSuffix("(line: local port 70000 as 64512;)"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("bird.cfg")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "temporary file left behind")
        #expect(backend.processID == nil && backend.installedConfiguration == nil)
        #expect(log.contains("BIRD rejected the rendered configuration"))
    }

    @Test func renderErrorsAreRefusedBeforeBIRDIsAsked() throws {
        let store = MemoryDatastore()
        try BIRDCluster.twoNodeMesh(store)
        var input = try birdConfigInput(store: store, nodeName: "a")
        input.config.ignoredInterfaces = ["bad\"name"]
        let dir = try TempDir("bird-render")
        defer { dir.cleanup() }
        let backend = BIRDBackend(configPath: dir.file("bird.cfg"), controlSocket: dir.file("bird.ctl"),
                                  birdBinary: "/nonexistent/bird", logger: BIRDTestLog().logger("bird"))
        #expect(throws: BIRDBackendError.self) { try backend.apply(input) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("bird.cfg")))
    }
}
