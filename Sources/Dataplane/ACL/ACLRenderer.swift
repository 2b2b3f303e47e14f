import NetCore

/// Bad input, naming the field and the reason. Rendering is all or nothing.
public struct ACLRenderError: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(field: String, reason: String) { self.field = field; self.reason = reason }
    public var description: String { "\(field): \(reason)" }
}

/// Renders an `ACLInput` to the desired content of Twill's nft table. Pure and deterministic.
///
/// Layout (see docs/dataplane-acl.md): base chains `forward`, `input`, `output` (filter) and
/// `postrouting` (nat) dispatch workload traffic by interface through the verdict maps `from-wl`
/// and `to-wl` into per-workload chains `fw-<if>` (anti-spoofing, then egress policy) and
/// `tw-<if>` (ingress policy). Those jump to policy chains `po-<name>` / `pi-<name>` tier by tier.
/// Allow and Pass set a mark bit and return, so a packet forwarded between two workloads is
/// checked by both the sender's egress and the receiver's ingress policy.
public enum ACLRenderer {
    /// Content key of a constant set: `"[10, 0, 0, 0]-[10, 0, 255, 255],..."`, exactly what
    /// `"\(first)-\(last)"` prints for byte arrays (set names hash it), without going through
    /// `Array.description`'s dynamic casts (which cost a quarter of a 1,000-workload render).
    static func contentKey(_ ranges: [(first: [UInt8], last: [UInt8])]) -> String {
        var out = ""
        func bytes(_ b: [UInt8]) {
            out += "["
            for (i, x) in b.enumerated() {
                if i > 0 { out += ", " }
                out += String(x)
            }
            out += "]"
        }
        for (i, r) in ranges.enumerated() {
            if i > 0 { out += "," }
            bytes(r.first); out += "-"; bytes(r.last)
        }
        return out
    }

    public static func render(_ input: ACLInput) throws(ACLRenderError) -> NFTModel {
        var r = Builder(input: input)
        try r.validate()
        try r.renderPolicies()
        r.renderWorkloads()
        r.renderBaseChains()
        return r.model
    }
}

extension ACLRenderer {
    struct Builder {
        let input: ACLInput
        let s: ACLSettings
        var model: NFTModel
        var workloadsByName: [String: ACLWorkload] = [:]
        var tiers: [String: ACLTier] = [:]
        /// Policies applying to each workload interface, per direction (built once: O(policies × selected)).
        var policiesByWorkload: [String: [ACLDirection: [ACLPolicy]]] = [:]

        init(input: ACLInput) {
            self.input = input
            s = input.settings
            model = NFTModel(table: input.settings.tableName)
        }

        var bothMarks: UInt32 { s.acceptMark | s.passMark }

        // MARK: Validation

