import Datastore
import NodeModel
import ResourceClient
import Testing
@testable import NodeAgent

/// calico-node's CALICO_IPV4POOL_* start-up pool.
@Suite struct DefaultPoolTests {
    @Test func nothingWithoutACIDROrWithNoDefaultPools() throws {
        #expect(try DefaultPool(environment: [:]) == nil)
        #expect(try DefaultPool(environment: ["CALICO_IPV4POOL_CIDR": "10.1.0.0/16", "NO_DEFAULT_POOLS": "true"]) == nil)
    }

    @Test func readsCalicoVariablesWithCalicoDefaults() throws {
        let p = try #require(try DefaultPool(environment: ["CALICO_IPV4POOL_CIDR": "10.1.0.0/16", "CALICO_IPV4POOL_VXLAN": "always"]))
        #expect(p.cidr == "10.1.0.0/16" && p.blockSize == 26 && p.vxlanMode == "Always" && p.ipipMode == "Never" && p.natOutgoing)
    }

    @Test(arguments: [
        (["CALICO_IPV4POOL_CIDR": "10.1.0.1/16"], "CALICO_IPV4POOL_CIDR"),
        (["CALICO_IPV4POOL_CIDR": "fd00::/64"], "CALICO_IPV4POOL_CIDR"),
        (["CALICO_IPV4POOL_CIDR": "10.1.0.0/16", "CALICO_IPV4POOL_BLOCK_SIZE": "12"], "CALICO_IPV4POOL_BLOCK_SIZE"),
        (["CALICO_IPV4POOL_CIDR": "10.1.0.0/16", "CALICO_IPV4POOL_IPIP": "Sometimes"], "CALICO_IPV4POOL_IPIP"),
        (["CALICO_IPV4POOL_CIDR": "10.1.0.0/16", "CALICO_IPV4POOL_IPIP": "Always", "CALICO_IPV4POOL_VXLAN": "Always"], "only one encapsulation"),
        (["CALICO_IPV4POOL_CIDR": "10.1.0.0/16", "CALICO_IPV4POOL_NAT_OUTGOING": "yes"], "CALICO_IPV4POOL_NAT_OUTGOING"),
    ])
    func badValuesNameTheVariable(env: [String: String], names: String) {
        #expect {
            _ = try DefaultPool(environment: env)
        } throws: { "\($0)".contains(names) }
    }

    @Test func createdOnlyWhenNoPoolExists() throws {
        let store = MemoryDatastore()
        let client = ResourceClient(datastore: store)
        let p = try #require(try DefaultPool(environment: ["CALICO_IPV4POOL_CIDR": "10.1.0.0/16", "CALICO_IPV4POOL_IPIP": "CrossSubnet"]))
        #expect(try p.ensure(client: client))
        let pools = try client.list(kind: .ipPool)
        #expect(pools.map(\.name) == ["default-ipv4-ippool"])
        #expect(try !p.ensure(client: client))
        let other = try #require(try DefaultPool(environment: ["CALICO_IPV4POOL_CIDR": "10.9.0.0/16"]))
        #expect(try !other.ensure(client: client))
        #expect(try client.list(kind: .ipPool).count == 1)
    }
}
