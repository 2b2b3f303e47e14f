import CNFTables
import Dataplane
@preconcurrency import Glibc

// Each plan operation as nf_tables netlink messages in the batch.

extension NFTBatchBuffer {
    static let elementsPerMessage = 256

    func add(_ op: NFTOperation, table: String) {
        switch op {
        case .addTable:
            message(NFT_MSG_NEWTABLE, flags: NLM_F_CREATE, what: "add table inet \(table)") { nlh in
                let t = nftnl_table_alloc()!
                defer { nftnl_table_free(t) }
                nftnl_table_set_u32(t, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(NFPROTO_INET))
                nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), table)
                nftnl_table_nlmsg_build_payload(nlh, t)
            }
        case .addSet(let s):
            message(NFT_MSG_NEWSET, flags: NLM_F_CREATE, what: "add set \(s.name)") { nlh in
                let set = NFTBatchBuffer.set(s, table: table)
                defer { nftnl_set_free(set) }
                var flags: UInt32 = 0
                if s.interval { flags |= UInt32(NFT_SET_INTERVAL.rawValue) }
                if s.isVerdictMap { flags |= UInt32(NFT_SET_MAP.rawValue) }
                nftnl_set_set_u32(set, UInt16(NFTNL_SET_FLAGS.rawValue), flags)
                // The kernel requires a transaction-local set id on NEWSET.
                nftnl_set_set_u32(set, UInt16(NFTNL_SET_ID.rawValue), self.lastSeq &+ 1)
                nftnl_set_set_u32(set, UInt16(NFTNL_SET_KEY_TYPE.rawValue), s.keyType.datatype)
                nftnl_set_set_u32(set, UInt16(NFTNL_SET_KEY_LEN.rawValue), UInt32(s.keyType.length))
                if s.isVerdictMap {
                    nftnl_set_set_u32(set, UInt16(NFTNL_SET_DATA_TYPE.rawValue), NFT_DATA_VERDICT.rawValue)
                    nftnl_set_set_u32(set, UInt16(NFTNL_SET_DATA_LEN.rawValue), 0)
                }
                if s.keyType == .ifname {
                    // nft prints string keys only when told they are host byte order.
                    let ud = nftnl_udata_buf_alloc(64)!
                    defer { nftnl_udata_buf_free(ud) }
                    _ = nftnl_udata_put_u32(ud, UInt8(NFTNL_UDATA_SET_KEYBYTEORDER.rawValue), 1 /* BYTEORDER_HOST_ENDIAN */)
                    nftnl_set_set_data(set, UInt16(NFTNL_SET_USERDATA.rawValue), nftnl_udata_buf_data(ud),
                                       nftnl_udata_buf_len(ud))
                }
                nftnl_set_nlmsg_build_payload(nlh, set)
            }
        case .deleteSet(let name):
            message(NFT_MSG_DELSET, flags: 0, what: "delete set \(name)") { nlh in
                let set = NFTBatchBuffer.set(NFTSet(name: name, keyType: .ipv4Addr, mutable: true), table: table)
                defer { nftnl_set_free(set) }
                nftnl_set_nlmsg_build_payload(nlh, set)
            }
        case .flushSet(let name):
            message(NFT_MSG_DELSETELEM, flags: 0, what: "flush set \(name)") { nlh in
                // No element list: the kernel removes every element.
                mnl_attr_put_strz(nlh, UInt16(NFTA_SET_ELEM_LIST_TABLE.rawValue), table)
                mnl_attr_put_strz(nlh, UInt16(NFTA_SET_ELEM_LIST_SET.rawValue), name)
            }
        case .addElements(let s, let elements):
            elementMessages(NFT_MSG_NEWSETELEM, flags: NLM_F_CREATE, s, elements, table: table, verb: "add")
        case .deleteElements(let s, let elements):
            elementMessages(NFT_MSG_DELSETELEM, flags: 0, s, elements, table: table, verb: "delete")
        case .addChain(let c):
            message(NFT_MSG_NEWCHAIN, flags: NLM_F_CREATE, what: "add chain \(c.name)") { nlh in
                let ch = NFTBatchBuffer.chain(c.name, table: table)
                defer { nftnl_chain_free(ch) }
                if let h = c.hook {
                    let hooknum: Int32 = switch h.point {
                    case .prerouting: Int32(NF_INET_PRE_ROUTING.rawValue)
                    case .input: Int32(NF_INET_LOCAL_IN.rawValue)
                    case .forward: Int32(NF_INET_FORWARD.rawValue)
                    case .output: Int32(NF_INET_LOCAL_OUT.rawValue)
                    case .postrouting: Int32(NF_INET_POST_ROUTING.rawValue)
                    }
                    nftnl_chain_set_u32(ch, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), UInt32(hooknum))
                    nftnl_chain_set_s32(ch, UInt16(NFTNL_CHAIN_PRIO.rawValue), h.priority)
                    nftnl_chain_set_str(ch, UInt16(NFTNL_CHAIN_TYPE.rawValue), h.type.rawValue)
                    nftnl_chain_set_u32(ch, UInt16(NFTNL_CHAIN_POLICY.rawValue), UInt32(h.policyAccept ? NF_ACCEPT : NF_DROP))
                }
                nftnl_chain_nlmsg_build_payload(nlh, ch)
            }
        case .flushChain(let name):
            message(NFT_MSG_DELRULE, flags: 0, what: "flush chain \(name)") { nlh in
                let r = NFTBatchBuffer.rule(table: table, chain: name)
                defer { nftnl_rule_free(r) }
                nftnl_rule_nlmsg_build_payload(nlh, r)
            }
        case .deleteChain(let name):
            message(NFT_MSG_DELCHAIN, flags: 0, what: "delete chain \(name)") { nlh in
                let ch = NFTBatchBuffer.chain(name, table: table)
                defer { nftnl_chain_free(ch) }
                nftnl_chain_nlmsg_build_payload(nlh, ch)
            }
        case .addRules(let chain, let rules):
            for (i, rule) in rules.enumerated() {
                message(NFT_MSG_NEWRULE, flags: NLM_F_CREATE | NLM_F_APPEND, what: "add rule \(i) to chain \(chain)") { nlh in
                    let r = NFTLowering.rule(rule, table: table, chain: chain)
                    defer { nftnl_rule_free(r) }
                    nftnl_rule_nlmsg_build_payload(nlh, r)
                }
            }
        }
    }

    private func elementMessages(_ type: nf_tables_msg_types, flags: Int32, _ s: NFTSet, _ elements: [NFTSetElement],
                                 table: String, verb: String) {
        var start = 0
        while start < elements.count {
            let chunk = elements[start..<min(start + NFTBatchBuffer.elementsPerMessage, elements.count)]
            message(type, flags: flags, what: "\(verb) \(chunk.count) elements of set \(s.name)") { nlh in
                let set = NFTBatchBuffer.set(s, table: table)
                defer { nftnl_set_free(set) }
                for e in chunk { NFTBatchBuffer.addElement(e, of: s, to: set, withData: type == NFT_MSG_NEWSETELEM) }
                nftnl_set_elems_nlmsg_build_payload(nlh, set)
            }
            start += NFTBatchBuffer.elementsPerMessage
        }
    }

    /// Interval sets hold each range as a start element and an end element (first key past the
    /// range, flagged NFT_SET_ELEM_INTERVAL_END), as nft sends them to the rbtree backend.
    private static func addElement(_ e: NFTSetElement, of s: NFTSet, to set: OpaquePointer, withData: Bool) {
        func put(_ key: [UInt8], end: Bool) {
            let el = nftnl_set_elem_alloc()!
            key.withUnsafeBytes { _ = nftnl_set_elem_set(el, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count)) }
            if end { nftnl_set_elem_set_u32(el, UInt16(NFTNL_SET_ELEM_FLAGS), UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue)) }
            if withData, !end, let v = e.verdict {
                let (code, chain) = NFTLowering.elementVerdict(v)
                nftnl_set_elem_set_u32(el, UInt16(NFTNL_SET_ELEM_VERDICT), UInt32(bitPattern: code))
                if let chain { nftnl_set_elem_set_str(el, UInt16(NFTNL_SET_ELEM_CHAIN), chain) }
            }
            nftnl_set_elem_add(set, el)  // the set takes ownership
        }
        put(e.key, end: false)
        if s.interval, let last = e.keyLast ?? Optional(e.key), let next = ACLIntervals.successor(last) {
            put(next, end: true)
        }
    }

    static func set(_ s: NFTSet, table: String) -> OpaquePointer {
        let set = nftnl_set_alloc()!
        nftnl_set_set_u32(set, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(NFPROTO_INET))
        nftnl_set_set_str(set, UInt16(NFTNL_SET_TABLE.rawValue), table)
        nftnl_set_set_str(set, UInt16(NFTNL_SET_NAME.rawValue), s.name)
        return set
    }

    static func chain(_ name: String, table: String) -> OpaquePointer {
        let ch = nftnl_chain_alloc()!
        nftnl_chain_set_u32(ch, UInt16(NFTNL_CHAIN_FAMILY.rawValue), UInt32(NFPROTO_INET))
        nftnl_chain_set_str(ch, UInt16(NFTNL_CHAIN_TABLE.rawValue), table)
        nftnl_chain_set_str(ch, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
        return ch
    }

    static func rule(table: String, chain: String) -> OpaquePointer {
        let r = nftnl_rule_alloc()!
        nftnl_rule_set_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(NFPROTO_INET))
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table)
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
        return r
    }
}
