import Dataplane
import Foundation
import NetCore

/// The JSON form of `RoutingInput` read by `twill-dp-apply` (see docs/dataplane.md).
struct InputFile: Decodable {
    struct Node: Decodable {
        var name: String
        var ipv4: String?
        var ipv6: String?
        var parentInterface: String
        var parentMTU: Int?
        var ipv4IPIPTunnelAddress: String?
        var ipv4VXLANTunnelAddress: String?
        var ipv6VXLANTunnelAddress: String?
        var vxlanMAC: String?
        var vxlanV6MAC: String?
    }
    struct WorkloadEntry: Decodable {
        var name: String
        var interface: String
        var addresses: [String]
        var mac: String?
    }
    struct RemoteNodeEntry: Decodable {
        var name: String
        var address: String
        var vtepMAC: String?
        var tunnelAddress: String?
    }
    struct RemoteBlockEntry: Decodable {
        var cidr: String
        var nodes: [RemoteNodeEntry]
        var encapsulation: String
        var mode: String?
    }
    struct Settings: Decodable {
        var routeProtocol: UInt8?
        var vxlanVNI: UInt32?
        var vxlanPort: UInt16?
        var vxlanMTU: Int?
        var ipipMTU: Int?
        var ipForwarding: Bool?
    }
    var node: Node
    var workloads: [WorkloadEntry]?
    var localBlocks: [String]?
    var remoteBlocks: [RemoteBlockEntry]?
    var settings: Settings?
    var workloadInterfacePrefixes: [String]?
}

struct InputError: Error, CustomStringConvertible {
    var field: String
    var reason: String
    var description: String { "\(field): \(reason)" }
}

extension InputFile {
    static func load(_ path: String) throws -> InputFile {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do { return try JSONDecoder().decode(InputFile.self, from: data) } catch let DecodingError.keyNotFound(k, ctx) {
            throw InputError(field: (ctx.codingPath + [k]).map(\.stringValue).joined(separator: "."), reason: "is required")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw InputError(field: ctx.codingPath.map(\.stringValue).joined(separator: "."), reason: ctx.debugDescription)
        }
    }

    func routingInput() throws -> RoutingInput {
        func ip(_ s: String?, _ field: String) throws -> IPAddress? {
            guard let s else { return nil }
            guard let a = IPAddress(s) else { throw InputError(field: field, reason: "\"\(s)\" is not an IP address") }
            return a
        }
        func ifaddr(_ s: String?, _ field: String) throws -> InterfaceAddress? {
            guard let s else { return nil }
            guard let a = InterfaceAddress(s) else { throw InputError(field: field, reason: "\"\(s)\" is not ADDRESS/LENGTH") }
            return a
        }
        func mac(_ s: String?, _ field: String) throws -> MACAddress? {
            guard let s else { return nil }
            guard let m = MACAddress(s.lowercased()) else { throw InputError(field: field, reason: "\"\(s)\" is not a MAC address") }
            return m
        }
        func prefix(_ s: String, _ field: String) throws -> IPPrefix {
            switch IPPrefix.parse(s, strict: true) {
            case .success(let p): return p
            case .failure(let e): throw InputError(field: field, reason: e.description)
            }
        }
        let n = LocalNode(
            name: node.name, ipv4: try ifaddr(node.ipv4, "node.ipv4"), ipv6: try ifaddr(node.ipv6, "node.ipv6"),
            parentInterface: node.parentInterface, parentMTU: node.parentMTU ?? 1500,
            ipv4IPIPTunnelAddress: try ip(node.ipv4IPIPTunnelAddress, "node.ipv4IPIPTunnelAddress"),
            ipv4VXLANTunnelAddress: try ip(node.ipv4VXLANTunnelAddress, "node.ipv4VXLANTunnelAddress"),
            ipv6VXLANTunnelAddress: try ip(node.ipv6VXLANTunnelAddress, "node.ipv6VXLANTunnelAddress"),
            vxlanMAC: try mac(node.vxlanMAC, "node.vxlanMAC"), vxlanV6MAC: try mac(node.vxlanV6MAC, "node.vxlanV6MAC"))
        var workloads: [Workload] = []
        for (i, w) in (self.workloads ?? []).enumerated() {
            workloads.append(Workload(
                name: w.name, interface: w.interface,
                addresses: try w.addresses.enumerated().map { try ip($1, "workloads[\(i)].addresses[\($0)]")! },
                mac: try mac(w.mac, "workloads[\(i)].mac")))
        }
        var remotes: [RemoteBlock] = []
        for (i, b) in (remoteBlocks ?? []).enumerated() {
            let f = "remoteBlocks[\(i)]"
            guard let encap = Encapsulation(rawValue: b.encapsulation.lowercased()) else {
                throw InputError(field: f + ".encapsulation", reason: "\"\(b.encapsulation)\" is not none, ipip or vxlan")
            }
            let mode: EncapsulationMode
            switch b.mode {
            case nil: mode = .always
            case let m?:
                guard let v = EncapsulationMode(rawValue: m) else {
                    throw InputError(field: f + ".mode", reason: "\"\(m)\" is not Always or CrossSubnet")
                }
                mode = v
            }
            var nodes: [RemoteNode] = []
            for (j, r) in b.nodes.enumerated() {
                let g = f + ".nodes[\(j)]"
                nodes.append(RemoteNode(name: r.name, address: try ifaddr(r.address, g + ".address")!,
                                        vtepMAC: try mac(r.vtepMAC, g + ".vtepMAC"),
                                        tunnelAddress: try ip(r.tunnelAddress, g + ".tunnelAddress")))
            }
            remotes.append(RemoteBlock(cidr: try prefix(b.cidr, f + ".cidr"), nodes: nodes, encapsulation: encap, mode: mode))
        }
        var s = RoutingSettings()
        if let v = settings?.routeProtocol { s.routeProtocol = v }
        if let v = settings?.vxlanVNI { s.vxlanVNI = v; s.vxlanV6VNI = v }
        if let v = settings?.vxlanPort { s.vxlanPort = v }
        if let v = settings?.vxlanMTU { s.vxlanMTU = v }
        if let v = settings?.ipipMTU { s.ipipMTU = v }
        if let v = settings?.ipForwarding { s.ipForwarding = v }
        return RoutingInput(node: n, workloads: workloads,
                            localBlocks: try (localBlocks ?? []).enumerated().map { try prefix($1, "localBlocks[\($0)]") },
                            remoteBlocks: remotes, settings: s)
    }
}
