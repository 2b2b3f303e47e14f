import Foundation

/// Writes to the process's stdout/stderr (unbuffered, whole strings).
public enum Console {
    public static func out(_ text: String) { write(text, to: FileHandle.standardOutput) }
    public static func err(_ text: String) { write(text, to: FileHandle.standardError) }

    private static func write(_ text: String, to handle: FileHandle) {
        guard !text.isEmpty else { return }
        handle.write(Data(text.utf8))
    }
}

/// Resource text and where it came from (a path, or `stdin`), for error messages.
public struct InputText: Sendable {
    public var source: String
    public var text: String
    public init(source: String, text: String) { self.source = source; self.text = text }
}

public enum Input {
    /// `-f` input as calicoctl reads it: a file, `-` (stdin), or a directory whose `.yaml`,
    /// `.yml` and `.json` files are read in name order (subdirectories too with `recursive`).
    public static func readAll(_ filename: String?, recursive: Bool = false) throws(CtlError) -> [InputText] {
        guard let filename, filename != "-" else { return [try read(filename)] }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: filename, isDirectory: &isDir), isDir.boolValue else {
            return [try read(filename)]
        }
        let fm = FileManager.default
        let entries: [String]
        do {
            entries = recursive ? (fm.enumerator(atPath: filename)?.allObjects as? [String] ?? [])
                : try fm.contentsOfDirectory(atPath: filename)
        } catch {
            throw CtlError("cannot read directory \(filename): \(error.localizedDescription)")
        }
        let files = entries.filter { e in [".yaml", ".yml", ".json"].contains { e.hasSuffix($0) } }.sorted()
            .map { (filename.hasSuffix("/") ? filename : filename + "/") + $0 }
        if files.isEmpty { throw CtlError("no .yaml, .yml or .json files in \(filename)") }
        var out: [InputText] = []
        for f in files { out.append(try read(f)) }
        return out
    }

    /// Reads `-f` input: a file path, or `-` for stdin.
    public static func read(_ filename: String?) throws(CtlError) -> InputText {
        guard let filename else { throw CtlError("no input: give -f FILE (or -f - for stdin)") }
        if filename == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            return InputText(source: "stdin", text: String(decoding: data, as: UTF8.self))
        }
        guard let data = FileManager.default.contents(atPath: filename) else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: filename, isDirectory: &isDir), isDir.boolValue {
                throw CtlError("\(filename) is a directory: give a file")
            }
            throw CtlError("cannot read \(filename): no such file or not readable")
        }
        return InputText(source: filename, text: String(decoding: data, as: UTF8.self))
    }
}

/// A failure to report as `error: <message>` with a non-zero exit status.
public struct CtlError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32
    public init(_ message: String, exitCode: Int32 = 1) { self.message = message; self.exitCode = exitCode }
    public var description: String { message }
}

/// `get -o` formats.
public enum OutputFormat: Hashable, Sendable {
    case ps, wide, yaml, json
    /// `custom-columns=NAME,CIDR`: any of the kind's ps and wide headings, in the order given.
    case customColumns([String])

    public init?(_ text: String) {
        let lower = text.lowercased()
        switch lower {
        case "ps", "": self = .ps
        case "wide": self = .wide
        case "yaml", "yml": self = .yaml
        case "json": self = .json
        default:
            guard lower.hasPrefix("custom-columns=") else { return nil }
            let cols = text.dropFirst("custom-columns=".count).split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
            guard !cols.isEmpty, !cols.contains(where: \.isEmpty) else { return nil }
            self = .customColumns(cols)
        }
    }

    public var name: String {
        switch self {
        case .ps: "ps"
        case .wide: "wide"
        case .yaml: "yaml"
        case .json: "json"
        case .customColumns(let c): "custom-columns=" + c.joined(separator: ",")
        }
    }
}

/// calicoctl's `-l/--log-level` values (logrus levels), least to most verbose.
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case panic, fatal, error, warning, info, debug, trace

    public init?(_ text: String) {
        switch text.lowercased() {
        case "panic": self = .panic
        case "fatal": self = .fatal
        case "error": self = .error
        case "warning", "warn": self = .warning
        case "info": self = .info
        case "debug": self = .debug
        case "trace": self = .trace
        default: return nil
        }
    }

    public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }
}
