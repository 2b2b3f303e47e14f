import Datastore
import Foundation
import IPAM
import NetCore
import NodeModel
import Testing
import TestSupport

/// Real processes racing on one SQLite file: the built `twill-cni` in IPAM-only mode.
@Suite struct CNIMultiProcessTests {
    @Test func fiftyParallelAllocationsOnOneNodeNeverCollide() throws {
        let dir = try TempDir("twill-ipam-mp")
        defer { dir.cleanup() }
        let db = dir.file("ipam.db")
        let store = try SQLiteDatastore(path: db)
        var spec = IPPoolSpec(cidr: "10.70.0.0/24")
        spec.blockSize = 29      // 8 addresses a block: 50 pods need 7 claims, many conflicts
        let pool = Resource(IPPool(metadata: ObjectMeta(name: "p"), spec: spec.withDefaults()))
        try store.put(ResourceKeys.key(for: pool), value: ResourceStorage.bytes(for: pool))
        let conf = dir.file("net.json")
        try #"{"cniVersion":"1.0.0","name":"twill","type":"twill-ipam","nodename":"node-a","datastore":"sqlite:\#(db)"}"#
            .write(toFile: conf, atomically: true, encoding: .utf8)

        let start = Date()
        var procs: [(TestProcess, Pipe)] = []
        for i in 0..<50 {
            let p = TestProcess()
            p.executableURL = URL(fileURLWithPath: BuiltProducts.path("twill-cni"))
            p.environment = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "pod\(i)", "CNI_NETNS": "/x", "CNI_IFNAME": "eth0", "CNI_PATH": "/x"]
            p.standardInput = FileHandle(forReadingAtPath: conf)
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            procs.append((p, out))
        }
        var ips: [String] = []
        for (p, out) in procs {
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            #expect(p.terminationStatus == 0, "\(text)")
            if let v = try? Value(json: text), let a = v["ips"]?.arrayValue?.first?["address"]?.stringValue { ips.append(a) }
        }
        let elapsed = Date().timeIntervalSince(start)
        print("50 parallel twill-cni IPAM ADDs: \(String(format: "%.2f", elapsed)) s")
        #expect(ips.count == 50)
        #expect(Set(ips).count == 50, "duplicate addresses handed out: \(ips.sorted())")
        #expect(try IPAMCheck.run(store: store) == [])
        #expect(try store.list(prefix: "/calico/ipam/v2/handle/").pairs.count == 50)
        #expect(try store.list(prefix: "/calico/ipam/v2/host/node-a/").pairs.count == 7)
    }

    /// In-process figure: sequential assign + release through SQLite (each a few commits).
    @Test func sequentialAssignReleaseThroughput() throws {
        let dir = try TempDir("twill-ipam-seq")
        defer { dir.cleanup() }
        let store = try SQLiteDatastore(path: dir.file("ipam.db"))
        let pool = Resource(IPPool(metadata: ObjectMeta(name: "p"), spec: IPPoolSpec(cidr: "10.71.0.0/16").withDefaults()))
        try store.put(ResourceKeys.key(for: pool), value: ResourceStorage.bytes(for: pool))
        let ipam = IPAMClient(store: store)
        let n = 1000
        let t0 = Date()
        for i in 0..<n { _ = try ipam.autoAssign(AssignRequest(handleID: "h\(i)", node: "node-a")) }
        let t1 = Date()
        for i in 0..<n { try ipam.release(handleID: "h\(i)") }
        let t2 = Date()
        print("IPAM on SQLite: \(n) assigns in \(String(format: "%.2f", t1.timeIntervalSince(t0))) s, \(n) releases in \(String(format: "%.2f", t2.timeIntervalSince(t1))) s")
        #expect(try store.list(prefix: "/calico/ipam/v2/host/node-a/").pairs.count == 16)   // 1000 / 64
        #expect(try store.list(prefix: "/calico/ipam/v2/handle/").pairs.isEmpty)
        #expect(try IPAMCheck.run(store: store) == [])
    }
}
