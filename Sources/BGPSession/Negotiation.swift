import NetCore

/// The peer's graceful restart facts, kept when both sides advertised the capability.
public struct PeerGracefulRestart: Hashable, Sendable {
    /// How long (seconds) to keep the peer's routes as stale after the session drops.
    public var restartTime: UInt16
    /// R bit: the peer has just restarted.
    public var restarting: Bool
    /// N bit negotiated (both sides set it, RFC 8538).
    public var notification: Bool
    /// Per negotiated family the peer preserves, its Forwarding State bit.
    public var forwardingPreserved: [AddressFamily: Bool]
}

extension PeerGracefulRestart {
    /// The families whose routes a GR helper keeps as stale when the session ends this way
    /// (RFC 4724 §4.2): on a TCP failure, hold or send hold expiry, or a reconnect of the peer
    /// (collision); after a NOTIFICATION only with the N bit negotiated and unless it is a
    /// Cease Hard Reset (RFC 8538 §3). Never after our ManualStop, nor with restart time 0.
    /// nil: flush everything.
    public func staleFamilies(after reason: SessionDownReason) -> Set<AddressFamily>? {
        guard restartTime > 0, !forwardingPreserved.isEmpty else { return nil }
        let retain: Bool = switch reason {
        case .connectionFailed, .holdTimerExpired, .sendHoldTimerExpired, .collisionResolution: true
        case .notificationSent(let n), .notificationReceived(let n), .automaticStop(let n):
            notification && !(n.code == NotificationCode.cease && n.subcode == CeaseSubcode.hardReset)
        case .administrativeStop, .unexpectedEvent: false
        }
        return retain ? Set(forwardingPreserved.keys) : nil
    }

}

/// The result of the OPEN exchange: what both sides agreed on. BGPWire's decode/encode context
/// is built from it (4-octet AS, ADD-PATH per family, extended messages).
public struct NegotiatedSession: Hashable, Sendable {
    public var peerAS: ASNumber
    public var peerRouterID: IPv4Address
    public var localRouterID: IPv4Address
    /// Negotiated Hold Time in seconds; 0 means no hold timer and no keepalives.
    public var holdTime: UInt16
    /// Keepalive interval; nil when the hold time is 0.
    public var keepaliveInterval: Duration?
    /// Families both sides advertised.
    public var families: Set<AddressFamily>
    /// Both sides advertised the 4-octet AS capability (AS_PATH is 4-octet on the wire).
    public var fourOctetAS: Bool
    /// Per family: `.send` means we may send several paths, `.receive` that the peer may.
    public var addPath: [AddressFamily: AddPathMode]
    public var routeRefresh: Bool
    public var enhancedRouteRefresh: Bool
    /// Both sides advertised RFC 8654: messages up to 65535 octets.
    public var extendedMessage: Bool
    public var gracefulRestart: PeerGracefulRestart?
    /// RFC 8950: families whose NLRI the peer may send us with an IPv6 next hop (we advertised it).
    public var extendedNextHopReceive: Set<AddressFamily>
    /// RFC 8950: families we may send with an IPv6 next hop (the peer advertised it).
    public var extendedNextHopSend: Set<AddressFamily>
    /// The peer's OPEN as received.
    public var peerOpen: OpenMessage

    /// Largest message allowed on this session (RFC 8654; 4096 otherwise).
    public var maxMessageLength: Int { extendedMessage ? 65535 : 4096 }

    /// After the peer restarted, this new session is up: the retained (stale) families to flush
    /// now, because the new OPEN has no GR capability, no longer lists the family, or says its
    /// forwarding state was not preserved (RFC 4724 §4.2). The others wait for the peer's
    /// End-of-RIB (`endOfRIBReceived`), then their remaining stale routes go.
    public func staleFamiliesToFlush(retained: Set<AddressFamily>) -> Set<AddressFamily> {
        guard let gr = gracefulRestart else { return retained }
        return retained.filter { gr.forwardingPreserved[$0] != true }
    }

    /// Families whose received NLRI carry a Path Identifier (the decode context's ADD-PATH set).
    public var addPathReceiveFamilies: Set<AddressFamily> { Set(addPath.filter { $0.value.contains(.receive) }.keys) }
    /// Families whose NLRI we send with a Path Identifier (the encode context's ADD-PATH set).
    public var addPathSendFamilies: Set<AddressFamily> { Set(addPath.filter { $0.value.contains(.send) }.keys) }
}

