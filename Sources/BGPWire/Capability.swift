import NetCore

/// Capability codes (IANA "Capability Codes" registry).
public enum CapabilityCode {
    public static let multiprotocol: UInt8 = 1
    public static let routeRefresh: UInt8 = 2
    public static let extendedNextHop: UInt8 = 5
    public static let extendedMessage: UInt8 = 6
    public static let role: UInt8 = 9
    public static let gracefulRestart: UInt8 = 64
    public static let fourOctetAS: UInt8 = 65
    public static let addPath: UInt8 = 69
    public static let enhancedRouteRefresh: UInt8 = 70
    public static let longLivedGracefulRestart: UInt8 = 71
    public static let fqdn: UInt8 = 73
    public static let ciscoRouteRefresh: UInt8 = 128
}

/// RFC 4724 Graceful Restart capability (code 64).
public struct GracefulRestart: Hashable, Sendable {
    public struct Family: Hashable, Sendable {
        public var family: AddressFamily
        /// The F bit: forwarding state was preserved across the restart.
        public var forwardingPreserved: Bool
        public init(_ family: AddressFamily, forwardingPreserved: Bool = false) {
            self.family = family; self.forwardingPreserved = forwardingPreserved
        }
    }
    /// The R bit: the sender has restarted.
    public var restarting: Bool
    /// The N bit (RFC 8538): the sender supports Graceful Restart for NOTIFICATION messages.
    public var notification: Bool
    /// Restart Time in seconds (12 bits, ≤ 4095).
    public var restartTime: UInt16
    public var families: [Family]

    public init(restarting: Bool = false, notification: Bool = false, restartTime: UInt16, families: [Family] = []) {
        self.restarting = restarting; self.notification = notification
        self.restartTime = min(restartTime, 4095); self.families = families
    }
}

/// RFC 7911 ADD-PATH send/receive bits.
public struct AddPathMode: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let receive = AddPathMode(rawValue: 1)
    public static let send = AddPathMode(rawValue: 2)
    public static let both: AddPathMode = [.receive, .send]
}

/// One ADD-PATH capability tuple.
public struct AddPathEntry: Hashable, Sendable {
    public var family: AddressFamily
    public var mode: AddPathMode
    public init(_ family: AddressFamily, _ mode: AddPathMode) { self.family = family; self.mode = mode }
}

/// One RFC 8950 Extended Next Hop tuple: NLRI of `family` may carry a next hop of `nextHopAFI`.
/// (The capability carries a 16-bit SAFI; values above 255 are not defined and are rejected.)
public struct ExtendedNextHopEntry: Hashable, Sendable {
    public var family: AddressFamily
    public var nextHopAFI: UInt16
    public init(_ family: AddressFamily, nextHopAFI: UInt16) { self.family = family; self.nextHopAFI = nextHopAFI }
}

/// One RFC 9494 Long-Lived Graceful Restart tuple.
public struct LLGREntry: Hashable, Sendable {
    public var family: AddressFamily
    public var forwardingPreserved: Bool
    /// Long-lived stale time in seconds (24 bits).
    public var staleTime: UInt32
    public init(_ family: AddressFamily, forwardingPreserved: Bool = false, staleTime: UInt32) {
        self.family = family; self.forwardingPreserved = forwardingPreserved; self.staleTime = staleTime & 0xff_ffff
    }
}

