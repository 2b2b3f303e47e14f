import CNetlink
import CNetlinkWorkload
import Glibc
import NetCore

/// Why wiring a workload failed.
public enum WorkloadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The network namespace path cannot be opened or entered.
    case netns(path: String, reason: String)
    /// An interface of that name already exists where the plugin would create it.
    case interfaceExists(String)
    case netlink(NetlinkError)
    case sysctl(path: String, reason: String)
    case missing(String)

    public var description: String {
        switch self {
        case .netns(let p, let r): "network namespace \(p): \(r)"
        case .interfaceExists(let n): "interface \(n) already exists"
        case .netlink(let e): e.description
        case .sysctl(let p, let r): "sysctl \(p): \(r)"
        case .missing(let what): what
        }
    }
}

/// What the plugin wires for one pod (Calico's point-to-point veth model).
public struct WorkloadInterfaceSpec: Sendable, Hashable {
    public var containerID: String
    public var netnsPath: String
    /// Name inside the container (CNI_IFNAME).
    public var containerInterface: String
    /// Name on the host (`WorkloadNetwork.hostInterfaceName`).
    public var hostInterface: String
    public var address: IPv4Address
    public var mtu: Int

    public init(containerID: String, netnsPath: String, containerInterface: String, hostInterface: String,
                address: IPv4Address, mtu: Int) {
        self.containerID = containerID; self.netnsPath = netnsPath; self.containerInterface = containerInterface
        self.hostInterface = hostInterface; self.address = address; self.mtu = mtu
    }
}

public struct WorkloadInterfaceResult: Sendable, Hashable {
    public var hostMAC: MACAddress
    public var containerMAC: MACAddress
    public var hostIndex: Int32
    public var containerIndex: Int32

    public init(hostMAC: MACAddress, containerMAC: MACAddress, hostIndex: Int32, containerIndex: Int32) {
        self.hostMAC = hostMAC; self.containerMAC = containerMAC; self.hostIndex = hostIndex; self.containerIndex = containerIndex
    }
}

/// Kernel side of the CNI plugin, through libnl only: veth pair with the container end created
/// directly in the pod's namespace under its final name, the pod's /32 address, a scope-link
/// route to 169.254.1.1 and a default route via it, a permanent neighbour entry for the
/// gateway; on the host proxy_arp and forwarding on the veth and a /32 route to the pod.
public enum WorkloadNetwork {
    public static let gateway = IPv4Address(169, 254, 1, 1)
    /// Calico's host-side veth MAC: every pod sees the same gateway MAC.
    public static let hostMAC = MACAddress(bytes: [0xee, 0xee, 0xee, 0xee, 0xee, 0xee])!

