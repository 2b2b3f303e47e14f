import Dispatch
import Testing
@testable import NodeAgent

/// A strict line-by-line reader of the Prometheus text format 0.0.4: every line is a HELP, a
/// TYPE, or a sample `name{label="value",…} number`; TYPE precedes a family's samples; label
/// values are unescaped. Returns the samples, or records an issue for the first bad line.
struct PromSample: Equatable { var name: String; var labels: [String: String]; var value: Double }

func parseProm(_ text: String) -> (samples: [PromSample], types: [String: String], help: [String: String])? {
    var samples: [PromSample] = []
    var types: [String: String] = [:], help: [String: String] = [:]
    guard text.hasSuffix("\n") || text.isEmpty else { Issue.record("exposition must end with a newline"); return nil }
    func isName(_ s: Substring) -> Bool {
        guard let f = s.first, f.isLetter || f == "_" || f == ":" else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
    }
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        if line.hasPrefix("# HELP ") {
            let rest = line.dropFirst(7)
            guard let sp = rest.firstIndex(of: " "), isName(rest[..<sp]) else { Issue.record("bad HELP: \(line)"); return nil }
            help[String(rest[..<sp])] = String(rest[rest.index(after: sp)...])
        } else if line.hasPrefix("# TYPE ") {
            let parts = line.dropFirst(7).split(separator: " ")
            guard parts.count == 2, isName(parts[0]), ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[1]),
                  types[String(parts[0])] == nil
            else { Issue.record("bad TYPE: \(line)"); return nil }
            types[String(parts[0])] = String(parts[1])
        } else {
            var i = line.startIndex
            while i < line.endIndex, line[i] != "{", line[i] != " " { i = line.index(after: i) }
            let name = line[..<i]
            let base = ["_bucket", "_sum", "_count"].first { name.hasSuffix($0) && types[String(name.dropLast($0.count))] == "histogram" }
                .map { String(name.dropLast($0.count)) } ?? String(name)
            guard isName(name), types[base] != nil else { Issue.record("sample before TYPE or bad name: \(line)"); return nil }
            var labels: [String: String] = [:]
            if i < line.endIndex, line[i] == "{" {
                i = line.index(after: i)
                while line[i] != "}" {
                    var j = i
                    while line[j] != "=" { j = line.index(after: j) }
                    let lname = line[i..<j]
                    guard isName(lname), line[line.index(after: j)] == "\"" else { Issue.record("bad label: \(line)"); return nil }
                    var k = line.index(j, offsetBy: 2)
                    var value = ""
                    while line[k] != "\"" {
                        if line[k] == "\\" {
                            k = line.index(after: k)
                            switch line[k] { case "n": value.append("\n"); case "\\": value.append("\\"); case "\"": value.append("\"")
                            default: Issue.record("bad escape: \(line)"); return nil }
                        } else { value.append(line[k]) }
                        k = line.index(after: k)
                    }
                    labels[String(lname)] = value
                    k = line.index(after: k)
                    if line[k] == "," { k = line.index(after: k) }
                    i = k
                }
                i = line.index(after: i)
            }
            guard i < line.endIndex, line[i] == " " else { Issue.record("no value: \(line)"); return nil }
            let vtext = line[line.index(after: i)...]
            let value: Double? = switch vtext { case "+Inf": .infinity; case "-Inf": -.infinity; case "NaN": .nan; default: Double(vtext) }
            guard let value else { Issue.record("bad value: \(line)"); return nil }
            samples.append(PromSample(name: String(name), labels: labels, value: value))
        }
    }
    return (samples, types, help)
}

@Suite struct MetricsTests {
    func agentLikeRegistry() -> Metrics {
        let m = Metrics()
        m.describe("twill_bgp_sessions", kind: .gauge, help: "BGP sessions by FSM state.")
        m.describe("twill_bgp_prefixes_received", kind: .gauge, help: "Prefixes accepted from each peer.")
        m.describe("twill_bgp_updates_received_total", kind: .counter, help: "UPDATE messages received.")
        m.describe("twill_dataplane_apply_failures_total", kind: .counter, help: "Failed dataplane applies.")
        m.set("twill_bgp_sessions", labels: ["state": "Established"], 2)
        m.set("twill_bgp_sessions", labels: ["state": "Active"], 1)
        m.set("twill_bgp_prefixes_received", labels: ["peer": "Mesh_10_0_0_2"], 3)
        m.inc("twill_bgp_updates_received_total", by: 5)
        m.inc("twill_bgp_updates_received_total")
        m.set("twill_dataplane_apply_seconds", 0.0125)
        return m
    }

