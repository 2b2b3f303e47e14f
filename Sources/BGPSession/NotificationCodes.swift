/// NOTIFICATION error codes (RFC 4271 §4.5, RFC 6608, RFC 7313).
public enum NotificationCode {
    public static let messageHeaderError: UInt8 = 1
    public static let openMessageError: UInt8 = 2
    public static let updateMessageError: UInt8 = 3
    public static let holdTimerExpired: UInt8 = 4
    public static let finiteStateMachineError: UInt8 = 5
    public static let cease: UInt8 = 6
    public static let routeRefreshMessageError: UInt8 = 7
    /// RFC 9687.
    public static let sendHoldTimerExpired: UInt8 = 8

    /// A readable name for logs: "Hold Timer Expired", "Cease: Administrative Shutdown"…
    public static func name(code: UInt8, subcode: UInt8) -> String {
        func sub(_ names: [UInt8: String]) -> String { names[subcode].map { ": " + $0 } ?? "" }
        switch code {
        case messageHeaderError: return "Message Header Error" + sub([
            1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type"])
        case openMessageError: return "OPEN Message Error" + sub([
            1: "Unsupported Version Number", 2: "Bad Peer AS", 3: "Bad BGP Identifier",
            4: "Unsupported Optional Parameter", 6: "Unacceptable Hold Time",
            7: "Unsupported Capability", 11: "Role Mismatch"])
        case updateMessageError: return "UPDATE Message Error" + sub([
            1: "Malformed Attribute List", 2: "Unrecognized Well-known Attribute",
            3: "Missing Well-known Attribute", 4: "Attribute Flags Error", 5: "Attribute Length Error",
            6: "Invalid ORIGIN Attribute", 8: "Invalid NEXT_HOP Attribute", 9: "Optional Attribute Error",
            10: "Invalid Network Field", 11: "Malformed AS_PATH"])
        case holdTimerExpired: return "Hold Timer Expired"
        case finiteStateMachineError: return "Finite State Machine Error" + sub([
            0: "Unspecified", 1: "Unexpected Message in OpenSent", 2: "Unexpected Message in OpenConfirm",
            3: "Unexpected Message in Established"])
        case cease: return "Cease" + sub([
            1: "Maximum Number of Prefixes Reached", 2: "Administrative Shutdown", 3: "Peer De-configured",
            4: "Administrative Reset", 5: "Connection Rejected", 6: "Other Configuration Change",
            7: "Connection Collision Resolution", 8: "Out of Resources", 9: "Hard Reset", 10: "BFD Down"])
        case routeRefreshMessageError: return "ROUTE-REFRESH Message Error" + sub([1: "Invalid Message Length"])
        case sendHoldTimerExpired: return "Send Hold Timer Expired"
        default: return "Unknown Error Code"
        }
    }
}

/// Message Header Error subcodes (RFC 4271 §6.1).
public enum HeaderErrorSubcode {
    public static let connectionNotSynchronized: UInt8 = 1
    public static let badMessageLength: UInt8 = 2
    public static let badMessageType: UInt8 = 3
}

/// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492, RFC 9234).
public enum OpenErrorSubcode {
    public static let unsupportedVersionNumber: UInt8 = 1
    public static let badPeerAS: UInt8 = 2
    public static let badBGPIdentifier: UInt8 = 3
    public static let unsupportedOptionalParameter: UInt8 = 4
    public static let unacceptableHoldTime: UInt8 = 6
    public static let unsupportedCapability: UInt8 = 7
    public static let roleMismatch: UInt8 = 11
}

/// UPDATE Message Error subcodes (RFC 4271 §6.3).
public enum UpdateErrorSubcode {
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

/// Finite State Machine Error subcodes (RFC 6608).
public enum FSMErrorSubcode {
    public static let unspecified: UInt8 = 0
    public static let unexpectedMessageInOpenSent: UInt8 = 1
    public static let unexpectedMessageInOpenConfirm: UInt8 = 2
    public static let unexpectedMessageInEstablished: UInt8 = 3
}

/// Cease subcodes (RFC 4486, RFC 8538 Hard Reset, RFC 9384 BFD Down).
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
public enum RouteRefreshErrorSubcode {
    public static let invalidMessageLength: UInt8 = 1
}

extension NotificationMessage {
    /// 8/0 Send Hold Timer Expired (RFC 9687).
    public static let sendHoldTimerExpired = NotificationMessage(code: NotificationCode.sendHoldTimerExpired, subcode: 0)

    /// 4/0 Hold Timer Expired.
    public static let holdTimerExpired = NotificationMessage(code: NotificationCode.holdTimerExpired, subcode: 0)

    /// 6/`subcode` Cease. For Administrative Shutdown and Reset a shutdown communication
    /// (RFC 9003) may be attached: a length octet then UTF-8, cut to 255 octets at a character
    /// boundary. Other subcodes ignore `message`.
    public static func cease(_ subcode: UInt8, message: String? = nil) -> NotificationMessage {
        var data: [UInt8] = []
        if let message, !message.isEmpty,
           subcode == CeaseSubcode.administrativeShutdown || subcode == CeaseSubcode.administrativeReset {
            var bytes: [UInt8] = []
            for scalar in message.unicodeScalars {
                let enc = Array(String(scalar).utf8)
                if bytes.count + enc.count > 255 { break }
                bytes += enc
            }
            data = [UInt8(bytes.count)] + bytes
        }
        return NotificationMessage(code: NotificationCode.cease, subcode: subcode, data: data)
    }

    /// The shutdown communication (RFC 9003) carried by a Cease 6/2 or 6/4 (also inside a
    /// Hard Reset, RFC 8538), if well formed.
    public var shutdownCommunication: String? {
        if let inner = hardResetInner { return inner.shutdownCommunication }
        guard code == NotificationCode.cease,
              subcode == CeaseSubcode.administrativeShutdown || subcode == CeaseSubcode.administrativeReset,
              let len = data.first, len > 0, data.count >= 1 + Int(len) else { return nil }
        return String(validating: data[1...Int(len)], as: UTF8.self)
    }

    /// The Cease wrapped by a Hard Reset 6/9 (RFC 8538 §5), if this is one.
    public var hardResetInner: NotificationMessage? {
        guard code == NotificationCode.cease, subcode == CeaseSubcode.hardReset, let inner = data.first else { return nil }
        return NotificationMessage(code: NotificationCode.cease, subcode: inner, data: Array(data.dropFirst()))
    }

    /// 5/x for an event the current state does not expect (RFC 6608).
    public static func fsmError(in state: SessionState) -> NotificationMessage {
        let sub: UInt8 = switch state {
        case .openSent: FSMErrorSubcode.unexpectedMessageInOpenSent
        case .openConfirm: FSMErrorSubcode.unexpectedMessageInOpenConfirm
        case .established: FSMErrorSubcode.unexpectedMessageInEstablished
        case .idle, .connect, .active: FSMErrorSubcode.unspecified
        }
        return NotificationMessage(code: NotificationCode.finiteStateMachineError, subcode: sub)
    }

    /// 2/`subcode` OPEN Message Error.
    public static func openError(_ subcode: UInt8, data: [UInt8] = []) -> NotificationMessage {
        NotificationMessage(code: NotificationCode.openMessageError, subcode: subcode, data: data)
    }

    /// True for 2/1 Unsupported Version Number: RFC 4271 event 24 NotifMsgVerErr.
    public var isVersionError: Bool {
        code == NotificationCode.openMessageError && subcode == OpenErrorSubcode.unsupportedVersionNumber
    }
}
