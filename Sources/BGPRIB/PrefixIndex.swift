import NetCore

/// Prefix → dense slot number, the RIB's table of networks (BIRD's `fib`). Open addressing with
/// linear probing over an `[Int32]` bucket array; the keys live once, in `keys`, indexed by slot:
/// an IPv4 prefix packs into one `UInt64` (address << 8 | length), an IPv6 prefix's key points
/// into `v6`. About 16 bytes per IPv4 prefix in all, against ~70 for `[IPPrefix: Int32]`.
/// Slots are reused after `remove`; callers keep per-slot data in parallel arrays.
struct PrefixIndex {
    /// Per slot: an IPv4 key, or `v6Flag | index into v6`; `freeKey` for a free slot.
    private(set) var keys: [UInt64] = []
    private var v6: [(hi: UInt64, lo: UInt64, length: UInt8)] = []
    private var freeV6: [UInt32] = []
    private var freeSlots: [Int32] = []
    /// Slot number per bucket, -1 = empty. Power-of-two count, at most half full.
    private var buckets: [Int32] = Array(repeating: -1, count: 16)
    private var shift: UInt64 = 60
    private(set) var count = 0

    private static let v6Flag: UInt64 = 1 << 63
    private static let freeKey: UInt64 = .max

    /// The number of slots ever handed out (valid slot numbers are below it).
    var slotLimit: Int { keys.count }

    func isLive(_ slot: Int32) -> Bool { keys[Int(slot)] != Self.freeKey }

    func find(_ p: IPPrefix) -> Int32? {
        let mask = buckets.count - 1
        var i = Int(truncatingIfNeeded: hash(p) >> shift)
        while true {
            let s = buckets[i]
            if s < 0 { return nil }
            if matches(s, p) { return s }
            i = (i + 1) & mask
        }
    }

    /// The slot of `p`, made when new (`isNew`).
    mutating func insert(_ p: IPPrefix) -> (slot: Int32, isNew: Bool) {
        if let s = find(p) { return (s, false) }
        if (count + 1) * 2 > buckets.count { grow() }
        let slot: Int32
        let key = makeKey(p)
        if let f = freeSlots.popLast() {
            slot = f
            keys[Int(f)] = key
        } else {
            slot = Int32(keys.count)
            keys.append(key)
        }
        place(slot, hash: hash(p))
        count += 1
        return (slot, true)
    }

    mutating func remove(_ slot: Int32) {
        let p = prefix(slot)
        let mask = buckets.count - 1
        var i = Int(truncatingIfNeeded: hash(p) >> shift)
        while buckets[i] != slot { i = (i + 1) & mask }
        // Backward-shift deletion: pull later members of the probe run into the hole.
        buckets[i] = -1
        var j = i
        while true {
            j = (j + 1) & mask
            let s = buckets[j]
            if s < 0 { break }
            let home = Int(truncatingIfNeeded: hash(prefix(s)) >> shift)
            let between = i <= j ? (home > i && home <= j) : (home > i || home <= j)
            if !between {
                buckets[i] = s
                buckets[j] = -1
                i = j
            }
        }
        let k = keys[Int(slot)]
        if k & Self.v6Flag != 0 { freeV6.append(UInt32(truncatingIfNeeded: k)) }
        keys[Int(slot)] = Self.freeKey
        freeSlots.append(slot)
        count -= 1
    }

    func prefix(_ slot: Int32) -> IPPrefix {
        let k = keys[Int(slot)]
        if k & Self.v6Flag == 0 {
            return IPPrefix(.v4(IPv4Address(UInt32(truncatingIfNeeded: k >> 8))), length: Int(k & 0xff))
        }
        let e = v6[Int(UInt32(truncatingIfNeeded: k))]
        return IPPrefix(.v6(IPv6Address(high: e.hi, low: e.lo)), length: Int(e.length))
    }

    func family(_ slot: Int32) -> IPFamily { keys[Int(slot)] & Self.v6Flag == 0 ? .v4 : .v6 }

    // MARK: private

    private mutating func makeKey(_ p: IPPrefix) -> UInt64 {
        switch p.address {
        case .v4(let a): return UInt64(a.value) << 8 | UInt64(p.length)
        case .v6(let a):
            let e = (hi: a.high, lo: a.low, length: UInt8(p.length))
            if let f = freeV6.popLast() {
                v6[Int(f)] = e
                return Self.v6Flag | UInt64(f)
            }
            v6.append(e)
            return Self.v6Flag | UInt64(v6.count - 1)
        }
    }

    private func matches(_ slot: Int32, _ p: IPPrefix) -> Bool {
        let k = keys[Int(slot)]
        switch p.address {
        case .v4(let a): return k == UInt64(a.value) << 8 | UInt64(p.length)
        case .v6(let a):
            guard k & Self.v6Flag != 0 else { return false }
            let e = v6[Int(UInt32(truncatingIfNeeded: k))]
            return e.hi == a.high && e.lo == a.low && Int(e.length) == p.length
        }
    }

    /// Fibonacci hashing of the packed key; the top bits pick the bucket.
    private func hash(_ p: IPPrefix) -> UInt64 {
        switch p.address {
        case .v4(let a): return (UInt64(a.value) << 8 | UInt64(p.length)) &* 0x9E37_79B9_7F4A_7C15
        case .v6(let a):
            var h = a.high &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ (h >> 29) ^ a.low) &* 0xBF58_476D_1CE4_E5B9
            return (h ^ UInt64(p.length) ^ (h >> 31)) &* 0x9E37_79B9_7F4A_7C15
        }
    }

    private mutating func place(_ slot: Int32, hash h: UInt64) {
        let mask = buckets.count - 1
        var i = Int(truncatingIfNeeded: h >> shift)
        while buckets[i] >= 0 { i = (i + 1) & mask }
        buckets[i] = slot
    }

    private mutating func grow() {
        let n = buckets.count * 2
        buckets = Array(repeating: -1, count: n)
        shift -= 1
        for s in 0..<keys.count where keys[s] != Self.freeKey {
            place(Int32(s), hash: hash(prefix(Int32(s))))
        }
    }
}

/// A growable bit per slot.
struct SlotBits {
    private var words: [UInt64] = []

    func contains(_ i: Int32) -> Bool {
        let w = Int(i) >> 6
        return w < words.count && words[w] & (1 << UInt64(i & 63)) != 0
    }

    /// Sets the bit; returns false when it was already set.
    @discardableResult
    mutating func insert(_ i: Int32) -> Bool {
        let w = Int(i) >> 6
        if w >= words.count { words.append(contentsOf: repeatElement(0, count: max(w + 1 - words.count, words.count))) }
        let m: UInt64 = 1 << UInt64(i & 63)
        if words[w] & m != 0 { return false }
        words[w] |= m
        return true
    }

    mutating func remove(_ i: Int32) {
        let w = Int(i) >> 6
        if w < words.count { words[w] &= ~(1 << UInt64(i & 63)) }
    }

    mutating func removeAll() { words.removeAll() }
    var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
}
