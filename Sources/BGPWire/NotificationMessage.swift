/// A NOTIFICATION message (RFC 4271 §4.5), with the RFC 8203/9003 Shutdown Communication for
/// Cease subcodes 2 (Administrative Shutdown) and 4 (Administrative Reset).
public struct NotificationMessage: Hashable, Sendable, CustomStringConvertible {
    public var code: UInt8
    public var subcode: UInt8
    public var data: [UInt8]

    public init(code: UInt8, subcode: UInt8, data: [UInt8] = []) {
        self.code = code; self.subcode = subcode; self.data = data
    }

    /// A Cease NOTIFICATION. For subcodes 2 and 4 a `communication` is encoded as a length octet
    /// plus UTF-8 (RFC 9003: up to 255 bytes, truncated at a character boundary).
    public static func cease(subcode: UInt8, communication: String? = nil) -> NotificationMessage {
        var data: [UInt8] = []
        if let text = communication, subcode == CeaseSubcode.administrativeShutdown
            || subcode == CeaseSubcode.administrativeReset {
            var bytes: [UInt8] = []
            for ch in text.unicodeScalars {
                let utf8 = Array(String(ch).utf8)
                if bytes.count + utf8.count > 255 { break }
                bytes.append(contentsOf: utf8)
            }
            data = [UInt8(bytes.count)] + bytes
        }
        return NotificationMessage(code: ErrorCode.cease, subcode: subcode, data: data)
    }

    /// The Shutdown Communication, when this is a Cease 2/4 whose data is a well-formed length
    /// octet plus valid UTF-8 (RFC 9003 §2; a malformed one is ignored, never an error). Trailing
    /// bytes after the communication are allowed and ignored.
    public var shutdownCommunication: String? {
        guard code == ErrorCode.cease,
              subcode == CeaseSubcode.administrativeShutdown || subcode == CeaseSubcode.administrativeReset,
              let length = data.first, data.count >= 1 + Int(length) else { return nil }
        return String(validating: data[1..<(1 + Int(length))], as: UTF8.self)
    }

    /// Decodes a NOTIFICATION body; it has no failure beyond the header's minimum length.
    public init(parsing r: inout WireReader) throws(WireError) {
        r.truncation = WireError(code: ErrorCode.messageHeader, subcode: HeaderSubcode.badMessageLength,
                                 reason: "NOTIFICATION shorter than 21 bytes")
        code = try r.u8()
        subcode = try r.u8()
        data = r.rest()
    }

    public func encodeBody(into w: inout WireWriter) {
        w.u8(code); w.u8(subcode); w.append(data)
    }

    /// The whole message; data beyond the 4096-byte limit is cut (a NOTIFICATION must go out).
    public func encoded(maxMessageSize: Int = BGPLimits.standardMaxMessageSize) -> [UInt8] {
        var w = WireWriter(reservingCapacity: 21 + data.count)
        let start = beginMessage(&w, type: .notification)
        w.u8(code); w.u8(subcode)
        w.append(data.prefix(max(0, maxMessageSize - 21)))
        w.set16(UInt16(w.count - start), at: start + 16)
        return w.bytes
    }

    public var description: String {
        var s = "NOTIFICATION \(code)/\(subcode) \(Self.name(code: code, subcode: subcode))"
        if let text = shutdownCommunication { s += " \"\(text)\"" } else if !data.isEmpty { s += " data \(data.count) bytes" }
        return s
    }

    /// RFC names of error codes and subcodes, for logs.
    public static func name(code: UInt8, subcode: UInt8) -> String {
        let c: String, subs: [String]
        switch code {
        case 1: c = "Message Header Error"
            subs = ["", "Connection Not Synchronized", "Bad Message Length", "Bad Message Type"]
        case 2: c = "OPEN Message Error"
            subs = ["", "Unsupported Version Number", "Bad Peer AS", "Bad BGP Identifier",
                    "Unsupported Optional Parameter", "", "Unacceptable Hold Time", "Unsupported Capability",
                    "", "", "", "Role Mismatch"]
        case 3: c = "UPDATE Message Error"
            subs = ["", "Malformed Attribute List", "Unrecognized Well-known Attribute",
                    "Missing Well-known Attribute", "Attribute Flags Error", "Attribute Length Error",
                    "Invalid ORIGIN Attribute", "", "Invalid NEXT_HOP Attribute", "Optional Attribute Error",
                    "Invalid Network Field", "Malformed AS_PATH"]
        case 4: c = "Hold Timer Expired"; subs = []
        case 5: c = "Finite State Machine Error"
            subs = ["", "Unexpected Message in OpenSent", "Unexpected Message in OpenConfirm",
                    "Unexpected Message in Established"]
        case 6: c = "Cease"
            subs = ["", "Maximum Number of Prefixes Reached", "Administrative Shutdown", "Peer De-configured",
                    "Administrative Reset", "Connection Rejected", "Other Configuration Change",
                    "Connection Collision Resolution", "Out of Resources", "Hard Reset", "BFD Down"]
        case 7: c = "ROUTE-REFRESH Message Error"; subs = ["", "Invalid Message Length"]
        default: return "Unknown error \(code)/\(subcode)"
        }
        let i = Int(subcode)
        if i < subs.count, !subs[i].isEmpty { return "\(c): \(subs[i])" }
        return subcode == 0 ? c : "\(c): subcode \(subcode)"
    }
}

/// A ROUTE-REFRESH message (RFC 2918) with the RFC 7313 Message Subtype.
public struct RouteRefreshMessage: Hashable, Sendable {
    /// RFC 7313 §3.2 subtypes; others are reserved and such messages must be ignored.
    public enum Subtype: Hashable, Sendable {
        case normal
        case beginningOfRIB
        case endOfRIB
        case reserved(UInt8)

        public init(rawValue: UInt8) {
            switch rawValue { case 0: self = .normal; case 1: self = .beginningOfRIB; case 2: self = .endOfRIB
            default: self = .reserved(rawValue) }
        }
        public var rawValue: UInt8 {
            switch self { case .normal: 0; case .beginningOfRIB: 1; case .endOfRIB: 2; case .reserved(let v): v }
        }
    }

    public var family: AddressFamily
    public var subtype: Subtype
    /// Bytes after the 4-byte body (RFC 5291 ORF entries for subtype 0), kept raw.
    public var trailing: [UInt8]

    public init(family: AddressFamily, subtype: Subtype = .normal, trailing: [UInt8] = []) {
        self.family = family; self.subtype = subtype; self.trailing = trailing
    }

    /// Decodes the body. A BoRR/EoRR whose body is not 4 bytes is 7/1 with the whole message as
    /// data (RFC 7313 §5); `message` is the complete message for that data.
    public init(parsing r: inout WireReader, message: [UInt8]) throws(WireError) {
        let bodyLength = r.remaining
        r.truncation = WireError(code: ErrorCode.routeRefreshMessage, subcode: RouteRefreshSubcode.invalidMessageLength,
                                 data: message, reason: "ROUTE-REFRESH body of \(bodyLength) bytes, expected 4")
        let afi = try r.u16()
        subtype = Subtype(rawValue: try r.u8())
        let safi = try r.u8()
        family = AddressFamily(afi: afi, safi: safi)
        trailing = r.rest()
        if (subtype == .beginningOfRIB || subtype == .endOfRIB) && !trailing.isEmpty { throw r.truncation }
    }

    public func encodeBody(into w: inout WireWriter) {
        w.u16(family.afi); w.u8(subtype.rawValue); w.u8(family.safi); w.append(trailing)
    }
}
