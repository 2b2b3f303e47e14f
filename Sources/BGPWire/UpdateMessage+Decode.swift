import NetCore

extension UpdateMessage {
    /// Decodes an UPDATE body (after the header) under RFC 7606. Throws only for session-reset
    /// errors: field lengths overrunning the message (3/1), NLRI syntax (3/10), MP_REACH/MP_UNREACH
    /// errors or duplicates (3/9, 3/1), attribute lengths overrunning the attribute section (3/1),
    /// unrecognized well-known attributes (3/2). Treat-as-withdraw and attribute-discard errors
    /// land in `errors`.
    public init(parsing r: inout WireReader, context: DecodeContext) throws(WireError) {
        // Error values are built once (static) so the clean path allocates nothing for them.
        r.truncation = Errors.shortUpdate
        let withdrawnLength = Int(try r.u16())
        var wr = try r.subReader(withdrawnLength, truncation: Errors.withdrawnOverrun)
        let v4AddPath = context.addPath.contains(.ipv4Unicast)
        var withdrawn: [NLRI] = []
        withdrawn.reserveCapacity(withdrawnLength / 4)
        try NLRI.decodeAll(&wr, family: .v4, addPath: v4AddPath, into: &withdrawn, error: Errors.badWithdrawn)
        let attributeLength = Int(try r.u16())
        var ar = try r.subReader(attributeLength, truncation: Errors.attributesOverrun)
        // RFC 4271 §6.3: attributes are checked before the NLRI field.
        var decoder = AttributeDecoder(context: context)
        try decoder.decodeAll(&ar)
        var nlri: [NLRI] = []
        nlri.reserveCapacity(r.remaining / 4)
        try NLRI.decodeAll(&r, family: .v4, addPath: v4AddPath, into: &nlri, error: Errors.badNLRI)
        self.init(withdrawn: withdrawn, attributes: decoder.attributes, nlri: nlri, mpReach: decoder.mpReach,
                  mpUnreach: decoder.mpUnreach, errors: decoder.errors)
        checkMandatory(seen: decoder.seen)
    }

    /// RFC 7606 §3 d: a missing well-known mandatory attribute is treat-as-withdraw (3/3 with the
    /// missing type code as data). Only UPDATEs that announce something need them; NEXT_HOP only
    /// for the classic NLRI field (RFC 4760 §3).
    private mutating func checkMandatory(seen: CodeSet) {
        let announces = !nlri.isEmpty || !(mpReach?.nlri.isEmpty ?? true) || !(mpReach?.unparsedNLRI.isEmpty ?? true)
        guard announces else { return }
        for code in [AttributeCode.origin, AttributeCode.asPath, AttributeCode.nextHop] where !seen.contains(code) {
            if code == AttributeCode.nextHop && nlri.isEmpty { continue }
            errors.append(WireError(code: ErrorCode.updateMessage, subcode: UpdateSubcode.missingWellKnownAttribute,
                                    data: [code], action: .treatAsWithdraw, attributeCode: code,
                                    reason: "\(AttributeSpec.named(code)) is missing"))
        }
    }

    /// Error templates; `data`, `action` and `attributeCode` are filled in where they apply.
    enum Errors {
        static let shortUpdate = malformedList("UPDATE ends before its length fields")
        static let withdrawnOverrun = malformedList("withdrawn routes length exceeds the message")
        static let attributesOverrun = malformedList("total path attribute length exceeds the message")
        static let badWithdrawn = invalidNetwork("withdrawn routes field is malformed")
        static let badNLRI = invalidNetwork("NLRI field is malformed")
        static let shortAttributeHeader = malformedList("too few bytes left for an attribute header")
        static let attributeOverrun = malformedList("attribute length overruns the path attributes")
        static let valueTruncated = WireError(code: ErrorCode.updateMessage, subcode: UpdateSubcode.optionalAttributeError,
                                              reason: "attribute value ends early")
        static let malformedASPath = WireError(code: ErrorCode.updateMessage, subcode: UpdateSubcode.malformedASPath,
                                               reason: "AS_PATH is malformed")
        static let mpNLRI = WireError(code: ErrorCode.updateMessage, subcode: UpdateSubcode.optionalAttributeError,
                                      reason: "NLRI in an MP attribute are malformed")
    }

    static func malformedList(_ reason: String) -> WireError {
        WireError(code: ErrorCode.updateMessage, subcode: UpdateSubcode.malformedAttributeList, reason: reason)
    }

    static func invalidNetwork(_ reason: String) -> WireError {
        WireError(code: ErrorCode.updateMessage, subcode: UpdateSubcode.invalidNetworkField, reason: reason)
    }
}

