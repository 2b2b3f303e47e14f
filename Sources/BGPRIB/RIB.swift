import BGPWire
import NetCore

/// A peer of the RIB, by slot. `PeerID.local` holds our own announcements.
public struct PeerID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let raw: Int32
    public init(raw: Int32) { self.raw = raw }
    public static let local = PeerID(raw: 0)
    public static func < (l: Self, r: Self) -> Bool { l.raw < r.raw }
    public var description: String { "peer#\(raw)" }
}

/// How a peer's routes enter the RIB and leave it toward that peer.
public struct RIBPeerPolicy: Hashable, Sendable {
    public var asn: UInt32
    public var type: PeerType
    public var isRRClient: Bool
    public var allowASIn: Int
    public var nextHopMode: NextHopMode
    /// `import: all`; false = every path from the peer is dropped.
    public var importAll: Bool
    public var exportAll: Bool
    public var families: Set<IPFamily>
    public var importFilters: [RouteFilter]
    public var exportFilters: [RouteFilter]
    public init(asn: UInt32, type: PeerType, isRRClient: Bool = false, allowASIn: Int = 0, nextHopMode: NextHopMode = .auto,
                importAll: Bool = true, exportAll: Bool = true, families: Set<IPFamily> = [.v4],
                importFilters: [RouteFilter] = [], exportFilters: [RouteFilter] = []) {
        self.asn = asn; self.type = type; self.isRRClient = isRRClient; self.allowASIn = allowASIn
        self.nextHopMode = nextHopMode; self.importAll = importAll; self.exportAll = exportAll
        self.families = families; self.importFilters = importFilters; self.exportFilters = exportFilters
    }
}

/// One path of a prefix as `candidates` reports it, best first.
public struct RIBCandidate: Hashable, Sendable {
    public var route: Route
    public var peer: PeerID
    public var best: Bool
    /// Kept through the peer's graceful restart (RFC 4724), waiting to be refreshed.
    public var stale: Bool
    /// Why it lost against the best path (nil for the best).
    public var lossReason: LossReason?
}

/// What to send a peer: withdrawals and announcements grouped by attribute set (one UPDATE
/// carries many prefixes of one set).
public struct OutboundBatch: Sendable {
    public var withdrawn: [IPPrefix] = []
    public var announced: [(attributes: RouteAttributes, prefixes: [IPPrefix])] = []
    /// The update group the peer belongs to (an encoder may cache per group and attribute set).
    public var group: Int = 0
    public init() {}
    public var isEmpty: Bool { withdrawn.isEmpty && announced.isEmpty }
    public var prefixCount: Int { withdrawn.count + announced.reduce(0) { $0 + $1.prefixes.count } }
}

/// The RIB of the speaker, pure and single-threaded (the speaker's queue owns it): each peer's
/// accepted paths (Adj-RIB-In after import policy), the Loc-RIB with every candidate per prefix
/// ranked best first (RFC 4271 §9.1 with the RFC 4456 steps), and per peer the prefixes still to
/// send and those sent (the Adj-RIB-Out as BIRD keeps it: what was sent is re-derived from the
/// best path and the peer's policy, a bit per prefix says whether anything was).
///
/// Memory: a prefix is ~16 bytes in the index, 4 for its path list head, 16 per path; attribute
/// sets are interned and shared (`AttributeTable`). Output work is a per-peer pending list,
/// drained as the peer's socket takes it (`drain`), so a slow peer costs a bit per prefix, not a
/// queue of messages; peers with one export policy share one export computation (update groups).
public struct RIB {
    public private(set) var local: LocalSpeaker

    // Prefixes and paths.
    private var index = PrefixIndex()
    /// Head of each slot's path list (best first), -1 = none.
    private var head: [Int32] = []
    private var paths: [PathRec] = []
    private var freePaths: [Int32] = []
    private var attributes = AttributeTable()
    /// Slots whose last path went: freed once no peer has them pending or sent.
    private var emptied: [Int32] = []

    struct PathRec {
        var peer: Int32
        var attr: Int32
        var next: Int32
        var stale: Bool
    }

