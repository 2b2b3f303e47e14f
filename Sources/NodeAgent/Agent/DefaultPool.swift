import NetCore
import NodeModel
import ResourceClient

/// calico-node's default IPv4 pool: at start-up, when the datastore holds no IPPool at all, a
/// pool `default-ipv4-ippool` is created from `CALICO_IPV4POOL_CIDR` (default 192.168.0.0/16),
/// `_BLOCK_SIZE`, `_IPIP`, `_VXLAN`, `_NAT_OUTGOING`; `NO_DEFAULT_POOLS=true` turns it off.
/// Twill creates it only when `CALICO_IPV4POOL_CIDR` is set (the Helm chart sets it), so a bare
/// `twill-node` never invents addresses.
public struct DefaultPool: Sendable, Equatable {
    public var cidr: String
    public var blockSize: Int
    public var ipipMode: String
    public var vxlanMode: String
    public var natOutgoing: Bool

    /// nil when no default pool is wanted; throws naming the variable when a value is bad.
    public init?(environment env: [String: String]) throws {
        func value(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        if value("NO_DEFAULT_POOLS")?.lowercased() == "true" { return nil }
        guard let cidr = value("CALICO_IPV4POOL_CIDR") else { return nil }
        guard case .success(let p) = IPPrefix.parse(cidr, strict: true), p.family == .v4 else {
            throw AgentError("CALICO_IPV4POOL_CIDR: \"\(cidr)\" is not an IPv4 CIDR")
        }
        self.cidr = "\(p)"
        let bs = value("CALICO_IPV4POOL_BLOCK_SIZE") ?? "26"
        guard let b = Int(bs), (20...32).contains(b), b >= p.length else {
            throw AgentError("CALICO_IPV4POOL_BLOCK_SIZE: \"\(bs)\" must be 20–32 and not shorter than the pool's /\(p.length)")
        }
        blockSize = b
        func mode(_ k: String) throws -> String {
            let v = value(k) ?? "Never"
            for m in ["Never", "Always", "CrossSubnet"] where m.lowercased() == v.lowercased() { return m }
            throw AgentError("\(k): \"\(v)\" is not Never, Always or CrossSubnet")
        }
        ipipMode = try mode("CALICO_IPV4POOL_IPIP")
        vxlanMode = try mode("CALICO_IPV4POOL_VXLAN")
        if ipipMode != "Never" && vxlanMode != "Never" {
            throw AgentError("CALICO_IPV4POOL_IPIP and CALICO_IPV4POOL_VXLAN: only one encapsulation per pool")
        }
        let nat = (value("CALICO_IPV4POOL_NAT_OUTGOING") ?? "true").lowercased()
        guard nat == "true" || nat == "false" else {
            throw AgentError("CALICO_IPV4POOL_NAT_OUTGOING: \"\(nat)\" is not true or false")
        }
        natOutgoing = nat == "true"
    }

    var document: Value {
        .object([
            "apiVersion": .string("projectcalico.org/v3"), "kind": .string("IPPool"),
            "metadata": .object(["name": .string("default-ipv4-ippool")]),
            "spec": .object([
                "cidr": .string(cidr), "blockSize": .int(Int64(blockSize)),
                "ipipMode": .string(ipipMode), "vxlanMode": .string(vxlanMode),
                "natOutgoing": .bool(natOutgoing), "nodeSelector": .string("all()"),
            ]),
        ])
    }

    /// Creates the pool when the datastore has none (another node may win the race: fine).
    func ensure(client: ResourceClient) throws -> Bool {
        guard try client.list(kind: .ipPool).isEmpty else { return false }
        let r = try client.create([document], skipExisting: true)
        return r.count(.created) > 0
    }
}
