import Calc
import Dataplane
import NetCore
import NodeAgentCore
import NodeModel
import Testing
import TestSupport

@Suite struct AdvertisementTests {
    @Test func borrowedAddressesAreAdvertisedAsHostRoutes() {
        let weps = [F.wep("own", node: "n1", ["10.244.1.5/32"]),          // in our block: aggregated
                    F.wep("borrowed", node: "n1", ["10.244.2.40/32"]),    // n2's block
                    F.wep("orphan", node: "n1", ["10.244.9.9/32"]),       // a block nobody holds
                    F.wep("outside", node: "n1", ["192.0.2.7/32"]),       // in no pool
                    F.wep("elsewhere", node: "n2", ["10.244.2.41/32"])]   // another node's
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16")], weps: weps))
        #expect(p.advertisedText == ["10.244.1.0/26", "10.244.2.40/32", "10.244.9.9/32"])
    }

    @Test func onlyExportedPools() {
        let affinities = Cluster.affinities + [F.affinity("n1", "10.250.0.0/26"), F.affinity("n1", "10.251.0.0/26"),
                                               F.affinity("n1", "10.252.0.0/26")]
        let weps = [F.wep("a", node: "n1", ["10.250.0.70/32"]), F.wep("b", node: "n1", ["10.244.2.9/32"])]
        let pools = [F.pool("10.244.0.0/16", noExport: true), F.pool("10.250.0.0/16", disabled: true),
                     F.pool("10.251.0.0/16")]
        let p = AgentCalculator.plan(Cluster.inputs(pools: pools, affinities: affinities, weps: weps))
        // 10.252.0.0/26: its pool was deleted, so it is no longer advertised.
        #expect(p.advertisedText == ["10.251.0.0/26"])
        // Local blocks are still blackholed whatever their pool.
        #expect(p.routing.localBlocks.map(\.description) == ["10.244.1.0/26", "10.250.0.0/26", "10.251.0.0/26", "10.252.0.0/26"])
    }

    @Test func serviceCIDRsAreAdvertised() {
        let cfg = F.config { $0.serviceClusterIPs = [ServiceIPBlock(cidr: "10.96.0.0/12")]; $0.serviceLoadBalancerIPs = [ServiceIPBlock(cidr: "198.51.100.0/24")] }
        let learned = Cluster.learned + [F.learned("10.96.0.0/12", via: "10.99.0.12")]
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16")], weps: [], learned: learned, configs: [cfg]))
        #expect(p.advertisedText == ["10.96.0.0/12", "10.244.1.0/26", "198.51.100.0/24"])
        #expect(p.remote["10.96.0.0/12"] == nil, "our own service CIDR is not routed to a peer")
    }

    @Test func pendingAndDeletedAffinitiesAreNotOurs() {
        let affinities = [F.affinity("n1", "10.244.1.0/26", .pending), F.affinity("n1", "10.244.1.64/26", .pendingDeletion)]
        var deleted = F.affinity("n1", "10.244.1.128/26"); deleted.spec.deleted = "true"
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16")], affinities: affinities + [deleted], weps: []))
        #expect(p.advertised.isEmpty && p.routing.localBlocks.isEmpty)
    }
}

