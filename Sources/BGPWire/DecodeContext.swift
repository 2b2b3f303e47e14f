/// What the negotiated capabilities change about decoding (RFC 6793, RFC 7911, RFC 8654,
/// RFC 8950). Build it with `negotiated(local:remote:)` once the OPENs are exchanged.
public struct DecodeContext: Hashable, Sendable {
    /// Both sides sent the 4-octet AS capability: AS_PATH and AGGREGATOR carry 4-octet ASNs and
    /// AS4_PATH/AS4_AGGREGATOR are discarded; otherwise they are merged (RFC 6793 §4.2.3).
    public var fourOctetAS: Bool
    /// Families whose NLRI carry an ADD-PATH Path Identifier when received.
    public var addPath: Set<AddressFamily>
    /// Both sides sent the Extended Message capability: messages up to 65535 bytes.
    public var extendedMessages: Bool
    /// Families whose NLRI may come with an IPv6 next hop (RFC 8950; we advertised it).
    public var extendedNextHop: Set<AddressFamily>
    /// The peer is in another AS (eBGP): LOCAL_PREF is disregarded (RFC 4271 §5.1.5, RFC 7606
    /// §7.5) and ORIGINATOR_ID / CLUSTER_LIST are discarded (RFC 7606 §7.9, §7.10). The session
    /// sets it; `negotiated` cannot know.
    public var externalPeer: Bool

    public init(fourOctetAS: Bool = true, addPath: Set<AddressFamily> = [], extendedMessages: Bool = false,
                extendedNextHop: Set<AddressFamily> = [], externalPeer: Bool = false) {
        self.fourOctetAS = fourOctetAS; self.addPath = addPath
        self.extendedMessages = extendedMessages; self.extendedNextHop = extendedNextHop
        self.externalPeer = externalPeer
    }

    public var maxMessageSize: Int {
        extendedMessages ? BGPLimits.extendedMaxMessageSize : BGPLimits.standardMaxMessageSize
    }

    public var framer: MessageFramer { MessageFramer(maxMessageSize: maxMessageSize) }

    /// The receive-side context from our OPEN's and the peer's capabilities.
    public static func negotiated(local: [Capability], remote: [Capability], externalPeer: Bool = false) -> DecodeContext {
        let n = Negotiated(local: local, remote: remote)
        return DecodeContext(fourOctetAS: n.fourOctetAS, addPath: n.addPathReceive,
                             extendedMessages: n.extendedMessages, extendedNextHop: n.extendedNextHopReceive,
                             externalPeer: externalPeer)
    }
}

/// What the negotiated capabilities change about encoding.
public struct EncodeContext: Hashable, Sendable {
    public var fourOctetAS: Bool
    /// Families whose NLRI we send with a Path Identifier.
    public var addPath: Set<AddressFamily>
    public var extendedMessages: Bool

    public init(fourOctetAS: Bool = true, addPath: Set<AddressFamily> = [], extendedMessages: Bool = false) {
        self.fourOctetAS = fourOctetAS; self.addPath = addPath; self.extendedMessages = extendedMessages
    }

    public var maxMessageSize: Int {
        extendedMessages ? BGPLimits.extendedMaxMessageSize : BGPLimits.standardMaxMessageSize
    }

    /// The send-side context from our OPEN's and the peer's capabilities.
    public static func negotiated(local: [Capability], remote: [Capability]) -> EncodeContext {
        let n = Negotiated(local: local, remote: remote)
        return EncodeContext(fourOctetAS: n.fourOctetAS, addPath: n.addPathSend, extendedMessages: n.extendedMessages)
    }

    /// The context a decoder on the other side would use (for round-trip tests and loopback).
    public var peerDecodeContext: DecodeContext {
        DecodeContext(fourOctetAS: fourOctetAS, addPath: addPath, extendedMessages: extendedMessages,
                      extendedNextHop: [.ipv4Unicast, .ipv4Multicast])
    }
}

/// Capability intersection rules shared by both contexts.
struct Negotiated {
    var fourOctetAS = false
    var extendedMessages = false
    var addPathReceive: Set<AddressFamily> = []
    var addPathSend: Set<AddressFamily> = []
    var extendedNextHopReceive: Set<AddressFamily> = []

    init(local: [Capability], remote: [Capability]) {
        func has(_ caps: [Capability], _ code: UInt8) -> Bool { caps.contains { $0.code == code } }
        fourOctetAS = has(local, CapabilityCode.fourOctetAS) && has(remote, CapabilityCode.fourOctetAS)
        extendedMessages = has(local, CapabilityCode.extendedMessage) && has(remote, CapabilityCode.extendedMessage)
        func addPath(_ caps: [Capability]) -> [AddressFamily: AddPathMode] {
            var out: [AddressFamily: AddPathMode] = [:]
            for case .addPath(let entries) in caps { for e in entries { out[e.family] = e.mode } }
            return out
        }
        let l = addPath(local), r = addPath(remote)
        for (family, mode) in l {
            guard let peer = r[family] else { continue }
            // RFC 7911 §4: we receive path IDs when we said receive and the peer said send.
            if mode.contains(.receive) && peer.contains(.send) { addPathReceive.insert(family) }
            if mode.contains(.send) && peer.contains(.receive) { addPathSend.insert(family) }
        }
        for case .extendedNextHop(let entries) in local {
            for e in entries where e.nextHopAFI == AddressFamily.afiIPv6 { extendedNextHopReceive.insert(e.family) }
        }
    }
}
