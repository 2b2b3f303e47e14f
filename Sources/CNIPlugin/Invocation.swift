import Datastore
import DataplaneLinux
import IPAM
import NetCore
import NodeModel

/// One command against one datastore.
struct Invocation {
    let env: CNIEnvironment
    let config: NetworkConfig
    let node: String
    let networking: any WorkloadNetworking
    let store: any Datastore

    var ipam: IPAMClient { IPAMClient(store: store) }
    /// The IPAM handle of this attachment (Calico uses the container ID too).
    var handleID: String { env.containerID }
    var ipamOnly: Bool { config.type == "twill-ipam" }
    var hostInterface: String { WorkloadNetwork.hostInterfaceName(containerID: env.containerID) }
    var podName: String? { env.args["K8S_POD_NAME"].flatMap { $0.isEmpty ? nil : $0 } }
    var podNamespace: String { env.args["K8S_POD_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default" }

    func ipamCall<T>(_ body: () throws(IPAMError) -> T) throws(CNIError) -> T {
        do { return try body() } catch { throw CNIError(error) }
    }

    func storeCall<T>(_ body: () throws(DatastoreError) -> T) throws(CNIError) -> T {
        do { return try body() } catch { throw CNIError(error) }
    }

    // MARK: ADD

    func add() throws(CNIError) -> String {
        if !ipamOnly && !networking.netnsExists(env.netns) {
            throw CNIError(CNIError.invalidEnvironment, "CNI_NETNS \(env.netns): no such network namespace")
        }
        let pools = try resolvePools()
        var attrs = ["node": node]
        if let podName { attrs["pod"] = podName; attrs["namespace"] = podNamespace }
        let existing = try ipamCall { () throws(IPAMError) in try ipam.addresses(handleID: handleID) }
        let ips = try existing.isEmpty ? ipamCall { () throws(IPAMError) in
            try ipam.autoAssign(AssignRequest(handleID: handleID, node: node, attributes: attrs, pools: pools))
        } : existing
        guard case .v4(let address)? = ips.first else { throw CNIError(CNIError.ipamFailure, "IPAM returned no IPv4 address") }
        if ipamOnly {
            return result(interfaces: [], address: address, interfaceIndex: nil)
        }
        var wepKey: String? = nil
        do throws(CNIError) {
            // A repeated ADD for the same container replaces its interfaces.
            _ = try? networking.tearDown(hostInterface: hostInterface)
            let spec = WorkloadInterfaceSpec(containerID: env.containerID, netnsPath: env.netns, containerInterface: env.ifName,
                                             hostInterface: hostInterface, address: address, mtu: config.mtu)
            let wired: WorkloadInterfaceResult
            do { wired = try networking.setUp(spec) } catch { throw CNIError(error) }
            let wep = endpoint(address: address, mac: wired.containerMAC)
            let r = Resource(wep)
            let key = ResourceKeys.key(for: r)
            try storeCall { () throws(DatastoreError) in try store.put(key, value: ResourceStorage.bytes(for: r)) }
            wepKey = key
            let interfaces: [Value] = [
                .object(["name": .string(hostInterface), "mac": .string(wired.hostMAC.description)]),
                .object(["name": .string(env.ifName), "mac": .string(wired.containerMAC.description), "sandbox": .string(env.netns)]),
            ]
            return result(interfaces: interfaces, address: address, interfaceIndex: 1)
        } catch {
            // Roll back everything this ADD holds: no leaked address, veth or endpoint.
            _ = try? networking.tearDown(hostInterface: hostInterface)
            if let wepKey { _ = try? store.delete(wepKey) }
            _ = try? ipam.release(handleID: handleID)
            throw error
        }
    }

    func endpoint(address: IPv4Address, mac: MACAddress) -> WorkloadEndpoint {
        var s = WorkloadEndpointSpec()
        s.node = node
        s.containerID = env.containerID
        s.endpoint = env.ifName
        s.interfaceName = hostInterface
        s.ipNetworks = ["\(address)/32"]
        s.mac = mac.description
        if let podName {
            s.orchestrator = "k8s"
            s.pod = podName
            s.profiles = ["kns.\(podNamespace)"]
        } else {
            s.orchestrator = "cni"
            s.workload = env.containerID
        }
        return WorkloadEndpoint(metadata: ObjectMeta(name: s.calicoName, namespace: podNamespace), spec: s)
    }

    func result(interfaces: [Value], address: IPv4Address, interfaceIndex: Int?) -> String {
        var ip: [Value.Field] = [.init("address", .string("\(address)/32"))]
        if !CNIVersions.atLeast(config.cniVersion, "1.0.0") { ip.insert(.init("version", .string("4")), at: 0) }
        if let interfaceIndex { ip.append(.init("interface", .int(Int64(interfaceIndex)))) }
        var fields: [Value.Field] = [.init("cniVersion", .string(config.cniVersion))]
        if !interfaces.isEmpty { fields.append(.init("interfaces", .array(interfaces))) }
        fields.append(.init("ips", .array([.object(ip)])))
        if !ipamOnly {
            fields.append(.init("routes", .array([.object(["dst": .string("0.0.0.0/0"), "gw": .string(WorkloadNetwork.gateway.description)])])))
        }
        fields.append(.init("dns", .object([])))
        return Value.object(fields).prettyJSON()
    }

    /// `ipv4_pools` entries are CIDRs or pool names.
    func resolvePools() throws(CNIError) -> [IPPrefix] {
        var out: [IPPrefix] = []
        for entry in config.ipv4Pools {
            if let p = IPPrefix(entry) { out.append(p); continue }
            let key = ResourceKeys.key(kind: .ipPool, name: entry)
            guard let kv = try storeCall({ () throws(DatastoreError) in try store.get(key) }),
                  case .ipPool(let pool)? = try? ResourceStorage.decode(key: key, bytes: kv.value),
                  let cidr = IPPrefix(pool.spec.cidr) else {
                throw CNIError(CNIError.invalidNetworkConfig, "ipam.ipv4_pools: \"\(entry)\" is neither a CIDR nor an existing IP pool")
            }
            out.append(cidr)
        }
        return out
    }

    // MARK: DEL

    /// Idempotent: releases the handle, removes the veth and the endpoint, whatever is left.
    func del() throws(CNIError) -> String? {
        _ = try ipamCall { () throws(IPAMError) in try ipam.release(handleID: handleID) }
        if ipamOnly { return nil }
        do { _ = try networking.tearDown(hostInterface: hostInterface) } catch { throw CNIError(error) }
        for key in try endpointKeys() {
            do { try store.delete(key) } catch {
                if case .notFound = error { continue }
                throw CNIError(error)
            }
        }
        return nil
    }

    /// Keys of this container's endpoints (the derived name, and any other with its container ID).
    func endpointKeys() throws(CNIError) -> [String] {
        // Fast path: the name derived from this invocation's identifiers (what ADD wrote).
        let derived = ResourceKeys.key(for: Resource(endpoint(address: IPv4Address(0), mac: WorkloadNetwork.hostMAC)))
        if let kv = try storeCall({ () throws(DatastoreError) in try store.get(derived) }),
           case .workloadEndpoint(let w)? = try? ResourceStorage.decode(key: kv.key, bytes: kv.value),
           w.spec.containerID == env.containerID {
            return [derived]
        }
        let prefix = ResourceKeys.listPrefix(kind: .workloadEndpoint)
        let list = try storeCall { () throws(DatastoreError) in try store.list(prefix: prefix) }
        return list.pairs.compactMap { kv in
            guard case .workloadEndpoint(let w)? = try? ResourceStorage.decode(key: kv.key, bytes: kv.value),
                  w.spec.containerID == env.containerID, w.spec.node == node, w.spec.endpoint == env.ifName else { return nil }
            return kv.key
        }
    }

    // MARK: CHECK

    func check() throws(CNIError) -> String? {
        guard let prev = config.prevResult, let ips = prev["ips"]?.arrayValue, !ips.isEmpty else {
            throw CNIError(CNIError.invalidNetworkConfig, "CHECK needs prevResult with ips")
        }
        let held = try ipamCall { () throws(IPAMError) in try ipam.addresses(handleID: handleID) }
        var problems: [String] = []
        var address: IPv4Address? = nil
        for item in ips {
            guard let text = item["address"]?.stringValue, case .success = IPPrefix.parse(text, strict: false),
                  case .v4(let exact)? = IPAddress(String(text.split(separator: "/")[0])) else {
                throw CNIError(CNIError.invalidNetworkConfig, "prevResult.ips: bad IPv4 address \(item.json)")
            }
            address = exact
            if !held.contains(.v4(exact)) { problems.append("\(exact) is not assigned to \(handleID) in IPAM") }
        }
        if !ipamOnly, let address {
            let spec = WorkloadInterfaceSpec(containerID: env.containerID, netnsPath: env.netns, containerInterface: env.ifName,
                                             hostInterface: hostInterface, address: address, mtu: config.mtu)
            do { problems += try networking.check(spec) } catch { throw CNIError(error) }
            if try endpointKeys().isEmpty { problems.append("no WorkloadEndpoint for container \(env.containerID) on \(node)") }
        }
        if !problems.isEmpty {
            throw CNIError(CNIError.checkFailed, problems.joined(separator: "; "))
        }
        return nil
    }

    // MARK: STATUS / GC (1.1.0)

    /// Ready when the datastore answers and some pool can give this node a workload address.
    func status() throws(CNIError) -> String? {
        do {
            if try ipam.usablePools(node: node).isEmpty {
                throw IPAMError.noPools("no enabled IPv4 pool allows Workload addresses on node \(node)")
            }
        } catch {
            throw CNIError(CNIError.pluginNotAvailable, "not ready: \(error)")
        }
        return nil
    }

    /// Releases this node's workload handles not in `cni.dev/valid-attachments`, and their endpoints.
    func gc() throws(CNIError) -> String? {
        guard let valid = config.validAttachments else {
            throw CNIError(CNIError.invalidNetworkConfig, "GC needs cni.dev/valid-attachments")
        }
        let keep = Set(valid)
        let prefix = ResourceKeys.listPrefix(kind: .workloadEndpoint)
        let weps = try storeCall { () throws(DatastoreError) in try store.list(prefix: prefix) }
        for kv in weps.pairs {
            guard case .workloadEndpoint(let w)? = try? ResourceStorage.decode(key: kv.key, bytes: kv.value),
                  w.spec.node == node, !keep.contains(w.spec.containerID) else { continue }
            _ = try ipamCall { () throws(IPAMError) in try ipam.release(handleID: w.spec.containerID) }
            _ = try? networking.tearDown(hostInterface: WorkloadNetwork.hostInterfaceName(containerID: w.spec.containerID))
            _ = try? store.delete(kv.key)
        }
        return nil
    }
}
