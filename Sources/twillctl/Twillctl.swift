import ArgumentParser
import CtlCore

/// twillctl: the calicoctl-like CLI. Thin: argument parsing and wiring; the work is in CtlCore.
@main
struct Twillctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twillctl",
        abstract: "Manage Twill (Calico projectcalico.org/v3) resources.",
        subcommands: [
            Create.self, Apply.self, Replace.self, Delete.self, Get.self, Label.self, Patch.self,
            Validate.self, Version.self, NodeCommand.self, IPAMCommand.self, DatastoreCommand.self,
        ])

    @OptionGroup var global: GlobalOptions

    /// Like ArgumentParser's, but usage errors print as `error: …` (as every other error).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is ExitCode {
                exit(withError: error)
            }
            Console.err("error: \(message(for: error))\nSee 'twillctl --help'.\n")
            exit(withError: ExitCode(code.rawValue))
        }
    }
}

/// Options every command takes (before or after the command name).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Datastore URL: sqlite:PATH, memory:, etcd://HOST:PORT.",
        discussion: "Default: $TWILL_DATASTORE, else \(Session.defaultDatastoreURL)."))
    var datastore: String?

    @Option(name: [.short, .customLong("log-level")],
            help: "Log level: panic (default), fatal, error, warning, info, debug.")
    var logLevel: String = "panic"

    /// Accepted so calicoctl command lines from scripts and docs run unchanged (there is no
    /// client/cluster version check to skip).
    @Flag(name: .long, help: ArgumentHelp("Accepted for calicoctl compatibility; no effect.", visibility: .hidden))
    var allowVersionMismatch = false

    func validate() throws {
        guard LogLevel(logLevel) != nil else {
            throw ValidationError("unknown log level '\(logLevel)': use panic, fatal, error, warning, info, debug or trace")
        }
    }
}

/// `-n/--namespace` for namespaced kinds (NetworkPolicy, WorkloadEndpoint).
struct NamespaceOption: ParsableArguments {
    @Option(name: [.short, .long], help: "Namespace of namespaced resources (default: default).")
    var namespace: String?
}

/// Where the resources come from: `-f FILE|-`, or `KIND NAME…` for commands that allow it.
struct FileOption: ParsableArguments {
    @Option(name: [.short, .customLong("filename")],
            help: "File with YAML or JSON resources (`-` reads stdin).")
    var filename: String?

    @Flag(name: [.customShort("R"), .long], help: "With a directory for -f, read its subdirectories too.")
    var recursive = false

    @Flag(name: .long, help: "Do not fail for files that hold no resources.")
    var skipEmpty = false

    /// The inputs: one, or a directory's files in name order (without empty ones with --skip-empty).
    func inputs() throws(CtlError) -> [InputText] {
        let all = try Input.readAll(filename, recursive: recursive)
        return skipEmpty ? all.filter(\.hasDocuments) : all
    }
}

extension ParsableCommand {
    /// Runs `body` for each input file in turn, as calicoctl does for a directory: stops at the
    /// first failing file (earlier files stay applied), naming it when there are several.
    func forEachInput(_ file: FileOption, _ global: GlobalOptions,
                      _ body: (Session, InputText) throws(CtlError) -> String) throws {
        try withSession(global) { s throws(CtlError) in
            let inputs = try file.inputs()
            var out = ""
            for input in inputs {
                do throws(CtlError) { out += try body(s, input) } catch {
                    Console.out(out)
                    if inputs.count == 1 { throw error }
                    throw CtlError("\(input.source): \(error.message)", exitCode: error.exitCode)
                }
            }
            return out
        }
    }

    /// Runs `body` with a session on the selected datastore; prints `error: …` and exits 1 on failure.
    func withSession(_ global: GlobalOptions, _ body: (Session) throws(CtlError) -> String) throws {
        do {
            let session = try Session(datastoreURL: global.datastore, logLevel: LogLevel(global.logLevel) ?? .panic)
            let out = try body(session)
            Console.out(out)
        } catch {
            Console.err("error: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }
}
