/// BGP message types (RFC 4271 §4.1, RFC 2918 for ROUTE-REFRESH).
public enum MessageType: UInt8, Hashable, Sendable, CustomStringConvertible {
    case open = 1
    case update = 2
    case notification = 3
    case keepalive = 4
    case routeRefresh = 5

    public var description: String {
        switch self {
        case .open: "OPEN"; case .update: "UPDATE"; case .notification: "NOTIFICATION"
        case .keepalive: "KEEPALIVE"; case .routeRefresh: "ROUTE-REFRESH"
        }
    }

    /// The smallest legal total length for this type (RFC 4271 §4, RFC 2918 §3).
    var minimumLength: Int {
        switch self {
        case .open: 29; case .update: 23; case .notification: 21; case .keepalive: 19; case .routeRefresh: 23
        }
    }
}

/// Sizes fixed by the RFCs.
public enum BGPLimits {
    public static let headerLength = 19
    /// RFC 4271 maximum message size.
    public static let standardMaxMessageSize = 4096
    /// RFC 8654 maximum once both sides advertised the Extended Message capability.
    public static let extendedMaxMessageSize = 65535
}

/// What the framer found at the front of a byte buffer.
public enum FrameResult: Hashable, Sendable {
    /// Not enough bytes yet: at least `totalBytes` (from the frame start) are needed to go on.
    case needMore(totalBytes: Int)
    /// A complete message of `length` bytes (header included) of type `type`.
    case message(type: MessageType, length: Int)
}

/// Finds message boundaries in a TCP byte stream and validates the header (RFC 4271 §6.1):
/// marker not all ones → 1/1, bad length → 1/2 with the length as data, bad type → 1/3 with the
/// type as data. OPEN and KEEPALIVE are limited to 4096 even with extended messages (RFC 8654 §4).
public struct MessageFramer: Hashable, Sendable {
    public var maxMessageSize: Int

    public init(maxMessageSize: Int = BGPLimits.standardMaxMessageSize) {
        self.maxMessageSize = maxMessageSize
    }

    public init(extendedMessages: Bool) {
        maxMessageSize = extendedMessages ? BGPLimits.extendedMaxMessageSize : BGPLimits.standardMaxMessageSize
    }

    /// Looks at `buffer[offset...]`. Errors are always `.sessionReset`.
    public func next(in buffer: [UInt8], from offset: Int = 0) throws(WireError) -> FrameResult {
        let available = buffer.count - offset
        guard available >= BGPLimits.headerLength else { return .needMore(totalBytes: BGPLimits.headerLength) }
        for i in 0..<16 where buffer[offset + i] != 0xff {
            throw WireError(code: ErrorCode.messageHeader, subcode: HeaderSubcode.connectionNotSynchronized,
                            reason: "marker is not all ones")
        }
        let length = Int(buffer[offset + 16]) << 8 | Int(buffer[offset + 17])
        let rawType = buffer[offset + 18]
        guard let type = MessageType(rawValue: rawType) else {
            // RFC 4271 §6.1 checks the length before the type; a bad length wins.
            if length < BGPLimits.headerLength || length > maxMessageSize {
                throw WireError(code: ErrorCode.messageHeader, subcode: HeaderSubcode.badMessageLength,
                                data: [buffer[offset + 16], buffer[offset + 17]], reason: "message length \(length) is out of range")
            }
            throw WireError(code: ErrorCode.messageHeader, subcode: HeaderSubcode.badMessageType,
                            data: [rawType], reason: "message type \(rawType) is not defined")
        }
        let limit = (type == .open || type == .keepalive) ? BGPLimits.standardMaxMessageSize : maxMessageSize
        let exact = type == .keepalive
        if length < type.minimumLength || length > limit || (exact && length != BGPLimits.headerLength) {
            throw WireError(code: ErrorCode.messageHeader, subcode: HeaderSubcode.badMessageLength,
                            data: [buffer[offset + 16], buffer[offset + 17]], reason: "\(type) length \(length) is invalid (limit \(limit))")
        }
        guard available >= length else { return .needMore(totalBytes: length) }
        return .message(type: type, length: length)
    }

    /// Splits every complete message off the front of `buffer` and returns them with the number of
    /// bytes consumed (the caller keeps the rest for the next read).
    public func split(_ buffer: [UInt8]) throws(WireError) -> (messages: [Range<Int>], consumed: Int) {
        var offset = 0
        var out: [Range<Int>] = []
        while true {
            switch try next(in: buffer, from: offset) {
            case .needMore: return (out, offset)
            case .message(_, let length):
                out.append(offset..<(offset + length))
                offset += length
            }
        }
    }
}

/// Writes the 19-byte header with a length placeholder; `finishMessage` patches it.
func beginMessage(_ w: inout WireWriter, type: MessageType) -> Int {
    let start = w.count
    for _ in 0..<16 { w.u8(0xff) }
    w.u16(0)
    w.u8(type.rawValue)
    return start
}

func finishMessage(_ w: inout WireWriter, start: Int, limit: Int) throws(EncodeError) {
    let size = w.count - start
    guard size <= limit else { throw .messageTooLarge(size: size, limit: limit) }
    w.set16(UInt16(size), at: start + 16)
}
