/// A bounded big-endian reader over a `[UInt8]` window. No read can pass `end`: a short read
/// throws `truncation`, the error the caller chose for "this structure ends early" (inside a
/// framed message that is always a malformation; "need more bytes" exists only in
/// `MessageFramer`, before a message is complete).
public struct WireReader: Sendable {
    let storage: [UInt8]
    /// Index of the next byte to read in the underlying array.
    public internal(set) var position: Int
    /// One past the last readable index.
    public let end: Int
    /// Thrown by any read that would overrun `end`.
    public var truncation: WireError

    /// A reader over `bytes[range]` (the whole array by default).
    public init(_ bytes: [UInt8], range: Range<Int>? = nil,
                truncation: WireError = WireError(code: ErrorCode.messageHeader,
                                                  subcode: HeaderSubcode.badMessageLength,
                                                  reason: "structure ends before its declared length")) {
        let r = range ?? bytes.startIndex..<bytes.endIndex
        precondition(r.lowerBound >= 0 && r.upperBound <= bytes.count, "reader range outside the buffer")
        storage = bytes
        position = r.lowerBound
        end = r.upperBound
        self.truncation = truncation
    }

    /// Bytes left to read.
    public var remaining: Int { end - position }
    public var isAtEnd: Bool { position >= end }

    mutating func need(_ n: Int) throws(WireError) {
        guard n >= 0, end - position >= n else { throw truncation }
    }

    public mutating func u8() throws(WireError) -> UInt8 {
        try need(1)
        defer { position += 1 }
        return storage[position]
    }

    public mutating func u16() throws(WireError) -> UInt16 {
        try need(2)
        defer { position += 2 }
        return UInt16(storage[position]) << 8 | UInt16(storage[position + 1])
    }

    public mutating func u24() throws(WireError) -> UInt32 {
        try need(3)
        defer { position += 3 }
        return UInt32(storage[position]) << 16 | UInt32(storage[position + 1]) << 8 | UInt32(storage[position + 2])
    }

    public mutating func u32() throws(WireError) -> UInt32 { try integer(UInt32.self) }

    public mutating func u64() throws(WireError) -> UInt64 { try integer(UInt64.self) }

    /// A big-endian integer of `T`'s width.
    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws(WireError) -> T {
        let n = T.bitWidth / 8
        try need(n)
        defer { position += n }
        var v: T = 0
        for i in 0..<n { v = v << 8 | T(storage[position + i]) }
        return v
    }

    /// Reads `count` bytes into a new array.
    public mutating func bytes(_ count: Int) throws(WireError) -> [UInt8] {
        try need(count)
        defer { position += count }
        return Array(storage[position..<(position + count)])
    }

    public mutating func skip(_ count: Int) throws(WireError) {
        try need(count)
        position += count
    }

    /// Splits off the next `count` bytes as their own bounded reader (which throws `truncation`
    /// or, if nil, this reader's error) and advances past them.
    public mutating func subReader(_ count: Int, truncation: WireError? = nil) throws(WireError) -> WireReader {
        try need(count)
        let sub = WireReader(storage, range: position..<(position + count), truncation: truncation ?? self.truncation)
        position += count
        return sub
    }

    /// The remaining bytes, consumed.
    public mutating func rest() -> [UInt8] {
        defer { position = end }
        return Array(storage[position..<end])
    }

    /// A copy of `storage[range]` (for error data); the range must lie in the buffer.
    func slice(_ range: Range<Int>) -> [UInt8] { Array(storage[range]) }

    /// The next byte without consuming it, if any.
    public func peek() -> UInt8? { position < end ? storage[position] : nil }
}

/// A big-endian writer appending to a `[UInt8]`.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8)); bytes.append(UInt8(truncatingIfNeeded: v))
    }
    public mutating func u24(_ v: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8)); bytes.append(UInt8(truncatingIfNeeded: v))
    }
    public mutating func u32(_ v: UInt32) {
        for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) }
    }
    public mutating func u64(_ v: UInt64) {
        for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
    }
    public mutating func append(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }

    /// Writes a zero placeholder of `width` (1 or 2) bytes and returns its offset for `patchLength`.
    public mutating func placeholder(width: Int) -> Int {
        let at = bytes.count
        for _ in 0..<width { bytes.append(0) }
        return at
    }

    /// Writes the number of bytes written after a placeholder into it.
    public mutating func patchLength(at offset: Int, width: Int) {
        let length = bytes.count - offset - width
        if width == 1 {
            precondition(length <= 0xff, "length \(length) does not fit one octet")
            bytes[offset] = UInt8(length)
        } else {
            precondition(length <= 0xffff, "length \(length) does not fit two octets")
            bytes[offset] = UInt8(length >> 8); bytes[offset + 1] = UInt8(truncatingIfNeeded: length)
        }
    }

    mutating func setByte(_ v: UInt8, at offset: Int) { bytes[offset] = v }
    mutating func insertByte(_ v: UInt8, at offset: Int) { bytes.insert(v, at: offset) }

    /// Overwrites a big-endian UInt16 at `offset`.
    public mutating func set16(_ v: UInt16, at offset: Int) {
        bytes[offset] = UInt8(v >> 8); bytes[offset + 1] = UInt8(truncatingIfNeeded: v)
    }
}
