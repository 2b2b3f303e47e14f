import NetCore
import NodeModel

/// Checks that need more than one document (Calico's clientv3 rules, written in NodeModel):
/// immutable fields against the stored version, and pool CIDR overlap against the stored
/// pools and the other pools of the same batch.
enum CrossChecks {
    /// Fields that may not change on update (IPPool cidr, blockSize, allowedUses ↔ LoadBalancer).
    static func immutableFieldErrors(old: Resource, new: Resource) -> [FieldError] {
        new.validateUpdate(from: old)
    }

    /// A new or updated pool's CIDR must not overlap any other pool: the stored ones (minus
    /// those this batch rewrites) and the earlier pools of the batch.
    static func poolOverlapErrors(_ entries: [BatchPlan.Entry], otherPools: [ResourceID: IPPool]) -> [ClientError] {
        let touched = Set(entries.map(\.id))
        // Stored pools in name order, so the message names the same pool every time.
        var pools = otherPools.filter { !touched.contains($0.key) }.values.sorted { $0.name < $1.name }
        var errors: [ClientError] = []
        for entry in entries {
            guard let pool = entry.stored?.as(IPPool.self) else { continue }
            if let clash = IPPoolRules.overlap(pool, existing: pools) {
                errors.append(.invalid(ResourceError(entry.ref, clash)))
            }
            pools.append(pool)
        }
        return errors
    }
}
