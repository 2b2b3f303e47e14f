import BGPRIB
import NetCore
import Yams

/// The `twill-bgpd` configuration (docs/twill-bgpd.md). Parsed strictly: unknown fields and bad
/// values are errors naming the field path (`peers[1].holdTime`), and nothing starts.
public struct SpeakerConfig: Equatable, Sendable {
    public var routerID: IPv4Address
    public var asNumber: ASNumber
    public var listen: ListenConfig
    public var controlSocket: String?
    public var peers: [PeerConfig]
    public var announce: [Announcement]
    /// We are restarting with our forwarding state intact (the node agent sets it when it finds
    /// its own kernel routes from a previous run): the OPENs of the first session with each peer
    /// carry the graceful restart R bit (RFC 4724 §3). A runtime fact, not read from YAML
    /// (`twill-bgpd --restarting`); `reload` keeps the running value.
    public var restarting: Bool
    /// RFC 4456 route-reflector CLUSTER_ID. nil: the router ID is used when some peer is a
    /// route-reflector client (as BIRD's `rr cluster id` default).
    public var clusterID: IPv4Address?
    /// Calico BGPFilters by name; peers name theirs in `PeerConfig.filters`.
    public var filters: [String: RouteFilter]
    /// ECMP: the route observer reports, besides the best path, every peer-learned path equal to
    /// it up to the router-ID step (BIRD's kernel `merge paths on`, which Calico sets), so the
    /// node programs one multipath route. Export to peers is unchanged (best path only).
    public var multipath: Bool = false
    /// While `restarting`, how long at most we defer sending our routes until every peer's
    /// End-of-RIB is in (RFC 4724 §4.1 Selection_Deferral_Timer; FRR's select-defer-time,
    /// BIRD's `graceful restart wait`). A runtime setting, not read from YAML.
    public var selectionDeferralTime = CalicoDuration(seconds: 120)

    public init(routerID: IPv4Address, asNumber: ASNumber, listen: ListenConfig = .init(), controlSocket: String? = nil,
                peers: [PeerConfig] = [], announce: [Announcement] = [], restarting: Bool = false,
                clusterID: IPv4Address? = nil, filters: [String: RouteFilter] = [:]) {
        self.routerID = routerID; self.asNumber = asNumber; self.listen = listen
        self.controlSocket = controlSocket; self.peers = peers; self.announce = announce
        self.restarting = restarting; self.clusterID = clusterID; self.filters = filters
    }

    /// The CLUSTER_ID in effect: `clusterID`, else the router ID.
    public var effectiveClusterID: IPv4Address { clusterID ?? routerID }
}

/// Where the speaker accepts connections. `address == nil` or `::` listens on all addresses, dual
/// stack (`[::]` with IPV6_V6ONLY off). `enabled == false` (`listen: false`) makes every peer
/// active-only, as GoBGP's `port = -1`.
public struct ListenConfig: Equatable, Sendable {
    public var address: IPAddress?
    public var port: UInt16
    public var enabled: Bool
    public init(address: IPAddress? = nil, port: UInt16 = 179, enabled: Bool = true) {
        self.address = address; self.port = port; self.enabled = enabled
    }
}

public enum RoutePolicy: String, Equatable, Sendable { case all, none }

public enum UnicastFamily: String, Hashable, Sendable, Comparable, CustomStringConvertible {
    case ipv4, ipv6
    public var family: IPFamily { self == .ipv4 ? .v4 : .v6 }
    public init(_ f: IPFamily) { self = f == .v4 ? .ipv4 : .ipv6 }
    public var description: String { rawValue }
    public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }
}

