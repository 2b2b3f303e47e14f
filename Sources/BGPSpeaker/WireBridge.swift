import BGPSession
import BGPWire
import NetCore

// The FSM (BGPSession) has its own small OpenMessage / NotificationMessage / AddressFamily
// types; the codec (BGPWire) has the full ones. This file is the only place that maps between
// them, so the rest of the shell can use unqualified names where they are unambiguous.

typealias SessionFamily = BGPSession.AddressFamily
typealias WireFamily = BGPWire.AddressFamily

/// The codec contexts of one connection: defaults until the OPENs are exchanged, negotiated after.
struct WireContext: Sendable {
    var decode = DecodeContext()
    var encode = EncodeContext()

    init() {}

    init(negotiated n: NegotiatedSession, externalPeer: Bool) {
        let recv = Set(n.addPath.filter { $0.value.contains(.receive) }.keys.map(WireBridge.wire))
        let send = Set(n.addPath.filter { $0.value.contains(.send) }.keys.map(WireBridge.wire))
        // RFC 7606 §7.5/7.9/7.10: from an eBGP peer LOCAL_PREF is disregarded and
        // ORIGINATOR_ID/CLUSTER_LIST are discarded.
        decode = DecodeContext(fourOctetAS: n.fourOctetAS, addPath: recv, extendedMessages: n.extendedMessage,
                               extendedNextHop: Set(n.extendedNextHopReceive.map(WireBridge.wire)),
                               externalPeer: externalPeer)
        encode = EncodeContext(fourOctetAS: n.fourOctetAS, addPath: send, extendedMessages: n.extendedMessage)
    }
}

/// A decoded UPDATE as the peer's Adj-RIB-In needs it.
struct ParsedUpdate: Sendable, Equatable {
    var withdrawn: [IPPrefix] = []
    /// The announced prefixes, by attribute set (one per NLRI kind: NEXT_HOP or MP_REACH).
    var announced: [(attributes: RouteAttributes, prefixes: [IPPrefix])] = []
    var endOfRIB: SessionFamily?
    /// Withdrawn and announced prefixes (input flow control counts these).
    var prefixCount: Int { withdrawn.count + announced.reduce(0) { $0 + $1.prefixes.count } }
    static func == (l: Self, r: Self) -> Bool {
        l.withdrawn == r.withdrawn && l.endOfRIB == r.endOfRIB && l.announced.map(\.attributes) == r.announced.map(\.attributes)
            && l.announced.map(\.prefixes) == r.announced.map(\.prefixes)
    }
}

enum WireBridge {
    static func wire(_ f: SessionFamily) -> WireFamily { WireFamily(afi: f.afi, safi: f.safi) }
    static func session(_ f: WireFamily) -> SessionFamily { SessionFamily(afi: f.afi, safi: f.safi) }

    static func wire(_ n: BGPSession.NotificationMessage) -> BGPWire.NotificationMessage {
        BGPWire.NotificationMessage(code: n.code, subcode: n.subcode, data: n.data)
    }
    static func session(_ n: BGPWire.NotificationMessage) -> BGPSession.NotificationMessage {
        BGPSession.NotificationMessage(code: n.code, subcode: n.subcode, data: n.data)
    }

    // MARK: OPEN

    static func capabilities(_ c: CapabilitySet) -> [Capability] {
        var out: [Capability] = c.families.sorted().map { .multiprotocol(wire($0)) }
        if c.routeRefresh { out.append(.routeRefresh) }
        if c.enhancedRouteRefresh { out.append(.enhancedRouteRefresh) }
        if c.extendedMessage { out.append(.extendedMessage) }
        if let gr = c.gracefulRestart {
            out.append(.gracefulRestart(GracefulRestart(
                restarting: gr.restartState, notification: gr.notification, restartTime: gr.restartTime,
                families: gr.families.sorted { $0.key < $1.key }.map { .init(wire($0.key), forwardingPreserved: $0.value) })))
        }
        if !c.extendedNextHop.isEmpty {
            // RFC 8950: NLRI of these families with an IPv6 next hop.
            out.append(.extendedNextHop(c.extendedNextHop.sorted().map { ExtendedNextHopEntry(wire($0), nextHopAFI: WireFamily.afiIPv6) }))
        }
        if let asn = c.fourOctetAS { out.append(.fourOctetAS(asn.value)) }
        if !c.addPath.isEmpty {
            out.append(.addPath(c.addPath.sorted { $0.key < $1.key }.map {
                AddPathEntry(wire($0.key), BGPWire.AddPathMode(rawValue: $0.value.rawValue))
            }))
        }
        return out
    }