    // Peers.
    private var peers: [PeerState] = []
    private var freePeers: [Int32] = []

    struct PeerState {
        var address: IPAddress
        var routerID: IPv4Address
        var policy: RIBPeerPolicy
        var generation: UInt32 = 0
        var inUse = true
        var up = false
        var localAddress: IPAddress?
        var group = -1
        var pathCount = 0
        var pending: [Int32] = []
        var pendingBits = SlotBits()
        var sent = SlotBits()
        var sentCount = 0
        var staleCount = 0
    }

    // Update groups.
    private var groups: [Int: UpdateGroup] = [:]
    private var groupByPolicy: [ExportPolicy: Int] = [:]
    private var nextGroup = 1

    struct UpdateGroup {
        var policy: ExportPolicy
        var members: Set<Int32> = []
        /// (source peer slot << 32 | attribute id) → exported set (index into `outputs`, -1 = not sent).
        var memo: [UInt64: Memo] = [:]
        var outputs: [RouteAttributes] = []
        var outputIndex: [RouteAttributes: Int32] = [:]
        struct Memo { var out: Int32; var attrGeneration: UInt32; var peerGeneration: UInt32 }
    }

    // Observation of best peer-learned routes (the node agent's kernel routes).
    private var observing = false
    private var touched: [Int32] = []
    private var touchedBits = SlotBits()
    private var learnedBefore: [Int32: [Route]] = [:]
    /// Observation reports the ECMP set, not only the best path.
    private var observeMultipath = false

    static let maxGroupOutputs = 16_384

    public init(local: LocalSpeaker) {
        self.local = local
        peers.append(PeerState(address: .unspecified(.v4), routerID: local.routerID,
                               policy: RIBPeerPolicy(asn: local.asn, type: .local)))
    }

    // MARK: peers

    public mutating func addPeer(address: IPAddress, policy: RIBPeerPolicy) -> PeerID {
        let st = PeerState(address: address, routerID: IPv4Address(0), policy: policy)
        if let f = freePeers.popLast() {
            let gen = peers[Int(f)].generation &+ 1
            peers[Int(f)] = st
            peers[Int(f)].generation = gen
            return PeerID(raw: f)
        }
        peers.append(st)
        return PeerID(raw: Int32(peers.count - 1))
    }

    /// Removes the peer and every path it gave.
    public mutating func removePeer(_ id: PeerID) {
        guard id != .local, peers[Int(id.raw)].inUse else { return }
        peerDown(id, keepPaths: false)
        peers[Int(id.raw)].inUse = false
        freePeers.append(id.raw)
    }

    /// Changes a peer's policy. An export change re-sends everything to it (what is no longer
    /// exported is withdrawn); an import change applies to paths received from now on — ask the
    /// peer for a ROUTE-REFRESH (`importChanged`) to re-run it on what it sent before.
    public mutating func setPolicy(_ id: PeerID, _ policy: RIBPeerPolicy) -> (importChanged: Bool, exportChanged: Bool) {
        let old = peers[Int(id.raw)].policy
        peers[Int(id.raw)].policy = policy
        updateExportTargets()
        let imp = old.importAll != policy.importAll || old.importFilters != policy.importFilters
            || old.allowASIn != policy.allowASIn || old.families != policy.families
        let exp = exportPolicy(of: id, old) != exportPolicy(of: id, policy)
        if old.type != policy.type || old.isRRClient != policy.isRRClient {
            // Reflection of this peer's own paths to others changes too.
            peers[Int(id.raw)].generation &+= 1
            markAllPathsOf(id)
        }
        if exp, peers[Int(id.raw)].up { regroup(id); markEverything(for: id) }
        return (imp, exp)
    }

    /// Local speaker change (cluster ID): everything is re-exported.
    public mutating func setLocal(_ l: LocalSpeaker) {
        guard l != local else { return }
        local = l
        for g in groups.keys { groups[g]!.memo.removeAll(); groups[g]!.outputs.removeAll(); groups[g]!.outputIndex.removeAll() }
        for p in 1..<peers.count where peers[p].up { markEverything(for: PeerID(raw: Int32(p))) }
    }