        mutating func validate() throws(ACLRenderError) {
            if s.tableName.isEmpty || !s.tableName.unicodeScalars.allSatisfy(ACLNames.isIdentifierScalar) {
                throw .init(field: "settings.tableName", reason: "'\(s.tableName)' is not a valid nft table name")
            }
            if s.interfacePrefix.isEmpty || !ACLNames.isValidInterface(s.interfacePrefix) {
                throw .init(field: "settings.interfacePrefix", reason: "'\(s.interfacePrefix)' is not a valid interface prefix")
            }
            if s.acceptMark == 0 || s.passMark == 0 || s.acceptMark & s.passMark != 0 {
                throw .init(field: "settings.acceptMark/passMark", reason: "must be non-zero and share no bits")
            }
            for (i, w) in input.workloads.enumerated() {
                guard ACLNames.isValidInterface(w.interface) else {
                    throw .init(field: "workloads[\(i)].interface", reason: "'\(w.interface)' is not a valid interface name")
                }
                guard w.interface.hasPrefix(s.interfacePrefix), w.interface != s.interfacePrefix else {
                    throw .init(field: "workloads[\(i)].interface",
                                reason: "'\(w.interface)' does not start with the workload prefix '\(s.interfacePrefix)'")
                }
                guard workloadsByName.updateValue(w, forKey: w.interface) == nil else {
                    throw .init(field: "workloads[\(i)].interface", reason: "duplicate interface '\(w.interface)'")
                }
            }
            tiers[ACLTier.default.name] = .default
            for (i, t) in input.tiers.enumerated() {
                guard !t.name.isEmpty else { throw .init(field: "tiers[\(i)].name", reason: "empty") }
                tiers[t.name] = t
            }
            var names = Set<String>()
            for (i, p) in input.policies.enumerated() {
                let f = "policies[\(i)] (\(p.name))"
                guard !p.name.isEmpty else { throw .init(field: "policies[\(i)].name", reason: "empty") }
                guard names.insert(p.name).inserted else { throw .init(field: f + ".name", reason: "duplicate policy name") }
                guard tiers[p.tier] != nil else { throw .init(field: f + ".tier", reason: "unknown tier '\(p.tier)'") }
                for w in p.selects.sorted() where workloadsByName[w] == nil {
                    throw .init(field: f + ".selects", reason: "unknown workload interface '\(w)'")
                }
                for (j, rule) in p.ingress.enumerated() { try validate(rule, field: f + ".ingress[\(j)]") }
                for (j, rule) in p.egress.enumerated() { try validate(rule, field: f + ".egress[\(j)]") }
            }
        }

        func validate(_ r: ACLRule, field: String) throws(ACLRenderError) {
            if r.source.hasPorts || r.destination.hasPorts {
                guard let p = r.protocol_, [ACLRule.tcp, ACLRule.udp, ACLRule.sctp].contains(p) else {
                    throw .init(field: field + ".protocol", reason: "ports require protocol TCP, UDP or SCTP")
                }
            }
            let nets = r.source.nets + r.source.notNets + r.destination.nets + r.destination.notNets
            let fams = Set(nets.map(\.family))
            if fams.count > 1 { throw .init(field: field, reason: "mixes IPv4 and IPv6 networks") }
            if let v = r.ipVersion, let f = fams.first, f != v {
                throw .init(field: field + ".ipVersion", reason: "is \(v) but the rule's networks are \(f)")
            }
            for n in r.source.notNets + r.destination.notNets where n.length == 0 {
                throw .init(field: field + ".notNets", reason: "\(n) would match nothing")
            }
            for pr in r.source.ports + r.source.notPorts + r.destination.ports + r.destination.notPorts
            where pr.first > pr.last {
                throw .init(field: field + ".ports", reason: "range \(pr.first)-\(pr.last) is backwards")
            }
            if r.icmp != nil || r.notICMP != nil {
                guard let v = r.ipVersion else {
                    throw .init(field: field + ".icmp", reason: "ICMP matches require ipVersion")
                }
                let want = v == .v4 ? ACLRule.icmpV4 : ACLRule.icmpV6
                if let p = r.protocol_, p != want {
                    throw .init(field: field + ".protocol", reason: "ICMP matches need protocol \(ACLNames.protocolName(want))")
                }
            }
            for id in [r.source.selector, r.source.notSelector, r.destination.selector, r.destination.notSelector]
            where id != nil && input.ipSets[id!] == nil {
                throw .init(field: field + ".selector", reason: "IP set \(id!) is not in the input's ipSets")
            }
        }

        // MARK: Policies

        /// Policies applying to each (workload, direction), grouped by tier in evaluation order.
        func tierPlan(for iface: String, _ dir: ACLDirection) -> [(ACLTier, [ACLPolicy])] {
            var byTier: [String: [ACLPolicy]] = [:]
            for p in policiesByWorkload[iface]?[dir] ?? [] {
                byTier[p.tier, default: []].append(p)
            }
            let orderedTiers = byTier.keys.map { tiers[$0]! }.sorted {
                ($0.order ?? .infinity, $0.name) < ($1.order ?? .infinity, $1.name)
            }
            return orderedTiers.map { t in
                (t, byTier[t.name]!.sorted { ($0.order ?? .infinity, $0.name) < ($1.order ?? .infinity, $1.name) })
            }
        }

