import ArgumentParser
import Dataplane
import DataplaneLinux
import Foundation

/// Test and benchmark tool for the routing dataplane: programs the current network namespace
/// from a JSON routing input (run it under `ip netns exec`). Not part of the node agent.
@main
struct DPApply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twill-dp-apply",
        abstract: "Program routes, tunnel devices and neighbours from a JSON routing input.",
        subcommands: [Apply.self, Run.self, Bench.self])
}

func printReport(_ r: ComponentReport) {
    var text = "apply: \(r.operations) operations\(r.resynced ? " (resynced)" : ""), \(r.issues.count) issues\n"
    for i in r.issues { text += "issue: \(i)\n" }
    FileHandle.standardOutput.write(Data(text.utf8))
}

extension DPApply {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply once; with --sweep also remove stale objects of ours.")
        @Option(help: "JSON routing input file") var input: String
        @Flag(help: "Treat the input as complete and sweep stale routes/devices of ours") var sweep = false

        func run() throws {
            let file = try InputFile.load(input)
            let dp = try LinuxRoutingDataplane(options: LinuxRoutingOptions(
                workloadInterfacePrefixes: file.workloadInterfacePrefixes ?? []))
            dp.setRoutingInput(try file.routingInput())
            var report = try dp.apply()
            if sweep {
                dp.markInSync()
                let second = try dp.apply()
                report.operations += second.operations
                report.issues = second.issues
            }
            printReport(report)
            if !report.issues.filter({ $0.severity == .error }).isEmpty { throw ExitCode(2) }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Keep the namespace in sync (monitor + periodic resync) until SIGTERM.")
        @Option(help: "JSON routing input file") var input: String
        @Option(help: "Periodic full resync interval in seconds") var resyncInterval: Double = 90

        func run() throws {
            let file = try InputFile.load(input)
            let dp = try LinuxRoutingDataplane(options: LinuxRoutingOptions(
                workloadInterfacePrefixes: file.workloadInterfacePrefixes ?? []))
            dp.setRoutingInput(try file.routingInput())
            dp.markInSync()
            let runner = RoutingDataplaneRunner(dataplane: dp, resyncInterval: .milliseconds(Int(resyncInterval * 1000)),
                                                onReport: { printReport($0) })
            try runner.start()
            signal(SIGTERM, SIG_IGN)
            signal(SIGINT, SIG_IGN)
            let done = DispatchSemaphore(value: 0)
            let sources = [SIGTERM, SIGINT].map { sig in
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler { @Sendable in done.signal() }
                s.resume()
                return s
            }
            done.wait()
            runner.stop()
            dp.close()
            for s in sources { s.cancel() }
        }
    }
}
