/// The request head of a tiny HTTP/1.x server: parsed from the bytes received so far, with a
/// size bound. Pure, so junk, truncation and oversize cases are tested without sockets.
enum HTTPRequestHead: Equatable {
    /// More bytes are needed (no blank line yet, still under the limit).
    case incomplete
    /// A well-formed GET or HEAD for `path` (query and fragment removed).
    case request(method: String, path: String)
    /// Refuse with this status (400, 405, 431, 505) and a one-line reason for the body.
    case reject(status: Int, reason: String)

    static func parse(_ bytes: [UInt8], limit: Int) -> HTTPRequestHead {
        // Junk that is not text (a TLS hello, binary) is refused as soon as it is seen.
        let firstLineEnd = bytes.firstIndex(of: 10) ?? bytes.endIndex
        if bytes[..<firstLineEnd].contains(where: { ($0 < 0x20 && $0 != 13) || $0 >= 0x7F }) {
            return .reject(status: 400, reason: "request line is not text")
        }
        guard let headEnd = endOfHead(bytes) else {
            return bytes.count > limit ? .reject(status: 431, reason: "request head larger than \(limit) bytes") : .incomplete
        }
        if headEnd > limit { return .reject(status: 431, reason: "request head larger than \(limit) bytes") }
        // Split on bytes: as Characters, "\r\n" is one grapheme and would never match "\n".
        var lines = bytes[..<headEnd].split(separator: 10, omittingEmptySubsequences: false).map { l in
            Substring(decoding: l.last == 13 ? l.dropLast() : l, as: UTF8.self)
        }
        // RFC 9112 §2.2: a server SHOULD ignore empty lines before the request line.
        while let f = lines.first, f.isEmpty { lines.removeFirst() }
        guard let requestLine = lines.first else { return .reject(status: 400, reason: "empty request") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            return .reject(status: 400, reason: "malformed request line")
        }
        let method = parts[0], target = parts[1], version = parts[2]
        guard method.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-" || $0 == "_") }) else {
            return .reject(status: 400, reason: "malformed method")
        }
        guard version.hasPrefix("HTTP/") else { return .reject(status: 400, reason: "malformed HTTP version") }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return .reject(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are supported")
        }
        for header in lines.dropFirst() where !header.isEmpty {
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex,
                  !header[..<colon].contains(where: { $0 == " " || $0 == "\t" })
            else { return .reject(status: 400, reason: "malformed header line") }
        }
        guard method == "GET" || method == "HEAD" else {
            return .reject(status: 405, reason: "method \(method) not allowed; only GET and HEAD")
        }
        guard let path = originPath(target) else { return .reject(status: 400, reason: "malformed request target") }
        return .request(method: String(method), path: path)
    }

    /// Index just past the blank line ending the head (`\r\n\r\n` or a bare `\n\n`).
    private static func endOfHead(_ b: [UInt8]) -> Int? {
        var i = 0
        while i < b.count {
            if b[i] == 10 {
                if i + 1 < b.count, b[i + 1] == 10 { return i + 2 }
                if i + 2 < b.count, b[i + 1] == 13, b[i + 2] == 10 { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// The path of an origin-form (`/x?y`) or absolute-form (`http://h/x`) target.
    private static func originPath(_ target: Substring) -> String? {
        var t = target
        if t.hasPrefix("http://") || t.hasPrefix("https://") {
            t = t.drop(while: { $0 != ":" }).dropFirst(3)
            guard let slash = t.firstIndex(of: "/") else { return "/" }
            t = t[slash...]
        }
        guard t.first == "/" else { return nil }
        if let q = t.firstIndex(where: { $0 == "?" || $0 == "#" }) { t = t[..<q] }
        return String(t)
    }
}
