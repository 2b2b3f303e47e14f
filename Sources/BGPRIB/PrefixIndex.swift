import NetCore

/// Prefix → dense slot number, the RIB's table of networks (BIRD's `fib`). Open addressing with
/// linear probing. A bucket is one `UInt64`: for an IPv4 prefix its whole key (address << 6 |
/// length, 38 bits) and its slot (24 bits), so a lookup touches one cache line and never the
/// key array (on this VM a second random access costs more than the rest of the lookup); for
/// an IPv6 prefix bit 39 set, a 39-bit hash fragment and the slot, the key itself in `v6`.
/// The keys also live once per slot in `keys` (slot → prefix). ~24 bytes per IPv4 prefix.
/// Slots are reused after `remove`; callers keep per-slot data in parallel arrays.
struct PrefixIndex {
    /// Per slot: an IPv4 key, or `v6Flag | index into v6`; `freeKey` for a free slot.
    private(set) var keys: [UInt64] = []
    private var v6: [(hi: UInt64, lo: UInt64, length: UInt8)] = []
    private var freeV6: [UInt32] = []
    private var freeSlots: [Int32] = []
    /// Packed entries (see above), `empty` = free. Power-of-two count, at most half full.
    private var buckets: [UInt64] = Array(repeating: PrefixIndex.empty, count: 16)
    private var shift: UInt64 = 60
    private(set) var count = 0

    private static let v6Flag: UInt64 = 1 << 63
    private static let freeKey: UInt64 = .max
    private static let empty: UInt64 = .max
    private static let slotBits: UInt64 = 24
    private static let slotMask: UInt64 = (1 << 24) - 1
    /// The most prefixes the index holds (24-bit slots).
    static let capacity = 1 << 24

    /// The number of slots ever handed out (valid slot numbers are below it).
    var slotLimit: Int { keys.count }

    func isLive(_ slot: Int32) -> Bool { keys[Int(slot)] != Self.freeKey }

    func find(_ p: IPPrefix) -> Int32? {
        let (h, tag) = Self.hashAndTag(p)
        let mask = buckets.count - 1
        var i = Int(truncatingIfNeeded: h >> shift)
        while true {
            let b = buckets[i]
            if b == Self.empty { return nil }
            if b >> Self.slotBits == tag {
                let s = Int32(truncatingIfNeeded: b & Self.slotMask)
                if tag & Self.tagV6Flag == 0 || matchesV6(s, p) { return s }
            }
            i = (i + 1) & mask
        }
    }

    /// The slot of `p`, made when new (`isNew`).
    mutating func insert(_ p: IPPrefix) -> (slot: Int32, isNew: Bool) {
        if let s = find(p) { return (s, false) }
        precondition(count < Self.capacity, "more than \(Self.capacity) prefixes")
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
        let (h, tag) = Self.hashAndTag(p)
        place(tag << Self.slotBits | UInt64(slot), hash: h)
        count += 1
        return (slot, true)
    }

    mutating func remove(_ slot: Int32) {
        let p = prefix(slot)
        let mask = buckets.count - 1
        let (h, _) = Self.hashAndTag(p)
        var i = Int(truncatingIfNeeded: h >> shift)
        while buckets[i] & Self.slotMask != UInt64(slot) || buckets[i] == Self.empty { i = (i + 1) & mask }
        // Backward-shift deletion: pull later members of the probe run into the hole.
        buckets[i] = Self.empty
        var j = i
        while true {
            j = (j + 1) & mask
            let b = buckets[j]
            if b == Self.empty { break }
            let home = Int(truncatingIfNeeded: hashOf(bucket: b) >> shift)
            let between = i <= j ? (home > i && home <= j) : (home > i || home <= j)
            if !between {
                buckets[i] = b
                buckets[j] = Self.empty
                i = j
            }
        }
        let k = keys[Int(slot)]
        if k & Self.v6Flag != 0 { freeV6.append(UInt32(truncatingIfNeeded: k)) }
        keys[Int(slot)] = Self.freeKey
        freeSlots.append(slot)
        count -= 1
    }

    /// Removes many slots: one by one when few, else by rebuilding the bucket array from the
    /// live keys (a sequential pass instead of a probe and shift per slot).
    mutating func remove(_ slots: [Int32]) {
        guard slots.count > count / 4 else {
            for s in slots where keys[Int(s)] != Self.freeKey { remove(s) }  // a slot may be listed twice
            return
        }
        for slot in slots where keys[Int(slot)] != Self.freeKey {
            let k = keys[Int(slot)]
            if k & Self.v6Flag != 0 { freeV6.append(UInt32(truncatingIfNeeded: k)) }
            keys[Int(slot)] = Self.freeKey
            freeSlots.append(slot)
            count -= 1
        }
        var n = 16
        var sh: UInt64 = 60
        while count * 2 > n { n *= 2; sh -= 1 }
        buckets = Array(repeating: Self.empty, count: n)
        shift = sh
        for s in 0..<keys.count where keys[s] != Self.freeKey {
            let p = prefix(Int32(s))
            let (h, tag) = Self.hashAndTag(p)
            place(tag << Self.slotBits | UInt64(s), hash: h)
        }
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

    private func matchesV6(_ slot: Int32, _ p: IPPrefix) -> Bool {
        guard case .v6(let a) = p.address else { return false }
        let k = keys[Int(slot)]
        guard k & Self.v6Flag != 0 else { return false }
        let e = v6[Int(UInt32(truncatingIfNeeded: k))]
        return e.hi == a.high && e.lo == a.low && Int(e.length) == p.length
    }

    /// The hash (its top bits pick the bucket) and the bucket tag: the IPv4 key itself, or the
    /// IPv6 flag and 39 bits of the hash.
    private static func hashAndTag(_ p: IPPrefix) -> (UInt64, UInt64) {
        switch p.address {
        case .v4(let a):
            // 32 address bits and a 6-bit length (0...32): bits 38 and 39 stay clear.
            let tag = UInt64(a.value) << 6 | UInt64(p.length)
            return (mix(tag), tag)
        case .v6(let a):
            let h = mix(a.high ^ mix(a.low ^ UInt64(p.length)))
            return (h, tagV6Flag | (h >> 25) & (tagV6Flag - 1))
        }
    }

    /// Bit 39 of a 40-bit tag marks an IPv6 entry.
    private static let tagV6Flag: UInt64 = 1 << 39

    /// The hash of a bucket's entry, from the bucket alone for IPv4.
    private func hashOf(bucket b: UInt64) -> UInt64 {
        let tag = b >> Self.slotBits
        if tag & Self.tagV6Flag == 0 { return Self.mix(tag) }
        return Self.hashAndTag(prefix(Int32(truncatingIfNeeded: b & Self.slotMask))).0
    }

    /// MurmurHash3's 64-bit finaliser. Prefixes of a feed come in dense runs (10.0.0.0/24,
    /// 10.0.1.0/24...): the mix spreads them over the table.
    private static func mix(_ k: UInt64) -> UInt64 {
        var h = k
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    private mutating func place(_ entry: UInt64, hash h: UInt64) {
        let mask = buckets.count - 1
        var i = Int(truncatingIfNeeded: h >> shift)
        while buckets[i] != Self.empty { i = (i + 1) & mask }
        buckets[i] = entry
    }

    private mutating func grow() {
        let old = buckets
        buckets = Array(repeating: Self.empty, count: old.count * 2)
        shift -= 1
        for b in old where b != Self.empty { place(b, hash: hashOf(bucket: b)) }
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
