import BGPWire
import NetCore
import Testing

/// Hex text (whitespace ignored) to bytes; traps on bad input (test data only).
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "odd hex length")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// Compares two byte strings and, on mismatch, records a hex diff: the common prefix length
/// and the two tails from the first difference, in 16-byte rows.
func expectBytes(_ actual: [UInt8], _ expected: [UInt8], _ what: String = "",
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual != expected else { return }
    var i = 0
    while i < min(actual.count, expected.count) && actual[i] == expected[i] { i += 1 }
    func rows(_ b: [UInt8]) -> String {
        let tail = Array(b[min(i, b.count)...].prefix(64))
        return stride(from: 0, to: tail.count, by: 16).map { hexString(Array(tail[$0..<min($0 + 16, tail.count)])) }
            .joined(separator: "\n    ")
    }
    Issue.record("""
        \(what) bytes differ at offset \(i) (actual \(actual.count) bytes, expected \(expected.count))
          actual:   \(rows(actual))
          expected: \(rows(expected))
        """, sourceLocation: sourceLocation)
}

/// Frames and decodes exactly one message.
func decodeOne(_ bytes: [UInt8], _ context: DecodeContext = DecodeContext()) throws(WireError) -> BGPMessage {
    let frame = try context.framer.next(in: bytes)
    guard case .message(_, let length) = frame, length == bytes.count else {
        Issue.record("framer did not find exactly one message: \(frame)")
        throw WireError(code: 0, subcode: 0, reason: "test framing")
    }
    return try BGPMessage.decode(bytes, context: context)
}

func v4(_ s: String) -> IPv4Address { IPv4Address(s)! }
func v6(_ s: String) -> IPv6Address { IPv6Address(s)! }
func prefix(_ s: String, pathID: UInt32? = nil) -> NLRI { NLRI(IPPrefix(s)!, pathID: pathID) }

/// An UPDATE from its three fields (hex), lengths computed.
func updateBytes(withdrawn: String = "", attributes: String = "", nlri: String = "") -> [UInt8] {
    let w = hex(withdrawn), a = hex(attributes), n = hex(nlri)
    let body = [UInt8(w.count >> 8), UInt8(w.count & 0xff)] + w + [UInt8(a.count >> 8), UInt8(a.count & 0xff)] + a + n
    let length = 19 + body.count
    return [UInt8](repeating: 0xff, count: 16) + [UInt8(length >> 8), UInt8(length & 0xff), 2] + body
}