        mutating func renderPolicies() throws(ACLRenderError) {
            for p in input.policies {
                for iface in p.selects {
                    for dir in p.types { policiesByWorkload[iface, default: [:]][dir, default: []].append(p) }
                }
                for dir in ACLDirection.allCases where p.types.contains(dir) && !p.selects.isEmpty {
                    let name = ACLNames.policy(p.name, dir)
                    var rules: [NFTRule] = []
                    for (i, rule) in (dir == .ingress ? p.ingress : p.egress).enumerated() {
                        let comment = "\(p.name) \(dir == .ingress ? "ingress" : "egress") rule \(i)"
                        rules += try lower(rule, policy: p.name, comment: comment)
                    }
                    model.chains[name] = NFTChain(name: name, rules: rules)
                }
            }
        }

        /// One ACLRule → one nft rule per address family it needs.
        mutating func lower(_ r: ACLRule, policy: String, comment: String) throws(ACLRenderError) -> [NFTRule] {
            let nets = r.source.nets + r.source.notNets + r.destination.nets + r.destination.notNets
            let usesSelectors = [r.source.selector, r.source.notSelector, r.destination.selector, r.destination.notSelector]
                .contains { $0 != nil }
            let families: [IPFamily?] =
                if let v = r.ipVersion { [v] }
                else if let f = nets.first?.family { [f] }
                else if usesSelectors { [.v4, .v6] }
                else { [nil] }

            let (statements, verdict): ([NFTStatement], NFTVerdict?) =
                switch r.action {
                case .allow: ([.setMark(clear: 0, set: s.acceptMark)], .return)
                case .pass: ([.setMark(clear: 0, set: s.passMark)], .return)
                case .deny: ([], .drop)
                case .log: ([.log(prefix: logPrefix(policy))], nil)
                }
            var out: [NFTRule] = []
            for fam in families {
                var m: [NFTMatch] = []
                if let f = fam { m.append(.nfproto(f)) }
                if let p = r.protocol_ { m.append(.l4proto(p, negated: false)) }
                if let p = r.notProtocol { m.append(.l4proto(p, negated: true)) }
                if let f = fam, r.icmp != nil || r.notICMP != nil {
                    if r.protocol_ == nil { m.append(.l4proto(f == .v4 ? ACLRule.icmpV4 : ACLRule.icmpV6, negated: false)) }
                    if let i = r.icmp { m.append(.icmp(f, type: i.type, code: i.code, negated: false)) }
                    if let i = r.notICMP { m.append(.icmp(f, type: i.type, code: i.code, negated: true)) }
                }
                m += entity(r.source, .source, fam)
                m += entity(r.destination, .destination, fam)
                out.append(NFTRule(m, statements, verdict, comment: comment))
            }
            return out
        }

        /// nft log prefixes are at most 127 bytes.
        func logPrefix(_ policy: String) -> String {
            var p = s.logPrefix + " " + policy
            while p.utf8.count > 120 { p.removeLast() }
            return p
        }

        mutating func entity(_ e: ACLEntityMatch, _ side: NFTAddressField.Side, _ fam: IPFamily?) -> [NFTMatch] {
            var m: [NFTMatch] = []
            if let f = fam {
                if !e.nets.isEmpty { m.append(.address(.init(side, f), netValue(e.nets, f), negated: false)) }
                if !e.notNets.isEmpty { m.append(.address(.init(side, f), netValue(e.notNets, f), negated: true)) }
                if let id = e.selector { m.append(.address(.init(side, f), .set(ipSet(id, f)), negated: false)) }
                if let id = e.notSelector { m.append(.address(.init(side, f), .set(ipSet(id, f)), negated: true)) }
            }
            if !e.ports.isEmpty { m.append(.port(side, portValue(e.ports), negated: false)) }
            if !e.notPorts.isEmpty { m.append(.port(side, portValue(e.notPorts), negated: true)) }
            return m
        }

