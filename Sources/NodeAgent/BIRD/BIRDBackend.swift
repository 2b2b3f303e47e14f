import Calc
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Why the BIRD backend could not do what was asked. Each case names the file, command or
/// BIRD message involved.
public enum BIRDBackendError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input cannot be written as a BIRD configuration (Calc's renderer said why).
    case render(BIRDRenderError)
    /// `bird -p -c` refused the rendered configuration; nothing was installed. `message` is BIRD's.
    case rejected(message: String)
    /// The configuration file could not be written or renamed into place.
    case write(path: String, reason: String)
    /// BIRD did not come up (it exited, or its control socket never answered); `message`
    /// holds the end of its output.
    case start(message: String)
    /// `birdc configure` did not answer "Reconfigured" / "Reconfiguration in progress".
    case reconfigure(reply: String)
    /// A birdc command failed (BIRD not running, socket missing…).
    case birdc(command: String, message: String)
    /// The backend was stopped; it applies nothing more.
    case stopped
    /// BIRD's `show protocols` output did not parse.
    case protocolTable(BIRDProtocolTableError)

    public var description: String {
        switch self {
        case .render(let e): "BIRD configuration: \(e)"
        case .rejected(let m): "BIRD rejected the configuration (nothing installed): \(m)"
        case .write(let path, let reason): "cannot write BIRD configuration \(path): \(reason)"
        case .start(let m): "BIRD did not start: \(m)"
        case .reconfigure(let reply): "birdc configure failed: \(reply)"
        case .birdc(let command, let m): "birdc \(command): \(m)"
        case .stopped: "the BIRD backend is stopped"
        case .protocolTable(let e): "birdc show protocols: \(e)"
        }
    }
}

/// What `apply` did.
public enum BIRDApplyOutcome: Hashable, Sendable {
    /// BIRD was not running: the configuration was installed and BIRD started with it.
    case started
    /// A BIRD left running on the control socket by a previous agent (killed, restarted) was
    /// given the configuration with `birdc configure` and kept: its sessions and routes
    /// continue. The backend watches it and starts its own BIRD once it exits.
    case adopted
    /// The configuration changed: installed and loaded with `birdc configure`.
    case reconfigured
    /// The rendered text is what BIRD already runs: nothing done.
    case unchanged
}

/// BIRD 2 as the node's BGP speaker, as calico-node runs it: the agent renders bird.cfg from
/// the datastore (Calc's `BIRDRenderer`, confd's templates), checks it with `bird -p`, installs
/// it atomically, runs `bird -f` as a supervised child and reloads it with `birdc configure`
/// when the rendered text changes. BIRD's kernel protocol programs the routes it learns.
///
/// Thread-safe: calls are serialised on an internal lock (apply, peerStatuses and stop may come
/// from different threads).
public final class BIRDBackend: @unchecked Sendable {
    public let configPath: String
    public let controlSocket: String
    public let birdBinary: String
    public let birdcBinary: String
    let logger: Logger

    /// Seconds to wait for a command (`bird -p`, `birdc`) and for BIRD's control socket at start.
    public var commandTimeout: Double = 10
    /// Seconds `stop()` waits after SIGTERM before SIGKILL.
    public var stopTimeout: Double = 5

    /// Appended to every rendered configuration: BIRD's log is the agent's log.
    static let logStanza = "\n# twill-node: BIRD logs to stderr, which the agent reads into its own log.\nlog stderr all;\n"

    // Invariant: the vars below are only touched with `lock` held (`apply`, `stop` and the
    // accessors take it for their whole run).
    private let lock = NSLock()
    private var supervisor: BIRDSupervisor?
    /// The text BIRD runs (the file at `configPath`), once installed.
    private var installed: String?
    private var stopped = false
    private var reconfigurations = 0

    public init(configPath: String, controlSocket: String, birdBinary: String = "bird", birdcBinary: String = "birdc",
                logger: Logger) {
        self.configPath = configPath; self.controlSocket = controlSocket
        self.birdBinary = birdBinary; self.birdcBinary = birdcBinary; self.logger = logger
    }

    /// The running BIRD's process id (nil when none is running).
    public var processID: Int32? { lock.withLock { supervisor?.snapshot.pid } }