    /// `tw` + 11 hex digits of a hash of the container ID: stable, unique enough per node,
    /// 13 characters (Linux allows 15).
    public static func hostInterfaceName(containerID: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a 64
        for b in containerID.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h >> 20, radix: 16)
        return "tw" + String(repeating: "0", count: max(0, 11 - hex.count)) + hex
    }

    static func openNetns(_ path: String) throws(WorkloadError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .netns(path: path, reason: String(cString: strerror(errno))) }
        return fd
    }

    static func wrap<T>(_ body: () throws(NetlinkError) -> T) throws(WorkloadError) -> T {
        do { return try body() } catch { throw .netlink(error) }
    }

    /// Wires the pod. On failure the host veth (and with it the container end) is removed.
    public static func setUp(_ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> WorkloadInterfaceResult {
        let fd = try openNetns(spec.netnsPath)
        defer { close(fd) }
        let host = try wrap { () throws(NetlinkError) in try WLSocket() }
        if let existing = try wrap({ () throws(NetlinkError) in try host.link(named: spec.hostInterface) }) {
            rtnl_link_put(existing)
            throw .interfaceExists(spec.hostInterface)
        }
        try createVeth(host, spec, netnsFD: fd)
        do {
            let containerSide = try inNetworkNamespace(fd) { () throws(WorkloadError) -> (MACAddress, Int32) in
                try configureContainer(spec)
            }
            let (hostIndex, hostMAC) = try configureHost(host, spec)
            return WorkloadInterfaceResult(hostMAC: hostMAC, containerMAC: containerSide.0, hostIndex: hostIndex, containerIndex: containerSide.1)
        } catch {
            _ = try? tearDown(hostInterface: spec.hostInterface)
            throw error
        }
    }

    static func createVeth(_ s: WLSocket, _ spec: WorkloadInterfaceSpec, netnsFD: Int32) throws(WorkloadError) {
        guard let veth = rtnl_link_veth_alloc() else { throw .netlink(NetlinkError(code: NLE_NOMEM, operation: "allocate veth")) }
        defer { rtnl_link_put(veth) }
        rtnl_link_set_name(veth, spec.hostInterface)
        rtnl_link_set_mtu(veth, UInt32(spec.mtu))
        let mac = NLAddress(mac: hostMAC)
        rtnl_link_set_addr(veth, mac.raw)
        // Not IFF_UP here: the kernel refuses flags on a veth create carrying a peer netns
        // (NLE_FAILURE); both ends are set up once configured.
        guard let peer = rtnl_link_veth_get_peer(veth) else { throw .missing("veth has no peer object") }
        defer { rtnl_link_put(peer) }
        rtnl_link_set_name(peer, spec.containerInterface)
        rtnl_link_set_mtu(peer, UInt32(spec.mtu))
        rtnl_link_set_ns_fd(peer, netnsFD)
        let rc = rtnl_link_add(s.raw, veth, NLM_F_CREATE | NLM_F_EXCL)
        if rc == -NLE_EXIST { throw .interfaceExists("\(spec.hostInterface) or \(spec.containerInterface) in \(spec.netnsPath)") }
        if rc < 0 { throw .netlink(NetlinkError(code: rc, operation: "create veth \(spec.hostInterface) / \(spec.containerInterface)")) }
    }

    /// Runs inside the pod's namespace.
    static func configureContainer(_ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> (MACAddress, Int32) {
        try wrap { () throws(NetlinkError) -> (MACAddress, Int32) in
            let s = try WLSocket()
            guard let link = try s.link(named: spec.containerInterface) else {
                throw NetlinkError(code: NLE_OBJ_NOTFOUND, operation: "find \(spec.containerInterface) in the container")
            }
            defer { rtnl_link_put(link) }
            let index = rtnl_link_get_ifindex(link)
            try s.setUp(link, name: spec.containerInterface)
            try s.addAddress(.v4(spec.address), prefixLength: 32, ifindex: index)
            try s.addRoute(IPPrefix(.v4(gateway), length: 32), ifindex: index, scopeLink: true)
            try s.addRoute(IPPrefix(.v4(.any), length: 0), ifindex: index, gateway: .v4(gateway), scopeLink: false)
            try s.addPermanentNeighbour(.v4(gateway), mac: hostMAC, ifindex: index)
            guard let mac = NLConvert.mac(rtnl_link_get_addr(link)) else {
                throw NetlinkError(code: NLE_NOADDR, operation: "read MAC of \(spec.containerInterface)")
            }
            return (mac, index)
        }
    }

    static func configureHost(_ s: WLSocket, _ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> (Int32, MACAddress) {
        guard let link = try wrap({ () throws(NetlinkError) in try s.link(named: spec.hostInterface) }) else {
            throw .missing("host interface \(spec.hostInterface) vanished after creation")
        }
        defer { rtnl_link_put(link) }
        let index = rtnl_link_get_ifindex(link)
        try wrap { () throws(NetlinkError) in try s.setUp(link, name: spec.hostInterface) }
        let conf = "/proc/sys/net/ipv4/conf/\(spec.hostInterface)/"
        try writeSysctl(conf + "proxy_arp", "1")
        try writeSysctl(conf + "forwarding", "1")
        try writeSysctl("/proc/sys/net/ipv4/neigh/\(spec.hostInterface)/proxy_delay", "0")
        try wrap { () throws(NetlinkError) in
            try s.addRoute(IPPrefix(host: .v4(spec.address)), ifindex: index, scopeLink: true)
        }
        return (index, NLConvert.mac(rtnl_link_get_addr(link)) ?? hostMAC)
    }

    static func writeSysctl(_ path: String, _ value: String) throws(WorkloadError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .sysctl(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n != bytes.count { throw .sysctl(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Removes the host veth (the kernel removes its peer and the /32 route with it).
    /// Returns false when it did not exist.
    @discardableResult
    public static func tearDown(hostInterface: String) throws(WorkloadError) -> Bool {
        try wrap { () throws(NetlinkError) -> Bool in
            let s = try WLSocket()
            guard let link = try s.link(named: hostInterface) else { return false }
            defer { rtnl_link_put(link) }
            let rc = rtnl_link_delete(s.raw, link)
            if rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV { return false }
            try s.check(rc, "delete \(hostInterface)")
            return true
        }
    }

    /// CHECK: everything `setUp` made is still there. Returns the problems found.
    public static func check(_ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> [String] {
        var problems: [String] = []
        let s = try wrap { () throws(NetlinkError) in try WLSocket() }
        guard let link = try wrap({ () throws(NetlinkError) in try s.link(named: spec.hostInterface) }) else {
            return ["host interface \(spec.hostInterface) does not exist"]
        }
        let hostIndex = rtnl_link_get_ifindex(link)
        if rtnl_link_get_flags(link) & twill_wl_iff_up() == 0 { problems.append("host interface \(spec.hostInterface) is down") }
        rtnl_link_put(link)
        let podRoute = IPPrefix(host: .v4(spec.address))
        let hostRoutes = try wrap { () throws(NetlinkError) in try s.routes() }
        if !hostRoutes.contains(where: { $0.dst == podRoute && $0.ifindex == hostIndex }) {
            problems.append("host has no route \(podRoute) dev \(spec.hostInterface)")
        }
        let fd = try openNetns(spec.netnsPath)
        defer { close(fd) }
        problems += try inNetworkNamespace(fd) { () throws(WorkloadError) -> [String] in
            try wrap { () throws(NetlinkError) -> [String] in
                let c = try WLSocket()
                guard let l = try c.link(named: spec.containerInterface) else {
                    return ["container interface \(spec.containerInterface) does not exist"]
                }
                let index = rtnl_link_get_ifindex(l)
                rtnl_link_put(l)
                var p: [String] = []
                if !(try c.addresses(ifindex: index)).contains(IPPrefix(host: .v4(spec.address))) {
                    p.append("container interface \(spec.containerInterface) lacks \(spec.address)/32")
                }
                if !(try c.routes()).contains(where: { $0.dst.length == 0 && $0.gateway == .v4(gateway) && $0.ifindex == index }) {
                    p.append("container has no default route via \(gateway)")
                }
                return p
            }
        }
        return problems
    }
}
