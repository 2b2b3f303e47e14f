import BGPRIB
import BGPSpeaker
import BGPWire
import Calc
import NetCore
import NodeAgentCore
import NodeModel
import Testing
@testable import NodeAgent

@Suite struct SpeakerMappingTests {
    @Test func calicoPeerBecomesSpeakerPeer() {
        var p = Calc.Peer(name: "Mesh_10_0_0_2", type: .mesh, address: IPAddress("10.0.0.2")!, remoteAS: ASNumber(64512),
                     localAS: ASNumber(64512))
        p.passive = true
        p.port = 1179
        p.keepaliveTime = CalicoDuration(seconds: 20)
        let c = SpeakerMapping.peerConfig(p)
        #expect(c.name == "Mesh_10_0_0_2" && c.address == IPAddress("10.0.0.2")! && c.port == 1179)
        #expect(c.passive && c.asNumber == ASNumber(64512) && c.peerType == "node-to-node mesh")
        #expect(c.keepaliveTime == CalicoDuration(seconds: 20) && c.addressFamilies == [.ipv4])
        #expect(c.password == nil)
    }

    @Test func passwordsResolveFromTheSecretMap() {
        var p = Calc.Peer(name: "Global_10_0_0_9", type: .global, address: IPAddress("10.0.0.9")!, remoteAS: ASNumber(65001),
                     localAS: ASNumber(64512))
        p.password = PasswordRef(secretName: "bgp", key: "pw")
        #expect(SpeakerMapping.peerConfig(p, passwords: [PasswordRef(secretName: "bgp", key: "pw"): "s3"]).password == "s3")
    }

    /// rr1 and rr2 reflect for cluster 1.0.0.1; c1, c2 are clients; every node peers with the
    /// reflectors through one BGPPeer that names two filters (one missing, one invalid).
    static func rrCluster(me: String) -> CalcSnapshot {
        func node(_ name: String, _ v4: String, rr: String = "", labels: [String: String] = [:]) -> Node {
            var bgp = NodeBGPSpec(asNumber: nil, ipv4Address: v4, ipv6Address: "")
            bgp.routeReflectorClusterID = rr
            return Node(metadata: ObjectMeta(name: name, labels: labels), spec: NodeSpec(bgp: bgp))
        }
        var peer = BGPPeerSpec()
        peer.nodeSelector = "all()"; peer.peerSelector = "route-reflector == 'true'"
        peer.filters = ["no-host-routes", "missing", "broken", "unused-by-order"]
        var good = BGPFilterSpec()
        var reject32 = BGPFilterRule(cidr: "10.244.0.0/16", matchOperator: .in, action: .reject)
        reject32.prefixLength = BGPFilterPrefixLength(min: 32)
        good.exportV4 = [reject32]
        var broken = BGPFilterSpec()
        broken.importV4 = [BGPFilterRule(cidr: "10.0.0.0/8", matchOperator: nil, action: .accept)]
        var config = BGPConfigurationSpec()
        config.nodeToNodeMeshEnabled = false
        let rrLabels = ["route-reflector": "true"]
        return CalcSnapshot(nodeName: me, nodes: [
            node("rr1", "10.0.1.1/24", rr: "1.0.0.1", labels: rrLabels),
            node("rr2", "10.0.1.2/24", rr: "1.0.0.1", labels: rrLabels),
            node("c1", "10.0.1.11/24"),
        ], bgpPeers: [BGPPeer(metadata: ObjectMeta(name: "peer-with-rrs"), spec: peer)],
        bgpConfigurations: [BGPConfiguration(metadata: ObjectMeta(name: "default"), spec: config)],
        bgpFilters: [BGPFilter(metadata: ObjectMeta(name: "no-host-routes"), spec: good),
                     BGPFilter(metadata: ObjectMeta(name: "broken"), spec: broken),
                     BGPFilter(metadata: ObjectMeta(name: "unused-by-order"), spec: BGPFilterSpec()),
                     BGPFilter(metadata: ObjectMeta(name: "not-referenced"), spec: BGPFilterSpec())])
    }

    static func config(me: String) -> SpeakerConfig {
        let plan = AgentCalculator.plan(AgentInputs(snapshot: rrCluster(me: me)))
        return SpeakerMapping.speakerConfig(plan: plan, routerID: IPv4Address("10.0.1.1")!, asNumber: ASNumber(64512),
                                            listenPort: 179, controlSocket: nil)
    }

    @Test func routeReflectorClientsAndClusterID() throws {
        let c = Self.config(me: "rr1")
        #expect(c.clusterID == IPv4Address("1.0.0.1"))
        let byName = Dictionary(uniqueKeysWithValues: c.peers.map { ($0.name, $0) })
        #expect(try #require(byName["Node_10_0_1_11"]).routeReflectorClient)  // client: not in our cluster
        #expect(try #require(byName["Node_10_0_1_2"]).routeReflectorClient == false)  // the other reflector
        // A client has no cluster ID and no RR clients.
        let client = Self.config(me: "c1")
        #expect(client.clusterID == nil)
        #expect(!client.peers.isEmpty && client.peers.allSatisfy { !$0.routeReflectorClient })
    }