@Suite struct RemoteRouteTests {
    @Test func vxlanComesFromTheDatastoreNotBGP() {
        // No learned routes at all: VXLAN blocks still resolve, with ECMP for a shared block.
        let affinities = Cluster.affinities + [F.affinity("n3", "10.244.2.0/26")]
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16", vxlan: .crossSubnet)],
                                                    affinities: affinities, learned: []))
        #expect(p.routing.remoteBlocks.map(\.cidr.description) == ["10.244.2.0/26", "10.244.3.0/26"])
        #expect(p.remote["10.244.2.0/26"]?.nodes.map(\.name) == ["n2", "n3"])
        #expect(p.routing.remoteBlocks.allSatisfy { $0.encapsulation == .vxlan && $0.mode == .crossSubnet })
        // A stray BGP route inside the VXLAN pool changes nothing.
        var withLearned = Cluster.inputs(pools: [F.pool("10.244.0.0/16", vxlan: .crossSubnet)], affinities: affinities)
        withLearned.learnedRoutes.append(F.learned("10.244.7.0/26", via: "10.99.0.12"))
        #expect(AgentCalculator.plan(withLearned).routing.remoteBlocks == p.routing.remoteBlocks)
    }

    @Test func vxlanBorrowedAddressesOfOtherNodes() {
        // n2 runs a pod with an address from OUR block and one from n3's block: host routes to n2
        // beat our blackhole and n3's block route. Its pod in its own block needs none.
        let weps = [F.wep("x", node: "n2", ["10.244.1.50/32"]), F.wep("y", node: "n2", ["10.244.3.9/32"]),
                    F.wep("z", node: "n2", ["10.244.2.3/32"]), F.wep("mine", node: "n1", ["10.244.1.5/32"])]
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16", vxlan: .always)], weps: weps, learned: []))
        #expect(p.routing.remoteBlocks.map(\.cidr.description) == ["10.244.1.50/32", "10.244.2.0/26", "10.244.3.0/26", "10.244.3.9/32"])
        #expect(p.remote["10.244.1.50/32"]?.nodes.map(\.name) == ["n2"])
        #expect(p.remote["10.244.3.9/32"]?.nodes.map(\.name) == ["n2"])
    }

    @Test func ipipAndNoneComeFromBGPWithThePoolsMode() {
        let pools = [F.pool("10.244.0.0/16", ipip: .crossSubnet), F.pool("10.245.0.0/16", ipip: .always), F.pool("10.246.0.0/16")]
        let learned = [F.learned("10.244.2.0/26", via: "10.99.0.12"), F.learned("10.245.2.0/26", via: "10.99.0.12"),
                       F.learned("10.246.2.0/26", via: "10.99.0.12"), F.learned("203.0.113.0/24", via: "10.99.0.1")]
        let p = AgentCalculator.plan(Cluster.inputs(pools: pools, learned: learned))
        let got = p.routing.remoteBlocks.map { "\($0.cidr) \($0.encapsulation) \($0.mode)" }
        #expect(got == ["10.244.2.0/26 ipip crossSubnet", "10.245.2.0/26 ipip always", "10.246.2.0/26 none always",
                        "203.0.113.0/24 none always"])
        // External route via a router: plain routed, no warning (that is normal outside pools).
        #expect(p.remote["203.0.113.0/24"]?.nodes == [RemoteNode(name: "", address: F.iface("10.99.0.1/32"))])
        #expect(p.warnings.isEmpty)
    }

    @Test func unknownNextHopInsideAPoolIsWarned() {
        let learned = [F.learned("10.244.3.0/26", via: "10.99.0.13"), F.learned("10.244.4.0/26", via: "10.99.0.14")]
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16")], learned: learned))
        #expect(p.warnings == ["learned 10.244.4.0/26 via 10.99.0.14 which is no known node"])
        #expect(p.remote["10.244.4.0/26"]?.nodes == [RemoteNode(name: "", address: F.iface("10.99.0.14/32"))])
    }

    @Test func ownRoutesReflectedBackAreDroppedButBorrowedFromUsAreKept() {
        let learned = [F.learned("10.244.1.0/26", via: "10.99.0.12"),    // our block, reflected
                       F.learned("10.244.1.5/32", via: "10.99.0.12"),    // our pod's host route
                       F.learned("10.244.1.50/32", via: "10.99.0.12"),   // n2 borrowed it from our block
                       F.learned("10.244.2.0/26", via: "10.99.0.11")]    // next hop is us: no route
        let weps = [F.wep("web-0", node: "n1", ["10.244.1.5/32"])]
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16")], weps: weps, learned: learned))
        #expect(p.routing.remoteBlocks.map(\.cidr.description) == ["10.244.1.50/32"])
        #expect(p.remote["10.244.1.50/32"]?.nodes.map(\.name) == ["n2"])
    }

    @Test func samePrefixFromTwoPeersIsECMP() {
        let learned = [F.learned("10.244.8.0/26", via: "10.99.0.13"), F.learned("10.244.8.0/26", via: "10.99.0.12"),
                       F.learned("10.244.8.0/26", via: "10.99.0.12")]
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16")], learned: learned))
        #expect(p.remote["10.244.8.0/26"]?.nodes.map(\.name) == ["n2", "n3"])
    }

    @Test func disabledPoolsStillRoute() {
        // `disabled` stops new allocations only; existing pods keep their routes.
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16", vxlan: .always, disabled: true)], learned: []))
        #expect(p.routing.remoteBlocks.count == 2)
        #expect(p.routing.node.ipv4VXLANTunnelAddress == F.ip("10.244.1.0"))
        #expect(p.advertised.isEmpty, "disabled pools are not exported (reject_disabled_pools)")
    }

    @Test func ipv6VXLANUsesV6AddressesAndMAC() {
        let n1 = F.node("n1", v4: "10.99.0.11/24", v6: "fd00::11/64", vxlanV6: "fd10::1:0")
        var n2 = F.node("n2", v4: "10.99.0.12/24", v6: "fd00::12/64", vxlanMAC: "66:00:00:00:00:02", vxlanV6: "fd10::2:0")
        n2.spec.vxlanTunnelMACAddrV6 = "66:00:00:00:06:02"
        let p = AgentCalculator.plan(Cluster.inputs(nodes: [n1, n2], pools: [F.pool("fd10::/48", vxlan: .always)],
                                                    affinities: [F.affinity("n2", "fd10::2:0/122")], weps: [], learned: []))
        #expect(p.routing.node.ipv6 == F.iface("fd00::11/64"))
        #expect(p.routing.node.ipv6VXLANTunnelAddress == F.ip("fd10::1:0"))
        #expect(p.routing.node.ipv4VXLANTunnelAddress == nil, "no v4 VXLAN pool")
        #expect(p.remote["fd10::2:0/122"]?.nodes == [RemoteNode(name: "n2", address: F.iface("fd00::12/64"),
                                                                 vtepMAC: MACAddress("66:00:00:00:06:02"),
                                                                 tunnelAddress: F.ip("fd10::2:0"))])
    }

    @Test func badWorkloadFieldsAreWarnedNotFatal() {
        let weps = [F.wep("bad", node: "n1", ["not-an-ip", "10.244.1.9/32"], mac: "zz")]
        let p = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16")], weps: weps))
        #expect(p.routing.workloads == [Workload(name: "bad", interface: "calibad", addresses: [F.ip("10.244.1.9")])])
        #expect(p.warnings == ["workload default/bad: ipNetworks entry \"not-an-ip\" is not an address; skipped",
                               "workload default/bad: mac \"zz\" is not a MAC address; no neighbour entry"])
    }

    @Test func hostFactsFallBackToTheNodeResource() {
        var inputs = Cluster.inputs(pools: [])
        inputs.host = HostFacts(parentInterface: "ens3", parentMTU: 9000)
        let node = AgentCalculator.plan(inputs).routing.node
        #expect(node.ipv4 == F.iface("10.99.0.11/24") && node.parentInterface == "ens3" && node.parentMTU == 9000)
    }
}

