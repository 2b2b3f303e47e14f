import CNFTables
import Dataplane
import NetCore
@preconcurrency import Glibc

// Lowers model rules to libnftnl expressions, register by register, as nft itself would:
// loads go to NFT_REG_1 (16 bytes), verdicts to NFT_REG_VERDICT.

enum NFTLowering {
    static let reg1 = UInt32(NFT_REG_1.rawValue)
    static let regVerdict = UInt32(NFT_REG_VERDICT.rawValue)

    /// Builds a libnftnl rule (caller frees with nftnl_rule_free).
    static func rule(_ r: NFTRule, table: String, chain: String) -> OpaquePointer {
        let rule = nftnl_rule_alloc()!
        nftnl_rule_set_u32(rule, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(NFPROTO_INET))
        nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), table)
        nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
        for m in r.matches { match(m, into: rule) }
        for s in r.statements { statement(s, into: rule) }
        if let v = r.verdict { verdict(v, into: rule) }
        if let c = r.comment {
            let ud = nftnl_udata_buf_alloc(UInt32(NFT_USERDATA_MAXLEN))!
            let text = String(c.utf8.prefix(120)) ?? c
            if nftnl_udata_put_strz(ud, UInt8(NFTNL_UDATA_RULE_COMMENT.rawValue), text) {
                nftnl_rule_set_data(rule, UInt16(NFTNL_RULE_USERDATA.rawValue), nftnl_udata_buf_data(ud),
                                    nftnl_udata_buf_len(ud))
            }
            nftnl_udata_buf_free(ud)
        }
        return rule
    }

    // MARK: Expression builders

    private static func add(_ rule: OpaquePointer, _ name: String, _ fill: (OpaquePointer) -> Void) {
        let e = nftnl_expr_alloc(name)!
        fill(e)
        nftnl_rule_add_expr(rule, e)  // the rule takes ownership
    }

    private static func u32(_ e: OpaquePointer, _ attr: Int, _ v: UInt32) { nftnl_expr_set_u32(e, UInt16(attr), v) }

    private static func data(_ e: OpaquePointer, _ attr: Int, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = nftnl_expr_set(e, UInt16(attr), $0.baseAddress, UInt32($0.count)) }
    }

    static func meta(_ rule: OpaquePointer, _ key: nft_meta_keys) {
        add(rule, "meta") { e in
            u32(e, NFTNL_EXPR_META_KEY, key.rawValue)
            u32(e, NFTNL_EXPR_META_DREG, reg1)
        }
    }

    static func cmp(_ rule: OpaquePointer, _ op: nft_cmp_ops, _ bytes: [UInt8]) {
        add(rule, "cmp") { e in
            u32(e, NFTNL_EXPR_CMP_SREG, reg1)
            u32(e, NFTNL_EXPR_CMP_OP, op.rawValue)
            data(e, NFTNL_EXPR_CMP_DATA, bytes)
        }
    }

    static func payload(_ rule: OpaquePointer, _ base: nft_payload_bases, offset: UInt32, length: UInt32) {
        add(rule, "payload") { e in
            u32(e, NFTNL_EXPR_PAYLOAD_DREG, reg1)
            u32(e, NFTNL_EXPR_PAYLOAD_BASE, base.rawValue)
            u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset)
            u32(e, NFTNL_EXPR_PAYLOAD_LEN, length)
        }
    }

    /// reg1 = (reg1 & mask) ^ xor over `mask.count` bytes.
    static func bitwise(_ rule: OpaquePointer, mask: [UInt8], xor: [UInt8]) {
        add(rule, "bitwise") { e in
            u32(e, NFTNL_EXPR_BITWISE_SREG, reg1)
            u32(e, NFTNL_EXPR_BITWISE_DREG, reg1)
            u32(e, NFTNL_EXPR_BITWISE_LEN, UInt32(mask.count))
            data(e, NFTNL_EXPR_BITWISE_MASK, mask)
            data(e, NFTNL_EXPR_BITWISE_XOR, xor)
        }
    }

    static func lookup(_ rule: OpaquePointer, set: String, negated: Bool = false, verdictMap: Bool = false) {
        add(rule, "lookup") { e in
            u32(e, NFTNL_EXPR_LOOKUP_SREG, reg1)
            if verdictMap { u32(e, NFTNL_EXPR_LOOKUP_DREG, regVerdict) }
            nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_LOOKUP_SET), set)
            if negated { u32(e, NFTNL_EXPR_LOOKUP_FLAGS, UInt32(NFT_LOOKUP_F_INV.rawValue)) }
        }
    }

    static func range(_ rule: OpaquePointer, negated: Bool, from: [UInt8], to: [UInt8]) {
        add(rule, "range") { e in
            u32(e, NFTNL_EXPR_RANGE_SREG, reg1)
            u32(e, NFTNL_EXPR_RANGE_OP, negated ? NFT_RANGE_NEQ.rawValue : NFT_RANGE_EQ.rawValue)
            data(e, NFTNL_EXPR_RANGE_FROM_DATA, from)
            data(e, NFTNL_EXPR_RANGE_TO_DATA, to)
        }
    }

    static func hostOrder(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }

    /// reg1 = mark-or-ctstate & bits; compare with 0.
    static func bitsTest(_ rule: OpaquePointer, bits: UInt32, anySet: Bool) {
        bitwise(rule, mask: hostOrder(bits), xor: hostOrder(0))
        cmp(rule, anySet ? NFT_CMP_NEQ : NFT_CMP_EQ, hostOrder(0))
    }

    // MARK: Matches

    static func match(_ m: NFTMatch, into r: OpaquePointer) {
        switch m {
        case .nfproto(let f):
            meta(r, NFT_META_NFPROTO)
            cmp(r, NFT_CMP_EQ, [UInt8(f == .v4 ? NFPROTO_IPV4 : NFPROTO_IPV6)])
        case .l4proto(let p, let n):
            meta(r, NFT_META_L4PROTO)
            cmp(r, n ? NFT_CMP_NEQ : NFT_CMP_EQ, [p])
        case .interface(let key, let name, let wildcard, let n):
            meta(r, key == .iifname ? NFT_META_IIFNAME : NFT_META_OIFNAME)
            cmp(r, n ? NFT_CMP_NEQ : NFT_CMP_EQ, wildcard ? Array(name.utf8) : NFTSetElement.ifnameBytes(name))
        case .address(let field, let value, let n):
            let v4 = field.family == .v4
            let offset: UInt32 = v4 ? (field.side == .source ? 12 : 16) : (field.side == .source ? 8 : 24)
            payload(r, NFT_PAYLOAD_NETWORK_HEADER, offset: offset, length: v4 ? 4 : 16)
            switch value {
            case .set(let s): lookup(r, set: s, negated: n)
            case .prefix(let p):
                let width = p.family.bitWidth
                if p.length < width {
                    var mask = [UInt8](repeating: 0, count: width / 8)
                    for bit in 0..<p.length { mask[bit / 8] |= UInt8(0x80 >> (bit % 8)) }
                    bitwise(r, mask: mask, xor: [UInt8](repeating: 0, count: width / 8))
                }
                cmp(r, n ? NFT_CMP_NEQ : NFT_CMP_EQ, p.address.bytes)
            }
        case .port(let side, let value, let n):
            payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, offset: side == .source ? 0 : 2, length: 2)
            switch value {
            case .set(let s): lookup(r, set: s, negated: n)
            case .range(let pr):
                let a = [UInt8(pr.first >> 8), UInt8(pr.first & 0xff)], b = [UInt8(pr.last >> 8), UInt8(pr.last & 0xff)]
                if a == b { cmp(r, n ? NFT_CMP_NEQ : NFT_CMP_EQ, a) } else { range(r, negated: n, from: a, to: b) }
            }
        case .icmp(_, let type, let code, let n):
            if let code, n {
                payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, length: 2)
                cmp(r, NFT_CMP_NEQ, [type, code])
            } else {
                payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, length: 1)
                cmp(r, n ? NFT_CMP_NEQ : NFT_CMP_EQ, [type])
                if let code {
                    payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, offset: 1, length: 1)
                    cmp(r, NFT_CMP_EQ, [code])
                }
            }
        case .icmpTypeRange(_, let a, let b):
            payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, length: 1)
            range(r, negated: false, from: [a], to: [b])
        case .ctState(let st, let n):
            add(r, "ct") { e in
                u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE.rawValue)
                u32(e, NFTNL_EXPR_CT_DREG, reg1)
            }
            bitsTest(r, bits: st.rawValue, anySet: !n)
        case .mark(let bits, let isSet):
            meta(r, NFT_META_MARK)
            bitsTest(r, bits: bits, anySet: isSet)
        }
    }

    // MARK: Statements and verdicts

    static func statement(_ s: NFTStatement, into r: OpaquePointer) {
        switch s {
        case .setMark(let clear, let set):
            meta(r, NFT_META_MARK)
            bitwise(r, mask: hostOrder(~(clear | set)), xor: hostOrder(set))
            add(r, "meta") { e in
                u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK.rawValue)
                u32(e, NFTNL_EXPR_META_SREG, reg1)
            }
        case .log(let prefix):
            add(r, "log") { e in nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_LOG_PREFIX), prefix) }
        case .masquerade:
            add(r, "masq") { e in u32(e, NFTNL_EXPR_MASQ_FLAGS, 0x10 /* NF_NAT_RANGE_PROTO_RANDOM_FULLY */) }
        }
    }

    static func verdict(_ v: NFTVerdict, into r: OpaquePointer) {
        func immediate(_ code: Int32, chain: String? = nil) {
            add(r, "immediate") { e in
                u32(e, NFTNL_EXPR_IMM_DREG, regVerdict)
                u32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: code))
                if let chain { nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_IMM_CHAIN), chain) }
            }
        }
        switch v {
        case .accept: immediate(Int32(NF_ACCEPT))
        case .drop: immediate(Int32(NF_DROP))
        case .return: immediate(NFT_RETURN.rawValue)
        case .jump(let c): immediate(NFT_JUMP.rawValue, chain: c)
        case .goto(let c): immediate(NFT_GOTO.rawValue, chain: c)
        case .vmap(let key, let map):
            meta(r, key == .iifname ? NFT_META_IIFNAME : NFT_META_OIFNAME)
            lookup(r, set: map, verdictMap: true)
        }
    }

    /// The kernel verdict code and chain of a map element's verdict.
    static func elementVerdict(_ v: NFTVerdict) -> (Int32, String?) {
        switch v {
        case .accept: (Int32(NF_ACCEPT), nil)
        case .drop: (Int32(NF_DROP), nil)
        case .return: (NFT_RETURN.rawValue, nil)
        case .jump(let c): (NFT_JUMP.rawValue, c)
        case .goto(let c): (NFT_GOTO.rawValue, c)
        case .vmap: preconditionFailure("a map element cannot hold a vmap lookup")
        }
    }
}
