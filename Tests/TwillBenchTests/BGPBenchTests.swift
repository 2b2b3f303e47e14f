import BGPSpeaker
import BGPWire
import NetCore
import Testing
@testable import twill_bench

/// The pure parts of `twill-bench bgp`: the monitors' counting, the daemons' configs and the
/// targets line. (The scenarios themselves need root, namespaces and the daemons: run the command.)
@Suite struct BGPBenchTests {
    /// UPDATE bodies (no 19-byte header) announcing `nlri` with one attribute set.
    func bodies(_ nlri: [NLRI], nextHop: IPv4Address = IPv4Address(10, 77, 1, 2)) throws -> [[UInt8]] {
        let attrs = PathAttributes(origin: .igp, asPath: ASPath(), nextHop: nextHop, localPref: 100,
                                   originatorID: IPv4Address(10, 77, 1, 2), clusterList: [IPv4Address(10, 77, 0, 1)])
        return try UpdatePacker.announcements(nlri, family: .ipv4Unicast, attributes: attrs, context: EncodeContext(fourOctetAS: true))
            .map { Array($0[19...]) }
    }

    func feed(_ m: Monitor, _ body: [UInt8]) throws { _ = try body.withUnsafeBufferPointer { try m.consume(2, $0) } }

    @Test func meshMonitorCountsOtherClientsRoutesOnce() throws {
        let p = 5
        let m = Monitor(n: p, base: meshPrefixBase, length: 26, exclude: 0)
        let run = BGPBenchRun(options: try BGPBench.parse([]), daemonNS: "x")
        // Its own route, a /24 inside the range and a duplicate do not count.
        try feed(m, try bodies([run.meshPrefix(0), run.meshPrefix(1)])[0])
        try feed(m, try bodies([NLRI(IPPrefix(.v4(IPv4Address(30, 0, 0, 0)), length: 24))])[0])
        try feed(m, try bodies([run.meshPrefix(1)])[0])
        #expect(m.snapshot.ann == 1)
        #expect(m.snapshot.allAnn == nil)
        try feed(m, try bodies((2..<p).map(run.meshPrefix))[0])
        #expect(m.snapshot.ann == p - 1)
        #expect(m.snapshot.allAnn != nil)
        let (note, ok) = run.reflectedAttributes(m)
        #expect(ok)
        #expect(note == "30.0.0.64/26 to 10.77.1.1: NEXT_HOP 10.77.1.2, ORIGINATOR_ID 10.77.1.2, CLUSTER_LIST 10.77.0.1")
    }

    @Test func reflectedRouteWithoutOriginatorIDIsReported() throws {
        let m = Monitor(n: 2, base: meshPrefixBase, length: 26, exclude: 0)
        let run = BGPBenchRun(options: try BGPBench.parse([]), daemonNS: "x")
        let plain = try UpdatePacker.announcements([run.meshPrefix(1)], family: .ipv4Unicast,
                                                   attributes: PathAttributes(origin: .igp, asPath: ASPath(), nextHop: IPv4Address(10, 77, 1, 2), localPref: 100),
                                                   context: EncodeContext(fourOctetAS: true))
        try feed(m, Array(plain[0][19...]))
        let (note, ok) = run.reflectedAttributes(m)
        #expect(!ok)
        #expect(note.contains("ORIGINATOR_ID none, CLUSTER_LIST none"))
    }

    @Test func feederStreamsAnnounceAndWithdrawEveryPrefixOnce() throws {
        let s = try feederStreams(100..<1100, attrSets: 10, asn: 65105, nextHop: BenchAddr.feeder(4))
        let m = Monitor(n: 1100)
        var off = 0
        for stream in [s.announce, s.withdraw] {
            off = 0
            while off < stream.bytes.count {
                let len = Int(stream.bytes[off + 16]) << 8 | Int(stream.bytes[off + 17])
                try feed(m, Array(stream.bytes[(off + 19)..<(off + len)]))
                off += len
            }
        }
        #expect(m.snapshot.ann == 1000)
        #expect(m.snapshot.wd == 1000)
        #expect(s.announce.chunkEnds.last == s.announce.bytes.count)
    }

