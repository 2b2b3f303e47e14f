import NetCore

/// How `twill-node` was started (flags or their environment equivalents).
public struct AgentOptions: Sendable {
    public enum Backend: String, Sendable, CaseIterable { case native, bird }

    public var nodeName: String
    /// Datastore URL (`sqlite:///path`, `etcd://host:port,…`); nil uses the default.
    public var datastoreURL: String?
    /// `ADDR/PLEN`, `autodetect` (first-found), or an autodetection method (`can-reach=…`, …).
    public var ipv4: String
    /// `ADDR/PLEN`, `autodetect`, or `none`.
    public var ipv6: String
    public var asNumber: ASNumber?
    public var controlSocket: String?
    public var backend: Backend
    /// Health (`/liveness`, `/readiness`) and Prometheus `/metrics` ports; 0 disables.
    public var healthPort: Int
    public var metricsPort: Int
    public var healthHost: String
    /// BIRD backend files.
    public var birdConfigPath: String
    public var birdSocket: String
    public var labels: [String: String]
    /// calico-node's default pool from `CALICO_IPV4POOL_*`, created when no pool exists.
    public var defaultPool: DefaultPool?

    public init(nodeName: String, datastoreURL: String? = nil, ipv4: String = "autodetect", ipv6: String = "none",
                asNumber: ASNumber? = nil, controlSocket: String? = nil, backend: Backend = .native,
                healthPort: Int = 9099, metricsPort: Int = 9091, healthHost: String = "0.0.0.0",
                birdConfigPath: String = "/run/twill/bird.cfg", birdSocket: String = "/run/twill/bird.ctl",
                labels: [String: String] = [:], defaultPool: DefaultPool? = nil) {
        self.nodeName = nodeName; self.datastoreURL = datastoreURL; self.ipv4 = ipv4; self.ipv6 = ipv6
        self.asNumber = asNumber; self.controlSocket = controlSocket; self.backend = backend
        self.healthPort = healthPort; self.metricsPort = metricsPort; self.healthHost = healthHost
        self.birdConfigPath = birdConfigPath; self.birdSocket = birdSocket; self.labels = labels
        self.defaultPool = defaultPool
    }
}

/// A startup failure that stops the agent with a message naming what is wrong.
public struct AgentError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
