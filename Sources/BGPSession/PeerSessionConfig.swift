import NetCore

/// When the FSM asks the shell to send End-of-RIB after the initial advertisement.
public enum EndOfRIBPolicy: Hashable, Sendable {
    /// Always, for every negotiated family (BIRD's and FRR's behaviour; RFC 4724 §2 recommends it).
    case always
    /// Only when graceful restart was negotiated with the peer.
    case gracefulRestartOnly
    /// Never.
    case never
}

/// What we advertise about graceful restart (RFC 4724): the helper side is always active
/// when both sides advertise the capability.
public struct LocalGracefulRestart: Hashable, Sendable {
    /// Restart Time advertised, seconds (0...4095).
    public var restartTime: UInt16
    /// Set the R bit: we are restarting (a restarted agent sets it in the first OPEN after start).
    public var restarting: Bool
    /// Advertise the N bit (RFC 8538).
    public var notification: Bool
    /// Families for which we say we preserved forwarding state (F bit).
    public var preservedForwarding: Set<AddressFamily>

    public init(restartTime: UInt16 = 120, restarting: Bool = false, notification: Bool = false,
                preservedForwarding: Set<AddressFamily> = []) {
        self.restartTime = restartTime
        self.restarting = restarting
        self.notification = notification
        self.preservedForwarding = preservedForwarding
    }
}

/// Configuration of one peer's session: everything the FSM needs plus the transport facts the
/// shell needs (address, password, port), so `reconfigure` can classify every change.
public struct PeerSessionConfig: Hashable, Sendable {
    // Identity.
    public var localAS: ASNumber
    public var peerAS: ASNumber
    public var localRouterID: IPv4Address

    // Transport (used by the shell; a change resets the session).
    public var peerAddress: IPAddress
    public var localAddress: IPAddress?
    public var peerPort: UInt16
    /// TCP MD5 password (RFC 2385).
    public var password: String?
    /// Never connect; wait for the peer in Active (RFC 4271 PassiveTcpEstablishment).
    public var passive: Bool

    // Timers.
    /// Hold Time we offer, seconds: 0 or 3...65535. Defaults to 90 (BIRD, FRR, GoBGP default).
    public var holdTime: UInt16
    /// Keepalive interval, seconds; nil means a third of the negotiated hold time.
    public var keepaliveTime: UInt16?
    /// Hold timer while waiting for the peer's OPEN (RFC 4271 §8: "large value", 4 minutes).
    public var openHoldTime: Duration
    public var connectRetryTime: Duration
    /// DelayOpenTimer (RFC 4271 optional attribute DelayOpen); nil disables DelayOpen.
    public var delayOpenTime: Duration?
    /// First IdleHoldTime after a failure; doubles per consecutive failure up to `maxIdleHoldTime`.
    public var idleHoldTime: Duration
    public var maxIdleHoldTime: Duration
    /// First wait before dialling again after the peer closed our connection before its OPEN;
    /// doubles per such close up to `connectRetryTime` (SessionFSM.closedBeforeOpen).
    public var closedBeforeOpenRetryTime: Duration
    /// RFC 9687 SendHoldTime floor: the session is dropped when nothing could be written to the
    /// peer for max(this, 2 × negotiated hold time). nil disables the send hold timer.
    public var sendHoldTime: Duration?
    /// A session that stayed Established this long resets the backoff when it goes down.
    public var stableTime: Duration

    // Capabilities we advertise.
    public var families: Set<AddressFamily>
    public var routeRefresh: Bool
    public var enhancedRouteRefresh: Bool
    public var extendedMessage: Bool
    public var gracefulRestart: LocalGracefulRestart?
    public var addPath: [AddressFamily: AddPathMode]
    /// Families for which we accept an IPv6 next hop (RFC 8950), e.g. IPv4 unicast.
    public var extendedNextHop: Set<AddressFamily>

    public var endOfRIB: EndOfRIBPolicy

