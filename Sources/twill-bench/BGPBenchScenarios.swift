import BGPWire
import Foundation
import Glibc
import NetCore

/// The `feeders` and `mesh` scenarios of `twill-bench bgp`.
extension BGPBenchRun {
    // MARK: feeders: F eBGP feeders × M prefixes → daemon → monitor

    func runFeeders(dir: String) throws {
        let f = options.feeders, m = options.feederPrefixes, total = f * m
        let t0 = monotonic()
        var streams: [UpdateStream] = []
        for i in 0..<f {
            streams.append(try feederStreams(i * m..<(i + 1) * m, attrSets: options.feederAttrSets, asn: feederASN(i),
                                             nextHop: BenchAddr.feeder(i), withdrawals: false).announce)
        }
        print("\n== feeders: \(f) feeders × \(m) prefixes (\(options.feederAttrSets) attribute sets each, \(f * options.feederAttrSets) in all); "
              + "\(streams.reduce(0) { $0 + $1.messages }) UPDATEs, \(streams.reduce(0) { $0 + $1.bytes.count } / 1024) KiB, encoded in "
              + String(format: "%.2f s", monotonic() - t0))
        let topology = BenchTopology(label: "feeders", peers: (0..<f).map {
            BenchPeer(name: "feeder\($0 + 1)", address: BenchAddr.feeder($0), asn: feederASN($0), role: .feeder)
        } + [BenchPeer(name: "monitor", address: BenchAddr.monitor, asn: 65003, role: .monitor)])
        let fm = Self.fmt
        runScenario("feeders: \(f) feeders × \(m) prefixes → daemon → monitor (eBGP), first feeder UPDATE → monitor has all \(total)",
                    routes: total, rateHeader: "prefixes/s", baseline: feedersBaseline(streams),
                    extra: [Column(header: "last feeder done writing (s)") { fm($0.feederWriteSeconds, 3) },
                            Column(header: "first prefix out (s)") { fm($0.firstPrefixSeconds, 3) },
                            Column(header: "prefixes sent back to feeders") { $0.note ?? "–" }]) { name in
            runDaemon(name, topology: topology, dir: dir) { d, deadline, row in
                let mon = try d.establish(local: BenchAddr.monitor, asn: 65003, until: deadline)
                var conns = [mon]
                defer { for c in conns { c.stop() } }
                var feeders: [BGPConn] = []
                let back = Monitor(n: total)  // what the daemon sends the feeders (should be nothing)
                for i in 0..<f {
                    let c = try d.establish(local: BenchAddr.feeder(i), asn: feederASN(i), until: deadline)
                    conns.append(c); feeders.append(c)
                }
                startReader(feeders.map { ($0, back) })
                startKeepalives(conns)
                try measureFeeders(feeders, streams: streams, monitor: mon, deadline: deadline, daemon: d, row: &row)
                row.note = "\(back.snapshot.ann)"
            }
        }
    }

    func feederASN(_ i: Int) -> UInt32 { 65101 + UInt32(i) }

    /// All feeders straight into one monitor (a listener on the monitor's address).
    func feedersBaseline(_ streams: [UpdateStream]) -> BGPBenchRow {
        var row = BGPBenchRow(name: "\(streams.count) feeders → monitor (no daemon)")
        var conns: [BGPConn] = []
        defer { for c in conns { c.stop() } }
        do {
            let l = try Listener(BenchAddr.monitor, 1790)
            var feeders: [BGPConn] = [], accepted: [BGPConn] = []
            for i in 0..<streams.count {
                let c = try BGPConn.connect(local: BenchAddr.feeder(i), remote: BenchAddr.monitor, port: 1790)
                let a = try l.accept()
                conns += [c, a]
                let done = DispatchSemaphore(value: 0)
                Thread.detachNewThread { try? a.handshake(asn: 65003, id: BenchAddr.v4(BenchAddr.monitor)); done.signal() }
                try c.handshake(asn: feederASN(i), id: BenchAddr.v4(BenchAddr.feeder(i)))
                done.wait()
                feeders.append(c); accepted.append(a)
            }
            try measureFeeders(feeders, streams: streams, monitors: accepted, deadline: monotonic() + options.timeout, daemon: nil, row: &row)
        } catch { row.failure = "\(error)" }
        return row
    }

