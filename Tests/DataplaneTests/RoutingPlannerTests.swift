import Dataplane
import NetCore
import Testing

@Suite struct RoutingPlannerTests {
    func vxlanInput(workloads: [Workload] = [Fixture.workload(1)]) -> RoutingInput {
        var node = Fixture.node()
        node.ipv4VXLANTunnelAddress = ip("10.244.1.0")
        return RoutingInput(node: node, workloads: workloads, localBlocks: [pfx("10.244.1.0/26")], remoteBlocks: [
            RemoteBlock(cidr: pfx("10.244.3.0/26"), nodes: [Fixture.otherSubnetNode], encapsulation: .vxlan),
            RemoteBlock(cidr: pfx("10.244.2.0/26"), nodes: [Fixture.sameSubnetNode], encapsulation: .none),
        ])
    }

    /// Index of the first operation matching `pred`.
    func index(_ ops: [RoutingOperation], _ pred: (RoutingOperation) -> Bool) -> Int? { ops.firstIndex(where: pred) }

    @Test func fromScratchCreatesInDependencyOrder() {
        let desired = RoutingCalculator.compute(vxlanInput()).state
        let ops = RoutingPlanner.plan(desired: desired, actual: RoutingState(), sweep: true)
        let create = index(ops) { if case .createDevice = $0 { true } else { false } }!
        let up = index(ops) { if case .setDeviceUp = $0 { true } else { false } }!
        let addr = index(ops) { if case .addAddress = $0 { true } else { false } }!
        let neigh = index(ops) { if case .setNeighbour = $0 { true } else { false } }!
        let fdb = index(ops) { if case .setFDB = $0 { true } else { false } }!
        let route = index(ops) { if case .replaceRoute = $0 { true } else { false } }!
        let sysctl = index(ops) { if case .setSysctl = $0 { true } else { false } }!
        #expect(create < up && up < addr && addr < neigh && neigh < fdb && fdb < route && route < sysctl)
        #expect(!ops.contains { $0.isDeletion })
        // Every desired object is created exactly once.
        #expect(ops.filter { if case .replaceRoute = $0 { true } else { false } }.count == desired.routes.count)
        #expect(ops.filter { if case .setNeighbour = $0 { true } else { false } }.count == desired.neighbours.count)
    }

    @Test func applyingThePlanConvergesAndThePlanIsThenEmpty() {
        let desired = RoutingCalculator.compute(vxlanInput()).state
        var actual = RoutingState()
        for op in RoutingPlanner.plan(desired: desired, actual: actual, sweep: true) { RoutingPlanner.record(op, in: &actual) }
        #expect(actual == desired)
        #expect(RoutingPlanner.plan(desired: desired, actual: actual, sweep: true).isEmpty)
    }

    @Test func staleObjectsAreDeletedOnlyWhenSweepingAndInReverseOrder() {
        let old = RoutingCalculator.compute(vxlanInput(workloads: [Fixture.workload(1), Fixture.workload(2)])).state
        var newInput = vxlanInput()
        newInput.remoteBlocks = []   // VXLAN block gone: device, FDB, neighbour, route all stale
        newInput.node.ipv4VXLANTunnelAddress = nil
        let desired = RoutingCalculator.compute(newInput).state
        #expect(RoutingPlanner.plan(desired: desired, actual: old, sweep: false).isEmpty)
        let ops = RoutingPlanner.plan(desired: desired, actual: old, sweep: true)
        #expect(ops.allSatisfy { $0.isDeletion })
        let route = index(ops) { if case .deleteRoute = $0 { true } else { false } }!
        let fdb = index(ops) { if case .deleteFDB = $0 { true } else { false } }!
        let neigh = index(ops) { if case .deleteNeighbour = $0 { true } else { false } }!
        let dev = index(ops) { if case .deleteDevice = $0 { true } else { false } }!
        #expect(route < fdb && fdb < neigh && neigh < dev)
        #expect(ops.contains(.deleteRoute(old.routes[RouteKey(destination: pfx("10.244.1.2/32"))]!)))
        #expect(ops.contains(.deleteDevice(name: "vxlan.twill")))
        // The address goes with the device; no separate delete.
        #expect(!ops.contains { if case .deleteAddress = $0 { true } else { false } })
    }