    @Test func rendersHelpTypeAndSortedSeries() {
        let text = agentLikeRegistry().render()
        #expect(text == """
        # HELP twill_bgp_prefixes_received Prefixes accepted from each peer.
        # TYPE twill_bgp_prefixes_received gauge
        twill_bgp_prefixes_received{peer="Mesh_10_0_0_2"} 3
        # HELP twill_bgp_sessions BGP sessions by FSM state.
        # TYPE twill_bgp_sessions gauge
        twill_bgp_sessions{state="Active"} 1
        twill_bgp_sessions{state="Established"} 2
        # HELP twill_bgp_updates_received_total UPDATE messages received.
        # TYPE twill_bgp_updates_received_total counter
        twill_bgp_updates_received_total 6
        # HELP twill_dataplane_apply_failures_total Failed dataplane applies.
        # TYPE twill_dataplane_apply_failures_total counter
        # HELP twill_dataplane_apply_seconds twill_dataplane_apply_seconds
        # TYPE twill_dataplane_apply_seconds gauge
        twill_dataplane_apply_seconds 0.0125

        """)
    }

    @Test func renderedTextParsesLineByLine() throws {
        let m = agentLikeRegistry()
        m.set("twill_weird", labels: ["peer": "a\"b\\c\nd", "z": ""], .infinity)
        m.set("twill_weird", labels: ["peer": "x"], -.infinity)
        m.set("twill_weird", labels: ["peer": "y"], .nan)
        m.set("twill_big", 1e20)
        m.describe("twill_help_escape", kind: .gauge, help: "line1\nline2 \\ end")
        let parsed = try #require(parseProm(m.render()))
        #expect(parsed.types["twill_bgp_updates_received_total"] == "counter")
        #expect(parsed.help["twill_help_escape"] == #"line1\nline2 \\ end"#)
        #expect(parsed.samples.contains(PromSample(name: "twill_weird", labels: ["peer": "a\"b\\c\nd", "z": ""], value: .infinity)))
        #expect(parsed.samples.contains(PromSample(name: "twill_weird", labels: ["peer": "x"], value: -.infinity)))
        #expect(parsed.samples.contains { $0.name == "twill_weird" && $0.labels == ["peer": "y"] && $0.value.isNaN })
        #expect(parsed.samples.contains(PromSample(name: "twill_big", labels: [:], value: 1e20)))
        #expect(parsed.samples.count == 9)
    }

    @Test func labelOrderDoesNotSplitSeriesAndRemoveDropsOne() {
        let m = Metrics()
        m.inc("twill_x_total", labels: ["a": "1", "b": "2"])
        m.inc("twill_x_total", labels: ["b": "2", "a": "1"], by: 2)
        #expect(m.value("twill_x_total", labels: ["a": "1", "b": "2"]) == 3)
        m.inc("twill_x_total", labels: ["a": "9"])
        m.remove("twill_x_total", labels: ["b": "2", "a": "1"])
        #expect(m.value("twill_x_total", labels: ["a": "1", "b": "2"]) == nil)
        #expect(m.render().contains("twill_x_total{a=\"9\"} 1\n"))
        m.removeAll("twill_x_total")
        #expect(m.render() == "# HELP twill_x_total twill_x_total\n# TYPE twill_x_total counter\n")
    }

    @Test func countersOnlyGoUpAndUndeclaredTypesFollowFirstUse() {
        let m = Metrics()
        m.inc("twill_c_total", by: 2)
        m.inc("twill_c_total", by: -1)
        #expect(m.value("twill_c_total") == 2)
        m.inc("twill_routes_programmed", by: 3)
        m.inc("twill_routes_programmed", by: -1)     // gauges go down
        #expect(m.value("twill_routes_programmed") == 2)
        let text = m.render()
        #expect(text.contains("# TYPE twill_c_total counter\n"))
        #expect(text.contains("# TYPE twill_routes_programmed gauge\n"))
    }

    @Test func concurrentUpdatesAreNotLost() {
        let m = Metrics()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for _ in 0..<1000 {
                m.inc("twill_updates_total", labels: ["peer": "p\(i % 2)"])
                _ = m.render()
            }
        }
        #expect(m.value("twill_updates_total", labels: ["peer": "p0"]) == 4000)
        #expect(m.value("twill_updates_total", labels: ["peer": "p1"]) == 4000)
    }

    @Test func histogramsRenderCumulativeBucketsSumAndCount() throws {
        let m = Metrics()
        m.describe("twill_dataplane_apply_seconds", kind: .histogram, help: "Dataplane apply time.", buckets: [0.1, 0.01, 1])
        for v in [0.005, 0.01, 0.05, 0.5, 3, .nan] { m.observe("twill_dataplane_apply_seconds", v) }
        m.observe("twill_dataplane_apply_seconds", labels: ["phase": "routes"], 0.2)
        let text = m.render()
        #expect(text == """
        # HELP twill_dataplane_apply_seconds Dataplane apply time.
        # TYPE twill_dataplane_apply_seconds histogram
        twill_dataplane_apply_seconds_bucket{le="0.01"} 2
        twill_dataplane_apply_seconds_bucket{le="0.1"} 3
        twill_dataplane_apply_seconds_bucket{le="1"} 4
        twill_dataplane_apply_seconds_bucket{le="+Inf"} 5
        twill_dataplane_apply_seconds_sum 3.565
        twill_dataplane_apply_seconds_count 5
        twill_dataplane_apply_seconds_bucket{phase="routes",le="0.01"} 0
        twill_dataplane_apply_seconds_bucket{phase="routes",le="0.1"} 0
        twill_dataplane_apply_seconds_bucket{phase="routes",le="1"} 1
        twill_dataplane_apply_seconds_bucket{phase="routes",le="+Inf"} 1
        twill_dataplane_apply_seconds_sum{phase="routes"} 0.2
        twill_dataplane_apply_seconds_count{phase="routes"} 1

        """)
        let parsed = try #require(parseProm(text))
        #expect(parsed.samples.count == 12)
        // Undeclared: default buckets.
        let d = Metrics()
        d.observe("twill_x_seconds", 0.07)
        #expect(d.render().contains("twill_x_seconds_bucket{le=\"0.1\"} 1\n"))
        #expect(d.render().contains("twill_x_seconds_bucket{le=\"0.05\"} 0\n"))
        #expect(d.render().contains("# TYPE twill_x_seconds histogram\n"))
    }

    @Test func nameValidation() {
        #expect(Metrics.isValidName("twill_bgp_sessions"))
        #expect(Metrics.isValidName("a:b_c9"))
        #expect(!Metrics.isValidName("9abc"))
        #expect(!Metrics.isValidName("twill-bgp"))
        #expect(!Metrics.isValidName(""))
        #expect(Metrics.isValidLabelName("peer"))
        #expect(!Metrics.isValidLabelName("__name__"))
        #expect(!Metrics.isValidLabelName("a:b"))
    }
}