    public func policy(_ id: PeerID) -> RIBPeerPolicy { peers[Int(id.raw)].policy }
    public func address(_ id: PeerID) -> IPAddress { peers[Int(id.raw)].address }
    public func isUp(_ id: PeerID) -> Bool { peers[Int(id.raw)].up }
    /// Paths accepted from the peer (its Adj-RIB-In after import policy).
    public func pathCount(_ id: PeerID) -> Int { peers[Int(id.raw)].pathCount }
    /// Prefixes currently advertised to the peer.
    public func sentCount(_ id: PeerID) -> Int { peers[Int(id.raw)].sentCount }

    /// The session is Established: everything exportable is queued for it (the initial
    /// advertisement; `hasPending` turns false when it is all drained).
    public mutating func peerUp(_ id: PeerID, routerID: IPv4Address, localAddress: IPAddress?) {
        var p = peers[Int(id.raw)]
        if p.routerID != routerID { p.generation &+= 1 }
        p.routerID = routerID
        p.localAddress = localAddress
        p.up = true
        p.pending.removeAll()
        p.pendingBits.removeAll()
        p.sent.removeAll()
        p.sentCount = 0
        peers[Int(id.raw)] = p
        regroup(id)
        updateExportTargets()
        markEverything(for: id)
    }

    /// The session left Established. Its paths go unless `keepPaths` (a graceful-restart helper
    /// keeps them, stale, until `withdraw`n or refreshed); nothing more is sent to it.
    public mutating func peerDown(_ id: PeerID, keepPaths: Bool) {
        var p = peers[Int(id.raw)]
        let wasUp = p.up
        p.up = false
        p.pending.removeAll()
        p.pendingBits.removeAll()
        p.sent.removeAll()
        p.sentCount = 0
        let g = p.group
        p.group = -1
        peers[Int(id.raw)] = p
        updateExportTargets()
        if wasUp, g >= 0 { leaveGroup(id.raw, g) }
        if !keepPaths { withdrawAll(from: id) }
    }

    // MARK: routes in

    /// Paths from `from` for `prefixes`, all with `attributes` (one UPDATE's NLRI). Import policy
    /// runs first: a rejected path withdraws the peer's earlier path for that prefix (RFC 7606
    /// treat-as-withdraw). Returns why the set was rejected as a whole, if it was.
    @discardableResult
    public mutating func announce(from: PeerID, attributes attrs: RouteAttributes,
                                  prefixes: some Collection<IPPrefix>) -> ImportRejection? {
        // Only the policy: a copy of the whole PeerState would share its pending arrays and make
        // every insert below copy them.
        let policy = peers[Int(from.raw)].policy
        if from != .local {
            let rejection = RIBPolicy.importCheck(attrs.path, from: policy.type, local: local,
                                                 allowASIn: policy.allowASIn)
            if rejection != nil || !policy.importAll {
                withdraw(from: from, prefixes: prefixes)
                return rejection
            }
        }
        let filters = policy.importFilters
        var id: Int32 = -1
        for p in prefixes {
            if from != .local && !policy.families.contains(p.family) {
                removePath(from: from.raw, prefix: p)
                continue
            }
            if !filters.isEmpty {
                var a = attrs.path
                let subject = FilterSubject(prefix: p, peerType: policy.type, learnedFromPeer: true)
                if case .rejected = RouteFilter.evaluate(filters, direction: .importing, subject: subject, attrs: &a) {
                    removePath(from: from.raw, prefix: p)
                    continue
                }
                if a != attrs.path {
                    var changed = attrs
                    changed.path = a
                    let cid = attributes.retain(changed)
                    setPath(from: from.raw, prefix: p, attr: cid)
                    attributes.release(cid)
                    continue
                }
            }
            // One lookup of the set per UPDATE; this temporary reference is dropped below
            // (each path holds its own).
            if id < 0 { id = attributes.retain(attrs) }
            setPath(from: from.raw, prefix: p, attr: id)
        }
        if id >= 0 { attributes.release(id) }
        return nil
    }

