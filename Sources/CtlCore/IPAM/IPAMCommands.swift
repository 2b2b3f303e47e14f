import Datastore
import IPAM
import NetCore

/// `twillctl ipam show|check|release`, as calicoctl's `ipam` commands. The integrator wires
/// the argument parsing; these return the text to print.
public enum IPAMCommands {
    /// calicoctl's `ipam show` table (GROUPING, CIDR, IPS TOTAL, IPS IN USE, IPS FREE): one row
    /// per pool, plus one per block with `showBlocks`.
    public static func show(store: any Datastore, showBlocks: Bool) throws -> String {
        let usage = try IPAMUsage.collect(store: store)
        var rows: [[String]] = []
        func row(_ grouping: String, _ r: IPAMUsage.Row) -> [String] {
            let free = r.total - r.inUse
            return [grouping, r.cidr.description, String(r.total), "\(r.inUse) (\(percent(r.inUse, r.total))%)",
                    "\(free) (\(percent(free, r.total))%)"]
        }
        for pool in usage.pools {
            rows.append(row("IP Pool", pool))
            if showBlocks {
                for b in usage.blocks where pool.cidr.contains(b.cidr) { rows.append(row("Block", b)) }
            }
        }
        if showBlocks {
            // Blocks outside every pool (pool deleted): still shown, as calicoctl does.
            for b in usage.blocks where !usage.pools.contains(where: { $0.cidr.contains(b.cidr) }) { rows.append(row("Block", b)) }
        }
        return Table.render(header: ["GROUPING", "CIDR", "IPS TOTAL", "IPS IN USE", "IPS FREE"], rows: rows)
    }

    /// `ipam check`: a summary and every problem; `ok` is false when a problem was found.
    public static func check(store: any Datastore) throws -> (output: String, ok: Bool) {
        let problems = try IPAMCheck.run(store: store)
        let usage = try IPAMUsage.collect(store: store)
        var out = "Checking IPAM for inconsistencies...\n\n"
        out += "Found \(usage.blocks.count) IPAM blocks.\n"
        out += "Found \(usage.blocks.reduce(0) { $0 + $1.inUse }) IPs in use.\n"
        if problems.isEmpty {
            out += "Check complete; found 0 problems.\n"
        } else {
            for p in problems { out += "  [\(p.kind.rawValue)] \(p)\n" }
            out += "Check complete; found \(problems.count) problem\(problems.count == 1 ? "" : "s").\n"
        }
        return (out, problems.isEmpty)
    }

    /// `ipam release --ip=<ip>`: frees one address (and decrements its handle).
    public static func release(store: any Datastore, ip: String) throws -> String {
        guard let addr = IPAddress(ip) else { throw IPAMError.invalidRequest("--ip: \"\(ip)\" is not an IP address") }
        try IPAMClient(store: store).release(addr)
        return "Successfully released IP address \(addr)\n"
    }

    static func percent(_ n: UInt64, _ total: UInt64) -> UInt64 { total == 0 ? 0 : (n * 100) / total }
}

/// The boxed table calicoctl prints (tablewriter style: `+---+` rules, centred headers).
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) + "+" }.joined() + "\n"
        func line(_ cells: [String], centre: Bool) -> String {
            "|" + cells.enumerated().map { i, c in
                let pad = widths[i] - c.count
                let left = centre ? pad / 2 : 0
                return " " + String(repeating: " ", count: left) + c + String(repeating: " ", count: pad - left) + " |"
            }.joined() + "\n"
        }
        return rule + line(header, centre: true) + rule + rows.map { line($0, centre: false) }.joined() + rule
    }
}
