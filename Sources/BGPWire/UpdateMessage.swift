import NetCore

/// The next hop in MP_REACH_NLRI (RFC 4760 §3, RFC 2545 for IPv6 global + link-local, RFC 8950
/// for IPv4 NLRI with an IPv6 next hop). Families we do not decode keep the raw bytes.
public enum MPNextHop: Hashable, Sendable {
    case ipv4(IPv4Address)
    case ipv6(IPv6Address, linkLocal: IPv6Address? = nil)
    case raw([UInt8])

    var wireLength: Int {
        switch self {
        case .ipv4: 4
        case .ipv6(_, let ll): ll == nil ? 16 : 32
        case .raw(let b): b.count
        }
    }

    func encode(into w: inout WireWriter) {
        switch self {
        case .ipv4(let a): w.u32(a.value)
        case .ipv6(let g, let ll):
            w.u64(g.high); w.u64(g.low)
            if let ll { w.u64(ll.high); w.u64(ll.low) }
        case .raw(let b): w.append(b)
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 §3).
public struct MPReach: Hashable, Sendable {
    public var family: AddressFamily
    public var nextHop: MPNextHop
    /// Decoded prefixes (families with `hasPrefixNLRI`).
    public var nlri: [NLRI]
    /// The NLRI bytes of a family this codec does not decode (EVPN, VPN, flowspec...).
    public var unparsedNLRI: [UInt8]

    public init(family: AddressFamily, nextHop: MPNextHop, nlri: some Collection<NLRI>, unparsedNLRI: [UInt8] = []) {
        self.family = family; self.nextHop = nextHop; self.nlri = Array(nlri); self.unparsedNLRI = unparsedNLRI
    }
}

/// MP_UNREACH_NLRI (RFC 4760 §4).
public struct MPUnreach: Hashable, Sendable {
    public var family: AddressFamily
    public var withdrawn: [NLRI]
    public var unparsedNLRI: [UInt8]

    public init(family: AddressFamily, withdrawn: some Collection<NLRI>, unparsedNLRI: [UInt8] = []) {
        self.family = family; self.withdrawn = Array(withdrawn); self.unparsedNLRI = unparsedNLRI
    }
}

/// An UPDATE message (RFC 4271 §4.3, RFC 4760). `withdrawn` and `nlri` are the classic IPv4
/// unicast fields.
///
/// Decoding applies RFC 7606: errors that reset the session are thrown; the others are kept in
/// `errors`. When `isTreatAsWithdraw`, the receiver must ignore `attributes` and withdraw every
/// prefix of the message (`routesToWithdraw`), announced ones included.
public struct UpdateMessage: Hashable, Sendable {
    public var withdrawn: [NLRI]
    public var attributes: PathAttributes
    public var nlri: [NLRI]
    public var mpReach: MPReach?
    public var mpUnreach: MPUnreach?
    /// Non-fatal RFC 7606 findings of the decoder (attribute-discard and treat-as-withdraw), in
    /// the order found. Empty for a clean or locally built message; not encoded.
    public var errors: [WireError]

    public init(withdrawn: some Collection<NLRI> = [NLRI](), attributes: PathAttributes = PathAttributes(),
                nlri: some Collection<NLRI> = [NLRI](),
                mpReach: MPReach? = nil, mpUnreach: MPUnreach? = nil, errors: [WireError] = []) {
        self.withdrawn = Array(withdrawn); self.attributes = attributes; self.nlri = Array(nlri)
        self.mpReach = mpReach; self.mpUnreach = mpUnreach; self.errors = errors
    }

    /// The most severe action among `errors` (nil when clean).
    public var action: ErrorAction? { errors.map(\.action).max() }

    public var isTreatAsWithdraw: Bool { action == .treatAsWithdraw }

    /// Every prefix to remove from the Adj-RIB-In for this message: the withdrawn ones, plus the
    /// announced ones when the message is treat-as-withdraw.
    public func routesToWithdraw() -> [(family: AddressFamily, nlri: [NLRI])] {
        var out: [(AddressFamily, [NLRI])] = []
        var v4 = withdrawn
        if isTreatAsWithdraw { v4 += nlri }
        if !v4.isEmpty { out.append((.ipv4Unicast, v4)) }
        if let u = mpUnreach, !u.withdrawn.isEmpty { out.append((u.family, u.withdrawn)) }
        if isTreatAsWithdraw, let r = mpReach, !r.nlri.isEmpty { out.append((r.family, r.nlri)) }
        return out
    }

    // MARK: End-of-RIB (RFC 4724 §2)

    /// The End-of-RIB marker for `family`: an empty UPDATE for IPv4 unicast, otherwise an UPDATE
    /// holding only an empty MP_UNREACH_NLRI.
    public static func endOfRIB(_ family: AddressFamily) -> UpdateMessage {
        family == .ipv4Unicast ? UpdateMessage() : UpdateMessage(mpUnreach: MPUnreach(family: family, withdrawn: []))
    }

    /// The family this message marks the End-of-RIB of, if it is one.
    public var endOfRIBFamily: AddressFamily? {
        guard withdrawn.isEmpty, nlri.isEmpty, mpReach == nil, attributes.isEmpty, errors.isEmpty else { return nil }
        guard let u = mpUnreach else { return .ipv4Unicast }
        return u.withdrawn.isEmpty && u.unparsedNLRI.isEmpty ? u.family : nil
    }
}

// MARK: - Encoding

extension UpdateMessage {
    /// The whole message for a peer with `context`. Attributes go out MP_REACH/MP_UNREACH first
    /// (RFC 7606 §5.1), then in ascending type order (RFC 4271 §5). For a 2-octet peer, 4-octet
    /// ASes become AS_TRANS and AS4_PATH/AS4_AGGREGATOR are added (RFC 6793 §4.2.2).
    public func encoded(context: EncodeContext = EncodeContext()) throws(EncodeError) -> [UInt8] {
        var w = WireWriter(reservingCapacity: 64 + 5 * (nlri.count + withdrawn.count + (mpReach?.nlri.count ?? 0)))
        let start = beginMessage(&w, type: .update)
        let v4AddPath = context.addPath.contains(.ipv4Unicast)
        let wAt = w.placeholder(width: 2)
        for n in withdrawn { n.encode(into: &w, addPath: v4AddPath) }
        try patch16(&w, at: wAt, field: "withdrawn routes")
        let aAt = w.placeholder(width: 2)
        if let r = mpReach { encodeMPReach(r, into: &w, context: context) }
        if let u = mpUnreach { encodeMPUnreach(u, into: &w, context: context) }
        attributes.encode(into: &w, context: context)
        try patch16(&w, at: aAt, field: "path attributes")
        for n in nlri { n.encode(into: &w, addPath: v4AddPath) }
        try finishMessage(&w, start: start, limit: context.maxMessageSize)
        return w.bytes
    }

    private func patch16(_ w: inout WireWriter, at: Int, field: String) throws(EncodeError) {
        let length = w.count - at - 2
        guard length <= 0xffff else { throw .fieldTooLarge(field: field, size: length, limit: 0xffff) }
        w.set16(UInt16(length), at: at)
    }

    private func encodeMPReach(_ r: MPReach, into w: inout WireWriter, context: EncodeContext) {
        let addPath = context.addPath.contains(r.family)
        writeAttribute(&w, flags: AttributeFlags.optional, code: AttributeCode.mpReachNLRI) { w in
            w.u16(r.family.afi); w.u8(r.family.safi)
            w.u8(UInt8(truncatingIfNeeded: r.nextHop.wireLength))
            r.nextHop.encode(into: &w)
            w.u8(0)
            for n in r.nlri { n.encode(into: &w, addPath: addPath) }
            w.append(r.unparsedNLRI)
        }
    }

    private func encodeMPUnreach(_ u: MPUnreach, into w: inout WireWriter, context: EncodeContext) {
        let addPath = context.addPath.contains(u.family)
        writeAttribute(&w, flags: AttributeFlags.optional, code: AttributeCode.mpUnreachNLRI) { w in
            w.u16(u.family.afi); w.u8(u.family.safi)
            for n in u.withdrawn { n.encode(into: &w, addPath: addPath) }
            w.append(u.unparsedNLRI)
        }
    }
}

/// Writes one attribute: flags, code, a 1-octet length, or a 2-octet one with Extended Length
/// set when the value turns out longer than 255 (then the value is shifted by one byte, once).
func writeAttribute(_ w: inout WireWriter, flags: UInt8, code: UInt8, _ body: (inout WireWriter) -> Void) {
    let flagsAt = w.count
    w.u8(flags & ~AttributeFlags.extendedLength)
    w.u8(code)
    let lenAt = w.placeholder(width: 1)
    body(&w)
    let length = w.count - lenAt - 1
    if length <= 255 {
        w.setByte(UInt8(length), at: lenAt)
    } else {
        w.setByte(flags | AttributeFlags.extendedLength, at: flagsAt)
        w.insertByte(0, at: lenAt)
        w.set16(UInt16(truncatingIfNeeded: length), at: lenAt)
    }
}
