@testable import BGPSpeaker
import BGPSession
import Foundation
import Logging
import NetCore
import Testing
import TestSupport

/// Graceful restart between two in-process speakers on loopback (iBGP, AS 65002): B (passive,
/// 127.0.0.2) is the helper and observes its learned routes; A (127.0.0.1) announces and then
/// "restarts": `stopForGracefulRestart()` closes its sessions without a NOTIFICATION, and a new
/// speaker A' with the same address comes back. Timers are real, so restart times are 1–5 s.
@Suite(.serialized) struct GracefulRestartLoopbackTests {
    static let nh = IPAddress("10.9.9.9")!

    struct Helper {
        let dir: TempDir
        let b: Speaker
        let log = ObservedChanges()
        let port: UInt16

        init(grTime: CalicoDuration? = PeerConfig.defaultGracefulRestartTime,
             initialSync: (timeout: CalicoDuration, handler: @Sendable (Bool) -> Void)? = nil) throws {
            dir = try TempDir("twill-gr")
            let peer = PeerConfig(name: "a", address: IPAddress("127.0.0.1")!, asNumber: ASNumber(65002), passive: true,
                                  holdTime: .init(seconds: 9), gracefulRestartTime: grTime)
            b = Speaker(config: SpeakerConfig(routerID: IPv4Address(10, 0, 0, 2), asNumber: ASNumber(65002),
                                              listen: ListenConfig(address: IPAddress("127.0.0.2")!, port: 0),
                                              controlSocket: dir.file("b.sock"), peers: [peer],
                                              announce: [Announcement(prefix: IPPrefix("10.2.0.0/24")!)]),
                        logger: SpeakerLoopbackTests.logger)
            let log = self.log
            b.setRouteObserver { log.add($0) }
            if let initialSync { b.setInitialSyncHandler(timeout: initialSync.timeout, initialSync.handler) }
            try b.start()
            port = try #require(b.listeningAddresses().first?.port)
        }

        /// A speaker at 127.0.0.1 dialling B, announcing `prefixes` with next hop 10.9.9.9.
        func speakerA(grTime: CalicoDuration?, announce prefixes: [String], restarting: Bool = false,
                      extraPeers: [PeerConfig] = [], deferral: CalicoDuration? = nil) throws -> Speaker {
            let peer = PeerConfig(name: "b", address: IPAddress("127.0.0.2")!, port: port, asNumber: ASNumber(65002),
                                  holdTime: .init(seconds: 9), sourceAddress: IPAddress("127.0.0.1")!,
                                  gracefulRestartTime: grTime)
            var config = SpeakerConfig(routerID: IPv4Address(10, 0, 0, 1), asNumber: ASNumber(65002),
                                       listen: ListenConfig(enabled: false), peers: [peer] + extraPeers,
                                       announce: prefixes.map { Announcement(prefix: IPPrefix($0)!, nextHop: GracefulRestartLoopbackTests.nh) },
                                       restarting: restarting)
            if let deferral { config.selectionDeferralTime = deferral }
            let a = Speaker(config: config, logger: SpeakerLoopbackTests.logger)
            try a.start()
            return a
        }

        var info: String { b.peerStatuses().first?.info ?? "" }
        var learned: [String] { b.learnedBestRoutes().map(\.prefix.description) }

        func stop() {
            b.stop()
            dir.cleanup()
        }
    }

