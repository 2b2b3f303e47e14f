// Micro-benchmark of the UPDATE codec (Fuzz/bench.sh builds it with -O). Prints ns per message
// and per prefix (process CPU time) for decode and encode of a 500-prefix IPv4 UPDATE and a 300-prefix IPv6 one.
import BGPWire
import Glibc
import NetCore

/// Process CPU time in ns: the machine is shared, so wall time would measure the neighbours.
func cpuNanoseconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
}

@main struct Bench {
    static func measure(_ name: String, iterations: Int, prefixes: Int, _ body: () throws -> Int) rethrows {
        var sink = 0
        for _ in 0..<(iterations / 10) { sink &+= try body() }  // warm-up
        let start = cpuNanoseconds()
        for _ in 0..<iterations { sink &+= try body() }
        let ns = cpuNanoseconds() - start
        let perMessage = ns / Double(iterations)
        print("\(name): \(Int(perMessage)) ns/message, \(String(Int(perMessage / Double(prefixes) * 10) / 10)) ns/prefix (sink \(sink & 1))")
    }

    static func main() throws {
        // `bgpwire-bench allocs N`: decode a UPDATE with N IPv4 prefixes 1000 times and stop (run
        // under `valgrind` to count heap allocations per decode for two values of N).
        let args = CommandLine.arguments
        if args.count == 3, args[1] == "allocs", let n = Int(args[2]) {
            let a = PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001, 65002]), nextHop: IPv4Address(192, 0, 2, 1),
                                   communities: [Community(asn: 65001, local: 1)])
            let nlri = (0..<n).map { NLRI(IPPrefix(.v4(IPv4Address(0x0a00_0000 | UInt32($0) << 8)), length: 24)) }
            let bytes = try BGPMessage.update(UpdateMessage(attributes: a, nlri: nlri)).encoded()
            var total = 0
            for _ in 0..<1000 {
                if case .update(let u) = try BGPMessage.decode(bytes) { total += u.nlri.count }
            }
            print("decoded \(total) prefixes")
            return
        }
        let attrs = PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001, 65002, 4_200_000_000]),
                                   nextHop: IPv4Address(192, 0, 2, 1), med: 10, localPref: 100,
                                   communities: [Community(asn: 65001, local: 1), Community(asn: 65001, local: 2)],
                                   largeCommunities: [LargeCommunity(65001, 1, 1)])
        let v4 = (0..<500).map { NLRI(IPPrefix(.v4(IPv4Address(0x0a00_0000 | UInt32($0) << 8)), length: 24)) }
        let u4 = UpdateMessage(attributes: attrs, nlri: v4)
        let b4 = try BGPMessage.update(u4).encoded()
        let v6 = (0..<300).map { NLRI(IPPrefix(.v6(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64($0) << 16, low: 0)), length: 48)) }
        var a6 = attrs; a6.nextHop = nil
        let u6 = UpdateMessage(attributes: a6, mpReach: MPReach(family: .ipv6Unicast, nextHop: .ipv6(IPv6Address("2001:db8::1")!), nlri: v6))
        let b6 = try BGPMessage.update(u6).encoded()
        print("IPv4 UPDATE \(b4.count) bytes, IPv6 UPDATE \(b6.count) bytes")
        let ctx = DecodeContext()
        try measure("decode IPv4 UPDATE x500", iterations: 20000, prefixes: 500) {
            guard case .update(let u) = try BGPMessage.decode(b4, context: ctx) else { return 0 }
            return u.nlri.count
        }
        try measure("decode IPv6 UPDATE x300", iterations: 20000, prefixes: 300) {
            guard case .update(let u) = try BGPMessage.decode(b6, context: ctx) else { return 0 }
            return u.mpReach?.nlri.count ?? 0
        }
        try measure("encode IPv4 UPDATE x500", iterations: 20000, prefixes: 500) {
            try BGPMessage.update(u4).encoded().count
        }
        let stream = [UInt8]((0..<100).flatMap { _ in BGPMessage.keepaliveBytes })
        try measure("frame 100 KEEPALIVEs", iterations: 20000, prefixes: 100) {
            try MessageFramer().split(stream).consumed
        }
    }
}