    /// How many times BIRD was started by this backend (restarts after a crash included).
    public var startCount: Int { lock.withLock { supervisor?.snapshot.starts ?? 0 } }

    /// How many `birdc configure` this backend ran successfully.
    public var reconfigurationCount: Int { lock.withLock { reconfigurations } }

    /// The configuration text BIRD was last given (rendered + the log stanza), nil before the first apply.
    public var installedConfiguration: String? { lock.withLock { installed } }

    /// Renders `input`, and installs and loads it when it differs from what BIRD runs. A
    /// configuration BIRD rejects is not installed (the running one stays) and the error
    /// carries BIRD's message.
    @discardableResult
    public func apply(_ input: BIRDConfigInput) throws(BIRDBackendError) -> BIRDApplyOutcome {
        let rendered: String
        do { rendered = try BIRDRenderer.render(input) } catch { throw .render(error) }
        return try apply(text: rendered + Self.logStanza)
    }

    func apply(text: String) throws(BIRDBackendError) -> BIRDApplyOutcome {
        lock.lock(); defer { lock.unlock() }
        guard !stopped else { throw .stopped }
        let running = supervisor.map { !$0.snapshot.finished } ?? false
        if running && text == installed { return .unchanged }

        let previous = installed
        try install(text)
        installed = text

        guard running else {
            if try adoptRunningBIRD() { return .adopted }
            try startBIRD()
            return .started
        }
        // BIRD restarting after a crash re-reads the file: nothing more to do then.
        guard supervisor?.snapshot.pid != nil else {
            logger.info("BIRD is restarting: it will load the new configuration")
            return .reconfigured
        }
        let reply: String
        do {
            reply = try birdc(["configure"]).stdout
        } catch {
            restore(previous)
            throw error
        }
        guard reply.contains("Reconfigured") || reply.contains("Reconfiguration in progress")
            || reply.contains("queueing new config") else {
            restore(previous)
            throw .reconfigure(reply: reply.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        reconfigurations += 1
        logger.info("BIRD reconfigured", metadata: ["bird.config": "\(configPath)"])
        return .reconfigured
    }

    /// Puts the previous configuration file back after BIRD refused to load a new one, so the
    /// file on disk is what BIRD runs.
    private func restore(_ previous: String?) {
        installed = previous
        guard let previous else { return }
        do { try install(previous, check: false) } catch {
            logger.error("cannot restore the previous BIRD configuration: \(error)")
        }
    }

    /// Writes `text` to a temporary file beside `configPath`, has BIRD parse it, then renames
    /// it into place (atomic: BIRD never reads a half-written file).
    private func install(_ text: String, check: Bool = true) throws(BIRDBackendError) {
        let dir = (configPath as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/." + (configPath as NSString).lastPathComponent + ".\(getpid()).new"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
        } catch {
            throw .write(path: tmp, reason: "\(error.localizedDescription)")
        }
        if check {
            let out: BIRDSubprocess.Output
            do { out = try BIRDSubprocess.run([birdBinary, "-p", "-c", tmp], timeout: commandTimeout) } catch {
                unlink(tmp)
                throw .rejected(message: error.description)
            }
            guard out.status == 0 else {
                unlink(tmp)
                var message = out.message.isEmpty ? BIRDSubprocess.describe(out.status) : out.message
                if let context = Self.offendingLine(message, file: tmp, text: text) { message += " (line: \(context))" }
                logger.error("BIRD rejected the rendered configuration", metadata: ["bird.message": "\(message)"])
                throw .rejected(message: message)
            }
        }
        guard rename(tmp, configPath) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(tmp)
            throw .write(path: configPath, reason: "rename from \(tmp): \(e)")
        }
    }

    /// BIRD writes its pid here (`-P`), so an agent restarted after a crash finds the BIRD it left.
    public var pidFile: String { controlSocket + ".pid" }

    private var birdArgv: [String] { [birdBinary, "-f", "-c", configPath, "-s", controlSocket, "-P", pidFile] }

    /// A BIRD answering on our control socket was left by a previous agent (BIRD refuses to
    /// start beside it: "I found another BIRD running"). Keep it, as calico-node's BIRD outlives
    /// confd restarts: load the installed file into it and watch it. One whose pid cannot be
    /// known is shut down (`birdc down`) so a supervised one can start. True when adopted.
    private func adoptRunningBIRD() throws(BIRDBackendError) -> Bool {
        guard let probe = try? runBirdc(["show", "status"]), probe.status == 0, !probe.timedOut else { return false }
        let pidText = (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = pidText.flatMap({ Int32($0) }), BIRDSupervisor.isBIRD(pid) else {
            logger.warning("a BIRD of unknown pid answers on \(controlSocket): shutting it down to start a supervised one")
            _ = try? runBirdc(["down"])
            let deadline = Date().addingTimeInterval(commandTimeout)
            while Date() < deadline, let r = try? runBirdc(["show", "status"]), r.status == 0 { usleep(50_000) }
            return false
        }
        let reply = try birdc(["configure"]).stdout
        guard reply.contains("Reconfigured") || reply.contains("Reconfiguration in progress") else {
            throw .reconfigure(reply: reply.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        reconfigurations += 1
        let s = BIRDSupervisor(argv: birdArgv, adopting: pid, logger: logger)
        supervisor = s
        s.start()
        logger.notice("adopted the running BIRD and loaded the configuration into it", metadata: ["bird.pid": "\(pid)"])
        return true
    }

    /// BIRD names `file:LINE:COLUMN`; the file is gone by the time anyone reads the error, so
    /// quote the line it points at.
    static func offendingLine(_ message: String, file: String, text: String) -> String? {
        guard let r = message.range(of: file + ":") else { return nil }
        guard let n = Int(message[r.upperBound...].prefix { $0.isNumber }), n >= 1 else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard n <= lines.count else { return nil }
        return lines[n - 1].trimmingCharacters(in: .whitespaces)
    }

    /// Starts the supervised BIRD and waits for its control socket.
    private func startBIRD() throws(BIRDBackendError) {
        let s = BIRDSupervisor(argv: birdArgv, logger: logger)
        supervisor = s
        s.start()
        let deadline = Date().addingTimeInterval(commandTimeout)
        while true {
            let snap = s.snapshot
            if snap.exits > 0 {
                s.stop(timeout: stopTimeout)
                supervisor = nil
                let said = snap.stderrTail.suffix(5).joined(separator: " | ")
                throw .start(message: "\(snap.lastExit ?? "exited")\(said.isEmpty ? "" : ": " + said)")
            }
            if snap.pid != nil, let out = try? runBirdc(["show", "status"]), out.status == 0 {
                return
            }
            if Date() >= deadline {
                s.stop(timeout: stopTimeout)
                supervisor = nil
                throw .start(message: "control socket \(controlSocket) did not answer within \(commandTimeout) s")
            }
            usleep(20_000)
        }
    }

    private func runBirdc(_ args: [String]) throws(BIRDSubprocess.SpawnError) -> BIRDSubprocess.Output {
        try BIRDSubprocess.run([birdcBinary, "-s", controlSocket] + args, timeout: commandTimeout)
    }

    private func birdc(_ args: [String]) throws(BIRDBackendError) -> BIRDSubprocess.Output {
        let out: BIRDSubprocess.Output
        do { out = try runBirdc(args) } catch { throw .birdc(command: args.joined(separator: " "), message: error.description) }
        guard out.status == 0, !out.timedOut else {
            let why = out.timedOut ? "no answer within \(commandTimeout) s" : out.message
            throw .birdc(command: args.joined(separator: " "), message: why)
        }
        return out
    }

    /// BIRD's BGP sessions (`birdc show protocols`), for `twillctl node status`.
    public func peerStatuses() throws(BIRDBackendError) -> [BIRDPeerStatus] {
        let out = try birdc(["show", "protocols"])
        do { return try BIRDProtocolTable.parse(out.stdout) } catch { throw .protocolTable(error) }
    }

    /// Stops BIRD (SIGTERM, then SIGKILL after `stopTimeout`) and removes its control socket.
    /// Routes BIRD programmed stay in the kernel (`persist`), as after calico-node stops.
    /// Idempotent; the backend applies nothing afterwards.
    public func stop() {
        lock.lock(); defer { lock.unlock() }
        stopped = true
        if let s = supervisor {
            s.stop(timeout: stopTimeout)
            supervisor = nil
            logger.info("BIRD stopped")
        }
        unlink(controlSocket)
        unlink(pidFile)
    }
}
