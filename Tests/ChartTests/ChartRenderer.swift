import Foundation
import Yams

/// The subset of Helm's template language charts/twill uses, rendered the way `helm template`
/// does (helm itself is not installable here):
///
/// - `{{ .Values.a.b }}`, `{{ .Release.Name }}`, `{{ .Release.Namespace }}`, `{{ .Chart.X }}`;
/// - `{{- … -}}` whitespace trimming; `{{/* comments */}}`;
/// - `{{ if X }} … {{ else }} … {{ end }}` (Helm truthiness: nil, false, 0, "" and empty are false);
/// - `{{ define "n" }} … {{ end }}` and `include "n" .`;
/// - functions `toYaml`, `quote`, `default D X`, `nindent N X`, `indent N X`, used directly or
///   after `|`.
///
/// Stricter than Helm: a `.Values` path that does not exist is an error, not `<no value>`, so a
/// typo in a template or a missing setting fails the test.
struct ChartRenderer {
    struct RenderError: Error, CustomStringConvertible { var description: String }

    let values: Any
    let release: [String: Any]
    let chart: [String: Any]
    private var defines: [String: [Node]] = [:]

    indirect enum Node {
        case text(String)
        case expr(String)
        case cond(String, [Node], [Node])
    }

    init(chartDir: String, overrides: [String: Any] = [:], releaseName: String = "twill",
         namespace: String = "kube-system") throws {
        let valuesText = try String(contentsOfFile: chartDir + "/values.yaml", encoding: .utf8)
        var v = try Yams.load(yaml: valuesText) as? [String: Any] ?? [:]
        for (path, value) in overrides { Self.set(&v, path.split(separator: ".").map(String.init), value) }
        values = v
        let chartYAML = try Yams.load(yaml: String(contentsOfFile: chartDir + "/Chart.yaml", encoding: .utf8)) as? [String: Any] ?? [:]
        var c: [String: Any] = [:]
        for (k, val) in chartYAML { c[k.prefix(1).uppercased() + k.dropFirst()] = val }
        chart = c
        release = ["Name": releaseName, "Namespace": namespace, "Service": "Helm"]
    }

    private static func set(_ dict: inout [String: Any], _ path: [String], _ value: Any) {
        guard let first = path.first else { return }
        if path.count == 1 { dict[first] = value; return }
        var sub = dict[first] as? [String: Any] ?? [:]
        set(&sub, Array(path.dropFirst()), value)
        dict[first] = sub
    }

    /// Loads the `define`s of a helper file (its other text renders to nothing).
    mutating func addHelpers(_ text: String) throws {
        let nodes = try parse(Self.lex(text))
        _ = nodes
    }

    /// Renders one template file.
    mutating func render(_ text: String) throws -> String {
        let nodes = try parse(Self.lex(text))
        return try evaluate(nodes)
    }

    // MARK: lexing

    enum Token { case text(String), action(String) }

    static func lex(_ s: String) throws -> [Token] {
        var tokens: [Token] = []
        var rest = Substring(s)
        while let open = rest.range(of: "{{") {
            var text = String(rest[..<open.lowerBound])
            var inner = rest[open.upperBound...]
            guard let close = inner.range(of: "}}") else { throw RenderError(description: "unclosed {{ in template") }
            var action = String(inner[..<close.lowerBound])
            inner = inner[close.upperBound...]
            if action.hasPrefix("-") {
                action.removeFirst()
                while let last = text.last, last.isWhitespace { text.removeLast() }
            }
            if action.hasSuffix("-") {
                action.removeLast()
                inner = inner.drop(while: { $0.isWhitespace })
            }
            tokens.append(.text(text))
            let trimmed = action.trimmingCharacters(in: .whitespaces)
            if !(trimmed.hasPrefix("/*") && trimmed.hasSuffix("*/")) { tokens.append(.action(trimmed)) }
            rest = inner
        }
        tokens.append(.text(String(rest)))
        return tokens
    }

    // MARK: parsing

    private mutating func parse(_ tokens: [Token]) throws -> [Node] {
        var i = 0
        let (nodes, stop) = try parseBlock(tokens, &i)
        if let stop { throw RenderError(description: "unexpected {{ \(stop) }}") }
        return nodes
    }

    /// Parses until `end`/`else` (returned) or the end of input (nil).
    private mutating func parseBlock(_ tokens: [Token], _ i: inout Int) throws -> ([Node], String?) {
        var nodes: [Node] = []
        while i < tokens.count {
            let t = tokens[i]
            i += 1
            switch t {
            case .text(let s): if !s.isEmpty { nodes.append(.text(s)) }
            case .action(let a):
                if a == "end" || a == "else" { return (nodes, a) }
                if a.hasPrefix("if ") {
                    let (then, stop) = try parseBlock(tokens, &i)
                    var otherwise: [Node] = []
                    if stop == "else" {
                        let (e, stop2) = try parseBlock(tokens, &i)
                        guard stop2 == "end" else { throw RenderError(description: "{{ if }} without {{ end }}") }
                        otherwise = e
                    } else if stop != "end" {
                        throw RenderError(description: "{{ \(a) }} without {{ end }}")
                    }
                    nodes.append(.cond(String(a.dropFirst(3)), then, otherwise))
                } else if a.hasPrefix("define ") {
                    let name = try Self.unquote(String(a.dropFirst(7)).trimmingCharacters(in: .whitespaces))
                    let (body, stop) = try parseBlock(tokens, &i)
                    guard stop == "end" else { throw RenderError(description: "{{ define \(name) }} without {{ end }}") }
                    defines[name] = body
                } else {
                    nodes.append(.expr(a))
                }
            }
        }
        return (nodes, nil)
    }

