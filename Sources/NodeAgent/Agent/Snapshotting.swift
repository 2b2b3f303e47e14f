import Calc
import NodeModel

/// The datastore cache as the pure core's inputs.
enum Snapshotting {
    static func snapshot(nodeName: String, resources: [String: Resource]) -> (CalcSnapshot, [WorkloadEndpoint]) {
        var s = CalcSnapshot(nodeName: nodeName)
        var weps: [WorkloadEndpoint] = []
        for r in resources.values {
            switch r {
            case .node(let n): s.nodes.append(n)
            case .bgpPeer(let p): s.bgpPeers.append(p)
            case .bgpConfiguration(let c): s.bgpConfigurations.append(c)
            case .ipPool(let p): s.ipPools.append(p)
            case .bgpFilter(let f): s.bgpFilters.append(f)
            case .blockAffinity(let a): s.blockAffinities.append(a)
            case .workloadEndpoint(let w): weps.append(w)
            default: break
            }
        }
        return (s, weps)
    }
}