    /// The whole helper cycle: routes kept (stale, no observer change, "Graceful restart" in
    /// the status) while A is away; A' re-announces one route and a new one; its End-of-RIB
    /// removes the one it did not re-announce. The observer sees exactly the new route and
    /// that deletion.
    @Test func helperKeepsStaleRoutesUntilEndOfRIB() throws {
        let h = try Helper()
        defer { h.stop() }
        let a = try h.speakerA(grTime: .init(seconds: 5), announce: ["10.1.0.0/24", "10.3.0.0/24"])
        #expect(eventually(timeout: 10) { h.log.all.count == 2 })
        #expect(h.info == "Established")

        a.stopForGracefulRestart()
        #expect(eventually(timeout: 5) { h.info.hasSuffix("Graceful restart") }, "B shows \(h.info)")
        #expect(h.b.peerStatuses().first?.state == "start")
        #expect(h.learned == ["10.1.0.0/24", "10.3.0.0/24"], "the peer's routes stay while it restarts")
        #expect(h.b.routes().filter { $0.peer == "127.0.0.1" }.count == 2)
        #expect(h.log.all.count == 2, "stale routes are not reported as changes")

        let a2 = try h.speakerA(grTime: .init(seconds: 5), announce: ["10.1.0.0/24", "10.4.0.0/24"], restarting: true)
        defer { a2.stop() }
        #expect(eventually(timeout: 10) { h.log.all.count == 4 }, "observer saw \(h.log.summary)")
        #expect(h.log.summary == ["10.1.0.0/24 10.9.9.9", "10.3.0.0/24 10.9.9.9",
                                  "10.4.0.0/24 10.9.9.9", "10.3.0.0/24 -"])
        #expect(h.learned == ["10.1.0.0/24", "10.4.0.0/24"])
        #expect(eventually(timeout: 5) { h.info == "Established" }, "B shows \(h.info)")
        #expect(h.b.peerStatuses().first?.establishedCount == 2)
    }

    /// A does not come back within its restart time (1 s): B deletes its routes.
    @Test func restartTimeRunsOut() throws {
        let h = try Helper()
        defer { h.stop() }
        let a = try h.speakerA(grTime: .init(seconds: 1), announce: ["10.1.0.0/24", "10.3.0.0/24"])
        #expect(eventually(timeout: 10) { h.log.all.count == 2 })
        let downAt = Date()
        a.stopForGracefulRestart()
        #expect(eventually(timeout: 5) { h.info.hasSuffix("Graceful restart") })
        #expect(h.learned.count == 2)
        #expect(eventually(timeout: 5) { h.log.all.count == 4 }, "observer saw \(h.log.summary)")
        let waited = Date().timeIntervalSince(downAt)
        #expect(waited >= 0.8, "stale routes went after \(waited) s, before the 1 s restart time")
        #expect(Array(h.log.summary.suffix(2)) == ["10.1.0.0/24 -", "10.3.0.0/24 -"])
        #expect(h.log.batchCount == 2, "one batch for the initial UPDATE, one for the flush")
        #expect(h.learned.isEmpty)
        #expect(eventually(timeout: 2) { !h.info.contains("Graceful restart") })
    }

    /// A peer that did not advertise graceful restart loses its routes at once.
    @Test func peerWithoutGracefulRestartLosesRoutesAtOnce() throws {
        let h = try Helper()
        defer { h.stop() }
        let a = try h.speakerA(grTime: nil, announce: ["10.1.0.0/24"])
        #expect(eventually(timeout: 10) { h.log.all.count == 1 })
        a.stopForGracefulRestart()
        #expect(eventually(timeout: 5) { h.log.all.count == 2 })
        #expect(h.log.summary.last == "10.1.0.0/24 -")
        #expect(!h.info.contains("Graceful restart"))
    }

    /// Without GR on the helper's side nothing is negotiated either.
    @Test func helperWithGracefulRestartOffDoesNotHelp() throws {
        let h = try Helper(grTime: nil)
        defer { h.stop() }
        let a = try h.speakerA(grTime: .init(seconds: 5), announce: ["10.1.0.0/24"])
        #expect(eventually(timeout: 10) { h.log.all.count == 1 })
        a.stopForGracefulRestart()
        #expect(eventually(timeout: 5) { h.log.all.count == 2 })
        #expect(h.learned.isEmpty)
    }

    /// RFC 4724 §4.1: a restarting speaker defers its routes until every peer's End-of-RIB. With
    /// B as the only peer, B's End-of-RIB (right after its own table) ends the wait at once —
    /// long before the 60 s deferral timer.
    @Test func restartingSpeakerSendsOnceEveryPeersEndOfRIBIsIn() throws {
        let h = try Helper()
        defer { h.stop() }
        let a = try h.speakerA(grTime: .init(seconds: 5), announce: ["10.1.0.0/24"], restarting: true,
                               deferral: .init(seconds: 60))
        defer { a.stop() }
        #expect(eventually(timeout: 10) { h.learned == ["10.1.0.0/24"] })
    }

    /// A configured peer that never comes up holds the deferral until its timer (2 s here): B is
    /// Established and has sent its End-of-RIB, yet gets nothing before then.
    @Test func selectionDeferralTimerBoundsTheWaitForAPeerThatNeverComes() throws {
        let h = try Helper()
        defer { h.stop() }
        let never = PeerConfig(name: "c", address: IPAddress("127.0.0.3")!, asNumber: ASNumber(65002), passive: true)
        let start = ContinuousClock.now
        let a = try h.speakerA(grTime: .init(seconds: 5), announce: ["10.1.0.0/24"], restarting: true, extraPeers: [never],
                               deferral: .init(seconds: 2))
        defer { a.stop() }
        #expect(eventually(timeout: 5) { h.info == "Established" && (a.routes().contains { $0.prefix == "10.2.0.0/24" }) })
        let upAfter = ContinuousClock.now - start
        #expect(h.learned.isEmpty, "nothing sent while deferring (B up after \(upAfter))")
        #expect(eventually(timeout: 10) { h.learned == ["10.1.0.0/24"] })
        #expect(ContinuousClock.now - start >= .milliseconds(1900), "sent only when the 2 s deferral timer ran out")
    }

    /// Our administrative stop with the N bit negotiated is a Hard Reset (RFC 8538): the helper
    /// flushes at once instead of keeping our routes.
    @Test func administrativeStopIsAHardReset() throws {
        let h = try Helper()
        defer { h.stop() }
        let a = try h.speakerA(grTime: .init(seconds: 5), announce: ["10.1.0.0/24"])
        #expect(eventually(timeout: 10) { h.log.all.count == 1 })
        a.stop()
        #expect(eventually(timeout: 5) { h.log.all.count == 2 })
        // The status report follows the routes' withdrawal on the speaker's queue.
        #expect(eventually(timeout: 5) { h.info.contains("6/9") }, "B shows \(h.info)")
    }

    /// At scale: 10,000 routes kept stale; the restarted peer re-announces half (same next
    /// hop: no change) and its End-of-RIB flushes exactly the other half, in one batch.
    @Test func tenThousandStaleRoutes() throws {
        let h = try Helper()
        defer { h.stop() }
        let all = (0..<10_000).map { "10.\(100 + $0 / 256).\($0 % 256).0/24" }
        let t0 = Date()
        let a = try h.speakerA(grTime: .init(seconds: 30), announce: all)
        #expect(eventually(timeout: 30) { h.log.all.count == 10_000 })
        let learnedIn = Date().timeIntervalSince(t0)
        a.stopForGracefulRestart()
        #expect(eventually(timeout: 5) { h.info.hasSuffix("Graceful restart") })
        let batches = h.log.batchCount
        let t1 = Date()
        let a2 = try h.speakerA(grTime: .init(seconds: 30), announce: Array(all.prefix(5_000)), restarting: true)
        defer { a2.stop() }
        #expect(eventually(timeout: 30) { h.log.all.count == 15_000 })
        let recoveredIn = Date().timeIntervalSince(t1)
        #expect(h.log.batchCount == batches + 1, "only the End-of-RIB flush changed anything")
        #expect(h.log.all.suffix(5_000).allSatisfy { $0.best == nil })
        #expect(Set(h.log.all.suffix(5_000).map(\.prefix.description)) == Set(all.suffix(5_000)))
        #expect(h.learned.count == 5_000)
        print("GR scale: 10000 routes learned in \(learnedIn) s; restart → End-of-RIB flush of 5000 in \(recoveredIn) s")
    }

    /// Restarting side: the initial sync handler fires once every peer sent End-of-RIB, with
    /// the peer's routes already in `learnedBestRoutes()`.
    @Test func initialSyncWaitsForEveryPeersEndOfRIB() throws {
        let calls = SyncCalls()
        let box = SpeakerBox()
        let h = try Helper(initialSync: (.init(seconds: 30), { complete in
            calls.add(complete, learned: box.speaker?.learnedBestRoutes().count ?? -1)
        }))
        box.speaker = h.b
        defer { h.stop() }
        #expect(!eventually(timeout: 0.5) { calls.count > 0 }, "no End-of-RIB yet")
        let a = try h.speakerA(grTime: .init(seconds: 5), announce: ["10.1.0.0/24", "10.3.0.0/24"])
        defer { a.stop() }
        #expect(eventually(timeout: 10) { calls.count == 1 })
        #expect(calls.first == SyncCall(complete: true, learned: 2))
        // Later sessions do not call it again.
        a.stopForGracefulRestart()
        let a2 = try h.speakerA(grTime: .init(seconds: 5), announce: ["10.1.0.0/24"])
        defer { a2.stop() }
        #expect(eventually(timeout: 10) { h.learned == ["10.1.0.0/24"] })
        #expect(calls.count == 1)
    }

    /// A peer that never comes up: the handler fires at the timeout, saying so.
    @Test func initialSyncTimesOut() throws {
        let calls = SyncCalls()
        let started = Date()
        let h = try Helper(initialSync: (.init(seconds: 1), { complete in calls.add(complete, learned: 0) }))
        defer { h.stop() }
        #expect(eventually(timeout: 5) { calls.count == 1 })
        #expect(calls.first?.complete == false)
        #expect(Date().timeIntervalSince(started) >= 0.8)
    }

    /// The OPEN we send: GR capability with our restart time, the N bit, the F bit for every
    /// family, and the R bit only when restarting.
    @Test func openCarriesTheCapability() throws {
        var pc = PeerConfig(name: "p", address: IPAddress("192.0.2.1")!, asNumber: ASNumber(65001),
                            addressFamilies: [.ipv4, .ipv6])
        let c = Peer.sessionConfig(pc, localAS: ASNumber(65002), routerID: IPv4Address(10, 0, 0, 1))
        let gr = try #require(c.localOpen.capabilities.gracefulRestart)
        #expect(gr.restartTime == 120 && gr.notification && !gr.restartState)
        #expect(gr.families == [.ipv4Unicast: true, .ipv6Unicast: true])
        let r = Peer.sessionConfig(pc, localAS: ASNumber(65002), routerID: IPv4Address(10, 0, 0, 1), restarting: true)
        #expect(r.localOpen.capabilities.gracefulRestart?.restartState == true)
        #expect(c.fieldsRequiringReset(r).isEmpty, "the R bit never resets a session")
        pc.gracefulRestartTime = nil
        #expect(Peer.sessionConfig(pc, localAS: ASNumber(65002), routerID: IPv4Address(10, 0, 0, 1))
            .localOpen.capabilities.gracefulRestart == nil)
        pc.gracefulRestartTime = .init(seconds: 0)
        #expect(Peer.sessionConfig(pc, localAS: ASNumber(65002), routerID: IPv4Address(10, 0, 0, 1))
            .localOpen.capabilities.gracefulRestart?.restartTime == 0)
    }
}

struct SyncCall: Equatable { var complete: Bool; var learned: Int }

final class SyncCalls: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [SyncCall] = []
    func add(_ complete: Bool, learned: Int) { lock.withLock { calls.append(SyncCall(complete: complete, learned: learned)) } }
    var count: Int { lock.withLock { calls.count } }
    var first: SyncCall? { lock.withLock { calls.first } }
}
