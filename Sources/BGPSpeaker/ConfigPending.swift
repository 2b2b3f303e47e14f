import BGPRIB
import NetCore
// TEMPORARY until the policy branch lands.
extension PeerConfig {
    var routeReflectorClient: Bool { false }
    var allowASIn: Int { 0 }
    var nextHopMode: NextHopMode { .auto }
    var maxPrefixes: Int? { nil }
    var filters: [String] { [] }
}
extension SpeakerConfig {
    var clusterID: IPv4Address? { nil }
    var filters: [String: RouteFilter] { [:] }
}
