import Testing
@testable import NodeAgent

@Suite struct HTTPRequestHeadTests {
    func parse(_ s: String, limit: Int = 8192) -> HTTPRequestHead { HTTPRequestHead.parse(Array(s.utf8), limit: limit) }

    @Test func completeHeads() {
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n") == .request(method: "GET", path: "/metrics"))
        #expect(parse("HEAD /readiness HTTP/1.0\r\n\r\n") == .request(method: "HEAD", path: "/readiness"))
        // Bare LF line ends and leading empty lines (RFC 9112 §2.2) are tolerated.
        #expect(parse("GET /a HTTP/1.1\nHost: a\n\n") == .request(method: "GET", path: "/a"))
        #expect(parse("\r\nGET /a HTTP/1.1\r\n\r\n") == .request(method: "GET", path: "/a"))
        #expect(parse("GET /a?x=1#f HTTP/1.1\r\n\r\n") == .request(method: "GET", path: "/a"))
        #expect(parse("GET http://h:9091/metrics?x HTTP/1.1\r\n\r\n") == .request(method: "GET", path: "/metrics"))
        #expect(parse("GET http://h:9091 HTTP/1.1\r\n\r\n") == .request(method: "GET", path: "/"))
    }

    @Test func incompleteUntilTheBlankLineOrTheLimit() {
        #expect(parse("") == .incomplete)
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n") == .incomplete)
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n", limit: 20) == .reject(status: 431, reason: "request head larger than 20 bytes"))
        #expect(parse("GET /m HTTP/1.1\r\n\r\n", limit: 10) == .reject(status: 431, reason: "request head larger than 10 bytes"))
    }

    @Test func statusForEachKindOfJunk() {
        func status(_ s: String) -> Int? { if case .reject(let st, _) = parse(s) { st } else { nil } }
        #expect(status("PUT /x HTTP/1.1\r\n\r\n") == 405)
        #expect(status("OPTIONS * HTTP/1.1\r\n\r\n") == 405)
        #expect(status("GET * HTTP/1.1\r\n\r\n") == 400)
        #expect(status("GET /x HTTP/3\r\n\r\n") == 505)
        #expect(status("G@T /x HTTP/1.1\r\n\r\n") == 400)
        #expect(status("GET /x HTTP/1.1\r\n: empty-name\r\n\r\n") == 400)
        #expect(status("GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n") == 400)
        #expect(status("\u{0}\u{1}binary") == 400)          // refused before any line end
        #expect(status("GET /\u{7F} HTTP/1.1\r\n\r\n") == 400)
    }
}
