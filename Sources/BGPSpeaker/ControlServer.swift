import Dispatch
import Foundation
import Logging
import Posix

/// The control socket: a Unix stream socket answering one JSON request line per connection.
/// Runs on its own serial queue; `handler` computes the reply (it may `sync` onto the
/// speaker's queue, which never waits on this one).
public final class ControlServer: @unchecked Sendable {
    public let path: String
    private let queue = DispatchQueue(label: "twill.bgp.control")
    private let listener: Socket
    private var acceptSource: DispatchSourceRead?
    private var clients: [ObjectIdentifier: StreamConnection] = [:]
    private let handler: @Sendable (ControlRequest) -> ControlReply
    private let logger: Logger
    private static let maxRequest = 4096

    /// Binds `path` (replacing a stale socket file) and starts accepting.
    public init(path: String, logger: Logger, handler: @escaping @Sendable (ControlRequest) -> ControlReply) throws {
        self.path = path
        self.handler = handler
        self.logger = logger
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw ConfigError("controlSocket", "\(path) exists and is not a socket")
            }
            unlink(path)
        }
        listener = try Socket.unixStream()
        do {
            try listener.bindUnix(path: path)
            chmod(path, 0o660)
            try listener.listen(backlog: 16)
        } catch {
            listener.close()
            throw error
        }
        queue.sync {
            let s = DispatchSource.makeReadSource(fileDescriptor: listener.descriptor, queue: queue)
            s.setEventHandler { @Sendable [weak self] in self?.acceptAll() }
            let l = listener
            s.setCancelHandler { l.close() }
            s.resume()
            acceptSource = s
        }
    }

    deinit { assert(acceptSource == nil, "ControlServer released without close()") }

    /// Stops accepting, drops clients, removes the socket file.
    public func close() {
        queue.sync {
            acceptSource?.cancel()
            acceptSource = nil
            for c in clients.values { c.close() }
            clients.removeAll()
        }
        unlink(path)
    }

    private func acceptAll() {
        while true {
            let r: IOResult<AcceptedConnection>
            do { r = try listener.accept() } catch {
                logger.warning("control socket accept failed", metadata: ["error": "\(error)"])
                return
            }
            guard case .processed(let a) = r else { return }
            let conn = StreamConnection(socket: a.socket, queue: queue)
            let id = ObjectIdentifier(conn)
            var buffer: [UInt8] = []
            conn.onRead = { [weak self, weak conn] bytes in
                guard let self, let conn else { return }
                buffer += bytes
                if let nl = buffer.firstIndex(of: 10) {
                    let reply = self.reply(to: Array(buffer[..<nl]))
                    conn.send(reply)
                    conn.closeAfterFlush()
                } else if buffer.count > Self.maxRequest {
                    conn.send(Self.encode(ControlReply(error: "request too long")))
                    conn.closeAfterFlush()
                }
            }
            conn.onClosed = { [weak self] in self?.clients[id] = nil }
            clients[id] = conn
            conn.start()
        }
    }

    private func reply(to line: [UInt8]) -> [UInt8] {
        guard let req = try? JSONDecoder().decode(ControlRequest.self, from: Data(line)) else {
            return Self.encode(ControlReply(error: "bad request: expected {\"cmd\":\"status\"} or {\"cmd\":\"routes\"}"))
        }
        return Self.encode(handler(req))
    }

    static func encode(_ r: ControlReply) -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = (try? [UInt8](enc.encode(r))) ?? Array(#"{"error":"encoding failed"}"#.utf8)
        out.append(10)
        return out
    }
}
