import Dispatch
import Foundation
import NetCore
import Posix
import Synchronization
import TestSupport
import Testing
@testable import NodeAgent

/// A blocking raw-socket HTTP client for tests (URLSession is unreliable on Linux): sends the
/// bytes as given, then reads until the server closes, with a receive timeout.
enum RawHTTP {
    struct Reply { var status: Int; var headers: [String: String]; var body: String; var raw: String }

    static func connect(port: UInt16, timeoutSeconds: Int = 5) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let r = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 { close(fd); return nil }
        return fd
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    static func readToEOF(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    static func exchange(port: UInt16, _ request: String) -> Reply? { exchange(port: port, Array(request.utf8)) }

    static func exchange(port: UInt16, _ request: [UInt8]) -> Reply? {
        guard let fd = connect(port: port) else { return nil }
        defer { close(fd) }
        _ = sendAll(fd, request)
        return parse(readToEOF(fd))
    }

    static func parse(_ bytes: [UInt8]) -> Reply? {
        let raw = String(decoding: bytes, as: UTF8.self)
        guard let split = raw.range(of: "\r\n\r\n") else { return nil }
        let lines = raw[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for l in lines.dropFirst() {
            guard let c = l.firstIndex(of: ":") else { return nil }
            headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: headers, body: String(raw[split.upperBound...]), raw: raw)
    }
}

/// Whether something listens on 127.0.0.1:port.
private func canBind(port: UInt16) -> Bool {
    guard let s = try? Socket.tcp(.v4) else { return false }
    defer { s.close() }
    // SO_REUSEADDR: TIME_WAIT leftovers of closed connections don't count, a listener does.
    guard (try? s.setReuseAddress()) != nil else { return false }
    return (try? s.bind(to: SocketAddress(.v4(IPv4Address(127, 0, 0, 1)), port: port))) != nil
}

@Suite struct HTTPEndpointTests {
    func makeServer(maxRequestBytes: Int = 8192, readTimeoutMilliseconds: Int64 = 5000) throws -> HTTPEndpoint {
        let s = try HTTPEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: 0, maxRequestBytes: maxRequestBytes,
                                 readTimeoutMilliseconds: readTimeoutMilliseconds)
        let metrics = Metrics()
        metrics.describe("twill_bgp_sessions", kind: .gauge, help: "BGP sessions by state.")
        metrics.set("twill_bgp_sessions", labels: ["state": "Established"], 2)
        s.route("/metrics") { _ in (200, Metrics.contentType, metrics.render()) }
        s.route("/readiness") { _ in (503, "text/plain; charset=utf-8", "not ready: peer 10.0.0.2 is Active\n") }
        s.route("/liveness") { path in (200, "text/plain; charset=utf-8", "ok \(path)\n") }
        return s
    }

    @Test func servesRoutesWithStatusTypeLengthAndClose() throws {
        let s = try makeServer()
        defer { s.close() }
        #expect(s.boundPort != 0)
        let r = try #require(RawHTTP.exchange(port: s.boundPort, "GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n"))
        #expect(r.status == 200)
        #expect(r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(r.headers["connection"] == "close")
        #expect(r.headers["content-length"] == String(r.body.utf8.count))
        #expect(r.body.contains("twill_bgp_sessions{state=\"Established\"} 2\n"))
        #expect(parseProm(r.body) != nil)

        let ready = try #require(RawHTTP.exchange(port: s.boundPort, "GET /readiness HTTP/1.0\r\n\r\n"))
        #expect(ready.status == 503 && ready.body.contains("10.0.0.2"))
        // Query strings are not part of the path; absolute-form targets are accepted.
        let live = try #require(RawHTTP.exchange(port: s.boundPort, "GET /liveness?verbose=1 HTTP/1.1\r\n\r\n"))
        #expect(live.status == 200 && live.body == "ok /liveness\n")
        let abs = try #require(RawHTTP.exchange(port: s.boundPort, "GET http://node:9099/liveness HTTP/1.1\r\n\r\n"))
        #expect(abs.status == 200)
        // HEAD: the GET headers, no body.
        let head = try #require(RawHTTP.exchange(port: s.boundPort, "HEAD /liveness HTTP/1.1\r\n\r\n"))
        #expect(head.status == 200 && head.body.isEmpty && head.headers["content-length"] == "13")
    }

    @Test func unknownPathIs404() throws {
        let s = try makeServer()
        defer { s.close() }
        let r = try #require(RawHTTP.exchange(port: s.boundPort, "GET /nope HTTP/1.1\r\n\r\n"))
        #expect(r.status == 404)
        let r2 = try #require(RawHTTP.exchange(port: s.boundPort, "GET /metrics/ HTTP/1.1\r\n\r\n"))
        #expect(r2.status == 404)
    }

    @Test(arguments: [
        ("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
        ("DELETE / HTTP/1.1\r\n\r\n", 405),
        ("GET /metrics\r\n\r\n", 400),
        ("GET  /metrics HTTP/1.1\r\n\r\n", 400),
        ("GET metrics HTTP/1.1\r\n\r\n", 400),
        ("GET /metrics HTTP/2.0\r\n\r\n", 505),
        ("GET /metrics FTP/1.0\r\n\r\n", 400),
        ("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        ("hello world\r\n\r\n", 400),
        ("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}", 400),
    ])
    func junkIsRefused(request: String, status: Int) throws {
        let s = try makeServer()
        defer { s.close() }
        let r = try #require(RawHTTP.exchange(port: s.boundPort, request))
        #expect(r.status == status, "\(request.debugDescription) → \(r.raw.debugDescription)")
        #expect(r.headers["connection"] == "close")
        if status == 405 { #expect(r.headers["allow"] == "GET, HEAD") }
    }

    @Test func oversizedRequestIsRefusedWith431() throws {
        let s = try makeServer(maxRequestBytes: 1024)
        defer { s.close() }
        // A head that never ends, well past the limit: refused without waiting for the end.
        let big = "GET /metrics HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: 64 * 1024)
        let r = try #require(RawHTTP.exchange(port: s.boundPort, big))
        #expect(r.status == 431)
        // A complete head just over the limit is refused too; one under it is served.
        let over = "GET /metrics HTTP/1.1\r\nX-Pad: " + String(repeating: "b", count: 1000) + "\r\n\r\n"
        #expect(RawHTTP.exchange(port: s.boundPort, over)?.status == 431)
        let under = "GET /metrics HTTP/1.1\r\nX-Pad: " + String(repeating: "c", count: 900) + "\r\n\r\n"
        #expect(RawHTTP.exchange(port: s.boundPort, under)?.status == 200)
    }

    @Test func slowClientGets408AfterTheReadTimeout() throws {
        let s = try makeServer(readTimeoutMilliseconds: 200)
        defer { s.close() }
        let fd = try #require(RawHTTP.connect(port: s.boundPort))
        defer { close(fd) }
        _ = RawHTTP.sendAll(fd, Array("GET /metrics HTTP/1.1\r\n".utf8))   // never finishes the head
        let start = DispatchTime.now()
        let r = try #require(RawHTTP.parse(RawHTTP.readToEOF(fd)))
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        #expect(r.status == 408)
        #expect(ms < 3000, "closed after \(ms) ms")
        #expect(eventually { s.connectionCount == 0 })
    }

    @Test func idleConnectionIsClosedAndFreed() throws {
        let s = try makeServer(readTimeoutMilliseconds: 200)
        defer { s.close() }
        let fd = try #require(RawHTTP.connect(port: s.boundPort))
        let r = RawHTTP.parse(RawHTTP.readToEOF(fd))
        close(fd)
        #expect(r?.status == 408)
        #expect(eventually { s.connectionCount == 0 })
    }

    @Test func connectionsBeyondTheCapGet503() throws {
        let s = try HTTPEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: 0, maxConnections: 2)
        defer { s.close() }
        s.route("/liveness") { _ in (200, "text/plain", "ok") }
        let a = try #require(RawHTTP.connect(port: s.boundPort))
        let b = try #require(RawHTTP.connect(port: s.boundPort))
        defer { close(b) }
        #expect(eventually { s.connectionCount == 2 })
        #expect(RawHTTP.exchange(port: s.boundPort, "GET /liveness HTTP/1.1\r\n\r\n")?.status == 503)
        close(a)
        // The slot frees once the server sees the client go away.
        #expect(eventually { s.connectionCount <= 1 })
        #expect(RawHTTP.exchange(port: s.boundPort, "GET /liveness HTTP/1.1\r\n\r\n")?.status == 200)
    }

    @Test func halfClosingClientStillGetsTheAnswerAndIsFreedAtOnce() throws {
        let s = try makeServer()   // 5 s read timeout: being freed sooner proves EOF was seen
        defer { s.close() }
        let fd = try #require(RawHTTP.connect(port: s.boundPort))
        defer { close(fd) }
        #expect(RawHTTP.sendAll(fd, Array("GET /liveness HTTP/1.1\r\n\r\n".utf8)))
        shutdown(fd, Int32(SHUT_WR))
        #expect(RawHTTP.parse(RawHTTP.readToEOF(fd))?.status == 200)
        #expect(eventually(timeout: 2) { s.connectionCount == 0 })
    }

    @Test func concurrentClientsAreAllServed() throws {
        let s = try makeServer()
        defer { s.close() }
        let port = s.boundPort
        let ok = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 40) { i in
            let path = i % 2 == 0 ? "/metrics" : "/liveness"
            if let r = RawHTTP.exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n"), r.status == 200 {
                ok.withLock { $0 += 1 }
            }
        }
        #expect(ok.withLock { $0 } == 40)
        #expect(eventually { s.connectionCount == 0 })
    }

    @Test func closeFreesThePortAndStopsServing() throws {
        let s = try makeServer()
        let port = s.boundPort
        // A client that connected and never sent anything must not keep the port.
        let idle = try #require(RawHTTP.connect(port: port))
        defer { close(idle) }
        #expect(!canBind(port: port))
        s.close()
        #expect(canBind(port: port))
        #expect(RawHTTP.exchange(port: port, "GET /metrics HTTP/1.1\r\n\r\n") == nil)
        s.close()   // idempotent
        // The same port can be served again at once.
        let again = try HTTPEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: port)
        defer { again.close() }
        again.route("/x") { _ in (200, "text/plain", "again") }
        #expect(RawHTTP.exchange(port: port, "GET /x HTTP/1.1\r\n\r\n")?.body == "again")
    }

    @Test func bindErrorNamesTheAddress() throws {
        let s = try makeServer()
        defer { s.close() }
        do {
            let t = try HTTPEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: s.boundPort)
            t.close()
            Issue.record("second bind on a used port succeeded")
        } catch {
            #expect(error.errno == .addressInUse)
            #expect(error.description.contains("127.0.0.1:\(s.boundPort)"))
        }
    }

    @Test func dualStackListenerAcceptsIPv4() throws {
        guard FileManager.default.fileExists(atPath: "/proc/net/if_inet6") else { print("SKIP dual-stack: no IPv6"); return }
        let s = try HTTPEndpoint(address: .v6(IPv6Address(high: 0, low: 0)), port: 0)
        defer { s.close() }
        s.route("/liveness") { _ in (200, "text/plain", "ok") }
        #expect(RawHTTP.exchange(port: s.boundPort, "GET /liveness HTTP/1.1\r\n\r\n")?.body == "ok")
    }
}
