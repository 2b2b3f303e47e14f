import Dataplane
import NetCore

func ip(_ s: String) -> IPAddress { IPAddress(s)! }
func pfx(_ s: String) -> IPPrefix { IPPrefix(s)! }
func ifa(_ s: String) -> InterfaceAddress { InterfaceAddress(s)! }
func mac(_ s: String) -> MACAddress { MACAddress(s)! }

enum Fixture {
    static let macB = mac("66:00:00:00:00:0b")
    static let macC = mac("66:00:00:00:00:0c")

    static func node(v6: Bool = false) -> LocalNode {
        LocalNode(name: "node-a", ipv4: ifa("192.168.1.10/24"), ipv6: v6 ? ifa("fd00:1::10/64") : nil,
                  parentInterface: "eth0", parentMTU: 1500,
                  ipv4IPIPTunnelAddress: nil, ipv4VXLANTunnelAddress: nil, vxlanMAC: mac("66:00:00:00:00:0a"))
    }

    static let sameSubnetNode = RemoteNode(name: "node-b", address: ifa("192.168.1.11/24"), vtepMAC: macB,
                                           tunnelAddress: ip("10.244.2.0"))
    static let otherSubnetNode = RemoteNode(name: "node-c", address: ifa("192.168.2.12/24"), vtepMAC: macC,
                                            tunnelAddress: ip("10.244.3.0"))

    static func workload(_ n: Int, v6: Bool = false) -> Workload {
        Workload(name: "pod-\(n)", interface: "cali\(n)",
                 addresses: [ip("10.244.1.\(n)")] + (v6 ? [ip("fd00:244:1::\(n)")] : []),
                 mac: mac("ee:ee:ee:ee:ee:0\(n)"))
    }

    static func route(_ r: Route?) -> String { r?.description ?? "nil" }
}
