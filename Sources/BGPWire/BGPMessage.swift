/// Any BGP message.
public enum BGPMessage: Hashable, Sendable {
    case open(OpenMessage)
    case update(UpdateMessage)
    case notification(NotificationMessage)
    case keepalive
    case routeRefresh(RouteRefreshMessage)

    public var type: MessageType {
        switch self {
        case .open: .open; case .update: .update; case .notification: .notification
        case .keepalive: .keepalive; case .routeRefresh: .routeRefresh
        }
    }

    /// Decodes one complete message at `bytes[range]` (as found by `MessageFramer`), header
    /// included. The header is validated again, so this is safe on arbitrary input.
    public static func decode(_ bytes: [UInt8], range: Range<Int>? = nil,
                              context: DecodeContext = DecodeContext()) throws(WireError) -> BGPMessage {
        let range = range ?? 0..<bytes.count
        let framer = context.framer
        let frame = try framer.next(in: bytes, from: range.lowerBound)
        guard case .message(let type, let length) = frame, length == range.count else {
            let lengthField: [UInt8] = range.count >= 18 ? [bytes[range.lowerBound + 16], bytes[range.lowerBound + 17]] : []
            throw WireError(code: ErrorCode.messageHeader, subcode: HeaderSubcode.badMessageLength, data: lengthField,
                            reason: "message length field does not match the \(range.count) bytes given")
        }
        var r = WireReader(bytes, range: (range.lowerBound + BGPLimits.headerLength)..<range.upperBound)
        switch type {
        case .open: return .open(try OpenMessage(parsing: &r))
        case .update: return .update(try UpdateMessage(parsing: &r, context: context))
        case .notification: return .notification(try NotificationMessage(parsing: &r))
        case .keepalive: return .keepalive
        case .routeRefresh: return .routeRefresh(try RouteRefreshMessage(parsing: &r, message: Array(bytes[range])))
        }
    }

    /// The whole message for a peer with `context`.
    public func encoded(context: EncodeContext = EncodeContext()) throws(EncodeError) -> [UInt8] {
        switch self {
        case .open(let o): return o.encoded()
        case .update(let u): return try u.encoded(context: context)
        case .notification(let n): return n.encoded(maxMessageSize: context.maxMessageSize)
        case .keepalive: return BGPMessage.keepaliveBytes
        case .routeRefresh(let rr):
            var w = WireWriter(reservingCapacity: 23)
            let start = beginMessage(&w, type: .routeRefresh)
            rr.encodeBody(into: &w)
            try finishMessage(&w, start: start, limit: context.maxMessageSize)
            return w.bytes
        }
    }

    /// The 19-byte KEEPALIVE.
    public static let keepaliveBytes: [UInt8] = [UInt8](repeating: 0xff, count: 16) + [0, 19, 4]
}
