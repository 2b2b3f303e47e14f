import Dataplane
import Datastore
import DatastoreEtcd
import Foundation
import IPAM
import Logging
import NetCore
import NodeAgentCore
import NodeModel
import ResourceClient

/// What calico-node's startup does before the loops begin: wait for the datastore, find the
/// node's address, register the Node, and hold the tunnel addresses its pools need.
enum Startup {
    /// Opens the datastore and waits (saying so) until it answers; `stop` ends the wait.
    static func openDatastore(url: String?, logger: Logger, stop: @Sendable () -> Bool) throws -> any Datastore {
        let store = try openAnyDatastore(url: url)
        var delay = 0.2
        var said = false
        while true {
            do {
                _ = try store.currentRevision()
                if said { logger.info("datastore is available") }
                return store
            } catch {
                if !said { logger.warning("waiting for the datastore", metadata: ["url": "\(url ?? "default")", "error": "\(error)"]) }
                said = true
            }
            if stop() { throw AgentError("stopped while waiting for the datastore") }
            Thread.sleep(forTimeInterval: delay)
            delay = min(delay * 2, 5)
        }
    }

    /// `--ip` / `--ip6`: an explicit `ADDR/PLEN` (the interface holding it is the parent), an
    /// autodetection method, or `none` (v6 only).
    static func detect(_ spec: String, family: IPFamily) throws -> DetectedAddress? {
        let text = spec.trimmingCharacters(in: .whitespaces)
        if text == "none" || text.isEmpty { return nil }
        if let ia = InterfaceAddress(text) {
            guard ia.family == family else { throw AgentError("--ip\(family == .v6 ? "6" : ""): \(text) is not an IPv\(family.rawValue) address") }
            do {
                var d = try Autodetect.interfaceHolding(ia.address)
                d.prefixLength = ia.prefixLength
                return d
            } catch {
                throw AgentError("--ip: no interface holds \(ia.address): \(error)")
            }
        }
        let method = text == "autodetect" ? AutodetectMethod.firstFound : try AutodetectMethod(parsing: text)
        do { return try Autodetect.detect(method, family: family) } catch {
            throw AgentError("IPv\(family.rawValue) autodetection (\(text)) failed: \(error)")
        }
    }

    /// Creates or updates this node's Node resource (labels and fields others set are kept).
    static func register(client: ResourceClient, name: String, ipv4: DetectedAddress?, ipv6: DetectedAddress?,
                         asNumber: ASNumber?, labels: [String: String]) throws -> Node {
        let id = ResourceID(kind: .node, name: name)
        for _ in 0..<20 {
            let existing = try currentNode(client: client, id: id)
            let node = NodeRegistration.node(existing: existing, name: name,
                                             ipv4: ipv4.map { InterfaceAddress($0.address, prefixLength: $0.prefixLength) },
                                             ipv6: ipv6.map { InterfaceAddress($0.address, prefixLength: $0.prefixLength) },
                                             asNumber: asNumber, labels: labels)
            if node == existing { return node }
            let result: Result<Void, ClientError> = Result { () throws(ClientError) in _ = try client.apply([.node(node)]) }
            switch result {
            case .success: return node
            case .failure(let e):
                // Someone else updated the Node between our read and write: read again.
                guard "\(e)".contains("conflict") else { throw e }
            }
        }
        throw AgentError("could not register node \(name): too many concurrent updates")
    }

    /// The stored Node, nil when there is none.
    static func currentNode(client: ResourceClient, id: ResourceID) throws -> Node? {
        let result: Result<StoredResource, ClientError> = Result { () throws(ClientError) in try client.get(id) }
        switch result {
        case .success(let stored):
            if case .node(let n) = stored.resource { return n }
            return nil
        case .failure(let e):
            if case .notFound = e { return nil }
            throw e
        }
    }

    /// Tunnel addresses for the encapsulations the enabled pools use (calico-node's
    /// `allocateip`): from IPAM by handle, written into the Node with the VTEP MAC.
    static func ensureTunnels(store: any Datastore, client: ResourceClient, nodeName: String, pools: [IPPool],
                              logger: Logger) throws {
        let enabled = pools.filter { !$0.spec.disabled && ($0.spec.cidr.contains(":") == false) }
        let wantVXLAN = enabled.contains { ($0.spec.vxlanMode?.rawValue ?? "Never") != "Never" }
        let wantIPIP = enabled.contains { ($0.spec.ipipMode?.rawValue ?? "Never") != "Never" }
        let id = ResourceID(kind: .node, name: nodeName)
        guard case .node(let node) = try client.get(id).resource else { return }
        let ipam = IPAMClient(store: store)
        var vx: IPAddress?, ipip: IPAddress?
        if wantVXLAN { vx = try ipam.tunnelAddress(node: nodeName, kind: .vxlan, nodeLabels: node.metadata.labels) }
        if wantIPIP { ipip = try ipam.tunnelAddress(node: nodeName, kind: .ipip, nodeLabels: node.metadata.labels) }
        let mac = wantVXLAN ? VTEPMAC.derived(fromNodeName: nodeName) : nil
        let updated = NodeRegistration.withTunnel(node, ipip: ipip, vxlanV4: vx, vxlanMAC: mac)
        guard updated != node else { return }
        _ = try client.update(id, typed: { (r: inout Resource) throws(ClientError) in r = .node(NodeRegistration.withTunnel(
            { if case .node(let n) = r { n } else { node } }(), ipip: ipip, vxlanV4: vx, vxlanMAC: mac)) })
        logger.info("tunnel addresses", metadata: ["vxlan": "\(vx.map { "\($0)" } ?? "-")", "ipip": "\(ipip.map { "\($0)" } ?? "-")"])
    }
}
