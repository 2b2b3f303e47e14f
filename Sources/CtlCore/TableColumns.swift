import NodeModel
import ResourceClient

/// calicoctl's `get` table columns per kind (`calicoctl/resourcemgr/*.go`), computed from the
/// stored document. Cells print the way Go's templates print them (`true`/`false`, numbers).
public enum TableColumns {
    /// Values the cells may need from elsewhere (Node's ASN column falls back to the global AS).
    public struct Context: Sendable {
        public var globalASNumber: String
        public init(globalASNumber: String = "64512") { self.globalASNumber = globalASNumber }
    }

    public static func headings(_ kind: ResourceKind, wide: Bool) -> [String] {
        switch kind {
        case .ipPool:
            wide ? ["NAME", "CIDR", "NAT", "IPIPMODE", "VXLANMODE", "DISABLED", "DISABLEBGPEXPORT", "SELECTOR"]
                : ["NAME", "CIDR", "SELECTOR"]
        case .bgpPeer: ["NAME", "PEERIP", "NODE", "ASN"]
        case .bgpConfiguration: ["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"]
        case .node: wide ? ["NAME", "ASN", "IPV4", "IPV6"] : ["NAME"]
        case .bgpFilter: ["NAME", "NUMEXPORTV4", "NUMIMPORTV4", "NUMEXPORTV6", "NUMIMPORTV6"]
        case .workloadEndpoint:
            wide ? ["NAMESPACE", "NAME", "WORKLOAD", "NODE", "NETWORKS", "INTERFACE", "PROFILES", "NATS"]
                : ["NAMESPACE", "WORKLOAD", "NODE", "NETWORKS", "INTERFACE"]
        case .networkPolicy: wide ? ["NAMESPACE", "NAME", "ORDER", "SELECTOR"] : ["NAMESPACE", "NAME"]
        case .globalNetworkPolicy: wide ? ["NAME", "ORDER", "SELECTOR"] : ["NAME"]
        case .ipamConfiguration: ["NAME", "STRICTAFFINITY", "MAXBLOCKSPERHOST"]
        case .ipamBlock: wide ? ["NAME", "CIDR", "AFFINITY", "DELETED"] : ["NAME", "CIDR", "AFFINITY"]
        case .blockAffinity: ["NAME", "NODE", "CIDR", "STATE"]
        case .ipamHandle: wide ? ["NAME", "HANDLE", "BLOCKS"] : ["NAME", "HANDLE"]
        }
    }

    public static func row(_ r: StoredResource, wide: Bool, context: Context = Context()) -> [String] {
        let spec = r.spec
        let s = { (key: String) in cell(spec[key]) }
        switch r.kind {
        case .ipPool:
            let mode = { (key: String) in spec[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "Never" }
            return wide
                ? [r.name, s("cidr"), bool(spec["natOutgoing"]), mode("ipipMode"), mode("vxlanMode"),
                   bool(spec["disabled"]), bool(spec["disableBGPExport"]), s("nodeSelector")]
                : [r.name, s("cidr"), s("nodeSelector")]
        case .bgpPeer:
            let node = nonEmpty(spec["node"]) ?? nonEmpty(spec["nodeSelector"]) ?? "(global)"
            return [r.name, s("peerIP"), node, spec["asNumber"].map(cell) ?? "0"]
        case .bgpConfiguration:
            return [r.name, s("logSeverityScreen"), spec["nodeToNodeMeshEnabled"].map(cell) ?? "-",
                    spec["asNumber"].map(cell) ?? "-"]
        case .node:
            guard wide else { return [r.name] }
            guard let bgp = spec["bgp"], case .object = bgp else { return [r.name, "", "", ""] }
            let asn = bgp["asNumber"].map(cell) ?? "(\(context.globalASNumber))"
            return [r.name, asn, cell(bgp["ipv4Address"]), cell(bgp["ipv6Address"])]
        case .bgpFilter:
            let n = { (key: String) in String(spec[key]?.arrayValue?.count ?? 0) }
            return [r.name, n("exportV4"), n("importV4"), n("exportV6"), n("importV6")]
        case .workloadEndpoint:
            let nets = (spec["ipNetworks"]?.arrayValue ?? []).map(cell).joined(separator: ",")
            // Kubernetes endpoints carry the pod name instead of a workload.
            let workload = nonEmpty(spec["workload"]) ?? s("pod")
            let base = [r.id.namespace, workload, s("node"), nets, s("interfaceName")]
            guard wide else { return base }
            let profiles = (spec["profiles"]?.arrayValue ?? []).map(cell).joined(separator: ",")
            let nats = (spec["ipNATs"]?.arrayValue ?? []).map { n in
                "\(cell(n["internalIP"]))->\(cell(n["externalIP"]))"
            }.joined(separator: ",")
            return [r.id.namespace, r.name] + base.dropFirst() + [profiles, nats]
        case .networkPolicy:
            return wide ? [r.id.namespace, r.name, s("order"), s("selector")] : [r.id.namespace, r.name]
        case .globalNetworkPolicy:
            return wide ? [r.name, s("order"), s("selector")] : [r.name]
        case .ipamConfiguration:
            return [r.name, bool(spec["strictAffinity"]), s("maxBlocksPerHost")]
        case .ipamBlock:
            let base = [r.name, s("cidr"), s("affinity")]
            return wide ? base + [bool(spec["deleted"])] : base
        case .blockAffinity:
            return [r.name, s("node"), s("cidr"), s("state")]
        case .ipamHandle:
            let base = [r.name, s("handleID")]
            guard wide else { return base }
            let blocks = (spec["block"]?.objectFields ?? []).map { "\($0.key)=\(cell($0.value))" }
            return base + [blocks.joined(separator: ",")]
        }
    }

    /// `-o custom-columns=…`: the named columns, from the kind's ps and wide columns.
    static func custom(_ columns: [String], kind: ResourceKind, _ rows: [StoredResource],
                       context: Context) throws(CtlError) -> String {
        let known = headings(kind, wide: true) + headings(kind, wide: false)
        if let bad = columns.first(where: { !known.contains($0) }) {
            var valid: [String] = []
            for h in known where !valid.contains(h) { valid.append(h) }
            throw CtlError("unknown column \(bad) for \(kind): valid columns are \(valid.joined(separator: ", "))")
        }
        let cells = rows.map { r in
            var byHeading: [String: String] = [:]
            for wide in [false, true] {
                for (h, c) in zip(headings(kind, wide: wide), row(r, wide: wide, context: context)) { byHeading[h] = c }
            }
            return columns.map { byHeading[$0] ?? "" }
        }
        return TableWriter().render(headings: columns, rows: cells)
    }

    /// A scalar as Go's `{{.Field}}` prints it; empty for absent or null.
    static func cell(_ v: Value?) -> String {
        switch v {
        case nil, .null?: ""
        case .bool(let b)?: b ? "true" : "false"
        case .int(let i)?: String(i)
        case .double(let d)?: d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .string(let s)?: s
        case .array(let a)?: a.map { cell($0) }.joined(separator: ",")
        case .object?: v!.json
        }
    }

    /// Go prints an unset bool as `false`.
    static func bool(_ v: Value?) -> String { v.map(cell).flatMap { $0.isEmpty ? nil : $0 } ?? "false" }

    static func nonEmpty(_ v: Value?) -> String? {
        let c = cell(v)
        return c.isEmpty ? nil : c
    }
}
