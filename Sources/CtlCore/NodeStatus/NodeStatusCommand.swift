import Foundation
import Posix

/// `twillctl node status|routes`: asks a BGP speaker (twill-bgpd, or the node agent) over its
/// control socket and prints what calicoctl prints for BIRD. The integrator wires
/// `twillctl node status|routes --socket PATH [-o json]` to these two functions.
public enum NodeStatusCommand {
    /// Peers, split into "IPv4 BGP status" and "IPv6 BGP status" tables (calicoctl's columns:
    /// Peer address | Peer type | State | Since | Info), or the JSON list with `json`.
    public static func status(socketPath: String, json: Bool) throws -> String {
        let reply = try NodeStatusClient.request("status", socketPath: socketPath)
        let peers = reply.peers ?? []
        return json ? try NodeStatusPrinter.json(peers) : NodeStatusPrinter.statusTable(peers)
    }

    /// Every path (Prefix | Next hop | AS path | Peer | Local pref | MED | Best | Reason), best
    /// first per prefix, split by family; or the JSON list (with the optional fields the speaker sent).
    public static func routes(socketPath: String, json: Bool) throws -> String {
        let reply = try NodeStatusClient.request("routes", socketPath: socketPath)
        let routes = reply.routes ?? []
        return json ? try NodeStatusPrinter.json(NodeStatusPrinter.bestFirst(routes)) : NodeStatusPrinter.routesTable(routes)
    }
}

/// What a speaker says about one peer (the control socket's `peers[]` element).
public struct NodePeerStatus: Codable, Sendable, Equatable {
    public var name: String?
    public var peerAddress: String
    public var peerType: String
    public var state: String
    public var since: String
    public var info: String
    public var prefixesReceived: Int?
    public var prefixesSent: Int?
    public var establishedCount: Int?
    public init(name: String? = nil, peerAddress: String, peerType: String, state: String, since: String, info: String,
                prefixesReceived: Int? = nil, prefixesSent: Int? = nil, establishedCount: Int? = nil) {
        self.name = name; self.peerAddress = peerAddress; self.peerType = peerType; self.state = state
        self.since = since; self.info = info; self.prefixesReceived = prefixesReceived; self.prefixesSent = prefixesSent
        self.establishedCount = establishedCount
    }
}

/// One route of the control socket's `routes[]`: every path of the RIB, not only the best.
/// The fields after `best` are optional so that replies of older speakers (which sent only
/// the first five) still decode; nil ones are left out of `-o json`.
public struct NodeRouteStatus: Codable, Sendable, Equatable {
    public var prefix: String
    public var nextHop: String
    public var asPath: String
    public var peer: String
    public var best: Bool
    /// Why this path is not the best one ("longer AS_PATH (2 > 1)"); nil for the best.
    public var reason: String?
    /// Kept through the peer's graceful restart, waiting to be refreshed.
    public var stale: Bool?
    public var localPref: UInt32?
    public var med: UInt32?
    public var originatorID: String?
    public var clusterList: [String]?
    public init(prefix: String, nextHop: String, asPath: String, peer: String, best: Bool, reason: String? = nil,
                stale: Bool? = nil, localPref: UInt32? = nil, med: UInt32? = nil, originatorID: String? = nil,
                clusterList: [String]? = nil) {
        self.prefix = prefix; self.nextHop = nextHop; self.asPath = asPath; self.peer = peer; self.best = best
        self.reason = reason; self.stale = stale; self.localPref = localPref; self.med = med
        self.originatorID = originatorID; self.clusterList = clusterList
    }
}

struct NodeControlReply: Codable, Sendable {
    var peers: [NodePeerStatus]?
    var routes: [NodeRouteStatus]?
    var error: String?
}

public enum NodeStatusError: Error, CustomStringConvertible, Equatable {
    case notRunning(String, String)
    case badReply(String)
    case speaker(String)
    case timedOut(String)
    public var description: String {
        switch self {
        case .notRunning(let p, let why): "the BGP speaker is not running (control socket \(p): \(why))"
        case .badReply(let why): "unexpected reply from the BGP speaker: \(why)"
        case .speaker(let e): "the BGP speaker answered: \(e)"
        case .timedOut(let p): "no reply from the BGP speaker on \(p) within 5s"
        }
    }
}

