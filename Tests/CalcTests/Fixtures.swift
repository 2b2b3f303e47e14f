import Calc
import NetCore
import NodeModel
import TestSupport

/// Builders for datastore objects, kept terse so scenario tables read like YAML.
enum F {
    static func node(_ name: String, v4: String? = nil, v6: String? = nil, as asn: UInt32? = nil, rr: String = "",
                     labels: [String: String] = [:]) -> Node {
        var bgp = NodeBGPSpec(asNumber: asn.map(ASNumber.init), ipv4Address: v4 ?? "", ipv6Address: v6 ?? "")
        bgp.routeReflectorClusterID = rr
        return Node(metadata: ObjectMeta(name: name, labels: labels), spec: NodeSpec(bgp: bgp))
    }

    static func peer(_ name: String, _ configure: (inout BGPPeerSpec) -> Void) -> BGPPeer {
        var s = BGPPeerSpec()
        configure(&s)
        return BGPPeer(metadata: ObjectMeta(name: name), spec: s)
    }

    static func config(_ name: String = "default", _ configure: (inout BGPConfigurationSpec) -> Void) -> BGPConfiguration {
        var s = BGPConfigurationSpec()
        configure(&s)
        return BGPConfiguration(metadata: ObjectMeta(name: name), spec: s)
    }

    static func pool(_ cidr: String, ipip: EncapMode? = nil, vxlan: EncapMode? = nil, disabled: Bool = false,
                     noExport: Bool = false) -> IPPool {
        var s = IPPoolSpec(cidr: cidr)
        s.ipipMode = ipip; s.vxlanMode = vxlan; s.disabled = disabled; s.disableBGPExport = noExport
        return IPPool(metadata: ObjectMeta(name: "pool-" + cidr.replacing("/", with: "-").replacing(":", with: "-")), spec: s)
    }

    static func affinity(_ node: String, _ cidr: String, _ state: BlockAffinityState = .confirmed) -> BlockAffinity {
        BlockAffinity(spec: BlockAffinitySpec(node: node, cidr: IPPrefix(cidr)!, state: state))
    }

    static func filter(_ name: String, _ configure: (inout BGPFilterSpec) -> Void) -> BGPFilter {
        var s = BGPFilterSpec()
        configure(&s)
        return BGPFilter(metadata: ObjectMeta(name: name), spec: s)
    }

    static func secret(_ name: String, _ key: String) -> BGPPassword {
        BGPPassword(secretKeyRef: SecretKeySelector(name: name, key: key))
    }

    static func ip(_ s: String) -> IPAddress { IPAddress(s)! }
    static func pfx(_ s: String) -> IPPrefix { IPPrefix(s)! }
}

/// Expands a sequence of datastore states into many sequences ending in the same last state:
/// steps reordered, repeated, emptied (everything deleted), and each state's object lists
/// shuffled. A history-free calculation must give the same result for all of them.
enum StateSequences {
    static func expand(_ steps: [CalcSnapshot], seed: UInt64 = 1, variants: Int = 12) -> [[CalcSnapshot]] {
        guard let last = steps.last else { return [] }
        var rng = SeededRandom(seed: seed)
        let empty = CalcSnapshot(nodeName: last.nodeName)
        var out: [[CalcSnapshot]] = [steps, [last], steps + [last], [empty] + steps, steps.dropLast() + [empty, last]]
        for _ in 0..<variants {
            var seq = Array(steps.dropLast()).shuffled(using: &rng)
            if !seq.isEmpty, Bool.random(using: &rng) { seq.insert(seq[Int.random(in: 0..<seq.count, using: &rng)], at: 0) }
            if Bool.random(using: &rng) { seq.insert(empty, at: Int.random(in: 0...seq.count, using: &rng)) }
            seq.append(shuffled(last, using: &rng))
            out.append(seq.map { shuffled($0, using: &rng) })
        }
        return out
    }

    static func shuffled(_ s: CalcSnapshot, using rng: inout SeededRandom) -> CalcSnapshot {
        var s = s
        s.nodes.shuffle(using: &rng); s.bgpPeers.shuffle(using: &rng); s.bgpConfigurations.shuffle(using: &rng)
        s.ipPools.shuffle(using: &rng); s.bgpFilters.shuffle(using: &rng); s.blockAffinities.shuffle(using: &rng)
        return s
    }

    /// Runs the peer calculation over every expanded sequence, folding `changes(from:)` at each
    /// step onto the previous set; returns each sequence's final set (all must be equal, and
    /// equal to the direct calculation on the last state).
    static func finalPeerSets(_ steps: [CalcSnapshot], seed: UInt64 = 1) -> [PeerSet] {
        expand(steps, seed: seed).map { seq in
            var current = PeerSet()
            for state in seq {
                let next = PeerCalculator.peers(state)
                current = apply(next.changes(from: current), to: current)
            }
            return current
        }
    }

    /// Applies a change list to a set (what an agent does with its running sessions).
    static func apply(_ changes: [PeerChange], to set: PeerSet) -> PeerSet {
        var byName: [String: Peer] = [:]
        for p in set { byName[p.name] = p }
        for c in changes {
            switch c {
            case .added(let p): byName[p.name] = p
            case .removed(let p): byName[p.name] = nil
            case .changedNeedsReset(_, let p, _), .changedInPlace(_, let p, _): byName[p.name] = p
            }
        }
        return PeerSet(Array(byName.values))
    }
}
