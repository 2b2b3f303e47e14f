import Synchronization

/// A small thread-safe Prometheus registry: counters, gauges and histograms with labels, rendered in the
/// text exposition format 0.0.4 (`Metrics.contentType`). Any thread may update it; `render()`
/// takes a consistent snapshot under the same lock.
///
/// Names must match `[a-zA-Z_:][a-zA-Z0-9_:]*` and label names `[a-zA-Z_][a-zA-Z0-9_]*` (not
/// starting `__`): they are constants in our code, so a bad one is a programmer error and traps.
/// Label values are data (peer names, states) and are escaped, never rejected.
/// A metric used before `describe` gets a type from its first use: `set` makes a gauge, `inc`
/// a counter when the name ends in `_total` and a gauge otherwise; its HELP is the name.
public final class Metrics: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    /// Prometheus client libraries' default histogram buckets (seconds).
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// The `Content-Type` of `render()`'s output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private struct Family {
        var kind: Kind
        var help: String
        /// Keyed by the rendered label set (`{a="x",b="y"}`, names sorted), so equal label
        /// dictionaries name one series however they were built.
        var series: [String: Double] = [:]
        /// Histograms only: upper bounds (sorted, +Inf implied) and per-series observations.
        var buckets: [Double] = []
        var histograms: [String: Histogram] = [:]
    }

    private struct Histogram {
        var counts: [UInt64]     // per bucket, not cumulative; last slot is +Inf
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private let state = Mutex<[String: Family]>([:])

    public init() {}

    /// Declares a metric's TYPE and HELP (idempotent; a later call updates the help text).
    /// Declaring an existing name with another kind traps.
    /// `buckets` (histograms only) are upper bounds; `+Inf` is implied. Default:
    /// `defaultBuckets`. Buckets are fixed once the histogram exists.
    public func describe(_ name: String, kind: Kind, help: String, buckets: [Double]? = nil) {
        Self.checkName(name)
        let bounds = Array(Set((buckets ?? Self.defaultBuckets).filter { $0.isFinite })).sorted()
        state.withLock { families in
            if let f = families[name] {
                precondition(f.kind == kind, "metric \(name) already registered as a \(f.kind)")
                families[name]!.help = help
            } else {
                families[name] = Family(kind: kind, help: help, buckets: kind == .histogram ? bounds : [])
            }
        }
    }

    /// Records one observation (an apply duration in seconds, say) in a histogram; an
    /// undeclared name becomes a histogram with `defaultBuckets`. NaN is ignored.
    public func observe(_ name: String, labels: [String: String] = [:], _ value: Double) {
        let key = Self.labelKey(labels)
        Self.checkName(name)
        guard !value.isNaN else { return }
        state.withLock { families in
            var f = families.removeValue(forKey: name)
                ?? Family(kind: .histogram, help: name, buckets: Self.defaultBuckets)
            precondition(f.kind == .histogram, "metric \(name) is a \(f.kind), not a histogram")
            var h = f.histograms[key] ?? Histogram(counts: Array(repeating: 0, count: f.buckets.count + 1))
            let slot = f.buckets.firstIndex(where: { value <= $0 }) ?? f.buckets.count
            h.counts[slot] += 1
            h.sum += value
            h.count += 1
            f.histograms[key] = h
            families[name] = f
        }
    }

    /// Adds `by` to a counter or gauge series (created at 0). A counter never goes down: a
    /// negative `by` on a counter is ignored.
    public func inc(_ name: String, labels: [String: String] = [:], by amount: Double = 1) {
        let key = Self.labelKey(labels)
        Self.checkName(name)
        state.withLock { families in
            let kind = families[name]?.kind ?? (name.hasSuffix("_total") ? .counter : .gauge)
            precondition(kind != .histogram, "inc on histogram \(name); use observe")
            if kind == .counter && !(amount >= 0) { return }
            families[name, default: Family(kind: kind, help: name)].series[key, default: 0] += amount
        }
    }

    /// Sets a gauge series; on a counter it mirrors a cumulative count kept elsewhere (the
    /// speaker's UPDATE count, say).
    public func set(_ name: String, labels: [String: String] = [:], _ value: Double) {
        let key = Self.labelKey(labels)
        Self.checkName(name)
        state.withLock { families in
            precondition(families[name]?.kind != .histogram, "set on histogram \(name); use observe")
            families[name, default: Family(kind: .gauge, help: name)].series[key] = value
        }
    }

    /// Drops one series (a deleted peer's row); the family's HELP/TYPE stay.
    public func remove(_ name: String, labels: [String: String] = [:]) {
        let key = Self.labelKey(labels)
        state.withLock {
            $0[name]?.series.removeValue(forKey: key)
            $0[name]?.histograms.removeValue(forKey: key)
        }
    }

    /// Drops every series of `name` (before re-setting a gauge family from a fresh snapshot,
    /// e.g. sessions by state).
    public func removeAll(_ name: String) {
        state.withLock {
            $0[name]?.series.removeAll()
            $0[name]?.histograms.removeAll()
        }
    }

    /// The current value of one series, nil when absent.
    public func value(_ name: String, labels: [String: String] = [:]) -> Double? {
        let key = Self.labelKey(labels)
        return state.withLock { $0[name]?.series[key] }
    }

    /// The whole registry in Prometheus text format 0.0.4: families sorted by name, each with
    /// `# HELP` and `# TYPE`, then its series sorted by label set; ends with a newline.
    public func render() -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        for name in snapshot.keys.sorted() {
            let f = snapshot[name]!
            out += "# HELP \(name) \(Self.escapeHelp(f.help))\n"
            out += "# TYPE \(name) \(f.kind.rawValue)\n"
            for key in f.series.keys.sorted() {
                out += "\(name)\(key) \(Self.format(f.series[key]!))\n"
            }
            for key in f.histograms.keys.sorted() {
                let h = f.histograms[key]!
                var cumulative: UInt64 = 0
                for (i, bound) in (f.buckets + [.infinity]).enumerated() {
                    cumulative += h.counts[i]
                    out += "\(name)_bucket\(Self.adding(le: Self.format(bound), to: key)) \(cumulative)\n"
                }
                out += "\(name)_sum\(key) \(Self.format(h.sum))\n"
                out += "\(name)_count\(key) \(h.count)\n"
            }
        }
        return out
    }

    // MARK: format details

    /// `{a="x",b="y"}` with names sorted and values escaped; "" for no labels.
    static func labelKey(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        var parts: [String] = []
        for name in labels.keys.sorted() {
            checkLabelName(name)
            parts.append("\(name)=\"\(escapeLabelValue(labels[name]!))\"")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// `{a="x"}` + le → `{a="x",le="0.1"}`.
    static func adding(le: String, to key: String) -> String {
        key.isEmpty ? "{le=\"\(le)\"}" : String(key.dropLast()) + ",le=\"\(le)\"}"
    }

    /// Label values: backslash, double quote and line feed are escaped.
    static func escapeLabelValue(_ s: String) -> String { escape(s, quote: true) }

    /// HELP text: backslash and line feed are escaped.
    static func escapeHelp(_ s: String) -> String { escape(s, quote: false) }

    private static func escape(_ s: String, quote: Bool) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quote: out += "\\\""
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Integers print without a fraction; NaN and infinities as Prometheus spells them.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        func ok(_ c: Unicode.Scalar, first: Bool) -> Bool {
            c.isASCII && (("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || c == ":"
                || (!first && ("0"..."9").contains(c)))
        }
        return ok(first, first: true) && name.unicodeScalars.dropFirst().allSatisfy { ok($0, first: false) }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        isValidName(name) && !name.contains(":") && !name.hasPrefix("__")
    }

    private static func checkName(_ name: String) {
        precondition(isValidName(name), "invalid Prometheus metric name \"\(name)\"")
    }

    private static func checkLabelName(_ name: String) {
        precondition(isValidLabelName(name), "invalid Prometheus label name \"\(name)\"")
    }
}
