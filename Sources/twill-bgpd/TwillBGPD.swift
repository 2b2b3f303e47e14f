import ArgumentParser
import BGPSpeaker
import Dispatch
import Foundation
import Logging
import Posix

/// `twill-bgpd -c FILE`: Twill's standalone BGP speaker (docs/twill-bgpd.md).
/// SIGHUP reloads the file (only sessions whose settings changed are reset); SIGTERM/SIGINT send
/// Cease 6/2 to every peer and exit 0; SIGUSR1 stops for a graceful restart (sessions closed
/// without NOTIFICATION, peers keep our routes) and exits 0.
@main
struct TwillBGPD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twill-bgpd",
        abstract: "Twill's BGP speaker daemon.",
        discussion: """
        SIGHUP reloads the configuration; SIGTERM shuts every session down (Cease 6/2) and exits; \
        SIGUSR1 closes every session without a NOTIFICATION (graceful restart: peers keep our routes) and exits.
        """)

    @Option(name: [.short, .customLong("config")], help: "The YAML configuration file.")
    var config: String

    @Flag(name: .customLong("check"), help: "Validate the configuration and exit.")
    var check = false

    @Flag(name: .customLong("restarting"),
          help: "We are restarting with forwarding state kept: set the graceful restart R bit in the first OPENs.")
    var restarting = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: \"\(logLevel)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() throws {
        ProcessMemory.limitMallocArenas()
        var parsed: SpeakerConfig
        do { parsed = try Self.load(config) } catch {
            Self.fail("\(config): \(error)")
        }
        if check {
            print("\(config): OK (\(parsed.peers.count) peers, \(parsed.announce.count) announcements)")
            return
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "twill-bgpd")
        parsed.restarting = restarting
        let speaker = Speaker(config: parsed, logger: logger)
        do { try speaker.start() } catch {
            Self.fail("\(error)")
        }
        Self.installSignals(speaker: speaker, path: config, logger: logger)
        dispatchMain()
    }

    static func load(_ path: String) throws -> SpeakerConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError("", "cannot read the file: \(error.localizedDescription)")
        }
        return try SpeakerConfig(yaml: text)
    }

    /// Signal sources on their own queue, created in nonisolated code with @Sendable handlers
    /// (STYLE.md (d) 7, 9). Kept alive in a global box for the process lifetime.
    static func installSignals(speaker: Speaker, path: String, logger: Logger) {
        let q = DispatchQueue(label: "twill.bgpd.signals")
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGUSR1] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: q)
            if sig == SIGHUP {
                s.setEventHandler { @Sendable in
                    logger.info("SIGHUP: reloading \(path)")
                    do { try speaker.reload(try load(path)) } catch {
                        logger.error("reload failed, keeping the running configuration: \(error)")
                    }
                }
            } else if sig == SIGUSR1 {
                s.setEventHandler { @Sendable in
                    logger.info("SIGUSR1: stopping for a graceful restart")
                    speaker.stopForGracefulRestart()
                    Foundation.exit(0)
                }
            } else {
                s.setEventHandler { @Sendable in
                    logger.info("signal \(sig): shutting down")
                    speaker.stop()
                    Foundation.exit(0)
                }
            }
            s.resume()
            sources.append(s)
        }
        SignalSources.keep(sources)
    }
}

/// Holds the signal sources for the life of the process (a released source never fires).
enum SignalSources {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    static func keep(_ s: [DispatchSourceSignal]) { sources = s }
}

extension TwillBGPD {
    /// Prints `twill-bgpd: message` to stderr and exits 1 (nothing has been started).
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("twill-bgpd: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
