import NetCore

/// Splits announcements and withdrawals into as few UPDATE messages as fit the negotiated
/// maximum size (4096, or 65535 with RFC 8654). IPv4 unicast uses the classic fields; every
/// other family uses MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).
public enum UpdatePacker {
    /// UPDATEs withdrawing `nlri` of `family`.
    public static func withdrawals(_ nlri: [NLRI], family: AddressFamily,
                                   context: EncodeContext) throws(EncodeError) -> [[UInt8]] {
        let addPath = context.addPath.contains(family)
        // header + withdrawn length + attribute length (+ MP_UNREACH header, extended length, AFI/SAFI)
        let fixed = BGPLimits.headerLength + 4 + (family == .ipv4Unicast ? 0 : 4 + 3)
        var out: [[UInt8]] = []
        for chunk in try chunks(nlri, fixed: fixed, addPath: addPath, limit: context.maxMessageSize) {
            let u = family == .ipv4Unicast
                ? UpdateMessage(withdrawn: chunk)
                : UpdateMessage(mpUnreach: MPUnreach(family: family, withdrawn: chunk))
            out.append(try u.encoded(context: context))
        }
        return out
    }

    /// UPDATEs announcing `nlri` of `family` with `attributes`. For IPv4 unicast the next hop is
    /// `attributes.nextHop`; for other families pass `nextHop` (it goes in MP_REACH_NLRI and the
    /// classic NEXT_HOP attribute is left out).
    public static func announcements(_ nlri: [NLRI], family: AddressFamily, attributes: PathAttributes,
                                     nextHop: MPNextHop? = nil, context: EncodeContext) throws(EncodeError) -> [[UInt8]] {
        let addPath = context.addPath.contains(family)
        var attrs = attributes
        if family != .ipv4Unicast { attrs.nextHop = nil }
        let attributeBytes = try UpdateMessage(attributes: attrs).encoded(context: context).count - (BGPLimits.headerLength + 4)
        var fixed = BGPLimits.headerLength + 4 + attributeBytes
        let mpNextHop = nextHop ?? .raw([])
        if family != .ipv4Unicast { fixed += 4 + 5 + mpNextHop.wireLength }
        var out: [[UInt8]] = []
        for chunk in try chunks(nlri, fixed: fixed, addPath: addPath, limit: context.maxMessageSize) {
            let u = family == .ipv4Unicast
                ? UpdateMessage(attributes: attrs, nlri: chunk)
                : UpdateMessage(attributes: attrs, mpReach: MPReach(family: family, nextHop: mpNextHop, nlri: chunk))
            out.append(try u.encoded(context: context))
        }
        return out
    }

    static func chunks(_ nlri: [NLRI], fixed: Int, addPath: Bool, limit: Int) throws(EncodeError) -> [ArraySlice<NLRI>] {
        guard fixed + 17 + (addPath ? 4 : 0) <= limit else { throw .messageTooLarge(size: fixed, limit: limit) }
        var out: [ArraySlice<NLRI>] = []
        var start = 0, size = fixed
        for (i, n) in nlri.enumerated() {
            let s = n.encodedSize(addPath: addPath)
            if size + s > limit {
                out.append(nlri[start..<i])
                start = i; size = fixed
            }
            size += s
        }
        if start < nlri.count { out.append(nlri[start...]) }
        return out
    }
}
