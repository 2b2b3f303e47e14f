import NetCore

/// One kernel change. The Linux shell maps each case to one netlink request.
public enum RoutingOperation: Hashable, Sendable, CustomStringConvertible {
    case createDevice(TunnelDevice)
    /// Delete an owned device: stale, or incompatible with the desired one (recreated next).
    case deleteDevice(name: String)
    case setDeviceMTU(name: String, mtu: Int)
    case setDeviceUp(name: String)
    case addAddress(DeviceAddress)
    case deleteAddress(DeviceAddress)
    case setNeighbour(NeighbourKey, MACAddress)
    case deleteNeighbour(NeighbourKey, MACAddress)
    case setFDB(FDBKey, IPAddress)
    case deleteFDB(FDBKey, IPAddress)
    /// `NLM_F_CREATE | NLM_F_REPLACE`: idempotent, also takes a prefix over.
    case replaceRoute(Route)
    case deleteRoute(Route)
    case setSysctl(SysctlKey, String)

    public var isDeletion: Bool {
        switch self {
        case .deleteDevice, .deleteAddress, .deleteNeighbour, .deleteFDB, .deleteRoute: true
        default: false
        }
    }

    /// The device the operation needs (or removes).
    public var device: String? {
        switch self {
        case .createDevice(let d): d.name
        case .deleteDevice(let n), .setDeviceMTU(let n, _), .setDeviceUp(let n): n
        case .addAddress(let a), .deleteAddress(let a): a.device
        case .setNeighbour(let k, _), .deleteNeighbour(let k, _): k.device
        case .setFDB(let k, _), .deleteFDB(let k, _): k.device
        case .replaceRoute, .deleteRoute, .setSysctl: nil
        }
    }

    public var description: String {
        switch self {
        case .createDevice(let d): "create \(d)"
        case .deleteDevice(let n): "delete device \(n)"
        case .setDeviceMTU(let n, let m): "set \(n) mtu \(m)"
        case .setDeviceUp(let n): "set \(n) up"
        case .addAddress(let a): "add address \(a)"
        case .deleteAddress(let a): "delete address \(a)"
        case .setNeighbour(let k, let m): "replace neighbour \(k) lladdr \(m) permanent"
        case .deleteNeighbour(let k, _): "delete neighbour \(k)"
        case .setFDB(let k, let ip): "replace fdb \(k) dst \(ip)"
        case .deleteFDB(let k, _): "delete fdb \(k)"
        case .replaceRoute(let r): "replace route \(r)"
        case .deleteRoute(let r): "delete route \(r)"
        case .setSysctl(let k, let v): "sysctl \(k)=\(v)"
        }
    }
}

/// Which keys a plan looks at: everything (full resync), or only the keys touched since the
/// last apply (incremental; what keeps adding one workload among 10,000 cheap).
public struct DirtyKeys: Hashable, Sendable {
    public var routes: Set<RouteKey> = []
    public var neighbours: Set<NeighbourKey> = []
    public var fdb: Set<FDBKey> = []
    public var sysctls: Set<SysctlKey> = []
    /// Devices and addresses are few: any change there plans them all.
    public var devices = false

    public init() {}

    public var isEmpty: Bool { routes.isEmpty && neighbours.isEmpty && fdb.isEmpty && sysctls.isEmpty && !devices }

    /// Marks every key present in `state`.
    public mutating func insert(keysOf state: RoutingState) {
        routes.formUnion(state.routes.keys); neighbours.formUnion(state.neighbours.keys)
        fdb.formUnion(state.fdb.keys); sysctls.formUnion(state.sysctls.keys)
        if !state.devices.isEmpty || !state.addresses.isEmpty { devices = true }
    }
}

public enum PlanScope: Hashable, Sendable {
    case everything
    case only(DirtyKeys)
}

