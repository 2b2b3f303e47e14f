import CNFTables
import Dataplane
@preconcurrency import Glibc

/// What one apply sent to the kernel.
public struct NFTApplyReport: Hashable, Sendable {
    /// Plan operations (0: the kernel already matched the model and nothing was sent).
    public var operations: Int
    /// Netlink messages in the batch, begin and end included.
    public var messages: Int
    public var bytes: Int
    /// True when the plan was computed from a read-back of the kernel table (first apply,
    /// after a failure, or `rebuild`), false when diffed against the last applied model.
    public var fromReadBack: Bool
    /// Chains and sets the batch touched.
    public var touched: Set<String>
}

/// Programs Twill's nft table (`inet <table>`) through libnftnl/libmnl: every apply is one
/// atomic netlink batch computed by `NFTPlan` from the desired `NFTModel`. Only the named table
/// is ever created, changed, read or deleted.
///
/// The first apply (and the one after any failure) reads the table back from the kernel and
/// resyncs: stale chains and sets left by an earlier run are removed, the rest is rewritten in
/// the same batch. Later applies diff against the last model the kernel accepted, so an
/// unchanged model sends nothing. Not Sendable: confine to the dataplane queue.
public final class NFTablesACL {
    public let table: String
    let socket: NFTSocket
    /// The model the kernel holds, when known.
    public private(set) var applied: NFTModel?

    public init(table: String, socket: NFTSocket) {
        self.table = table
        self.socket = socket
    }

    /// Renders and applies an ACL input.
    @discardableResult
    public func apply(_ input: ACLInput) throws -> NFTApplyReport {
        precondition(input.settings.tableName == table, "input renders table \(input.settings.tableName), not \(table)")
        return try apply(ACLRenderer.render(input))
    }

    /// Brings the kernel table to `desired` in one batch.
    @discardableResult
    public func apply(_ desired: NFTModel) throws(NFTError) -> NFTApplyReport {
        precondition(desired.table == table, "model is for table \(desired.table), not \(table)")
        let fromReadBack = applied == nil
        let plan: NFTPlan
        if let applied {
            plan = NFTPlan.diff(from: applied, to: desired)
        } else if let observed = try readBack() {
            plan = NFTPlan.resync(observed: observed, to: desired)
        } else {
            plan = NFTPlan.diff(from: nil, to: desired)
        }
        return try execute(plan, desired, fromReadBack: fromReadBack)
    }

    /// Forgets what it believes the kernel holds and resyncs from a read-back (Felix's periodic
    /// refresh, or recovery after someone edited our table).
    @discardableResult
    public func rebuild(_ desired: NFTModel) throws(NFTError) -> NFTApplyReport {
        applied = nil
        return try apply(desired)
    }

    /// Sends a precomputed plan. On failure the kernel rolled back; the next apply re-reads.
    func execute(_ plan: NFTPlan, _ desired: NFTModel, fromReadBack: Bool) throws(NFTError) -> NFTApplyReport {
        guard !plan.isEmpty else {
            applied = desired
            return NFTApplyReport(operations: 0, messages: 0, bytes: 0, fromReadBack: fromReadBack, touched: [])
        }
        let batch = NFTBatchBuffer(firstSeq: socket.takeSeq(0))
        batch.begin()
        for op in plan.operations { batch.add(op, table: table) }
        let ackSeq = batch.lastSeq
        // Only the last real message asks for an ACK (see NFTSocket.commit).
        markAck(batch, seq: ackSeq)
        batch.end()
        _ = socket.takeSeq(UInt32(batch.messageCount))
        do {
            try socket.commit(batch, ackSeq: ackSeq)
        } catch {
            applied = nil
            throw error
        }
        applied = desired
        return NFTApplyReport(operations: plan.operations.count, messages: batch.messageCount, bytes: batch.length,
                              fromReadBack: fromReadBack, touched: plan.touchedObjects)
    }

    private func markAck(_ batch: NFTBatchBuffer, seq: UInt32) {
        var cursor: UnsafeRawPointer? = UnsafeRawPointer(batch.base)
        var remaining = batch.length
        while let nlh = twill_nft_next(&cursor, &remaining) {
            if nlh.pointee.nlmsg_seq == seq {
                UnsafeMutablePointer(mutating: nlh).pointee.nlmsg_flags |= UInt16(NLM_F_ACK)
                return
            }
        }
    }

