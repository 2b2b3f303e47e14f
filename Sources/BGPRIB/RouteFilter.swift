import BGPWire
import NetCore

// PLACEHOLDER: replaced by the policy branch.
public struct FilterRule: Hashable, Sendable {}
public struct RouteFilter: Hashable, Sendable {
    public var name: String
    public var exportV4: [FilterRule]; public var importV4: [FilterRule]
    public var exportV6: [FilterRule]; public var importV6: [FilterRule]
    public init(name: String, exportV4: [FilterRule] = [], importV4: [FilterRule] = [], exportV6: [FilterRule] = [], importV6: [FilterRule] = []) {
        self.name = name; self.exportV4 = exportV4; self.importV4 = importV4; self.exportV6 = exportV6; self.importV6 = importV6
    }
}
public enum FilterDirection: Hashable, Sendable { case importing, exporting }
public struct FilterSubject: Hashable, Sendable {
    public var prefix: IPPrefix
    public var peerType: PeerType
    public var learnedFromPeer: Bool
    public var interface: String?
    public init(prefix: IPPrefix, peerType: PeerType, learnedFromPeer: Bool, interface: String? = nil) {
        self.prefix = prefix; self.peerType = peerType; self.learnedFromPeer = learnedFromPeer; self.interface = interface
    }
}
public enum FilterOutcome: Hashable, Sendable { case accepted(filter: String, rule: Int), rejected(filter: String, rule: Int), noMatch }
extension RouteFilter {
    public static func evaluate(_ filters: [RouteFilter], direction: FilterDirection, subject: FilterSubject,
                                attrs: inout PathAttributes) -> FilterOutcome { .noMatch }
}
