import Datastore
import NetCore
import NodeModel

/// Typed reads of the IPAM records (and the pools, config and node labels IPAM depends on),
/// each with its revision for the optimistic write that follows.
struct IPAMStore {
    let store: any Datastore

    static let blockRoot = ResourceKeys.ipamRoot + "assignment/ipv4/block/"

    func run<T>(_ body: () throws(DatastoreError) -> T) throws(IPAMError) -> T {
        do { return try body() } catch { throw .datastore(error) }
    }

    func block(_ cidr: IPPrefix) throws(IPAMError) -> (spec: IPAMBlockSpec, revision: Int64)? {
        let key = ResourceKeys.block(cidr)
        guard let kv = try run({ () throws(DatastoreError) in try store.get(key) }) else { return nil }
        return (try decodeBlock(kv), kv.revision)
    }

    /// The block unless its stored JSON shows an empty free list (`"unallocated":[]`, as both
    /// Calico and Twill write it compactly): full blocks are skipped without being decoded.
    func blockWithFreeAddresses(_ cidr: IPPrefix) throws(IPAMError) -> (spec: IPAMBlockSpec, revision: Int64)? {
        let key = ResourceKeys.block(cidr)
        guard let kv = try run({ () throws(DatastoreError) in try store.get(key) }) else { return nil }
        if Self.contains(kv.value, Self.emptyFreeList) { return nil }
        let spec = try decodeBlock(kv)
        return spec.unallocated.isEmpty ? nil : (spec, kv.revision)
    }

    static let emptyFreeList = Array(#""unallocated":[]"#.utf8)

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    func decodeBlock(_ kv: KVPair) throws(IPAMError) -> IPAMBlockSpec {
        do {
            var spec = try IPAMBlockSpec(from: try Value(jsonBytes: kv.value), at: .root)
            if spec.cidr.isEmpty, case .block(let p)? = ResourceKeys.parse(kv.key) { spec.cidr = p.description }
            guard spec.prefix != nil else { throw IPAMError.corrupt(key: kv.key, reason: "cidr \"\(spec.cidr)\" does not parse") }
            return spec
        } catch let e as IPAMError { throw e } catch {
            throw .corrupt(key: kv.key, reason: "\(error)")
        }
    }

    /// Every IPv4 block, decoded, with revisions.
    func allBlocks() throws(IPAMError) -> [(spec: IPAMBlockSpec, revision: Int64)] {
        let list = try run({ () throws(DatastoreError) in try store.list(prefix: Self.blockRoot) })
        var out: [(spec: IPAMBlockSpec, revision: Int64)] = []
        for kv in list.pairs { out.append((try decodeBlock(kv), kv.revision)) }
        return out
    }

    /// CIDRs of every IPv4 block (keys only, nothing decoded).
    func blockCIDRs() throws(IPAMError) -> [IPPrefix] { try blockCIDRsWithCreation().map(\.cidr) }

    /// CIDRs of every IPv4 block with the revision each was created at.
    func blockCIDRsWithCreation() throws(IPAMError) -> [(cidr: IPPrefix, created: Int64)] {
        try run({ () throws(DatastoreError) in try store.list(prefix: Self.blockRoot) }).pairs.compactMap {
            if case .block(let p)? = ResourceKeys.parse($0.key) { return (p, $0.createRevision) }
            return nil
        }
    }

    func handle(_ id: String) throws(IPAMError) -> (spec: IPAMHandleSpec, revision: Int64)? {
        let key = ResourceKeys.handle(id)
        guard let kv = try run({ () throws(DatastoreError) in try store.get(key) }) else { return nil }
        do {
            return (try IPAMHandleSpec(handleID: id, storage: try Value(jsonBytes: kv.value)), kv.revision)
        } catch {
            throw .corrupt(key: key, reason: "\(error)")
        }
    }

    /// IPv4 block CIDRs affine to `node` (confirmed or pending, not deleted).
    func affineBlocks(node: String) throws(IPAMError) -> [IPPrefix] { try affineBlocksAt(node: node).cidrs }

    /// The node's affine blocks and the store revision of that listing.
    func affineBlocksAt(node: String) throws(IPAMError) -> (cidrs: [IPPrefix], revision: Int64) {
        let prefix = ResourceKeys.affinityPrefix(node: node) + "ipv4/block/"
        let list = try run({ () throws(DatastoreError) in try store.list(prefix: prefix) })
        return (try affinities(list, node: node), list.revision)
    }

    private func affinities(_ list: KVList, node: String) throws(IPAMError) -> [IPPrefix] {
        list.pairs.compactMap {
            guard case .affinity(_, let cidr, _)? = ResourceKeys.parse($0.key) else { return nil }
            if let v = try? Value(jsonBytes: $0.value), let a = try? BlockAffinitySpec(node: node, cidr: cidr, storage: v),
               a.deleted == "true" || a.state == .pendingDeletion { return nil }
            return cidr
        }.sorted()
    }

    func settings() throws(IPAMError) -> IPAMSettings {
        guard let kv = try run({ () throws(DatastoreError) in try store.get(ResourceKeys.ipamConfig) }) else { return IPAMSettings() }
        do {
            let c = try IPAMConfigurationSpec(storage: try Value(jsonBytes: kv.value))
            return IPAMSettings(strictAffinity: c.strictAffinity, autoAllocateBlocks: c.autoAllocateBlocks ?? true,
                                maxBlocksPerHost: c.maxBlocksPerHost)
        } catch {
            throw .corrupt(key: kv.key, reason: "\(error)")
        }
    }

    /// Every IPPool, with Calico's defaults applied (blockSize, nodeSelector, allowedUses).
    func pools() throws(IPAMError) -> [IPPool] {
        let list = try run({ () throws(DatastoreError) in try store.list(prefix: ResourceKeys.listPrefix(kind: .ipPool)) })
        var out: [IPPool] = []
        for kv in list.pairs {
            do {
                guard case .ipPool(var p) = try ResourceStorage.decode(key: kv.key, bytes: kv.value, revision: kv.revision) else { continue }
                p.spec = p.spec.withDefaults()
                out.append(p)
            } catch {
                throw .corrupt(key: kv.key, reason: "\(error)")
            }
        }
        return out
    }

    /// The Node resource's labels; empty when the node is not registered.
    func nodeLabels(_ node: String) throws(IPAMError) -> [String: String] {
        let key = ResourceKeys.key(kind: .node, name: node)
        guard let kv = try run({ () throws(DatastoreError) in try store.get(key) }) else { return [:] }
        do {
            return try ResourceStorage.decode(key: key, bytes: kv.value).metadata.labels
        } catch {
            throw .corrupt(key: key, reason: "\(error)")
        }
    }

    static func bytes(_ v: Value) -> [UInt8] { Array(v.json.utf8) }
    static func bytes(_ b: IPAMBlockSpec) -> [UInt8] { bytes(b.toValue()) }
}
