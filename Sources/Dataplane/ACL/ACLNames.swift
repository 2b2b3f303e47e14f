import NetCore

/// Stable, content-derived hashing (FNV-1a 64). Used for set and chain names, so it must never
/// change between releases: a changed hash renames every set on upgrade.
public enum ACLHash {
    public static func fnv1a64(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }
    /// 16 lowercase hex digits.
    public static func hex64(_ text: String) -> String {
        let s = String(fnv1a64(text), radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// The names of everything in Twill's table, in one place (the chain layout in docs/dataplane-acl.md).
public enum ACLNames {
    public static let forward = "forward"
    public static let input = "input"
    public static let output = "output"
    public static let postrouting = "postrouting"
    public static let fromWorkloadDispatch = "from-wl-dispatch"
    public static let toWorkloadDispatch = "to-wl-dispatch"
    public static let workloadToHost = "wl-to-host"
    public static let failsafeIn = "failsafe-in"
    public static let failsafeOut = "failsafe-out"
    /// Verdict map `iifname → goto fw-<iface>`.
    public static let fromWorkloadMap = "from-wl"
    /// Verdict map `oifname → goto tw-<iface>`.
    public static let toWorkloadMap = "to-wl"

    /// Ingress policy of one workload (traffic to it).
    public static func toWorkload(_ iface: String) -> String { "tw-" + iface }
    /// Egress policy and anti-spoofing of one workload (traffic from it).
    public static func fromWorkload(_ iface: String) -> String { "fw-" + iface }
    /// A policy's ingress (`pi-`) or egress (`po-`) chain.
    public static func policy(_ name: String, _ dir: ACLDirection) -> String {
        (dir == .ingress ? "pi-" : "po-") + policyID(name)
    }
    /// The policy name when it is a safe nft identifier, else a sanitized form plus a hash.
    public static func policyID(_ name: String) -> String {
        let ok = !name.isEmpty && name.utf8.count <= 100 && name.unicodeScalars.allSatisfy(isIdentifierScalar)
        if ok { return name }
        var s = String(String.UnicodeScalarView(name.unicodeScalars.map { isIdentifierScalar($0) ? $0 : "_" }))
        if s.utf8.count > 60 { s = String(s.prefix(60)) }
        return s + "-" + String(ACLHash.hex64(name).prefix(8))
    }
    /// The IP set a selector resolved to, one per family.
    public static func ipSet(_ id: ACLIPSetID, _ family: IPFamily) -> String {
        (family == .v4 ? "ip4-" : "ip6-") + id.rawValue
    }
    /// A constant interval set of networks, named after its content.
    public static func netSet(_ family: IPFamily, contentKey: String) -> String {
        (family == .v4 ? "net4-" : "net6-") + ACLHash.hex64(contentKey)
    }
    /// A constant interval set of ports, named after its content.
    public static func portSet(contentKey: String) -> String { "port-" + ACLHash.hex64(contentKey) }

    static func isIdentifierScalar(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "." || c == "-"
            || c == "/"
    }

    /// Interface names as the kernel allows them and nft can print unquoted.
    static func isValidInterface(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 15 && s.unicodeScalars.allSatisfy { isIdentifierScalar($0) && $0 != "/" }
    }

    /// `tcp`, `udp`, ... for messages and nft text.
    public static func protocolName(_ p: UInt8) -> String {
        switch p {
        case 1: "icmp"
        case 6: "tcp"
        case 17: "udp"
        case 58: "ipv6-icmp"
        case 132: "sctp"
        default: "\(p)"
        }
    }
}