    public init(localAS: ASNumber, peerAS: ASNumber, localRouterID: IPv4Address, peerAddress: IPAddress,
                localAddress: IPAddress? = nil, peerPort: UInt16 = 179, password: String? = nil,
                passive: Bool = false, holdTime: UInt16 = 90, keepaliveTime: UInt16? = nil,
                openHoldTime: Duration = .seconds(240), connectRetryTime: Duration = .seconds(30),
                delayOpenTime: Duration? = nil, idleHoldTime: Duration = .seconds(5),
                maxIdleHoldTime: Duration = .seconds(120), closedBeforeOpenRetryTime: Duration = .milliseconds(250),
                sendHoldTime: Duration? = .seconds(480),
                stableTime: Duration = .seconds(60),
                families: Set<AddressFamily> = [.ipv4Unicast], routeRefresh: Bool = true,
                enhancedRouteRefresh: Bool = true, extendedMessage: Bool = false,
                gracefulRestart: LocalGracefulRestart? = LocalGracefulRestart(),
                addPath: [AddressFamily: AddPathMode] = [:], extendedNextHop: Set<AddressFamily> = [],
                endOfRIB: EndOfRIBPolicy = .always) {
        self.localAS = localAS
        self.peerAS = peerAS
        self.localRouterID = localRouterID
        self.peerAddress = peerAddress
        self.localAddress = localAddress
        self.peerPort = peerPort
        self.password = password
        self.passive = passive
        self.holdTime = holdTime
        self.keepaliveTime = keepaliveTime
        self.openHoldTime = openHoldTime
        self.connectRetryTime = connectRetryTime
        self.delayOpenTime = delayOpenTime
        self.idleHoldTime = idleHoldTime
        self.maxIdleHoldTime = maxIdleHoldTime
        self.closedBeforeOpenRetryTime = closedBeforeOpenRetryTime
        self.sendHoldTime = sendHoldTime
        self.stableTime = stableTime
        self.families = families
        self.routeRefresh = routeRefresh
        self.enhancedRouteRefresh = enhancedRouteRefresh
        self.extendedMessage = extendedMessage
        self.gracefulRestart = gracefulRestart
        self.addPath = addPath
        self.extendedNextHop = extendedNextHop
        self.endOfRIB = endOfRIB
    }

    /// iBGP: both ends in the same AS.
    public var isInternal: Bool { localAS == peerAS }

    /// The capabilities we advertise.
    public var localCapabilities: CapabilitySet {
        CapabilitySet(
            families: families, fourOctetAS: localAS, routeRefresh: routeRefresh,
            enhancedRouteRefresh: enhancedRouteRefresh,
            gracefulRestart: gracefulRestart.map { gr in
                GracefulRestartCapability(
                    restartState: gr.restarting, notification: gr.notification, restartTime: min(gr.restartTime, 4095),
                    families: Dictionary(uniqueKeysWithValues: families.map { ($0, gr.preservedForwarding.contains($0)) }))
            },
            extendedMessage: extendedMessage, addPath: addPath.filter { families.contains($0.key) },
            extendedNextHop: extendedNextHop.intersection(families))
    }

    /// The OPEN we send.
    public var localOpen: OpenMessage {
        OpenMessage(autonomousSystem: localAS, holdTime: holdTime, routerID: localRouterID,
                    capabilities: localCapabilities)
    }

    /// Problems that make this configuration unusable, each naming the field and the reason.
    public func validate() -> [String] {
        var problems: [String] = []
        if holdTime == 1 || holdTime == 2 {
            problems.append("holdTime: \(holdTime) s is not allowed; use 0 or at least 3 s (RFC 4271 §4.2)")
        }
        if let k = keepaliveTime, k == 0, holdTime != 0 {
            problems.append("keepaliveTime: 0 disables keepalives while holdTime is \(holdTime) s")
        }
        if localRouterID == .any { problems.append("localRouterID: 0.0.0.0 is not a valid BGP Identifier (RFC 6286)") }
        if localAS.value == 0 { problems.append("localAS: 0 is reserved (RFC 7607)") }
        if peerAS.value == 0 { problems.append("peerAS: 0 is reserved (RFC 7607)") }
        if families.isEmpty { problems.append("families: at least one address family is needed") }
        if idleHoldTime > maxIdleHoldTime { problems.append("idleHoldTime: larger than maxIdleHoldTime") }
        if closedBeforeOpenRetryTime <= .zero {
            problems.append("closedBeforeOpenRetryTime: must be positive (it doubles from there)")
        }
        if let gr = gracefulRestart, gr.restartTime > 4095 {
            problems.append("gracefulRestart.restartTime: \(gr.restartTime) s exceeds the 12-bit field (4095)")
        }
        return problems
    }
}
