import NetCore

// `nft -f` text for a model or a plan: for people (docs, debugging) and for the benchmark that
// compares our netlink batch with nft's own. Product code never runs nft.

extension NFTModel {
    /// The whole table as one `nft -f` transaction that (re)creates it from scratch.
    public func script() -> String {
        var o = "table inet \(table)\ndelete table inet \(table)\ntable inet \(table) {\n"
        for s in sets.values.sorted(by: { $0.name < $1.name }) {
            o += "  " + NFTScript.setDeclaration(s, elements: true) + "\n"
        }
        for c in chains.values.sorted(by: { $0.name < $1.name }) {
            o += "  chain \(c.name) {\n"
            if let h = c.hook { o += "    " + NFTScript.hook(h) + "\n" }
            for r in c.rules { o += "    " + NFTScript.rule(r) + "\n" }
            o += "  }\n"
        }
        return o + "}\n"
    }
}

extension NFTPlan {
    /// The plan as `nft -f` text (one transaction).
    public func script() -> String {
        var o = ""
        let t = "inet \(table)"
        for op in operations {
            switch op {
            case .addTable: o += "add table \(t)\n"
            case .addSet(let s): o += "add " + NFTScript.setDeclaration(s, elements: false, table: t) + "\n"
            case .deleteSet(let n): o += "delete set \(t) \(n)\n"
            case .flushSet(let n): o += "flush set \(t) \(n)\n"
            case .addElements(let s, let e):
                o += "add element \(t) \(s.name) { \(e.map { NFTScript.element($0, s) }.joined(separator: ", ")) }\n"
            case .deleteElements(let s, let e):
                var keys = e
                for i in keys.indices { keys[i].verdict = nil }
                o += "delete element \(t) \(s.name) { \(keys.map { NFTScript.element($0, s) }.joined(separator: ", ")) }\n"
            case .addChain(let c):
                o += "add chain \(t) \(c.name)" + (c.hook.map { " { " + NFTScript.hook($0) + " }" } ?? "") + "\n"
            case .flushChain(let n): o += "flush chain \(t) \(n)\n"
            case .deleteChain(let n): o += "delete chain \(t) \(n)\n"
            case .addRules(let c, let rules):
                for r in rules { o += "add rule \(t) \(c) \(NFTScript.rule(r))\n" }
            }
        }
        return o
    }
}

/// Text forms of model pieces, as `nft list ruleset` would print them (near enough to parse back).
public enum NFTScript {
    public static func hook(_ h: NFTHook) -> String {
        "type \(h.type.rawValue) hook \(h.point.rawValue) priority \(h.priority); policy \(h.policyAccept ? "accept" : "drop");"
    }

    static func setDeclaration(_ s: NFTSet, elements: Bool, table: String? = nil) -> String {
        let kind = s.isVerdictMap ? "map" : "set"
        let type = s.isVerdictMap ? "\(s.keyType.rawValue) : verdict" : s.keyType.rawValue
        var o = "\(kind) " + (table.map { $0 + " " } ?? "") + "\(s.name) { type \(type);"
        if s.interval { o += " flags interval;" }
        if elements && !s.elements.isEmpty {
            o += " elements = { " + s.elements.sorted().map { element($0, s) }.joined(separator: ", ") + " };"
        }
        return o + " }"
    }

    public static func element(_ e: NFTSetElement, _ s: NFTSet) -> String {
        var o = key(e.key, s.keyType)
        if let l = e.keyLast, l != e.key { o += "-" + key(l, s.keyType) }
        if let v = e.verdict { o += " : " + verdict(v) }
        return o
    }

    static func key(_ b: [UInt8], _ t: NFTKeyType) -> String {
        switch t {
        case .ipv4Addr: IPv4Address(bytes: b)!.description
        case .ipv6Addr: IPv6Address(bytes: b)!.description
        case .inetService: "\(UInt16(b[0]) << 8 | UInt16(b[1]))"
        case .ifname: "\"" + String(decoding: b.prefix { $0 != 0 }, as: UTF8.self) + "\""
        }
    }

    public static func verdict(_ v: NFTVerdict) -> String {
        switch v {
        case .accept: "accept"
        case .drop: "drop"
        case .return: "return"
        case .jump(let c): "jump \(c)"
        case .goto(let c): "goto \(c)"
        case .vmap(let k, let m): "\(k.rawValue) vmap @\(m)"
        }
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

    public static func match(_ m: NFTMatch) -> String {
        func neg(_ n: Bool) -> String { n ? "!= " : "" }
        switch m {
        case .nfproto(let f): return "meta nfproto \(f == .v4 ? "ipv4" : "ipv6")"
        case .l4proto(let p, let n): return "meta l4proto \(neg(n))\(p)"
        case .interface(let k, let name, let wild, let n): return "\(k.rawValue) \(neg(n))\"\(name)\(wild ? "*" : "")\""
        case .address(let f, let v, let n):
            let field = (f.family == .v4 ? "ip " : "ip6 ") + (f.side == .source ? "saddr" : "daddr")
            switch v {
            case .prefix(let p):
                return "\(field) \(neg(n))" + (p.length == p.family.bitWidth ? p.address.description : p.description)
            case .set(let s): return "\(field) \(neg(n))@\(s)"
            }
        case .port(let side, let v, let n):
            let field = "th " + (side == .source ? "sport" : "dport")
            switch v {
            case .range(let r): return "\(field) \(neg(n))\(r)"
            case .set(let s): return "\(field) \(neg(n))@\(s)"
            }
        case .icmp(let f, let type, let code, let n):
            let p = f == .v4 ? "icmp" : "icmpv6"
            guard let code else { return "\(p) type \(neg(n))\(type)" }
            if !n { return "\(p) type \(type) \(p) code \(code)" }
            return "@th,0,16 != \(UInt16(type) << 8 | UInt16(code))"
        case .icmpTypeRange(let f, let a, let b): return "\(f == .v4 ? "icmp" : "icmpv6") type \(a)-\(b)"
        case .ctState(let st, let n):
            var names: [String] = []
            if st.contains(.invalid) { names.append("invalid") }
            if st.contains(.established) { names.append("established") }
            if st.contains(.related) { names.append("related") }
            if st.contains(.new) { names.append("new") }
            return n ? "ct state & (\(names.joined(separator: "|"))) == 0" : "ct state \(names.joined(separator: ","))"
        case .mark(let bits, let isSet): return "meta mark & \(hex(bits)) \(isSet ? "!=" : "==") 0"
        }
    }

    public static func statement(_ s: NFTStatement) -> String {
        switch s {
        case .setMark(let clear, let set):
            var o = "meta mark set meta mark"
            if clear != 0 { o += " & \(hex(~clear))" }
            if set != 0 { o += " | \(hex(set))" }
            return o
        case .log(let p): return "log prefix \"\(p)\""
        case .masquerade: return "masquerade fully-random"
        }
    }

    public static func rule(_ r: NFTRule) -> String {
        var parts = r.matches.map(match) + r.statements.map(statement)
        if let v = r.verdict { parts.append(verdict(v)) }
        if let c = r.comment { parts.append("comment \"\(c.replacingQuotes())\"") }
        return parts.joined(separator: " ")
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\"" ? "'" : $0 }))
    }
}
