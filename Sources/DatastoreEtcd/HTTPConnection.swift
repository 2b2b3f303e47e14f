import COpenSSL
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an HTTP exchange failed. `sent` tells whether the request may have reached the server
/// (a non-idempotent request must then not be retried blindly).
struct HTTPFailure: Error, Sendable, CustomStringConvertible {
    var reason: String
    var sent: Bool
    /// The server did not answer in time (it may still be working on the request).
    var timedOut = false
    var description: String { reason }
}

/// One HTTP/1.1 response: status and body (Content-Length or chunked, decoded).
struct HTTPResponse: Sendable {
    var status: Int
    var body: [UInt8]
}

/// A blocking HTTP/1.1 client connection over a POSIX TCP socket, optionally TLS: enough of the
/// protocol for etcd's JSON gateway (POST with a JSON body, keep-alive, chunked streaming).
///
/// Not thread-safe: one user at a time (the pool hands it out exclusively). `shutdown()` is the
/// one call that may come from another thread, to wake a blocked streaming read.
final class HTTPConnection: @unchecked Sendable {
    let endpoint: String
    private let fd: Int32
    private var ssl: OpaquePointer?
    private var buffer: [UInt8] = []
    private var start = 0
    private(set) var broken = false

    /// Connects to `HOST:PORT` (or `[IPv6]:PORT`) within `timeout` seconds; unary reads time
    /// out after `ioTimeout` seconds (0: never, for watch streams).
    init(endpoint: String, timeout: Double, ioTimeout: Double, tls: TLSContext? = nil) throws(HTTPFailure) {
        self.endpoint = endpoint
        let (host, port) = Self.split(endpoint)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var res: UnsafeMutablePointer<addrinfo>?
        let gai = getaddrinfo(host, port, &hints, &res)
        guard gai == 0, let first = res else {
            throw HTTPFailure(reason: "\(endpoint): cannot resolve \(host): \(String(cString: gai_strerror(gai)))", sent: false)
        }
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if s < 0 { lastError = String(cString: strerror(errno)); continue }
            if let err = Self.connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen, timeout: timeout) {
                lastError = err
                close(s)
                continue
            }
            var one: Int32 = 1
            setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if ioTimeout == 0 {
                // A stream that waits for data indefinitely (a watch) notices a vanished peer
                // (power-off, partition) by TCP keepalive: idle 10 s, then 3 probes 5 s apart.
                var idle: Int32 = 10, interval: Int32 = 5, count: Int32 = 3
                let size = socklen_t(MemoryLayout<Int32>.size)
                setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, size)
                setsockopt(s, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, size)
                setsockopt(s, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, size)
                setsockopt(s, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, size)
            }
            // The handshake is bounded by the connect timeout, the exchanges by `ioTimeout`.
            Self.setTimeout(s, tls != nil ? timeout : ioTimeout)
            if let tls {
                do { ssl = try tls.session(fd: s, host: host, endpoint: endpoint) } catch {
                    close(s)
                    throw error
                }
                Self.setTimeout(s, ioTimeout)
            }
            fd = s
            return
        }
        throw HTTPFailure(reason: "\(endpoint): cannot connect: \(lastError)", sent: false)
    }

    deinit {
        if let ssl { SSL_free(ssl) }
        close(fd)
    }

    private static func setTimeout(_ s: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// One write (TLS or plain); bytes written or -1 with errno set.
    private func write(_ p: UnsafeRawBufferPointer) -> Int {
        if let ssl {
            let n = SSL_write(ssl, p.baseAddress, Int32(p.count))
            if n <= 0 { if errno == 0 { errno = EPIPE }; return -1 }
            return Int(n)
        }
        return Glibc.send(fd, p.baseAddress, p.count, Int32(MSG_NOSIGNAL))
    }

    /// One read (TLS or plain); bytes read, 0 at EOF, or -1 with errno set.
    private func read(_ p: UnsafeMutableRawBufferPointer) -> Int {
        if let ssl {
            errno = 0
            let n = SSL_read(ssl, p.baseAddress, Int32(p.count))
            if n > 0 { return Int(n) }
            let err = SSL_get_error(ssl, n)
            if err == SSL_ERROR_ZERO_RETURN { return 0 }
            if err == SSL_ERROR_SYSCALL && errno == 0 { return 0 }
            if errno == 0 { errno = EIO }
            ERR_clear_error()
            return -1
        }
        return recv(fd, p.baseAddress, p.count, 0)
    }

    /// Wakes a read blocked on this connection (it then fails); safe from any thread.
    func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    static func split(_ endpoint: String) -> (host: String, port: String) {
        if endpoint.hasPrefix("["), let close = endpoint.firstIndex(of: "]") {
            let host = String(endpoint[endpoint.index(after: endpoint.startIndex)..<close])
            return (host, String(endpoint[endpoint.index(close, offsetBy: 2)...]))
        }
        let colon = endpoint.lastIndex(of: ":")!
        return (String(endpoint[..<colon]), String(endpoint[endpoint.index(after: colon)...]))
    }

    /// Non-blocking connect bounded by `timeout`, then back to blocking. Returns the error text.
    private static func connect(_ s: Int32, _ addr: UnsafeMutablePointer<sockaddr>, _ len: socklen_t,
                                timeout: Double) -> String? {
        let flags = fcntl(s, F_GETFL)
        _ = fcntl(s, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(s, F_SETFL, flags) }
        if Glibc.connect(s, addr, len) == 0 { return nil }
        guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
        var p = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
        let n = poll(&p, 1, Int32(timeout * 1000))
        if n == 0 { return "connect timed out after \(timeout) s" }
        if n < 0 { return String(cString: strerror(errno)) }
        var err: Int32 = 0
        var l = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l)
        return err == 0 ? nil : String(cString: strerror(err))
    }

    var hasBufferedData: Bool { start < buffer.count || (ssl.map { SSL_pending($0) > 0 } ?? false) }

    /// Waits up to `timeout` seconds for data to read; true when some is there (or the peer closed).
    func waitReadable(timeout: Double) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&p, 1, Int32(timeout * 1000))
            if n < 0 && errno == EINTR { continue }
            return n != 0
        }
    }

    /// Sends `POST path` with a JSON body.
    func send(path: String, body: [UInt8], headers: [(String, String)]) throws(HTTPFailure) {
        var head = "POST \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nContent-Type: application/json\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        let bytes = Array(head.utf8) + body
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { p in write(UnsafeRawBufferPointer(rebasing: p[off...])) }
            if n < 0 {
                if errno == EINTR { continue }
                broken = true
                throw HTTPFailure(reason: "\(endpoint): send failed: \(String(cString: strerror(errno)))", sent: off > 0)
            }
            off += n
        }
    }

    /// Reads more bytes into the buffer; false on EOF.
    private func fill() throws(HTTPFailure) -> Bool {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read($0) }
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return true }
            if n == 0 { broken = true; return false }
            if errno == EINTR { continue }
            broken = true
            let timedOut = errno == EAGAIN || errno == EWOULDBLOCK
            let why = timedOut ? "timed out" : String(cString: strerror(errno))
            throw HTTPFailure(reason: "\(endpoint): receive failed: \(why)", sent: true, timedOut: timedOut)
        }
    }

    private func eof() -> HTTPFailure {
        HTTPFailure(reason: "\(endpoint): connection closed by the server", sent: true)
    }

    private func readLine() throws(HTTPFailure) -> String {
        while true {
            if let i = buffer[start...].firstIndex(of: 10) {
                var end = i
                if end > start && buffer[end - 1] == 13 { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = i + 1
                return line
            }
            guard try fill() else { throw eof() }
        }
    }

    private func readExactly(_ n: Int) throws(HTTPFailure) -> [UInt8] {
        while buffer.count - start < n { guard try fill() else { throw eof() } }
        let out = Array(buffer[start..<start + n])
        start += n
        return out
    }

    /// Reads the status line and headers; returns status, content length (nil when chunked
    /// or unknown) and whether the body is chunked.
    func readHead() throws(HTTPFailure) -> (status: Int, length: Int?, chunked: Bool, close: Bool) {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            broken = true
            throw HTTPFailure(reason: "\(endpoint): not an HTTP response: \(statusLine.prefix(80))", sent: true)
        }
        var length: Int?
        var chunked = false, closeAfter = false
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces().lowercased()
            switch name {
            case "content-length": length = Int(value)
            case "transfer-encoding": chunked = value.contains("chunked")
            case "connection": closeAfter = value == "close"
            default: break
            }
        }
        return (status, length, chunked, closeAfter)
    }

    /// The next chunk of a chunked body; nil at the last (empty) chunk.
    func readChunk() throws(HTTPFailure) -> [UInt8]? {
        let sizeLine = try readLine()
        let hex = sizeLine.split(separator: ";").first.map(String.init) ?? ""
        guard let size = Int(hex.trimmingSpaces(), radix: 16) else {
            broken = true
            throw HTTPFailure(reason: "\(endpoint): bad chunk size \"\(sizeLine.prefix(20))\"", sent: true)
        }
        if size == 0 {
            // trailers until the empty line
            while try !readLine().isEmpty {}
            return nil
        }
        let data = try readExactly(size)
        _ = try readLine()
        return data
    }

    /// A whole unary exchange.
    func request(path: String, body: [UInt8], headers: [(String, String)]) throws(HTTPFailure) -> HTTPResponse {
        try send(path: path, body: body, headers: headers)
        let head = try readHead()
        var out: [UInt8] = []
        if head.chunked {
            while let c = try readChunk() { out += c }
        } else if let n = head.length {
            out = try readExactly(n)
        } else {
            while try fill() {}
            out = Array(buffer[start...])
            start = buffer.count
        }
        if head.close { broken = true }
        return HTTPResponse(status: head.status, body: out)
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