public struct PeerConfig: Equatable, Sendable {
    public var name: String
    public var address: IPAddress
    public var port: UInt16
    public var asNumber: ASNumber
    /// Wait for the peer to connect; never dial out.
    public var passive: Bool
    /// RFC 2385 TCP MD5 key (at most 80 bytes).
    public var password: String?
    public var holdTime: CalicoDuration
    /// Default: a third of the hold time.
    public var keepaliveTime: CalicoDuration?
    /// eBGP multihop: nil = directly connected (TTL 1 for eBGP); a hop count otherwise
    /// (`multihop: true` = 255).
    public var multihop: Int?
    /// RFC 5082 GTSM: send with TTL 255 and require at least 255 - (hops - 1) on receipt.
    public var ttlSecurity: Bool
    public var addressFamilies: [UnicastFamily]
    /// Local address to connect from (and the default next hop we advertise).
    public var sourceAddress: IPAddress?
    /// nil = the default: `all` for iBGP, `none` for eBGP (RFC 8212).
    public var importPolicy: RoutePolicy?
    public var exportPolicy: RoutePolicy?
    /// What `node status` shows in "Peer type" (e.g. "node-to-node mesh"); default iBGP/eBGP.
    public var peerType: String?
    /// Graceful restart (RFC 4724, with RFC 8538's N bit): the Restart Time we advertise, i.e.
    /// how long the peer should keep our routes while we restart (0...4095 s; 0 = helper only,
    /// BIRD's `graceful restart aware`). Default 120 s, as BIRD and Calico (BGPPeer
    /// `maxRestartTime`). We help a peer that advertises it too: its routes stay, stale, for its
    /// own restart time. nil: no capability, no helping (routes go when the session drops).
    public var gracefulRestartTime: CalicoDuration?
    /// The peer is our route-reflector client (RFC 4456): iBGP routes are reflected to it and
    /// from it to the other iBGP peers.
    public var routeReflectorClient: Bool
    /// Close the session with NOTIFICATION Cease/1 (Maximum Number of Prefixes Reached, RFC 4486)
    /// when the peer sends more prefixes than this (all families together). nil: no limit.
    public var maxPrefixes: Int?
    /// Accept routes whose AS_PATH holds our own AS up to this many times (0...10; BIRD
    /// `allow local as`, Calico `numAllowedLocalASNumbers`). 0: any occurrence is a loop.
    public var allowASIn: Int
    /// The NEXT_HOP of routes we send this peer.
    public var nextHopMode: NextHopMode
    /// Names of `SpeakerConfig.filters` applied to this peer, in order (first matching rule wins).
    public var filters: [String]

    public static let defaultGracefulRestartTime = CalicoDuration(seconds: 120)

    public init(name: String, address: IPAddress, port: UInt16 = 179, asNumber: ASNumber, passive: Bool = false,
                password: String? = nil, holdTime: CalicoDuration = .init(seconds: 90),
                keepaliveTime: CalicoDuration? = nil, multihop: Int? = nil, ttlSecurity: Bool = false,
                addressFamilies: [UnicastFamily]? = nil, sourceAddress: IPAddress? = nil,
                importPolicy: RoutePolicy? = nil, exportPolicy: RoutePolicy? = nil,
                gracefulRestartTime: CalicoDuration? = PeerConfig.defaultGracefulRestartTime,
                routeReflectorClient: Bool = false, maxPrefixes: Int? = nil, allowASIn: Int = 0,
                nextHopMode: NextHopMode = .auto, filters: [String] = []) {
        self.name = name; self.address = address; self.port = port; self.asNumber = asNumber
        self.passive = passive; self.password = password; self.holdTime = holdTime
        self.keepaliveTime = keepaliveTime; self.multihop = multihop; self.ttlSecurity = ttlSecurity
        self.addressFamilies = addressFamilies ?? [UnicastFamily(address.family)]
        self.sourceAddress = sourceAddress; self.importPolicy = importPolicy; self.exportPolicy = exportPolicy
        self.peerType = nil
        self.gracefulRestartTime = gracefulRestartTime
        self.routeReflectorClient = routeReflectorClient; self.maxPrefixes = maxPrefixes; self.allowASIn = allowASIn
        self.nextHopMode = nextHopMode; self.filters = filters
    }

    public func isEBGP(localAS: ASNumber) -> Bool { asNumber != localAS }

    /// RFC 8212: without an explicit policy eBGP sessions import and export nothing.
    public func effectiveImport(localAS: ASNumber) -> RoutePolicy { importPolicy ?? (isEBGP(localAS: localAS) ? .none : .all) }
    public func effectiveExport(localAS: ASNumber) -> RoutePolicy { exportPolicy ?? (isEBGP(localAS: localAS) ? .none : .all) }

