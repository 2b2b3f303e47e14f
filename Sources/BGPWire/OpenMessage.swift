import NetCore

/// An OPEN message (RFC 4271 §4.2) with its capabilities (RFC 5492) and RFC 9072 extended
/// optional parameters. Capabilities from several Capabilities parameters are flattened in order.
public struct OpenMessage: Hashable, Sendable {
    public var version: UInt8
    /// The 2-octet My Autonomous System field (AS_TRANS when the real AS does not fit).
    public var myAS: UInt16
    public var holdTime: UInt16
    public var bgpIdentifier: IPv4Address
    public var capabilities: [Capability]
    /// Optional parameters other than Capabilities (type, value), kept for round trips; a
    /// decoded OPEN never has any (they are rejected with 2/4).
    public var otherParameters: [OptionalParameter]
    /// Force the RFC 9072 extended optional parameters encoding even when the parameters fit 255
    /// bytes (it is always used when they do not).
    public var extendedParameters: Bool
    /// Put each capability in its own Capabilities parameter (as FRR, ExaBGP and Cisco do)
    /// instead of all in one (BIRD, GoBGP). Set by the decoder so foreign OPENs re-encode
    /// byte for byte.
    public var oneCapabilityPerParameter: Bool

    public struct OptionalParameter: Hashable, Sendable {
        public var type: UInt8
        public var value: [UInt8]
        public init(type: UInt8, value: [UInt8]) { self.type = type; self.value = value }
    }

    public init(version: UInt8 = 4, myAS: UInt16, holdTime: UInt16, bgpIdentifier: IPv4Address,
                capabilities: [Capability], otherParameters: [OptionalParameter] = [], extendedParameters: Bool = false,
                oneCapabilityPerParameter: Bool = false) {
        self.version = version; self.myAS = myAS; self.holdTime = holdTime; self.bgpIdentifier = bgpIdentifier
        self.capabilities = capabilities; self.otherParameters = otherParameters
        self.extendedParameters = extendedParameters
        self.oneCapabilityPerParameter = oneCapabilityPerParameter
    }

    /// An OPEN for `asn`: My AS is AS_TRANS when `asn` needs 4 octets, and a 4-octet AS
    /// capability carrying `asn` is appended when `capabilities` has none.
    public init(asn: ASNumber, holdTime: UInt16, bgpIdentifier: IPv4Address, capabilities: [Capability]) {
        var caps = capabilities
        if !caps.contains(where: { $0.code == CapabilityCode.fourOctetAS }) { caps.append(.fourOctetAS(asn.value)) }
        self.init(myAS: asn.fitsTwoOctets ? UInt16(asn.value) : UInt16(ASNumber.trans.value), holdTime: holdTime,
                  bgpIdentifier: bgpIdentifier, capabilities: caps)
    }

    /// The speaker's AS: the 4-octet AS capability when present, else My AS (RFC 6793 §4.1).
    public var asNumber: ASNumber {
        for case .fourOctetAS(let a) in capabilities { return ASNumber(a) }
        return ASNumber(UInt32(myAS))
    }

    /// Every AFI/SAFI in a Multiprotocol capability (IPv4 unicast is implied when none is sent,
    /// RFC 4760 §8; that rule is the session's to apply).
    public var multiprotocolFamilies: [AddressFamily] {
        capabilities.compactMap { if case .multiprotocol(let f) = $0 { f } else { nil } }
    }

    static let capabilitiesParameter: UInt8 = 2