    func measureFeeders(_ feeders: [BGPConn], streams: [UpdateStream], monitor: BGPConn, deadline: Double,
                        daemon: DaemonUnderTest?, row: inout BGPBenchRow) throws {
        try measureFeeders(feeders, streams: streams, monitors: [monitor], deadline: deadline, daemon: daemon, row: &row)
    }

    /// Every feeder writes its stream from its own thread at once; done when the monitor (all of
    /// `monitors`' connections counted together) has every prefix.
    func measureFeeders(_ feeders: [BGPConn], streams: [UpdateStream], monitors: [BGPConn], deadline: Double,
                        daemon: DaemonUnderTest?, row: inout BGPBenchRow) throws {
        let total = options.feeders * options.feederPrefixes
        let m = Monitor(n: total)
        startReader(monitors.map { ($0, m) })
        usleep(500_000)  // the daemon sees every session Established
        let wrote = WriteTimes()
        let cpu0 = selfCPUSeconds()
        let start = monotonic()
        for (c, s) in zip(feeders, streams) {
            Thread.detachNewThread { do { try s.write(to: c); wrote.set(announce: monotonic()) } catch { wrote.fail("\(error)") } }
        }
        let progress = { let s = m.snapshot; return "monitor had \(s.ann) of \(total); \(wrote.done) of \(feeders.count) feeders done writing" }
        let end = try waitFor(until: deadline, progress: progress, failure: {
            if let e = m.snapshot.error { return "monitor: \(e) (\(progress()))" }
            if let e = wrote.failure { return "feeder: \(e)" }
            return daemon?.exitMessage
        }) { m.snapshot.allAnn }
        row.seconds = end - start
        row.benchCPUSeconds = selfCPUSeconds() - cpu0
        row.firstPrefixSeconds = m.snapshot.first.map { $0 - start }
        row.feederWriteSeconds = wrote.done == feeders.count ? wrote.announce.map { $0 - start } : nil
    }

    // MARK: mesh: one iBGP route reflector, P clients each announcing one /26

    func runMesh(dir: String) throws {
        let p = options.meshPeers
        let routes = p * (p - 1)
        let ctx = EncodeContext(fourOctetAS: true)
        var updates: [[UInt8]] = []
        for i in 0..<p {
            let attrs = PathAttributes(origin: .igp, asPath: ASPath(), nextHop: BenchAddr.v4(BenchAddr.meshPeer(i)), localPref: 100)
            let msgs = try UpdatePacker.announcements([meshPrefix(i)], family: .ipv4Unicast, attributes: attrs, context: ctx)
            updates.append(msgs.flatMap { $0 })
        }
        print("\n== mesh: one iBGP daemon (AS 65000, cluster ID \(BenchAddr.daemon)) reflecting for \(p) clients, "
              + "each announcing one /26 (from 30.0.0.0): \(routes) routes to deliver")
        let topology = BenchTopology(label: "mesh", peers: (0..<p).map {
            BenchPeer(name: "client\($0 + 1)", address: BenchAddr.meshPeer($0), asn: 65000, role: .rrClient)
        }, clusterID: BenchAddr.daemon)
        let fm = Self.fmt
        runScenario("mesh: \(p) iBGP route-reflector clients × one /26, first announcement → every client has all \(p - 1) others",
                    routes: routes, rateHeader: "routes/s", baseline: nil,
                    extra: [Column(header: "first route out (s)") { fm($0.firstPrefixSeconds, 3) },
                            Column(header: "a reflected route (checked once)") { $0.note ?? "–" }]) { name in
            runDaemon(name, topology: topology, dir: dir) { d, deadline, row in
                var conns: [BGPConn] = [], monitors: [Monitor] = []
                defer { for c in conns { c.stop() } }
                for i in 0..<p {
                    let c = try d.establish(local: BenchAddr.meshPeer(i), asn: 65000, until: deadline)
                    conns.append(c); monitors.append(Monitor(n: p, base: meshPrefixBase, length: 26, exclude: i))
                }
                startReader(Array(zip(conns, monitors)))
                startKeepalives(conns)
                try measureMesh(conns, monitors: monitors, updates: updates, deadline: deadline, daemon: d, row: &row)
                // Route reflection (RFC 4456 §8): the reflector adds ORIGINATOR_ID and CLUSTER_LIST.
                let (note, ok) = reflectedAttributes(monitors[0])
                row.note = note
                if !ok && name == "twill" { row.failure = "reflected routes lack ORIGINATOR_ID/CLUSTER_LIST: \(note)" }
            }
        }
    }