enum NodeStatusClient {
    /// One request line, one reply line, bounded by `timeout` seconds.
    static func request(_ cmd: String, socketPath: String, timeout: Int32 = 5000) throws -> NodeControlReply {
        let sock = try Socket.unixStream()
        defer { sock.close() }
        do { try sock.connectUnix(path: socketPath) } catch {
            throw NodeStatusError.notRunning(socketPath, error.errno.description)
        }
        var out = Array("{\"cmd\":\"\(cmd)\"}\n".utf8)
        var reply: [UInt8] = []
        var fds = pollfd(fd: sock.descriptor, events: Int16(POLLOUT), revents: 0)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout) * 1_000_000
        loop: while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { throw NodeStatusError.timedOut(socketPath) }
            fds.events = Int16(out.isEmpty ? POLLIN : POLLOUT)
            let n = poll(&fds, 1, Int32((deadline - now) / 1_000_000) + 1)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { continue }
            if !out.isEmpty {
                if case .processed(let k) = try sock.send(out) { out.removeFirst(k) }
                continue
            }
            switch try sock.read(appendingTo: &reply) {
            case .wouldBlock: continue loop
            case .processed(let k) where k > 0:
                if reply.last == 10 { break loop }
            case .processed: break loop
            }
        }
        guard let line = reply.split(separator: 10).first else { throw NodeStatusError.badReply("empty reply") }
        let decoded: NodeControlReply
        do { decoded = try JSONDecoder().decode(NodeControlReply.self, from: Data(line)) } catch {
            throw NodeStatusError.badReply("\(error)")
        }
        if let e = decoded.error { throw NodeStatusError.speaker(e) }
        return decoded
    }
}

/// Pure printers (tested with golden output).
public enum NodeStatusPrinter {
    public static func statusTable(_ peers: [NodePeerStatus]) -> String {
        "BGP speaker is running.\n\n" + perFamily(peers, address: \.peerAddress, title: "BGP status", empty: "peers",
                                                  headers: ["Peer address", "Peer type", "State", "Since", "Info"]) {
            [$0.peerAddress, $0.peerType, $0.state, $0.since, $0.info]
        }
    }

    /// Every path, grouped by prefix (in the order the speaker gave the prefixes), the best one
    /// first with `*` in BEST, the others with the reason they lost (BIRD `show route all`
    /// keeps the same order). A stale path (graceful restart) says so in REASON.
    public static func routesTable(_ routes: [NodeRouteStatus]) -> String {
        perFamily(bestFirst(routes), address: \.prefix, title: "routes", empty: "routes",
                  headers: ["Prefix", "Next hop", "AS path", "Peer", "Local pref", "MED", "Best", "Reason"]) {
            var why = $0.best ? "" : ($0.reason ?? "")
            if $0.stale == true { why += why.isEmpty ? "stale" : ", stale" }
            return [$0.prefix, $0.nextHop, $0.asPath, $0.peer, $0.localPref.map(String.init) ?? "",
                    $0.med.map(String.init) ?? "", $0.best ? "*" : "", why]
        }
    }

    /// Groups paths by prefix in first-seen order, the best path first in each group (stable
    /// otherwise), whatever order an older speaker sent them in.
    public static func bestFirst(_ routes: [NodeRouteStatus]) -> [NodeRouteStatus] {
        var order: [String: Int] = [:]
        for r in routes where order[r.prefix] == nil { order[r.prefix] = order.count }
        return routes.enumerated().sorted { l, r in
            let lo = order[l.element.prefix]!, ro = order[r.element.prefix]!
            if lo != ro { return lo < ro }
            if l.element.best != r.element.best { return l.element.best }
            return l.offset < r.offset
        }.map(\.element)
    }

    /// One titled table per family ("IPv4 <title>", "IPv6 <title>"), or "No IPvN <empty> found.".
    static func perFamily<T>(_ items: [T], address: KeyPath<T, String>, title: String, empty: String,
                             headers: [String], row: (T) -> [String]) -> String {
        var out = ""
        for (family, v6) in [("IPv4", false), ("IPv6", true)] {
            let rows = items.filter { $0[keyPath: address].contains(":") == v6 }.map(row)
            out += "\(family) \(title)\n"
            out += rows.isEmpty ? "No \(family) \(empty) found.\n\n" : BoxTable(headers: headers, rows: rows).render() + "\n"
        }
        return out
    }

    public static func json<T: Encodable>(_ value: T) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(value), as: UTF8.self) + "\n"
    }
}
