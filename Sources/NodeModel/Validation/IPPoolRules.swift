import NetCore

/// IPPool validation (calico.md §1.1: CEL rules on `IPPoolSpec` and clientv3 `ippool.go`).
public enum IPPoolRules {
    public static let linkLocalV4 = IPPrefix("169.254.0.0/16")!
    public static let linkLocalV6 = IPPrefix("fe80::/10")!

    static func validate(_ s: IPPoolSpec, _ p: inout Problems) {
        var prefix: IPPrefix? = nil
        if s.cidr.isEmpty {
            p.add("spec.cidr", "required")
        } else {
            switch IPPrefix.parse(s.cidr, strict: true) {
            case .success(let pr): prefix = pr
            case .failure(let e): p.add("spec.cidr", e.description)
            }
        }
        if let prefix {
            let ll = prefix.family == .v4 ? linkLocalV4 : linkLocalV6
            if prefix.overlaps(ll) {
                p.add("spec.cidr", "IP pool range \(prefix) overlaps with the reserved link-local range \(ll)")
            }
            if s.blockSize != 0 {
                let range = prefix.family == .v4 ? 20...32 : 116...128
                if !range.contains(s.blockSize) {
                    p.add("spec.blockSize", "block size \(s.blockSize) is invalid for an \(prefix.family) pool: must be between \(range.lowerBound) and \(range.upperBound)")
                } else if prefix.length > s.blockSize && !s.disabled {
                    p.add("spec.cidr", "IP pool size is too small (min /\(s.blockSize)) for use with Calico IPAM. It must be equal to or greater than the block size.")
                }
            }
            if prefix.family == .v6, let m = s.ipipMode, m != .never {
                p.add("spec.ipipMode", "IPIP is not supported on an IPv6 IP pool")
            }
        } else if s.blockSize != 0 && !(20...32).contains(s.blockSize) && !(116...128).contains(s.blockSize) {
            p.add("spec.blockSize", "block size \(s.blockSize) is invalid: must be 20-32 (IPv4) or 116-128 (IPv6)")
        }
        let ipip = (s.ipipMode ?? .never) != .never
        let vxlan = (s.vxlanMode ?? .never) != .never
        if ipip && vxlan {
            p.add("spec", "ipipMode and vxlanMode cannot both be enabled on the same IP pool")
        }
        if s.allowedUses.contains(.loadBalancer) {
            if s.allowedUses.contains(.workload) || s.allowedUses.contains(.tunnel) {
                p.add("spec.allowedUses", "LoadBalancer cannot be combined with Workload or Tunnel")
            }
            if ipip || vxlan { p.add("spec.allowedUses", "a LoadBalancer IP pool cannot use IPIP or VXLAN encapsulation") }
            if s.disableBGPExport { p.add("spec.disableBGPExport", "cannot be set on a LoadBalancer IP pool") }
            if !s.nodeSelector.isEmpty && s.nodeSelector.trimmingSpaces != "all()" {
                p.add("spec.nodeSelector", "a LoadBalancer IP pool must have nodeSelector all()")
            }
        }
        if s.allowedUses.contains(.tunnel) && !s.namespaceSelector.isEmpty {
            p.add("spec.namespaceSelector", "cannot be set on an IP pool with allowedUses Tunnel")
        }
        if Set(s.allowedUses).count != s.allowedUses.count { p.add("spec.allowedUses", "contains duplicates") }
        if s.allowedUses.count > 10 { p.add("spec.allowedUses", "at most 10 entries") }
        p.selector(s.nodeSelector, at: "spec.nodeSelector")
        if (try? Selector(s.nodeSelector)) == .global { p.add("spec.nodeSelector", "global() is not allowed in an IP pool nodeSelector") }
        p.selector(s.namespaceSelector, at: "spec.namespaceSelector")
        if s.nodeSelector.utf8.count > 1024 { p.add("spec.nodeSelector", "must be no more than 1024 characters") }
    }

    static func validateUpdate(old: IPPoolSpec, new: IPPoolSpec, _ p: inout Problems) {
        let oldCIDR = IPPrefix(old.cidr).map(\.description) ?? old.cidr
        let newCIDR = IPPrefix(new.cidr).map(\.description) ?? new.cidr
        if oldCIDR != newCIDR { p.add("spec.cidr", "CIDR cannot be changed; follow IP pool migration guide") }
        // A zero blockSize means "not set" (defaulted later), so only compare real values.
        if old.blockSize != 0 && new.blockSize != 0 && old.blockSize != new.blockSize {
            p.add("spec.blockSize", "blockSize cannot be changed (from \(old.blockSize) to \(new.blockSize))")
        }
        if old.allowedUses.contains(.loadBalancer) != new.allowedUses.contains(.loadBalancer) {
            p.add("spec.allowedUses", "cannot change an IP pool's allowedUses to or from LoadBalancer")
        }
    }

    /// The clientv3 create-time check: the pool's CIDR must not overlap any other existing
    /// pool (a pool with the same name is the pool itself and is skipped).
    public static func overlap(_ pool: IPPool, existing: [IPPool]) -> FieldError? {
        guard let mine = IPPrefix.parse(pool.spec.cidr, strict: false).success else { return nil }
        for other in existing where other.name != pool.name {
            guard let theirs = IPPrefix.parse(other.spec.cidr, strict: false).success else { continue }
            if mine.overlaps(theirs) {
                return FieldError("spec.cidr", "IPPool(\(pool.name)) CIDR overlaps with IPPool(\(other.name)) CIDR \(theirs)")
            }
        }
        return nil
    }
}

extension Result {
    var success: Success? { if case .success(let s) = self { s } else { nil } }
}

extension String {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