    /// Deletes Twill's table (agent uninstall). Nothing else is touched.
    public func deleteTable() throws(NFTError) {
        let batch = NFTBatchBuffer(firstSeq: socket.takeSeq(0))
        batch.begin()
        batch.message(NFT_MSG_DELTABLE, flags: NLM_F_ACK, what: "delete table inet \(table)") { nlh in
            let t = nftnl_table_alloc()!
            defer { nftnl_table_free(t) }
            nftnl_table_set_u32(t, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(NFPROTO_INET))
            nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), table)
            nftnl_table_nlmsg_build_payload(nlh, t)
        }
        let ackSeq = batch.lastSeq
        batch.end()
        _ = socket.takeSeq(UInt32(batch.messageCount))
        applied = nil
        do { try socket.commit(batch, ackSeq: ackSeq) } catch {
            if case .rejected(_, ENOENT, _) = error { return }
            throw error
        }
    }

    // MARK: Read-back

    /// Chains (names, hooks) and sets (definitions) of our table, or nil when it does not exist.
    public func readBack() throws(NFTError) -> NFTObservedTable? {
        let table = self.table
        let exists = try socket.request("get table inet \(table)", type: NFT_MSG_GETTABLE, flags: NLM_F_ACK,
                                        payload: { nlh in
            let t = nftnl_table_alloc()!
            defer { nftnl_table_free(t) }
            nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), table)
            nftnl_table_nlmsg_build_payload(nlh, t)
        }, body: { _ throws(NFTError) in })
        guard exists else { return nil }
        var observed = NFTObservedTable()
        _ = try socket.request("list chains of inet \(table)", type: NFT_MSG_GETCHAIN, flags: NLM_F_DUMP,
                               payload: { nlh in
            let c = NFTBatchBuffer.chain("", table: table)
            nftnl_chain_unset(c, UInt16(NFTNL_CHAIN_NAME.rawValue))
            defer { nftnl_chain_free(c) }
            nftnl_chain_nlmsg_build_payload(nlh, c)
        }, body: { nlh throws(NFTError) in
            guard nlh.pointee.nlmsg_type == twill_nft_msg_type(UInt16(NFT_MSG_NEWCHAIN.rawValue)) else { return }
            let c = nftnl_chain_alloc()!
            defer { nftnl_chain_free(c) }
            guard nftnl_chain_nlmsg_parse(nlh, c) >= 0 else { throw NFTError.malformed("chain message") }
            guard String(cString: nftnl_chain_get_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue))) == table,
                  nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_FAMILY.rawValue)) == UInt32(NFPROTO_INET) else { return }
            let name = String(cString: nftnl_chain_get_str(c, UInt16(NFTNL_CHAIN_NAME.rawValue)))
            observed.chains[name] = NFTablesACL.hook(of: c)
        })
        _ = try socket.request("list sets of inet \(table)", type: NFT_MSG_GETSET, flags: NLM_F_DUMP,
                               payload: { nlh in
            let s = nftnl_set_alloc()!
            defer { nftnl_set_free(s) }
            nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table)
            nftnl_set_nlmsg_build_payload(nlh, s)
        }, body: { nlh throws(NFTError) in
            guard nlh.pointee.nlmsg_type == twill_nft_msg_type(UInt16(NFT_MSG_NEWSET.rawValue)) else { return }
            let s = nftnl_set_alloc()!
            defer { nftnl_set_free(s) }
            guard nftnl_set_nlmsg_parse(nlh, s) >= 0 else { throw NFTError.malformed("set message") }
            guard String(cString: nftnl_set_get_str(s, UInt16(NFTNL_SET_TABLE.rawValue))) == table,
                  nftnl_set_get_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue)) == UInt32(NFPROTO_INET) else { return }
            let name = String(cString: nftnl_set_get_str(s, UInt16(NFTNL_SET_NAME.rawValue)))
            let flags = nftnl_set_get_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue))
            let datatype = nftnl_set_get_u32(s, UInt16(NFTNL_SET_KEY_TYPE.rawValue))
            let keyType: NFTKeyType? = [NFTKeyType.ipv4Addr, .ipv6Addr, .inetService, .ifname].first { $0.datatype == datatype }
            // An unknown key type gets a definition no desired set has, so it is replaced.
            observed.sets[name] = NFTSet(name: name, keyType: keyType ?? .ifname,
                                         interval: flags & UInt32(NFT_SET_INTERVAL.rawValue) != 0,
                                         isVerdictMap: keyType == nil || flags & UInt32(NFT_SET_MAP.rawValue) != 0,
                                         mutable: true)
        })
        return observed
    }

    static func hook(of c: OpaquePointer) -> NFTHook? {
        guard nftnl_chain_is_set(c, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue)) else { return nil }
        let point: NFTHook.Point? = switch Int32(nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue))) {
        case Int32(NF_INET_PRE_ROUTING.rawValue): .prerouting
        case Int32(NF_INET_LOCAL_IN.rawValue): .input
        case Int32(NF_INET_FORWARD.rawValue): .forward
        case Int32(NF_INET_LOCAL_OUT.rawValue): .output
        case Int32(NF_INET_POST_ROUTING.rawValue): .postrouting
        default: nil
        }
        let typeName = nftnl_chain_get_str(c, UInt16(NFTNL_CHAIN_TYPE.rawValue)).map { String(cString: $0) } ?? ""
        // A hook or type we never create: report something no desired chain equals, so it is replaced.
        guard let point, let type = NFTHook.ChainType(rawValue: typeName) else {
            return NFTHook(.filter, .prerouting, priority: Int32.min)
        }
        let policy = nftnl_chain_is_set(c, UInt16(NFTNL_CHAIN_POLICY.rawValue))
            ? nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_POLICY.rawValue)) : UInt32(NF_ACCEPT)
        return NFTHook(type, point, priority: nftnl_chain_get_s32(c, UInt16(NFTNL_CHAIN_PRIO.rawValue)),
                       policyAccept: policy == UInt32(NF_ACCEPT))
    }
}