/// The attribute section decoder: one pass, table-driven checks, RFC 7606 actions.
struct AttributeDecoder {
    let context: DecodeContext
    var attributes = PathAttributes()
    var mpReach: MPReach?
    var mpUnreach: MPUnreach?
    var errors: [WireError] = []
    /// Codes seen and not discarded as duplicates.
    var seen = CodeSet()
    var as4Path: ASPath?
    var as4Aggregator: Aggregator?

    init(context: DecodeContext) { self.context = context }

    mutating func decodeAll(_ r: inout WireReader) throws(WireError) {
        while !r.isAtEnd {
            let start = r.position
            // RFC 7606 §4 describes these two framing errors; we reset the session (as BIRD does)
            // because an MP_REACH/MP_UNREACH may hide in the unparsable rest, and treat-as-withdraw
            // needs every NLRI located (RFC 7606 §5.3). See docs/bgp-wire.md.
            r.truncation = UpdateMessage.Errors.shortAttributeHeader
            let flags = try r.u8()
            let code = try r.u8()
            let length = flags & AttributeFlags.extendedLength != 0 ? Int(try r.u16()) : Int(try r.u8())
            r.truncation = UpdateMessage.Errors.attributeOverrun
            var value: WireReader
            do throws(WireError) {
                value = try r.subReader(length, truncation: UpdateMessage.Errors.valueTruncated)
            } catch {
                var e = error
                e.attributeCode = code
                e.reason = "\(AttributeSpec.named(code)) length \(length) overruns the path attributes"
                throw e
            }
            let whole = start..<r.position
            try decodeOne(flags: flags, code: code, value: &value, whole: whole, source: r)
        }
        reconcileAS4()
    }

    private mutating func record(_ e: WireError) throws(WireError) {
        if e.action == .sessionReset { throw e }
        errors.append(e)
    }

    private mutating func decodeOne(flags: UInt8, code: UInt8, value r: inout WireReader, whole: Range<Int>,
                                    source: WireReader) throws(WireError) {
        let length = r.remaining
        func error(_ subcode: UInt8, _ action: ErrorAction, _ reason: String, data: Bool = true) -> WireError {
            WireError(code: ErrorCode.updateMessage, subcode: subcode, data: data ? source.slice(whole) : [],
                      action: action, attributeCode: code, reason: reason)
        }
        // RFC 7606 §3 g: duplicates — MP ones reset, others keep the first.
        guard seen.insert(code) else {
            let mp = code == AttributeCode.mpReachNLRI || code == AttributeCode.mpUnreachNLRI
            try record(error(UpdateSubcode.malformedAttributeList, mp ? .sessionReset : .attributeDiscard,
                             "\(AttributeSpec.named(code)) appears more than once", data: false))
            return
        }
        guard let spec = AttributeSpec.table[Int(code)] else {
            if flags & AttributeFlags.optional == 0 {
                try record(error(UpdateSubcode.unrecognizedWellKnownAttribute, .sessionReset,
                                 "well-known attribute \(code) is not recognized"))
            } else if flags & AttributeFlags.transitive != 0 {
                // Kept in type-code order (the order the encoder writes), so values compare equal
                // whatever order a peer sent them in.
                let raw = RawAttribute(flags: flags | AttributeFlags.partial, code: code, value: r.rest())
                let at = attributes.unknown.firstIndex { $0.code > code } ?? attributes.unknown.count
                attributes.unknown.insert(raw, at: at)
            }
            // Unknown optional non-transitive: quietly dropped (RFC 4271 §9).
            return
        }
        let mask = AttributeFlags.optional | AttributeFlags.transitive
        guard flags & mask == spec.requiredFlags else {
            try record(error(UpdateSubcode.attributeFlagsError, spec.action,
                             "\(spec.name) flags 0x\(String(flags, radix: 16)) conflict with the attribute type"))
            return
        }
        guard spec.length.accepts(length, fourOctetAS: context.fourOctetAS) else {
            try record(error(UpdateSubcode.attributeLengthError, spec.action, "\(spec.name) length \(length) is invalid"))
            return
        }
        // Values: fixed lengths were checked above; variable ones throw a template error, given
        // the attribute's action and data here.
        do throws(WireError) {
            try decodeValue(code: code, length: length, value: &r)
        } catch {
            let withData = error.subcode != UpdateSubcode.malformedASPath
            // RFC 7606 §7.9/7.10: a well-formed ORIGINATOR_ID/CLUSTER_LIST from eBGP is discarded.
            let fromEBGP = context.externalPeer && (code == AttributeCode.originatorID || code == AttributeCode.clusterList)
            try record(WireError(code: error.code, subcode: error.subcode, data: withData ? source.slice(whole) : [],
                                 action: fromEBGP ? .attributeDiscard : spec.action, attributeCode: code,
                                 reason: "\(spec.name): \(error.reason)"))
        }
    }