    /// The keepalive interval in effect before negotiation.
    public var effectiveKeepalive: CalicoDuration {
        keepaliveTime ?? CalicoDuration(milliseconds: holdTime.milliseconds / 3)
    }

    /// TTL we send with: 255 with GTSM or `multihop: true`; the hop count for multihop;
    /// 1 for directly connected eBGP; nil (system default) for iBGP.
    public func outgoingTTL(localAS: ASNumber) -> Int? {
        if ttlSecurity { return 255 }
        if let m = multihop { return m }
        return asNumber == localAS ? nil : 1
    }

    /// GTSM minimum TTL on receipt, nil when GTSM is off.
    public var minimumTTL: Int? {
        guard ttlSecurity else { return nil }
        return 256 - max(1, min(multihop ?? 1, 255))
    }
}

/// A prefix we originate. `nextHop` nil = next-hop self (the session's local address).
public struct Announcement: Hashable, Sendable {
    public var prefix: IPPrefix
    public var nextHop: IPAddress?
    public init(prefix: IPPrefix, nextHop: IPAddress? = nil) { self.prefix = prefix; self.nextHop = nextHop }
}

/// A configuration error: `field` is the path (`peers[0].asNumber`), `reason` why.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public init(_ field: String, _ reason: String) { self.field = field; self.reason = reason }
    public var description: String { field.isEmpty ? reason : "\(field): \(reason)" }
}

extension SpeakerConfig {
    /// Parses the YAML text of a `twill-bgpd` config file.
    public init(yaml text: String) throws(ConfigError) {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigError("", "not valid YAML: \(error)")
        }
        guard let root else { throw ConfigError("", "the file is empty") }
        let top = try Fields(root, path: "")
        try top.only(["routerID", "asNumber", "listen", "controlSocket", "peers", "announce", "clusterID", "filters",
                      "multipath"])
        let multipath = try top.optional("multipath") { (v, f) throws(ConfigError) in try Fields.bool(v, f) } ?? false
        let routerID = try top.required("routerID") { (v, f) throws(ConfigError) in
            guard let a = IPv4Address(try Fields.string(v, f)) else { throw ConfigError(f, "not an IPv4 address") }
            return a
        }
        let asn = try top.required("asNumber") { (v, f) throws(ConfigError) in try Fields.asn(v, f) }
        var listen = ListenConfig()
        if let l = top["listen"] {
            if case .scalar = l, let b = l.bool, !b {
                listen.enabled = false
            } else {
                let lf = try Fields(l, path: "listen")
                try lf.only(["address", "port"])
                listen.address = try lf.optional("address") { (v, f) throws(ConfigError) in try Fields.ip(v, f) }
                listen.port = try lf.optional("port") { (v, f) throws(ConfigError) in try Fields.port(v, f) } ?? 179
            }
        }
        let control = try top.optional("controlSocket") { (v, f) throws(ConfigError) in try Fields.string(v, f) }
        let clusterID = try top.optional("clusterID") { (v, f) throws(ConfigError) in
            guard let a = IPv4Address(try Fields.string(v, f)) else { throw ConfigError(f, "not an IPv4 address") }
            return a
        }
        var filters: [String: RouteFilter] = [:]
        if let fl = top["filters"] {
            for (i, node) in try Fields.sequence(fl, "filters").enumerated() {
                let f = try Self.filter(node, path: "filters[\(i)]")
                if filters[f.name] != nil { throw ConfigError("filters[\(i)].metadata.name", "duplicate filter name \"\(f.name)\"") }
                filters[f.name] = f
            }
        }
        var peers: [PeerConfig] = []
        if let p = top["peers"] {
            for (i, node) in try Fields.sequence(p, "peers").enumerated() {
                peers.append(try PeerConfig(node: node, path: "peers[\(i)]"))
            }
        }
        var seen: [IPAddress: String] = [:]
        var names: Set<String> = []
        for (i, p) in peers.enumerated() {
            if let other = seen[p.address] {
                throw ConfigError("peers[\(i)].address", "\(p.address) is already configured for peer \"\(other)\"")
            }
            if !names.insert(p.name).inserted { throw ConfigError("peers[\(i)].name", "duplicate peer name \"\(p.name)\"") }
            seen[p.address] = p.name
            if p.routeReflectorClient, p.asNumber != asn {
                throw ConfigError("peers[\(i)].routeReflectorClient", "only an iBGP peer (asNumber \(asn)) can be a route-reflector client")
            }
            for (j, name) in p.filters.enumerated() where filters[name] == nil {
                throw ConfigError("peers[\(i)].filters[\(j)]", "no filter named \"\(name)\"")
            }
        }
        var announce: [Announcement] = []
        if let a = top["announce"] {
            for (i, node) in try Fields.sequence(a, "announce").enumerated() {
                let path = "announce[\(i)]"
                let f = try Fields(node, path: path)
                try f.only(["prefix", "nextHop"])
                let prefix = try f.required("prefix") { (v, fp) throws(ConfigError) in
                    switch IPPrefix.parse(try Fields.string(v, fp), strict: true) {
                    case .success(let p): return p
                    case .failure(let e): throw ConfigError(fp, e.description)
                    }
                }
                let nh = try f.optional("nextHop") { (v, fp) throws(ConfigError) in try Fields.ip(v, fp) }
                if let nh, nh.family != prefix.family {
                    throw ConfigError("\(path).nextHop", "\(nh) is not in the prefix's family (\(prefix.family))")
                }
                if announce.contains(where: { $0.prefix == prefix }) {
                    throw ConfigError("\(path).prefix", "\(prefix) is announced twice")
                }
                announce.append(Announcement(prefix: prefix, nextHop: nh))
            }
        }
        self.init(routerID: routerID, asNumber: asn, listen: listen, controlSocket: control, peers: peers, announce: announce,
                  clusterID: clusterID, filters: filters)
        self.multipath = multipath
    }
}

