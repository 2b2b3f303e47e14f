import NodeModel
import ResourceFormat
import Testing

/// Every field of every kind, set to a non-empty canonical value: decoding then encoding must
/// reproduce the input exactly, which proves no field is dropped or renamed.
@Suite struct FullFieldTests {
    static let docs: [String] = [
        """
        apiVersion: projectcalico.org/v3
        kind: IPPool
        metadata: {name: full, labels: {a: b}, annotations: {note: x}, uid: u1, resourceVersion: "3", generation: 2,
                   creationTimestamp: "2024-01-01T00:00:00Z", finalizers: [f], ownerReferences: [{kind: X, name: y}]}
        spec: {cidr: 10.0.0.0/16, vxlanMode: CrossSubnet, ipipMode: Never, natOutgoing: true, disabled: true,
               disableBGPExport: true, blockSize: 24, nodeSelector: all(), namespaceSelector: has(ns),
               allowedUses: [Workload], assignmentMode: Manual}
        status: {conditions: [{type: Allocatable, status: "True"}]}
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: BGPPeer
        metadata: {name: full}
        spec: {node: n1, peerIP: "10.0.0.1:1179", asNumber: 65000, nodeSelector: "", peerSelector: "",
               keepOriginalNextHop: true, password: {secretKeyRef: {name: s, key: k, optional: false}},
               sourceAddress: None, maxRestartTime: 2m0s, numAllowedLocalASNumbers: 2, ttlSecurity: 1,
               keepaliveTime: 20s, reachableBy: 10.0.0.254, filters: [f1, f2], localWorkloadSelector: "",
               reversePeering: Manual, localASNumber: 65001}
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: BGPConfiguration
        metadata: {name: default}
        spec: {logSeverityScreen: Debug, nodeToNodeMeshEnabled: false, asNumber: 65000,
               serviceLoadBalancerIPs: [{cidr: 10.1.0.0/16}], serviceExternalIPs: [{cidr: 10.2.0.0/16}],
               serviceClusterIPs: [{cidr: 10.96.0.0/12}], serviceLoadBalancerAggregation: Disabled,
               communities: [{name: c, value: "1:2"}], prefixAdvertisements: [{cidr: 10.3.0.0/16, communities: [c, "3:4:5"]}],
               listenPort: 1179, nodeMeshPassword: {secretKeyRef: {name: s, key: k}}, nodeMeshMaxRestartTime: 1m30s,
               bindMode: NodeIP, ignoredInterfaces: [eth9], localWorkloadPeeringIPV4: 169.254.0.1,
               localWorkloadPeeringIPV6: "fe80::1", programClusterRoutes: Enabled, ipv4NormalRoutePriority: 100,
               ipv6NormalRoutePriority: 200, extensions: {k: v}}
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: Node
        metadata: {name: full}
        spec: {bgp: {asNumber: 65000, ipv4Address: 10.0.0.5/24, ipv6Address: "fd00::5/64", ipv4IPIPTunnelAddr: 10.244.0.1,
                     routeReflectorClusterID: 224.0.0.1},
               ipv4VXLANTunnelAddr: 10.244.0.2, vxlanTunnelMACAddr: "66:aa:bb:cc:dd:ee", ipv6VXLANTunnelAddr: "fd01::1",
               vxlanTunnelMACAddrV6: "66:aa:bb:cc:dd:ef", orchRefs: [{nodeName: full, orchestrator: k8s}],
               wireguard: {interfaceIPv4Address: 10.244.0.3, interfaceIPv6Address: "fd01::3"},
               addresses: [{address: 10.0.0.5/24, type: CalicoNodeIP}], interfaces: [{name: eth0, addresses: [10.0.0.5]}]}
        status: {podCIDRs: [10.244.0.0/24]}
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: BGPFilter
        metadata: {name: full}
        spec:
          exportV4: [{cidr: 10.0.0.0/8, prefixLength: {min: 16, max: 24}, source: RemotePeers, interface: "eth*",
                      matchOperator: In, peerType: eBGP, communities: {values: ["1:2"]}, asPathPrefix: [65000],
                      priority: 10, action: Accept,
                      operations: [{addCommunity: {value: "3:4"}}, {prependASPath: {prefix: [65000, 65000]}}, {setPriority: {value: 5}}]}]
          importV4: [{action: Reject}]
          exportV6: [{cidr: "fd00::/8", matchOperator: NotIn, action: Reject}]
          importV6: [{action: Accept, peerType: iBGP}]
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: WorkloadEndpoint
        metadata: {name: node1-k8s-web--0-eth0, namespace: prod}
        spec: {orchestrator: k8s, workload: w, node: node1, containerID: c1, pod: web-0, endpoint: eth0,
               serviceAccountName: sa, ipNetworks: [10.244.0.5/32], ipNATs: [{internalIP: 10.244.0.5, externalIP: 1.2.3.4}],
               ipv4Gateway: 169.254.1.1, ipv6Gateway: "fe80::1", profiles: [kns.prod], interfaceName: cali1234,
               mac: "ee:ee:ee:ee:ee:ee", ports: [{name: http, protocol: TCP, port: 80, hostPort: 8080, hostIP: 0.0.0.0}],
               allowSpoofedSourcePrefixes: [10.9.0.0/16], qosControls: {ingressBandwidth: 1000}}
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: NetworkPolicy
        metadata: {name: full, namespace: prod}
        spec:
          tier: default
          order: 100.5
          selector: role == 'db'
          types: [Ingress, Egress]
          serviceAccountSelector: has(sa)
          performanceHints: [AssumeNeededOnEveryNode]
          ingress:
          - action: Allow
            ipVersion: 4
            protocol: TCP
            notProtocol: UDP
            source: {nets: [10.0.0.0/8], selector: has(a), namespaceSelector: has(ns), services: {name: s, namespace: n},
                     ports: [80, "8000:8080", http], notNets: [10.1.0.0/16], notSelector: has(b), notPorts: [81],
                     serviceAccounts: {names: [sa1], selector: has(c)}}
            destination: {nets: [10.2.0.0/16]}
            http: {methods: [GET], paths: [{exact: /x}]}
            metadata: {annotations: {k: v}}
          - action: Deny
            protocol: ICMP
            icmp: {type: 8, code: 0}
            notICMP: {type: 3}
          egress:
          - action: Pass
            protocol: 6
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: full}
        spec: {tier: default, order: 10, selector: all(), types: [Ingress], ingress: [{action: Log}],
               doNotTrack: true, applyOnForward: true, namespaceSelector: has(x)}
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: IPAMConfiguration
        metadata: {name: default}
        spec: {strictAffinity: true, autoAllocateBlocks: false, maxBlocksPerHost: 4, kubeVirtVMAddressPersistence: Enabled,
               ipCooldownSeconds: 30}
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: BlockAffinity
        metadata: {name: node1-10-0-0-0-26}
        spec: {state: pending, node: node1, type: host, cidr: 10.0.0.0/26, deleted: "false"}
        """,
        """
        apiVersion: projectcalico.org/v3
        kind: IPAMHandle
        metadata: {name: h1}
        spec: {handleID: h1, block: {10.0.0.0/26: 2}, deleted: false}
        """,
    ]

    @Test(arguments: docs)
    func everyFieldSurvives(yaml: String) throws {
        let input = try #require(try parseDocuments(text: yaml).first)
        let r = try #require(try decodeResources(text: yaml).first)
        // Empty strings in the input are "unset" and legitimately omitted on output.
        #expect(r.toValue().sortedKeys == Self.dropEmptyStrings(input).sortedKeys)
        #expect(try decodeResources(text: encode(r, format: .yaml)) == [r])
    }

    static func dropEmptyStrings(_ v: Value) -> Value {
        switch v {
        case .object(let f): .object(f.filter { $0.value != .string("") }.map { .init($0.key, dropEmptyStrings($0.value)) })
        case .array(let a): .array(a.map(dropEmptyStrings))
        default: v
        }
    }

    @Test func workloadEndpointCalicoName() throws {
        let r = try #require(try decodeResources(text: Self.docs[5]).first?.as(WorkloadEndpoint.self))
        #expect(r.spec.calicoName == r.name)
    }
}
