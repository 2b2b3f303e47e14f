import BGPSpeaker
import Foundation
import Logging
import NetCore
import Testing
import TestSupport

/// A node that dials a peer which does not know it yet (the mesh while Node resources are still
/// propagating): the peer accepts and closes at once. The dialling side must see the failure
/// and retry — not sit in OpenSent until the 240 s OpenSent hold timer, as it once did when the
/// failed OPEN send ended the connection in the middle of performing the FSM's actions.
@Suite(.serialized) struct RefusedPeerTests {
    @Test func refusedDialIsRetriedAndEstablishesOnceThePeerKnowsUs() throws {
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TWILL_DEBUG_REFUSED"] == nil ? .critical : .trace
        let dir = try TempDir("twill-refused")
        defer { dir.cleanup() }
        let b = Speaker(config: SpeakerConfig(routerID: IPv4Address(10, 0, 0, 2), asNumber: ASNumber(65002),
                                              listen: ListenConfig(address: IPAddress("127.0.0.2")!, port: 0),
                                              controlSocket: nil, peers: []), logger: logger)
        try b.start()
        defer { b.stop() }
        let port = try #require(b.listeningAddresses().first?.port)
        let aPeer = PeerConfig(name: "b", address: IPAddress("127.0.0.2")!, port: port, asNumber: ASNumber(65002),
                               holdTime: .init(seconds: 9), sourceAddress: IPAddress("127.0.0.1")!)
        let a = Speaker(config: SpeakerConfig(routerID: IPv4Address(10, 0, 0, 1), asNumber: ASNumber(65001),
                                              listen: ListenConfig(enabled: false), controlSocket: nil, peers: [aPeer]),
                        logger: logger)
        try a.start()
        defer { a.stop() }
        #expect(eventually(timeout: 5) { b.rejectedConnections >= 1 })
        // For 3 s after a refusal, A's session never stays in OpenSent for more than a second.
        var openSentSince: Date?
        var longest = 0.0
        let end = Date().addingTimeInterval(3)
        while Date() < end {
            let info = a.peerStatuses().first?.info ?? ""
            if info.hasPrefix("OpenSent") {
                let since = openSentSince ?? Date()
                openSentSince = since
                longest = max(longest, Date().timeIntervalSince(since))
            } else {
                openSentSince = nil
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(longest < 1.0, "A sat in OpenSent for \(longest) s after B refused it")
        // B learns about A: the session comes up through A's retries.
        var bPeer = PeerConfig(name: "a", address: IPAddress("127.0.0.1")!, asNumber: ASNumber(65001), passive: true,
                               holdTime: .init(seconds: 9))
        bPeer.port = 179
        try b.reload(SpeakerConfig(routerID: IPv4Address(10, 0, 0, 2), asNumber: ASNumber(65002),
                                   listen: ListenConfig(address: IPAddress("127.0.0.2")!, port: 0), controlSocket: nil,
                                   peers: [bPeer]))
        #expect(eventually(timeout: 20) { a.peerStatuses().first?.state == "up" })
    }
}
