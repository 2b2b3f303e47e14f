import ArgumentParser
import CtlCore

/// `twillctl ipam show|check|release`, with calicoctl's flags and columns; the work is in
/// CtlCore/IPAM over the same datastore the other commands use.
struct IPAMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipam",
        abstract: "Inspect and repair IP address management (blocks, affinities, handles).",
        subcommands: [IPAMShow.self, IPAMCheckCommand.self, IPAMRelease.self])
}

struct IPAMShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show pool and block usage, one IP, the configuration or borrowed IPs.")
    @Flag(name: .long, help: "Show the blocks of each pool.") var showBlocks = false
    @Flag(name: .long, help: "Show IPs borrowed from other nodes' blocks.") var showBorrowed = false
    @Flag(name: .long, help: "Show the IPAM configuration.") var showConfiguration = false
    @Option(name: .long, help: "Show what holds this IP.") var ip: String?
    @ParentCommand var root: Twillctl

    func run() throws {
        try withSession(root.global) { s throws(CtlError) in
            let store = s.client.datastore
            do {
                if let ip { return try IPAMCommands.show(store: store, ip: ip) }
                if showConfiguration { return try IPAMCommands.showConfiguration(store: store) }
                if showBorrowed { return try IPAMCommands.showBorrowed(store: store) }
                return try IPAMCommands.show(store: store, showBlocks: showBlocks)
            } catch { throw CtlError("\(error)") }
        }
    }
}

struct IPAMCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check IPAM consistency; exits 1 and lists the problems if any.")
    @ParentCommand var root: Twillctl

    func run() throws {
        var ok = true
        try withSession(root.global) { s throws(CtlError) in
            do {
                let result = try IPAMCommands.check(store: s.client.datastore)
                ok = result.ok
                return result.output
            } catch { throw CtlError("\(error)") }
        }
        if !ok { throw ExitCode(1) }
    }
}

struct IPAMRelease: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release", abstract: "Release an IP address that is held but no longer used.")
    @Option(name: .long, help: "The IP to release.") var ip: String
    @ParentCommand var root: Twillctl

    func run() throws {
        try withSession(root.global) { s throws(CtlError) in
            do { return try IPAMCommands.release(store: s.client.datastore, ip: ip) } catch { throw CtlError("\(error)") }
        }
    }
}
