/// Resource YAML from the Calico documentation (docs.tigera.io, resources reference), pasted
/// as is: Twill must accept every one without edits.
enum CalicoExamples {
    static let ipPool = """
    apiVersion: projectcalico.org/v3
    kind: IPPool
    metadata:
      name: my.ippool-1
    spec:
      cidr: 10.1.0.0/16
      ipipMode: CrossSubnet
      natOutgoing: true
      disabled: false
      nodeSelector: all()
      allowedUses:
        - Workload
        - Tunnel
    """

    static let globalPeer = """
    apiVersion: projectcalico.org/v3
    kind: BGPPeer
    metadata:
      name: my-global-peer
    spec:
      peerIP: 192.20.30.40
      asNumber: 64567
    """

    static let nodePeer = """
    apiVersion: projectcalico.org/v3
    kind: BGPPeer
    metadata:
      name: rack1-tor
    spec:
      peerIP: 192.20.30.40
      node: rack1-host1
      asNumber: 64567
    """

    static let selectorPeer = """
    kind: BGPPeer
    apiVersion: projectcalico.org/v3
    metadata:
      name: peer-with-route-reflectors
    spec:
      nodeSelector: all()
      peerSelector: route-reflector == 'true'
    """

    static let passwordPeer = """
    apiVersion: projectcalico.org/v3
    kind: BGPPeer
    metadata:
      name: bgppeer-global-3040
    spec:
      peerIP: 192.20.30.40
      asNumber: 64567
      password:
        secretKeyRef:
          name: bgp-secrets
          key: rr-password
      keepaliveTime: 30s
      maxRestartTime: 120s
      filters:
        - my-filter
    """

    static let bgpConfiguration = """
    apiVersion: projectcalico.org/v3
    kind: BGPConfiguration
    metadata:
      name: default
    spec:
      logSeverityScreen: Info
      nodeToNodeMeshEnabled: true
      nodeMeshMaxRestartTime: 120s
      asNumber: 63400
      serviceClusterIPs:
        - cidr: 10.96.0.0/12
      serviceExternalIPs:
        - cidr: 104.244.42.129/32
        - cidr: 172.217.3.0/24
      listenPort: 178
      bindMode: NodeIP
      communities:
        - name: bgp-large-community
          value: 63400:300:100
      prefixAdvertisements:
        - cidr: 172.218.4.0/26
          communities:
            - bgp-large-community
            - 63400:120
    """

    static let node = """
    apiVersion: projectcalico.org/v3
    kind: Node
    metadata:
      name: node-hostname
    spec:
      bgp:
        asNumber: 64512
        ipv4Address: 10.244.0.1/24
        ipv6Address: 2001:db8:85a3::8a2e:370:7334/120
        ipv4IPIPTunnelAddr: 192.168.0.1
    """

    static let bgpFilter = """
    apiVersion: projectcalico.org/v3
    kind: BGPFilter
    metadata:
      name: my-filter
    spec:
      exportV4:
        - action: Accept
          matchOperator: In
          cidr: 77.0.0.0/16
        - action: Reject
          matchOperator: NotIn
          cidr: 88.0.0.0/16
      importV4:
        - action: Accept
          matchOperator: NotEqual
          cidr: 44.0.0.0/16
      exportV6:
        - action: Reject
          source: RemotePeers
          interface: "*.calico"
    """

    static let networkPolicy = """
    apiVersion: projectcalico.org/v3
    kind: NetworkPolicy
    metadata:
      name: allow-tcp-6379
      namespace: production
    spec:
      selector: role == 'database'
      types:
        - Ingress
        - Egress
      ingress:
        - action: Allow
          metadata:
            annotations:
              from: frontend
              to: database
          protocol: TCP
          source:
            selector: role == 'frontend'
          destination:
            ports:
              - 6379
      egress:
        - action: Allow
    """

    static let globalNetworkPolicy = """
    apiVersion: projectcalico.org/v3
    kind: GlobalNetworkPolicy
    metadata:
      name: allow-tcp-port-6379
    spec:
      selector: role == 'database'
      types:
        - Ingress
        - Egress
      ingress:
        - action: Allow
          protocol: TCP
          source:
            selector: role == 'frontend'
          destination:
            ports:
              - 6379
      egress:
        - action: Allow
    """

    static let all = [ipPool, globalPeer, nodePeer, selectorPeer, passwordPeer, bgpConfiguration, node, bgpFilter,
                      networkPolicy, globalNetworkPolicy]
}
