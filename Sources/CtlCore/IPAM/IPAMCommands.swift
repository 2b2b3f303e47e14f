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

extension IPAMCommands {
    /// `ipam show --ip=<ip>`: whether the address is assigned and to whom (handle, attributes).
    public static func show(store: any Datastore, ip: String) throws -> String {
        guard let addr = IPAddress(ip) else { throw IPAMError.invalidRequest("--ip: \"\(ip)\" is not an IP address") }
        guard let (block, _) = try IPAMClient(store: store).blockContaining(addr), let ordinal = block.ordinal(of: addr),
              let a = block.allocations[ordinal] else {
            return "IP \(addr) is not assigned\n"
        }
        var out = "IP \(addr) is in use\n"
        let attr = block.attributes.indices.contains(a) ? block.attributes[a] : nil
        if let h = attr?.handleID { out += "Handle: \(h)\n" }
        if let s = attr?.secondary, !s.isEmpty {
            out += "Attributes:\n" + s.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)\n" }.joined()
        }
        out += "Block: \(block.cidr) (affinity \(block.affinity ?? "none"))\n"
        return out
    }

    /// `ipam show --show-configuration`.
    public static func showConfiguration(store: any Datastore) throws -> String {
        let s = try IPAMClient(store: store).settings()
        return Table.render(header: ["PROPERTY", "VALUE"], rows: [
            ["StrictAffinity", String(s.strictAffinity)],
            ["AutoAllocateBlocks", String(s.autoAllocateBlocks)],
            ["MaxBlocksPerHost", String(s.maxBlocksPerHost)],
        ])
    }

    /// `ipam show --show-borrowed`: addresses assigned from a block affine to another node.
    public static func showBorrowed(store: any Datastore) throws -> String {
        var rows: [[String]] = []
        for block in try IPAMClient(store: store).blocks() {
            guard let prefix = block.prefix else { continue }
            for (o, a) in block.allocations.enumerated() {
                guard let a, block.attributes.indices.contains(a) else { continue }
                let attr = block.attributes[a]
                guard let node = attr.secondary["node"], node != block.hostAffinity else { continue }
                rows.append([prefix.address(at: UInt64(o)).description, node, block.cidr, block.hostAffinity ?? "",
                             attr.secondary["namespace"] ?? "", attr.secondary["pod"] ?? attr.handleID ?? ""])
            }
        }
        return Table.render(header: ["IP", "BORROWING-NODE", "BLOCK", "BLOCK OWNER", "NAMESPACE", "NAME"], rows: rows)
    }
}
