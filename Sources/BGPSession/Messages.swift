import NetCore

/// An AFI/SAFI pair (RFC 4760). Only the numbers: the FSM negotiates families, it does not
/// interpret them.
public struct AddressFamily: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var afi: UInt16
    public var safi: UInt8
    public init(afi: UInt16, safi: UInt8) { self.afi = afi; self.safi = safi }

    public static let ipv4Unicast = AddressFamily(afi: 1, safi: 1)
    public static let ipv6Unicast = AddressFamily(afi: 2, safi: 1)

    public static func < (l: Self, r: Self) -> Bool { (l.afi, l.safi) < (r.afi, r.safi) }
    public var description: String {
        switch (afi, safi) {
        case (1, 1): "ipv4-unicast"
        case (2, 1): "ipv6-unicast"
        default: "afi\(afi)/safi\(safi)"
        }
    }
}

/// ADD-PATH Send/Receive field (RFC 7911 §4): 1 receive, 2 send, 3 both.
public struct AddPathMode: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let receive = AddPathMode(rawValue: 1)
    public static let send = AddPathMode(rawValue: 2)
    public static let both: AddPathMode = [.receive, .send]
}

/// Graceful Restart capability content (RFC 4724 §3, RFC 8538 N bit).
public struct GracefulRestartCapability: Hashable, Sendable {
    /// R bit: the sender has just restarted (RFC 4724 §3).
    public var restartState: Bool
    /// N bit (RFC 8538): the sender supports GR for NOTIFICATION messages.
    public var notification: Bool
    /// Restart Time in seconds (12 bits on the wire, 0...4095).
    public var restartTime: UInt16
    /// Families the sender preserves state for, with the Forwarding State (F) bit.
    public var families: [AddressFamily: Bool]

    public init(restartState: Bool = false, notification: Bool = false, restartTime: UInt16,
                families: [AddressFamily: Bool] = [:]) {
        self.restartState = restartState
        self.notification = notification
        self.restartTime = restartTime
        self.families = families
    }
}

/// The facts of an OPEN's capabilities (RFC 5492) that matter for negotiation. The shell maps
/// BGPWire's capability list to this; capabilities not listed here are dropped by the shell.
public struct CapabilitySet: Hashable, Sendable {
    /// Multiprotocol capabilities (code 1). Empty means the peer sent none, which RFC 4760 §8
    /// reads as IPv4 unicast only (see `effectiveFamilies`).
    public var families: Set<AddressFamily>
    /// 4-octet AS capability (code 65, RFC 6793) with its AS number.
    public var fourOctetAS: ASNumber?
    /// Route refresh (code 2, RFC 2918; the old Cisco code 128 counts too).
    public var routeRefresh: Bool
    /// Enhanced route refresh (code 70, RFC 7313).
    public var enhancedRouteRefresh: Bool
    /// Graceful restart (code 64, RFC 4724).
    public var gracefulRestart: GracefulRestartCapability?
    /// Extended messages (code 6, RFC 8654).
    public var extendedMessage: Bool
    /// ADD-PATH (code 69, RFC 7911), per family.
    public var addPath: [AddressFamily: AddPathMode]
    /// Extended next hop (code 5, RFC 8950): NLRI families the sender handles with an IPv6
    /// next hop (the tuples whose Next Hop AFI is 2).
    public var extendedNextHop: Set<AddressFamily>

    public init(families: Set<AddressFamily> = [.ipv4Unicast], fourOctetAS: ASNumber? = nil,
                routeRefresh: Bool = false, enhancedRouteRefresh: Bool = false,
                gracefulRestart: GracefulRestartCapability? = nil, extendedMessage: Bool = false,
                addPath: [AddressFamily: AddPathMode] = [:], extendedNextHop: Set<AddressFamily> = []) {
        self.families = families
        self.fourOctetAS = fourOctetAS
        self.routeRefresh = routeRefresh
        self.enhancedRouteRefresh = enhancedRouteRefresh
        self.gracefulRestart = gracefulRestart
        self.extendedMessage = extendedMessage
        self.addPath = addPath
        self.extendedNextHop = extendedNextHop
    }