        /// A selector's IP set, created on first use with the members of that family.
        mutating func ipSet(_ id: ACLIPSetID, _ f: IPFamily) -> String {
            let name = ACLNames.ipSet(id, f)
            if model.sets[name] == nil {
                let members = (input.ipSets[id] ?? []).filter { $0.family == f }
                model.sets[name] = NFTSet(name: name, keyType: f == .v4 ? .ipv4Addr : .ipv6Addr, mutable: true,
                                          elements: Set(members.map(NFTSetElement.address)))
            }
            return name
        }

        /// One prefix is compared directly; several become a constant interval set.
        mutating func netValue(_ nets: [IPPrefix], _ f: IPFamily) -> NFTAddressValue {
            let ranges = ACLIntervals.merge(nets.map(ACLIntervals.range))
            if nets.count == 1 { return .prefix(nets[0]) }
            let key = ACLRenderer.contentKey(ranges)
            let name = ACLNames.netSet(f, contentKey: key)
            if model.sets[name] == nil {
                model.sets[name] = NFTSet(name: name, keyType: f == .v4 ? .ipv4Addr : .ipv6Addr, interval: true,
                                          mutable: false,
                                          elements: Set(ranges.map { NFTSetElement(key: $0.first, keyLast: $0.last) }))
            }
            return .set(name)
        }

        mutating func portValue(_ ports: [ACLPortRange]) -> NFTPortValue {
            let ranges = ACLIntervals.merge(ports.map { (first: be16($0.first), last: be16($0.last)) })
            if ranges.count == 1 {
                let r = ranges[0]
                return .range(ACLPortRange(UInt16(r.first[0]) << 8 | UInt16(r.first[1]),
                                           UInt16(r.last[0]) << 8 | UInt16(r.last[1])))
            }
            let key = ACLRenderer.contentKey(ranges)
            let name = ACLNames.portSet(contentKey: key)
            if model.sets[name] == nil {
                model.sets[name] = NFTSet(name: name, keyType: .inetService, interval: true, mutable: false,
                                          elements: Set(ranges.map { NFTSetElement(key: $0.first, keyLast: $0.last) }))
            }
            return .set(name)
        }

        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    }
}

/// Inclusive big-endian byte ranges, merged so that no two overlap or touch (what an nft
/// interval set must hold).
public enum ACLIntervals {
    public typealias Range = (first: [UInt8], last: [UInt8])

    public static func range(_ p: IPPrefix) -> Range {
        let first = p.address.bytes
        var last = first
        let width = p.family.bitWidth
        for bit in p.length..<width { last[bit / 8] |= UInt8(0x80 >> (bit % 8)) }
        return (first, last)
    }

    public static func merge(_ input: [Range]) -> [Range] {
        let sorted = input.sorted { $0.first.lexicographicallyPrecedes($1.first) }
        var out: [Range] = []
        for r in sorted {
            if let prev = out.last {
                // Overlapping or touching (r.first <= prev.last + 1) ranges merge.
                guard let next = successor(prev.last) else { continue }  // prev reaches the top
                if !next.lexicographicallyPrecedes(r.first) {
                    if prev.last.lexicographicallyPrecedes(r.last) { out[out.count - 1].last = r.last }
                    continue
                }
            }
            out.append(r)
        }
        return out
    }

    /// The next value, or nil on overflow.
    public static func successor(_ b: [UInt8]) -> [UInt8]? {
        var b = b
        var i = b.count - 1
        while i >= 0 {
            if b[i] == 0xff { b[i] = 0; i -= 1 } else { b[i] += 1; return b }
        }
        return nil
    }
}
