import Dataplane
import NetCore
import Testing

@Suite struct RoutingCalculatorTests {
    let proto = RoutingSettings.defaultRouteProtocol

    @Test func workloadGetsLinkScopeRouteNeighbourAndSysctls() {
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(), workloads: [Fixture.workload(5)]))
        #expect(r.issues.isEmpty)
        let route = r.state.routes[RouteKey(destination: pfx("10.244.1.5/32"))]
        #expect(route == Route(destination: pfx("10.244.1.5/32"), scope: .link, nextHops: [NextHop(device: "cali5")],
                               protocolNumber: proto))
        #expect(r.state.neighbours[NeighbourKey(device: "cali5", address: ip("10.244.1.5"))] == mac("ee:ee:ee:ee:ee:05"))
        #expect(r.state.sysctls[SysctlKey(["net", "ipv4", "conf", "cali5", "proxy_arp"])] == "1")
        #expect(r.state.sysctls[SysctlKey(["net", "ipv4", "conf", "cali5", "rp_filter"])] == "1")
        #expect(r.state.sysctls[SysctlKey(["net", "ipv4", "conf", "cali5", "forwarding"])] == "1")
        #expect(r.state.sysctls[SysctlKey(["net", "ipv4", "ip_forward"])] == "1")
        #expect(r.state.sysctls[SysctlKey(["net", "ipv6", "conf", "cali5", "proxy_ndp"])] == nil)
        #expect(r.state.devices.isEmpty)
    }

    @Test func dualStackWorkloadGetsHostRoutesInBothFamilies() {
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(v6: true), workloads: [Fixture.workload(6, v6: true)]))
        let v6 = r.state.routes[RouteKey(destination: pfx("fd00:244:1::6/128"))]
        #expect(v6?.scope == .universe)   // the kernel ignores scope for IPv6
        #expect(v6?.nextHops == [NextHop(device: "cali6")])
        #expect(r.state.neighbours[NeighbourKey(device: "cali6", address: ip("fd00:244:1::6"))] != nil)
        #expect(r.state.sysctls[SysctlKey(["net", "ipv6", "conf", "cali6", "proxy_ndp"])] == "1")
        #expect(r.state.sysctls[SysctlKey(["net", "ipv6", "conf", "all", "forwarding"])] == "1")
    }

    @Test func localBlocksAreBlackholedExceptHostBlocks() {
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(),
                                                       localBlocks: [pfx("10.244.1.0/26"), pfx("10.244.9.9/32"), pfx("fd00:244:1::/122")]))
        #expect(r.state.routes[RouteKey(destination: pfx("10.244.1.0/26"))]?.type == .blackhole)
        #expect(r.state.routes[RouteKey(destination: pfx("10.244.1.0/26"))]?.nextHops == [])
        #expect(r.state.routes[RouteKey(destination: pfx("fd00:244:1::/122"))]?.type == .blackhole)
        #expect(r.state.routes[RouteKey(destination: pfx("10.244.9.9/32"))] == nil)
    }

    @Test func noEncapRouteGoesViaNodeOnParent() {
        let block = RemoteBlock(cidr: pfx("10.244.2.0/26"), nodes: [Fixture.otherSubnetNode], encapsulation: .none)
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(), remoteBlocks: [block]))
        #expect(r.issues.isEmpty)
        #expect(r.state.routes[RouteKey(destination: block.cidr)]?.nextHops
                == [NextHop(device: "eth0", gateway: ip("192.168.2.12"), onlink: true)])
        #expect(r.state.devices.isEmpty)
        #expect(r.state.fdb.isEmpty)
    }

    @Test func ipipRouteGoesViaTunl0AndCreatesTheDevice() {
        var node = Fixture.node()
        node.ipv4IPIPTunnelAddress = ip("10.244.1.1")
        let block = RemoteBlock(cidr: pfx("10.244.2.0/26"), nodes: [Fixture.otherSubnetNode], encapsulation: .ipip)
        let r = RoutingCalculator.compute(RoutingInput(node: node, remoteBlocks: [block]))
        #expect(r.state.routes[RouteKey(destination: block.cidr)]?.nextHops
                == [NextHop(device: "tunl0", gateway: ip("192.168.2.12"), onlink: true)])
        #expect(r.state.devices["tunl0"] == .ipip(IPIPDevice(name: "tunl0", mtu: 1480)))
        #expect(r.state.addresses == [DeviceAddress(device: "tunl0", address: ifa("10.244.1.1/32"))])
    }

    @Test func vxlanRouteNeighbourFDBAndDevice() {
        var node = Fixture.node()
        node.ipv4VXLANTunnelAddress = ip("10.244.1.0")
        let block = RemoteBlock(cidr: pfx("10.244.3.0/26"), nodes: [Fixture.otherSubnetNode], encapsulation: .vxlan)
        let r = RoutingCalculator.compute(RoutingInput(node: node, remoteBlocks: [block]))
        #expect(r.issues.isEmpty)
        #expect(r.state.routes[RouteKey(destination: block.cidr)]?.nextHops
                == [NextHop(device: "vxlan.twill", gateway: ip("10.244.3.0"), onlink: true)])
        #expect(r.state.neighbours == [NeighbourKey(device: "vxlan.twill", address: ip("10.244.3.0")): Fixture.macC])
        #expect(r.state.fdb == [FDBKey(device: "vxlan.twill", mac: Fixture.macC): ip("192.168.2.12")])
        #expect(r.state.devices["vxlan.twill"] == .vxlan(VXLANDevice(
            name: "vxlan.twill", vni: 4096, port: 4789, learning: false, localAddress: ip("192.168.1.10"),
            parent: "eth0", mac: mac("66:00:00:00:00:0a"), mtu: 1450)))
        #expect(r.state.addresses == [DeviceAddress(device: "vxlan.twill", address: ifa("10.244.1.0/32"))])
    }

    @Test func vxlanV6UsesItsOwnDeviceAndOverhead() {
        var node = Fixture.node(v6: true)
        node.ipv6VXLANTunnelAddress = ip("fd00:244:1::")
        let remote = RemoteNode(name: "node-c", address: ifa("fd00:2::12/64"), vtepMAC: Fixture.macC, tunnelAddress: ip("fd00:244:3::"))
        let block = RemoteBlock(cidr: pfx("fd00:244:3::/122"), nodes: [remote], encapsulation: .vxlan)
        let r = RoutingCalculator.compute(RoutingInput(node: node, remoteBlocks: [block]))
        #expect(r.issues.isEmpty)
        guard case .vxlan(let dev)? = r.state.devices["vxlan-v6.twill"] else { Issue.record("no v6 device"); return }
        #expect(dev.mtu == 1430)
        #expect(dev.localAddress == ip("fd00:1::10"))
        #expect(r.state.devices["vxlan.twill"] == nil)
        #expect(r.state.routes[RouteKey(destination: block.cidr)]?.nextHops
                == [NextHop(device: "vxlan-v6.twill", gateway: ip("fd00:244:3::"), onlink: true)])
        #expect(r.state.fdb[FDBKey(device: "vxlan-v6.twill", mac: Fixture.macC)] == ip("fd00:2::12"))
        #expect(r.state.addresses == [DeviceAddress(device: "vxlan-v6.twill", address: ifa("fd00:244:1::/128"))])
    }

    @Test(arguments: [Encapsulation.vxlan, .ipip])
    func crossSubnetEncapsulatesOnlyOutsideOurSubnet(encap: Encapsulation) {
        let same = RemoteBlock(cidr: pfx("10.244.2.0/26"), nodes: [Fixture.sameSubnetNode], encapsulation: encap, mode: .crossSubnet)
        let other = RemoteBlock(cidr: pfx("10.244.3.0/26"), nodes: [Fixture.otherSubnetNode], encapsulation: encap, mode: .crossSubnet)
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(), remoteBlocks: [same, other]))
        #expect(r.issues.isEmpty)
        #expect(r.state.routes[RouteKey(destination: same.cidr)]?.nextHops
                == [NextHop(device: "eth0", gateway: ip("192.168.1.11"), onlink: true)])
        let tunnelDev = encap == .vxlan ? "vxlan.twill" : "tunl0"
        #expect(r.state.routes[RouteKey(destination: other.cidr)]?.nextHops.first?.device == tunnelDev)
        if encap == .vxlan {
            // Only the encapsulated peer needs neighbour and FDB entries.
            #expect(r.state.fdb.keys.map(\.mac) == [Fixture.macC])
        }
    }

    @Test func crossSubnetWorksForIPv6() {
        var node = Fixture.node(v6: true)
        node.ipv6VXLANTunnelAddress = ip("fd00:244:1::")
        let same = RemoteNode(name: "b", address: ifa("fd00:1::11/64"), vtepMAC: Fixture.macB, tunnelAddress: ip("fd00:244:2::"))
        let other = RemoteNode(name: "c", address: ifa("fd00:2::12/64"), vtepMAC: Fixture.macC, tunnelAddress: ip("fd00:244:3::"))
        let r = RoutingCalculator.compute(RoutingInput(node: node, remoteBlocks: [
            RemoteBlock(cidr: pfx("fd00:244:2::/122"), nodes: [same], encapsulation: .vxlan, mode: .crossSubnet),
            RemoteBlock(cidr: pfx("fd00:244:3::/122"), nodes: [other], encapsulation: .vxlan, mode: .crossSubnet),
        ]))
        #expect(r.issues.isEmpty)
        #expect(r.state.routes[RouteKey(destination: pfx("fd00:244:2::/122"))]?.nextHops
                == [NextHop(device: "eth0", gateway: ip("fd00:1::11"), onlink: true)])
        #expect(r.state.routes[RouteKey(destination: pfx("fd00:244:3::/122"))]?.nextHops
                == [NextHop(device: "vxlan-v6.twill", gateway: ip("fd00:244:3::"), onlink: true)])
    }

    @Test func interfaceAddressKeepsHostBitsAndGivesTheSubnet() {
        let a = ifa("192.168.1.10/24")
        #expect(a.address == ip("192.168.1.10"))
        #expect(a.subnet == pfx("192.168.1.0/24"))
        #expect(InterfaceAddress("192.168.1.10") == nil)
        #expect(InterfaceAddress("192.168.1.10/33") == nil)
    }

    @Test func alwaysModeEncapsulatesEvenInOurSubnet() {
        let same = RemoteBlock(cidr: pfx("10.244.2.0/26"), nodes: [Fixture.sameSubnetNode], encapsulation: .vxlan, mode: .always)
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(), remoteBlocks: [same]))
        #expect(r.state.routes[RouteKey(destination: same.cidr)]?.nextHops.first?.device == "vxlan.twill")
    }

    @Test func severalNodesGiveAnECMPRoute() {
        let block = RemoteBlock(cidr: pfx("10.244.4.0/26"), nodes: [Fixture.sameSubnetNode, Fixture.otherSubnetNode],
                                encapsulation: .vxlan, mode: .crossSubnet)
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(), remoteBlocks: [block]))
        let route = r.state.routes[RouteKey(destination: block.cidr)]
        #expect(route?.isECMP == true)
        #expect(Set(route?.nextHops ?? []) == [NextHop(device: "eth0", gateway: ip("192.168.1.11"), onlink: true),
                                               NextHop(device: "vxlan.twill", gateway: ip("10.244.3.0"), onlink: true)])
        // Order of the nodes does not matter.
        let swapped = RoutingCalculator.compute(RoutingInput(node: Fixture.node(), remoteBlocks: [
            RemoteBlock(cidr: block.cidr, nodes: block.nodes.reversed(), encapsulation: .vxlan, mode: .crossSubnet),
        ]))
        #expect(swapped.state == r.state)
    }

    @Test func mtusDeriveFromTheParentOrSettings() {
        var node = Fixture.node(v6: true)
        node.parentMTU = 9000
        node.ipv4IPIPTunnelAddress = ip("10.244.1.1")
        node.ipv4VXLANTunnelAddress = ip("10.244.1.0")
        node.ipv6VXLANTunnelAddress = ip("fd00:244:1::")
        var r = RoutingCalculator.compute(RoutingInput(node: node))
        #expect(r.state.devices["tunl0"]?.mtu == 8980)
        #expect(r.state.devices["vxlan.twill"]?.mtu == 8950)
        #expect(r.state.devices["vxlan-v6.twill"]?.mtu == 8930)
        var s = RoutingSettings()
        s.vxlanMTU = 1400
        r = RoutingCalculator.compute(RoutingInput(node: node, settings: s))
        #expect(r.state.devices["vxlan.twill"]?.mtu == 1400)
    }

    @Test func badBlocksAreSkippedWithAnIssueAndOthersStillProgrammed() {
        let v6ipip = RemoteBlock(cidr: pfx("fd00:244:5::/122"),
                                 nodes: [RemoteNode(name: "n6", address: ifa("fd00:1::12/64"))], encapsulation: .ipip)
        let noVTEP = RemoteBlock(cidr: pfx("10.244.6.0/26"),
                                 nodes: [RemoteNode(name: "n7", address: ifa("192.168.2.7/24"))], encapsulation: .vxlan)
        let wrongFamily = RemoteBlock(cidr: pfx("10.244.7.0/26"),
                                      nodes: [RemoteNode(name: "n8", address: ifa("fd00:1::8/64"))], encapsulation: .none)
        let good = RemoteBlock(cidr: pfx("10.244.8.0/26"), nodes: [Fixture.otherSubnetNode], encapsulation: .none)
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(v6: true), remoteBlocks: [v6ipip, noVTEP, wrongFamily, good]))
        #expect(r.state.routes.keys.map(\.destination) == [good.cidr])
        #expect(r.issues.contains { $0.subject == "block fd00:244:5::/122" && $0.reason.contains("IPv6") })
        #expect(r.issues.contains { $0.subject.contains("10.244.6.0/26") && $0.reason.contains("VTEP MAC") })
        #expect(r.issues.contains { $0.subject.contains("10.244.7.0/26") && $0.reason.contains("is not IPv4") })
    }

    @Test func vxlanWithoutANodeAddressIsAnIssue() {
        var node = Fixture.node()
        node.ipv4 = nil
        let block = RemoteBlock(cidr: pfx("10.244.3.0/26"), nodes: [Fixture.otherSubnetNode], encapsulation: .vxlan)
        let r = RoutingCalculator.compute(RoutingInput(node: node, remoteBlocks: [block]))
        #expect(r.state.routes.isEmpty)
        #expect(r.issues.contains { $0.subject == "device vxlan.twill" })
    }

    @Test func duplicateWorkloadAddressKeepsTheFirstAndSaysSo() {
        let a = Workload(name: "a", interface: "cali1", addresses: [ip("10.244.1.7")])
        let b = Workload(name: "b", interface: "cali2", addresses: [ip("10.244.1.7")])
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(), workloads: [a, b]))
        #expect(r.state.routes[RouteKey(destination: pfx("10.244.1.7/32"))]?.nextHops.first?.device == "cali1")
        #expect(r.issues.contains { $0.subject == "workload b" })
        #expect(r.workloadContributions["b"]?.routes.isEmpty == true)
    }

    @Test func badInterfaceNamesAreRejected() {
        let w = Workload(name: "x", interface: "a-very-long-interface-name", addresses: [ip("10.244.1.9")])
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(), workloads: [w]))
        #expect(r.state.routes.isEmpty)
        #expect(r.issues.first?.reason.contains("longer than 15") == true)
    }

    @Test func routeProtocolAndTableComeFromSettings() {
        var s = RoutingSettings()
        s.routeProtocol = 200
        s.routeTable = 100
        let r = RoutingCalculator.compute(RoutingInput(node: Fixture.node(), workloads: [Fixture.workload(1)],
                                                       localBlocks: [pfx("10.244.1.0/26")], settings: s))
        #expect(r.state.routes.values.allSatisfy { $0.protocolNumber == 200 && $0.table == 100 })
        #expect(r.state.routes.count == 2)
    }
}

@Suite struct SHA1Tests {
    func hex(_ b: [UInt8]) -> String { b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    @Test func knownVectors() {
        #expect(hex(SHA1.digest([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex(SHA1.digest(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(SHA1.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(SHA1.digest([UInt8](repeating: 0x61, count: 1000))) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test func vtepMACIsLocallyAdministeredUnicastAndStable() {
        let m = VTEPMAC.derived(fromNodeName: "node-a")
        #expect(m.bytes[0] == 0x66)
        #expect(m.bytes[0] & 1 == 0)
        #expect(Array(m.bytes[1...]) == Array(SHA1.digest(Array("node-a".utf8))[0..<5]))
        #expect(VTEPMAC.derived(fromNodeName: "node-b") != m)
    }
}
