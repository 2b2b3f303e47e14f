import BGPSpeaker
import CtlCore
import Foundation
import Testing

/// Golden output of `twillctl node status|routes` (calicoctl's box-drawn tables).
@Suite struct NodeStatusPrinterTests {
    @Test func statusTableMatchesCalicoctl() {
        let out = NodeStatusPrinter.statusTable([
            NodePeerStatus(peerAddress: "172.17.8.102", peerType: "node-to-node mesh", state: "up", since: "23:30:04", info: "Established"),
            NodePeerStatus(peerAddress: "10.0.0.9", peerType: "global", state: "start", since: "2026-11-24",
                           info: "Active Socket: Connection refused"),
        ])
        let golden = """
        BGP speaker is running.

        IPv4 BGP status
        +--------------+-------------------+-------+------------+-----------------------------------+
        | PEER ADDRESS |     PEER TYPE     | STATE |   SINCE    |               INFO                |
        +--------------+-------------------+-------+------------+-----------------------------------+
        | 172.17.8.102 | node-to-node mesh | up    | 23:30:04   | Established                       |
        | 10.0.0.9     | global            | start | 2026-11-24 | Active Socket: Connection refused |
        +--------------+-------------------+-------+------------+-----------------------------------+

        IPv6 BGP status
        No IPv6 peers found.


        """
        #expect(out == golden)
    }

    @Test func calicoctlSingleRowExample() {
        // The example from calicoctl's documentation, byte for byte.
        let out = NodeStatusPrinter.statusTable([
            NodePeerStatus(peerAddress: "172.17.8.102", peerType: "node-to-node mesh", state: "up", since: "23:30:04", info: "Established"),
        ])
        #expect(out.contains("""
        +--------------+-------------------+-------+----------+-------------+
        | PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |
        +--------------+-------------------+-------+----------+-------------+
        | 172.17.8.102 | node-to-node mesh | up    | 23:30:04 | Established |
        +--------------+-------------------+-------+----------+-------------+
        """))
    }

    @Test func routesTable() throws {
        // The loser comes first from the speaker here: the printer still puts the best first.
        let out = NodeStatusPrinter.routesTable([
            NodeRouteStatus(prefix: "10.5.0.0/24", nextHop: "127.0.0.3", asPath: "65003 65003", peer: "127.0.0.3",
                            best: false, reason: "longer AS_PATH (2 > 1)", localPref: 100),
            NodeRouteStatus(prefix: "10.50.0.0/24", nextHop: "self", asPath: "", peer: "static", best: true),
            NodeRouteStatus(prefix: "10.5.0.0/24", nextHop: "127.0.0.2", asPath: "65002", peer: "127.0.0.2", best: true,
                            localPref: 100, med: 20),
            NodeRouteStatus(prefix: "10.5.0.0/24", nextHop: "127.0.0.4", asPath: "65004", peer: "127.0.0.4", best: false,
                            reason: "lower LOCAL_PREF (50 < 100)", stale: true, localPref: 50),
            NodeRouteStatus(prefix: "2001:db8::/48", nextHop: "fd00::2", asPath: "65002 65003", peer: "fd00::2", best: false),
        ])
        let golden = """
        IPv4 routes
        +--------------+-----------+-------------+-----------+------------+-----+------+------------------------------------+
        |    PREFIX    | NEXT HOP  |   AS PATH   |   PEER    | LOCAL PREF | MED | BEST |               REASON               |
        +--------------+-----------+-------------+-----------+------------+-----+------+------------------------------------+
        | 10.5.0.0/24  | 127.0.0.2 | 65002       | 127.0.0.2 | 100        | 20  | *    |                                    |
        | 10.5.0.0/24  | 127.0.0.3 | 65003 65003 | 127.0.0.3 | 100        |     |      | longer AS_PATH (2 > 1)             |
        | 10.5.0.0/24  | 127.0.0.4 | 65004       | 127.0.0.4 | 50         |     |      | lower LOCAL_PREF (50 < 100), stale |
        | 10.50.0.0/24 | self      |             | static    |            |     | *    |                                    |
        +--------------+-----------+-------------+-----------+------------+-----+------+------------------------------------+

        IPv6 routes
        +---------------+----------+-------------+---------+------------+-----+------+--------+
        |    PREFIX     | NEXT HOP |   AS PATH   |  PEER   | LOCAL PREF | MED | BEST | REASON |
        +---------------+----------+-------------+---------+------------+-----+------+--------+
        | 2001:db8::/48 | fd00::2  | 65002 65003 | fd00::2 |            |     |      |        |
        +---------------+----------+-------------+---------+------------+-----+------+--------+


        """
        #expect(out == golden)
    }

    @Test func routesJSONCarriesTheOptionalFieldsOnlyWhenSet() throws {
        let json = try NodeStatusPrinter.json([
            NodeRouteStatus(prefix: "10.0.0.0/8", nextHop: "self", asPath: "", peer: "static", best: true),
            NodeRouteStatus(prefix: "10.0.0.0/8", nextHop: "10.0.0.9", asPath: "", peer: "10.0.0.9", best: false,
                            reason: "higher router ID (10.0.0.9 > 10.0.0.1)", localPref: 100,
                            originatorID: "10.0.0.9", clusterList: ["10.0.0.5"]),
        ])
        #expect(json == """
        [
          {
            "asPath" : "",
            "best" : true,
            "nextHop" : "self",
            "peer" : "static",
            "prefix" : "10.0.0.0/8"
          },
          {
            "asPath" : "",
            "best" : false,
            "clusterList" : [
              "10.0.0.5"
            ],
            "localPref" : 100,
            "nextHop" : "10.0.0.9",
            "originatorID" : "10.0.0.9",
            "peer" : "10.0.0.9",
            "prefix" : "10.0.0.0/8",
            "reason" : "higher router ID (10.0.0.9 > 10.0.0.1)"
          }
        ]

        """)
    }

    /// A reply of an older speaker (only the first five fields) still decodes; the reply of
    /// this one round-trips through the client's type.
    @Test func routesDecodeFromOlderAndNewerSpeakers() throws {
        let old = #"[{"prefix":"10.1.0.0/24","nextHop":"self","asPath":"","peer":"static","best":true}]"#
        let decoded = try JSONDecoder().decode([NodeRouteStatus].self, from: Data(old.utf8))
        #expect(decoded == [NodeRouteStatus(prefix: "10.1.0.0/24", nextHop: "self", asPath: "", peer: "static", best: true)])

        var r = RouteStatus(prefix: "10.5.0.0/24", nextHop: "127.0.0.3", asPath: "65003", peer: "127.0.0.3", best: false,
                            reason: "longer AS_PATH (2 > 1)")
        r.stale = true; r.localPref = 100; r.med = 5; r.originatorID = "10.0.0.3"; r.clusterList = ["10.0.0.1"]
        let wire = try JSONEncoder().encode(r)
        #expect(try JSONDecoder().decode(NodeRouteStatus.self, from: wire) == NodeRouteStatus(
            prefix: "10.5.0.0/24", nextHop: "127.0.0.3", asPath: "65003", peer: "127.0.0.3", best: false,
            reason: "longer AS_PATH (2 > 1)", stale: true, localPref: 100, med: 5, originatorID: "10.0.0.3",
            clusterList: ["10.0.0.1"]))
    }
}
