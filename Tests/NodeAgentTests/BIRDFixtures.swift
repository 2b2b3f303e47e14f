import Calc
import Datastore
import Foundation
import IPAM
import Logging
import NetCore
import NodeAgent
import NodeModel
import ResourceClient

/// A cluster written into a datastore the way the product writes it: Nodes, pools and peers
/// through ResourceClient, block affinities claimed by IPAM for an address on each node.
enum BIRDCluster {
    static func node(_ name: String, v4: String, as asn: UInt32? = nil) -> Resource {
        .node(Node(metadata: ObjectMeta(name: name),
                   spec: NodeSpec(bgp: NodeBGPSpec(asNumber: asn.map(ASNumber.init), ipv4Address: v4))))
    }

    static func pool(_ cidr: String, name: String = "default-ipv4-ippool") -> Resource {
        .ipPool(IPPool(metadata: ObjectMeta(name: name), spec: IPPoolSpec(cidr: cidr)))
    }

    static func peer(_ name: String, ip: String, as asn: UInt32, password: (secret: String, key: String)? = nil) -> Resource {
        var s = BGPPeerSpec()
        s.peerIP = ip
        s.asNumber = ASNumber(asn)
        if let p = password { s.password = BGPPassword(secretKeyRef: SecretKeySelector(name: p.secret, key: p.key)) }
        return .bgpPeer(BGPPeer(metadata: ObjectMeta(name: name), spec: s))
    }

    /// Nodes `a` (10.0.0.1/24) and `b` (10.0.0.2/24) in a full mesh, pool 10.244.0.0/16
    /// without encapsulation, one pod address per node (so each node has an affine block).
    /// Returns each node's block.
    @discardableResult
    static func twoNodeMesh(_ store: any Datastore) throws -> [String: IPPrefix] {
        let client = ResourceClient(datastore: store)
        try client.apply([node("a", v4: "10.0.0.1/24"), node("b", v4: "10.0.0.2/24"), pool("10.244.0.0/16")])
        let ipam = IPAMClient(store: store)
        for n in ["a", "b"] { _ = try ipam.autoAssign(AssignRequest(handleID: "pod-\(n)", node: n)) }
        let snapshot = try loadCalcSnapshot(store: store, nodeName: "a")
        var blocks: [String: IPPrefix] = [:]
        for a in snapshot.blockAffinities { blocks[a.spec.node] = IPPrefix(a.spec.cidr) }
        return blocks
    }
}

/// Collects log records in memory (swift-log's advice for tests).
final class BIRDTestLog: @unchecked Sendable {
    // Invariant: `records` only under `lock`.
    private let lock = NSLock()
    private var records: [(Logger.Level, String)] = []

    var lines: [(Logger.Level, String)] { lock.withLock { records } }
    func contains(_ text: String) -> Bool { lock.withLock { records.contains { $0.1.contains(text) } } }

    func logger(_ label: String) -> Logger {
        var l = Logger(label: label) { _ in Handler(sink: self) }
        l.logLevel = .debug
        return l
    }

    fileprivate func add(_ level: Logger.Level, _ message: String) { lock.withLock { records.append((level, message)) } }

    struct Handler: LogHandler {
        let sink: BIRDTestLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?,
                 source: String, file: String, function: String, line: UInt) {
            sink.add(level, "\(message)")
        }
    }
}
