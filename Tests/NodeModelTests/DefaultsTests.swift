import NetCore
import NodeModel
import ResourceFormat
import Testing

@Suite struct DefaultsTests {
    func one(_ yaml: String) throws -> Resource { try #require(try decodeResources(text: yaml).first) }

    @Test func ipPoolV4AndV6() throws {
        let v4 = try #require(try one("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: 10.0.0.0/16}")
            .withDefaults().as(IPPool.self))
        #expect(v4.spec.blockSize == 26)
        #expect(v4.spec.ipipMode == .never && v4.spec.vxlanMode == .never)
        #expect(v4.spec.nodeSelector == "all()")
        #expect(v4.spec.allowedUses == [.workload, .tunnel])
        #expect(v4.spec.assignmentMode == .automatic)
        let v6 = try #require(try one("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: b}\nspec: {cidr: 'fd00:0::/64'}")
            .withDefaults().as(IPPool.self))
        #expect(v6.spec.blockSize == 122)
        #expect(v6.spec.cidr == "fd00::/64")
    }

    @Test func decodingDoesNotDefault() throws {
        let p = try #require(try one("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: 10.0.0.0/16}").as(IPPool.self))
        #expect(p.spec.blockSize == 0 && p.spec.ipipMode == nil && p.spec.nodeSelector.isEmpty)
    }

    @Test func explicitValuesSurvive() throws {
        let p = try #require(try one("""
        apiVersion: projectcalico.org/v3
        kind: IPPool
        metadata: {name: a}
        spec: {cidr: 10.0.0.0/16, blockSize: 24, ipipMode: Always, nodeSelector: "zone == 'a'", allowedUses: [Workload]}
        """).withDefaults().as(IPPool.self))
        #expect(p.spec.blockSize == 24 && p.spec.ipipMode == .always && p.spec.vxlanMode == .never)
        #expect(p.spec.nodeSelector == "zone == 'a'" && p.spec.allowedUses == [.workload])
    }

    @Test func bgpConfigurationGlobalOnly() throws {
        let g = try #require(try one("apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {}")
            .withDefaults().as(BGPConfiguration.self))
        #expect(g.spec.asNumber == ASNumber(64512) && g.spec.nodeToNodeMeshEnabled == true && g.spec.logSeverityScreen == .info)
        let n = try #require(try one("apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: node.a}\nspec: {}")
            .withDefaults().as(BGPConfiguration.self))
        #expect(n.spec == BGPConfigurationSpec())
        #expect(n.spec.withDefaults(isGlobal: false).asNumber == nil)
    }

    @Test func effectiveBGPConfiguration() {
        var g = BGPConfigurationSpec()
        g.asNumber = ASNumber(65001); g.listenPort = 1179
        var n = BGPConfigurationSpec()
        n.listenPort = 2179; n.logSeverityScreen = .debug
        let e = EffectiveBGPConfiguration(global: g, node: n)
        #expect(e.asNumber == ASNumber(65001) && e.listenPort == 2179 && e.logSeverityScreen == .debug && e.nodeToNodeMeshEnabled)
        let none = EffectiveBGPConfiguration(global: nil)
        #expect(none.asNumber == ASNumber(64512) && none.listenPort == 179 && none.nodeMeshMaxRestartTime == CalicoDuration(seconds: 120))
    }

    @Test(arguments: [
        ("ingress: [{action: Allow}]", [PolicyType.ingress]),
        ("egress: [{action: Allow}]", [.egress]),
        ("ingress: [{action: Allow}], egress: [{action: Allow}]", [.ingress, .egress]),
        ("selector: all()", [.ingress]),
        ("types: [Egress], ingress: [{action: Allow}]", [.egress]),
    ])
    func policyTypesFromRules(spec: String, types: [PolicyType]) throws {
        let r = try one("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {\(spec)}").withDefaults()
        let p = try #require(r.as(NetworkPolicy.self))
        #expect(p.spec.types == types)
        #expect(p.spec.tier == "default")
        #expect(p.namespace == "default")
        let g = try one("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {\(spec)}").withDefaults()
        #expect(g.as(GlobalNetworkPolicy.self)?.spec.common.types == types)
    }

    @Test func defaultedResourcesStillRoundTrip() throws {
        for yaml in CalicoExamples.all {
            let rs = try decodeResources(text: yaml).map { $0.withDefaults() }
            #expect(try decodeResources(text: encode(rs, format: .yaml)) == rs)
            #expect(rs.map { $0.withDefaults() } == rs, "defaulting is idempotent")
        }
    }
}