    static func capabilitySet(_ caps: [Capability]) -> CapabilitySet {
        var s = CapabilitySet(families: [])
        for c in caps {
            switch c {
            case .multiprotocol(let f): s.families.insert(session(f))
            case .routeRefresh, .ciscoRouteRefresh: s.routeRefresh = true
            case .enhancedRouteRefresh: s.enhancedRouteRefresh = true
            case .extendedMessage: s.extendedMessage = true
            case .fourOctetAS(let v): s.fourOctetAS = ASNumber(v)
            case .gracefulRestart(let gr):
                s.gracefulRestart = GracefulRestartCapability(
                    restartState: gr.restarting, notification: gr.notification, restartTime: gr.restartTime,
                    families: Dictionary(gr.families.map { (session($0.family), $0.forwardingPreserved) }) { a, _ in a })
            case .extendedNextHop(let entries):
                for e in entries where e.nextHopAFI == WireFamily.afiIPv6 { s.extendedNextHop.insert(session(e.family)) }
            case .addPath(let entries):
                for e in entries { s.addPath[session(e.family)] = BGPSession.AddPathMode(rawValue: e.mode.rawValue) }
            default: break
            }
        }
        return s
    }

    static func encodeOpen(_ o: BGPSession.OpenMessage) -> [UInt8] {
        BGPWire.OpenMessage(version: o.version, myAS: o.myAS, holdTime: o.holdTime, bgpIdentifier: o.routerID,
                            capabilities: capabilities(o.capabilities)).encoded()
    }

    static func session(_ o: BGPWire.OpenMessage) -> BGPSession.OpenMessage {
        BGPSession.OpenMessage(version: o.version, myAS: o.myAS, holdTime: o.holdTime, routerID: o.bgpIdentifier,
                               capabilities: capabilitySet(o.capabilities))
    }

    // MARK: small messages

    static let keepalive = BGPMessage.keepaliveBytes

    static func encodeNotification(_ n: BGPSession.NotificationMessage) -> [UInt8] { wire(n).encoded() }

    static func encodeRouteRefresh(_ rr: BGPSession.RouteRefreshMessage) -> [UInt8] {
        let m = BGPWire.RouteRefreshMessage(family: wire(rr.family), subtype: .init(rawValue: rr.subtype))
        return (try? BGPMessage.routeRefresh(m).encoded()) ?? []
    }

    static func encodeEndOfRIB(_ af: SessionFamily, context: WireContext) -> [UInt8] {
        (try? UpdateMessage.endOfRIB(wire(af)).encoded(context: context.encode)) ?? []
    }

    // MARK: framing and decoding

    struct Frame { var type: MessageType; var length: Int }
    enum FrameStep { case needMore, error(BGPSession.NotificationMessage), frame(Frame) }

    static func nextFrame(_ buffer: [UInt8], from offset: Int, context: WireContext) -> FrameStep {
        do {
            switch try context.decode.framer.next(in: buffer, from: offset) {
            case .needMore: return .needMore
            case .message(let t, let l): return .frame(Frame(type: t, length: l))
            }
        } catch {
            return .error(session(error.notification))
        }
    }

    enum Inbound { case event(Event), update(ParsedUpdate), ignore }

    /// One complete message → the FSM event it causes (or the UPDATE to hold for `.deliverUpdate`).
    static func decode(_ msg: [UInt8], type: MessageType, context: WireContext) -> Inbound {
        let m: BGPMessage
        do { m = try BGPMessage.decode(msg, context: context.decode) } catch {
            let n = session(error.notification)
            switch type {
            case .open: return .event(.openMessageError(n))
            case .update: return .event(.updateMessageError(n))
            case .routeRefresh: return .event(.routeRefreshMessageError(n))
            case .notification: return .event(.notificationReceived(BGPSession.NotificationMessage(code: msg.count > 19 ? msg[19] : 0, subcode: msg.count > 20 ? msg[20] : 0)))
            case .keepalive: return .event(.headerError(n))
            }
        }
        switch m {
        case .open(let o): return .event(.openReceived(session(o)))
        case .keepalive: return .event(.keepaliveReceived)
        case .notification(let n): return .event(.notificationReceived(session(n)))
        case .routeRefresh(let rr):
            if case .reserved = rr.subtype { return .ignore }  // RFC 7313 §5: ignore
            return .event(.routeRefreshReceived(BGPSession.RouteRefreshMessage(family: session(rr.family), subtype: rr.subtype.rawValue)))
        case .update(let u): return .update(parse(u))
        }
    }

