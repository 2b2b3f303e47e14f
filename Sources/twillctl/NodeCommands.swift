import ArgumentParser
import CtlCore

/// `twillctl node status|routes`: asks a running speaker (twill-bgpd, later twill-node) over its
/// control socket, as calicoctl asks BIRD over bird.ctl.
struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Inspect the BGP speaker running on this node.",
        subcommands: [NodeStatus.self, NodeRoutes.self])
}

/// Where the speaker listens, and how to print its answer.
struct ControlSocketOptions: ParsableArguments {
    static let defaultSocket = "/var/run/twill/bgp.ctl"

    @Option(name: .long, help: "The speaker's control socket (default \(Self.defaultSocket)).")
    var socket: String = Self.defaultSocket

    @Option(name: [.short, .customLong("output")], help: "ps (default, a table) or json.")
    var output: String = "ps"

    func validate() throws {
        guard output == "ps" || output == "json" else {
            throw ValidationError("unknown output format '\(output)': use ps or json")
        }
    }

    var json: Bool { output == "json" }
}

struct NodeStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the BGP sessions of this node (calicoctl node status).")
    @OptionGroup var options: ControlSocketOptions

    func run() throws {
        try runControlQuery { try NodeStatusCommand.status(socketPath: options.socket, json: options.json) }
    }
}

struct NodeRoutes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routes", abstract: "Show the routes this node's speaker received and announces.",
        discussion: """
            Every path of the speaker's RIB, per family, grouped by prefix: the best path first, \
            marked * in BEST, then the others with the REASON they lost the best-path selection \
            (e.g. "longer AS_PATH (2 > 1)"; "stale" while a peer restarts gracefully). -o json \
            has every field the speaker reports, ORIGINATOR_ID and CLUSTER_LIST of reflected routes too.
            """)
    @OptionGroup var options: ControlSocketOptions

    func run() throws {
        try runControlQuery { try NodeStatusCommand.routes(socketPath: options.socket, json: options.json) }
    }
}

/// Prints the answer, or `error: …` and exit 1 (the speaker is not running, the socket is wrong).
private func runControlQuery(_ body: () throws -> String) throws {
    do {
        Console.out(try body())
    } catch {
        Console.err("error: \(error)\n")
        throw ExitCode(1)
    }
}
