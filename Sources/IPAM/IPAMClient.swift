import Datastore
import Glibc
import NetCore
import NodeModel

/// Calico-style IPAM with block affinity over any `Datastore` (calico-ipam's `ipamClient`).
///
/// Every write is a single `commit` guarded by the revisions just read (block + handle, or
/// affinity + block when claiming), so concurrent processes on one store never hand out the same
/// address: the loser of a race gets a precondition failure, re-reads and tries again.
public struct IPAMClient: Sendable {
    public let store: any Datastore
    /// Attempts per operation before giving up with `.contention`.
    public var maxAttempts: Int

    public init(store: any Datastore, maxAttempts: Int = 1000) {
        self.store = store
        self.maxAttempts = maxAttempts
    }

    var db: IPAMStore { IPAMStore(store: store) }

    // MARK: Assign

    /// Assigns `request.count` IPv4 addresses: from the node's affine blocks first, then from a
    /// newly claimed block (autoAllocateBlocks, maxBlocksPerHost), then by borrowing from other
    /// nodes' blocks when strictAffinity is off. All or nothing: on failure nothing stays assigned.
    public func autoAssign(_ request: AssignRequest) throws(IPAMError) -> [IPAddress] {
        guard request.count > 0 else { return [] }
        guard !request.handleID.isEmpty else { throw .invalidRequest("handle ID is empty") }
        guard !request.node.isEmpty else { throw .invalidRequest("node name is empty") }
        let settings = try db.settings()
        let pools = try eligiblePools(request)
        var got: [IPAddress] = []
        do {
            try retrying("assign for \(request.handleID)") { () throws(IPAMError) -> Bool in
                got += try assignOnce(request, remaining: request.count - got.count, pools: pools, settings: settings)
                return got.count == request.count
            }
        } catch {
            // All or nothing: give back what a multi-address request already took.
            for ip in got { _ = try? release(ip) }
            throw error
        }
        return got
    }

    /// Assigns one specific address (Calico's `AssignIP`); `.invalidRequest` if it is in use or
    /// in no enabled pool. The address's block is claimed for `node` if it does not exist yet.
    public func assign(_ ip: IPAddress, handleID: String, node: String, attributes: [String: String] = [:]) throws(IPAMError) {
        guard case .v4 = ip else { throw .invalidRequest("only IPv4 is supported, got \(ip)") }
        guard let pool = try db.pools().first(where: { IPPrefix($0.spec.cidr)?.contains(ip) ?? false }), !pool.spec.disabled else {
            throw .invalidRequest("\(ip) is not in an enabled IP pool")
        }
        let cidr = IPPrefix(ip, length: pool.spec.blockSize)
        try retrying("assign \(ip)") { () throws(IPAMError) -> Bool in
            guard let (block, rev) = try db.block(cidr) else {
                try claim(cidr, node: node)
                return false
            }
            var b = block
            guard b.assign(ip, handleID: handleID, attributes: attributes) else {
                throw .invalidRequest("\(ip) is already assigned")
            }
            try commit([.update(key: ResourceKeys.block(cidr), value: IPAMStore.bytes(b), expectedRevision: rev)]
                       + handleOps(handleID, cidr: cidr, delta: 1))
            return true
        }
    }

    /// The address of a node's IPIP or VXLAN tunnel device: the one already held by
    /// `ipip-tunnel-addr-<node>` / `vxlan-tunnel-addr-<node>`, else a new one from a pool
    /// allowing `Tunnel`.
    public func tunnelAddress(node: String, kind: TunnelKind, nodeLabels: [String: String]? = nil) throws(IPAMError) -> IPAddress {
        let handle = kind.handleID(node: node)
        if let ip = try addresses(handleID: handle).first { return ip }
        let req = AssignRequest(handleID: handle, node: node, attributes: ["node": node, "type": kind.attributeType],
                                use: .tunnel, nodeLabels: nodeLabels)
        guard let ip = try autoAssign(req).first else { throw .exhausted("no tunnel address for \(node)") }
        return ip
    }

    // MARK: Release

