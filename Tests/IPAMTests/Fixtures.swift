import Datastore
import IPAM
import NetCore
import NodeModel

/// Builds IPAM scenarios in a store.
struct Fixture {
    let store: any Datastore
    var ipam: IPAMClient { IPAMClient(store: store) }

    init(store: any Datastore = MemoryDatastore()) { self.store = store }

    func pool(_ name: String, _ cidr: String, blockSize: Int = 26, disabled: Bool = false,
              nodeSelector: String = "", uses: [IPPoolAllowedUse] = []) throws {
        var spec = IPPoolSpec(cidr: cidr)
        spec.blockSize = blockSize; spec.disabled = disabled; spec.nodeSelector = nodeSelector; spec.allowedUses = uses
        let r = Resource(IPPool(metadata: ObjectMeta(name: name), spec: spec.withDefaults()))
        try store.put(ResourceKeys.key(for: r), value: ResourceStorage.bytes(for: r))
    }

    func config(strict: Bool = false, auto: Bool = true, maxBlocks: Int = 0) throws {
        var c = IPAMConfigurationSpec()
        c.strictAffinity = strict; c.autoAllocateBlocks = auto; c.maxBlocksPerHost = maxBlocks
        let r = Resource(IPAMConfiguration(metadata: ObjectMeta(name: "default"), spec: c))
        try store.put(ResourceKeys.key(for: r), value: ResourceStorage.bytes(for: r))
    }

    func node(_ name: String, labels: [String: String]) throws {
        var n = Node(metadata: ObjectMeta(name: name, labels: labels))
        n.spec.bgp = NodeBGPSpec(ipv4Address: "192.0.2.1/24")
        let r = Resource(n)
        try store.put(ResourceKeys.key(for: r), value: ResourceStorage.bytes(for: r))
    }

    func assign(_ handle: String, node: String = "node-a", count: Int = 1) throws(IPAMError) -> [IPAddress] {
        try ipam.autoAssign(AssignRequest(handleID: handle, node: node, count: count, attributes: ["node": node]))
    }

    func block(_ cidr: String) throws -> IPAMBlockSpec? {
        guard let kv = try store.get(ResourceKeys.block(IPPrefix(cidr)!)) else { return nil }
        return try IPAMBlockSpec(from: Value(jsonBytes: kv.value), at: .root)
    }

    func keys(_ prefix: String) throws -> [String] { try store.list(prefix: prefix).pairs.map(\.key) }

    /// Replaces the stored block with `body` applied (corruption injection).
    func mutateBlock(_ cidr: String, _ body: (inout IPAMBlockSpec) -> Void) throws {
        var b = try block(cidr)!
        body(&b)
        try store.put(ResourceKeys.block(IPPrefix(cidr)!), value: Array(b.toValue().json.utf8))
    }
}

func ip(_ s: String) -> IPAddress { IPAddress(s)! }
