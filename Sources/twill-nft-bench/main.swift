// twill-nft-bench: programs N workloads x P policies into Twill's nft table through our
// libnftnl batch, then (with --compare-nft) the same ruleset through `nft -f`, and times adding one
// workload. A developer tool for docs/dataplane-acl.md; product code never runs nft.
import Dataplane
import DataplaneLinux
import Foundation
import NetCore

struct Options {
    var workloads = 1000
    var policies = 5
    var netns: String?
    var compareNFT = false
    var table = "twill"
    var keep = false

    init(_ args: [String]) {
        var i = 1
        func next() -> String {
            i += 1
            guard i < args.count else { fatalError("missing value for \(args[i - 1])") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--workloads": workloads = Int(next())!
            case "--policies": policies = Int(next())!
            case "--netns": netns = next()
            case "--table": table = next()
            case "--compare-nft": compareNFT = true
            case "--keep": keep = true
            case "--diff-only": break
            default:
                print("usage: twill-nft-bench [--workloads N] [--policies P] [--netns /run/netns/X] [--table T] [--compare-nft] [--keep]")
                exit(2)
            }
            i += 1
        }
    }
}

/// N workloads; each selected by P policies of its own (ingress: tcp 80 from an app selector, tcp
/// 8000-8080 from a /16, icmp echo; egress: udp 53 and tcp 443 to two nets).
func makeInput(workloads n: Int, policies p: Int, table: String, extra: Int = 0) -> ACLInput {
    var s = ACLSettings(tableName: table)
    s.interfacePrefix = "tw"
    var workloads: [ACLWorkload] = []
    var policies: [ACLPolicy] = []
    var sets: [ACLIPSetID: [IPAddress]] = [:]
    for w in 0..<(n + extra) {
        let iface = "tw" + String(format: "%06x", w)
        let addr = IPAddress.v4(IPv4Address(10, 64, UInt8(w / 250), UInt8(w % 250 + 1)))
        workloads.append(ACLWorkload(interface: iface, addresses: [addr]))
        let app = ACLIPSetID.forSelector("app == 'client-\(w % 50)'")
        sets[app, default: []].append(addr)
        for k in 0..<p {
            policies.append(ACLPolicy(
                name: "ns\(w)/pol\(k)", order: Double(k * 10), selects: [iface],
                types: [.ingress, .egress],
                ingress: [
                    ACLRule(action: .allow, protocol_: ACLRule.tcp,
                            source: .init(selector: app), destination: .init(ports: [ACLPortRange(80 + UInt16(k))])),
                    ACLRule(action: .allow, protocol_: ACLRule.tcp,
                            source: .init(nets: [IPPrefix("10.\(k).0.0/16")!]),
                            destination: .init(ports: [ACLPortRange(8000, 8080)])),
                    ACLRule(action: .allow, ipVersion: .v4, protocol_: ACLRule.icmpV4, icmp: .init(type: 8)),
                ],
                egress: [
                    ACLRule(action: .allow, protocol_: ACLRule.udp, destination: .init(ports: [ACLPortRange(53)])),
                    ACLRule(action: .allow, protocol_: ACLRule.tcp,
                            destination: .init(nets: [IPPrefix("10.96.0.0/12")!, IPPrefix("192.168.0.0/16")!],
                                               ports: [ACLPortRange(443)])),
                ]))
        }
    }
    return ACLInput(workloads: workloads, policies: policies, ipSets: sets,
                    pools: [ACLPool(cidr: IPPrefix("10.64.0.0/16")!, natOutgoing: true)], settings: s)
}

func seconds(_ d: Duration) -> String {
    let c = d.components
    return String(format: "%.3f s", Double(c.seconds) + Double(c.attoseconds) / 1e18)
}

