import Datastore
import DataplaneLinux
import IPAM
import NetCore
import NodeModel

/// The kernel work behind ADD/DEL/CHECK; `LinuxWorkloadNetworking` in production, a fake in
/// tests of the plugin logic.
public protocol WorkloadNetworking: Sendable {
    func netnsExists(_ path: String) -> Bool
    func setUp(_ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> WorkloadInterfaceResult
    func tearDown(hostInterface: String) throws(WorkloadError) -> Bool
    func check(_ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> [String]
}

/// One CNI invocation: environment + stdin in, stdout + exit code out (spec §Protocol).
public struct CNIPlugin {
    public var environment: [String: String]
    public var stdin: [UInt8]
    public var hostname: String
    public var networking: any WorkloadNetworking
    public var openStore: (String?) throws(DatastoreError) -> any Datastore

    public init(environment: [String: String], stdin: [UInt8], hostname: String, networking: any WorkloadNetworking,
                openStore: @escaping (String?) throws(DatastoreError) -> any Datastore = { u throws(DatastoreError) in try openDatastore(url: u) }) {
        self.environment = environment; self.stdin = stdin; self.hostname = hostname
        self.networking = networking; self.openStore = openStore
    }

    public struct Output: Sendable, Hashable {
        public var stdout: String
        public var exitCode: Int32
        /// Log lines for stderr (runtimes keep the plugin's stderr), filtered by `log_level`.
        public var stderr: String = ""
    }

    public func run() -> Output {
        var version = CNIVersions.current
        var level = "info"
        func log(_ lineLevel: String, _ text: String) -> String {
            let order = ["debug": 0, "info": 1, "warning": 2, "error": 3, "none": 9]
            guard (order[lineLevel] ?? 1) >= (order[level.lowercased()] ?? 1) else { return "" }
            let cmd = environment["CNI_COMMAND"] ?? "-", ctr = environment["CNI_CONTAINERID"] ?? "-"
            return "twill-cni \(lineLevel) command=\(cmd) container=\(ctr): \(text)\n"
        }
        do throws(CNIError) {
            let env = try CNIEnvironment(environment)
            if env.command == .version {
                let supported = Value.array(CNIVersions.supported.map(Value.string))
                return Output(stdout: Value.object(["cniVersion": .string(CNIVersions.current), "supportedVersions": supported]).prettyJSON() + "\n", exitCode: 0)
            }
            let config = try NetworkConfig(bytes: stdin)
            version = config.cniVersion
            level = config.logLevel
            guard CNIVersions.supported.contains(config.cniVersion) else {
                version = CNIVersions.current
                throw CNIError(CNIError.incompatibleVersion, "cniVersion \(config.cniVersion) is not supported",
                               details: "supported: \(CNIVersions.supported.joined(separator: ", "))")
            }
            if env.command == .check, !CNIVersions.atLeast(config.cniVersion, "0.4.0") {
                throw CNIError(CNIError.incompatibleVersion, "CHECK needs cniVersion 0.4.0 or later, config has \(config.cniVersion)")
            }
            if [.gc, .status].contains(env.command), !CNIVersions.atLeast(config.cniVersion, "1.1.0") {
                throw CNIError(CNIError.incompatibleVersion, "\(env.command.rawValue) needs cniVersion 1.1.0 or later, config has \(config.cniVersion)")
            }
            let run = Invocation(env: env, config: config, node: config.nodename ?? hostname, networking: networking,
                                 store: try open(config))
            let out: String? = switch env.command {
            case .add: try run.add()
            case .del: try run.del()
            case .check: try run.check()
            case .status: try run.status()
            case .gc: try run.gc()
            case .version: nil
            }
            let summary = out.flatMap { try? Value(json: $0) }?["ips"]?.arrayValue?.compactMap { $0["address"]?.stringValue }
            return Output(stdout: out.map { $0 + "\n" } ?? "", exitCode: 0,
                          stderr: log("info", "ok" + (summary.map { " ips=\($0.joined(separator: ","))" } ?? "")))
        } catch {
            return Output(stdout: error.json(cniVersion: version) + "\n", exitCode: 1,
                          stderr: log("error", "code \(error.code): \(error.msg)"))
        }
    }

    func open(_ config: NetworkConfig) throws(CNIError) -> any Datastore {
        do { return try openStore(config.datastore) } catch {
            switch error {
            case .invalidURL, .notBuilt: throw CNIError(CNIError.invalidNetworkConfig, "datastore: \(error)")
            default: throw CNIError(CNIError.tryAgainLater, "datastore: \(error)")
            }
        }
    }
}

/// Maps IPAM and kernel failures to CNI codes.
extension CNIError {
    init(_ e: IPAMError) {
        switch e {
        case .noPools, .exhausted: self.init(CNIError.noAddresses, e.description)
        case .contention, .datastore(.unavailable): self.init(CNIError.tryAgainLater, e.description)
        case .datastore: self.init(CNIError.datastoreFailure, e.description)
        case .invalidRequest, .notAllocated, .corrupt: self.init(CNIError.ipamFailure, e.description)
        }
    }

    init(_ e: WorkloadError) {
        switch e {
        case .netns(let path, let reason):
            self.init(CNIError.invalidEnvironment, "CNI_NETNS \(path): \(reason)")
        default: self.init(CNIError.interfaceFailure, e.description)
        }
    }

    init(_ e: DatastoreError) {
        if case .unavailable = e { self.init(CNIError.tryAgainLater, e.description) }
        else { self.init(CNIError.datastoreFailure, e.description) }
    }
}
