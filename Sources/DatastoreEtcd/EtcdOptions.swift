import Datastore
import Foundation

/// How to reach etcd, parsed from a datastore URL:
///
///     etcd://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…][?ca=PATH&cert=PATH&key=PATH&timeout=SECONDS]
///     etcds://…   (the same, with TLS)
///
/// Endpoints are tried in order; a call fails over to the next on a connection error. `ca`,
/// `cert`, `key` name PEM files for TLS (a `ca`, `cert` or `key` implies TLS even with `etcd://`).
/// USER and PASSWORD use etcd's own auth (`/v3/auth/authenticate`), percent-encoded in the URL.
/// Calico's environment variables fill what the URL leaves out (`withCalicoEnvironment()`).
public struct EtcdOptions: Hashable, Sendable {
    public var endpoints: [String]
    public var tls: Bool
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var username: String?
    public var password: String?
    /// Connect and unary-call timeout, seconds.
    public var timeout: Double

    public init(endpoints: [String], tls: Bool = false, caFile: String? = nil, certFile: String? = nil,
                keyFile: String? = nil, username: String? = nil, password: String? = nil, timeout: Double = 5) {
        self.endpoints = endpoints; self.tls = tls; self.caFile = caFile; self.certFile = certFile
        self.keyFile = keyFile; self.username = username; self.password = password; self.timeout = timeout
    }

    /// True when `url` names etcd (`etcd://` or `etcds://`).
    public static func isEtcdURL(_ url: String) -> Bool { url.hasPrefix("etcd://") || url.hasPrefix("etcds://") }

    static let form = "etcd://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...][?ca=PATH&cert=PATH&key=PATH&timeout=SECONDS] (or etcds://)"

    public init(parsing url: String) throws(DatastoreError) {
        func invalid(_ why: String) -> DatastoreError { .invalidURL("\"\(Self.redacted(url))\": \(why); expected \(Self.form)") }
        let rest: Substring
        if url.hasPrefix("etcds://") { tls = true; rest = url.dropFirst("etcds://".count) }
        else if url.hasPrefix("etcd://") { tls = false; rest = url.dropFirst("etcd://".count) }
        else { throw invalid("not an etcd URL") }
        var authority = rest
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") { authority = rest[..<q]; query = rest[rest.index(after: q)...] }
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            guard let colon = userinfo.firstIndex(of: ":") else { throw invalid("user info needs USER:PASSWORD") }
            guard let u = String(userinfo[..<colon]).removingPercentEncoding, !u.isEmpty else { throw invalid("the user name is empty or badly percent-encoded") }
            guard let p = String(userinfo[userinfo.index(after: colon)...]).removingPercentEncoding else { throw invalid("the password is badly percent-encoded") }
            username = u; password = p
        }
        // Endpoint syntax is DatastoreURL's (HOST:PORT, [IPv6]:PORT, no path).
        do {
            guard case .etcd(let eps) = try DatastoreURL(parsing: "etcd://" + authority) else { throw invalid("bad endpoints") }
            endpoints = eps
        } catch {
            throw invalid("\(error)".replacingOccurrences(of: "invalid datastore URL: ", with: ""))
        }
        timeout = 5
        for item in query.split(separator: "&") where !item.isEmpty {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, let value = String(kv[1]).removingPercentEncoding, !value.isEmpty else {
                throw invalid("option \"\(item)\" needs NAME=VALUE")
            }
            switch kv[0] {
            case "ca": caFile = value; tls = true
            case "cert": certFile = value; tls = true
            case "key": keyFile = value; tls = true
            case "timeout":
                guard let t = Double(value), t > 0, t <= 300 else { throw invalid("timeout \"\(value)\" must be seconds in (0, 300]") }
                timeout = t
            default: throw invalid("unknown option \"\(kv[0])\" (known: ca, cert, key, timeout)")
            }
        }
        if (certFile == nil) != (keyFile == nil) { throw invalid("cert and key go together") }
    }

    /// Fills unset fields from Calico's variables: ETCD_USERNAME, ETCD_PASSWORD,
    /// ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE (a TLS file implies TLS).
    public func withCalicoEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> EtcdOptions {
        var o = self
        func v(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        o.username = o.username ?? v("ETCD_USERNAME")
        o.password = o.password ?? v("ETCD_PASSWORD")
        o.caFile = o.caFile ?? v("ETCD_CA_CERT_FILE")
        o.certFile = o.certFile ?? v("ETCD_CERT_FILE")
        o.keyFile = o.keyFile ?? v("ETCD_KEY_FILE")
        if o.caFile != nil || o.certFile != nil { o.tls = true }
        return o
    }

    /// The URL with any password replaced by `***`, for messages.
    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://"),
              let colon = url[scheme.upperBound..<at].firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }
}