    // MARK: evaluation

    private func evaluate(_ nodes: [Node]) throws -> String {
        var out = ""
        for n in nodes {
            switch n {
            case .text(let s): out += s
            case .expr(let e): out += try Self.string(evaluatePipeline(e))
            case .cond(let c, let then, let otherwise):
                out += try evaluate(Self.truthy(try evaluatePipeline(c, strict: false)) ? then : otherwise)
            }
        }
        return out
    }

    private func evaluatePipeline(_ text: String, strict: Bool = true) throws -> Any? {
        var result: Any?? = .none
        for stage in Self.splitPipes(text) {
            var words = Self.words(stage)
            guard !words.isEmpty else { throw RenderError(description: "empty pipeline stage in {{ \(text) }}") }
            let fn = words.removeFirst()
            var args = try words.map { try argument($0, strict: strict) }
            if case .some(let prev) = result { args.append(prev) }
            result = .some(try call(fn, args, strict: strict, in: text))
        }
        return result ?? nil
    }

    private func argument(_ word: String, strict: Bool) throws -> Any? {
        if word.hasPrefix("\"") { return try Self.unquote(word) }
        if let n = Int(word) { return n }
        if word == "." { return "." as Any }  // the root context (only passed on to include)
        if word.hasPrefix(".") { return try lookup(word, strict: strict) }
        throw RenderError(description: "unsupported argument \(word)")
    }

    private func lookup(_ path: String, strict: Bool) throws -> Any? {
        let parts = path.split(separator: ".").map(String.init)
        guard let root = parts.first else { return nil }
        var current: Any?
        switch root {
        case "Values": current = values
        case "Release": current = release
        case "Chart": current = chart
        default: throw RenderError(description: "unknown root .\(root)")
        }
        for (i, p) in parts.dropFirst().enumerated() {
            guard let dict = current as? [String: Any], let next = dict[p] else {
                if strict || root == "Values" {
                    throw RenderError(description: "\(path): no \(parts[...(i + 1)].joined(separator: ".")) in the values")
                }
                return nil
            }
            current = next
        }
        return current
    }

    private func call(_ fn: String, _ args: [Any?], strict: Bool, in text: String) throws -> Any? {
        func need(_ n: Int) throws {
            guard args.count == n else { throw RenderError(description: "\(fn) takes \(n) arguments in {{ \(text) }}") }
        }
        switch fn {
        case "include":
            try need(2)
            guard let name = args[0] as? String, let body = defines[name] else {
                throw RenderError(description: "include of an unknown template in {{ \(text) }}")
            }
            return try evaluate(body)
        case "toYaml":
            try need(1)
            guard let v = args[0] else { return "" }
            var s = try Yams.dump(object: v, sortKeys: true)
            while s.hasSuffix("\n") { s.removeLast() }
            return s
        case "quote":
            try need(1)
            return Self.quote(Self.string(args[0]))
        case "default":
            try need(2)
            return Self.truthy(args[1]) ? args[1] : args[0]
        case "nindent", "indent":
            try need(2)
            guard let n = args[0] as? Int else { throw RenderError(description: "\(fn) needs a number") }
            let pad = String(repeating: " ", count: n)
            let body = Self.string(args[1]).split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n")
            return fn == "nindent" ? "\n" + body : body
        default:
            if fn.hasPrefix(".") {
                guard args.isEmpty else { throw RenderError(description: "\(fn) is not a function") }
                return try lookup(fn, strict: strict)
            }
            throw RenderError(description: "unsupported function \(fn) in {{ \(text) }}")
        }
    }

    // MARK: helpers

    static func truthy(_ v: Any?) -> Bool {
        switch v {
        case nil: false
        case let b as Bool: b
        case let i as Int: i != 0
        case let s as String: !s.isEmpty
        case let d as [String: Any]: !d.isEmpty
        case let a as [Any]: !a.isEmpty
        default: true
        }
    }

    static func string(_ v: Any?) -> String {
        switch v {
        case nil: ""
        case let s as String: s
        case let b as Bool: b ? "true" : "false"
        case let i as Int: String(i)
        case let d as Double: String(d)
        default: "\(v!)"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    static func unquote(_ s: String) throws -> String {
        guard s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") else { throw RenderError(description: "expected a string: \(s)") }
        return String(s.dropFirst().dropLast())
    }

    static func splitPipes(_ s: String) -> [String] {
        var parts: [String] = [], cur = "", inQuote = false
        for c in s {
            if c == "\"" { inQuote.toggle() }
            if c == "|" && !inQuote { parts.append(cur); cur = "" } else { cur.append(c) }
        }
        parts.append(cur)
        return parts.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static func words(_ s: String) -> [String] {
        var out: [String] = [], cur = "", inQuote = false
        for c in s {
            if c == "\"" { inQuote.toggle() }
            if c == " " && !inQuote { if !cur.isEmpty { out.append(cur) }; cur = "" } else { cur.append(c) }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }
}