    @Test func changedRouteIsReplacedNotDeleted() {
        let desired = RoutingCalculator.compute(vxlanInput()).state
        var actual = desired
        let key = RouteKey(destination: pfx("10.244.2.0/26"))
        actual.routes[key]!.nextHops = [NextHop(device: "eth0", gateway: ip("192.168.1.99"), onlink: true)]
        #expect(RoutingPlanner.plan(desired: desired, actual: actual, sweep: true) == [.replaceRoute(desired.routes[key]!)])
    }

    @Test func vxlanMTUDriftIsRepairedInPlace() {
        let desired = RoutingCalculator.compute(vxlanInput()).state
        var actual = desired
        guard case .vxlan(var d)? = actual.devices["vxlan.twill"] else { Issue.record("no device"); return }
        d.mtu = 1300
        actual.devices["vxlan.twill"] = .vxlan(d)
        #expect(RoutingPlanner.plan(desired: desired, actual: actual, sweep: true) == [.setDeviceMTU(name: "vxlan.twill", mtu: 1450)])
    }

    @Test(arguments: ["vni", "port", "learning", "local", "parent", "mac"])
    func incompatibleVXLANDriftRecreatesTheDeviceAndEverythingOnIt(field: String) {
        let desired = RoutingCalculator.compute(vxlanInput()).state
        var actual = desired
        guard case .vxlan(var d)? = actual.devices["vxlan.twill"] else { Issue.record("no device"); return }
        switch field {
        case "vni": d.vni = 1
        case "port": d.port = 8472
        case "learning": d.learning = true
        case "local": d.localAddress = ip("192.168.1.99")
        case "parent": d.parent = "eth1"
        default: d.mac = mac("02:00:00:00:00:01")
        }
        actual.devices["vxlan.twill"] = .vxlan(d)
        let ops = RoutingPlanner.plan(desired: desired, actual: actual, sweep: false)
        #expect(ops.first == .deleteDevice(name: "vxlan.twill"))
        #expect(ops.contains(.createDevice(desired.devices["vxlan.twill"]!)))
        // Routes, neighbours, FDB and the address on the device are re-added after recreation.
        let vxRoute = desired.routes[RouteKey(destination: pfx("10.244.3.0/26"))]!
        #expect(ops.contains(.replaceRoute(vxRoute)))
        #expect(ops.contains { if case .setFDB = $0 { true } else { false } })
        #expect(ops.contains { if case .setNeighbour(let k, _) = $0 { k.device == "vxlan.twill" } else { false } })
        #expect(ops.contains { if case .addAddress = $0 { true } else { false } })
        // Routes elsewhere are untouched.
        #expect(!ops.contains(.replaceRoute(desired.routes[RouteKey(destination: pfx("10.244.2.0/26"))]!)))
    }

    @Test func deviceWithOurNameButAnotherKindIsReplaced() {
        let desired = RoutingCalculator.compute(vxlanInput()).state
        var actual = desired
        actual.devices["vxlan.twill"] = .foreign(name: "vxlan.twill", kind: "bridge", mtu: 1500)
        let ops = RoutingPlanner.plan(desired: desired, actual: actual, sweep: false)
        #expect(ops.first == .deleteDevice(name: "vxlan.twill"))
        #expect(ops.contains(.createDevice(desired.devices["vxlan.twill"]!)))
    }

    @Test func downDeviceIsBroughtUp() {
        let desired = RoutingCalculator.compute(vxlanInput()).state
        var actual = desired
        actual.devicesDown = ["vxlan.twill"]
        #expect(RoutingPlanner.plan(desired: desired, actual: actual, sweep: true) == [.setDeviceUp(name: "vxlan.twill")])
    }

    @Test func deletedDeviceIsRecreatedWithItsObjects() {
        let desired = RoutingCalculator.compute(vxlanInput()).state
        var actual = desired
        actual.devices["vxlan.twill"] = nil
        let ops = RoutingPlanner.plan(desired: desired, actual: actual, sweep: true)
        #expect(ops.first == .createDevice(desired.devices["vxlan.twill"]!))
        #expect(ops.contains { if case .setFDB = $0 { true } else { false } })
    }

