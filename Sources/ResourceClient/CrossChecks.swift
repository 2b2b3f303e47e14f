import NetCore
import NodeModel

/// Checks that need more than one document: Calico's clientv3 rules that a single resource's
/// validation cannot see (`libcalico-go/lib/clientv3/ippool.go`).
enum CrossChecks {
    struct Violation: Hashable, Sendable {
        var field: String
        var reason: String
    }

    /// Fields that may not change on update: IPPool `spec.cidr` and `spec.blockSize`.
    static func immutableFieldErrors(kind: ResourceKind, old: Value, new: Value) -> [Violation] {
        guard kind == .ipPool else { return [] }
        var errors: [Violation] = []
        let oldCIDR = old["spec"]?["cidr"]?.stringValue.flatMap(prefix)
        let newCIDR = new["spec"]?["cidr"]?.stringValue.flatMap(prefix)
        if let oldCIDR, let newCIDR, oldCIDR != newCIDR {
            errors.append(.init(field: "spec.cidr",
                                reason: "CIDR cannot be changed (stored \(oldCIDR)); follow the IP pool migration guide"))
        }
        if let o = old["spec"]?["blockSize"], let n = new["spec"]?["blockSize"], o != n {
            errors.append(.init(field: "spec.blockSize",
                                reason: "block size cannot be changed (stored \(render(o)))"))
        }
        return errors
    }

    /// A new or updated pool's CIDR must not overlap any other pool: the stored ones (minus
    /// those this batch rewrites) and the others in the batch.
    static func poolOverlapErrors(_ entries: [BatchPlan.Entry], otherPools: [ResourceID: Value]) -> [ClientError] {
        var pools: [(id: ResourceID, cidr: IPPrefix)] = []
        let touched = Set(entries.map(\.id))
        for (id, doc) in otherPools where !touched.contains(id) {
            if let c = cidr(doc) { pools.append((id, c)) }
        }
        // Stored pools in name order, so the message names the same pool every time.
        pools.sort { $0.id.name < $1.id.name }
        var errors: [ClientError] = []
        for entry in entries where entry.id.kind == .ipPool {
            guard let doc = entry.stored, let mine = cidr(doc) else { continue }
            if let clash = pools.first(where: { $0.id != entry.id && $0.cidr.overlaps(mine) }) {
                errors.append(.invalid(entry.ref, "spec.cidr",
                                       "\(entry.id) CIDR overlaps with \(clash.id) CIDR \(clash.cidr)"))
            }
            pools.append((entry.id, mine))
        }
        return errors
    }

    static func cidr(_ doc: Value) -> IPPrefix? {
        doc["spec"]?["cidr"]?.stringValue.flatMap(prefix)
    }

    static func prefix(_ s: String) -> IPPrefix? {
        try? IPPrefix.parse(s, strict: false).get()
    }

    static func render(_ v: Value) -> String {
        switch v {
        case .int(let i): "\(i)"
        case .string(let s): s
        default: v.json
        }
    }
}