/// Runs `nft -f file` (through `ip netns exec` when a namespace is given, as the batch goes
/// through its namespace socket); returns the exit status and stderr.
func runNFT(file: String, netns: String?) -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = (netns.map { ["ip", "netns", "exec", URL(fileURLWithPath: $0).lastPathComponent] } ?? [])
        + ["nft", "-f", file]
    let err = Pipe()
    p.standardError = err
    try! p.run()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}

let o = Options(CommandLine.arguments)
let clock = ContinuousClock()
let input = makeInput(workloads: o.workloads, policies: o.policies, table: o.table)
var model: NFTModel!
let renderTime = clock.measure { model = try! ACLRenderer.render(input) }
let ruleCount = model.chains.values.reduce(0) { $0 + $1.rules.count }
if CommandLine.arguments.contains("--diff-only") {
    // Times only the pure part of adding one workload: render + diff, no kernel.
    let biggerInput = makeInput(workloads: o.workloads, policies: o.policies, table: o.table, extra: 1)
    var bigger: NFTModel!
    print("render of \(o.workloads) workloads: \(seconds(renderTime))")
    for _ in 0..<3 {
        print("render of \(o.workloads + 1) workloads: \(seconds(clock.measure { bigger = try! ACLRenderer.render(biggerInput) }))")
    }
    for _ in 0..<5 {
        var ops = 0
        let t = clock.measure { ops = NFTPlan.diff(from: model, to: bigger).operations.count }
        print("diff of two \(o.workloads)-workload models: \(seconds(t)) (\(ops) operations)")
    }
    exit(0)
}
print("model: \(o.workloads) workloads x \(o.policies) policies = \(model.chains.count) chains, \(ruleCount) rules, \(model.sets.count) sets; render \(seconds(renderTime))")

do {
    let socket = try NFTSocket(networkNamespace: o.netns)
    let acl = NFTablesACL(table: o.table, socket: socket)
    try acl.deleteTable()
    var report: NFTApplyReport!
    let t1 = try clock.measure { report = try acl.apply(model) }
    print("twill batch, from scratch: \(seconds(t1)) (\(report.messages) messages, \(report.bytes) bytes)")
    let again = try clock.measure { report = try acl.apply(model) }
    print("twill batch, same model again: \(seconds(again)) (\(report.messages) messages)")
    let bigger = try ACLRenderer.render(makeInput(workloads: o.workloads, policies: o.policies, table: o.table, extra: 1))
    let t2 = try clock.measure { report = try acl.apply(bigger) }
    print("twill batch, add one workload to \(o.workloads): \(seconds(t2)) (\(report.operations) operations, \(report.messages) messages)")
    var plan: NFTPlan!
    let tp = clock.measure { plan = NFTPlan.diff(from: model, to: bigger) }
    print("  of which computing the plan (diff of two \(o.workloads)-workload models): \(seconds(tp))")
    let t3 = try clock.measure { report = try acl.rebuild(bigger) }
    print("twill batch, restart resync (read back + rewrite): \(seconds(t3)) (\(report.messages) messages)")
    if o.compareNFT {
        try acl.deleteTable()
        let script = model.script()
        let path = NSTemporaryDirectory() + "twill-nft-bench-\(getpid()).nft"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var status: (Int32, String) = (0, "")
        let tn = clock.measure { status = runNFT(file: path, netns: o.netns) }
        print("nft -f of the same ruleset (\(script.utf8.count) bytes of text), from scratch: \(seconds(tn)) (exit \(status.0))")
        if status.0 != 0 { print(status.1) }
        // The same one-workload delta through nft -f, on the table nft just loaded.
        let delta = plan.script()
        try delta.write(toFile: path, atomically: true, encoding: .utf8)
        let td = clock.measure { status = runNFT(file: path, netns: o.netns) }
        print("nft -f of the same add-one-workload delta (\(delta.utf8.count) bytes): \(seconds(td)) (exit \(status.0))")
        if status.0 != 0 { print(status.1) }
    }
    if !o.keep { try acl.deleteTable() }
} catch {
    print("error: \(error)")
    exit(1)
}