    public mutating func withdraw(from: PeerID, prefixes: some Sequence<IPPrefix>) {
        for p in prefixes { removePath(from: from.raw, prefix: p) }
    }

    /// Every prefix `from` has a path for (of `family` when given).
    public func prefixes(of from: PeerID, family: IPFamily? = nil) -> [IPPrefix] {
        var out: [IPPrefix] = []
        for s in 0..<head.count where head[s] >= 0 && index.isLive(Int32(s)) {
            if let family, index.family(Int32(s)) != family { continue }
            var i = head[s]
            while i >= 0 {
                if paths[Int(i)].peer == from.raw { out.append(index.prefix(Int32(s))); break }
                i = paths[Int(i)].next
            }
        }
        return out
    }

    /// Marks every path of `from` (of `families`) stale: kept and used, to be refreshed or swept.
    public mutating func markStale(_ from: PeerID, families: Set<IPFamily>) {
        for s in 0..<head.count where head[s] >= 0 && families.contains(index.family(Int32(s))) {
            var i = head[s]
            while i >= 0 {
                if paths[Int(i)].peer == from.raw {
                    if !paths[Int(i)].stale { paths[Int(i)].stale = true; peers[Int(from.raw)].staleCount += 1 }
                    break
                }
                i = paths[Int(i)].next
            }
        }
    }

    /// Removes the paths of `from` still stale (of `families`); returns how many went.
    @discardableResult
    public mutating func sweepStale(_ from: PeerID, families: Set<IPFamily>) -> Int {
        var gone: [IPPrefix] = []
        for s in 0..<head.count where head[s] >= 0 && families.contains(index.family(Int32(s))) {
            var i = head[s]
            while i >= 0 {
                if paths[Int(i)].peer == from.raw, paths[Int(i)].stale { gone.append(index.prefix(Int32(s))) }
                i = paths[Int(i)].next
            }
        }
        withdraw(from: from, prefixes: gone)
        return gone.count
    }

    /// Paths of the peer kept stale through its graceful restart.
    public func staleCount(_ from: PeerID) -> Int { peers[Int(from.raw)].staleCount }

    // MARK: routes out

    /// Queues every prefix (of `family`) for the peer again: a ROUTE-REFRESH request (RFC 2918)
    /// resends its Adj-RIB-Out.
    public mutating func resend(_ id: PeerID, family: IPFamily?) {
        guard peers[Int(id.raw)].up else { return }
        var p = peers[Int(id.raw)]
        peers[Int(id.raw)].pending = []
        for s in 0..<head.count where head[s] >= 0 || p.sent.contains(Int32(s)) {
            if let family, index.family(Int32(s)) != family { continue }
            if p.pendingBits.insert(Int32(s)) { p.pending.append(Int32(s)) }
        }
        peers[Int(id.raw)] = p
    }

    public func hasPending(_ id: PeerID) -> Bool { !peers[Int(id.raw)].pending.isEmpty }