    /// Frees every address of `handleID` and deletes the handle; returns what was freed.
    /// A handle that does not exist frees nothing (DEL is idempotent).
    @discardableResult
    public func release(handleID: String) throws(IPAMError) -> [IPAddress] {
        var freed: [IPAddress] = []
        try retrying("release \(handleID)") { () throws(IPAMError) -> Bool in
            guard let (handle, hrev) = try db.handle(handleID) else { return true }
            let hkey = ResourceKeys.handle(handleID)
            guard let (cidrText, _) = handle.block.sorted(by: { $0.key < $1.key }).first else {
                try commit([.delete(key: hkey, expectedRevision: hrev)])
                return true
            }
            var rest = handle
            rest.block[cidrText] = nil
            var ops: [KVOperation] = []
            var ips: [IPAddress] = []
            if let cidr = IPPrefix(cidrText), let (block, brev) = try db.block(cidr) {
                var b = block
                ips = b.release(handleID: handleID)
                if !ips.isEmpty { ops.append(.update(key: ResourceKeys.block(cidr), value: IPAMStore.bytes(b), expectedRevision: brev)) }
            }
            ops.append(rest.block.isEmpty ? .delete(key: hkey, expectedRevision: hrev)
                                          : .update(key: hkey, value: IPAMStore.bytes(rest.storageValue), expectedRevision: hrev))
            try commit(ops)
            freed += ips
            return rest.block.isEmpty
        }
        return freed
    }

    /// Frees one address and decrements its handle; returns the handle that held it.
    /// `.notAllocated` if the address is not assigned.
    @discardableResult
    public func release(_ ip: IPAddress) throws(IPAMError) -> String? {
        var owner: String? = nil
        try retrying("release \(ip)") { () throws(IPAMError) -> Bool in
            guard let (block, brev) = try blockContaining(ip) else { throw .notAllocated(ip) }
            var b = block
            guard let handle = b.release(ip), let cidr = b.prefix else { throw .notAllocated(ip) }
            var ops: [KVOperation] = [.update(key: ResourceKeys.block(cidr), value: IPAMStore.bytes(b), expectedRevision: brev)]
            if let handle { ops += try handleOps(handle, cidr: cidr, delta: -1) }
            try commit(ops)
            owner = handle
            return true
        }
        return owner
    }

    /// Gives up `node`'s block affinities (Calico's `ReleaseHostAffinities`, when a node is
    /// deleted): empty blocks are deleted with their affinity; blocks still holding addresses
    /// lose their affinity (they become borrowable) unless `onlyEmpty`. One commit per block.
    /// Returns the blocks deleted and the blocks kept without affinity.
    @discardableResult
    public func releaseAffinities(node: String, onlyEmpty: Bool = false) throws(IPAMError) -> (deleted: [IPPrefix], unaffined: [IPPrefix]) {
        var deleted: [IPPrefix] = [], unaffined: [IPPrefix] = []
        for cidr in try db.affineBlocks(node: node) {
            try retrying("release affinity \(cidr)") { () throws(IPAMError) -> Bool in
                let affKey = ResourceKeys.affinity(node: node, cidr: cidr)
                guard let aff = try db.run({ () throws(DatastoreError) in try store.get(affKey) }) else { return true }
                guard let (block, rev) = try db.block(cidr) else {
                    try commit([.delete(key: affKey, expectedRevision: aff.revision)])
                    return true
                }
                let blockKey = ResourceKeys.block(cidr)
                if block.allocatedCount == 0 {
                    try commit([.delete(key: blockKey, expectedRevision: rev), .delete(key: affKey, expectedRevision: aff.revision)])
                    deleted.append(cidr)
                } else if !onlyEmpty {
                    var b = block
                    if b.hostAffinity == node { b.affinity = nil }
                    try commit([.update(key: blockKey, value: IPAMStore.bytes(b), expectedRevision: rev),
                                .delete(key: affKey, expectedRevision: aff.revision)])
                    unaffined.append(cidr)
                }
                return true
            }
        }
        return (deleted, unaffined)
    }

    // MARK: Queries

    /// Addresses held by `handleID`, in block order.
    public func addresses(handleID: String) throws(IPAMError) -> [IPAddress] {
        guard let (handle, _) = try db.handle(handleID) else { return [] }
        var out: [IPAddress] = []
        for cidrText in handle.block.keys.sorted() {
            guard let cidr = IPPrefix(cidrText), let (b, _) = try db.block(cidr) else { continue }
            out += b.addresses(handleID: handleID)
        }
        return out
    }

    /// The block holding `ip`, if any.
    public func blockContaining(_ ip: IPAddress) throws(IPAMError) -> (spec: IPAMBlockSpec, revision: Int64)? {
        // Fast path: the pool's block size gives the block's CIDR.
        for pool in try db.pools() {
            guard let p = IPPrefix(pool.spec.cidr), p.contains(ip), p.family == ip.family else { continue }
            if let b = try db.block(IPPrefix(ip, length: pool.spec.blockSize)) { return b }
        }
        guard let cidr = try db.blockCIDRs().first(where: { $0.contains(ip) }) else { return nil }
        return try db.block(cidr)
    }

