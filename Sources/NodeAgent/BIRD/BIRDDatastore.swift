import Calc
import Datastore
import Foundation
import NodeModel
import ResourceClient

/// Why a node's BIRD configuration cannot be produced from the datastore.
public enum BIRDRenderSourceError: Error, Hashable, Sendable, CustomStringConvertible {
    case datastore(ClientError)
    case nodeNotFound(String)
    /// The Node exists but has no `spec.bgp` (no BGP address): confd renders nothing for it.
    case nodeHasNoBGP(String)
    case render(BIRDRenderError)
    /// A password secret file exists but cannot be read.
    case secret(path: String, reason: String)

    public var description: String {
        switch self {
        case .datastore(let e): "reading the datastore: \(e)"
        case .nodeNotFound(let n): "Node \(n) does not exist in the datastore"
        case .nodeHasNoBGP(let n): "Node \(n) has no spec.bgp (no BGP address): BIRD has nothing to run"
        case .render(let e): "BIRD configuration: \(e)"
        case .secret(let path, let reason): "BGP password secret \(path): \(reason)"
        }
    }
}

/// Everything confd's BGP syncer reads, for `nodeName`: Nodes, BGPPeers, BGPConfigurations,
/// IPPools, BGPFilters and block affinities (every node's: the snapshot keeps this node's).
public func loadCalcSnapshot(store: any Datastore, nodeName: String) throws(BIRDRenderSourceError) -> CalcSnapshot {
    let client = ResourceClient(datastore: store)
    func list(_ kind: ResourceKind) throws(BIRDRenderSourceError) -> [Resource] {
        do { return try client.list(kind: kind).map(\.resource) } catch { throw .datastore(error) }
    }
    var s = CalcSnapshot(nodeName: nodeName)
    for r in try list(.node) { if case .node(let n) = r { s.nodes.append(n) } }
    for r in try list(.bgpPeer) { if case .bgpPeer(let p) = r { s.bgpPeers.append(p) } }
    for r in try list(.bgpConfiguration) { if case .bgpConfiguration(let c) = r { s.bgpConfigurations.append(c) } }
    for r in try list(.ipPool) { if case .ipPool(let p) = r { s.ipPools.append(p) } }
    for r in try list(.bgpFilter) { if case .bgpFilter(let f) = r { s.bgpFilters.append(f) } }
    for r in try list(.blockAffinity) { if case .blockAffinity(let a) = r { s.blockAffinities.append(a) } }
    return s
}

/// The BIRD input for `nodeName` from the datastore. Passwords (`secretKeyRef`s) are read from
/// `secretsDirectory` laid out as Kubernetes mounts a secret volume, `<dir>/<secret>/<key>`
/// holding the exact bytes; Twill has no Secret resource of its own, so without a directory
/// (or for a missing file) the peer gets no password and the configuration says so.
public func birdConfigInput(store: any Datastore, nodeName: String,
                            secretsDirectory: String? = nil) throws(BIRDRenderSourceError) -> BIRDConfigInput {
    let snapshot = try loadCalcSnapshot(store: store, nodeName: nodeName)
    guard let node = snapshot.nodes.first(where: { $0.metadata.name == nodeName }) else { throw .nodeNotFound(nodeName) }
    guard node.spec.bgp != nil else { throw .nodeHasNoBGP(nodeName) }
    var passwords: [PasswordRef: String] = [:]
    if let dir = secretsDirectory {
        let refs = Set(PeerCalculator.peers(snapshot).peers.compactMap(\.password))
        for ref in refs.sorted() {
            let path = dir + "/" + ref.secretName + "/" + ref.key
            guard FileManager.default.fileExists(atPath: path) else { continue }
            do {
                passwords[ref] = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            } catch {
                throw .secret(path: path, reason: error.localizedDescription)
            }
        }
    }
    guard let input = BIRDConfigInput(snapshot, passwords: passwords) else { throw .nodeHasNoBGP(nodeName) }
    return input
}

/// `twill-node render-bird`: the BIRD 2 configuration of `nodeName` as the datastore stands.
public func renderBIRDConfig(store: any Datastore, nodeName: String,
                             secretsDirectory: String? = nil) throws(BIRDRenderSourceError) -> String {
    let input = try birdConfigInput(store: store, nodeName: nodeName, secretsDirectory: secretsDirectory)
    do { return try BIRDRenderer.render(input) } catch { throw .render(error) }
}