/// The diff: desired vs actual → ordered operations. Creation order is devices, addresses,
/// neighbours and FDB entries, routes, sysctls; deletions run in the reverse order, after all
/// creations. Deletions of stale objects happen only with `sweep` (after in-sync); repairs of
/// an incompatible device (delete + create) always happen.
public enum RoutingPlanner {
    public static func plan(desired: RoutingState, actual: RoutingState, sweep: Bool,
                            scope: PlanScope = .everything) -> [RoutingOperation] {
        var actual = actual
        var scope = scope
        var head: [RoutingOperation] = []   // repairs that must precede creation
        var creates: [RoutingOperation] = []
        var deletes: [RoutingOperation] = []

        let planDevices: Bool = { if case .only(let d) = scope { return d.devices }; return true }()
        if planDevices {
            for name in desired.devices.keys.sorted() {
                let want = desired.devices[name]!
                if let have = actual.devices[name] {
                    if !want.isCompatible(with: have) {
                        head.append(.deleteDevice(name: name))
                        creates.append(.createDevice(want))
                        creates.append(.setDeviceUp(name: name))
                        forget(device: name, in: &actual)
                        scope = .everything   // everything on that device must be re-added
                    } else {
                        if want.mtu != have.mtu { creates.append(.setDeviceMTU(name: name, mtu: want.mtu)) }
                        if actual.devicesDown.contains(name) { creates.append(.setDeviceUp(name: name)) }
                    }
                } else {
                    creates.append(.createDevice(want))
                    creates.append(.setDeviceUp(name: name))
                    forget(device: name, in: &actual)
                }
            }
            for a in desired.addresses.subtracting(actual.addresses).sorted() { creates.append(.addAddress(a)) }
            if sweep {
                for a in actual.addresses.subtracting(desired.addresses).sorted() where desired.devices[a.device] != nil {
                    deletes.append(.deleteAddress(a))   // addresses on deleted devices go with them
                }
            }
        }

        let keys: DirtyKeys?
        if case .only(let d) = scope { keys = d } else { keys = nil }

        var neighbourDeletes: [RoutingOperation] = [], fdbDeletes: [RoutingOperation] = []
        var routeDeletes: [RoutingOperation] = []
        for k in candidates(keys?.neighbours, desired.neighbours, actual.neighbours) {
            switch (desired.neighbours[k], actual.neighbours[k]) {
            case (let w?, let h): if w != h { creates.append(.setNeighbour(k, w)) }
            case (nil, let h?): if sweep { neighbourDeletes.append(.deleteNeighbour(k, h)) }
            case (nil, nil): break
            }
        }
        for k in candidates(keys?.fdb, desired.fdb, actual.fdb) {
            switch (desired.fdb[k], actual.fdb[k]) {
            case (let w?, let h): if w != h { creates.append(.setFDB(k, w)) }
            case (nil, let h?): if sweep { fdbDeletes.append(.deleteFDB(k, h)) }
            case (nil, nil): break
            }
        }
        for k in candidates(keys?.routes, desired.routes, actual.routes) {
            switch (desired.routes[k], actual.routes[k]) {
            case (let w?, let h): if w != h { creates.append(.replaceRoute(w)) }
            case (nil, let h?): if sweep { routeDeletes.append(.deleteRoute(h)) }
            case (nil, nil): break
            }
        }
        for k in candidates(keys?.sysctls, desired.sysctls, [:]) {
            if let w = desired.sysctls[k], actual.sysctls[k] != w { creates.append(.setSysctl(k, w)) }
        }

        deletes = routeDeletes + fdbDeletes + neighbourDeletes + deletes
        if planDevices && sweep {
            for name in actual.devices.keys.sorted() where desired.devices[name] == nil {
                deletes.append(.deleteDevice(name: name))
            }
        }
        return head + creates + deletes
    }

    /// Keys to look at, sorted for a deterministic plan.
    static func candidates<K: Hashable & Comparable, V>(_ dirty: Set<K>?, _ desired: [K: V], _ actual: [K: V]) -> [K] {
        if let dirty { return dirty.sorted() }
        var all = Set(desired.keys)
        all.formUnion(actual.keys)
        return all.sorted()
    }

    /// Drops everything that lives on `device` from the actual state (it is being recreated, or
    /// the kernel removed it with its routes and neighbours).
    public static func forget(device: String, in s: inout RoutingState) {
        s.addresses = s.addresses.filter { $0.device != device }
        s.neighbours = s.neighbours.filter { $0.key.device != device }
        s.fdb = s.fdb.filter { $0.key.device != device }
        s.routes = s.routes.filter { !$0.value.devices.contains(device) }
    }

    /// Applies successful operations to a cached actual state (what the kernel now holds).
    public static func record(_ op: RoutingOperation, in s: inout RoutingState) {
        switch op {
        case .createDevice(let d): s.devices[d.name] = d; s.devicesDown.insert(d.name)
        case .deleteDevice(let n): s.devices[n] = nil; s.devicesDown.remove(n); forget(device: n, in: &s)
        case .setDeviceMTU(let n, let m):
            switch s.devices[n] {
            case .vxlan(var d)?: d.mtu = m; s.devices[n] = .vxlan(d)
            case .ipip(var d)?: d.mtu = m; s.devices[n] = .ipip(d)
            case .foreign(let name, let kind, _)?: s.devices[n] = .foreign(name: name, kind: kind, mtu: m)
            case nil: break
            }
        case .setDeviceUp(let n): s.devicesDown.remove(n)
        case .addAddress(let a): s.addresses.insert(a)
        case .deleteAddress(let a): s.addresses.remove(a)
        case .setNeighbour(let k, let m): s.neighbours[k] = m
        case .deleteNeighbour(let k, _): s.neighbours[k] = nil
        case .setFDB(let k, let ip): s.fdb[k] = ip
        case .deleteFDB(let k, _): s.fdb[k] = nil
        case .replaceRoute(let r): s.routes[r.key] = r
        case .deleteRoute(let r): s.routes[r.key] = nil
        case .setSysctl(let k, let v): s.sysctls[k] = v
        }
    }
}