/// A capability advertised in OPEN (RFC 5492). Unknown codes are kept raw and re-encode as read.
public enum Capability: Hashable, Sendable {
    /// 1: RFC 4760 Multiprotocol Extensions.
    case multiprotocol(AddressFamily)
    /// 2: RFC 2918 Route Refresh.
    case routeRefresh
    /// 128: the pre-standard Cisco Route Refresh code.
    case ciscoRouteRefresh
    /// 5: RFC 8950 Extended Next Hop Encoding.
    case extendedNextHop([ExtendedNextHopEntry])
    /// 6: RFC 8654 Extended Message.
    case extendedMessage
    /// 64: RFC 4724 Graceful Restart.
    case gracefulRestart(GracefulRestart)
    /// 65: RFC 6793 4-octet AS number.
    case fourOctetAS(UInt32)
    /// 69: RFC 7911 ADD-PATH.
    case addPath([AddPathEntry])
    /// 70: RFC 7313 Enhanced Route Refresh.
    case enhancedRouteRefresh
    /// 71: RFC 9494 Long-Lived Graceful Restart.
    case longLivedGracefulRestart([LLGREntry])
    /// 73: draft-walton-bgp-hostname-capability FQDN (hostname and domain, UTF-8 bytes as sent).
    case fqdn(hostname: [UInt8], domain: [UInt8])
    /// Any other code, value bytes as received.
    case unknown(code: UInt8, value: [UInt8])

    public var code: UInt8 {
        switch self {
        case .multiprotocol: CapabilityCode.multiprotocol
        case .routeRefresh: CapabilityCode.routeRefresh
        case .ciscoRouteRefresh: CapabilityCode.ciscoRouteRefresh
        case .extendedNextHop: CapabilityCode.extendedNextHop
        case .extendedMessage: CapabilityCode.extendedMessage
        case .gracefulRestart: CapabilityCode.gracefulRestart
        case .fourOctetAS: CapabilityCode.fourOctetAS
        case .addPath: CapabilityCode.addPath
        case .enhancedRouteRefresh: CapabilityCode.enhancedRouteRefresh
        case .longLivedGracefulRestart: CapabilityCode.longLivedGracefulRestart
        case .fqdn: CapabilityCode.fqdn
        case .unknown(let c, _): c
        }
    }

    /// FQDN capability from strings (each truncated to 255 UTF-8 bytes).
    public static func fqdn(hostname: String, domain: String) -> Capability {
        .fqdn(hostname: Array(hostname.utf8.prefix(255)), domain: Array(domain.utf8.prefix(255)))
    }

    static func malformed(_ name: String, _ why: String) -> WireError {
        WireError(code: ErrorCode.openMessage, subcode: OpenSubcode.unspecific, reason: "\(name) capability: \(why)")
    }