    /// Takes up to `limit` pending prefixes of the peer and returns what to send for them:
    /// the best path's export (through the peer's update group, computed once per group and
    /// source attribute set), or a withdrawal where something was sent and nothing is exported
    /// now.
    public mutating func drain(_ id: PeerID, limit: Int) -> OutboundBatch {
        let i = Int(id.raw)
        let g = peers[i].group
        guard peers[i].up, g >= 0, !peers[i].pending.isEmpty, var group = groups.removeValue(forKey: g) else {
            return OutboundBatch()
        }
        if group.outputs.count > Self.maxGroupOutputs || group.memo.count > 4 * Self.maxGroupOutputs {
            // The export cache is for sets met again soon (the prefixes of one UPDATE, the
            // peers of one group): bounded, so a full table does not keep a second copy of
            // every attribute set (nor memo entries of sets long freed).
            group.memo.removeAll(keepingCapacity: true)
            group.outputs.removeAll(keepingCapacity: true)
            group.outputIndex.removeAll(keepingCapacity: true)
        }
        // Moved out, worked on, moved back: copies of these would share storage with the table
        // and every mutation would copy them whole (copy-on-write).
        var pending: [Int32] = []
        var pendingBits = SlotBits()
        var sent = SlotBits()
        swap(&pending, &peers[i].pending)
        swap(&pendingBits, &peers[i].pendingBits)
        swap(&sent, &peers[i].sent)
        var sentCount = peers[i].sentCount
        let take = min(limit, pending.count)
        var batch = OutboundBatch()
        batch.group = g
        var byOutput: [Int32: [IPPrefix]] = [:]
        for k in (pending.count - take)..<pending.count {
            let s = pending[k]
            pendingBits.remove(s)
            let out = exported(slot: s, to: id.raw, group: &group)
            if out >= 0 {
                byOutput[out, default: []].append(index.prefix(s))
                if sent.insert(s) { sentCount += 1 }
            } else if sent.contains(s) {
                sent.remove(s)
                sentCount -= 1
                batch.withdrawn.append(index.prefix(s))
            }
        }
        pending.removeLast(take)
        batch.announced = byOutput.sorted { $0.key < $1.key }.map { (group.outputs[Int($0.key)], $0.value) }
        groups[g] = group
        swap(&pending, &peers[i].pending)
        swap(&pendingBits, &peers[i].pendingBits)
        swap(&sent, &peers[i].sent)
        peers[i].sentCount = sentCount
        return batch
    }

    // MARK: queries

    /// Prefixes with at least one path.
    public private(set) var prefixCount = 0
    public var attributeSetCount: Int { attributes.count }

    /// Every candidate of `prefix`, best first, with the reason each other one lost.
    public func candidates(_ prefix: IPPrefix) -> [RIBCandidate] {
        guard let s = index.find(prefix) else { return [] }
        var out: [RIBCandidate] = []
        var i = head[Int(s)]
        var best: Int32 = -1
        while i >= 0 {
            let rec = paths[Int(i)]
            var reason: LossReason?
            if best >= 0 { reason = BestPath.decide(view(best), view(i)).reason } else { best = i }
            out.append(RIBCandidate(route: route(prefix, rec), peer: PeerID(raw: rec.peer), best: reason == nil,
                                    stale: rec.stale, lossReason: reason))
            i = rec.next
        }
        return out
    }

    /// Every prefix with at least one path, sorted.
    public var prefixes: [IPPrefix] {
        (0..<head.count).compactMap { head[$0] >= 0 ? index.prefix(Int32($0)) : nil }.sorted()
    }

    public func best(_ prefix: IPPrefix) -> Route? {
        guard let s = index.find(prefix), head[Int(s)] >= 0 else { return nil }
        return route(prefix, paths[Int(head[Int(s)])])
    }

    /// The best path learned from a peer (our own announcements left out): what the node agent
    /// programs into the kernel.
    public func bestLearned(_ prefix: IPPrefix) -> Route? {
        guard let s = index.find(prefix) else { return nil }
        return bestLearned(slot: s, prefix: prefix)
    }

    /// The best path and those equal to it up to the router-ID step (ECMP), peer-learned only.
    public func multipath(_ prefix: IPPrefix) -> [Route] {
        guard let s = index.find(prefix) else { return [] }
        var i = head[Int(s)]
        var first: Int32 = -1
        var out: [Route] = []
        while i >= 0 {
            let rec = paths[Int(i)]
            if rec.peer != 0 {
                if first < 0 { first = i; out.append(route(prefix, rec)) }
                else if BestPath.multipathEqual(view(first), view(i)) { out.append(route(prefix, rec)) }
            }
            i = rec.next
        }
        return out
    }

    public var allBestLearned: [Route] {
        var out: [Route] = []
        for s in 0..<head.count where head[s] >= 0 {
            if let r = bestLearned(slot: Int32(s), prefix: index.prefix(Int32(s))) { out.append(r) }
        }
        return out
    }

    // MARK: observation

