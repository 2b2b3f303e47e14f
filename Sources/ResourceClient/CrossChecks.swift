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
    static func immutableFieldErrors(old: Resource, new: Resource) -> [Violation] {
        guard let o = old.as(IPPool.self), let n = new.as(IPPool.self) else { return [] }
        var errors: [Violation] = []
        let oldCIDR = prefix(o.spec.cidr), newCIDR = prefix(n.spec.cidr)
        if oldCIDR != newCIDR {
            errors.append(.init(field: "spec.cidr",
                                reason: "CIDR cannot be changed (stored \(o.spec.cidr)); follow the IP pool migration guide"))
        }
        if o.spec.blockSize != n.spec.blockSize, o.spec.blockSize != 0 || n.spec.blockSize != 0 {
            errors.append(.init(field: "spec.blockSize",
                                reason: "block size cannot be changed (stored \(o.spec.blockSize))"))
        }
        return errors
    }

    /// A new or updated pool's CIDR must not overlap any other pool: the stored ones (minus
    /// those this batch rewrites) and the others in the batch.
    static func poolOverlapErrors(_ entries: [BatchPlan.Entry], otherPools: [ResourceID: IPPool]) -> [ClientError] {
        let touched = Set(entries.map(\.id))
        var pools: [(id: ResourceID, cidr: IPPrefix)] = otherPools.compactMap { id, pool in
            touched.contains(id) ? nil : prefix(pool.spec.cidr).map { (id, $0) }
        }
        // Stored pools in name order, so the message names the same pool every time.
        pools.sort { $0.id.name < $1.id.name }
        var errors: [ClientError] = []
        for entry in entries {
            guard let pool = entry.stored?.as(IPPool.self), let mine = prefix(pool.spec.cidr) else { continue }
            if let clash = pools.first(where: { $0.id != entry.id && $0.cidr.overlaps(mine) }) {
                errors.append(.invalid(entry.ref, "spec.cidr",
                                       "\(entry.id) CIDR overlaps with \(clash.id) CIDR \(clash.cidr)"))
            }
            pools.append((entry.id, mine))
        }
        return errors
    }

    static func prefix(_ s: String) -> IPPrefix? {
        try? IPPrefix.parse(s, strict: false).get()
    }
}
