import NodeModel
import ResourceFormat
import Testing

/// One validation rule: a valid resource, an invalid one, and the field and message the
/// invalid one must be reported with. Specs are written in YAML flow style.
struct RuleCase: CustomTestStringConvertible, Sendable {
    var rule: String
    var kind: String
    var name = "r1"
    var valid: String
    var invalid: String
    var invalidName: String? = nil
    var path: String
    var message: String
    var testDescription: String { rule }

    static func doc(_ kind: String, _ name: String, _ spec: String) -> String {
        "apiVersion: projectcalico.org/v3\nkind: \(kind)\nmetadata: {name: \"\(name)\"}\nspec: \(spec)\n"
    }
}

@Suite struct ValidationTests {
    static let cases: [RuleCase] = [
        // IPPool
        .init(rule: "pool cidr required", kind: "IPPool", valid: "{cidr: 10.0.0.0/16}", invalid: "{}", path: "spec.cidr", message: "required"),
        .init(rule: "pool cidr strictly masked", kind: "IPPool", valid: "{cidr: 10.0.0.0/16}", invalid: "{cidr: 10.0.0.1/16}",
              path: "spec.cidr", message: "not strictly masked (did you mean 10.0.0.0/16?)"),
        .init(rule: "pool not in 169.254/16", kind: "IPPool", valid: "{cidr: 169.0.0.0/16}", invalid: "{cidr: 169.254.0.0/20}",
              path: "spec.cidr", message: "overlaps with the reserved link-local range 169.254.0.0/16"),
        .init(rule: "pool not in fe80::/10", kind: "IPPool", valid: "{cidr: 'fd00::/64'}", invalid: "{cidr: 'fe80::/64'}",
              path: "spec.cidr", message: "link-local range fe80::/10"),
        .init(rule: "v4 blockSize 20-32", kind: "IPPool", valid: "{cidr: 10.0.0.0/16, blockSize: 20}", invalid: "{cidr: 10.0.0.0/16, blockSize: 19}",
              path: "spec.blockSize", message: "must be between 20 and 32"),
        .init(rule: "v6 blockSize 116-128", kind: "IPPool", valid: "{cidr: 'fd00::/64', blockSize: 116}", invalid: "{cidr: 'fd00::/64', blockSize: 32}",
              path: "spec.blockSize", message: "must be between 116 and 128"),
        .init(rule: "pool at least one block unless disabled", kind: "IPPool", valid: "{cidr: 10.0.0.0/28, disabled: true}",
              invalid: "{cidr: 10.0.0.0/28}", path: "spec.cidr", message: "IP pool size is too small (min /26) for use with Calico IPAM"),
        .init(rule: "ipip and vxlan not both", kind: "IPPool", valid: "{cidr: 10.0.0.0/16, ipipMode: Always, vxlanMode: Never}",
              invalid: "{cidr: 10.0.0.0/16, ipipMode: Always, vxlanMode: CrossSubnet}", path: "spec", message: "cannot both be enabled"),
        .init(rule: "no IPIP on IPv6", kind: "IPPool", valid: "{cidr: 'fd00::/64', vxlanMode: Always}", invalid: "{cidr: 'fd00::/64', ipipMode: CrossSubnet}",
              path: "spec.ipipMode", message: "IPIP is not supported on an IPv6 IP pool"),
        .init(rule: "LoadBalancer alone", kind: "IPPool", valid: "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer]}",
              invalid: "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer, Workload]}", path: "spec.allowedUses", message: "cannot be combined with Workload or Tunnel"),
        .init(rule: "LoadBalancer without encapsulation", kind: "IPPool", valid: "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer], vxlanMode: Never}",
              invalid: "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer], vxlanMode: Always}", path: "spec.allowedUses", message: "cannot use IPIP or VXLAN"),
        .init(rule: "LoadBalancer keeps BGP export", kind: "IPPool", valid: "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer]}",
              invalid: "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer], disableBGPExport: true}", path: "spec.disableBGPExport", message: "LoadBalancer"),
        .init(rule: "LoadBalancer nodeSelector all()", kind: "IPPool", valid: "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer], nodeSelector: all()}",
              invalid: "{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer], nodeSelector: \"zone == 'a'\"}", path: "spec.nodeSelector", message: "must have nodeSelector all()"),
        .init(rule: "Tunnel pool without namespaceSelector", kind: "IPPool", valid: "{cidr: 10.0.0.0/16, allowedUses: [Workload], namespaceSelector: has(x)}",
              invalid: "{cidr: 10.0.0.0/16, namespaceSelector: has(x)}", path: "spec.namespaceSelector", message: "allowedUses Tunnel"),
        .init(rule: "pool nodeSelector parses", kind: "IPPool", valid: "{cidr: 10.0.0.0/16, nodeSelector: \"zone == 'a'\"}",
              invalid: "{cidr: 10.0.0.0/16, nodeSelector: 'zone =='}", path: "spec.nodeSelector", message: "invalid selector"),
        .init(rule: "pool nodeSelector not global()", kind: "IPPool", valid: "{cidr: 10.0.0.0/16, nodeSelector: all()}",
              invalid: "{cidr: 10.0.0.0/16, nodeSelector: global()}", path: "spec.nodeSelector", message: "global() is not allowed"),
        // BGPPeer
        .init(rule: "node xor nodeSelector", kind: "BGPPeer", valid: "{node: n1, peerIP: 10.0.0.1, asNumber: 65000}",
              invalid: "{node: n1, nodeSelector: all(), peerIP: 10.0.0.1, asNumber: 65000}", path: "spec", message: "node and nodeSelector cannot both be set"),
        .init(rule: "peerIP xor peerSelector", kind: "BGPPeer", valid: "{peerSelector: has(rr)}",
              invalid: "{peerIP: 10.0.0.1, peerSelector: has(rr)}", path: "spec", message: "peerIP and peerSelector cannot both be set"),
        .init(rule: "peer needs peerIP or peerSelector", kind: "BGPPeer", valid: "{peerIP: 10.0.0.1, asNumber: 65000}",
              invalid: "{nodeSelector: all()}", path: "spec", message: "one of peerIP or peerSelector must be set"),
        .init(rule: "no asNumber with peerSelector", kind: "BGPPeer", valid: "{peerSelector: has(rr)}",
              invalid: "{peerSelector: has(rr), asNumber: 65000}", path: "spec.asNumber", message: "must be empty when peerSelector is set"),
        .init(rule: "peerIP without asNumber is accepted", kind: "BGPPeer", valid: "{peerIP: 10.0.0.1}",
              invalid: "{peerIP: 10.0.0.1, peerSelector: has(rr)}", path: "spec", message: "peerIP and peerSelector cannot both be set"),
        .init(rule: "peerIP with port", kind: "BGPPeer", valid: "{peerIP: '10.0.0.1:1179', asNumber: 65000}",
              invalid: "{peerIP: '10.0.0.1:0', asNumber: 65000}", path: "spec.peerIP", message: "invalid port"),
        .init(rule: "peerIP [IPv6]:port", kind: "BGPPeer", valid: "{peerIP: '[fd00::1]:179', asNumber: 65000}",
              invalid: "{peerIP: '[fd00::1]:', asNumber: 65000}", path: "spec.peerIP", message: "invalid port"),
        .init(rule: "peerIP is an address", kind: "BGPPeer", valid: "{peerIP: 'fd00::1', asNumber: 65000}",
              invalid: "{peerIP: 10.0.0.256, asNumber: 65000}", path: "spec.peerIP", message: "expected IP, IPv4:port or [IPv6]:port"),
        .init(rule: "reachableBy needs peerIP", kind: "BGPPeer", valid: "{peerIP: 10.0.0.1, asNumber: 65000, reachableBy: 10.0.0.254}",
              invalid: "{peerSelector: has(rr), reachableBy: 10.0.0.254}", path: "spec.reachableBy", message: "requires peerIP"),
        .init(rule: "reachableBy same family", kind: "BGPPeer", valid: "{peerIP: 'fd00::1', asNumber: 65000, reachableBy: 'fd00::fe'}",
              invalid: "{peerIP: 10.0.0.1, asNumber: 65000, reachableBy: 'fd00::fe'}", path: "spec.reachableBy", message: "same address family"),
        .init(rule: "keepOriginalNextHop xor nextHopMode", kind: "BGPPeer", valid: "{peerIP: 10.0.0.1, asNumber: 65000, keepOriginalNextHop: true}",
              invalid: "{peerIP: 10.0.0.1, asNumber: 65000, keepOriginalNextHop: true, nextHopMode: Self}", path: "spec",
              message: "keepOriginalNextHop and nextHopMode cannot both be set"),
        .init(rule: "peerSelector parses", kind: "BGPPeer", valid: "{peerSelector: \"rr == 'true'\"}",
              invalid: "{peerSelector: \"rr == 'true\"}", path: "spec.peerSelector", message: "unterminated string at position 6"),
        // BGPConfiguration
        .init(rule: "asNumber only on default", kind: "BGPConfiguration", name: "default", valid: "{asNumber: 65000}",
              invalid: "{asNumber: 65000}", invalidName: "node.n1", path: "spec.asNumber", message: "may only be set on the global BGPConfiguration"),
        .init(rule: "mesh only on default", kind: "BGPConfiguration", name: "default", valid: "{nodeToNodeMeshEnabled: false}",
              invalid: "{nodeToNodeMeshEnabled: false}", invalidName: "node.n1", path: "spec.nodeToNodeMeshEnabled", message: "may only be set"),
        .init(rule: "service IPs only on default", kind: "BGPConfiguration", name: "default", valid: "{serviceClusterIPs: [{cidr: 10.96.0.0/12}]}",
              invalid: "{serviceClusterIPs: [{cidr: 10.96.0.0/12}]}", invalidName: "node.n1", path: "spec.serviceClusterIPs", message: "may only be set"),
        .init(rule: "mesh password only on default", kind: "BGPConfiguration", name: "default", valid: "{nodeMeshPassword: {secretKeyRef: {name: s, key: k}}}",
              invalid: "{nodeMeshPassword: {secretKeyRef: {name: s, key: k}}}", invalidName: "node.n1", path: "spec.nodeMeshPassword", message: "may only be set"),
        .init(rule: "mesh restart time only on default", kind: "BGPConfiguration", name: "default", valid: "{nodeMeshMaxRestartTime: 90s}",
              invalid: "{nodeMeshMaxRestartTime: 90s}", invalidName: "node.n1", path: "spec.nodeMeshMaxRestartTime", message: "may only be set"),
        .init(rule: "BGPConfiguration names", kind: "BGPConfiguration", name: "node.rack1-host1", valid: "{listenPort: 1179}",
              invalid: "{listenPort: 1179}", invalidName: "global", path: "metadata.name", message: "must be \"default\" or \"node.<nodename>\""),
        .init(rule: "standard community parts", kind: "BGPConfiguration", name: "default",
              valid: "{communities: [{name: c, value: '65535:100'}], prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [c]}]}",
              invalid: "{communities: [{name: c, value: '65536:100'}], prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [c]}]}",
              path: "spec.communities[0].value", message: "invalid community value \"65536:100\""),
        .init(rule: "large community parts", kind: "BGPConfiguration", name: "default",
              valid: "{communities: [{name: c, value: '4294967295:1:2'}], prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [c]}]}",
              invalid: "{communities: [{name: c, value: '4294967296:1:2'}], prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [c]}]}",
              path: "spec.communities[0].value", message: "aa:nn:mm"),
        .init(rule: "advertised community literal or defined", kind: "BGPConfiguration", name: "default",
              valid: "{prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: ['65000:1', '1:2:3']}]}",
              invalid: "{prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [no-such-community]}]}",
              path: "spec.prefixAdvertisements[0].communities[0]", message: "neither a community value"),
        .init(rule: "listenPort range", kind: "BGPConfiguration", name: "default", valid: "{listenPort: 65535}", invalid: "{listenPort: 65536}",
              path: "spec.listenPort", message: "between 1 and 65535"),
        // Node
        .init(rule: "node bgp not empty", kind: "Node", valid: "{bgp: {ipv4Address: 10.0.0.5/24}}", invalid: "{bgp: {}}",
              path: "spec.bgp", message: "must not be empty"),
        .init(rule: "node ipv4Address CIDR form (bare IP = /32, as Calico)", kind: "Node", valid: "{bgp: {ipv4Address: 10.0.0.5}}",
              invalid: "{bgp: {ipv4Address: 10.0.0.5/33}}", path: "spec.bgp.ipv4Address", message: "in CIDR form"),
        .init(rule: "node ipv4Address family", kind: "Node", valid: "{bgp: {ipv6Address: 'fd00::5/64'}}", invalid: "{bgp: {ipv4Address: 'fd00::5/64'}}",
              path: "spec.bgp.ipv4Address", message: "is not an IPv4 address"),
        // NetworkPolicy / GlobalNetworkPolicy
        .init(rule: "rule action required", kind: "GlobalNetworkPolicy", valid: "{ingress: [{action: Deny}]}", invalid: "{ingress: [{protocol: TCP}]}",
              path: "spec.ingress[0].action", message: "required"),
        .init(rule: "ports need TCP/UDP/SCTP", kind: "GlobalNetworkPolicy",
              valid: "{ingress: [{action: Allow, protocol: SCTP, destination: {ports: [80, '8000:8080']}}]}",
              invalid: "{ingress: [{action: Allow, protocol: ICMP, destination: {ports: [80]}}]}", path: "spec.ingress[0].protocol", message: "TCP, UDP or SCTP"),
        .init(rule: "ports without protocol", kind: "NetworkPolicy", valid: "{egress: [{action: Allow, protocol: UDP, source: {notPorts: [53]}}]}",
              invalid: "{egress: [{action: Allow, source: {notPorts: [53]}}]}", path: "spec.egress[0].protocol", message: "TCP, UDP or SCTP"),
        .init(rule: "no mixed families in a rule", kind: "GlobalNetworkPolicy",
              valid: "{ingress: [{action: Allow, source: {nets: [10.0.0.0/8]}, destination: {notNets: [10.1.0.0/16]}}]}",
              invalid: "{ingress: [{action: Allow, source: {nets: [10.0.0.0/8]}, destination: {nets: ['fd00::/8']}}]}",
              path: "spec.ingress[0]", message: "cannot mix IPv4 and IPv6"),
        .init(rule: "notNets not 0.0.0.0/0", kind: "GlobalNetworkPolicy", valid: "{ingress: [{action: Allow, source: {notNets: [10.0.0.0/8]}}]}",
              invalid: "{ingress: [{action: Allow, source: {notNets: [0.0.0.0/0]}}]}", path: "spec.ingress[0].source.notNets[0]", message: "may not contain 0.0.0.0/0"),
        .init(rule: "notNets not ::/0", kind: "GlobalNetworkPolicy", valid: "{ingress: [{action: Allow, source: {nets: ['::/0']}}]}",
              invalid: "{ingress: [{action: Allow, source: {notNets: ['::/0']}}]}", path: "spec.ingress[0].source.notNets[0]", message: "may not contain ::/0"),
        .init(rule: "ICMP matches ipVersion", kind: "GlobalNetworkPolicy",
              valid: "{ingress: [{action: Allow, protocol: ICMPv6, ipVersion: 6, icmp: {type: 128}}]}",
              invalid: "{ingress: [{action: Allow, protocol: ICMP, ipVersion: 6, icmp: {type: 8}}]}", path: "spec.ingress[0].icmp", message: "does not match ipVersion 6"),
        .init(rule: "icmp needs ICMP protocol", kind: "GlobalNetworkPolicy", valid: "{ingress: [{action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}]}",
              invalid: "{ingress: [{action: Allow, protocol: TCP, icmp: {type: 8}}]}", path: "spec.ingress[0].icmp", message: "requires protocol ICMP or ICMPv6"),
        .init(rule: "policy selector parses", kind: "NetworkPolicy", valid: "{selector: \"role == 'db'\"}", invalid: "{selector: \"role = 'db'\"}",
              path: "spec.selector", message: "invalid selector"),
        .init(rule: "rule selector parses", kind: "NetworkPolicy", valid: "{ingress: [{action: Allow, source: {selector: has(a)}}]}",
              invalid: "{ingress: [{action: Allow, source: {selector: has(a}}]}", path: "spec.ingress[0].source.selector", message: "invalid selector"),
        .init(rule: "preDNAT needs applyOnForward", kind: "GlobalNetworkPolicy", valid: "{preDNAT: true, applyOnForward: true, ingress: [{action: Deny}]}",
              invalid: "{preDNAT: true, ingress: [{action: Deny}]}", path: "spec.applyOnForward", message: "must be true"),
        // BGPFilter
        .init(rule: "filter action required", kind: "BGPFilter", valid: "{exportV4: [{action: Reject, source: RemotePeers}]}",
              invalid: "{exportV4: [{source: RemotePeers}]}", path: "spec.exportV4[0].action", message: "required"),
        .init(rule: "filter cidr family", kind: "BGPFilter", valid: "{importV6: [{action: Accept, cidr: 'fd00::/8', matchOperator: In}]}",
              invalid: "{importV6: [{action: Accept, cidr: 10.0.0.0/8, matchOperator: In}]}", path: "spec.importV6[0].cidr", message: "is not an IPv6 CIDR"),
        .init(rule: "filter cidr with matchOperator", kind: "BGPFilter", valid: "{importV4: [{action: Accept, cidr: 10.0.0.0/8, matchOperator: Equal}]}",
              invalid: "{importV4: [{action: Accept, cidr: 10.0.0.0/8}]}", path: "spec.importV4[0]", message: "must be set together"),
        // WorkloadEndpoint, IPAMConfiguration, names, labels
        .init(rule: "WEP ipNetworks are host prefixes", kind: "WorkloadEndpoint", valid: "{ipNetworks: [10.0.0.5/32, 'fd00::5/128']}",
              invalid: "{ipNetworks: [10.0.0.0/24]}", path: "spec.ipNetworks[0]", message: "/32 or /128"),
        .init(rule: "WEP name matches identifiers", kind: "WorkloadEndpoint", name: "n1-k8s-web--0-eth0",
              valid: "{node: n1, orchestrator: k8s, pod: web-0, endpoint: eth0}", invalid: "{node: n1, orchestrator: k8s, pod: web-0, endpoint: eth0}",
              invalidName: "web", path: "metadata.name", message: "expected \"n1-k8s-web--0-eth0\""),
        .init(rule: "IPAMConfiguration is named default", kind: "IPAMConfiguration", name: "default", valid: "{strictAffinity: true}",
              invalid: "{strictAffinity: true}", invalidName: "other", path: "metadata.name", message: "must be \"default\""),
        .init(rule: "names are DNS-1123 subdomains", kind: "IPPool", name: "pool.a-1", valid: "{cidr: 10.0.0.0/16}",
              invalid: "{cidr: 10.0.0.0/16}", invalidName: "Pool_A", path: "metadata.name", message: "not a valid DNS-1123 subdomain"),
    ]

