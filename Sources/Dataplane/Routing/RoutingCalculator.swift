import NetCore

/// Turns `RoutingInput` into the desired `RoutingState` (pure; Felix's route, VXLAN and IPIP
/// managers in one function). Bad input never aborts: the affected block or workload is
/// skipped and named in an issue, and everything else is still computed.
public enum RoutingCalculator {
    public struct Result: Hashable, Sendable {
        public var state: RoutingState
        public var issues: [ApplyIssue]
        /// What each workload contributed (routes it won, neighbours, sysctls), by name.
        public var workloadContributions: [String: RoutingState] = [:]
    }

    public static func compute(_ input: RoutingInput) -> Result {
        var out = RoutingState()
        var issues: [ApplyIssue] = []
        let s = input.settings
        let node = input.node

        if s.ipForwarding { out.sysctls[SysctlKey(["net", "ipv4", "ip_forward"])] = "1" }
        if s.ipForwarding && (node.ipv6 != nil || input.workloads.contains { $0.addresses.contains { $0.family == .v6 } }) {
            out.sysctls[SysctlKey(["net", "ipv6", "conf", "all", "forwarding"])] = "1"
        }

        var owner: [RouteKey: String] = [:]
        var contributions: [String: RoutingState] = [:]
        for w in input.workloads {
            var part = workloadState(w, settings: s)
            issues += part.issues
            for key in part.state.routes.keys where owner[key] != nil {
                issues.append(issue("workload \(w.name)", "address \(key.destination) is also used by \(owner[key]!); keeping the first"))
                part.state.routes[key] = nil
            }
            merge(part.state, into: &out)
            for key in part.state.routes.keys { owner[key] = "workload \(w.name)" }
            contributions[w.name] = part.state
        }

        // Local blocks: blackhole so traffic to unallocated addresses is dropped, not sent
        // back out the default route. Exact host blocks are skipped (CNI owns that route).
        for block in input.localBlocks {
            if block.length == block.family.bitWidth { continue }
            let key = RouteKey(table: s.routeTable, destination: block)
            if let o = owner[key] {
                issues.append(issue("block \(block)", "local block has the same prefix as \(o); skipped"))
                continue
            }
            out.routes[key] = Route(destination: block, table: s.routeTable, type: .blackhole, protocolNumber: s.routeProtocol)
            owner[key] = "local block \(block)"
        }

        // Tunnel devices are needed when a block uses them or a tunnel address is assigned.
        let needVXLAN4 = node.ipv4VXLANTunnelAddress != nil
            || input.remoteBlocks.contains { $0.encapsulation == .vxlan && $0.cidr.family == .v4 }
        let needVXLAN6 = node.ipv6VXLANTunnelAddress != nil
            || input.remoteBlocks.contains { $0.encapsulation == .vxlan && $0.cidr.family == .v6 }
        let needIPIP = node.ipv4IPIPTunnelAddress != nil
            || input.remoteBlocks.contains { $0.encapsulation == .ipip && $0.cidr.family == .v4 }
        var vxlanReady: [IPFamily: String] = [:]
        for (family, needed) in [(IPFamily.v4, needVXLAN4), (.v6, needVXLAN6)] where needed {
            switch vxlanDevice(family, input) {
            case .success(let (dev, addr)):
                out.devices[dev.name] = .vxlan(dev)
                if let addr { out.addresses.insert(addr) }
                vxlanReady[family] = dev.name
            case .failure(let i): issues.append(i)
            }
        }
        if needIPIP {
            let mtu = s.ipipMTU ?? node.parentMTU - RoutingSettings.ipipOverhead
            out.devices[s.ipipDevice] = .ipip(IPIPDevice(name: s.ipipDevice, mtu: mtu))
            if let a = node.ipv4IPIPTunnelAddress {
                out.addresses.insert(DeviceAddress(device: s.ipipDevice, address: InterfaceAddress(a, prefixLength: 32)))
            }
        }

        for block in input.remoteBlocks {
            let key = RouteKey(table: s.routeTable, destination: block.cidr)
            if let o = owner[key] {
                issues.append(issue("block \(block.cidr)", "remote block has the same prefix as \(o); skipped"))
                continue
            }
            var hops: [NextHop] = []
            var neighbours: [NeighbourKey: MACAddress] = [:]
            var fdb: [FDBKey: IPAddress] = [:]
            let family = block.cidr.family
            if block.nodes.isEmpty { issues.append(issue("block \(block.cidr)", "no remote node given")); continue }
            if block.encapsulation == .ipip && family == .v6 {
                issues.append(issue("block \(block.cidr)", "IPIP encapsulation has no IPv6 support",
                                    remedy: "use VXLAN (or no encapsulation) for IPv6 pools"))
                continue
            }
            for remote in block.nodes {
                let subject = "block \(block.cidr) via node \(remote.name)"
                guard remote.address.family == family else {
                    issues.append(issue(subject, "node address \(remote.address) is not \(family)")); continue
                }
                let sameSubnet = block.mode == .crossSubnet
                    && (node.address(family)?.subnet.contains(remote.address.address) ?? false)
                if block.encapsulation == .none || sameSubnet {
                    hops.append(NextHop(device: node.parentInterface, gateway: remote.address.address, onlink: true))
                    continue
                }
                switch block.encapsulation {
                case .none: break
                case .ipip:
                    hops.append(NextHop(device: s.ipipDevice, gateway: remote.address.address, onlink: true))
                case .vxlan:
                    guard let dev = vxlanReady[family] else {
                        issues.append(issue(subject, "the \(family) VXLAN device is not configured (see its issue)")); continue
                    }
                    guard let mac = remote.vtepMAC, let tunnel = remote.tunnelAddress, tunnel.family == family else {
                        issues.append(issue(subject, "VXLAN needs the remote VTEP MAC and a \(family) tunnel address")); continue
                    }
                    hops.append(NextHop(device: dev, gateway: tunnel, onlink: true))
                    neighbours[NeighbourKey(device: dev, address: tunnel)] = mac
                    fdb[FDBKey(device: dev, mac: mac)] = remote.address.address
                }
            }
            guard !hops.isEmpty else { continue }
            out.routes[key] = Route(destination: block.cidr, table: s.routeTable, nextHops: hops, protocolNumber: s.routeProtocol)
            owner[key] = "remote block \(block.cidr)"
            out.neighbours.merge(neighbours) { a, _ in a }
            out.fdb.merge(fdb) { a, _ in a }
        }
        return Result(state: out, issues: issues, workloadContributions: contributions)
    }

