/// Durations written as Calico (Go's time.ParseDuration) writes them: `90s`, `1m30s`, `1h`,
/// `500ms`, `1.5s`. Values are kept in milliseconds, which is all BGP timers need.
public struct CalicoDuration: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public init(seconds: Int64) { self.milliseconds = seconds * 1000 }

    public var seconds: Int64 { milliseconds / 1000 }

    public init?(_ text: String) {
        if text == "0" { milliseconds = 0; return }
        var rest = Substring(text)
        var total: Double = 0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let numEnd = rest.firstIndex(where: { !($0.isNumber || $0 == ".") }) ?? rest.endIndex
            guard numEnd != rest.startIndex, let n = Double(rest[rest.startIndex..<numEnd]) else { return nil }
            rest = rest[numEnd...]
            let unitEnd = rest.firstIndex(where: { $0.isNumber || $0 == "." }) ?? rest.endIndex
            let unit = rest[rest.startIndex..<unitEnd]
            rest = rest[unitEnd...]
            let scale: Double
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            default: return nil
            }
            total += n * scale
        }
        guard total <= Double(Int64.max / 2) else { return nil }
        milliseconds = Int64(total.rounded())
    }

    /// Go's formatting for whole values: `1m30s`, `90ms`, `0s`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        if milliseconds % 1000 != 0 && milliseconds < 1000 { return "\(milliseconds)ms" }
        var out = ""
        var ms = milliseconds
        let h = ms / 3_600_000; ms %= 3_600_000
        let m = ms / 60_000; ms %= 60_000
        if h > 0 { out += "\(h)h" }
        if h > 0 || m > 0 { out += "\(m)m" }
        if ms % 1000 == 0 { out += "\(ms / 1000)s" } else {
            let frac = String(ms % 1000)
            let padded = String(repeating: "0", count: 3 - frac.count) + frac
            var trimmed = Substring(padded)
            while trimmed.last == "0" { trimmed = trimmed.dropLast() }
            out += "\(ms / 1000).\(trimmed)s"
        }
        return out
    }

    public static func < (l: Self, r: Self) -> Bool { l.milliseconds < r.milliseconds }
}
