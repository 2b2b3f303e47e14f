import BGPSpeaker
import CtlCore
import Foundation
import Logging
import NetCore
import Posix
import Testing
import TestSupport

/// Two in-process speakers on loopback. B listens on a kernel-chosen port (so parallel test
/// runs never collide) and is passive; A dials B. IPv4 sessions run 127.0.0.1 ↔ 127.0.0.2,
/// IPv6 sessions [::1] ↔ [::1] on different ports.
@Suite(.serialized) struct SpeakerLoopbackTests {
    static let logger: Logger = {
        var l = Logger(label: "test")
        // TWILL_TEST_LOG=debug|trace shows the speakers' logs when a loopback test fails.
        l.logLevel = ProcessInfo.processInfo.environment["TWILL_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return l
    }()

    struct Pair {
        var a: Speaker
        var b: Speaker
        var dir: TempDir
        func stop() { a.stop(); b.stop(); dir.cleanup() }
    }

    /// B: AS 65002 at `bAddr` (passive); A: AS `aAS` connecting from `aAddr`.
    static func pair(aAddr: String = "127.0.0.1", bAddr: String = "127.0.0.2", aAS: UInt32 = 65001,
                     passwords: (String?, String?) = (nil, nil), families: [UnicastFamily] = [.ipv4, .ipv6],
                     aAnnounce: [Announcement], bAnnounce: [Announcement],
                     bObserver: (@Sendable ([BestRouteChange]) -> Void)? = nil) throws -> Pair {
        let dir = try TempDir("twill-spk")
        let aIP = IPAddress(aAddr)!, bIP = IPAddress(bAddr)!
        var bPeer = PeerConfig(name: "a", address: aIP, asNumber: ASNumber(aAS), passive: true, password: passwords.1,
                               holdTime: .init(seconds: 9), addressFamilies: families, importPolicy: .all, exportPolicy: .all)
        bPeer.port = 179
        let b = Speaker(config: SpeakerConfig(routerID: IPv4Address(10, 0, 0, 2), asNumber: ASNumber(65002),
                                              listen: ListenConfig(address: bIP, port: 0),
                                              controlSocket: dir.file("b.sock"), peers: [bPeer], announce: bAnnounce),
                        logger: logger)
        if let bObserver { b.setRouteObserver(bObserver) }
        try b.start()
        let port = try #require(b.listeningAddresses().first?.port)
        let aPeer = PeerConfig(name: "b", address: bIP, port: port, asNumber: ASNumber(65002), password: passwords.0,
                               holdTime: .init(seconds: 9), addressFamilies: families, sourceAddress: aIP,
                               importPolicy: .all, exportPolicy: .all)
        let a = Speaker(config: SpeakerConfig(routerID: IPv4Address(10, 0, 0, 1), asNumber: ASNumber(aAS),
                                              listen: ListenConfig(enabled: false), controlSocket: dir.file("a.sock"),
                                              peers: [aPeer], announce: aAnnounce),
                        logger: logger)
        try a.start()
        return Pair(a: a, b: b, dir: dir)
    }

    static func up(_ s: Speaker) -> Bool { s.peerStatuses().allSatisfy { $0.state == "up" } }

    static func best(_ s: Speaker, _ prefix: String) -> RouteStatus? { s.routes().first { $0.prefix == prefix && $0.best } }

    @Test func establishesAndExchangesIPv4AndIPv6OverIPv4() throws {
        let p = try Self.pair(
            aAnnounce: [Announcement(prefix: IPPrefix("10.1.0.0/24")!),
                        Announcement(prefix: IPPrefix("2001:db8:1::/48")!, nextHop: IPAddress("fd00::1"))],
            bAnnounce: [Announcement(prefix: IPPrefix("10.2.0.0/24")!)])
        defer { p.stop() }
        #expect(eventually(timeout: 10) { Self.up(p.a) && Self.up(p.b) })
        // eBGP: next hop self (the session address), our AS prepended.
        #expect(eventually(timeout: 5) { Self.best(p.b, "10.1.0.0/24")?.nextHop == "127.0.0.1" })
        #expect(Self.best(p.b, "10.1.0.0/24")?.asPath == "65001")
        // IPv6 over the IPv4 session (MP-BGP) keeps the announcement's IPv6 next hop.
        #expect(eventually(timeout: 5) { Self.best(p.b, "2001:db8:1::/48")?.nextHop == "fd00::1" })
        #expect(eventually(timeout: 5) { Self.best(p.a, "10.2.0.0/24")?.asPath == "65002" })
        let st = try #require(p.b.peerStatuses().first)
        #expect(st.prefixesReceived == 2 && st.prefixesSent == 1 && st.info == "Established" && st.peerType == "eBGP")

        // Withdrawal: reload A without 10.1.0.0/24.
        var cfg = p.a.config
        cfg.announce.removeFirst()
        try p.a.reload(cfg)
        #expect(eventually(timeout: 5) { Self.best(p.b, "10.1.0.0/24") == nil })
        #expect(Self.best(p.b, "2001:db8:1::/48") != nil)
        #expect(Self.up(p.a) && Self.up(p.b))  // an announcement change resets nothing
    }

    /// SIGHUP semantics: a keepalive change is applied in place, a hold time change (a new OPEN
    /// is needed) resets that session once.
    @Test func reloadResetsOnlyWhenTheSessionMustChange() throws {
        let p = try Self.pair(aAnnounce: [Announcement(prefix: IPPrefix("10.1.0.0/24")!)], bAnnounce: [])
        defer { p.stop() }
        func count() -> Int? { p.b.peerStatuses().first?.establishedCount }
        #expect(eventually(timeout: 10) { Self.up(p.a) && Self.up(p.b) && count() == 1 })
        var cfg = p.a.config
        cfg.peers[0].keepaliveTime = .init(seconds: 2)
        try p.a.reload(cfg)
        #expect(!eventually(timeout: 2) { count() != 1 || !Self.up(p.b) }, "an in-place change reset the session")
        cfg.peers[0].holdTime = .init(seconds: 12)
        try p.a.reload(cfg)
        #expect(eventually(timeout: 10) { count() == 2 && Self.up(p.a) && Self.up(p.b) })
        #expect(eventually(timeout: 5) { Self.best(p.b, "10.1.0.0/24") != nil })
    }

    @Test func ipv6Transport() throws {
        let p = try Self.pair(aAddr: "::1", bAddr: "::1", families: [.ipv6],
                              aAnnounce: [Announcement(prefix: IPPrefix("2001:db8:a::/48")!)],
                              bAnnounce: [Announcement(prefix: IPPrefix("2001:db8:b::/48")!)])
        defer { p.stop() }
        #expect(eventually(timeout: 10) { Self.up(p.a) && Self.up(p.b) })
        #expect(eventually(timeout: 5) { Self.best(p.b, "2001:db8:a::/48")?.nextHop == "::1" })
        #expect(eventually(timeout: 5) { Self.best(p.a, "2001:db8:b::/48")?.asPath == "65002" })
    }

    @Test func ibgpKeepsNextHopAndEmptyPath() throws {
        let p = try Self.pair(aAS: 65002, aAnnounce: [Announcement(prefix: IPPrefix("10.9.0.0/24")!, nextHop: IPAddress("10.9.9.9"))],
                              bAnnounce: [])
        defer { p.stop() }
        #expect(eventually(timeout: 10) { Self.up(p.a) && Self.up(p.b) })
        #expect(eventually(timeout: 5) { Self.best(p.b, "10.9.0.0/24")?.nextHop == "10.9.9.9" })
        #expect(Self.best(p.b, "10.9.0.0/24")?.asPath == "")
        #expect(p.b.peerStatuses().first?.peerType == "iBGP")
    }

    /// Both sides active and listening: after A's reset both dial at once, so connections may
    /// collide; whatever happens, exactly one session per side ends up Established (RFC 4271
    /// §6.8) and carries the routes.
    @Test func bothActiveCollisionLeavesOneSession() throws {
        let dir = try TempDir("twill-spk")
        defer { dir.cleanup() }
        func speaker(_ me: String, _ asn: UInt32, _ other: String, _ otherAS: UInt32, port: UInt16, announce: String) -> Speaker {
            let peer = PeerConfig(name: other, address: IPAddress(other)!, port: port, asNumber: ASNumber(otherAS),
                                  passive: port == 179, holdTime: .init(seconds: 9), sourceAddress: IPAddress(me)!,
                                  importPolicy: .all, exportPolicy: .all)
            return Speaker(config: SpeakerConfig(routerID: IPv4Address(IPAddress(me)!.bytes.last!, 0, 0, 1), asNumber: ASNumber(asn),
                                                 listen: ListenConfig(address: IPAddress(me)!, port: 0), peers: [peer],
                                                 announce: [Announcement(prefix: IPPrefix(announce)!)]),
                           logger: Self.logger)
        }
        // Ports are known only after binding: start A passive, then B active towards A, then
        // make A active towards B too.
        let a = speaker("127.0.0.1", 65001, "127.0.0.2", 65002, port: 179, announce: "10.1.0.0/24")
        try a.start()
        defer { a.stop() }
        let aPort = try #require(a.listeningAddresses().first?.port)
        let b = speaker("127.0.0.2", 65002, "127.0.0.1", 65001, port: aPort, announce: "10.2.0.0/24")
        try b.start()
        defer { b.stop() }
        let bPort = try #require(b.listeningAddresses().first?.port)
        var cfg = a.config
        cfg.peers[0].port = bPort
        cfg.peers[0].passive = false
        try a.reload(cfg)
        #expect(eventually(timeout: 20) {
            Self.up(a) && Self.up(b) && Self.best(a, "10.2.0.0/24") != nil && Self.best(b, "10.1.0.0/24") != nil
        })
        #expect(a.peerStatuses().count == 1 && b.peerStatuses().count == 1)
    }

    @Test func md5MatchEstablishes() throws {
        guard Privileged.check("TCP MD5 on loopback") else { return }
        let p = try Self.pair(passwords: ("same-key", "same-key"), aAnnounce: [Announcement(prefix: IPPrefix("10.1.0.0/24")!)],
                              bAnnounce: [])
        defer { p.stop() }
        #expect(eventually(timeout: 10) { Self.up(p.a) && Self.up(p.b) })
        #expect(eventually(timeout: 5) { Self.best(p.b, "10.1.0.0/24") != nil })
    }

    @Test func md5MismatchDoesNotEstablish() throws {
        guard Privileged.check("TCP MD5 on loopback") else { return }
        let p = try Self.pair(passwords: ("key-a", "key-b"), aAnnounce: [], bAnnounce: [])
        defer { p.stop() }
        // The kernel drops the unsigned/mis-signed SYNs: nothing comes up.
        #expect(!eventually(timeout: 4) { Self.up(p.a) || Self.up(p.b) })
        #expect(p.b.peerStatuses().first?.state == "start")
    }

    @Test func connectionFromUnknownAddressIsClosedAndCounted() throws {
        let p = try Self.pair(aAnnounce: [], bAnnounce: [])
        defer { p.stop() }
        let port = try #require(p.b.listeningAddresses().first?.port)
        let s = try Socket.tcp(.v4)
        defer { s.close() }
        try s.bind(to: SocketAddress(.v4(IPv4Address(127, 0, 0, 3)), port: 0))
        _ = try s.connect(to: SocketAddress(.v4(IPv4Address(127, 0, 0, 2)), port: port))
        #expect(eventually(timeout: 5) { p.b.rejectedConnections == 1 })
        // The speaker closed it: a read sees end of stream.
        var buf: [UInt8] = []
        #expect(eventually(timeout: 5) {
            if case .processed(0)? = try? s.read(appendingTo: &buf) { return true }
            return false
        })
    }

    @Test func controlSocketAnswersStatusAndRoutes() throws {
        let p = try Self.pair(aAnnounce: [Announcement(prefix: IPPrefix("10.1.0.0/24")!)], bAnnounce: [])
        defer { p.stop() }
        #expect(eventually(timeout: 10) { Self.up(p.b) && Self.best(p.b, "10.1.0.0/24") != nil })
        let sock = p.dir.file("b.sock")
        let json = try NodeStatusCommand.status(socketPath: sock, json: true)
        let peers = try JSONDecoder().decode([PeerStatus].self, from: Data(json.utf8))
        #expect(peers.map(\.peerAddress) == ["127.0.0.1"] && peers[0].state == "up" && peers[0].prefixesReceived == 1)
        let table = try NodeStatusCommand.status(socketPath: sock, json: false)
        #expect(table.contains("| 127.0.0.1    | eBGP      | up    |") && table.contains("No IPv6 peers found."))
        let routes = try JSONDecoder().decode([RouteStatus].self,
                                              from: Data(try NodeStatusCommand.routes(socketPath: sock, json: true).utf8))
        #expect(routes == [RouteStatus(prefix: "10.1.0.0/24", nextHop: "127.0.0.1", asPath: "65001", peer: "127.0.0.1", best: true)])
        // A bad request gets an error line, not a hang.
        #expect(throws: NodeStatusError.self) { try NodeStatusCommand.status(socketPath: p.dir.file("nope.sock"), json: false) }
    }
}
