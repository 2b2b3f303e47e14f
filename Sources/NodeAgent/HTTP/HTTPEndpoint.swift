import BGPSpeaker
import Dispatch
import NetCore
import Posix

/// A tiny HTTP/1.1 server for health (`/liveness`, `/readiness`, port 9099) and Prometheus
/// metrics (`/metrics`, port 9091): GET and HEAD only, one request per connection
/// (`Connection: close`), a bounded request head and a read deadline. POSIX sockets driven by
/// Dispatch sources on one serial queue (no SwiftNIO).
///
/// Invariants (STYLE.md (d) 1–5): every connection and the listener live on `queue`; the
/// listener fd is closed only in the accept source's cancel handler, and `close()` waits for
/// it, so the port is free once `close()` returns; handlers capture `self` weakly; `deinit`
/// only asserts that `close()` ran. `@unchecked Sendable`: all state is confined to `queue`.
public final class HTTPEndpoint: @unchecked Sendable {
    /// A route handler: the request path (query removed) → the response. Runs on the
    /// endpoint's queue, so it must be quick (render a snapshot, read a flag).
    public typealias Handler = @Sendable (_ path: String) -> (status: Int, contentType: String, body: String)

    public let address: IPAddress
    /// The port actually bound (useful with port 0).
    public let boundPort: UInt16
    public let maxRequestBytes: Int
    public let readTimeoutMilliseconds: Int64
    public let maxConnections: Int

    private let queue = DispatchQueue(label: "twill.node.http")
    private let listener: Socket
    private var acceptSource: DispatchSourceRead?
    private let listenerClosed = DispatchSemaphore(value: 0)
    private var routes: [String: Handler] = [:]
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    /// The accept source is suspended while accept(2) fails for lack of resources; it must be
    /// resumed again before it is cancelled (STYLE.md (d) 1).
    private var acceptPaused = false
    private let acceptRetry = QueueTimer()

    /// Binds `address`:`port` (port 0 picks a free one; `::` also accepts IPv4) and starts
    /// serving. Throws the bind/listen error, naming the address.
    public init(address: IPAddress, port: UInt16, maxRequestBytes: Int = 8192, readTimeoutMilliseconds: Int64 = 5000,
                maxConnections: Int = 64) throws(SyscallError) {
        self.address = address
        self.maxRequestBytes = maxRequestBytes
        self.readTimeoutMilliseconds = readTimeoutMilliseconds
        self.maxConnections = maxConnections
        let l = try Socket.tcp(address.family)
        do {
            try l.setReuseAddress()
            if address.family == .v6 { try l.setV6Only(false) }
            try l.bind(to: SocketAddress(address, port: port))
            try l.listen(backlog: 64)
            boundPort = try l.localAddress().port
        } catch {
            l.close()
            throw error
        }
        listener = l
        queue.sync {
            let s = DispatchSource.makeReadSource(fileDescriptor: l.descriptor, queue: queue)
            s.setEventHandler { @Sendable [weak self] in self?.acceptAll() }
            let closed = listenerClosed
            s.setCancelHandler { @Sendable in l.close(); closed.signal() }
            s.resume()
            acceptSource = s
        }
    }

    deinit { assert(acceptSource == nil, "HTTPEndpoint released without close()") }

    /// Serves `path` (exact match) with `handler`; replaces an earlier handler for it.
    /// Not from inside a handler (it syncs onto the endpoint's queue).
    public func route(_ path: String, _ handler: @escaping Handler) {
        dispatchPrecondition(condition: .notOnQueue(queue))
        queue.sync { routes[path] = handler }
    }

    /// Stops accepting, drops open connections and closes the listening socket; the port can
    /// be bound again when this returns. Idempotent.
    public func close() {
        dispatchPrecondition(condition: .notOnQueue(queue))
        let wasOpen = queue.sync { () -> Bool in
            guard let s = acceptSource else { return false }
            acceptRetry.cancel()
            if acceptPaused { acceptPaused = false; s.resume() }
            s.cancel()
            acceptSource = nil
            for c in connections.values { c.close() }
            connections.removeAll()
            return true
        }
        if wasOpen { listenerClosed.wait() }
    }

    /// Open connections (for tests and the metrics of the server itself).
    public var connectionCount: Int {
        dispatchPrecondition(condition: .notOnQueue(queue))
        return queue.sync { connections.count }
    }

    // MARK: queue-confined

    private func acceptAll() {
        dispatchPrecondition(condition: .onQueue(queue))
        while let source = acceptSource, !acceptPaused {
            let a: AcceptedConnection
            do {
                guard case .processed(let c) = try listener.accept() else { return }
                a = c
            } catch where error.errno == .connectionAbort {
                continue
            } catch {
                // EMFILE/ENFILE/ENOBUFS: the listener stays readable (sources are level-
                // triggered), so pause accepting briefly instead of spinning.
                acceptPaused = true
                source.suspend()
                acceptRetry.schedule(on: queue, afterMilliseconds: 100) { [weak self] in
                    guard let self, self.acceptPaused else { return }
                    self.acceptPaused = false
                    self.acceptSource?.resume()
                }
                return
            }
            let conn = HTTPConnection(socket: a.socket, queue: queue, endpoint: self)
            let id = ObjectIdentifier(conn)
            connections[id] = conn
            conn.onClosed = { [weak self] in self?.connections[id] = nil }
            if connections.count > maxConnections {
                conn.start()
                conn.respond(status: 503, contentType: "text/plain; charset=utf-8", body: "too many connections\n", head: false)
            } else {
                conn.start()
            }
        }
    }