    @Test(arguments: cases)
    func rule(_ c: RuleCase) throws {
        let valid = try #require(try decodeResources(text: RuleCase.doc(c.kind, c.name, c.valid)).first).withDefaults()
        #expect(valid.validate() == [], "\(c.rule): valid case rejected")
        let invalid = try #require(try decodeResources(text: RuleCase.doc(c.kind, c.invalidName ?? c.name, c.invalid)).first).withDefaults()
        let errors = invalid.validate()
        #expect(errors.contains { $0.path.description == c.path && $0.reason.contains(c.message) },
                "\(c.rule): expected \(c.path): …\(c.message)…, got \(errors)")
    }

    @Test func namespacedKindsNeedANamespaceUntilDefaulted() throws {
        let r = try #require(try decodeResources(text: RuleCase.doc("NetworkPolicy", "p", "{}")).first)
        #expect(r.validate().map(\.path) == ["metadata.namespace"])
        #expect(r.withDefaults().validate() == [])
        #expect(r.withDefaults().namespace == "default")
    }

    @Test func unnamedWorkloadEndpointGetsCalicoName() throws {
        let r = try #require(try decodeResources(text: """
        apiVersion: projectcalico.org/v3
        kind: WorkloadEndpoint
        metadata: {namespace: prod}
        spec: {node: node-1, orchestrator: k8s, pod: web-0, endpoint: eth0, ipNetworks: [10.0.0.1/32]}
        """).first).withDefaults()
        #expect(r.name == "node--1-k8s-web--0-eth0")
        #expect(r.validate() == [])
    }

    @Test func labelsAreChecked() throws {
        var r = try #require(try decodeResources(text: RuleCase.doc("Node", "n1", "{}")).first)
        r.metadata.labels = ["projectcalico.org/role": "rr", "bad key!": "x", "ok": "-bad-"]
        #expect(Set(r.validate().map(\.path.description)) == ["metadata.labels.bad key!", "metadata.labels.ok"])
    }

    @Test func validatedThrowsAllProblemsWithIdentity() throws {
        let r = try #require(try decodeResources(text: RuleCase.doc("IPPool", "p", "{cidr: 10.0.0.1/16, blockSize: 40}")).first)
        do {
            _ = try r.validated()
            Issue.record("expected errors")
        } catch {
            #expect(error.document.name == "p" && error.document.kind == "IPPool")
            #expect(error.errors.count == 2)
            #expect(error.description.hasPrefix("IPPool \"p\":"))
        }
    }

    @Test func poolOverlapAgainstExistingPools() throws {
        func pool(_ name: String, _ cidr: String) -> IPPool { IPPool(metadata: ObjectMeta(name: name), spec: IPPoolSpec(cidr: cidr)) }
        let existing = [pool("a", "10.0.0.0/16"), pool("b", "fd00::/64")]
        #expect(IPPoolRules.overlap(pool("c", "10.1.0.0/16"), existing: existing) == nil)
        #expect(IPPoolRules.overlap(pool("a", "10.0.0.0/16"), existing: existing) == nil, "a pool does not overlap itself")
        let e = IPPoolRules.overlap(pool("c", "10.0.128.0/17"), existing: existing)
        #expect(e == FieldError("spec.cidr", "IPPool(c) CIDR overlaps with IPPool(a) CIDR 10.0.0.0/16"))
        #expect(IPPoolRules.overlap(pool("d", "fd00::/48"), existing: existing) != nil)
    }

    @Test func immutablePoolFieldsOnUpdate() throws {
        let old = Resource.ipPool(IPPool(metadata: ObjectMeta(name: "a"), spec: IPPoolSpec(cidr: "10.0.0.0/16").withDefaults()))
        var same = old.as(IPPool.self)!
        same.spec.natOutgoing = true
        #expect(Resource(same).validateUpdate(from: old) == [])
        var cidr = same
        cidr.spec.cidr = "10.1.0.0/16"
        #expect(Resource(cidr).validateUpdate(from: old) == [FieldError("spec.cidr", "CIDR cannot be changed; follow IP pool migration guide")])
        var block = same
        block.spec.blockSize = 28
        #expect(Resource(block).validateUpdate(from: old).map(\.path) == ["spec.blockSize"])
        var lb = same
        lb.spec.allowedUses = [.loadBalancer]
        #expect(Resource(lb).validateUpdate(from: old).map(\.path) == ["spec.allowedUses"])
    }

    @Test func calicoExamplesAreValidAfterDefaults() throws {
        for yaml in CalicoExamples.all {
            for r in try decodeResources(text: yaml) {
                // The password example references a filter by name only; all must validate.
                #expect(r.withDefaults().validate() == [], "\(r.documentRef)")
            }
        }
    }

    @Test func peerEndpointParsing() throws {
        #expect(try PeerEndpoint.parse("10.0.0.1:1179").get() == PeerEndpoint(address: .v4(.init(10, 0, 0, 1)), port: 1179))
        #expect(try PeerEndpoint.parse("[fd00::1]:179").get().port == 179)
        #expect(try PeerEndpoint.parse("fd00::1").get().port == nil)
        #expect((try? PeerEndpoint.parse("10.0.0.1:65536").get()) == nil)
    }
}