    func meshPrefix(_ i: Int) -> NLRI { NLRI(IPPrefix(.v4(IPv4Address(meshPrefixBase + UInt32(i) << 6)), length: 26)) }

    func measureMesh(_ conns: [BGPConn], monitors: [Monitor], updates: [[UInt8]], deadline: Double,
                     daemon: DaemonUnderTest, row: inout BGPBenchRow) throws {
        let p = conns.count
        usleep(500_000)  // the daemon sees every session Established
        let cpu0 = selfCPUSeconds()
        let start = monotonic()
        for (c, u) in zip(conns, updates) { try c.send(u) }
        let progress = { () -> String in
            let s = monitors.map(\.snapshot)
            return "\(s.filter { $0.allAnn != nil }.count) of \(p) clients complete, \(s.reduce(0) { $0 + $1.ann }) of \(p * (p - 1)) routes delivered"
        }
        var next = 0, last = 0.0
        let end = try waitFor(until: deadline, progress: progress, failure: {
            if let (i, e) = monitors.enumerated().lazy.compactMap({ i, m in m.snapshot.error.map { (i, $0) } }).first {
                return "client \(BenchAddr.meshPeer(i)): \(e) (\(progress()))"
            }
            return daemon.exitMessage
        }) {
            // Clients stay complete once complete: check from the first incomplete one on.
            while next < p, let t = monitors[next].snapshot.allAnn { last = max(last, t); next += 1 }
            return next == p ? last : nil
        }
        row.seconds = end - start
        row.benchCPUSeconds = selfCPUSeconds() - cpu0
        row.firstPrefixSeconds = monitors.compactMap(\.snapshot.first).min().map { $0 - start }
    }

    /// The first route client 1 received, decoded: its prefix, NEXT_HOP, ORIGINATOR_ID and
    /// CLUSTER_LIST; true when both reflection attributes are there.
    func reflectedAttributes(_ m: Monitor) -> (String, Bool) {
        guard let body = m.firstAnnouncement else { return ("no UPDATE kept", false) }
        var r = WireReader(body)
        guard let u = try? UpdateMessage(parsing: &r, context: DecodeContext(fourOctetAS: true)) else { return ("undecodable UPDATE", false) }
        let a = u.attributes
        let cl = a.clusterList.isEmpty ? "none" : a.clusterList.map(\.description).joined(separator: " ")
        let own = m.exclude.map(meshPrefix)
        let prefix = u.nlri.first { $0 != own }.map { "\($0)" } ?? "?"
        let note = "\(prefix) to \(BenchAddr.meshPeer(0)): NEXT_HOP \(a.nextHop.map(\.description) ?? "none"), "
            + "ORIGINATOR_ID \(a.originatorID.map(\.description) ?? "none"), CLUSTER_LIST \(cl)"
        return (note, a.originatorID != nil && !a.clusterList.isEmpty)
    }
}
