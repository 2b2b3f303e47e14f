/// The control socket's JSON-lines protocol (docs/twill-bgpd.md). One request line
/// (`{"cmd":"status"}` or `{"cmd":"routes"}`), one reply line, then the server closes.
/// CtlCore's NodeStatus client decodes the same shapes.
public struct ControlRequest: Codable, Sendable, Equatable {
    public var cmd: String
    public init(cmd: String) { self.cmd = cmd }
}

public struct PeerStatus: Codable, Sendable, Equatable {
    public var name: String
    public var peerAddress: String
    /// "iBGP"/"eBGP" unless the configuration names it (e.g. "node-to-node mesh").
    public var peerType: String
    /// BIRD's protocol state as calicoctl shows it: "up", "start" or "down".
    public var state: String
    /// When the state last changed, BIRD style: "HH:MM:SS" today, "YYYY-MM-DD" before (UTC).
    public var since: String
    /// The BGP FSM state, and the last error if any: "Established", "Active Socket: Connection refused".
    public var info: String
    public var prefixesReceived: Int
    public var prefixesSent: Int
    /// How many times the session reached Established since the daemon started.
    public var establishedCount: Int
    public init(name: String, peerAddress: String, peerType: String, state: String, since: String, info: String,
                prefixesReceived: Int, prefixesSent: Int, establishedCount: Int = 0) {
        self.name = name; self.peerAddress = peerAddress; self.peerType = peerType; self.state = state
        self.since = since; self.info = info; self.prefixesReceived = prefixesReceived; self.prefixesSent = prefixesSent
        self.establishedCount = establishedCount
    }
}

public struct RouteStatus: Codable, Sendable, Equatable {
    public var prefix: String
    public var nextHop: String
    public var asPath: String
    /// The peer address it was learned from, or "static" for our own announcements.
    public var peer: String
    public var best: Bool
    /// Why this path is not the best one ("lower LOCAL_PREF (100 < 200)"); nil for the best.
    public var reason: String?
    /// Kept through the peer's graceful restart, waiting to be refreshed.
    public var stale: Bool?
    public var localPref: UInt32?
    public var med: UInt32?
    public var originatorID: String?
    public var clusterList: [String]?
    public init(prefix: String, nextHop: String, asPath: String, peer: String, best: Bool, reason: String? = nil) {
        self.prefix = prefix; self.nextHop = nextHop; self.asPath = asPath; self.peer = peer; self.best = best
        self.reason = reason
    }
}

public struct ControlReply: Codable, Sendable, Equatable {
    public var peers: [PeerStatus]?
    public var routes: [RouteStatus]?
    public var error: String?
    public init(peers: [PeerStatus]? = nil, routes: [RouteStatus]? = nil, error: String? = nil) {
        self.peers = peers; self.routes = routes; self.error = error
    }
}
