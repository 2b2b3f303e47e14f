import Dataplane
import DataplaneTesting
import NetCore
import Testing

@Suite struct FakeRoutingDataplaneTests {
    @Test func convergesSweepsOnlyWhenInSyncAndInjectsFailures() throws {
        let fake = FakeRoutingDataplane()
        let input = RoutingInput(node: Fixture.node(), workloads: [Fixture.workload(1), Fixture.workload(2)],
                                 localBlocks: [pfx("10.244.1.0/26")])
        fake.setRoutingInput(input)
        let first = try fake.apply()
        #expect(first.issues.isEmpty && first.operations > 0)
        #expect(fake.kernel.routes.count == 3)
        #expect(try fake.apply().operations == 0)

        fake.removeWorkload(named: "pod-2")
        #expect(try fake.apply().operations == 0, "no sweep before in-sync")
        fake.markInSync()
        #expect(try fake.apply().operations == 2)   // route + neighbour of pod-2
        #expect(fake.kernel.routes[RouteKey(destination: pfx("10.244.1.2/32"))] == nil)

        fake.failOperations { op in if case .replaceRoute(let r) = op, r.destination == pfx("10.244.1.3/32") { "injected" } else { nil } }
        fake.upsertWorkload(Fixture.workload(3))
        let failed = try fake.apply()
        #expect(failed.issues.map(\.reason) == ["injected"])
        #expect(fake.kernel.neighbours[NeighbourKey(device: "cali3", address: ip("10.244.1.3"))] != nil)
        #expect(fake.violations.isEmpty)

        fake.removeWorkload(named: "nope")
        #expect(fake.violations == ["removeWorkload(nope): no such workload"])
    }

    @Test func applyBeforeInputIsAViolation() throws {
        let fake = FakeRoutingDataplane()
        _ = try fake.apply()
        #expect(fake.violations == ["apply() before setRoutingInput"])
    }
}
