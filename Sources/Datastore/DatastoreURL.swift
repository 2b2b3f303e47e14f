#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the datastore lives, parsed from a URL (the `--datastore` flag or `TWILL_DATASTORE`).
///
/// Accepted forms:
/// - `sqlite:PATH` — a SQLite file, PATH relative or absolute (`sqlite:///abs/path` also works);
/// - `memory:` — a fresh in-memory store (tests);
/// - `etcd://HOST:PORT[,HOST:PORT…]` — etcd v3 endpoints (parsed; the backend is not built yet).
public enum DatastoreURL: Hashable, Sendable {
    case sqlite(path: String)
    case memory
    case etcd(endpoints: [String])

    /// The environment variable consulted when no URL is given.
    public static let environmentVariable = "TWILL_DATASTORE"
    /// Used when neither a URL nor the environment variable is given.
    public static let defaultURL = "sqlite:/var/lib/twill/twill.db"
    static let acceptedForms = "sqlite:PATH, memory:, or etcd://HOST:PORT[,HOST:PORT...]"

    /// The URL to use: `url` if given, else `$TWILL_DATASTORE` if set and not empty, else the default.
    public static func resolve(_ url: String?) -> String {
        if let url { return url }
        if let env = getenv(environmentVariable).map({ String(cString: $0) }), !env.isEmpty { return env }
        return defaultURL
    }

    public init(parsing url: String) throws(DatastoreError) {
        func invalid(_ why: String) -> DatastoreError {
            .invalidURL("\"\(url)\": \(why); expected \(Self.acceptedForms)")
        }
        if url.hasPrefix("sqlite:") {
            var path = String(url.dropFirst("sqlite:".count))
            if path.hasPrefix("//") {
                // sqlite:///abs/path (URL style, empty authority)
                guard path.hasPrefix("///") else { throw invalid("sqlite URLs take a path, not a host (use sqlite:///abs/path or sqlite:PATH)") }
                path.removeFirst(2)
            }
            guard !path.isEmpty else { throw invalid("the sqlite path is empty") }
            guard !path.utf8.contains(0) else { throw invalid("the sqlite path contains a NUL byte") }
            self = .sqlite(path: path)
        } else if url == "memory:" || url == "memory://" {
            self = .memory
        } else if url.hasPrefix("etcd://") {
            let rest = url.dropFirst("etcd://".count)
            let hostPart = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            if hostPart.count > 1, !hostPart[1].isEmpty { throw invalid("etcd URLs take no path") }
            let endpoints = hostPart[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for e in endpoints {
                if let why = Self.endpointProblem(e) { throw invalid("endpoint \"\(e)\" \(why)") }
            }
            self = .etcd(endpoints: endpoints)
        } else {
            throw invalid("unknown scheme")
        }
    }

    /// Why `HOST:PORT` (or `[IPv6]:PORT`) is malformed, or nil.
    private static func endpointProblem(_ e: String) -> String? {
        guard !e.isEmpty else { return "is empty" }
        let host: Substring, port: Substring
        if e.hasPrefix("[") {
            guard let close = e.firstIndex(of: "]") else { return "has an unclosed [" }
            host = e[e.index(after: e.startIndex)..<close]
            let after = e[e.index(after: close)...]
            guard after.hasPrefix(":") else { return "needs :PORT after the bracketed address" }
            port = after.dropFirst()
        } else {
            guard let colon = e.lastIndex(of: ":") else { return "needs :PORT" }
            host = e[..<colon]
            port = e[e.index(after: colon)...]
            if host.contains(":") { return "has an IPv6 address without [brackets]" }
        }
        guard !host.isEmpty else { return "has no host" }
        guard let p = Int(port), (1...65535).contains(p) else { return "has an invalid port \"\(port)\" (1-65535)" }
        return nil
    }
}

/// Opens the datastore named by `url`; nil means `$TWILL_DATASTORE`, then
/// `sqlite:/var/lib/twill/twill.db`. For `sqlite:PATH` the parent directory is created.
///
/// Errors: `.invalidURL` (naming the URL and the accepted forms), `.notBuilt` for etcd,
/// `.unavailable` with SQLite's or the OS's message and the path.
public func openDatastore(url: String?) throws(DatastoreError) -> any Datastore {
    switch try DatastoreURL(parsing: DatastoreURL.resolve(url)) {
    case .memory:
        return MemoryDatastore()
    case .etcd:
        throw .notBuilt("the etcd datastore is not built yet (issue: etcd v3 datastore); use sqlite:PATH")
    case .sqlite(let path):
        try createParentDirectory(of: path)
        return try SQLiteDatastore(path: path)
    }
}

/// `mkdir -p` of the directory holding `path` (mode 0755).
func createParentDirectory(of path: String) throws(DatastoreError) {
    guard let slash = path.lastIndex(of: "/") else { return }
    let dir = String(path[..<slash])
    guard !dir.isEmpty else { return }
    var prefix = dir.hasPrefix("/") ? "/" : ""
    for part in dir.split(separator: "/") {
        prefix += part
        if mkdir(prefix, 0o755) != 0 {
            let err = errno
            var st = stat()
            // EEXIST is fine when it is a directory; other errors too if the directory is there
            // already (EACCES on a parent we may not write but can traverse).
            if stat(prefix, &st) == 0 {
                if (st.st_mode & S_IFMT) != S_IFDIR {
                    throw .unavailable("cannot create directory \(prefix) for \(path): it exists and is not a directory")
                }
            } else {
                throw .unavailable("cannot create directory \(prefix) for \(path): \(String(cString: strerror(err)))")
            }
        }
        prefix += "/"
    }
}
