import CNIPlugin
import DataplaneLinux
import Datastore
import Foundation
import IPAM
import NetCore
import NodeModel
import Testing

/// Records what the plugin asked of the kernel; `failSetUp` injects a failure.
final class FakeNetworking: WorkloadNetworking, @unchecked Sendable {
    let lock = NSLock()
    var links: [String: WorkloadInterfaceSpec] = [:]
    var failSetUp: WorkloadError? = nil
    var netns: Set<String> = ["/var/run/netns/pod"]

    func netnsExists(_ path: String) -> Bool { lock.withLock { netns.contains(path) } }
    func setUp(_ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> WorkloadInterfaceResult {
        lock.lock(); defer { lock.unlock() }
        if let failSetUp { throw failSetUp }
        links[spec.hostInterface] = spec
        return WorkloadInterfaceResult(hostMAC: WorkloadNetwork.hostMAC, containerMAC: MACAddress("02:00:00:00:00:01")!,
                                       hostIndex: 10, containerIndex: 2)
    }
    func tearDown(hostInterface: String) throws(WorkloadError) -> Bool {
        lock.withLock { links.removeValue(forKey: hostInterface) != nil }
    }
    func check(_ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> [String] {
        lock.withLock { links[spec.hostInterface] == spec ? [] : ["host interface \(spec.hostInterface) does not exist"] }
    }
}

struct Harness {
    let store = MemoryDatastore()
    let net = FakeNetworking()

    init(pool: String = "10.50.0.0/24", blockSize: Int = 26) throws {
        var spec = IPPoolSpec(cidr: pool)
        spec.blockSize = blockSize
        let r = Resource(IPPool(metadata: ObjectMeta(name: "pool"), spec: spec.withDefaults()))
        try store.put(ResourceKeys.key(for: r), value: ResourceStorage.bytes(for: r))
    }

    static let config = #"{"cniVersion":"1.0.0","name":"twill","type":"twill-cni","nodename":"node-a","ipam":{"type":"twill-ipam"}}"#

    func run(_ command: String, id: String = "c1", netns: String = "/var/run/netns/pod", config: String = Harness.config,
             args: String = "", extraEnv: [String: String] = [:]) -> (json: Value?, out: String, code: Int32) {
        var env = ["CNI_COMMAND": command, "CNI_CONTAINERID": id, "CNI_NETNS": netns, "CNI_IFNAME": "eth0",
                   "CNI_PATH": "/opt/cni/bin", "CNI_ARGS": args]
        env.merge(extraEnv) { _, n in n }
        let store = self.store
        let out = CNIPlugin(environment: env, stdin: Array(config.utf8), hostname: "host", networking: net,
                            openStore: { _ throws(DatastoreError) in store }).run()
        return (try? Value(json: out.stdout), out.stdout, out.exitCode)
    }

    func keys(_ prefix: String) throws -> [String] { try store.list(prefix: prefix).pairs.map(\.key) }
}

@Suite struct CNIPluginTests {
    @Test func addReturnsSpecResultAndWritesEndpoint() throws {
        let h = try Harness()
        let r = h.run("ADD", args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=web;K8S_POD_NAME=front-0")
        #expect(r.code == 0, "\(r.out)")
        let j = try #require(r.json)
        #expect(j["cniVersion"] == .string("1.0.0"))
        let ifs = try #require(j["interfaces"]?.arrayValue)
        #expect(ifs.count == 2 && ifs[1]["sandbox"] == .string("/var/run/netns/pod") && ifs[1]["name"] == .string("eth0"))
        #expect(ifs[0]["name"] == .string(WorkloadNetwork.hostInterfaceName(containerID: "c1")))
        #expect(j["ips"]?.arrayValue?.first?["address"] == .string("10.50.0.0/32"))
        #expect(j["ips"]?.arrayValue?.first?["interface"] == .int(1))
        #expect(j["routes"]?.arrayValue?.first?["gw"] == .string("169.254.1.1"))
        let key = "/calico/resources/v3/projectcalico.org/workloadendpoints/web/node--a-k8s-front--0-eth0"
        let wep = try #require(try h.store.get(key))
        guard case .workloadEndpoint(let w) = try ResourceStorage.decode(key: key, bytes: wep.value) else { Issue.record("not a WEP"); return }
        #expect(w.spec.node == "node-a" && w.spec.pod == "front-0" && w.spec.orchestrator == "k8s" && w.spec.containerID == "c1")
        #expect(w.spec.ipNetworks == ["10.50.0.0/32"] && w.spec.mac == "02:00:00:00:00:01" && w.spec.endpoint == "eth0")
        #expect(w.spec.interfaceName == WorkloadNetwork.hostInterfaceName(containerID: "c1"))
        #expect(try IPAMClient(store: h.store).addresses(handleID: "c1") == [IPAddress("10.50.0.0")!])
        #expect(Resource(w).validate().isEmpty)
    }

    @Test func logLevelFiltersStderr() throws {
        let h = try Harness()
        let store = h.store
        func run(_ level: String, id: String) -> CNIPlugin.Output {
            let conf = #"{"cniVersion":"1.0.0","name":"t","type":"twill-cni","nodename":"n","log_level":"\#(level)"}"#
            return CNIPlugin(environment: ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": id, "CNI_NETNS": "/var/run/netns/pod", "CNI_IFNAME": "eth0"],
                             stdin: Array(conf.utf8), hostname: "h", networking: h.net, openStore: { _ throws(DatastoreError) in store }).run()
        }
        #expect(run("info", id: "a").stderr == "twill-cni info command=ADD container=a: ok ips=10.50.0.0/32\n")
        #expect(run("error", id: "b").stderr == "")
        #expect(run("loud", id: "c").stdout.contains("log_level"))
    }

    @Test func hostInterfaceNameIsStableAndShort() {
        let a = WorkloadNetwork.hostInterfaceName(containerID: "0123456789abcdef")
        #expect(a == WorkloadNetwork.hostInterfaceName(containerID: "0123456789abcdef"))
        #expect(a.count == 13 && a.hasPrefix("tw") && a.dropFirst(2).allSatisfy(\.isHexDigit))
        #expect(a != WorkloadNetwork.hostInterfaceName(containerID: "0123456789abcdeg"))
    }

    @Test func delIsIdempotentAndReleasesEverything() throws {
        let h = try Harness()
        #expect(h.run("ADD").code == 0)
        #expect(h.run("DEL").code == 0)
        #expect(h.run("DEL").code == 0)
        #expect(h.run("DEL", netns: "").code == 0)   // netns already gone
        #expect(h.net.links.isEmpty)
        #expect(try h.keys("/calico/ipam/v2/handle/").isEmpty)
        #expect(try h.keys("/calico/resources/v3/projectcalico.org/workloadendpoints/").isEmpty)
        #expect(try IPAMCheck.run(store: h.store) == [])
    }

    @Test func failedInterfaceSetupRollsBack() throws {
        let h = try Harness()
        h.net.failSetUp = .interfaceExists("eth0")
        let r = h.run("ADD")
        #expect(r.code == 1 && r.json?["code"] == .int(102), "\(r.out)")
        #expect(try h.keys("/calico/ipam/v2/handle/").isEmpty)
        #expect(try h.keys("/calico/resources/v3/projectcalico.org/workloadendpoints/").isEmpty)
        #expect(h.net.links.isEmpty)
        let b = try h.store.list(prefix: "/calico/ipam/v2/assignment/").pairs
        #expect(try b.allSatisfy { try IPAMBlockSpec(from: Value(jsonBytes: $0.value), at: .root).allocatedCount == 0 })
    }

    @Test func missingNetnsIsInvalidEnvironmentAndTouchesNothing() throws {
        let h = try Harness()
        let r = h.run("ADD", netns: "/var/run/netns/nope")
        #expect(r.json?["code"] == .int(4))
        #expect(r.json?["msg"]?.stringValue?.contains("CNI_NETNS /var/run/netns/nope") == true)
        #expect(try h.keys("/calico/ipam/").isEmpty)
    }

    @Test func exhaustedPoolIsNoAddressesAndLeaksNothing() throws {
        let h = try Harness(pool: "10.60.0.0/30", blockSize: 30)
        for i in 0..<4 { #expect(h.run("ADD", id: "c\(i)").code == 0) }
        let r = h.run("ADD", id: "c4")
        #expect(r.json?["code"] == .int(100), "\(r.out)")
        #expect(r.json?["msg"]?.stringValue?.contains("no addresses available") == true)
        #expect(h.net.links.count == 4)
        #expect(try h.keys("/calico/ipam/v2/handle/").count == 4)
        #expect(try IPAMCheck.run(store: h.store) == [])
    }

    @Test func repeatedAddKeepsTheAddress() throws {
        let h = try Harness()
        let a = h.run("ADD").json?["ips"]
        let b = h.run("ADD").json?["ips"]
        #expect(a != nil && a == b)
        #expect(h.net.links.count == 1)
    }

    @Test func checkUsesPrevResult() throws {
        let h = try Harness()
        let add = try #require(h.run("ADD").json)
        let conf = #"{"cniVersion":"1.0.0","name":"twill","type":"twill-cni","nodename":"node-a","prevResult":"# + add.json + "}"
        #expect(h.run("CHECK", config: conf).code == 0)
        _ = h.net.links.removeAll()
        let r = h.run("CHECK", config: conf)
        #expect(r.json?["code"] == .int(103) && r.out.contains("does not exist"))
        #expect(h.run("CHECK").json?["code"] == .int(7))   // no prevResult
    }

    @Test func environmentAndConfigErrorsUseSpecCodes() throws {
        let h = try Harness()
        #expect(h.run("BOGUS").json?["code"] == .int(4))
        #expect(h.run("ADD", id: "").json?["msg"] == .string("required environment variable not set: CNI_CONTAINERID"))
        #expect(h.run("ADD", args: "novalue").json?["code"] == .int(4))
        #expect(h.run("ADD", config: "{not json").json?["code"] == .int(6))
        #expect(h.run("ADD", config: #"{"cniVersion":"9.9.9","name":"x","type":"twill-cni"}"#).json?["code"] == .int(1))
        #expect(h.run("ADD", config: #"{"cniVersion":"1.0.0","name":"x","type":"twill-cni","mtu":"big"}"#).json?["code"] == .int(7))
        #expect(h.run("ADD", config: #"{"cniVersion":"1.0.0","name":"x","type":"twill-cni","ipam":{"type":"host-local"}}"#).json?["code"] == .int(7))
        #expect(h.run("ADD", config: #"{"cniVersion":"1.0.0","name":"x","type":"twill-cni","ipam":{"type":"twill-ipam","ipv4_pools":["nope"]}}"#).json?["code"] == .int(7))
        #expect(h.run("CHECK", config: #"{"cniVersion":"0.3.1","name":"x","type":"twill-cni"}"#).json?["code"] == .int(1))
        #expect(try h.keys("/calico/ipam/").isEmpty)
    }

    @Test func versionAndStatus() throws {
        let h = try Harness()
        let v = try #require(h.run("VERSION", config: "").json)
        #expect(v["supportedVersions"]?.arrayValue?.contains(.string("1.0.0")) == true)
        let conf11 = #"{"cniVersion":"1.1.0","name":"twill","type":"twill-cni","nodename":"node-a"}"#
        #expect(h.run("STATUS", config: conf11).code == 0)
        let empty = MemoryDatastore()
        let out = CNIPlugin(environment: ["CNI_COMMAND": "STATUS"], stdin: Array(conf11.utf8), hostname: "h", networking: h.net,
                            openStore: { _ throws(DatastoreError) in empty }).run()
        #expect(out.exitCode == 1 && out.stdout.contains("\"code\": 50"))
    }

    @Test func gcReleasesAttachmentsNotInTheValidList() throws {
        let h = try Harness()
        for id in ["keep", "gone"] { #expect(h.run("ADD", id: id).code == 0) }
        let conf = #"{"cniVersion":"1.1.0","name":"twill","type":"twill-cni","nodename":"node-a","cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}]}"#
        #expect(h.run("GC", config: conf).code == 0)
        #expect(try h.keys("/calico/ipam/v2/handle/") == ["/calico/ipam/v2/handle/keep"])
        #expect(h.net.links.keys.sorted() == [WorkloadNetwork.hostInterfaceName(containerID: "keep")])
        #expect(try IPAMCheck.run(store: h.store) == [])
    }

    @Test func ipamOnlyModeReturnsAddressesOnly() throws {
        let h = try Harness()
        let conf = #"{"cniVersion":"1.0.0","name":"twill","type":"twill-ipam","nodename":"node-a"}"#
        let r = h.run("ADD", netns: "/nonexistent", config: conf)
        #expect(r.code == 0 && r.json?["interfaces"] == nil && r.json?["ips"]?.arrayValue?.count == 1)
        #expect(h.run("DEL", config: conf).code == 0)
        #expect(try h.keys("/calico/ipam/v2/handle/").isEmpty)
    }
}