    static func parse(_ u: UpdateMessage) -> ParsedUpdate {
        var p = ParsedUpdate()
        if let eor = u.endOfRIBFamily { p.endOfRIB = session(eor); return p }
        for (family, nlri) in u.routesToWithdraw() where family == .ipv4Unicast || family == .ipv6Unicast {
            p.withdrawn += nlri.map(\.prefix)
        }
        guard !u.isTreatAsWithdraw else { return p }
        if !u.nlri.isEmpty, let nh = u.attributes.nextHop {
            let a = RouteAttributes(path: u.attributes, nextHop: .v4(nh))
            p.announced.append((a, u.nlri.map(\.prefix)))
        }
        if let r = u.mpReach, r.family == .ipv4Unicast || r.family == .ipv6Unicast {
            let nh: IPAddress?
            switch r.nextHop {
            case .ipv4(let a): nh = .v4(a)
            case .ipv6(let g, let ll): nh = g == .any ? ll.map { .v6($0) } : .v6(g)
            case .raw: nh = nil
            }
            if let nh {
                let a = RouteAttributes(path: u.attributes, nextHop: nh)
                p.announced.append((a, r.nlri.map(\.prefix)))
            }
        }
        return p
    }

    // MARK: UPDATE encoding

    /// UPDATEs for the given changes: withdrawals first, then one message per distinct attribute
    /// set and family, split so each fits the negotiated maximum size.
    static func encodeUpdates(announce: [IPPrefix: RouteAttributes], withdraw: [IPPrefix], context: WireContext) -> [[UInt8]] {
        var out: [[UInt8]] = []
        let w4 = withdraw.filter { $0.family == .v4 }.sorted().map { NLRI($0) }
        let w6 = withdraw.filter { $0.family == .v6 }.sorted().map { NLRI($0) }
        for chunk in w4.chunked(500) { out += encode(UpdateMessage(withdrawn: chunk), context) }
        for chunk in w6.chunked(200) {
            out += encode(UpdateMessage(mpUnreach: MPUnreach(family: .ipv6Unicast, withdrawn: chunk)), context)
        }
        var groups: [RouteAttributes: [IPPrefix]] = [:]
        for (p, a) in announce { groups[a, default: []].append(p) }
        for (attrs, prefixes) in groups.sorted(by: { $0.value.min()! < $1.value.min()! }) {
            let v4 = prefixes.filter { $0.family == .v4 }.sorted().map { NLRI($0) }
            let v6 = prefixes.filter { $0.family == .v6 }.sorted().map { NLRI($0) }
            var path = attrs.path
            if path.origin == nil { path.origin = .igp }
            if path.asPath == nil { path.asPath = .empty }
            if !v4.isEmpty, case .v4(let nh) = attrs.nextHop {
                var p4 = path
                p4.nextHop = nh
                for chunk in v4.chunked(400) { out += encode(UpdateMessage(attributes: p4, nlri: chunk), context) }
            }
            if !v6.isEmpty, case .v6(let nh) = attrs.nextHop {
                var p6 = path
                p6.nextHop = nil
                for chunk in v6.chunked(150) {
                    out += encode(UpdateMessage(attributes: p6, mpReach: MPReach(family: .ipv6Unicast, nextHop: .ipv6(nh), nlri: chunk)), context)
                }
            }
        }
        return out
    }

    /// Encodes, halving the NLRI until the message fits.
    private static func encode(_ u: UpdateMessage, _ context: WireContext) -> [[UInt8]] {
        do { return [try u.encoded(context: context.encode)] } catch {
            func halves<T>(_ a: [T]) -> ([T], [T]) { (Array(a[..<(a.count / 2)]), Array(a[(a.count / 2)...])) }
            var a = u, b = u
            if u.nlri.count > 1 { (a.nlri, b.nlri) = halves(u.nlri) }
            else if u.withdrawn.count > 1 { (a.withdrawn, b.withdrawn) = halves(u.withdrawn) }
            else if let r = u.mpReach, r.nlri.count > 1 { let (x, y) = halves(r.nlri); a.mpReach?.nlri = x; b.mpReach?.nlri = y }
            else if let r = u.mpUnreach, r.withdrawn.count > 1 { let (x, y) = halves(r.withdrawn); a.mpUnreach?.withdrawn = x; b.mpUnreach?.withdrawn = y }
            else { return [] }  // one prefix whose attributes alone are too large: cannot be sent
            return encode(a, context) + encode(b, context)
        }
    }
}

extension Array {
    func chunked(_ n: Int) -> [[Element]] {
        stride(from: 0, to: count, by: n).map { Array(self[$0..<Swift.min($0 + n, count)]) }
    }
}
