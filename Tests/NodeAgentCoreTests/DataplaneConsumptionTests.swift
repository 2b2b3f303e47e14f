import Calc
import Dataplane
import NetCore
import NodeAgentCore
import NodeModel
import Testing

/// The plan's `routing` goes straight into `RoutingCalculator.compute`: the end result of a
/// pool in a 3-node cluster, as `ip route` would show it on n1.
@Suite struct DataplaneConsumptionTests {
    static func routes(_ state: RoutingState) -> [String] { state.routes.values.map(\.description).sorted() }

    @Test func noEncapClusterRoutesViaTheNodes() {
        let plan = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16")]))
        let result = RoutingCalculator.compute(plan.routing)
        #expect(result.issues.isEmpty, "\(result.issues)")
        let s = result.state
        #expect(s.devices.isEmpty, "no tunnel device without encapsulation")
        let r2 = s.routes[RouteKey(destination: F.pfx("10.244.2.0/26"))]
        #expect(r2?.nextHops == [NextHop(device: "eth0", gateway: F.ip("10.99.0.12"), onlink: true)])
        let r3 = s.routes[RouteKey(destination: F.pfx("10.244.3.0/26"))]
        #expect(r3?.nextHops == [NextHop(device: "eth0", gateway: F.ip("10.99.0.13"), onlink: true)])
        #expect(s.routes[RouteKey(destination: F.pfx("10.244.1.0/26"))]?.type == .blackhole)
        #expect(s.routes[RouteKey(destination: F.pfx("10.244.1.5/32"))]?.nextHops == [NextHop(device: "caliweb-0")])
        #expect(s.routes[RouteKey(destination: F.pfx("10.244.2.40/32"))]?.nextHops == [NextHop(device: "caliweb-1")],
                "the borrowed pod's host route beats n2's block route")
        #expect(s.routes.count == 5, "\(Self.routes(s))")
        #expect(s.neighbours == [NeighbourKey(device: "caliweb-0", address: F.ip("10.244.1.5")): MACAddress("ee:ee:ee:ee:ee:01")!])
    }

    @Test func vxlanClusterRoutesThroughTheTunnel() {
        let plan = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16", vxlan: .always)], learned: []))
        let result = RoutingCalculator.compute(plan.routing)
        #expect(result.issues.isEmpty, "\(result.issues)")
        let s = result.state
        guard case .vxlan(let dev)? = s.devices["vxlan.twill"] else { Issue.record("no VXLAN device: \(s.devices)"); return }
        #expect(dev.localAddress == F.ip("10.99.0.11") && dev.parent == "eth0" && dev.mtu == 1450)
        #expect(dev.mac == VTEPMAC.derived(fromNodeName: "n1"))
        #expect(s.addresses.contains(DeviceAddress(device: "vxlan.twill", address: F.iface("10.244.1.0/32"))))
        let r2 = s.routes[RouteKey(destination: F.pfx("10.244.2.0/26"))]
        #expect(r2?.nextHops == [NextHop(device: "vxlan.twill", gateway: F.ip("10.244.2.0"), onlink: true)])
        let r3 = s.routes[RouteKey(destination: F.pfx("10.244.3.0/26"))]
        #expect(r3?.nextHops == [NextHop(device: "vxlan.twill", gateway: F.ip("10.244.3.0"), onlink: true)])
        let mac2 = MACAddress("66:00:00:00:00:02")!, mac3 = VTEPMAC.derived(fromNodeName: "n3")
        #expect(s.neighbours[NeighbourKey(device: "vxlan.twill", address: F.ip("10.244.2.0"))] == mac2)
        #expect(s.neighbours[NeighbourKey(device: "vxlan.twill", address: F.ip("10.244.3.0"))] == mac3)
        #expect(s.fdb == [FDBKey(device: "vxlan.twill", mac: mac2): F.ip("10.99.0.12"),
                          FDBKey(device: "vxlan.twill", mac: mac3): F.ip("10.99.0.13")])
    }

    @Test func crossSubnetIPIPUsesTheTunnelOnlyAcrossSubnets() {
        let n3 = F.node("n3", v4: "10.98.0.13/24")   // another subnet
        let plan = AgentCalculator.plan(Cluster.inputs(nodes: [Cluster.n1, Cluster.n2, n3],
                                                       pools: [F.pool("10.244.0.0/16", ipip: .crossSubnet)],
                                                       learned: [F.learned("10.244.2.0/26", via: "10.99.0.12"),
                                                                 F.learned("10.244.3.0/26", via: "10.98.0.13")]))
        let s = RoutingCalculator.compute(plan.routing).state
        #expect(s.routes[RouteKey(destination: F.pfx("10.244.2.0/26"))]?.nextHops
                == [NextHop(device: "eth0", gateway: F.ip("10.99.0.12"), onlink: true)])
        #expect(s.routes[RouteKey(destination: F.pfx("10.244.3.0/26"))]?.nextHops
                == [NextHop(device: "tunl0", gateway: F.ip("10.98.0.13"), onlink: true)])
        #expect(s.addresses.contains(DeviceAddress(device: "tunl0", address: F.iface("10.244.1.1/32"))))
    }
}
