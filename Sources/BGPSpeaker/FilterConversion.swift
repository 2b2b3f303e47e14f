import BGPRIB
import NetCore
import NodeModel
import ResourceFormat
import Yams

// Calico BGPFilter resources (NodeModel) → the speaker's pure `RouteFilter` evaluator (BGPRIB).

extension RouteFilter {
    /// Validates a Calico BGPFilter (NodeModel's validator, as `calicoctl` does) and converts it.
    /// Errors name the field inside the resource (`spec.exportV4[0].cidr`).
    public init(validating filter: BGPFilter) throws(FieldError) {
        if let problem = Resource(filter).validate().first { throw problem }
        self.init(name: filter.metadata.name,
                  exportV4: try Self.rules(filter.spec.exportV4, at: "spec.exportV4"),
                  importV4: try Self.rules(filter.spec.importV4, at: "spec.importV4"),
                  exportV6: try Self.rules(filter.spec.exportV6, at: "spec.exportV6"),
                  importV6: try Self.rules(filter.spec.importV6, at: "spec.importV6"))
    }

    static func rules(_ rules: [BGPFilterRule], at path: FieldPath) throws(FieldError) -> [FilterRule] {
        var out: [FilterRule] = []
        out.reserveCapacity(rules.count)
        for (i, r) in rules.enumerated() { out.append(try FilterRule(r, at: path.index(i))) }
        return out
    }
}

extension FilterRule {
    /// One Calico rule, already validated (cidr/matchOperator together, action set, communities
    /// well formed); what validation does not cover (AS numbers' range) is checked here.
    public init(_ r: BGPFilterRule, at path: FieldPath = .root) throws(FieldError) {
        var cidr: IPPrefix? = nil
        if !r.cidr.isEmpty {
            switch IPPrefix.parse(r.cidr, strict: true) {
            case .success(let p): cidr = p
            case .failure(let e): throw FieldError(path.child("cidr"), e.description)
            }
        }
        var communities: [FilterCommunity] = []
        for (i, c) in r.communities.enumerated() {
            guard let v = FilterCommunity(c) else {
                throw FieldError(path.child("communities.values").index(i), "invalid community value \"\(c)\"")
            }
            communities.append(v)
        }
        let asPath = try Self.asns(r.asPathPrefix, at: path.child("asPathPrefix"))
        guard let action = r.action else { throw FieldError(path.child("action"), "required: Accept or Reject") }
        var ops: [Operation] = []
        for (i, op) in r.operations.enumerated() {
            let at = path.child("operations").index(i)
            if let c = op.addCommunity {
                guard let v = FilterCommunity(c) else { throw FieldError(at.child("addCommunity.value"), "invalid community value \"\(c)\"") }
                ops.append(.addCommunity(v))
            } else if let p = op.prependASPath {
                ops.append(.prependASPath(try Self.asns(p, at: at.child("prependASPath.prefix"))))
            } else if let v = op.setPriority {
                ops.append(.setPriority(v))
            }
        }
        self.init(cidr: cidr, matchOperator: r.matchOperator.map { MatchOperator(rawValue: $0.rawValue)! } ?? .in,
                  prefixLength: r.prefixLength.map { PrefixLength(min: $0.min, max: $0.max) },
                  source: r.source.map { Source(rawValue: $0.rawValue)! },
                  interface: r.interface.isEmpty ? nil : r.interface,
                  peerType: r.peerType.map { PeerTypeMatch(rawValue: $0.rawValue)! },
                  communities: communities, asPathPrefix: asPath, priority: r.priority,
                  action: action == .accept ? .accept : .reject, operations: ops)
    }

    static func asns(_ values: [Int], at path: FieldPath) throws(FieldError) -> [UInt32] {
        var out: [UInt32] = []
        for (i, v) in values.enumerated() {
            guard v > 0, v <= Int(UInt32.max) else { throw FieldError(path.index(i), "\(v) is not an AS number (1-4294967295)") }
            out.append(UInt32(v))
        }
        return out
    }
}

extension SpeakerConfig {
    /// One `filters[]` item: a Calico BGPFilter document exactly as `calicoctl` takes it,
    /// decoded and validated by NodeModel, then converted.
    static func fieldPath(_ path: String, _ inner: FieldPath) -> String {
        inner.description.isEmpty ? path : join(path, inner.description)
    }

    static func filter(_ node: Yams.Node, path: String) throws(ConfigError) -> RouteFilter {
        let value: Value
        do {
            let text = try Yams.serialize(node: node)
            let docs = try YAMLReader.documents(text)
            guard docs.count == 1 else { throw ConfigError(path, "must be one BGPFilter resource") }
            value = docs[0]
        } catch let e as ConfigError {
            throw e
        } catch {
            throw ConfigError(path, "not a resource: \(error)")
        }
        let resource: Resource
        do { resource = try Resource(from: value) } catch { throw ConfigError(Self.fieldPath(path, error.path), error.reason) }
        guard case .bgpFilter(let f) = resource else {
            throw ConfigError(join(path, "kind"), "must be BGPFilter, got \(resource.kind.name)")
        }
        do { return try RouteFilter(validating: f) } catch {
            throw ConfigError(Self.fieldPath(path, error.path), error.reason)
        }
    }
}