    /// The families the sender supports: its MP capabilities, or IPv4 unicast if it sent none
    /// (RFC 4760 §8).
    public var effectiveFamilies: Set<AddressFamily> { families.isEmpty ? [.ipv4Unicast] : families }
}

/// An OPEN message (RFC 4271 §4.2), as the FSM sees it.
public struct OpenMessage: Hashable, Sendable {
    public var version: UInt8
    /// The 2-octet My Autonomous System field exactly as on the wire: AS_TRANS (23456) when the
    /// sender's AS does not fit. The real AS is `autonomousSystem` (reconciled with the 4-octet
    /// AS capability, RFC 6793 §4.1).
    public var myAS: UInt16
    /// Hold Time in seconds.
    public var holdTime: UInt16
    public var routerID: IPv4Address
    public var capabilities: CapabilitySet

    public init(version: UInt8 = 4, myAS: UInt16, holdTime: UInt16, routerID: IPv4Address,
                capabilities: CapabilitySet) {
        self.version = version
        self.myAS = myAS
        self.holdTime = holdTime
        self.routerID = routerID
        self.capabilities = capabilities
    }

    /// An OPEN for a speaker whose AS is `asn`: the 2-octet field gets AS_TRANS if the AS does
    /// not fit, and the 4-octet AS capability is set to `asn`.
    public init(autonomousSystem asn: ASNumber, holdTime: UInt16, routerID: IPv4Address,
                capabilities: CapabilitySet) {
        var caps = capabilities
        caps.fourOctetAS = asn
        self.init(myAS: asn.fitsTwoOctets ? UInt16(asn.value) : UInt16(ASNumber.trans.value),
                  holdTime: holdTime, routerID: routerID, capabilities: caps)
    }

    /// The sender's AS: the 4-octet capability's if present, else the 2-octet field.
    public var autonomousSystem: ASNumber { capabilities.fourOctetAS ?? ASNumber(UInt32(myAS)) }
}

/// A NOTIFICATION message (RFC 4271 §4.5). Codes and subcodes: `NotificationCode` and the
/// `…Subcode` namespaces.
public struct NotificationMessage: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: UInt8
    public var subcode: UInt8
    public var data: [UInt8]

    public init(code: UInt8, subcode: UInt8, data: [UInt8] = []) {
        self.code = code
        self.subcode = subcode
        self.data = data
    }

    public var description: String {
        "\(code)/\(subcode) \(NotificationCode.name(code: code, subcode: subcode))"
            + (data.isEmpty ? "" : " (\(data.count) bytes data)")
    }
}

/// ROUTE-REFRESH message (RFC 2918; subtypes RFC 7313).
public struct RouteRefreshMessage: Hashable, Sendable {
    public var family: AddressFamily
    /// 0 normal request, 1 Beginning of Route Refresh (BoRR), 2 End of Route Refresh (EoRR).
    public var subtype: UInt8
    public init(family: AddressFamily, subtype: UInt8 = RouteRefreshMessage.request) {
        self.family = family
        self.subtype = subtype
    }
    public static let request: UInt8 = 0
    public static let beginning: UInt8 = 1
    public static let end: UInt8 = 2
}

/// A received UPDATE, opaque to the FSM except for the End-of-RIB marker (RFC 4724 §2).
/// The shell keeps the decoded message and hands it to the RIB when the FSM answers
/// `.deliverUpdate`.
public struct ReceivedUpdate: Hashable, Sendable {
    /// Set if this UPDATE is an End-of-RIB marker for that family.
    public var endOfRIB: AddressFamily?
    public init(endOfRIB: AddressFamily? = nil) { self.endOfRIB = endOfRIB }
    public static let routes = ReceivedUpdate()
}
