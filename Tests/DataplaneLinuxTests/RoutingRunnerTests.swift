import CNetlink
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
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    let t = Thread {
        defer { done.signal() }
        let fd = open("/run/netns/\(ns)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0, twill_setns_net(fd) == 0 else {
            result.withLock { $0 = .failure(NetlinkError(code: NLE_FAILURE, operation: "setns \(ns)")) }
            return
        }
        close(fd)
        let r = Result { try body() }
        result.withLock { $0 = r }
    }
    t.start()
    done.wait()
    return try result.withLock { $0! }.get()
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
            try runner.start()
            return (dp, runner)
        }
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
    }
}
