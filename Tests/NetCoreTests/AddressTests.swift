import NetCore
import Testing

@Suite struct AddressTests {
    @Test(arguments: [
        ("10.0.0.1", true), ("255.255.255.255", true), ("0.0.0.0", true),
        ("256.0.0.1", false), ("10.0.0", false), ("10.0.0.01", false), ("10..0.1", false), ("a.b.c.d", false),
    ])
    func ipv4Parse(text: String, ok: Bool) {
        #expect((IPv4Address(text) != nil) == ok)
        if ok { #expect(IPv4Address(text)!.description == text) }
    }

    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"), ("::", "::"), ("::1", "::1"), ("fe80::", "fe80::"),
        ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("::ffff:10.1.2.3", "::ffff:a01:203"), ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func ipv6ParseFormat(text: String, canonical: String) throws {
        let a = try #require(IPv6Address(text))
        #expect(a.description == canonical)
        #expect(IPv6Address(bytes: a.bytes) == a)
    }

    @Test(arguments: ["1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::", ":1", ""])
    func ipv6Rejects(text: String) { #expect(IPv6Address(text) == nil) }

    @Test func prefixStrict() {
        #expect(IPPrefix("10.244.0.0/16") != nil)
        #expect(IPPrefix.parse("10.244.1.0/16", strict: true) == .failure(.notMasked("10.244.1.0/16", canonical: "10.244.0.0/16")))
        #expect(IPPrefix.parse("10.0.0.0", strict: true) == .failure(.missingLength("10.0.0.0")))
        #expect(IPPrefix.parse("10.0.0.0/33", strict: true) == .failure(.badLength("10.0.0.0/33")))
        #expect(IPPrefix("fd00::/64")?.description == "fd00::/64")
        #expect(IPPrefix("fd00::1/64") == nil)
    }

    @Test func prefixRelations() throws {
        let pool = try #require(IPPrefix("10.244.0.0/16"))
        let block = try #require(IPPrefix("10.244.3.64/26"))
        #expect(pool.contains(block))
        #expect(!block.contains(pool))
        #expect(pool.overlaps(block) && block.overlaps(pool))
        #expect(!pool.overlaps(try #require(IPPrefix("10.245.0.0/16"))))
        #expect(block.addressCount == 64)
        #expect(block.address(at: 5).description == "10.244.3.69")
        #expect(block.offset(of: IPAddress("10.244.3.69")!) == 5)
        #expect(block.keyForm == "10.244.3.64-26")
        #expect(IPPrefix(keyForm: "10.244.3.64-26") == block)
        let v6 = try #require(IPPrefix("fd00:1::/122"))
        #expect(v6.address(at: 3).description == "fd00:1::3")
    }

    @Test(arguments: [("64512", UInt32(64512)), ("1.10", UInt32(65546)), ("4200000001", UInt32(4200000001)), ("65535.65535", UInt32.max)])
    func asNumbers(text: String, value: UInt32) { #expect(ASNumber(text)?.value == value) }

    @Test(arguments: ["", "1.2.3", "65536.1", "4294967296", "-1", "1a"])
    func asNumberRejects(text: String) { #expect(ASNumber(text) == nil) }

    @Test(arguments: [("90s", Int64(90_000)), ("1m30s", 90_000), ("500ms", 500), ("1h", 3_600_000), ("1.5s", 1500), ("0", 0)])
    func durations(text: String, ms: Int64) { #expect(CalicoDuration(text)?.milliseconds == ms) }

    @Test func durationFormat() {
        #expect(CalicoDuration(seconds: 90).description == "1m30s")
        #expect(CalicoDuration(seconds: 120).description == "2m0s")
        #expect(CalicoDuration(milliseconds: 500).description == "500ms")
        #expect(CalicoDuration("abc") == nil)
        #expect(CalicoDuration("10x") == nil)
    }

    @Test func ports() {
        #expect(Port("80") == .number(80))
        #expect(Port("8000:8080") == .range(8000, 8080))
        #expect(Port("http") == .named("http"))
        #expect(Port("9:1") == nil)
        #expect(Port("70000") == nil)
    }

    @Test func mac() {
        #expect(MACAddress("66:0a:0B:cc:dd:ee")?.description == "66:0a:0b:cc:dd:ee")
        #expect(MACAddress("66:0a:0b:cc:dd") == nil)
    }
}