    /// Decodes one capability TLV's value (`r` holds exactly the value).
    init(code: UInt8, value r: inout WireReader) throws(WireError) {
        let length = r.remaining
        func expect(_ name: String, _ ok: Bool, _ what: String) throws(WireError) {
            if !ok { throw Capability.malformed(name, "length \(length), expected \(what)") }
        }
        switch code {
        case CapabilityCode.multiprotocol:
            try expect("multiprotocol", length == 4, "4")
            let afi = try r.u16(); _ = try r.u8(); let safi = try r.u8()
            self = .multiprotocol(AddressFamily(afi: afi, safi: safi))
        case CapabilityCode.routeRefresh:
            try expect("route-refresh", length == 0, "0"); self = .routeRefresh
        case CapabilityCode.ciscoRouteRefresh:
            try expect("route-refresh (Cisco)", length == 0, "0"); self = .ciscoRouteRefresh
        case CapabilityCode.enhancedRouteRefresh:
            try expect("enhanced route-refresh", length == 0, "0"); self = .enhancedRouteRefresh
        case CapabilityCode.extendedMessage:
            try expect("extended message", length == 0, "0"); self = .extendedMessage
        case CapabilityCode.fourOctetAS:
            try expect("4-octet AS", length == 4, "4"); self = .fourOctetAS(try r.u32())
        case CapabilityCode.extendedNextHop:
            try expect("extended next hop", length % 6 == 0, "a multiple of 6")
            var entries: [ExtendedNextHopEntry] = []
            while !r.isAtEnd {
                let afi = try r.u16(), safi = try r.u16(), nh = try r.u16()
                guard safi <= 0xff else { throw Capability.malformed("extended next hop", "SAFI \(safi) > 255") }
                entries.append(.init(AddressFamily(afi: afi, safi: UInt8(safi)), nextHopAFI: nh))
            }
            self = .extendedNextHop(entries)
        case CapabilityCode.gracefulRestart:
            try expect("graceful restart", length >= 2 && (length - 2) % 4 == 0, "2 + 4n")
            let word = try r.u16()
            var families: [GracefulRestart.Family] = []
            while !r.isAtEnd {
                let afi = try r.u16(), safi = try r.u8(), flags = try r.u8()
                families.append(.init(AddressFamily(afi: afi, safi: safi), forwardingPreserved: flags & 0x80 != 0))
            }
            self = .gracefulRestart(GracefulRestart(restarting: word & 0x8000 != 0, notification: word & 0x4000 != 0,
                                                    restartTime: word & 0x0fff, families: families))
        case CapabilityCode.addPath:
            try expect("ADD-PATH", length % 4 == 0, "a multiple of 4")
            var entries: [AddPathEntry] = []
            while !r.isAtEnd {
                let afi = try r.u16(), safi = try r.u8(), mode = try r.u8()
                guard (1...3).contains(mode) else { throw Capability.malformed("ADD-PATH", "send/receive value \(mode)") }
                entries.append(.init(AddressFamily(afi: afi, safi: safi), AddPathMode(rawValue: mode)))
            }
            self = .addPath(entries)
        case CapabilityCode.longLivedGracefulRestart:
            try expect("long-lived graceful restart", length % 7 == 0, "a multiple of 7")
            var entries: [LLGREntry] = []
            while !r.isAtEnd {
                let afi = try r.u16(), safi = try r.u8(), flags = try r.u8(), stale = try r.u24()
                entries.append(.init(AddressFamily(afi: afi, safi: safi), forwardingPreserved: flags & 0x80 != 0,
                                     staleTime: stale))
            }
            self = .longLivedGracefulRestart(entries)
        case CapabilityCode.fqdn:
            let hl = Int(try r.u8())
            let host = try r.bytes(hl)
            let dl = Int(try r.u8())
            let domain = try r.bytes(dl)
            guard r.isAtEnd else { throw Capability.malformed("FQDN", "\(r.remaining) trailing bytes") }
            self = .fqdn(hostname: host, domain: domain)
        default:
            self = .unknown(code: code, value: r.rest())
        }
    }

    /// Appends the capability TLV (code, length, value).
    public func encode(into w: inout WireWriter) {
        w.u8(code)
        let at = w.placeholder(width: 1)
        switch self {
        case .multiprotocol(let f):
            w.u16(f.afi); w.u8(0); w.u8(f.safi)
        case .routeRefresh, .ciscoRouteRefresh, .enhancedRouteRefresh, .extendedMessage:
            break
        case .fourOctetAS(let asn):
            w.u32(asn)
        case .extendedNextHop(let entries):
            for e in entries { w.u16(e.family.afi); w.u16(UInt16(e.family.safi)); w.u16(e.nextHopAFI) }
        case .gracefulRestart(let gr):
            w.u16((gr.restarting ? 0x8000 : 0) | (gr.notification ? 0x4000 : 0) | (gr.restartTime & 0x0fff))
            for f in gr.families { w.u16(f.family.afi); w.u8(f.family.safi); w.u8(f.forwardingPreserved ? 0x80 : 0) }
        case .addPath(let entries):
            for e in entries { w.u16(e.family.afi); w.u8(e.family.safi); w.u8(e.mode.rawValue) }
        case .longLivedGracefulRestart(let entries):
            for e in entries {
                w.u16(e.family.afi); w.u8(e.family.safi); w.u8(e.forwardingPreserved ? 0x80 : 0); w.u24(e.staleTime)
            }
        case .fqdn(let host, let domain):
            w.u8(UInt8(min(host.count, 255))); w.append(host.prefix(255))
            w.u8(UInt8(min(domain.count, 255))); w.append(domain.prefix(255))
        case .unknown(_, let value):
            w.append(value.prefix(255))
        }
        w.patchLength(at: at, width: 1)
    }
}
