import Dataplane
import NetCore
import NodeModel

/// The Node object this agent writes at start-up, as calico-node's `startup.go` does: the
/// existing object is kept (labels, annotations, other spec fields, resource version for the
/// update) and only the fields the agent owns are set.
public enum NodeRegistration {
    /// `spec.bgp.ipv4Address` / `ipv6Address` in CIDR form (`10.0.0.5/24`; nil clears it, as
    /// `IP=none` does), `spec.bgp.asNumber` (nil keeps the existing one), and `labels` merged
    /// over the existing labels.
    public static func node(existing: Node?, name: String, ipv4: InterfaceAddress?, ipv6: InterfaceAddress?,
                            asNumber: ASNumber?, labels: [String: String]) -> Node {
        var node = existing ?? Node(metadata: ObjectMeta(name: name), spec: NodeSpec())
        node.metadata.name = name
        for (k, v) in labels { node.metadata.labels[k] = v }
        var bgp = node.spec.bgp ?? NodeBGPSpec()
        bgp.ipv4Address = ipv4.map { "\($0)" } ?? ""
        bgp.ipv6Address = ipv6.map { "\($0)" } ?? ""
        if let asNumber { bgp.asNumber = asNumber }
        node.spec.bgp = bgp
        return node
    }

    /// The tunnel fields Felix reads (`spec.bgp.ipv4IPIPTunnelAddr`, `spec.ipv4VXLANTunnelAddr`,
    /// `spec.vxlanTunnelMACAddr`); nil clears a field (calico-node removes a tunnel address once
    /// no pool needs it).
    public static func withTunnel(_ node: Node, ipip: IPAddress?, vxlanV4: IPAddress?, vxlanMAC: MACAddress?) -> Node {
        var node = node
        if ipip != nil || node.spec.bgp != nil {
            var bgp = node.spec.bgp ?? NodeBGPSpec()
            bgp.ipv4IPIPTunnelAddr = ipip.map { "\($0)" } ?? ""
            node.spec.bgp = bgp
        }
        node.spec.ipv4VXLANTunnelAddr = vxlanV4.map { "\($0)" } ?? ""
        node.spec.vxlanTunnelMACAddr = vxlanMAC.map { "\($0)" } ?? ""
        return node
    }
}