    /// Record best peer-learned route changes for `takeLearnedChanges` (off by default: it costs
    /// a copy of the old best per touched prefix).
    public mutating func setObserving(_ on: Bool, multipath: Bool = false) {
        observing = on
        observeMultipath = multipath
    }

    /// Prefixes whose best peer-learned route (with `multipath` observation: its ECMP set)
    /// changed since the last call, with the new one (nil / empty: no peer route left), in
    /// prefix order.
    public mutating func takeLearnedChanges() -> [(prefix: IPPrefix, best: Route?, multipath: [Route])] {
        guard !touched.isEmpty else { return [] }
        var out: [(IPPrefix, Route?, [Route])] = []
        for s in touched {
            touchedBits.remove(s)
            let p = index.prefix(s)
            let now = learnedSet(slot: s, prefix: p)
            if now != learnedBefore[s] { out.append((p, now.first, now)) }
        }
        touched.removeAll()
        learnedBefore.removeAll()
        reclaimEmptied()
        return out.sorted { $0.0 < $1.0 }
    }

    /// The observed set: the best peer-learned path, or the ECMP set.
    private func learnedSet(slot s: Int32, prefix: IPPrefix) -> [Route] {
        if observeMultipath { return multipath(prefix) }
        return bestLearned(slot: s, prefix: prefix).map { [$0] } ?? []
    }

    // MARK: private: paths

    private mutating func setPath(from peer: Int32, prefix: IPPrefix, attr: Int32) {
        let (s, isNew) = index.insert(prefix)
        if isNew {
            if Int(s) >= head.count { head.append(-1) } else { head[Int(s)] = -1 }
        }
        let oldBest = head[Int(s)]
        // Unchanged path (same attribute set, not stale): nothing to do.
        var i = oldBest
        var prev: Int32 = -1
        while i >= 0 {
            if paths[Int(i)].peer == peer { break }
            prev = i
            i = paths[Int(i)].next
        }
        if i >= 0, paths[Int(i)].attr == attr, !paths[Int(i)].stale { return }
        observe(s, prefix, peer: peer)
        let oldBestKey = oldBest >= 0 ? (paths[Int(oldBest)].peer, paths[Int(oldBest)].attr) : (-1, -1)
        attributes.retain(id: attr)
        if i >= 0 {
            // Unlink the peer's old path, reuse its record.
            unlink(slot: s, index: i, prev: prev)
            attributes.release(paths[Int(i)].attr)
            paths[Int(i)].attr = attr
            if paths[Int(i)].stale { paths[Int(i)].stale = false; peers[Int(peer)].staleCount -= 1 }
        } else {
            i = newPath(PathRec(peer: peer, attr: attr, next: -1, stale: false))
            peers[Int(peer)].pathCount += 1
        }
        if oldBest < 0 { prefixCount += 1 }
        insertRanked(slot: s, index: i)
        let nb = head[Int(s)]
        if (paths[Int(nb)].peer, paths[Int(nb)].attr) != oldBestKey { bestChanged(s) }
    }

    private mutating func removePath(from peer: Int32, prefix: IPPrefix) {
        guard let s = index.find(prefix) else { return }
        var i = head[Int(s)]
        var prev: Int32 = -1
        while i >= 0 {
            if paths[Int(i)].peer == peer { break }
            prev = i
            i = paths[Int(i)].next
        }
        guard i >= 0 else { return }
        observe(s, prefix, peer: peer)
        let wasBest = prev < 0
        unlink(slot: s, index: i, prev: prev)
        attributes.release(paths[Int(i)].attr)
        paths[Int(i)].attr = -1
        if paths[Int(i)].stale { paths[Int(i)].stale = false; peers[Int(peer)].staleCount -= 1 }
        freePaths.append(i)
        peers[Int(peer)].pathCount -= 1
        if wasBest { bestChanged(s) }
        if head[Int(s)] < 0 {
            prefixCount -= 1
            emptied.append(s)
        }
    }

    private mutating func withdrawAll(from id: PeerID) {
        guard peers[Int(id.raw)].pathCount > 0 else { return }
        withdraw(from: id, prefixes: prefixes(of: id))
    }

