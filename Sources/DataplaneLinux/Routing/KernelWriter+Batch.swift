import CNetlink
import Dataplane
import Glibc

extension RoutingOperation {
    /// Operations sent in batches: many requests per sendmsg, acks matched by sequence number.
    var isBatchable: Bool {
        switch self {
        case .replaceRoute, .deleteRoute, .setNeighbour, .deleteNeighbour, .setFDB, .deleteFDB: true
        default: false
        }
    }
}

extension KernelWriter {
    /// Largest datagram of concatenated requests; the kernel handles each message of it in
    /// turn and acks each one, continuing after a failed one.
    static let batchBytes = 64 * 1024

    /// Performs batchable operations, returning one result per operation (nil = success).
    /// Requests are built with libnl (`*_build_*_request`, `nl_complete_msg` for sequence
    /// number, port and NLM_F_ACK), concatenated, sent with one `send` per batch, and the
    /// NLMSG_ERROR acks are read back and matched by sequence number.
    func performBatch(_ ops: [RoutingOperation], links: inout LinkIndex) -> [NetlinkError?] {
        var results = [NetlinkError?](repeating: nil, count: ops.count)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.batchBytes + 4096)
        var pending: [UInt32: Int] = [:]   // seq → op index

        func flush() {
            guard !buffer.isEmpty else { return }
            let sent = buffer.withUnsafeBytes { Glibc.send(socket.fileDescriptor, $0.baseAddress, $0.count, 0) }
            if sent != buffer.count {
                let err = NetlinkError(errno: errno, operation: "send netlink batch")
                for (_, i) in pending { results[i] = err }
                pending = [:]
            }
            buffer.removeAll(keepingCapacity: true)
            collectAcks(&pending, ops, &results)
        }

        for (i, op) in ops.enumerated() {
            let msg: OpaquePointer
            do { msg = try buildRequest(op, links: &links) } catch {
                results[i] = error
                continue
            }
            nl_complete_msg(socket.raw, msg)
            let hdr = nlmsg_hdr(msg)!
            pending[hdr.pointee.nlmsg_seq] = i
            buffer.append(contentsOf: UnsafeRawBufferPointer(start: UnsafeRawPointer(hdr), count: Int(hdr.pointee.nlmsg_len)))
            nlmsg_free(msg)
            if buffer.count >= Self.batchBytes { flush() }
        }
        flush()
        return results
    }

    /// Reads acks until every pending sequence number is answered (or the socket fails).
    private func collectAcks(_ pending: inout [UInt32: Int], _ ops: [RoutingOperation], _ results: inout [NetlinkError?]) {
        var buf = [UInt8](repeating: 0, count: 256 * 1024)
        while !pending.isEmpty {
            let n = buf.withUnsafeMutableBytes { Glibc.recv(socket.fileDescriptor, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                let err = NetlinkError(errno: errno, operation: "receive netlink acks")
                for (_, i) in pending { results[i] = err }
                pending = [:]
                return
            }
            var off = 0
            while off + 16 <= n {
                let len = Int(buf.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: off, as: UInt32.self) })
                let type = buf.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: off + 4, as: UInt16.self) }
                let seq = buf.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: off + 8, as: UInt32.self) }
                guard len >= 16, off + len <= n else { break }
                if type == UInt16(NLMSG_ERROR), len >= 20, let i = pending.removeValue(forKey: seq) {
                    let code = buf.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: off + 16, as: Int32.self) }
                    if code != 0 {
                        let nle = nl_syserr2nlerr(-code)
                        let missing = nle == NLE_OBJ_NOTFOUND || nle == NLE_NODEV
                        if !(ops[i].isDeletion && missing) {   // deleting what is gone is success
                            results[i] = NetlinkError(code: nle, operation: ops[i].description, errno: -code)
                        }
                    }
                }
                off += (len + 3) & ~3
            }
        }
    }

    /// Builds the request message for one batchable operation (caller frees it).
    func buildRequest(_ op: RoutingOperation, links: inout LinkIndex) throws(NetlinkError) -> OpaquePointer {
        var msg: OpaquePointer?
        let rc: Int32
        switch op {
        case .replaceRoute(let r):
            let route = try Self.buildRoute(r, socket: socket, links: &links)
            defer { rtnl_route_put(route) }
            rc = rtnl_route_build_add_request(route, NLM_F_CREATE | NLM_F_REPLACE, &msg)
        case .deleteRoute(let r):
            let route = Self.routeSkeleton(r)
            defer { rtnl_route_put(route) }
            // Without a scope libnl guesses one (RT_SCOPE_LINK for a unicast route without next
            // hops), and the kernel, which matches the scope on delete, finds no gateway route:
            // ESRCH, counted as "already gone", and the route stayed. RT_SCOPE_NOWHERE matches any.
            rtnl_route_set_scope(route, UInt8(RT_SCOPE_NOWHERE.rawValue))
            rc = rtnl_route_build_del_request(route, 0, &msg)
        case .setNeighbour(let k, let mac):
            let n = try buildNeighbour(k, mac: mac, links: &links)
            defer { rtnl_neigh_put(n) }
            rc = rtnl_neigh_build_add_request(n, NLM_F_CREATE | NLM_F_REPLACE, &msg)
        case .deleteNeighbour(let k, let mac):
            let n = try buildNeighbour(k, mac: mac, links: &links)
            defer { rtnl_neigh_put(n) }
            rc = rtnl_neigh_build_delete_request(n, 0, &msg)
        case .setFDB(let k, let dst):
            let n = try buildFDB(k, dst: dst, links: &links)
            defer { rtnl_neigh_put(n) }
            rc = rtnl_neigh_build_add_request(n, NLM_F_CREATE | NLM_F_REPLACE, &msg)
        case .deleteFDB(let k, let dst):
            let n = try buildFDB(k, dst: dst, links: &links)
            defer { rtnl_neigh_put(n) }
            rc = rtnl_neigh_build_delete_request(n, 0, &msg)
        default:
            throw NetlinkError(code: NLE_INVAL, operation: "\(op) is not batchable")
        }
        guard rc >= 0, let msg else { throw NetlinkError(code: rc < 0 ? rc : NLE_NOMEM, operation: op.description) }
        return msg
    }
}