    fileprivate func response(method: String, path: String) -> (status: Int, contentType: String, body: String) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let h = routes[path] else { return (404, "text/plain; charset=utf-8", "404 page not found\n") }
        return h(path)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }

    /// The full response bytes; HEAD gets the headers of the GET response and no body.
    static func encode(status: Int, contentType: String, body: String, head: Bool) -> [UInt8] {
        let bodyBytes = Array(body.utf8)
        var h = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        h += "Content-Type: \(contentType)\r\n"
        h += "Content-Length: \(bodyBytes.count)\r\n"
        if status == 405 { h += "Allow: GET, HEAD\r\n" }
        h += "Connection: close\r\n\r\n"
        return Array(h.utf8) + (head ? [] : bodyBytes)
    }
}

/// One accepted connection: reads the request head, answers once, then closes gracefully:
/// shut the write side after the response is flushed and drain input until the client closes
/// (or the deadline), so unread request bytes never turn the close into a reset that would
/// destroy the response. Confined to the endpoint's queue.
private final class HTTPConnection: @unchecked Sendable {
    private let stream: StreamConnection
    private weak var endpoint: HTTPEndpoint?
    private let timer = QueueTimer()
    private var buffer: [UInt8] = []
    private var answered = false
    private var writeShut = false
    private var peerClosed = false
    var onClosed: (() -> Void)?

    init(socket: Socket, queue: DispatchQueue, endpoint: HTTPEndpoint) {
        stream = StreamConnection(socket: socket, queue: queue)
        self.endpoint = endpoint
    }

    func start() {
        stream.onRead = { [weak self] bytes in self?.received(bytes) }
        stream.onEnd = { [weak self] _ in self?.finish() }
        stream.onClosed = { [weak self] in
            self?.timer.cancel()
            let cb = self?.onClosed
            self?.onClosed = nil
            cb?()
        }
        stream.start()
        let ms = endpoint?.readTimeoutMilliseconds ?? 5000
        timer.schedule(on: stream.queue, afterMilliseconds: ms) { [weak self] in self?.timedOut() }
    }

    func close() {
        timer.cancel()
        stream.close()
    }

    private func received(_ bytes: [UInt8]) {
        guard !answered, let endpoint else { drain(); return }   // after the answer: discard
        buffer += bytes
        switch HTTPRequestHead.parse(buffer, limit: endpoint.maxRequestBytes) {
        case .incomplete:
            return
        case .reject(let status, let reason):
            respond(status: status, contentType: "text/plain; charset=utf-8", body: "\(reason)\n", head: false)
        case .request(let method, let path):
            let r = endpoint.response(method: method, path: path)
            respond(status: r.status, contentType: r.contentType, body: r.body, head: method == "HEAD")
        }
    }

    func respond(status: Int, contentType: String, body: String, head: Bool) {
        guard !answered, !stream.isClosed else { return }
        answered = true
        buffer = []
        stream.onWriteProgress = { [weak self] in self?.shutWriteIfFlushed() }
        stream.send(HTTPEndpoint.encode(status: status, contentType: contentType, body: body, head: head))
        shutWriteIfFlushed()
        // Linger at most one more read timeout for the client to read and close.
        let ms = endpoint?.readTimeoutMilliseconds ?? 5000
        timer.schedule(on: stream.queue, afterMilliseconds: ms) { [weak self] in self?.finish() }
        drain()
    }

    private func shutWriteIfFlushed() {
        guard !writeShut, !stream.isClosed, stream.queuedBytes == 0 else { return }
        writeShut = true
        stream.socket.shutdownWrite()
        if peerClosed { finish() }
    }

    /// After the answer: reads and discards what is pending right now and notices end of
    /// stream at once. A client's last bytes and its FIN often arrive together; waiting for one
    /// more readiness event for the FIN was seen to leave the connection open until the
    /// linger deadline under load, so EOF is probed here directly (bounded per call).
    private func drain() {
        var scratch: [UInt8] = []
        for _ in 0..<16 where !stream.isClosed && !peerClosed {
            scratch.removeAll(keepingCapacity: true)
            switch try? stream.socket.read(appendingTo: &scratch, max: 16384) {
            case .processed(let n)? where n > 0: continue
            case .wouldBlock?: return
            default:   // end of stream or a reset: close once the answer is out
                peerClosed = true
                if stream.queuedBytes == 0 { finish() }
                return
            }
        }
    }

    private func timedOut() {
        if answered { finish(); return }
        respond(status: 408, contentType: "text/plain; charset=utf-8", body: "request not received in time\n", head: false)
    }

    private func finish() {
        timer.cancel()
        if !stream.isClosed { stream.close() }
    }
}
