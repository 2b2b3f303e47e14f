/// What a receiver does about an error, in increasing severity (RFC 7606 §2). Comparable, so
/// the action for an UPDATE is the `max` of its errors' actions.
public enum ErrorAction: Int, Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Drop the offending attribute and use the rest of the UPDATE (RFC 7606 "attribute discard").
    case attributeDiscard = 1
    /// Treat every NLRI of the UPDATE as withdrawn (RFC 7606 "treat-as-withdraw").
    case treatAsWithdraw = 2
    /// Send the NOTIFICATION and close the session (RFC 4271 behaviour).
    case sessionReset = 3

    public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }
    public var description: String {
        switch self {
        case .attributeDiscard: "attribute-discard"
        case .treatAsWithdraw: "treat-as-withdraw"
        case .sessionReset: "session-reset"
        }
    }
}

/// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 for 7).
public enum ErrorCode {
    public static let messageHeader: UInt8 = 1
    public static let openMessage: UInt8 = 2
    public static let updateMessage: UInt8 = 3
    public static let holdTimerExpired: UInt8 = 4
    public static let finiteStateMachine: UInt8 = 5
    public static let cease: UInt8 = 6
    public static let routeRefreshMessage: UInt8 = 7
}

/// Message Header Error subcodes (RFC 4271 §6.1).
public enum HeaderSubcode {
    public static let connectionNotSynchronized: UInt8 = 1
    public static let badMessageLength: UInt8 = 2
    public static let badMessageType: UInt8 = 3
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492).
public enum OpenSubcode {
    public static let unspecific: UInt8 = 0
    public static let unsupportedVersionNumber: UInt8 = 1
    public static let badPeerAS: UInt8 = 2
    public static let badBGPIdentifier: UInt8 = 3
    public static let unsupportedOptionalParameter: UInt8 = 4
    public static let unacceptableHoldTime: UInt8 = 6
    public static let unsupportedCapability: UInt8 = 7
    public static let roleMismatch: UInt8 = 11
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3).
public enum UpdateSubcode {
    public static let malformedAttributeList: UInt8 = 1
    public static let unrecognizedWellKnownAttribute: UInt8 = 2
    public static let missingWellKnownAttribute: UInt8 = 3
    public static let attributeFlagsError: UInt8 = 4
    public static let attributeLengthError: UInt8 = 5
    public static let invalidOriginAttribute: UInt8 = 6
    public static let invalidNextHopAttribute: UInt8 = 8
    public static let optionalAttributeError: UInt8 = 9
    public static let invalidNetworkField: UInt8 = 10
    public static let malformedASPath: UInt8 = 11
}

/// Cease subcodes (RFC 4486, RFC 8203/9003 for 2 and 4).
public enum CeaseSubcode {
    public static let maximumPrefixesReached: UInt8 = 1
    public static let administrativeShutdown: UInt8 = 2
    public static let peerDeconfigured: UInt8 = 3
    public static let administrativeReset: UInt8 = 4
    public static let connectionRejected: UInt8 = 5
    public static let otherConfigurationChange: UInt8 = 6
    public static let connectionCollisionResolution: UInt8 = 7
    public static let outOfResources: UInt8 = 8
    public static let hardReset: UInt8 = 9
    public static let bfdDown: UInt8 = 10
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
public enum RouteRefreshSubcode {
    public static let invalidMessageLength: UInt8 = 1
}

/// A decoding error: the NOTIFICATION it calls for (code, subcode, data), the RFC 7606 action
/// and a human reason naming the field. Equality and hashing ignore `reason`.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: UInt8
    public var subcode: UInt8
    /// The NOTIFICATION data field (RFC 4271 §6: e.g. the whole erroneous attribute).
    public var data: [UInt8]
    public var action: ErrorAction
    /// The path attribute type code involved, if any.
    public var attributeCode: UInt8?
    public var reason: String

    public init(code: UInt8, subcode: UInt8, data: [UInt8] = [], action: ErrorAction = .sessionReset,
                attributeCode: UInt8? = nil, reason: String) {
        self.code = code; self.subcode = subcode; self.data = data
        self.action = action; self.attributeCode = attributeCode; self.reason = reason
    }

    /// The NOTIFICATION to send when `action` is `.sessionReset`.
    public var notification: NotificationMessage { NotificationMessage(code: code, subcode: subcode, data: data) }

    public var description: String {
        let attr = attributeCode.map { " attribute \($0)" } ?? ""
        return "\(code)/\(subcode) \(action)\(attr): \(reason)"
    }

    public static func == (l: Self, r: Self) -> Bool {
        l.code == r.code && l.subcode == r.subcode && l.data == r.data && l.action == r.action
            && l.attributeCode == r.attributeCode
    }

    public func hash(into h: inout Hasher) {
        h.combine(code); h.combine(subcode); h.combine(data); h.combine(action); h.combine(attributeCode)
    }
}

/// The brief and STYLE.md call UPDATE-level errors `UpdateError`; they are `WireError`s.
public typealias UpdateError = WireError

/// Encoding failures: the caller asked for something the wire cannot carry.
public enum EncodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message would exceed the negotiated maximum (4096, or 65535 with RFC 8654).
    case messageTooLarge(size: Int, limit: Int)
    /// A field does not fit its wire width.
    case fieldTooLarge(field: String, size: Int, limit: Int)

    public var description: String {
        switch self {
        case .messageTooLarge(let s, let l): "message of \(s) bytes exceeds the maximum of \(l)"
        case .fieldTooLarge(let f, let s, let l): "\(f) of \(s) bytes exceeds its limit of \(l)"
        }
    }
}
