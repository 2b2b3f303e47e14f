import ArgumentParser
import CNetlink
import Dataplane
import DataplaneLinux
import Foundation
import NetCore

extension DPApply {
    /// Installs N workload /32 routes with permanent neighbours in a fresh namespace through
    /// Twill and, in another fresh namespace, the same objects through `ip -batch` (the
    /// baseline; the only place this tool runs `ip`), then times adding one more workload.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Benchmark route programming against ip -batch.")
        @Option(help: "Workloads (each one /32 route + one permanent neighbour)") var count = 10_000
        @Option(help: "Host-side veth interfaces the workloads are spread over") var interfaces = 100
        @Option(help: "Single-workload additions to time once COUNT exist") var increments = 50

        func run() throws {
            let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
            let nsIP = "twb-ip-\(tag)", nsTW = "twb-tw-\(tag)"
            let original = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
            guard original >= 0 else { throw ValidationError("cannot open /proc/self/ns/net") }
            defer {
                _ = twill_setns_net(original)
                close(original)
                _ = try? sh(["ip", "netns", "del", nsIP]); _ = try? sh(["ip", "netns", "del", nsTW])
            }
            for ns in [nsIP, nsTW] {
                try sh(["ip", "netns", "add", ns])
                var setup = "link set lo up\n"
                for i in 0..<interfaces {
                    setup += "link add bh\(i) type veth peer name bp\(i)\nlink set bh\(i) up\nlink set bp\(i) up\n"
                }
                try sh(["ip", "-n", ns, "-batch", "-"], stdin: setup)
            }
            let workloads = (0..<count).map(workload)

            // Baseline: ip -batch of the same routes and neighbours.
            var batch = ""
            batch.reserveCapacity(count * 120)
            for w in workloads {
                batch += "route add \(w.addresses[0])/32 dev \(w.interface) scope link proto 247\n"
                batch += "neigh add \(w.addresses[0]) lladdr \(w.mac!) dev \(w.interface) nud permanent\n"
            }
            let batchFile = NSTemporaryDirectory() + "twill-bench-\(tag).batch"
            try batch.write(toFile: batchFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: batchFile) }
            let t0 = ContinuousClock.now
            try sh(["ip", "-n", nsIP, "-batch", batchFile])
            let ipTime = ContinuousClock.now - t0

            // Twill, in-process, in its own fresh namespace.
            let fd = open("/run/netns/\(nsTW)", O_RDONLY | O_CLOEXEC)
            guard fd >= 0, twill_setns_net(fd) == 0 else { throw ValidationError("cannot enter \(nsTW)") }
            close(fd)
            let dp = try LinuxRoutingDataplane()
            let node = LocalNode(name: "bench", ipv4: InterfaceAddress("192.0.2.1/24")!, parentInterface: "lo")
            let t1 = ContinuousClock.now
            dp.setRoutingInput(RoutingInput(node: node, workloads: workloads))
            dp.markInSync()
            let report = try dp.apply()
            let twTime = ContinuousClock.now - t1
            guard report.issues.isEmpty else { throw ValidationError("bench apply had issues: \(report.issues.prefix(3))") }

            // The pure part alone (no kernel): compute desired state and plan from empty.
            let t3 = ContinuousClock.now
            let computed = RoutingCalculator.compute(RoutingInput(node: node, workloads: workloads))
            let computeTime = ContinuousClock.now - t3
            let planned = RoutingPlanner.plan(desired: computed.state, actual: RoutingState(), sweep: true)
            let pureTime = ContinuousClock.now - t3

            var adds: [Duration] = []
            for i in 0..<increments {
                let w = workload(count + i)
                let t = ContinuousClock.now
                dp.upsertWorkload(w)
                let r = try dp.apply()
                adds.append(ContinuousClock.now - t)
                guard r.issues.isEmpty, r.operations >= 2 else { throw ValidationError("incremental apply failed: \(r)") }
            }
            dp.requestResync()
            let t2 = ContinuousClock.now
            let resync = try dp.apply()
            let resyncTime = ContinuousClock.now - t2
            guard resync.operations == 0, resync.issues.isEmpty else { throw ValidationError("resync found drift: \(resync)") }
            dp.close()
            _ = twill_setns_net(original)

            let routesTW = try sh(["ip", "-n", nsTW, "route", "show", "proto", "247"]).split(separator: "\n").count
            let neighTW = try sh(["ip", "-n", nsTW, "neigh", "show", "nud", "permanent"]).split(separator: "\n").count
            let routesIP = try sh(["ip", "-n", nsIP, "route", "show", "proto", "247"]).split(separator: "\n").count
            adds.sort()
            func ms(_ d: Duration) -> String { String(format: "%.2f ms", Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15) }
            print("workloads: \(count) over \(interfaces) veths (routes+neighbours: \(count * 2) objects)")
            print("ip -batch:        \(ms(ipTime))  (\(routesIP) routes)")
            print("twill apply:      \(ms(twTime))  (\(report.operations) operations, \(routesTW) routes, \(neighTW) permanent neighbours)")
            print("  of which compute + plan (pure, \(planned.count) operations): \(ms(pureTime)) (compute \(ms(computeTime)))")
            print("full resync, no changes: \(ms(resyncTime))  (\(count + increments) workloads)")
            print("add one workload: median \(ms(adds[adds.count / 2])), p90 \(ms(adds[adds.count * 9 / 10])), max \(ms(adds.last!)) over \(increments)")
        }

        func workload(_ i: Int) -> Workload {
            let a = IPv4Address(UInt32(0x0A00_0000) + UInt32(i) + 1)
            let mac = MACAddress(bytes: [0x02, 0x00, UInt8(truncatingIfNeeded: i >> 24), UInt8(truncatingIfNeeded: i >> 16),
                                         UInt8(truncatingIfNeeded: i >> 8), UInt8(truncatingIfNeeded: i)])!
            return Workload(name: "w\(i)", interface: "bh\(i % interfaces)", addresses: [.v4(a)], mac: mac)
        }

        @discardableResult
        func sh(_ args: [String], stdin: String? = nil) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = args
            let out = Pipe(), inp = Pipe(), err = Pipe()
            p.standardOutput = out; p.standardInput = inp; p.standardError = err
            try p.run()
            if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
            try inp.fileHandleForWriting.close()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw ValidationError("\(args.joined(separator: " ")) failed: \(String(decoding: errData, as: UTF8.self))")
            }
            return String(decoding: data, as: UTF8.self)
        }
    }
}
