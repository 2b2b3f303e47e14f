import Dataplane
@testable import DataplaneLinux
import Foundation
import NetCore
import Synchronization
import Testing
import TestSupport

/// A timer the test fires by hand.
final class ManualTimer: RepeatingTimer, @unchecked Sendable {
    private let lock = NSLock()
    private var handler: (@Sendable () -> Void)?
    private(set) var interval: Duration?
    func start(every interval: Duration, _ handler: @escaping @Sendable () -> Void) {
        lock.withLock { self.interval = interval; self.handler = handler }
    }
    func cancel() { lock.withLock { handler = nil } }
    func fire() { lock.withLock { handler }?() }
}

/// Runs `body` on a fresh thread that entered network namespace `ns`: netlink sockets made
/// there stay bound to that namespace whatever thread uses them later.
func inNamespace<T: Sendable>(_ ns: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
    try Netns.run(ns, body)
}

@Suite(.serialized) struct RoutingRunnerTests {
    @Test func periodicResyncRepairsDriftTheMonitorDoesNotReport() throws {
        guard Privileged.check("periodic resync in netns", needs: ["ip"]) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let ns = try lab.netns("nr")
        try lab.veth(ns, "eth0", ns, "eth1")
        try lab.ip(ns, "addr", "add", "192.168.55.1/24", "dev", "eth0")
        var settings = RoutingSettings()
        settings.ipForwarding = false   // no sysctls: the runner's queue thread is outside the namespace
        let input = RoutingInput(
            node: LocalNode(name: "node-a", ipv4: InterfaceAddress("192.168.55.1/24")!, parentInterface: "eth0"),
            remoteBlocks: [RemoteBlock(cidr: IPPrefix("10.244.2.0/26")!, nodes: [
                RemoteNode(name: "node-b", address: InterfaceAddress("192.168.55.2/24")!),
            ], encapsulation: .none)],
            settings: settings)
        let timer = ManualTimer()
        let reports = Mutex<[ComponentReport]>([])
        let (dp, runner) = try inNamespace(ns) { () throws -> (LinuxRoutingDataplane, RoutingDataplaneRunner) in
            let dp = try LinuxRoutingDataplane()
            dp.setRoutingInput(input)
            dp.markInSync()
            let runner = RoutingDataplaneRunner(dataplane: dp, resyncInterval: .seconds(90), timer: timer) { r in
                reports.withLock { $0.append(r) }
            }
            try runner.prepare()
            return (dp, runner)
        }
        // Started here, not in the namespace: a Dispatch worker spawned from the namespace thread
        // would stay in it and later run other tests' sockets there.
        try runner.start()
        defer { runner.stop(); dp.close() }
        #expect(timer.interval == .seconds(90))
        func route() -> String { (try? lab.ip(ns, "route", "show", "10.244.2.0/26")) ?? "" }
        #expect(eventually { route().contains("via 192.168.55.2 dev eth0") })

        // Someone rewrites our route keeping our protocol: the monitor treats that as ours.
        try lab.ip(ns, "route", "replace", "10.244.2.0/26", "via", "192.168.55.9", "dev", "eth0", "onlink", "proto", "247")
        let applies = reports.withLock { $0.count }
        #expect(route().contains("via 192.168.55.9"))
        timer.fire()
        #expect(eventually { route().contains("via 192.168.55.2 dev eth0") }, "periodic resync did not repair the route")
        let last = reports.withLock { Array($0.dropFirst(applies)) }
        #expect(last.contains { $0.resynced && $0.operations == 1 })
        #expect(runner.lastReport?.issues.isEmpty == true)

        // Lost notifications (ENOBUFS) also lead to a full resync.
        try lab.ip(ns, "route", "replace", "10.244.2.0/26", "via", "192.168.55.8", "dev", "eth0", "onlink", "proto", "247")
        #expect(route().contains("via 192.168.55.8"))
        runner.handle(.overflow)
        #expect(eventually { route().contains("via 192.168.55.2 dev eth0") }, "overflow did not trigger a resync")
    }
}

@Suite(.serialized) struct IncrementalUpdateTests {
    @Test func upsertAndRemoveWorkloadTouchOnlyThatWorkload() throws {
        guard Privileged.check("incremental workload updates in netns", needs: ["ip"]) else { return }
        let lab = try Lab()
        defer { lab.cleanup() }
        let ns = try lab.netns("ni")
        try lab.veth(ns, "eth0", ns, "eth1")
        try lab.veth(ns, "cali1", ns, "peer1")
        try lab.veth(ns, "cali2", ns, "peer2")
        let node = LocalNode(name: "node-a", ipv4: InterfaceAddress("192.168.57.1/24")!, parentInterface: "eth0")
        let w1 = Workload(name: "one", interface: "cali1", addresses: [IPAddress("10.244.1.1")!], mac: MACAddress("02:00:00:00:00:01"))
        let w2 = Workload(name: "two", interface: "cali2", addresses: [IPAddress("10.244.1.2")!], mac: MACAddress("02:00:00:00:00:02"))
        // Every kernel-touching call runs on a thread inside the namespace (sysctls are per namespace).
        let dp = try inNamespace(ns) { try LinuxRoutingDataplane() }
        defer { dp.close() }
        dp.setRoutingInput(RoutingInput(node: node, workloads: [w1], localBlocks: [IPPrefix("10.244.1.0/26")!]))
        dp.markInSync()
        let first = try inNamespace(ns) { try dp.apply() }
        #expect(first.issues.isEmpty, "\(first.issues)")

        dp.upsertWorkload(w2)
        let add = try inNamespace(ns) { try dp.apply() }
        #expect(!add.resynced)
        // One route, one neighbour, four sysctls on cali2: nothing else is looked at.
        #expect(add.operations == 6, "\(add)")
        #expect(try lab.ip(ns, "route", "show", "proto", "247").contains("10.244.1.2 dev cali2"))
        #expect(try lab.exec(ns, ["cat", "/proc/sys/net/ipv4/conf/cali2/proxy_arp"]) == "1\n")

        var moved = w2
        moved.addresses = [IPAddress("10.244.1.3")!]
        dp.upsertWorkload(moved)
        let change = try inNamespace(ns) { try dp.apply() }
        #expect(change.operations == 4, "\(change)")   // add route+neighbour, delete old route+neighbour
        let routes = try lab.ip(ns, "route", "show", "proto", "247")
        #expect(routes.contains("10.244.1.3 dev cali2") && !routes.contains("10.244.1.2 "), "\(routes)")

        dp.removeWorkload(named: "two")
        let remove = try inNamespace(ns) { try dp.apply() }
        #expect(remove.operations == 2, "\(remove)")
        let after = try lab.ip(ns, "route", "show", "proto", "247")
        #expect(!after.contains("cali2") && after.contains("10.244.1.1 dev cali1"), "\(after)")
        #expect(!(try lab.ip(ns, "neigh", "show", "dev", "cali2")).contains("PERMANENT"))
        // Nothing pending: an apply with no changes does nothing.
        #expect(try inNamespace(ns) { try dp.apply() }.operations == 0)
    }
}