    /// Pools `node` may take `use` addresses from (enabled, IPv4, nodeSelector matching).
    public func usablePools(node: String, use: IPPoolAllowedUse = .workload) throws(IPAMError) -> [IPPrefix] {
        do {
            return try eligiblePools(AssignRequest(handleID: "-", node: node, use: use)).map(\.cidr)
        } catch .noPools {
            return []
        }
    }

    /// Every IPv4 block, in key order.
    public func blocks() throws(IPAMError) -> [IPAMBlockSpec] { try db.allBlocks().map(\.spec) }

    /// The effective IPAM configuration.
    public func settings() throws(IPAMError) -> IPAMSettings { try db.settings() }

    // MARK: Internals

    /// Enabled IPv4 pools allowing the use whose nodeSelector matches the node, in request order
    /// (or pool CIDR order).
    func eligiblePools(_ request: AssignRequest) throws(IPAMError) -> [(cidr: IPPrefix, blockSize: Int)] {
        let all = try db.pools()
        let labels: [String: String]
        if let given = request.nodeLabels { labels = given } else { labels = try db.nodeLabels(request.node) }
        func usable(_ p: IPPool) -> Bool {
            guard let cidr = IPPrefix(p.spec.cidr), cidr.family == .v4, !p.spec.disabled,
                  p.spec.allowedUses.contains(request.use), p.spec.assignmentMode != .manual || !request.pools.isEmpty
            else { return false }
            guard let sel = try? Selector(p.spec.nodeSelector) else { return false }
            return sel.matches(labels)
        }
        if !request.pools.isEmpty {
            var out: [(cidr: IPPrefix, blockSize: Int)] = []
            for want in request.pools {
                guard let p = all.first(where: { IPPrefix($0.spec.cidr) == want }) else {
                    throw .invalidRequest("IP pool \(want) does not exist")
                }
                if p.spec.disabled { throw .invalidRequest("IP pool \(want) is disabled") }
                guard usable(p) else { throw .noPools("IP pool \(want) does not allow \(request.use.rawValue) addresses on node \(request.node)") }
                out.append((want, p.spec.blockSize))
            }
            return out
        }
        let out: [(cidr: IPPrefix, blockSize: Int)] = all.filter(usable)
            .compactMap { (p: IPPool) -> (cidr: IPPrefix, blockSize: Int)? in IPPrefix(p.spec.cidr).map { ($0, p.spec.blockSize) } }
            .sorted { $0.cidr < $1.cidr }
        if out.isEmpty {
            throw .noPools("no enabled IPv4 pool allows \(request.use.rawValue) addresses on node \(request.node)")
        }
        return out
    }

    /// One pass: affine blocks, else claim a block (returns nothing so the caller loops and
    /// assigns from it), else borrow. Throws `.exhausted` when none of these can help.
    func assignOnce(_ req: AssignRequest, remaining: Int, pools: [(cidr: IPPrefix, blockSize: Int)],
                    settings: IPAMSettings) throws(IPAMError) -> [IPAddress] {
        let inPools = { (b: IPPrefix) in pools.contains { $0.cidr.contains(b) } }
        let (affine, listedAt) = try db.affineBlocksAt(node: req.node)
        for cidr in affine where inPools(cidr) {
            guard let (block, rev) = try db.blockWithFreeAddresses(cidr), !block.deleted else { continue }
            return try take(from: block, revision: rev, req, remaining: remaining)
        }
        if settings.autoAllocateBlocks, settings.maxBlocksPerHost == 0 || affine.count < settings.maxBlocksPerHost {
            switch try freeBlock(in: pools, claimedAfter: listedAt) {
            case .some(.some(let cidr)):
                try claim(cidr, node: req.node)
                return []
            case .some(.none):
                // A block was claimed since the affinities were listed (maybe by another
                // process for this node): look again rather than claim a second one.
                Self.backoff(1)
                return []
            case .none:
                break
            }
        }
        if !settings.strictAffinity, settings.autoAllocateBlocks {
            for (block, rev) in try db.allBlocks() {
                guard let cidr = block.prefix, inPools(cidr), block.hostAffinity != req.node,
                      !block.unallocated.isEmpty, !block.deleted else { continue }
                return try take(from: block, revision: rev, req, remaining: remaining)
            }
        }
        var why = "every block of \(pools.map { $0.cidr.description }.joined(separator: ", ")) available to node \(req.node) is full"
        if !settings.autoAllocateBlocks { why += " and autoAllocateBlocks is off" }
        else if settings.maxBlocksPerHost > 0 && affine.count >= settings.maxBlocksPerHost {
            why += " and the node holds maxBlocksPerHost (\(settings.maxBlocksPerHost)) blocks"
        }
        if settings.strictAffinity { why += " (strictAffinity: no borrowing)" }
        throw .exhausted(why)
    }

