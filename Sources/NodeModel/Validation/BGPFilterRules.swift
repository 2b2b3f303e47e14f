import NetCore

/// BGPFilter validation (calico.md §1.5).
enum BGPFilterRules {
    static func validate(_ s: BGPFilterSpec, _ p: inout Problems) {
        for (name, rules, family) in [("exportV4", s.exportV4, IPFamily.v4), ("importV4", s.importV4, .v4),
                                      ("exportV6", s.exportV6, .v6), ("importV6", s.importV6, .v6)] {
            for (i, r) in rules.enumerated() { rule(r, family: family, at: FieldPath("spec").child(name).index(i), &p) }
        }
    }

    static func rule(_ r: BGPFilterRule, family: IPFamily, at path: FieldPath, _ p: inout Problems) {
        if r.action == nil { p.add(path.child("action"), "required: Accept or Reject") }
        if r.cidr.isEmpty != (r.matchOperator == nil) {
            p.add(path, "cidr and matchOperator must be set together")
        }
        if !r.cidr.isEmpty {
            switch IPPrefix.parse(r.cidr, strict: true) {
            case .success(let pr) where pr.family != family:
                p.add(path.child("cidr"), "\(pr) is not an \(family) CIDR")
            case .failure(let e): p.add(path.child("cidr"), e.description)
            default: break
            }
        }
        if let pl = r.prefixLength {
            if r.cidr.isEmpty { p.add(path.child("prefixLength"), "requires cidr") }
            let range = family == .v4 ? 0...32 : 0...128
            if let m = pl.min, !range.contains(m) { p.add(path.child("prefixLength.min"), "must be between \(range.lowerBound) and \(range.upperBound)") }
            if let m = pl.max, !range.contains(m) { p.add(path.child("prefixLength.max"), "must be between \(range.lowerBound) and \(range.upperBound)") }
            if let a = pl.min, let b = pl.max, a > b { p.add(path.child("prefixLength"), "min must not exceed max") }
        }
        if r.interface.utf8.count > 15 { p.add(path.child("interface"), "must be no more than 15 characters") }
        if r.communities.count > 1 { p.add(path.child("communities.values"), "at most one community") }
        for (i, c) in r.communities.enumerated() where CommunityValue(c) == nil {
            p.add(path.child("communities.values").index(i), "invalid community value \"\(c)\"")
        }
        if !r.operations.isEmpty {
            if r.action != .accept { p.add(path.child("operations"), "operations are only allowed with action Accept") }
            if r.operations.count > 10 { p.add(path.child("operations"), "at most 10 operations") }
            for (i, op) in r.operations.enumerated() {
                let set = [op.addCommunity != nil, op.prependASPath != nil, op.setPriority != nil].filter { $0 }.count
                if set != 1 {
                    p.add(path.child("operations").index(i), "exactly one of addCommunity, prependASPath or setPriority must be set")
                }
                if let c = op.addCommunity, CommunityValue(c) == nil {
                    p.add(path.child("operations").index(i).child("addCommunity.value"), "invalid community value \"\(c)\"")
                }
            }
        }
    }
}
