/// The box-drawn table calicoctl's `node status` prints (Go's olekukonko/tablewriter with
/// default settings): `+---+` borders, headers upper-cased and centred (extra space on the
/// right), cells left-aligned, one space of padding each side.
struct BoxTable: Sendable {
    var headers: [String]
    var rows: [[String]]

    func render() -> String {
        let heads = headers.map { $0.uppercased() }
        var widths = heads.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        let border = "+" + widths.map { String(repeating: "-", count: $0 + 2) + "+" }.joined() + "\n"
        func line(_ cells: [String], centred: Bool) -> String {
            var s = "|"
            for (i, w) in widths.enumerated() {
                let c = i < cells.count ? cells[i] : ""
                let gap = w - c.count
                let left = centred ? gap / 2 : 0
                s += " " + String(repeating: " ", count: left) + c + String(repeating: " ", count: gap - left) + " |"
            }
            return s + "\n"
        }
        var out = border + line(heads, centred: true) + border
        for r in rows { out += line(r, centred: false) }
        out += border
        return out
    }
}
