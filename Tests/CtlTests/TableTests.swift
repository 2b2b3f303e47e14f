import Datastore
import Foundation
import NodeModel
import ResourceClient
import Testing
@testable import CtlCore

/// Table output in process (no binary): every kind's ps and wide columns, against golden files.
@Suite struct TableTests {
    @Test func tabwriterSpacingMatchesCalicoctl() {
        let text = TableWriter().render(headings: ["NAME", "CIDR", "SELECTOR"],
                                        rows: [["a", "10.0.0.0/8", "all()"], ["longer-name", "fd00::/48", ""]])
        #expect(text == """
        NAME          CIDR         SELECTOR   
        a             10.0.0.0/8   all()      
        longer-name   fd00::/48               

        
        """)
        // Narrow columns are at least 5 wide (cell + 3 padding, minimum 5).
        #expect(TableWriter().render(headings: ["A"], rows: [["b"]]) == "A    \nb    \n\n")
    }

    @Test func everyKindInBothWidths() throws {
        let session = Session(client: ResourceClient(datastore: MemoryDatastore()))
        let docs = """
        apiVersion: projectcalico.org/v3
        kind: WorkloadEndpoint
        metadata:
          name: node1-k8s-frontend--5gs43-eth0
          namespace: default
          labels:
            app: frontend
            projectcalico.org/namespace: default
            projectcalico.org/orchestrator: k8s
        spec:
          node: node1
          orchestrator: k8s
          endpoint: eth0
          containerID: 1337495556942031415926535
          pod: frontend-5gs43
          ipNetworks:
          - 192.168.0.1/32
          profiles:
          - kns.default
          interfaceName: cali0ef24ba
          mac: ca:fe:1d:52:bb:e9
        ---
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata:
          name: allow-tcp-port-6379
        spec:
          order: 100
          selector: role == 'database'
          ingress:
          - action: Allow
            protocol: TCP
            destination:
              ports:
              - 6379
        ---
        apiVersion: projectcalico.org/v3
        kind: NetworkPolicy
        metadata:
          name: np1
          namespace: prod
        spec:
          order: 10
          selector: app == 'db'
        ---
        apiVersion: projectcalico.org/v3
        kind: IPAMConfiguration
        metadata:
          name: default
        spec:
          strictAffinity: true
          maxBlocksPerHost: 4
        ---
        apiVersion: projectcalico.org/v3
        kind: BGPConfiguration
        metadata:
          name: node.node1
        spec:
          logSeverityScreen: Debug
        ---
        apiVersion: projectcalico.org/v3
        kind: Node
        metadata:
          name: node2
        spec:
          bgp:
            ipv4Address: 10.0.0.2/24
        ---
        apiVersion: projectcalico.org/v3
        kind: Node
        metadata:
          name: node3
        spec: {}
        """
        let out = try session.apply(InputText(source: "test", text: docs))
        #expect(out == "Successfully applied 7 resource(s)\n")
        var text = ""
        for kind in ["wep", "gnp", "networkpolicy", "ipamconfig", "bgpconfig", "nodes", "ippools"] {
            for format in [OutputFormat.ps, .wide] {
                text += "$ get \(kind) -o \(format.name)\(kind == "networkpolicy" ? " -A" : "")\n"
                text += try session.get(kind: kind, names: [], allNamespaces: kind == "networkpolicy", output: format)
            }
        }
        try Golden.check(text, "tables-all-kinds.txt")
    }
}