    func topology(_ label: String) -> BenchTopology {
        switch label {
        case "feeders":
            BenchTopology(label: label, peers: (0..<3).map {
                BenchPeer(name: "feeder\($0 + 1)", address: BenchAddr.feeder($0), asn: 65101 + UInt32($0), role: .feeder)
            } + [BenchPeer(name: "monitor", address: BenchAddr.monitor, asn: 65003, role: .monitor)])
        default:
            BenchTopology(label: label, peers: (0..<4).map {
                BenchPeer(name: "client\($0 + 1)", address: BenchAddr.meshPeer($0), asn: 65000, role: .rrClient)
            }, clusterID: BenchAddr.daemon)
        }
    }

    @Test func twillConfigForFeedersIsValid() throws {
        let c = try SpeakerConfig(yaml: topology("feeders").twillConfig)
        #expect(c.peers.count == 4)
        #expect(c.peers.allSatisfy { $0.passive })
        #expect(c.peers.prefix(3).allSatisfy { $0.importPolicy == .all && $0.exportPolicy == RoutePolicy.none })
        #expect(c.peers[3].importPolicy == RoutePolicy.none && c.peers[3].exportPolicy == .all)
    }

    @Test func meshConfigsMakeEveryPeerAReflectorClient() {
        let t = topology("mesh")
        let twill = t.twillConfig
        #expect(twill.contains("clusterID: 10.77.0.1\n"))
        #expect(twill.components(separatedBy: "routeReflectorClient: true").count - 1 == 4)
        let bird = t.birdConfig
        #expect(bird.contains("rr client; rr cluster id 10.77.0.1;"))
        #expect(bird.components(separatedBy: "from clients { neighbor 10.77.1.").count - 1 == 4)
        let frr = t.frrConfig
        #expect(frr.contains(" bgp cluster-id 10.77.0.1\n"))
        #expect(frr.contains("  neighbor MESH route-reflector-client\n"))
        #expect(frr.components(separatedBy: "peer-group MESH\n").count - 1 == 4)
        let gobgp = t.gobgpConfig
        #expect(gobgp.components(separatedBy: "route-reflector-client = true").count - 1 == 4)
        #expect(gobgp.contains("route-reflector-cluster-id = \"10.77.0.1\""))
    }

    @Test func severalFeedersGetNothingBackFromFRRAndGoBGP() {
        let t = topology("feeders")
        #expect(t.frrConfig.contains("route-map NOTHING deny 10\n"))
        #expect(t.frrConfig.contains("  neighbor FEEDERS route-map NOTHING out\n"))
        #expect(t.gobgpConfig.contains("neighbor-info-list = [\"10.77.2.1\", \"10.77.2.2\", \"10.77.2.3\"]"))
        #expect(t.gobgpConfig.contains("export-policy-list = [\"not-to-feeders\"]"))
        #expect(t.birdConfig.contains("template bgp feeders { local 10.77.0.1 as 65000; passive on; ipv4 { import all; export none; }; }"))
    }

    @Test func targetsLine() throws {
        let run = BGPBenchRun(options: try BGPBench.parse(["--timeout", "100"]), daemonNS: "x")
        let rows = [BGPBenchRow(name: "twill", seconds: 2, peakRSSKiB: 1200),
                    BGPBenchRow(name: "bird", seconds: 2.5, peakRSSKiB: 1000),
                    BGPBenchRow(name: "gobgp", seconds: 8, peakRSSKiB: 5000)]
        #expect(run.targets(rows) == "targets: Twill time ≤ 1.0× BIRD: met (0.80×); peak RSS ≤ 1.2× BIRD: met (1.20×); ≥ 5× faster than GoBGP: MISSED (4.0× faster)")
        var failed = rows
        failed[0].failure = "timed out"
        #expect(run.targets(failed).hasPrefix("targets: Twill time ≤ 1.0× BIRD: not measured (twill failed)"))
        failed = rows
        failed[2] = BGPBenchRow(name: "gobgp", failure: "timed out")
        #expect(run.targets(failed).hasSuffix("≥ 5× faster than GoBGP: not measured (GoBGP failed or timed out; if it timed out, Twill is at least 50.0× faster)"))
    }
}
