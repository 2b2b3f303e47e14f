import CNFTables
@preconcurrency import Glibc

/// A netfilter netlink socket (libmnl `mnl_socket`, NETLINK_NETFILTER) for one network
/// namespace. The namespace is fixed when the socket opens; later use from any thread stays in it.
/// Not Sendable and not thread-safe: confine it to one queue or thread (STYLE.md (d) 13).
public final class NFTSocket {
    let nl: OpaquePointer
    let portID: UInt32
    private var seq: UInt32
    private var receiveBuffer: [UInt8]
    private var sendBufferSize = 0

    /// Opens the socket in the caller's namespace, or in the namespace at `networkNamespace`
    /// (e.g. `/run/netns/node1`): the calling thread enters it just long enough to create the
    /// socket (`setns`), then returns to its own.
    public init(networkNamespace: String? = nil, timeoutSeconds: Int = 30) throws(NFTError) {
        var restore: Int32 = -1
        if let path = networkNamespace {
            restore = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
            guard restore >= 0 else { throw .system(call: "open(/proc/thread-self/ns/net)", errno: errno) }
            let target = open(path, O_RDONLY | O_CLOEXEC)
            guard target >= 0 else {
                let e = errno
                close(restore)
                throw .system(call: "open(\(path))", errno: e)
            }
            let r = twill_nft_setns_net(target)
            let e = errno
            close(target)
            guard r == 0 else { close(restore); throw .system(call: "setns(\(path))", errno: e) }
        }
        defer {
            if restore >= 0 {
                // Returning to our own namespace cannot fail for a namespace we were just in.
                precondition(twill_nft_setns_net(restore) == 0, "could not return to the original network namespace")
                close(restore)
            }
        }
        guard let nl = mnl_socket_open(NETLINK_NETFILTER) else { throw .system(call: "mnl_socket_open", errno: errno) }
        guard mnl_socket_bind(nl, 0, pid_t(MNL_SOCKET_AUTOPID)) >= 0 else {
            let e = errno
            mnl_socket_close(nl)
            throw .system(call: "mnl_socket_bind", errno: e)
        }
        self.nl = nl
        portID = mnl_socket_get_portid(nl)
        // Sequence numbers only need to differ between requests on this socket.
        seq = UInt32(truncatingIfNeeded: time(nil))
        receiveBuffer = [UInt8](repeating: 0, count: max(twill_nft_socket_buffer_size(), 64 * 1024))
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var rcv: Int32 = 4 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { mnl_socket_close(nl) }

    var fd: Int32 { mnl_socket_get_fd(nl) }

    func takeSeq(_ count: UInt32 = 1) -> UInt32 {
        defer { seq &+= count }
        return seq
    }

    /// Sends one complete batch in one sendmsg and waits for its outcome.
    /// Only the last message carries NLM_F_ACK: on success the kernel answers with that single
    /// ACK; on failure it reports every failed message (and rolls the whole batch back).
    func commit(_ batch: NFTBatchBuffer, ackSeq: UInt32) throws(NFTError) {
        try raiseSendBuffer(to: batch.length)
        let sent = mnl_socket_sendto(nl, batch.base, batch.length)
        guard sent >= 0 else { throw .system(call: "sendto (batch of \(batch.length) bytes)", errno: errno) }
        let beginSeq = batch.firstSeq
        var failures: [(UInt32, Int32)] = []
        var done = false
        while !done {
            let n = try receive(what: "the batch")
            try walk(n) { nlh throws(NFTError) in
                var err: Int32 = 0, s: UInt32 = 0
                guard twill_nft_error_of(nlh, &err, &s) == 1 else { return }
                if err != 0 { failures.append((s, -err)) }
                if s == ackSeq || s == beginSeq { done = true }
            }
        }
        if let first = failures.min(by: { $0.0 < $1.0 }) {
            throw .rejected(operation: batch.operations[first.0] ?? "message \(first.0)", errno: first.1,
                            failures: failures.count)
        }
    }

    /// Sends one request (a dump or a get) and hands every answer message to `body` until
    /// NLMSG_DONE (dumps) or the answer (gets). A kernel error becomes `.system(call: what, …)`,
    /// except ENOENT, which `body` sees as the end (nothing to list).
    /// Returns false when the kernel answered ENOENT.
    func request(_ what: String, type: nf_tables_msg_types, flags: Int32,
                 payload: (UnsafeMutablePointer<nlmsghdr>) -> Void,
                 body: (UnsafePointer<nlmsghdr>) throws(NFTError) -> Void) throws(NFTError) -> Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        let s = takeSeq()
        let sent: Int = buf.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            let nlh = nftnl_nlmsg_build_hdr(p, UInt16(type.rawValue), UInt16(NFPROTO_INET), UInt16(flags), s)!
            payload(nlh)
            return mnl_socket_sendto(nl, raw.baseAddress, Int(nlh.pointee.nlmsg_len))
        }
        guard sent >= 0 else { throw .system(call: "sendto (\(what))", errno: errno) }
        let isDump = flags & NLM_F_DUMP == NLM_F_DUMP
        var finished = false
        var found = true
        while !finished {
            let n = try receive(what: what)
            try walk(n) { nlh throws(NFTError) in
                guard nlh.pointee.nlmsg_seq == s, !finished else { return }
                if nlh.pointee.nlmsg_type == UInt16(NLMSG_DONE) { finished = true; return }
                var err: Int32 = 0, es: UInt32 = 0
                if twill_nft_error_of(nlh, &err, &es) == 1 {
                    if err == -ENOENT { found = false; finished = true; return }
                    if err != 0 { throw NFTError.system(call: what, errno: -err) }
                    finished = true
                    return
                }
                try body(nlh)
                if !isDump { finished = true }
            }
        }
        return found
    }

    private func receive(what: String) throws(NFTError) -> Int {
        while true {
            let n = receiveBuffer.withUnsafeMutableBytes { mnl_socket_recvfrom(nl, $0.baseAddress, $0.count) }
            if n >= 0 { return n }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { throw .noAnswer(what) }
            throw .system(call: "recvfrom (\(what))", errno: e)
        }
    }

    private func walk(_ n: Int, _ each: (UnsafePointer<nlmsghdr>) throws(NFTError) -> Void) throws(NFTError) {
        let failure: NFTError? = receiveBuffer.withUnsafeBytes { raw in
            var cursor: UnsafeRawPointer? = raw.baseAddress
            var remaining = n
            while let nlh = twill_nft_next(&cursor, &remaining) {
                do throws(NFTError) { try each(nlh) } catch { return error }
            }
            return nil
        }
        if let failure { throw failure }
    }

    private func raiseSendBuffer(to bytes: Int) throws(NFTError) {
        guard bytes > sendBufferSize else { return }
        var size = Int32(clamping: bytes + 4096)
        if setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0,
           setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw .system(call: "setsockopt(SO_SNDBUF, \(size))", errno: errno)
        }
        sendBufferSize = bytes
    }
}