    /// Calico's BIRD merges equal paths into one kernel route (`merge paths on`): the speaker the
    /// agent runs reports the ECMP set, and each equal path's next hop becomes one of the route's.
    @Test func multipathBecomesOneECMPRoute() throws {
        #expect(Self.config(me: "c1").multipath)
        let p = IPPrefix("10.244.1.0/26")!
        func path(_ peer: String, nh: String) -> Route {
            Route(prefix: p, source: .peer(IPAddress(peer)!, ebgp: false), attributes: RouteAttributes(nextHop: IPAddress(nh)!))
        }
        let a = path("10.0.1.2", nh: "10.0.1.2"), b = path("10.0.1.3", nh: "10.0.1.3"), c = path("10.0.1.4", nh: "10.0.1.2")
        let ecmp = try #require(SpeakerMapping.learnedRoute(BestRouteChange(prefix: p, best: a, multipath: [a, b, c])))
        #expect(ecmp.nextHops == [IPAddress("10.0.1.2")!, IPAddress("10.0.1.3")!])  // best first, once each
        #expect(ecmp.peer == IPAddress("10.0.1.2"))
        #expect(SpeakerMapping.learnedRoute(BestRouteChange(prefix: p, best: a))?.nextHops == [IPAddress("10.0.1.2")!])
        #expect(SpeakerMapping.learnedRoute(BestRouteChange(prefix: p, best: nil)) == nil)
        let own = Route(prefix: p, source: .local, attributes: RouteAttributes(nextHop: IPAddress("10.0.1.1")!))
        #expect(SpeakerMapping.learnedRoute(BestRouteChange(prefix: p, best: own)) == nil)
    }

    @Test func peerFiltersMapToConvertedFilters() throws {
        let c = Self.config(me: "c1")
        // Only filters some peer names travel; the invalid one is left out, as is a missing one.
        #expect(c.filters.keys.sorted() == ["no-host-routes", "unused-by-order"])
        #expect(c.peers.allSatisfy { $0.filters == ["no-host-routes", "unused-by-order"] })
        let f = try #require(c.filters["no-host-routes"])
        var attrs = PathAttributes()
        let host = FilterSubject(prefix: IPPrefix("10.244.0.7/32")!, peerType: .ibgp, learnedFromPeer: false)
        #expect(RouteFilter.evaluate([f], direction: .exporting, subject: host, attrs: &attrs)
                == .rejected(filter: "no-host-routes", rule: 0))
        let problems = SpeakerMapping.routeFilters(AgentCalculator.plan(AgentInputs(snapshot: Self.rrCluster(me: "c1"))).filters).problems
        #expect(problems == ["BGPFilter broken: spec.importV4[0]: cidr and matchOperator must be set together"])
    }

    /// What the agent logs: the invalid filter once, and each peer's dropped names.
    @Test func filterProblemsNameTheFilterAndThePeer() {
        let plan = AgentCalculator.plan(AgentInputs(snapshot: Self.rrCluster(me: "c1")))
        let problems = SpeakerMapping.filterProblems(plan)
        #expect(problems.first == "BGPFilter broken: spec.importV4[0]: cidr and matchOperator must be set together")
        let peerLines = problems.dropFirst()
        #expect(!peerLines.isEmpty && peerLines.count == 2 * plan.peers.peers.filter { !$0.filters.isEmpty }.count)
        for p in plan.peers where !p.filters.isEmpty {
            #expect(peerLines.contains("BGP peer \(p.name) (\(p.address)): filter \"missing\" is missing or invalid; the peer runs without it"))
            #expect(peerLines.contains("BGP peer \(p.name) (\(p.address)): filter \"broken\" is missing or invalid; the peer runs without it"))
        }
        // A plan whose filters all convert has nothing to say.
        var clean = plan
        clean.filters = clean.filters.filter { $0.metadata.name != "broken" }
        clean.peers = PeerSet(clean.peers.map { var p = $0; p.filters = p.filters.filter { $0 != "missing" && $0 != "broken" }; return p })
        #expect(SpeakerMapping.filterProblems(clean).isEmpty)
    }

    @Test func nextHopAndAllowLocalAS() {
        var p = Calc.Peer(name: "Global_10_0_0_9", type: .global, address: IPAddress("10.0.0.9")!, remoteAS: ASNumber(65001),
                          localAS: ASNumber(64512))
        #expect(SpeakerMapping.peerConfig(p).nextHopMode == .auto && SpeakerMapping.peerConfig(p).allowASIn == 0)
        p.nextHop = .self; p.allowLocalAS = 3
        #expect(SpeakerMapping.peerConfig(p).nextHopMode == .self_ && SpeakerMapping.peerConfig(p).allowASIn == 3)
        p.nextHop = .keep; p.allowLocalAS = 50
        #expect(SpeakerMapping.peerConfig(p).nextHopMode == .keep && SpeakerMapping.peerConfig(p).allowASIn == 10)
    }
}
