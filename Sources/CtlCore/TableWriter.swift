/// Aligns rows of cells the way Go's `text/tabwriter` does with calicoctl's settings
/// (`tabwriter.NewWriter(out, 5, 1, 3, ' ', 0)`): every cell is tab-terminated in calicoctl's
/// templates, so every column (the last one too) is padded to `max(minWidth, widest + padding)`.
/// calicoctl prints one table per kind and an empty line after each table.
public struct TableWriter: Sendable {
    public var minWidth = 5
    public var padding = 3

    public init(minWidth: Int = 5, padding: Int = 3) {
        self.minWidth = minWidth
        self.padding = padding
    }

    /// The table text: heading row, then one row per entry, then the blank separator line.
    public func render(headings: [String], rows: [[String]]) -> String {
        let all = [headings] + rows
        let columns = all.map(\.count).max() ?? 0
        var widths = [Int](repeating: minWidth, count: columns)
        for row in all {
            for (i, cell) in row.enumerated() {
                widths[i] = max(widths[i], cell.count + padding)
            }
        }
        var out = ""
        for row in all {
            for (i, cell) in row.enumerated() {
                out += cell
                out += String(repeating: " ", count: widths[i] - cell.count)
            }
            out += "\n"
        }
        out += "\n"
        return out
    }
}