    /// What one local workload contributes: its host routes, neighbour entries and the
    /// sysctls of its host-side interface. Used on its own for incremental updates.
    public static func workloadState(_ w: Workload, settings s: RoutingSettings) -> Result {
        var out = RoutingState()
        var issues: [ApplyIssue] = []
        if let reason = interfaceNameProblem(w.interface) {
            return Result(state: out, issues: [issue("workload \(w.name)", "interface \"\(w.interface)\" \(reason)")])
        }
        var families: Set<IPFamily> = []
        for a in w.addresses {
            let key = RouteKey(table: s.routeTable, destination: IPPrefix(host: a))
            // The kernel keeps IPv6 routes at universe scope whatever is asked; v4 uses link.
            out.routes[key] = Route(destination: key.destination, table: s.routeTable, scope: a.family == .v4 ? .link : .universe,
                                    nextHops: [NextHop(device: w.interface)], protocolNumber: s.routeProtocol)
            if let mac = w.mac { out.neighbours[NeighbourKey(device: w.interface, address: a)] = mac }
            families.insert(a.family)
        }
        if w.addresses.isEmpty { issues.append(issue("workload \(w.name)", "has no IP address", severity: .warning)) }
        let i = w.interface
        if families.contains(.v4) {
            out.sysctls[SysctlKey(["net", "ipv4", "conf", i, "proxy_arp"])] = "1"
            out.sysctls[SysctlKey(["net", "ipv4", "conf", i, "forwarding"])] = "1"
            out.sysctls[SysctlKey(["net", "ipv4", "conf", i, "rp_filter"])] = "\(s.workloadRPFilter)"
            out.sysctls[SysctlKey(["net", "ipv4", "neigh", i, "proxy_delay"])] = "0"
        }
        if families.contains(.v6) {
            out.sysctls[SysctlKey(["net", "ipv6", "conf", i, "proxy_ndp"])] = "1"
            out.sysctls[SysctlKey(["net", "ipv6", "conf", i, "forwarding"])] = "1"
            out.sysctls[SysctlKey(["net", "ipv6", "conf", i, "accept_ra"])] = "0"
        }
        return Result(state: out, issues: issues)
    }

    /// Linux interface names: 1–15 bytes, no `/`, no whitespace, not `.` or `..`.
    public static func interfaceNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > 15 { return "is longer than 15 bytes" }
        if name == "." || name == ".." { return "is not a valid interface name" }
        if name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) { return "contains '/', ':' or whitespace" }
        return nil
    }

    static func vxlanDevice(_ family: IPFamily, _ input: RoutingInput) -> Swift.Result<(VXLANDevice, DeviceAddress?), ApplyIssue> {
        let s = input.settings, node = input.node
        let name = family == .v4 ? s.vxlanDevice : s.vxlanV6Device
        guard let local = node.address(family) else {
            return .failure(issue("device \(name)", "VXLAN over \(family) needs this node's \(family) address"))
        }
        if let p = interfaceNameProblem(node.parentInterface) {
            return .failure(issue("device \(name)", "parent interface \"\(node.parentInterface)\" \(p)"))
        }
        let mtu = family == .v4
            ? s.vxlanMTU ?? node.parentMTU - RoutingSettings.vxlanOverhead
            : s.vxlanV6MTU ?? node.parentMTU - RoutingSettings.vxlanV6Overhead
        let mac = (family == .v4 ? node.vxlanMAC : node.vxlanV6MAC ?? node.vxlanMAC) ?? VTEPMAC.derived(fromNodeName: node.name)
        let dev = VXLANDevice(name: name, vni: family == .v4 ? s.vxlanVNI : s.vxlanV6VNI, port: s.vxlanPort,
                              learning: false, localAddress: local.address, parent: node.parentInterface, mac: mac, mtu: mtu)
        let tunnel = family == .v4 ? node.ipv4VXLANTunnelAddress : node.ipv6VXLANTunnelAddress
        let addr = tunnel.map { DeviceAddress(device: name, address: InterfaceAddress($0, prefixLength: family.bitWidth)) }
        return .success((dev, addr))
    }

    static func merge(_ part: RoutingState, into out: inout RoutingState) {
        out.routes.merge(part.routes) { a, _ in a }
        out.neighbours.merge(part.neighbours) { a, _ in a }
        out.sysctls.merge(part.sysctls) { a, _ in a }
    }

    static func issue(_ subject: String, _ reason: String, remedy: String? = nil,
                      severity: ApplyIssue.Severity = .error) -> ApplyIssue {
        ApplyIssue(component: .routes, severity: severity, subject: subject, reason: reason, remedy: remedy)
    }
}
