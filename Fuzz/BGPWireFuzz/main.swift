// libFuzzer entry point over the BGPWire framer and every decoder (scripts/fuzz.sh builds it
// with `swiftc -sanitize=fuzzer,address`). Any trap, overrun or failed property is a crash.
import BGPWire

/// Contexts the decoders run under: each changes how the same bytes parse.
let contexts: [DecodeContext] = [
    DecodeContext(),
    DecodeContext(fourOctetAS: false),
    DecodeContext(addPath: [.ipv4Unicast, .ipv6Unicast], extendedMessages: true, extendedNextHop: [.ipv4Unicast],
                  externalPeer: true),
]

/// Property: a cleanly decoded message re-encodes to bytes that decode to the same value
/// (4-octet context; with 2-octet speakers RFC 6793 merging is lossy by design).
func checkRoundTrip(_ message: BGPMessage, _ context: DecodeContext) {
    guard context.fourOctetAS else { return }
    if case .update(let u) = message, !u.errors.isEmpty { return }
    let enc = EncodeContext(fourOctetAS: true, addPath: context.addPath, extendedMessages: context.extendedMessages)
    guard let bytes = try? message.encoded(context: enc) else { return }
    do {
        let again = try BGPMessage.decode(bytes, context: context)
        if again != message { fatalError("round trip changed the message:\n\(message)\n\(again)") }
    } catch {
        fatalError("re-encoded message does not decode: \(error)\n\(message)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for context in contexts {
        // The framer over the stream, then each framed message through the full decoder.
        var offset = 0
        framing: while offset < bytes.count {
            guard case .message(_, let length)? = try? context.framer.next(in: bytes, from: offset) else { break framing }
            do {
                let m = try BGPMessage.decode(bytes, range: offset..<(offset + length), context: context)
                // Invariant: recorded UPDATE errors are never session resets (those are thrown).
                if case .update(let u) = m, u.errors.contains(where: { $0.action == .sessionReset }) {
                    fatalError("a session-reset error was recorded instead of thrown: \(u.errors)")
                }
                checkRoundTrip(m, context)
            } catch {
                // Invariant: every thrown decoding error resets the session and names a real code.
                if error.action != .sessionReset || !(1...7).contains(error.code) {
                    fatalError("thrown error is not a session reset with a valid code: \(error)")
                }
            }
            offset += length
        }
        // Each body decoder straight on the raw bytes (no header to satisfy first).
        var r = WireReader(bytes)
        _ = try? UpdateMessage(parsing: &r, context: context)
    }
    var r = WireReader(bytes)
    _ = try? OpenMessage(parsing: &r)
    r = WireReader(bytes)
    _ = try? NotificationMessage(parsing: &r)
    r = WireReader(bytes)
    _ = try? RouteRefreshMessage(parsing: &r, message: bytes)
    // A header made up for the bytes: every type, so short inputs reach every decoder too.
    if size <= 4000 {
        for type: UInt8 in 1...5 {
            let length = 19 + size
            let message = [UInt8](repeating: 0xff, count: 16) + [UInt8(length >> 8), UInt8(length & 0xff), type] + bytes
            if let m = try? BGPMessage.decode(message, context: contexts[0]) { checkRoundTrip(m, contexts[0]) }
        }
    }
    return 0
}