    private func take(from block: IPAMBlockSpec, revision: Int64, _ req: AssignRequest, remaining: Int) throws(IPAMError) -> [IPAddress] {
        var b = block
        let ips = b.assign(count: remaining, handleID: req.handleID, attributes: req.attributes)
        guard let cidr = b.prefix, !ips.isEmpty else { return [] }
        try commit([.update(key: ResourceKeys.block(cidr), value: IPAMStore.bytes(b), expectedRevision: revision)]
                   + handleOps(req.handleID, cidr: cidr, delta: ips.count))
        return ips
    }

    /// Writes the affinity and the empty block in one commit; both must not exist.
    func claim(_ cidr: IPPrefix, node: String) throws(IPAMError) {
        let affinity = BlockAffinitySpec(node: node, cidr: cidr, state: .confirmed)
        let block = IPAMBlockSpec(cidr: cidr, affinity: "host:" + node)
        try commit([
            .create(key: ResourceKeys.affinity(node: node, cidr: cidr), value: IPAMStore.bytes(affinity.storageValue)),
            .create(key: ResourceKeys.block(cidr), value: IPAMStore.bytes(block)),
        ])
    }

    /// The first block-sized CIDR of the pools that no existing block overlaps; `.some(nil)`
    /// when a block was created after revision `claimedAfter` (the caller's view is stale).
    func freeBlock(in pools: [(cidr: IPPrefix, blockSize: Int)], claimedAfter: Int64? = nil) throws(IPAMError) -> IPPrefix?? {
        let listed = try db.blockCIDRsWithCreation()
        if let claimedAfter, listed.contains(where: { $0.created > claimedAfter }) { return .some(nil) }
        let existing = listed.map(\.cidr)
        for (pool, size) in pools where size >= pool.length {
            let same = Set(existing.filter { $0.length == size && pool.contains($0) })
            let other = existing.filter { $0.length != size && $0.overlaps(pool) }
            let count = UInt64(1) << UInt64(size - pool.length)
            let step = UInt64(1) << UInt64(pool.family.bitWidth - size)
            var i: UInt64 = 0
            while i < count {
                let cand = IPPrefix(pool.address(at: i &* step), length: size)
                if !same.contains(cand) && !other.contains(where: { $0.overlaps(cand) }) { return .some(cand) }
                i += 1
            }
        }
        return nil
    }

    /// Create or update the handle so it counts `delta` more (or fewer) addresses in `cidr`.
    func handleOps(_ id: String, cidr: IPPrefix, delta: Int) throws(IPAMError) -> [KVOperation] {
        let key = ResourceKeys.handle(id)
        let c = cidr.description
        guard let (h, rev) = try db.handle(id) else {
            guard delta > 0 else { return [] }
            return [.create(key: key, value: IPAMStore.bytes(IPAMHandleSpec(handleID: id, block: [c: delta]).storageValue))]
        }
        var n = h
        let count = (n.block[c] ?? 0) + delta
        n.block[c] = count > 0 ? count : nil
        if n.block.isEmpty { return [.delete(key: key, expectedRevision: rev)] }
        return [.update(key: key, value: IPAMStore.bytes(n.storageValue), expectedRevision: rev)]
    }

    func commit(_ ops: [KVOperation]) throws(IPAMError) {
        do { try store.commit(ops) } catch { throw .datastore(error) }
    }

    /// Runs `body` until it reports done; a lost race (conflict, already exists, vanished key)
    /// re-runs it after a short random pause.
    func retrying(_ what: String, _ body: () throws(IPAMError) -> Bool) throws(IPAMError) {
        var attempt = 0
        while true {
            do {
                if try body() { return }
                attempt += 1   // progress (a block claimed), not a conflict: still bounded
            } catch .datastore(let e) where Self.isRace(e) {
                attempt += 1
                Self.backoff(attempt)
            }
            if attempt >= maxAttempts { throw .contention("\(what): gave up after \(attempt) attempts") }
        }
    }

    static func isRace(_ e: DatastoreError) -> Bool {
        switch e {
        case .conflict, .alreadyExists, .notFound: true
        default: false
        }
    }

    static func backoff(_ attempt: Int) {
        let capMicros = min(1 << min(attempt, 14), 20_000)
        usleep(UInt32(Int.random(in: 0...capMicros)))
    }
}