    private mutating func newPath(_ r: PathRec) -> Int32 {
        if let f = freePaths.popLast() { paths[Int(f)] = r; return f }
        paths.append(r)
        return Int32(paths.count - 1)
    }

    private mutating func unlink(slot s: Int32, index i: Int32, prev: Int32) {
        if prev < 0 { head[Int(s)] = paths[Int(i)].next } else { paths[Int(prev)].next = paths[Int(i)].next }
        paths[Int(i)].next = -1
    }

    private mutating func insertRanked(slot s: Int32, index i: Int32) {
        var prev: Int32 = -1
        var j = head[Int(s)]
        let v = view(i)
        while j >= 0, !BestPath.decide(v, view(j)).aWins {
            prev = j
            j = paths[Int(j)].next
        }
        paths[Int(i)].next = j
        if prev < 0 { head[Int(s)] = i } else { paths[Int(prev)].next = i }
    }

    /// A path as the decision process sees it.
    struct PathView: RankedPath {
        var summary: AttrSummary
        var peerType: PeerType
        var routerID: IPv4Address
        var peerAddress: IPAddress
        var weight: UInt32 { 0 }
        var localPref: UInt32 { summary.localPref }
        var isLocal: Bool { peerType == .local }
        var asPathLength: Int { Int(summary.asPathLength) }
        var origin: Origin { summary.origin }
        var med: UInt32 { summary.med }
        var neighborAS: UInt32? { summary.neighborAS == 0 ? nil : summary.neighborAS }
        var isEBGP: Bool { peerType == .ebgp }
        var effectiveRouterID: IPv4Address { summary.originatorID ?? routerID }
        var clusterListLength: Int { Int(summary.clusterListLength) }
    }

    private func view(_ i: Int32) -> PathView {
        let r = paths[Int(i)]
        let p = peers[Int(r.peer)]
        return PathView(summary: attributes.summary(r.attr), peerType: p.policy.type, routerID: p.routerID,
                        peerAddress: p.address)
    }

    private func route(_ prefix: IPPrefix, _ r: PathRec) -> Route {
        let p = peers[Int(r.peer)]
        let src: RouteSource = r.peer == 0 ? .local : .peer(p.address, ebgp: p.policy.type == .ebgp)
        return Route(prefix: prefix, source: src, attributes: attributes[r.attr])
    }

    private func bestLearned(slot s: Int32, prefix: IPPrefix) -> Route? {
        var i = head[Int(s)]
        while i >= 0 {
            if paths[Int(i)].peer != 0 { return route(prefix, paths[Int(i)]) }
            i = paths[Int(i)].next
        }
        return nil
    }

    private mutating func observe(_ s: Int32, _ prefix: IPPrefix, peer: Int32) {
        guard observing, peer != 0, touchedBits.insert(s) else { return }
        touched.append(s)
        learnedBefore[s] = learnedSet(slot: s, prefix: prefix)
    }

    // MARK: private: export

    private mutating func bestChanged(_ s: Int32) {
        for p in exportTargets where peers[Int(p)].pendingBits.insert(s) { peers[Int(p)].pending.append(s) }
    }

    /// Established peers that may be sent anything (`export: all`): only they get pending
    /// prefixes — 100 feeders with `export: none` would otherwise each queue the whole table.
    private var exportTargets: [Int32] = []

    private mutating func updateExportTargets() {
        exportTargets = (1..<peers.count).compactMap { peers[$0].up && peers[$0].policy.exportAll ? Int32($0) : nil }
    }

    private mutating func markEverything(for id: PeerID) {
        guard peers[Int(id.raw)].policy.exportAll || peers[Int(id.raw)].sentCount > 0 else { return }
        var p = peers[Int(id.raw)]
        p.pending.reserveCapacity(index.count)
        for s in 0..<head.count where head[s] >= 0 || p.sent.contains(Int32(s)) {
            if p.pendingBits.insert(Int32(s)) { p.pending.append(Int32(s)) }
        }
        // Drained from the end: reverse so the initial advertisement goes out in slot order.
        p.pending.reverse()
        peers[Int(id.raw)] = p
    }

