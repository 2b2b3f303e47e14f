import NetCore

/// Datastore keys exactly as Calico's etcdv3 backend lays them out (calico.md §2.3,
/// `libcalico-go/lib/backend/model`), so an etcd written by Calico and one written by Twill hold
/// the same keys.
public enum ResourceKeys {
    public static let v3Root = "/calico/resources/v3/projectcalico.org/"
    public static let ipamRoot = "/calico/ipam/v2/"
    public static let ipamConfig = "/calico/ipam/v2/config"

    /// `/calico/resources/v3/projectcalico.org/<plural>/[<ns>/]<name>` for v3 kinds; the IPAM v2
    /// paths for IPAM records.
    public static func key(for r: Resource) -> String {
        switch r {
        case .ipamBlock(let b):
            if let p = b.spec.prefix { return block(p) }
            return ipamRoot + "assignment/block/" + b.spec.cidr
        case .blockAffinity(let a):
            if let p = IPPrefix(a.spec.cidr) { return affinity(node: a.spec.node, cidr: p, type: a.spec.type) }
            return ipamRoot + "host/" + a.spec.node + "/block/" + a.spec.cidr
        case .ipamHandle(let h): return handle(h.spec.handleID.isEmpty ? h.name : h.spec.handleID)
        case .ipamConfiguration: return ipamConfig
        default: return key(kind: r.kind, namespace: r.namespace, name: r.name)
        }
    }

    /// Key of a v3 resource by identity (namespace ignored for cluster-scoped kinds).
    public static func key(kind: ResourceKind, namespace: String = "", name: String) -> String {
        listPrefix(kind: kind, namespace: kind.isNamespaced ? namespace : nil) + name
    }

    /// Prefix that lists every resource of `kind` (in `namespace` when given and namespaced).
    /// Ends with "/" so `ippools` never matches `ippoolsx`.
    public static func listPrefix(kind: ResourceKind, namespace: String? = nil) -> String {
        switch kind {
        case .ipamBlock: return ipamRoot + "assignment/"
        case .blockAffinity: return ipamRoot + "host/"
        case .ipamHandle: return ipamRoot + "handle/"
        case .ipamConfiguration: return ipamConfig
        default:
            var p = v3Root + kind.plural + "/"
            if kind.isNamespaced, let namespace, !namespace.isEmpty { p += namespace + "/" }
            return p
        }
    }

    /// `/calico/ipam/v2/assignment/ipv4/block/10.244.1.0-26`.
    public static func block(_ cidr: IPPrefix) -> String {
        ipamRoot + "assignment/ipv\(cidr.family.rawValue)/block/" + cidr.keyForm
    }

    /// `/calico/ipam/v2/host/<node>/ipv4/block/10.244.1.0-26` (`virtual` affinities live under
    /// `/calico/ipam/v2/virtual/`).
    public static func affinity(node: String, cidr: IPPrefix, type: String = "") -> String {
        let root = type == "virtual" ? "virtual/" : "host/"
        return ipamRoot + root + node + "/ipv\(cidr.family.rawValue)/block/" + cidr.keyForm
    }

    /// Prefix of every affinity of one node.
    public static func affinityPrefix(node: String) -> String { ipamRoot + "host/" + node + "/" }

    /// `/calico/ipam/v2/handle/<id>`.
    public static func handle(_ id: String) -> String { ipamRoot + "handle/" + id }

    /// What a key names: kind plus namespace/name (v3 keys) or the IPAM identity.
    public enum Parsed: Hashable, Sendable {
        case resource(kind: ResourceKind, namespace: String, name: String)
        case block(IPPrefix)
        case affinity(node: String, cidr: IPPrefix, type: String)
        case handle(String)
        case ipamConfig
    }

    /// Parses a key produced by the functions above; nil for anything else.
    public static func parse(_ key: String) -> Parsed? {
        if key == ipamConfig { return .ipamConfig }
        if key.hasPrefix(v3Root) {
            let parts = key.dropFirst(v3Root.count).split(separator: "/", omittingEmptySubsequences: false)
            guard let kind = ResourceKind.allCases.first(where: { $0.plural == parts.first.map(String.init) }) else { return nil }
            if kind.isNamespaced, parts.count == 3 { return .resource(kind: kind, namespace: String(parts[1]), name: String(parts[2])) }
            if !kind.isNamespaced, parts.count == 2 { return .resource(kind: kind, namespace: "", name: String(parts[1])) }
            return nil
        }
        guard key.hasPrefix(ipamRoot) else { return nil }
        let parts = key.dropFirst(ipamRoot.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch parts.first {
        case "assignment" where parts.count == 4 && parts[2] == "block":
            return IPPrefix(keyForm: parts[3]).map { .block($0) }
        case "host", "virtual":
            guard parts.count == 5, parts[3] == "block", let p = IPPrefix(keyForm: parts[4]) else { return nil }
            return .affinity(node: parts[1], cidr: p, type: parts[0] == "virtual" ? "virtual" : "")
        case "handle" where parts.count == 2: return .handle(parts[1])
        default: return nil
        }
    }
}
