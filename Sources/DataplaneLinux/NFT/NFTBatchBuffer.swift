import CNFTables
@preconcurrency import Glibc

/// A growable, contiguous buffer of netlink messages forming one nf_tables transaction
/// (`nftnl_batch_begin` … `nftnl_batch_end`). The kernel applies a batch only if it arrives in
/// one `sendmsg`, so it is never split; the socket's send buffer is raised to fit instead.
/// Not Sendable: owned by one programmer, used on one thread.
final class NFTBatchBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    private(set) var length = 0
    private(set) var nextSeq: UInt32
    /// What each sequence number was, for naming the object the kernel refuses.
    private(set) var operations: [UInt32: String] = [:]
    private(set) var messageCount = 0
    /// Room kept free before building a message: element lists are chunked to stay below it.
    static let headroom = 128 * 1024

    init(firstSeq: UInt32, capacity: Int = 1 << 20) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        nextSeq = firstSeq
    }

    deinit { base.deallocate() }

    private func reserve() {
        guard capacity - length < NFTBatchBuffer.headroom else { return }
        let newCapacity = capacity * 2
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        grown.copyMemory(from: base, byteCount: length)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }

    private var cursor: UnsafeMutablePointer<CChar> {
        (base + length).assumingMemoryBound(to: CChar.self)
    }

    private func commit(_ nlh: UnsafeMutablePointer<nlmsghdr>, _ what: String, seq: UInt32) {
        let len = Int(twill_nft_aligned_len(nlh))
        precondition(length + len <= capacity, "netlink message overran the batch buffer")
        length += len
        operations[seq] = what
        messageCount += 1
    }

    func begin() {
        reserve()
        let seq = takeSeq()
        let nlh = nftnl_batch_begin(cursor, seq)!
        commit(nlh, "batch begin", seq: seq)
    }

    func end() {
        reserve()
        let seq = takeSeq()
        let nlh = nftnl_batch_end(cursor, seq)!
        commit(nlh, "batch end", seq: seq)
    }

    private func takeSeq() -> UInt32 {
        defer { nextSeq &+= 1 }
        return nextSeq
    }

    /// Adds one nf_tables message: the header (type, NFPROTO_INET, flags), then `payload`.
    /// Flags always include NLM_F_ACK unless `ack` is false.
    func message(_ type: nf_tables_msg_types, flags: Int32, what: String,
                 payload: (UnsafeMutablePointer<nlmsghdr>) -> Void) {
        reserve()
        let seq = takeSeq()
        let nlh = nftnl_nlmsg_build_hdr(cursor, UInt16(type.rawValue), UInt16(NFPROTO_INET), UInt16(flags), seq)!
        payload(nlh)
        commit(nlh, what, seq: seq)
    }

    var lastSeq: UInt32 { nextSeq &- 1 }
    var firstSeq: UInt32 { nextSeq &- UInt32(messageCount) }
}