    private mutating func decodeValue(code: UInt8, length: Int, value r: inout WireReader) throws(WireError) {
        r.truncation = UpdateMessage.Errors.valueTruncated
        func fail(_ subcode: UInt8, _ reason: String) -> WireError {
            WireError(code: ErrorCode.updateMessage, subcode: subcode, reason: reason)
        }
        switch code {
        case AttributeCode.origin:
            let v = try r.u8()
            guard let o = Origin(rawValue: v) else { throw fail(UpdateSubcode.invalidOriginAttribute, "value \(v) is undefined") }
            attributes.origin = o
        case AttributeCode.asPath:
            attributes.asPath = try ASPath(parsing: &r, asWidth: context.fourOctetAS ? 4 : 2,
                                           malformed: UpdateMessage.Errors.malformedASPath)
        case AttributeCode.nextHop:
            let a = IPv4Address(try r.u32())
            // RFC 4271 §6.3: the NEXT_HOP must be a valid host address (not 0, not class D/E).
            guard a.value != 0, a.value < 0xE000_0000 else {
                throw fail(UpdateSubcode.invalidNextHopAttribute, "\(a) is not a host address")
            }
            attributes.nextHop = a
        case AttributeCode.multiExitDisc:
            attributes.med = try r.u32()
        case AttributeCode.localPref:
            let v = try r.u32()
            if !context.externalPeer { attributes.localPref = v }  // from eBGP: disregarded, no error
        case AttributeCode.atomicAggregate:
            attributes.atomicAggregate = true
        case AttributeCode.aggregator:
            let asn = context.fourOctetAS ? try r.u32() : UInt32(try r.u16())
            guard asn != 0 else { throw fail(UpdateSubcode.optionalAttributeError, "AS 0 (RFC 7607)") }
            attributes.aggregator = Aggregator(asn: asn, address: IPv4Address(try r.u32()))
        case AttributeCode.communities:
            var list: [Community] = []
            list.reserveCapacity(length / 4)
            while !r.isAtEnd { list.append(Community(try r.u32())) }
            attributes.communities = list
        case AttributeCode.originatorID:
            let id = IPv4Address(try r.u32())
            if context.externalPeer { throw fail(UpdateSubcode.optionalAttributeError, "received from an external peer") }
            attributes.originatorID = id
        case AttributeCode.clusterList:
            if context.externalPeer { throw fail(UpdateSubcode.optionalAttributeError, "received from an external peer") }
            var list: [IPv4Address] = []
            list.reserveCapacity(length / 4)
            while !r.isAtEnd { list.append(IPv4Address(try r.u32())) }
            attributes.clusterList = list
        case AttributeCode.extendedCommunities:
            var list: [ExtendedCommunity] = []
            list.reserveCapacity(length / 8)
            while !r.isAtEnd { list.append(ExtendedCommunity(try r.u64())) }
            attributes.extendedCommunities = list
        case AttributeCode.largeCommunities:
            var list: [LargeCommunity] = []
            list.reserveCapacity(length / 12)
            while !r.isAtEnd { list.append(LargeCommunity(try r.u32(), try r.u32(), try r.u32())) }
            attributes.largeCommunities = list
        case AttributeCode.as4Path:
            // RFC 6793 §6: malformed AS4_PATH, or one with confederation segments, is discarded.
            let p = try ASPath(parsing: &r, asWidth: 4, malformed: UpdateMessage.Errors.malformedASPath)
            if p.segments.contains(where: \.isConfederation) {
                throw fail(UpdateSubcode.malformedASPath, "carries confederation segments")
            }
            as4Path = p
        case AttributeCode.as4Aggregator:
            let asn = try r.u32()
            guard asn != 0 else { throw fail(UpdateSubcode.optionalAttributeError, "AS 0 (RFC 7607)") }
            as4Aggregator = Aggregator(asn: asn, address: IPv4Address(try r.u32()))
        case AttributeCode.mpReachNLRI:
            mpReach = try decodeMPReach(&r)
        case AttributeCode.mpUnreachNLRI:
            mpUnreach = try decodeMPUnreach(&r)
        default:
            preconditionFailure("attribute table has code \(code) without a decoder")
        }
    }

