import CNetlink
import Dataplane
import Foundation
import Glibc
import NetCore

/// A kernel notification the routing dataplane cares about. Notifications are hints: each
/// leads to a full resync, never to a targeted fix (STYLE.md (b) 13).
public enum RouteMonitorEvent: Hashable, Sendable {
    case routeAdded(RouteKey, protocolNumber: UInt8)
    case routeDeleted(RouteKey, protocolNumber: UInt8)
    /// A neighbour or FDB entry was deleted on interface `index` (the kernel reports a deleted
    /// permanent entry with its final state, not NUD_PERMANENT, so the state is not a filter).
    case neighbourDeleted(index: Int32)
    /// RTM_NEWLINK with a change of IFF_UP (a new link included), or RTM_DELLINK.
    case linkChanged(index: Int32, name: String, up: Bool, deleted: Bool)
    /// The socket's receive queue overflowed (ENOBUFS): notifications were lost.
    case overflow
}

/// Listens to the route, link and neighbour multicast groups on its own netlink socket and thread.
public final class RouteMonitor: @unchecked Sendable {
    /// Heap box handed to libnl as callback context (retained until `stop()`).
    final class Context: @unchecked Sendable {
        let onEvent: @Sendable (RouteMonitorEvent) -> Void
        init(_ onEvent: @escaping @Sendable (RouteMonitorEvent) -> Void) { self.onEvent = onEvent }
    }

    private let socket: NetlinkSocket
    private let context: Unmanaged<Context>
    private let lock = NSLock()
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    public init(onEvent: @escaping @Sendable (RouteMonitorEvent) -> Void) throws(NetlinkError) {
        socket = try NetlinkSocket()
        socket.setBufferSize(receive: 4 << 20, transmit: 64 << 10)
        nl_socket_disable_seq_check(socket.raw)
        for group in [RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_NEIGH] {
            // nl_socket_add_memberships is variadic (STYLE.md (d) 14): one group at a time.
            try NetlinkError.check(nl_socket_add_membership(socket.raw, Int32(group.rawValue)), "join netlink group \(group.rawValue)")
        }
        _ = nl_socket_set_nonblocking(socket.raw)
        context = Unmanaged.passRetained(Context(onEvent))
        nl_socket_modify_cb(socket.raw, NL_CB_VALID, NL_CB_CUSTOM, { msg, arg in
            guard let msg, let arg else { return Int32(NL_OK.rawValue) }
            let ctx = Unmanaged<Context>.fromOpaque(arg).takeUnretainedValue()
            if let ev = RouteMonitor.decode(msg) { ctx.onEvent(ev) }
            return Int32(NL_OK.rawValue)
        }, context.toOpaque())
    }

    /// Starts the listening thread.
    public func start() {
        let t = Thread { [self] in run() }
        t.name = "twill-route-monitor"
        lock.withLock { thread = t }
        t.start()
    }

    /// Stops the thread (waits for it) and closes the socket.
    public func stop() {
        let started: Bool = lock.withLock {
            if stopping { return false }
            stopping = true
            return thread != nil
        }
        if started { finished.wait() }
        socket.close()
        context.release()
    }

    private func run() {
        defer { finished.signal() }
        var pfd = pollfd(fd: socket.fileDescriptor, events: Int16(POLLIN), revents: 0)
        while !lock.withLock({ stopping }) {
            pfd.revents = 0
            let n = poll(&pfd, 1, 100)
            guard n > 0 else { continue }
            let rc = nl_recvmsgs_default(socket.raw)
            if rc < 0 {
                if -rc == NLE_AGAIN { continue }
                // ENOBUFS (mapped to NLE_NOMEM) or any receive error: notifications were lost.
                context.takeUnretainedValue().onEvent(.overflow)
            }
        }
    }

    static func decode(_ msg: OpaquePointer) -> RouteMonitorEvent? {
        var type: Int32 = 0
        var family: UInt8 = 0, proto: UInt8 = 0, dstLen: UInt8 = 0
        var table: UInt32 = 0
        var dst = [UInt8](repeating: 0, count: 16)
        if twill_nl_route_msg_info(msg, &type, &family, &proto, &table, &dstLen, &dst) == 0 {
            let ip: IPAddress?
            switch Int32(family) {
            case AF_INET: ip = IPv4Address(bytes: dst[0..<4]).map { .v4($0) }
            case AF_INET6: ip = IPv6Address(bytes: dst).map { .v6($0) }
            default: ip = nil
            }
            guard let ip, Int(dstLen) <= ip.family.bitWidth else { return nil }
            let key = RouteKey(table: table, destination: IPPrefix(ip, length: Int(dstLen)))
            return Int(type) == RTM_DELROUTE ? .routeDeleted(key, protocolNumber: proto) : .routeAdded(key, protocolNumber: proto)
        }
        var index: Int32 = 0
        var nfamily: Int32 = 0
        var state: UInt32 = 0
        if twill_nl_neigh_msg_info(msg, &type, &nfamily, &index, &state) == 0 {
            guard Int(type) == RTM_DELNEIGH else { return nil }
            return .neighbourDeleted(index: index)
        }
        var flags: UInt32 = 0, change: UInt32 = 0
        var name = [CChar](repeating: 0, count: 32)
        if twill_nl_link_msg_info(msg, &type, &index, &flags, &change, &name) == 0 {
            let deleted = Int(type) == RTM_DELLINK
            guard deleted || change & twill_nl_iff_up() != 0 else { return nil }
            let text = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .linkChanged(index: index, name: text, up: flags & twill_nl_iff_up() != 0, deleted: deleted)
        }
        return nil
    }
}
