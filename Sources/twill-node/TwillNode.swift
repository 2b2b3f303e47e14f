// twill-node: the per-node agent. Argument parsing and wiring only; the logic is in NodeAgent.
import ArgumentParser
import Dispatch
import Foundation
import Logging
import Posix
import NetCore
import NodeAgent

@main
struct TwillNode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twill-node",
        abstract: "Twill's per-node agent: registers the node, peers over BGP, programs routes.",
        subcommands: [Run.self, RenderBIRD.self],
        defaultSubcommand: Run.self)
}

/// Flags shared by the subcommands; each has the environment variable calico-node reads.
struct NodeFlags: ParsableArguments {
    @Option(name: .long, help: "This node's name (env NODENAME).")
    var nodeName: String?
    @Option(name: .long, help: "Datastore URL: sqlite:///PATH or etcd://HOST:PORT[,…] (env TWILL_DATASTORE).")
    var datastore: String?

    var resolvedNodeName: String {
        get throws {
            if let n = nodeName ?? env("NODENAME") ?? env("HOSTNAME"), !n.isEmpty { return n }
            throw ValidationError("--node-name: required (or set NODENAME)")
        }
    }
    var resolvedDatastore: String? { datastore ?? env("TWILL_DATASTORE") }
}

func env(_ name: String) -> String? {
    guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
    return v
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the agent (the default).")

    @OptionGroup var node: NodeFlags
    @Option(name: .long, help: "IPv4 address: ADDR/PLEN, autodetect, or a Calico autodetection method such as can-reach=DEST, interface=REGEX, cidr=CIDR (env IP, IP_AUTODETECTION_METHOD).")
    var ip: String?
    @Option(name: .long, help: "IPv6 address: ADDR/PLEN, autodetect or none (env IP6, IP6_AUTODETECTION_METHOD).")
    var ip6: String?
    @Option(name: .long, help: "This node's AS number (env AS); default: the BGPConfiguration's.")
    var `as`: String?
    @Option(name: .long, help: "Control socket for twillctl node status.")
    var controlSocket: String = "/run/twill/twill-node.ctl"
    @Option(name: .long, help: "BGP speaker: native (Twill's own) or bird (env TWILL_BGP_BACKEND).")
    var bgpBackend: String?
    @Option(name: .long, help: "Port of /liveness and /readiness; 0 disables (env FELIX_HEALTHPORT; default 9099).")
    var healthPort: Int?
    @Option(name: .long, help: "Port of the Prometheus /metrics; 0 disables (env FELIX_PROMETHEUSMETRICSPORT when FELIX_PROMETHEUSMETRICSENABLED is true; default 9091).")
    var metricsPort: Int?
    @Option(name: .long, help: "Address the health and metrics ports bind.")
    var healthHost: String = "0.0.0.0"
    @Option(name: .long, help: "Log level: debug, info, warning, error (env TWILL_LOG_LEVEL).")
    var logLevel: String?
    @Option(name: .long, help: "Directory for the BIRD backend's config and socket.")
    var birdDir: String = "/run/twill"

    /// An integer flag, else an integer environment variable (named in the error), else a default.
    static func port(_ flag: Int?, env name: String, default value: Int) throws -> Int {
        if let flag { return flag }
        guard let text = env(name) else { return value }
        guard let n = Int(text), (0...65535).contains(n) else { throw ValidationError("\(name): \"\(text)\" is not a port") }
        return n
    }

    func run() throws {
        ProcessMemory.limitMallocArenas()
        let logLevel = self.logLevel ?? env("TWILL_LOG_LEVEL") ?? "info"
        let healthPort = try Self.port(self.healthPort, env: "FELIX_HEALTHPORT", default: 9099)
        let metricsEnabled = (env("FELIX_PROMETHEUSMETRICSENABLED") ?? "true").lowercased() != "false"
        let envMetricsPort = try Self.port(nil, env: "FELIX_PROMETHEUSMETRICSPORT", default: 9091)
        let metricsPort = self.metricsPort ?? (metricsEnabled ? envMetricsPort : 0)
        guard let level = Logger.Level(rawValue: logLevel.lowercased() == "warn" ? "warning" : logLevel.lowercased()) else {
            throw ValidationError("--log-level: \"\(logLevel)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        let name = try node.resolvedNodeName
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "twill.node")
        logger[metadataKey: "node"] = "\(name)"
        var asNumber: ASNumber?
        if let text = self.as ?? env("AS") {
            guard let a = ASNumber(text) else { throw ValidationError("--as: \"\(text)\" is not an AS number (plain or asdot)") }
            asNumber = a
        }
        let backendText = bgpBackend ?? env("TWILL_BGP_BACKEND") ?? "native"
        guard let backend = AgentOptions.Backend(rawValue: backendText) else {
            throw ValidationError("--bgp-backend: \"\(backendText)\" is not native or bird")
        }
        try FileManager.default.createDirectory(atPath: birdDir, withIntermediateDirectories: true)
        let options = AgentOptions(
            nodeName: name, datastoreURL: node.resolvedDatastore,
            ipv4: ip ?? env("IP") ?? env("IP_AUTODETECTION_METHOD") ?? "autodetect",
            ipv6: ip6 ?? env("IP6") ?? env("IP6_AUTODETECTION_METHOD") ?? "none",
            asNumber: asNumber, controlSocket: controlSocket, backend: backend,
            healthPort: healthPort, metricsPort: metricsPort, healthHost: healthHost,
            birdConfigPath: birdDir + "/bird-\(name).cfg", birdSocket: birdDir + "/bird-\(name).ctl",
            defaultPool: try DefaultPool(environment: ProcessInfo.processInfo.environment))
        let agent = NodeAgent(options: options, logger: logger)
        // SIGTERM/SIGINT: clean shutdown, routes stay programmed.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let done = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { done.signal() }
            s.resume()
            sources.append(s)
        }
        let failure = Failure()
        DispatchQueue.global().async {
            do { try agent.start() } catch {
                failure.set("\(error)")
                done.signal()
            }
        }
        done.wait()
        agent.stop()
        for s in sources { s.cancel() }
        if let message = failure.message {
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            throw ExitCode(1)
        }
    }
}

final class Failure: @unchecked Sendable {
    private let lock = NSLock()
    private var text: String?
    var message: String? { lock.withLock { text } }
    func set(_ m: String) { lock.withLock { text = m } }
}

struct RenderBIRD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render-bird",
        abstract: "Print the BIRD 2 configuration for this node's peers and filters (as calico-node's confd renders it).")

    @OptionGroup var node: NodeFlags

    func run() throws {
        let text = try renderBIRDConfig(url: node.resolvedDatastore, nodeName: try node.resolvedNodeName)
        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
    }
}