    private func decodeMPReach(_ r: inout WireReader) throws(WireError) -> MPReach {
        let afi = try r.u16(), safi = try r.u8()
        let family = AddressFamily(afi: afi, safi: safi)
        let nhLength = Int(try r.u8())
        var nh = try r.subReader(nhLength)
        func bad(_ reason: String) -> WireError {
            WireError(code: ErrorCode.updateMessage, subcode: UpdateSubcode.optionalAttributeError, reason: reason)
        }
        let nextHop: MPNextHop
        if family.hasPrefixNLRI {
            switch (afi, nhLength) {
            case (AddressFamily.afiIPv4, 4):
                nextHop = .ipv4(IPv4Address(try nh.u32()))
            case (AddressFamily.afiIPv6, 16), (AddressFamily.afiIPv6, 32),
                 (AddressFamily.afiIPv4, 16) where context.extendedNextHop.contains(family),
                 (AddressFamily.afiIPv4, 32) where context.extendedNextHop.contains(family):
                let g = IPv6Address(high: try nh.u64(), low: try nh.u64())
                let ll = nhLength == 32 ? IPv6Address(high: try nh.u64(), low: try nh.u64()) : nil
                nextHop = .ipv6(g, linkLocal: ll)
            default:
                throw bad("next hop length \(nhLength) is invalid for \(family)")
            }
        } else {
            nextHop = .raw(nh.rest())
        }
        _ = try r.u8()  // Reserved (was the SNPA count, RFC 4760 §3)
        if family.hasPrefixNLRI, let ip = family.ipFamily {
            var nlri: [NLRI] = []
            nlri.reserveCapacity(r.remaining / (ip == .v4 ? 4 : 8))
            try NLRI.decodeAll(&r, family: ip, addPath: context.addPath.contains(family), into: &nlri,
                               error: UpdateMessage.Errors.mpNLRI)
            return MPReach(family: family, nextHop: nextHop, nlri: nlri)
        }
        return MPReach(family: family, nextHop: nextHop, nlri: [], unparsedNLRI: r.rest())
    }

    private func decodeMPUnreach(_ r: inout WireReader) throws(WireError) -> MPUnreach {
        let afi = try r.u16(), safi = try r.u8()
        let family = AddressFamily(afi: afi, safi: safi)
        if family.hasPrefixNLRI, let ip = family.ipFamily {
            var withdrawn: [NLRI] = []
            withdrawn.reserveCapacity(r.remaining / (ip == .v4 ? 4 : 8))
            try NLRI.decodeAll(&r, family: ip, addPath: context.addPath.contains(family), into: &withdrawn,
                               error: UpdateMessage.Errors.mpNLRI)
            return MPUnreach(family: family, withdrawn: withdrawn)
        }
        return MPUnreach(family: family, withdrawn: [], unparsedNLRI: r.rest())
    }

    /// RFC 6793 §4.2.3: from a 2-octet speaker, merge AS4_AGGREGATOR and AS4_PATH; from a 4-octet
    /// speaker, ignore them (§4.1).
    private mutating func reconcileAS4() {
        guard !context.fourOctetAS else { return }
        if let agg = attributes.aggregator, agg.asn != ASTrans {
            // The aggregator is an OLD speaker: AS4_AGGREGATOR and AS4_PATH are stale.
            return
        }
        if let as4 = as4Aggregator, attributes.aggregator != nil { attributes.aggregator = as4 }
        if let as4Path, let asPath = attributes.asPath {
            attributes.asPath = ASPath.merge(asPath: asPath, as4Path: as4Path)
        }
    }
}

extension ASPath {
    /// RFC 6793 §4.2.3: when AS_PATH has at least as many ASes as AS4_PATH, the leading
    /// (count difference) ASes of AS_PATH, confederation segments included, are prepended to
    /// AS4_PATH; otherwise AS_PATH stands.
    static func merge(asPath: ASPath, as4Path: ASPath) -> ASPath {
        let diff = asPath.length - as4Path.length
        guard diff >= 0 else { return asPath }
        var lead: [ASPathSegment] = []
        var need = diff
        for s in asPath.segments {
            if s.isConfederation { lead.append(s); continue }
            guard need > 0 else { break }
            switch s.kind {
            case .set:
                lead.append(s); need -= 1
            default:
                let take = min(need, s.asns.count)
                lead.append(ASPathSegment(s.kind, Array(s.asns.prefix(take))))
                need -= take
            }
        }
        var segments = lead
        for s in as4Path.segments {
            if let last = segments.last, last.kind == .sequence, s.kind == .sequence, last.asns.count + s.asns.count <= 255 {
                segments[segments.count - 1].asns += s.asns
            } else {
                segments.append(s)
            }
        }
        return ASPath(segments)
    }
}
