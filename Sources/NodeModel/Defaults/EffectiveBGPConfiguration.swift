import NetCore

/// The BGP settings a node actually runs with: its `node.<name>` BGPConfiguration over the
/// global `default` one over Calico's built-in defaults (confd `globalDefaults`, BIRD defaults).
/// Consumers (the peer renderer, the speaker) read this instead of re-implementing fallbacks.
public struct EffectiveBGPConfiguration: Hashable, Sendable {
    public var asNumber: ASNumber
    public var nodeToNodeMeshEnabled: Bool
    public var logSeverityScreen: LogSeverity
    public var listenPort: Int
    public var bindMode: BindMode
    public var serviceLoadBalancerAggregation: ServiceLoadBalancerAggregation
    public var programClusterRoutes: ProgramClusterRoutes
    public var ipv4NormalRoutePriority: Int
    public var ipv6NormalRoutePriority: Int
    /// BIRD's default graceful-restart time when unset: 120 s.
    public var nodeMeshMaxRestartTime: CalicoDuration
    public var ignoredInterfaces: [String]
    public var communities: [Community]
    public var prefixAdvertisements: [PrefixAdvertisement]
    public var serviceClusterIPs: [ServiceIPBlock]
    public var serviceExternalIPs: [ServiceIPBlock]
    public var serviceLoadBalancerIPs: [ServiceIPBlock]

    /// Resolves `node` over `global` (either may be absent).
    public init(global: BGPConfigurationSpec?, node: BGPConfigurationSpec? = nil) {
        let g = global ?? BGPConfigurationSpec()
        let n = node ?? BGPConfigurationSpec()
        asNumber = g.asNumber ?? BGPConfigurationSpec.defaultASNumber
        nodeToNodeMeshEnabled = g.nodeToNodeMeshEnabled ?? true
        logSeverityScreen = n.logSeverityScreen ?? g.logSeverityScreen ?? .info
        listenPort = n.listenPort != 0 ? n.listenPort : (g.listenPort != 0 ? g.listenPort : BGPConfigurationSpec.defaultListenPort)
        bindMode = n.bindMode ?? g.bindMode ?? .none
        serviceLoadBalancerAggregation = g.serviceLoadBalancerAggregation ?? .enabled
        programClusterRoutes = n.programClusterRoutes ?? g.programClusterRoutes ?? .enabledNoEncapOnly
        ipv4NormalRoutePriority = n.ipv4NormalRoutePriority ?? g.ipv4NormalRoutePriority ?? 1024
        ipv6NormalRoutePriority = n.ipv6NormalRoutePriority ?? g.ipv6NormalRoutePriority ?? 1024
        nodeMeshMaxRestartTime = g.nodeMeshMaxRestartTime ?? CalicoDuration(seconds: 120)
        ignoredInterfaces = n.ignoredInterfaces.isEmpty ? g.ignoredInterfaces : n.ignoredInterfaces
        communities = n.communities.isEmpty ? g.communities : n.communities
        prefixAdvertisements = n.prefixAdvertisements.isEmpty ? g.prefixAdvertisements : n.prefixAdvertisements
        serviceClusterIPs = g.serviceClusterIPs
        serviceExternalIPs = g.serviceExternalIPs
        serviceLoadBalancerIPs = g.serviceLoadBalancerIPs
    }
}