/// Checks a received OPEN against our configuration (RFC 4271 §6.2, RFC 6286, RFC 6793,
/// RFC 5492) and negotiates the session parameters.
public enum OpenNegotiation {
    /// The negotiated session, or the NOTIFICATION to send.
    public static func negotiate(_ open: OpenMessage, config: PeerSessionConfig)
        -> Result<NegotiatedSession, NotificationMessage> {
        // Version (§6.2): data is the largest version we support, 2 octets.
        guard open.version == 4 else {
            return .failure(.openError(OpenErrorSubcode.unsupportedVersionNumber, data: [0, 4]))
        }
        // Peer AS (§6.2, RFC 6793 §4.1). Data: the offending AS field (2 octets, or the
        // 4-octet capability value), as FRR does.
        let astrans = UInt16(ASNumber.trans.value)
        if let as4 = open.capabilities.fourOctetAS {
            let consistent = as4.value != 0 && open.myAS != 0
                && (open.myAS == astrans || UInt32(open.myAS) == as4.value)
                && (as4.fitsTwoOctets || open.myAS == astrans)
            guard consistent, as4 == config.peerAS else {
                return .failure(.openError(OpenErrorSubcode.badPeerAS, data: be32(as4.value)))
            }
        } else {
            // A speaker without the capability cannot use AS_TRANS as its own AS.
            guard open.myAS != 0, open.myAS != astrans, UInt32(open.myAS) == config.peerAS.value else {
                return .failure(.openError(OpenErrorSubcode.badPeerAS, data: be16(open.myAS)))
            }
        }
        // Hold time: 0 or at least 3 seconds (§4.2).
        if open.holdTime == 1 || open.holdTime == 2 {
            return .failure(.openError(OpenErrorSubcode.unacceptableHoldTime))
        }
        // BGP Identifier: non-zero (RFC 6286 §2.1); must differ from ours only within an AS
        // (RFC 6286 §2.2: eBGP peers may share an identifier).
        if open.routerID == .any || (config.isInternal && open.routerID == config.localRouterID) {
            return .failure(.openError(OpenErrorSubcode.badBGPIdentifier))
        }
        // Families: the intersection. None in common ends the session with 2/7 Unsupported
        // Capability listing our multiprotocol capabilities (FRR's behaviour; RFC 5492 §3).
        let peerCaps = open.capabilities
        let families = config.families.intersection(peerCaps.effectiveFamilies)
        guard !families.isEmpty else {
            var data: [UInt8] = []
            for f in config.families.sorted() { data += [1, 4] + be16(f.afi) + [0, f.safi] }
            return .failure(.openError(OpenErrorSubcode.unsupportedCapability, data: data))
        }

        let hold = min(config.holdTime, open.holdTime)
        var keepalive: Duration? = nil
        if hold > 0 {
            let third = Duration.milliseconds(Int64(hold) * 1000 / 3)
            if let k = config.keepaliveTime, k > 0 {
                keepalive = min(.seconds(Int64(k)), third)
            } else {
                keepalive = third
            }
        }

        var addPath: [AddressFamily: AddPathMode] = [:]
        for f in families {
            let mine = config.addPath[f] ?? []
            let theirs = peerCaps.addPath[f] ?? []
            var mode: AddPathMode = []
            if mine.contains(.send) && theirs.contains(.receive) { mode.insert(.send) }
            if mine.contains(.receive) && theirs.contains(.send) { mode.insert(.receive) }
            if !mode.isEmpty { addPath[f] = mode }
        }

        var gr: PeerGracefulRestart? = nil
        if let local = config.gracefulRestart, let theirs = peerCaps.gracefulRestart {
            gr = PeerGracefulRestart(
                restartTime: theirs.restartTime, restarting: theirs.restartState,
                notification: theirs.notification && local.notification,
                forwardingPreserved: theirs.families.filter { families.contains($0.key) })
        }

        return .success(NegotiatedSession(
            peerAS: open.autonomousSystem, peerRouterID: open.routerID, localRouterID: config.localRouterID,
            holdTime: hold, keepaliveInterval: keepalive, families: families,
            fourOctetAS: peerCaps.fourOctetAS != nil, addPath: addPath,
            routeRefresh: config.routeRefresh && peerCaps.routeRefresh,
            enhancedRouteRefresh: config.enhancedRouteRefresh && peerCaps.enhancedRouteRefresh,
            extendedMessage: config.extendedMessage && peerCaps.extendedMessage,
            gracefulRestart: gr,
            extendedNextHopReceive: config.extendedNextHop.intersection(families),
            extendedNextHopSend: peerCaps.extendedNextHop.intersection(families),
            peerOpen: open))
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
}
