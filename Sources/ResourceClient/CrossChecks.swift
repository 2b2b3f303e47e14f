import NetCore
import NodeModel

/// Checks that need more than one document (Calico's clientv3 rules): immutable fields against
/// the stored version (NodeModel's `validateUpdate`), and pool CIDR overlap against the stored
/// pools and the other pools of the same batch.
enum CrossChecks {
    /// Fields that may not change on update (IPPool cidr, blockSize, allowedUses ↔ LoadBalancer).
    static func immutableFieldErrors(old: Resource, new: Resource) -> [FieldError] {
        new.validateUpdate(from: old)
    }

    /// A new or updated pool's CIDR must not overlap any other pool: the stored ones (minus
    /// those this batch rewrites) and the earlier pools of the batch. Same rule and message as
    /// `IPPoolRules.overlap`, but indexed: a batch of 10,000 pools against 10,000 stored ones
    /// is O(n · prefix length), not O(n²).
    /// `otherPools`: stored pool name → CIDR.
    static func poolOverlapErrors(_ entries: [BatchPlan.Entry], otherPools: [String: String]) -> [ClientError] {
        let touched = Set(entries.filter { $0.id.kind == .ipPool }.map(\.id.name))
        var index = PoolOverlapIndex()
        // Stored pools in name order, so the message names the same pool every time.
        for (name, cidr) in otherPools.sorted(by: { $0.key < $1.key }) where !touched.contains(name) {
            index.insert(name: name, cidr: cidr)
        }
        var errors: [ClientError] = []
        for entry in entries {
            guard let pool = entry.stored?.as(IPPool.self) else { continue }
            if let clash = index.clash(pool) {
                errors.append(.invalid(ResourceError(entry.ref, clash)))
            }
            index.insert(name: pool.name, cidr: pool.spec.cidr)
        }
        return errors
    }
}

/// Pools by prefix, for overlap queries: two prefixes overlap iff one contains the other, so
/// `p` overlaps a stored `q` iff some ancestor of `p` (itself included) is stored, or `p` is an
/// ancestor of a stored prefix.
struct PoolOverlapIndex {
    private var exact: [IPPrefix: (name: String, cidr: IPPrefix)] = [:]
    private var covering: [IPPrefix: (name: String, cidr: IPPrefix)] = [:]

    mutating func insert(name: String, cidr: String) {
        guard let p = Self.prefix(cidr) else { return }
        if exact[p] == nil { exact[p] = (name, p) }
        for len in 0...p.length {
            let a = IPPrefix(p.address, length: len)
            if covering[a] == nil { covering[a] = (name, p) }
        }
    }

    /// The overlap error for `pool`, naming the other pool, or nil.
    func clash(_ pool: IPPool) -> FieldError? {
        guard let p = Self.prefix(pool.spec.cidr) else { return nil }
        var other: (name: String, cidr: IPPrefix)?
        for len in 0...p.length {
            if let hit = exact[IPPrefix(p.address, length: len)], hit.name != pool.name { other = hit; break }
        }
        if other == nil, let hit = covering[p], hit.name != pool.name { other = hit }
        guard let other else { return nil }
        return FieldError("spec.cidr", "IPPool(\(pool.name)) CIDR overlaps with IPPool(\(other.name)) CIDR \(other.cidr)")
    }

    static func prefix(_ s: String) -> IPPrefix? {
        if case .success(let p) = IPPrefix.parse(s, strict: false) { p } else { nil }
    }
}