    @Test func dirtyScopeLooksOnlyAtTheGivenKeys() {
        var input = vxlanInput()
        let before = RoutingCalculator.compute(input).state
        input.workloads.append(Fixture.workload(3))
        var desired = RoutingCalculator.compute(input).state
        // An unrelated difference outside the dirty keys must not be planned.
        desired.routes[RouteKey(destination: pfx("10.244.2.0/26"))]!.mtu = 1000
        var dirty = DirtyKeys()
        dirty.insert(keysOf: RoutingCalculator.workloadState(Fixture.workload(3), settings: RoutingSettings()).state)
        let ops = RoutingPlanner.plan(desired: desired, actual: before, sweep: true, scope: .only(dirty))
        #expect(Set(ops.map(\.description)).isSuperset(of: [
            "replace route 10.244.1.3/32 dev cali3 proto 247 scope link",
            "replace neighbour 10.244.1.3 dev cali3 lladdr ee:ee:ee:ee:ee:03 permanent",
        ]))
        #expect(!ops.contains { if case .replaceRoute(let r) = $0 { r.destination == pfx("10.244.2.0/26") } else { false } })
    }

    @Test func sysctlsAreSetWhenDifferentAndNeverDeleted() {
        var desired = RoutingState()
        desired.sysctls[SysctlKey(["net", "ipv4", "ip_forward"])] = "1"
        var actual = RoutingState()
        actual.sysctls[SysctlKey(["net", "ipv4", "ip_forward"])] = "0"
        actual.sysctls[SysctlKey(["net", "ipv4", "conf", "old", "proxy_arp"])] = "1"
        #expect(RoutingPlanner.plan(desired: desired, actual: actual, sweep: true)
                == [.setSysctl(SysctlKey(["net", "ipv4", "ip_forward"]), "1")])
    }

    @Test func ecmpRouteChangesWhenANextHopGoes() {
        var input = vxlanInput()
        input.remoteBlocks = [RemoteBlock(cidr: pfx("10.244.4.0/26"), nodes: [Fixture.sameSubnetNode, Fixture.otherSubnetNode],
                                          encapsulation: .none)]
        let before = RoutingCalculator.compute(input).state
        input.remoteBlocks[0].nodes.removeLast()
        let after = RoutingCalculator.compute(input).state
        let ops = RoutingPlanner.plan(desired: after, actual: before, sweep: true)
        #expect(ops == [.replaceRoute(after.routes[RouteKey(destination: pfx("10.244.4.0/26"))]!)])
        #expect(after.routes[RouteKey(destination: pfx("10.244.4.0/26"))]?.isECMP == false)
    }

    @Test func sysctlKeyPathsKeepDottedInterfaceNames() {
        let k = SysctlKey(["net", "ipv4", "conf", "vxlan.twill", "rp_filter"])
        #expect(k.path == "/proc/sys/net/ipv4/conf/vxlan.twill/rp_filter")
        #expect(k.interface == "vxlan.twill")
    }
}

@Suite struct ApplyReportTests {
    final class FakePart: DataplaneDriver, @unchecked Sendable {
        let component: DataplaneComponent
        let fail: Bool
        var inSync = false
        init(_ c: DataplaneComponent, fail: Bool) { component = c; self.fail = fail }
        func markInSync() { inSync = true }
        func requestResync() {}
        func apply() throws -> ComponentReport {
            struct Boom: Error {}
            if fail { throw Boom() }
            return ComponentReport(component: component, operations: 3)
        }
    }

    @Test func compositeAppliesEveryPartAndReportsAThrowingOne() {
        let acl = FakePart(DataplaneComponent("acl"), fail: true)
        let routes = FakePart(.routes, fail: false)
        let c = CompositeDataplane([acl, routes])
        c.markInSync()
        #expect(acl.inSync && routes.inSync)
        let report = c.apply()
        #expect(report.operations == 3)
        #expect(!report.isClean)
        #expect(report[DataplaneComponent("acl")]?.issues.count == 1)
        #expect(report[.routes]?.issues.isEmpty == true)
    }
}
