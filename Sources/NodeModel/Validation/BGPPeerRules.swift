import NetCore

/// A parsed `peerIP`: address and optional port.
public struct PeerEndpoint: Hashable, Sendable {
    public var address: IPAddress
    public var port: UInt16?
    public init(address: IPAddress, port: UInt16? = nil) { self.address = address; self.port = port }

    /// Accepts `IP`, `IPv4:port` and `[IPv6]:port` (validator `processIPPort`); port ≥ 1.
    public static func parse(_ text: String) -> Result<PeerEndpoint, FieldError> {
        let bad = FieldError("spec.peerIP", "invalid peerIP \"\(text)\": expected IP, IPv4:port or [IPv6]:port")
        func port(_ s: Substring) -> UInt16? {
            guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt16(s), v >= 1 else { return nil }
            return v
        }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), case .v6(let a)? = IPAddress(text[text.index(after: text.startIndex)..<close])
            else { return .failure(bad) }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return .success(PeerEndpoint(address: .v6(a), port: nil)) }
            guard rest.first == ":", let p = port(rest.dropFirst()) else {
                return .failure(FieldError("spec.peerIP", "invalid port in peerIP \"\(text)\": must be 1-65535"))
            }
            return .success(PeerEndpoint(address: .v6(a), port: p))
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1 {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard case .v4(let a)? = IPAddress(parts[0]) else { return .failure(bad) }
            guard let p = port(parts[1]) else {
                return .failure(FieldError("spec.peerIP", "invalid port in peerIP \"\(text)\": must be 1-65535"))
            }
            return .success(PeerEndpoint(address: .v4(a), port: p))
        }
        guard let a = IPAddress(text) else { return .failure(bad) }
        return .success(PeerEndpoint(address: a, port: nil))
    }
}

extension BGPPeerSpec {
    /// The parsed `peerIP`, nil when unset or malformed.
    public var peerEndpoint: PeerEndpoint? { peerIP.isEmpty ? nil : PeerEndpoint.parse(peerIP).success }

    /// `nextHopMode`, with the deprecated `keepOriginalNextHop: true` meaning `Keep`.
    public var effectiveNextHopMode: NextHopMode { nextHopMode ?? (keepOriginalNextHop ? .keep : .auto) }

    /// A global peer applies to every node (neither node nor nodeSelector set).
    public var isGlobal: Bool { node.isEmpty && nodeSelector.isEmpty }
}

/// BGPPeer validation (calico.md §1.2: CEL rules and the Go validator).
enum BGPPeerRules {
    static func validate(_ s: BGPPeerSpec, _ p: inout Problems) {
        if !s.node.isEmpty && !s.nodeSelector.isEmpty {
            p.add("spec", "node and nodeSelector cannot both be set")
        }
        if !s.node.isEmpty, let problem = NameRules.dnsSubdomainProblem(s.node) { p.add("spec.node", problem) }
        if !s.peerIP.isEmpty && !s.peerSelector.isEmpty {
            p.add("spec", "peerIP and peerSelector cannot both be set")
        }
        if !s.localWorkloadSelector.isEmpty {
            if !s.peerIP.isEmpty || !s.peerSelector.isEmpty {
                p.add("spec.localWorkloadSelector", "cannot be combined with peerIP or peerSelector")
            }
            if s.asNumber == nil { p.add("spec.asNumber", "required with localWorkloadSelector") }
        } else if s.peerIP.isEmpty && s.peerSelector.isEmpty {
            p.add("spec", "one of peerIP or peerSelector must be set")
        }
        if !s.peerSelector.isEmpty && s.asNumber != nil {
            p.add("spec.asNumber", "must be empty when peerSelector is set (the AS comes from the selected nodes)")
        }
        // No "asNumber required with peerIP": Calico accepts it (the peer's AS then comes from
        // the Calico node with that IP, else the global AS), so we do too.
        var endpoint: PeerEndpoint? = nil
        if !s.peerIP.isEmpty {
            switch PeerEndpoint.parse(s.peerIP) {
            case .success(let e): endpoint = e
            case .failure(let e): p.add(e)
            }
        }
        if !s.reachableBy.isEmpty {
            if s.peerIP.isEmpty { p.add("spec.reachableBy", "requires peerIP") }
            if let gw = IPAddress(s.reachableBy) {
                if let endpoint, endpoint.address.family != gw.family {
                    p.add("spec.reachableBy", "reachableBy \(gw) and peerIP \(endpoint.address) must be the same address family")
                }
            } else {
                p.add("spec.reachableBy", "invalid IP address \"\(s.reachableBy)\"")
            }
        }
        if s.keepOriginalNextHop && s.nextHopMode != nil {
            p.add("spec", "keepOriginalNextHop and nextHopMode cannot both be set (keepOriginalNextHop is deprecated: use nextHopMode: Keep)")
        }
        if let t = s.ttlSecurity, !(0...255).contains(t) { p.add("spec.ttlSecurity", "must be between 0 and 255") }
        if let n = s.numAllowedLocalASNumbers, n < 0 { p.add("spec.numAllowedLocalASNumbers", "must not be negative") }
        if let k = s.keepaliveTime, k.milliseconds < 0 { p.add("spec.keepaliveTime", "must not be negative") }
        if let pw = s.password, pw.secretKeyRef == nil { p.add("spec.password.secretKeyRef", "required") }
        if let ref = s.password?.secretKeyRef {
            if ref.name.isEmpty { p.add("spec.password.secretKeyRef.name", "required") }
            if ref.key.isEmpty { p.add("spec.password.secretKeyRef.key", "required") }
        }
        for (i, f) in s.filters.enumerated() {
            if let problem = NameRules.dnsSubdomainProblem(f) { p.add(FieldPath("spec.filters").index(i), problem) }
        }
        p.selector(s.nodeSelector, at: "spec.nodeSelector")
        p.selector(s.peerSelector, at: "spec.peerSelector")
        p.selector(s.localWorkloadSelector, at: "spec.localWorkloadSelector")
    }
}