    private mutating func markAllPathsOf(_ id: PeerID) {
        for s in 0..<head.count where head[s] >= 0 {
            var i = head[s]
            while i >= 0 {
                if paths[Int(i)].peer == id.raw { bestChanged(Int32(s)); break }
                i = paths[Int(i)].next
            }
        }
    }


    private func exportPolicy(of id: PeerID, _ pol: RIBPeerPolicy) -> ExportPolicy {
        ExportPolicy(type: pol.type, asn: pol.asn, isRRClient: pol.isRRClient, nextHopMode: pol.nextHopMode,
                     exportAll: pol.exportAll, families: pol.families, filters: pol.exportFilters,
                     localAddress: peers[Int(id.raw)].localAddress)
    }

    private mutating func regroup(_ id: PeerID) {
        let old = peers[Int(id.raw)].group
        if old >= 0 { leaveGroup(id.raw, old) }
        let pol = exportPolicy(of: id, peers[Int(id.raw)].policy)
        let g: Int
        if let existing = groupByPolicy[pol] { g = existing } else {
            g = nextGroup
            nextGroup += 1
            groups[g] = UpdateGroup(policy: pol)
            groupByPolicy[pol] = g
        }
        groups[g]!.members.insert(id.raw)
        peers[Int(id.raw)].group = g
    }

    private mutating func leaveGroup(_ peer: Int32, _ g: Int) {
        groups[g]?.members.remove(peer)
        if groups[g]?.members.isEmpty == true {
            groupByPolicy[groups[g]!.policy] = nil
            groups[g] = nil
        }
    }

    /// The output index of the best path of slot `s` exported to `target`, -1 when nothing is.
    private func exported(slot s: Int32, to target: Int32, group: inout UpdateGroup) -> Int32 {
        let b = head[Int(s)]
        guard b >= 0 else { return -1 }
        let rec = paths[Int(b)]
        let src = peers[Int(rec.peer)]
        // Never back to the peer it came from.
        if rec.peer == target { return -1 }
        let key = UInt64(UInt32(bitPattern: rec.peer)) << 32 | UInt64(UInt32(bitPattern: rec.attr))
        let attrGen = attributes.generation[Int(rec.attr)]
        let cacheable = group.policy.filters.isEmpty
        if cacheable, let m = group.memo[key], m.attrGeneration == attrGen, m.peerGeneration == src.generation {
            return m.out
        }
        let prefix = index.prefix(s)
        let source = PathSource(type: src.policy.type, routerID: src.routerID, isRRClient: src.policy.isRRClient)
        var out: Int32 = -1
        if let a = RIBPolicy.export(attributes[rec.attr], prefix: prefix, from: source, to: group.policy, local: local) {
            if let o = group.outputIndex[a] { out = o } else {
                out = Int32(group.outputs.count)
                group.outputs.append(a)
                group.outputIndex[a] = out
            }
        }
        if cacheable { group.memo[key] = .init(out: out, attrGeneration: attrGen, peerGeneration: src.generation) }
        return out
    }

    /// Frees the slots of prefixes without paths once no peer still has them pending or sent
    /// and no observation refers to them. The speaker calls it after sending (a withdrawal of
    /// the whole table frees a million slots: not on the way to the wire).
    public mutating func reclaimEmptied() {
        // Only once every peer's output is drained: until then the slots are still pending
        // (and a scan per flush over a million emptied slots would be quadratic).
        guard !emptied.isEmpty, touched.isEmpty,
              exportTargets.allSatisfy({ peers[Int($0)].pending.isEmpty }) else { return }
        var keep: [Int32] = []
        var gone: [Int32] = []
        let up = (1..<peers.count).filter { peers[$0].up }
        slots: for s in emptied where head[Int(s)] < 0 && index.isLive(s) {
            for p in up where peers[p].pendingBits.contains(s) || peers[p].sent.contains(s) {
                keep.append(s)
                continue slots
            }
            gone.append(s)
        }
        index.remove(gone)
        emptied = keep
    }

}
