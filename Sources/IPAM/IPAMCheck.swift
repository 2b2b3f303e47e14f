import Datastore
import NetCore
import NodeModel

/// One inconsistency found by `IPAMCheck`.
public struct IPAMProblem: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case unreadableRecord, blockSize, freeList, attribute, ownerless, handleCount, leakedHandle
        case leakedAllocation, overlappingBlocks, danglingAffinity, affinityMismatch
        /// A pod's address (attributes name a pod) whose WorkloadEndpoint is gone.
        case orphanedPodAddress
        /// A WorkloadEndpoint's address that IPAM does not hold for its container.
        case endpointAddressNotAllocated
    }
    public var kind: Kind
    /// The key of the record at fault.
    public var key: String
    public var detail: String
    public var description: String { "\(key): \(detail)" }
}

/// Consistency check of the IPAM records (calicoctl `ipam check`): free lists, owners, handle
/// counts, overlapping blocks, affinities. Returns every problem; empty = consistent.
public enum IPAMCheck {
    public static func run(store: any Datastore) throws(IPAMError) -> [IPAMProblem] {
        let db = IPAMStore(store: store)
        var problems: [IPAMProblem] = []
        func add(_ k: IPAMProblem.Kind, _ key: String, _ d: String) { problems.append(IPAMProblem(kind: k, key: key, detail: d)) }

        // Blocks.
        let blockPairs = try db.run({ () throws(DatastoreError) in try store.list(prefix: ResourceKeys.ipamRoot + "assignment/") }).pairs
        var blocks: [(key: String, spec: IPAMBlockSpec, cidr: IPPrefix)] = []
        for kv in blockPairs {
            do {
                let b = try db.decodeBlock(kv)
                if let p = b.prefix { blocks.append((kv.key, b, p)) }
            } catch {
                add(.unreadableRecord, kv.key, "\(error)")
            }
        }
        var usage: [String: [String: Int]] = [:]   // handle → block cidr → count
        var owners: [IPAddress: String] = [:]       // address → handle
        var podAllocations: [(key: String, ip: IPAddress, handle: String, pod: String)] = []
        for (key, b, cidr) in blocks {
            let size = Int(min(cidr.addressCount, 1 << 20))
            if b.allocations.count != size {
                add(.blockSize, key, "allocations has \(b.allocations.count) entries, block \(cidr) has \(size) addresses")
            }
            var seen = Set<Int>()
            for o in b.unallocated {
                if !b.allocations.indices.contains(o) { add(.freeList, key, "free list holds ordinal \(o), outside the block") }
                else if b.allocations[o] != nil { add(.freeList, key, "ordinal \(o) (\(cidr.address(at: UInt64(o)))) is both allocated and free") }
                if !seen.insert(o).inserted { add(.freeList, key, "ordinal \(o) is twice in the free list") }
            }
            let allocated = b.allocatedCount
            if b.unallocated.count + allocated != b.allocations.count {
                add(.freeList, key, "\(b.unallocated.count) free + \(allocated) allocated != \(b.allocations.count) addresses")
            }
            for (o, a) in b.allocations.enumerated() {
                guard let a else { continue }
                let ip = cidr.address(at: UInt64(o))
                guard b.attributes.indices.contains(a) else {
                    add(.attribute, key, "\(ip) points at attribute \(a), block has \(b.attributes.count)")
                    continue
                }
                guard let h = b.attributes[a].handleID, !h.isEmpty else {
                    add(.ownerless, key, "\(ip) is allocated without a handle")
                    continue
                }
                usage[h, default: [:]][cidr.description, default: 0] += 1
                owners[ip] = h
                if let pod = b.attributes[a].secondary["pod"] { podAllocations.append((key, ip, h, pod)) }
            }
        }
        for i in blocks.indices {
            for j in blocks.indices where j > i && blocks[i].cidr.overlaps(blocks[j].cidr) {
                add(.overlappingBlocks, blocks[j].key, "block \(blocks[j].cidr) overlaps block \(blocks[i].cidr): their addresses are in two blocks")
            }
        }

        // Handles against the blocks.
        let handlePairs = try db.run({ () throws(DatastoreError) in try store.list(prefix: ResourceKeys.listPrefix(kind: .ipamHandle)) }).pairs
        var handles: Set<String> = []
        for kv in handlePairs {
            guard case .handle(let id)? = ResourceKeys.parse(kv.key) else { continue }
            handles.insert(id)
            guard let v = try? Value(jsonBytes: kv.value), let h = try? IPAMHandleSpec(handleID: id, storage: v) else {
                add(.unreadableRecord, kv.key, "not a valid handle record"); continue
            }
            let actual = usage[id] ?? [:]
            if actual.isEmpty { add(.leakedHandle, kv.key, "handle holds no address in any block (recorded \(h.block))") ; continue }
            for (cidr, n) in h.block.sorted(by: { $0.key < $1.key }) where actual[cidr] ?? 0 != n {
                add(.handleCount, kv.key, "records \(n) address(es) in \(cidr), the block has \(actual[cidr] ?? 0)")
            }
            for (cidr, n) in actual.sorted(by: { $0.key < $1.key }) where h.block[cidr] == nil {
                add(.handleCount, kv.key, "holds \(n) address(es) in \(cidr) the handle does not record")
            }
        }
        for (id, per) in usage.sorted(by: { $0.key < $1.key }) where !handles.contains(id) {
            add(.leakedAllocation, ResourceKeys.handle(id), "no handle record, yet it holds \(per.values.reduce(0, +)) address(es) in \(per.keys.sorted().joined(separator: ", "))")
        }

        // Affinities against blocks.
        let blockByCIDR = Dictionary(blocks.map { ($0.cidr, $0) }, uniquingKeysWith: { a, _ in a })
        let affPairs = try db.run({ () throws(DatastoreError) in try store.list(prefix: ResourceKeys.ipamRoot + "host/") }).pairs
        var affine: Set<String> = []
        for kv in affPairs {
            guard case .affinity(let node, let cidr, _)? = ResourceKeys.parse(kv.key) else {
                add(.unreadableRecord, kv.key, "not a block affinity key"); continue
            }
            affine.insert("\(node)|\(cidr)")
            guard let b = blockByCIDR[cidr] else { add(.danglingAffinity, kv.key, "node \(node) is affine to block \(cidr), which does not exist"); continue }
            if b.spec.hostAffinity != node {
                add(.affinityMismatch, kv.key, "block \(cidr) says affinity \(b.spec.affinity ?? "none"), not host:\(node)")
            }
        }
        for (key, b, cidr) in blocks {
            if let node = b.hostAffinity, !affine.contains("\(node)|\(cidr)") {
                add(.affinityMismatch, key, "block is affine to host:\(node), which has no affinity record for it")
            }
        }
        // Workload endpoints against the allocations.
        let wepPairs = try db.run({ () throws(DatastoreError) in try store.list(prefix: ResourceKeys.listPrefix(kind: .workloadEndpoint)) }).pairs
        var containers: Set<String> = []
        for kv in wepPairs {
            guard case .workloadEndpoint(let w)? = try? ResourceStorage.decode(key: kv.key, bytes: kv.value) else { continue }
            containers.insert(w.spec.containerID)
            for net in w.spec.ipNetworks {
                guard let ip = IPAddress(String(net.split(separator: "/")[0])), ip.family == .v4 else { continue }
                if owners[ip] == nil {
                    add(.endpointAddressNotAllocated, kv.key, "endpoint address \(ip) is not allocated in IPAM")
                } else if !w.spec.containerID.isEmpty, owners[ip] != w.spec.containerID {
                    add(.endpointAddressNotAllocated, kv.key, "endpoint address \(ip) is held by handle \(owners[ip]!), not by container \(w.spec.containerID)")
                }
            }
        }
        for p in podAllocations where !containers.contains(p.handle) {
            add(.orphanedPodAddress, p.key, "\(p.ip) is allocated to pod \(p.pod) (handle \(p.handle)), which has no WorkloadEndpoint")
        }
        return problems
    }
}

/// Address usage per pool and block, for `ipam show`.
public struct IPAMUsage: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        public var cidr: IPPrefix
        public var total: UInt64
        public var inUse: UInt64
        public var affinity: String?
    }
    public var pools: [Row]
    public var blocks: [Row]

    public static func collect(store: any Datastore) throws(IPAMError) -> IPAMUsage {
        let db = IPAMStore(store: store)
        let blocks = try db.allBlocks().compactMap { b -> Row? in
            guard let p = b.spec.prefix else { return nil }
            return Row(cidr: p, total: UInt64(b.spec.allocations.count), inUse: UInt64(b.spec.allocatedCount), affinity: b.spec.affinity)
        }.sorted { $0.cidr < $1.cidr }
        let pools = try db.pools().compactMap { pool -> Row? in
            guard let p = IPPrefix(pool.spec.cidr) else { return nil }
            let used = blocks.filter { p.contains($0.cidr) }.reduce(UInt64(0)) { $0 + $1.inUse }
            return Row(cidr: p, total: p.addressCount, inUse: used, affinity: nil)
        }.sorted { $0.cidr < $1.cidr }
        return IPAMUsage(pools: pools, blocks: blocks)
    }
}