extension PeerConfig {
    init(node: Node, path: String) throws(ConfigError) {
        let f = try Fields(node, path: path)
        try f.only(["name", "address", "port", "asNumber", "passive", "password", "holdTime", "keepaliveTime",
                    "multihop", "ttlSecurity", "addressFamilies", "sourceAddress", "import", "export", "peerType",
                    "gracefulRestartTime", "routeReflectorClient", "maxPrefixes", "allowASIn", "nextHop", "filters"])
        let address = try f.required("address") { (v, p) throws(ConfigError) in try Fields.ip(v, p) }
        let name = try f.optional("name") { (v, p) throws(ConfigError) in try Fields.string(v, p) } ?? address.description
        let asn = try f.required("asNumber") { (v, p) throws(ConfigError) in try Fields.asn(v, p) }
        let port = try f.optional("port") { (v, p) throws(ConfigError) in try Fields.port(v, p) } ?? 179
        let passive = try f.optional("passive") { (v, p) throws(ConfigError) in try Fields.bool(v, p) } ?? false
        let password = try f.optional("password") { (v, p) throws(ConfigError) -> String in
            let s = try Fields.string(v, p)
            guard !s.isEmpty, s.utf8.count <= 80 else { throw ConfigError(p, "must be 1 to 80 bytes (TCP_MD5SIG_MAXKEYLEN)") }
            return s
        }
        let hold = try f.optional("holdTime") { (v, p) throws(ConfigError) -> CalicoDuration in
            let d = try Fields.duration(v, p)
            // RFC 4271 §4.2: zero, or at least three seconds.
            guard d.milliseconds == 0 || (d.milliseconds >= 3000 && d.seconds <= 65535) else {
                throw ConfigError(p, "must be 0 or between 3s and 65535s (RFC 4271 §4.2), got \(d)")
            }
            return d
        } ?? CalicoDuration(seconds: 90)
        let keep = try f.optional("keepaliveTime") { (v, p) throws(ConfigError) -> CalicoDuration in
            let d = try Fields.duration(v, p)
            guard d.milliseconds >= 1000 || d.milliseconds == 0 else { throw ConfigError(p, "must be 0 or at least 1s") }
            return d
        }
        if let keep, hold.milliseconds > 0, keep >= hold {
            throw ConfigError("\(path).keepaliveTime", "\(keep) must be shorter than holdTime \(hold)")
        }
        let multihop = try f.optional("multihop") { (v, p) throws(ConfigError) -> Int? in
            if let b = v.bool, v.int == nil { return b ? 255 : nil }
            guard let n = v.int, (1...255).contains(n) else { throw ConfigError(p, "must be true/false or a hop count 1-255") }
            return n
        } ?? nil
        let gtsm = try f.optional("ttlSecurity") { (v, p) throws(ConfigError) in try Fields.bool(v, p) } ?? false
        let families = try f.optional("addressFamilies") { (v, p) throws(ConfigError) -> [UnicastFamily] in
            var out: [UnicastFamily] = []
            for (i, n) in try Fields.sequence(v, p).enumerated() {
                let s = try Fields.string(n, "\(p)[\(i)]")
                guard let af = UnicastFamily(rawValue: s) else { throw ConfigError("\(p)[\(i)]", "\"\(s)\" is not ipv4 or ipv6") }
                if !out.contains(af) { out.append(af) }
            }
            guard !out.isEmpty else { throw ConfigError(p, "must name at least one family") }
            return out.sorted()
        }
        let source = try f.optional("sourceAddress") { (v, p) throws(ConfigError) in try Fields.ip(v, p) }
        if let source, source.family != address.family {
            throw ConfigError("\(path).sourceAddress", "\(source) is not in the peer address's family")
        }
        let policy = { (v: Node, p: String) throws(ConfigError) -> RoutePolicy in
            let s = try Fields.string(v, p)
            guard let r = RoutePolicy(rawValue: s) else { throw ConfigError(p, "\"\(s)\" is not all or none") }
            return r
        }
        let imp = try f.optional("import", policy)
        let exp = try f.optional("export", policy)
        // A duration 0s–4095s (the capability's 12-bit field), true (120 s) or false (off).
        let grTime = try f.optional("gracefulRestartTime") { (v, p) throws(ConfigError) -> CalicoDuration? in
            if v.int == nil, let b = v.bool { return b ? PeerConfig.defaultGracefulRestartTime : nil }
            let d = try Fields.duration(v, p)
            guard d.milliseconds % 1000 == 0, d.seconds <= 4095 else {
                throw ConfigError(p, "must be whole seconds from 0s to 4095s (RFC 4724 Restart Time), or false, got \(d)")
            }
            return d
        } ?? PeerConfig.defaultGracefulRestartTime
        self.init(name: name, address: address, port: port, asNumber: asn, passive: passive, password: password,
                  holdTime: hold, keepaliveTime: keep, multihop: multihop, ttlSecurity: gtsm, addressFamilies: families,
                  sourceAddress: source, importPolicy: imp, exportPolicy: exp, gracefulRestartTime: grTime)
        peerType = try f.optional("peerType") { (v, p) throws(ConfigError) in try Fields.string(v, p) }
        routeReflectorClient = try f.optional("routeReflectorClient") { (v, p) throws(ConfigError) in try Fields.bool(v, p) } ?? false
        maxPrefixes = try f.optional("maxPrefixes") { (v, p) throws(ConfigError) -> Int in
            guard case .scalar = v, let n = v.int, n >= 1 else { throw ConfigError(p, "must be a whole number of at least 1") }
            return n
        }
        allowASIn = try f.optional("allowASIn") { (v, p) throws(ConfigError) -> Int in
            guard case .scalar = v, let n = v.int, (0...10).contains(n) else { throw ConfigError(p, "must be a whole number from 0 to 10") }
            return n
        } ?? 0
        nextHopMode = try f.optional("nextHop") { (v, p) throws(ConfigError) -> NextHopMode in
            let s = try Fields.string(v, p)
            guard let m = NextHopMode(rawValue: s) else { throw ConfigError(p, "\"\(s)\" is not auto, self or keep") }
            return m
        } ?? .auto
        filters = try f.optional("filters") { (v, p) throws(ConfigError) -> [String] in
            var out: [String] = []
            for (i, n) in try Fields.sequence(v, p).enumerated() {
                let s = try Fields.string(n, "\(p)[\(i)]")
                guard !s.isEmpty else { throw ConfigError("\(p)[\(i)]", "must name a filter") }
                out.append(s)
            }
            return out
        } ?? []
    }
}