    /// Decodes an OPEN body (after the 19-byte header). Checks RFC 4271 §6.2: version (2/1 with
    /// the supported version as data), hold time 1–2 (2/6), BGP Identifier 0 (2/3), optional
    /// parameter types (2/4) and structure (2/0), AS 0 (2/2, RFC 7607). Matching the configured
    /// peer AS is the session's job.
    public init(parsing r: inout WireReader) throws(WireError) {
        r.truncation = WireError(code: ErrorCode.openMessage, subcode: OpenSubcode.unspecific,
                                 reason: "OPEN ends before its fields")
        version = try r.u8()
        guard version == 4 else {
            throw WireError(code: ErrorCode.openMessage, subcode: OpenSubcode.unsupportedVersionNumber,
                            data: [0, 4], reason: "BGP version \(version), only 4 is supported")
        }
        myAS = try r.u16()
        // RFC 7607 §2: AS 0 in OPEN is Bad Peer AS (the 4-octet AS capability is checked below).
        guard myAS != 0 else {
            throw WireError(code: ErrorCode.openMessage, subcode: OpenSubcode.badPeerAS, data: [0, 0],
                            reason: "My Autonomous System is 0 (RFC 7607)")
        }
        holdTime = try r.u16()
        guard holdTime == 0 || holdTime >= 3 else {
            throw WireError(code: ErrorCode.openMessage, subcode: OpenSubcode.unacceptableHoldTime,
                            reason: "hold time \(holdTime) must be 0 or at least 3")
        }
        bgpIdentifier = IPv4Address(try r.u32())
        guard bgpIdentifier.value != 0 else {
            throw WireError(code: ErrorCode.openMessage, subcode: OpenSubcode.badBGPIdentifier,
                            reason: "BGP Identifier is 0.0.0.0")
        }
        var paramLength = Int(try r.u8())
        var extended = false
        // RFC 9072: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 marks the extended form.
        if paramLength == 255, r.peek() == 255 {
            _ = try r.u8()
            paramLength = Int(try r.u16())
            extended = true
        }
        guard paramLength == r.remaining else {
            throw WireError(code: ErrorCode.openMessage, subcode: OpenSubcode.unspecific,
                            reason: "optional parameters length \(paramLength) but \(r.remaining) bytes follow")
        }
        extendedParameters = extended
        capabilities = []
        otherParameters = []
        var capabilityParameters = 0
        while !r.isAtEnd {
            let type = try r.u8()
            let length = extended ? Int(try r.u16()) : Int(try r.u8())
            var value = try r.subReader(length, truncation: WireError(
                code: ErrorCode.openMessage, subcode: OpenSubcode.unspecific,
                reason: "optional parameter \(type) of length \(length) overruns the OPEN"))
            guard type == Self.capabilitiesParameter else {
                throw WireError(code: ErrorCode.openMessage, subcode: OpenSubcode.unsupportedOptionalParameter,
                                reason: "optional parameter type \(type) is not supported")
            }
            capabilityParameters += 1
            while !value.isAtEnd {
                let code = try value.u8()
                let capLength = Int(try value.u8())
                var capValue = try value.subReader(capLength, truncation: Capability.malformed(
                    "code \(code)", "length \(capLength) overruns the parameter"))
                capabilities.append(try Capability(code: code, value: &capValue))
            }
        }
        oneCapabilityPerParameter = capabilities.count > 1 && capabilityParameters == capabilities.count
        if capabilities.contains(.fourOctetAS(0)) {
            throw WireError(code: ErrorCode.openMessage, subcode: OpenSubcode.badPeerAS, data: [0, 0, 0, 0],
                            reason: "4-octet AS capability carries AS 0 (RFC 7607)")
        }
    }

    /// Appends the OPEN body (no header). The RFC 9072 form is used when forced or when the
    /// parameters do not fit the 1-octet lengths.
    public func encodeBody(into w: inout WireWriter) {
        var caps = WireWriter()
        var each: [[UInt8]] = []
        for c in capabilities {
            var one = WireWriter()
            c.encode(into: &one)
            caps.append(one.bytes)
            each.append(one.bytes)
        }
        func parameters(extended: Bool) -> [UInt8] {
            var params = WireWriter()
            func param(_ type: UInt8, _ value: [UInt8]) {
                params.u8(type)
                if extended { params.u16(UInt16(truncatingIfNeeded: value.count)) } else { params.u8(UInt8(truncatingIfNeeded: value.count)) }
                params.append(value)
            }
            if oneCapabilityPerParameter {
                for c in each { param(Self.capabilitiesParameter, c) }
            } else if !capabilities.isEmpty {
                param(Self.capabilitiesParameter, caps.bytes)
            }
            for p in otherParameters { param(p.type, p.value) }
            return params.bytes
        }
        var extended = extendedParameters || caps.count > 255 || otherParameters.contains { $0.value.count > 255 }
        var params = parameters(extended: extended)
        if !extended && params.count > 255 {
            extended = true
            params = parameters(extended: true)
        }
        w.u8(version); w.u16(myAS); w.u16(holdTime); w.u32(bgpIdentifier.value)
        if extended {
            w.u8(255); w.u8(255); w.u16(UInt16(truncatingIfNeeded: params.count))
        } else {
            w.u8(UInt8(params.count))
        }
        w.append(params)
    }

    /// The whole message, header included.
    public func encoded() -> [UInt8] {
        var w = WireWriter(reservingCapacity: 128)
        let start = beginMessage(&w, type: .open)
        encodeBody(into: &w)
        // OPEN is at most 4096 bytes; 255 capabilities of 255 bytes cannot be built by accident.
        w.set16(UInt16(truncatingIfNeeded: w.count - start), at: start + 16)
        return w.bytes
    }
}