@Suite struct LocalNodeTests {
    @Test func tunnelAddressesOnlyWhileAPoolNeedsThem() {
        let none = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16")])).routing.node
        #expect(none.ipv4IPIPTunnelAddress == nil && none.ipv4VXLANTunnelAddress == nil && none.vxlanMAC == nil)
        let both = AgentCalculator.plan(Cluster.inputs(pools: [F.pool("10.244.0.0/16", ipip: .always),
                                                               F.pool("10.245.0.0/16", vxlan: .always)])).routing.node
        #expect(both.ipv4IPIPTunnelAddress == F.ip("10.244.1.1") && both.ipv4VXLANTunnelAddress == F.ip("10.244.1.0"))
        #expect(both.ipv6VXLANTunnelAddress == nil, "no IPv6 VXLAN pool")
    }

    @Test func missingOwnVXLANTunnelAddressIsWarned() {
        let p = AgentCalculator.plan(Cluster.inputs(nodes: [F.node("n1", v4: "10.99.0.11/24"), Cluster.n2],
                                                    pools: [F.pool("10.244.0.0/16", vxlan: .always)], learned: []))
        #expect(p.routing.node.ipv4VXLANTunnelAddress == nil)
        #expect(p.warnings.contains("this node (n1) has no IPv4 VXLAN tunnel address yet; other nodes cannot route to its pods"))
    }
}
