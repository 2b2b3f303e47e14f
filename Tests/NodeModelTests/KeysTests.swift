import NetCore
import NodeModel
import ResourceFormat
import Testing

@Suite struct KeysTests {
    @Test func v3Keys() throws {
        let rs = try decodeResources(text: CalicoExamples.all.joined(separator: "\n---\n")).map { $0.withDefaults() }
        let keys = rs.map(ResourceKeys.key(for:))
        #expect(keys == [
            "/calico/resources/v3/projectcalico.org/ippools/my.ippool-1",
            "/calico/resources/v3/projectcalico.org/bgppeers/my-global-peer",
            "/calico/resources/v3/projectcalico.org/bgppeers/rack1-tor",
            "/calico/resources/v3/projectcalico.org/bgppeers/peer-with-route-reflectors",
            "/calico/resources/v3/projectcalico.org/bgppeers/bgppeer-global-3040",
            "/calico/resources/v3/projectcalico.org/bgpconfigurations/default",
            "/calico/resources/v3/projectcalico.org/nodes/node-hostname",
            "/calico/resources/v3/projectcalico.org/bgpfilters/my-filter",
            "/calico/resources/v3/projectcalico.org/networkpolicies/production/allow-tcp-6379",
            "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/allow-tcp-port-6379",
        ])
        for (r, k) in zip(rs, keys) {
            #expect(k.hasPrefix(ResourceKeys.listPrefix(kind: r.kind)))
            #expect(ResourceKeys.parse(k) == .resource(kind: r.kind, namespace: r.kind.isNamespaced ? r.namespace : "", name: r.name))
        }
        #expect(ResourceKeys.listPrefix(kind: .networkPolicy, namespace: "production") == "/calico/resources/v3/projectcalico.org/networkpolicies/production/")
        #expect(ResourceKeys.listPrefix(kind: .ipPool, namespace: "ignored") == "/calico/resources/v3/projectcalico.org/ippools/")
    }

    @Test func ipamKeys() throws {
        let block = try #require(IPPrefix("10.244.1.0/26"))
        let v6 = try #require(IPPrefix("fd00:1::/122"))
        #expect(ResourceKeys.block(block) == "/calico/ipam/v2/assignment/ipv4/block/10.244.1.0-26")
        #expect(ResourceKeys.block(v6) == "/calico/ipam/v2/assignment/ipv6/block/fd00:1::-122")
        #expect(ResourceKeys.affinity(node: "node1", cidr: block) == "/calico/ipam/v2/host/node1/ipv4/block/10.244.1.0-26")
        #expect(ResourceKeys.handle("k8s-pod-network.abc") == "/calico/ipam/v2/handle/k8s-pod-network.abc")
        #expect(ResourceKeys.key(for: .ipamConfiguration(IPAMConfiguration())) == "/calico/ipam/v2/config")
        #expect(ResourceKeys.parse("/calico/ipam/v2/assignment/ipv6/block/fd00:1::-122") == .block(v6))
        #expect(ResourceKeys.parse("/calico/ipam/v2/host/node1/ipv4/block/10.244.1.0-26") == .affinity(node: "node1", cidr: block, type: ""))
        #expect(ResourceKeys.parse("/calico/ipam/v2/handle/h1") == .handle("h1"))
        #expect(ResourceKeys.parse("/calico/ipam/v2/host/node1") == nil)
        #expect(ResourceKeys.parse("/calico/resources/v3/projectcalico.org/ippools/a/b") == nil)
        #expect(ResourceKeys.parse("/calico/resources/v3/projectcalico.org/networkpolicies/ns/p") == .resource(kind: .networkPolicy, namespace: "ns", name: "p"))
    }

    @Test(arguments: ResourceKind.allCases)
    func aliasesResolve(kind: ResourceKind) {
        for a in kind.aliases { #expect(ResourceKind(alias: a) == kind, "\(a)") }
        #expect(ResourceKind(alias: kind.name) == kind)
        #expect(ResourceKind(alias: kind.plural) == kind)
    }

    @Test func calicoctlAliases() {
        for (a, k) in [("ipp", ResourceKind.ipPool), ("pools", .ipPool), ("bp", .bgpPeer), ("bgpconfig", .bgpConfiguration), ("no", .node),
                       ("bfs", .bgpFilter), ("weps", .workloadEndpoint), ("netpol", .networkPolicy), ("np", .networkPolicy),
                       ("gnp", .globalNetworkPolicy), ("ipamconfigs", .ipamConfiguration), ("IPAMBlocks", .ipamBlock),
                       ("blockaffinities", .blockAffinity)] {
            #expect(ResourceKind(alias: a) == k, "\(a)")
        }
        #expect(ResourceKind(alias: "ippoool") == nil)
    }

    /// Values exactly as Calico's etcd backend writes them (model.AllocationBlock,
    /// model.BlockAffinity, model.IPAMHandle, model.IPAMConfig) must read back.
    @Test func calicoWrittenIPAMRecordsAreReadable() throws {
        let blockJSON = #"{"cidr":"10.244.1.0/30","affinity":"host:node1","strictAffinity":false,"allocations":[0,null,1,null],"unallocated":[1,3],"attributes":[{"handle_id":"ipip-tunnel-addr-node1","secondary":{"node":"node1","type":"ipipTunnelAddress"}},{"handle_id":"k8s-pod-network.abc","secondary":{"namespace":"default","node":"node1","pod":"web"}}],"deleted":false,"sequenceNumber":7,"sequenceNumberForAllocation":{"0":5,"2":6}}"#
        let r = try ResourceStorage.decode(key: "/calico/ipam/v2/assignment/ipv4/block/10.244.1.0-30", bytes: Array(blockJSON.utf8), revision: 42)
        let b = try #require(r.as(IPAMBlock.self))
        #expect(b.name == "10-244-1-0-30" && b.metadata.resourceVersion == "42")
        #expect(b.spec.allocations == [0, nil, 1, nil])
        #expect(b.spec.attributes[1].handleID == "k8s-pod-network.abc")
        #expect(b.spec.sequenceNumberForAllocation == ["0": 5, "2": 6])
        #expect(r.validate() == [])
        // Written back in the same shape (keys in Calico's order, secondary maps sorted).
        #expect(String(decoding: ResourceStorage.bytes(for: r), as: UTF8.self) == blockJSON)

        let aff = try ResourceStorage.decode(key: "/calico/ipam/v2/host/node1/ipv4/block/10.244.1.0-30", bytes: Array(#"{"state":"confirmed","deleted":false}"#.utf8))
        #expect(aff.as(BlockAffinity.self)?.spec.node == "node1")
        #expect(aff.as(BlockAffinity.self)?.spec.cidr == "10.244.1.0/30")
        #expect(ResourceKeys.key(for: aff) == "/calico/ipam/v2/host/node1/ipv4/block/10.244.1.0-30")
        #expect(ResourceStorage.value(for: aff).json == #"{"state":"confirmed","deleted":false}"#)
        let legacy = try ResourceStorage.decode(key: "/calico/ipam/v2/host/node1/ipv4/block/10.244.1.0-30", value: .null)
        #expect(legacy.as(BlockAffinity.self)?.spec.state == .confirmed)

        let h = try ResourceStorage.decode(key: "/calico/ipam/v2/handle/k8s-pod-network.abc", bytes: Array(#"{"block":{"10.244.1.0/30":1},"deleted":false}"#.utf8))
        #expect(h.as(IPAMHandle.self)?.spec.block == ["10.244.1.0/30": 1])
        #expect(ResourceKeys.key(for: h) == "/calico/ipam/v2/handle/k8s-pod-network.abc")

        let c = try ResourceStorage.decode(key: "/calico/ipam/v2/config", bytes: Array(#"{"strict_affinity":true,"auto_allocate_blocks":true,"maxBlocksPerHost":4}"#.utf8))
        #expect(c.as(IPAMConfiguration.self)?.spec.strictAffinity == true)
        #expect(c.as(IPAMConfiguration.self)?.spec.maxBlocksPerHost == 4)
        #expect(c.name == "default")
        #expect(ResourceStorage.value(for: c).json == #"{"strict_affinity":true,"auto_allocate_blocks":true,"maxBlocksPerHost":4}"#)
    }

    @Test func freshBlockIsAllFree() throws {
        let spec = IPAMBlockSpec(cidr: try #require(IPPrefix("10.0.0.0/26")), affinity: "host:n1")
        #expect(spec.allocations.count == 64 && spec.unallocated == Array(0..<64))
        #expect(Resource.ipamBlock(IPAMBlock(spec: spec)).validate() == [])
    }

    @Test func v3StorageDropsResourceVersionAndRestoresIt() throws {
        var r = try #require(try decodeResources(text: CalicoExamples.ipPool).first).withDefaults()
        r.metadata.resourceVersion = "5"
        let bytes = ResourceStorage.bytes(for: r)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("resourceVersion"))
        let back = try ResourceStorage.decode(key: ResourceKeys.key(for: r), bytes: bytes, revision: 9)
        var expected = r
        expected.metadata.resourceVersion = "9"
        #expect(back == expected)
    }

    @Test func storedDocumentsFromNewerCalicoDropUnknownFields() throws {
        let json = #"{"apiVersion":"projectcalico.org/v3","kind":"NetworkPolicy","metadata":{"name":"p","namespace":"ns","futureMeta":1},"spec":{"futureField":true,"ingress":[{"action":"Allow","futureRule":{}}],"selector":"all()"}}"#
        let r = try ResourceStorage.decode(key: "/calico/resources/v3/projectcalico.org/networkpolicies/ns/p", bytes: Array(json.utf8))
        let p = try #require(r.as(NetworkPolicy.self))
        #expect(p.spec.ingress == [PolicyRule(action: .allow)] && p.spec.selector == "all()" && p.namespace == "ns")
        // User input stays strict.
        #expect(throws: ResourceTextError.self) { try decodeResources(text: json) }
    }

    @Test func storageKeyKindMismatchIsAnError() throws {
        let r = try #require(try decodeResources(text: CalicoExamples.ipPool).first)
        #expect(throws: ResourceError.self) {
            try ResourceStorage.decode(key: "/calico/resources/v3/projectcalico.org/bgppeers/x", bytes: ResourceStorage.bytes(for: r))
        }
    }
}
