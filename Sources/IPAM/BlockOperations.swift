import NetCore
import NodeModel

/// Pure operations on one IPAM block (Calico's `allocationBlock` methods), free of I/O so the
/// datastore shell only reads, calls these, and writes back with a revision precondition.
extension IPAMBlockSpec {
    /// Number of addresses the block spans.
    public var size: Int { allocations.count }

    /// Ordinals currently allocated.
    public var allocatedCount: Int { allocations.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    /// The node this block is affine to (`host:<node>`), or nil.
    public var hostAffinity: String? {
        guard let a = affinity, a.hasPrefix("host:") else { return nil }
        return String(a.dropFirst(5))
    }

    /// Takes up to `count` addresses from the head of the free list (FIFO, as Calico), records
    /// the owner attribute and the sequence numbers, and returns the addresses taken.
    public mutating func assign(count: Int, handleID: String?, attributes: [String: String]) -> [IPAddress] {
        guard count > 0, !unallocated.isEmpty, let prefix else { return [] }
        let taken = Array(unallocated.prefix(count))
        unallocated.removeFirst(taken.count)
        let attrIndex = attributeIndex(handleID: handleID, secondary: attributes)
        for ordinal in taken {
            allocations[ordinal] = attrIndex
            sequenceNumberForAllocation[String(ordinal)] = sequenceNumber
        }
        sequenceNumber += 1
        return taken.map { prefix.address(at: UInt64($0)) }
    }

    /// Claims one specific address; false when it is outside the block or already in use.
    public mutating func assign(_ ip: IPAddress, handleID: String?, attributes: [String: String]) -> Bool {
        guard let ordinal = ordinal(of: ip), allocations[ordinal] == nil,
              let pos = unallocated.firstIndex(of: ordinal) else { return false }
        unallocated.remove(at: pos)
        allocations[ordinal] = attributeIndex(handleID: handleID, secondary: attributes)
        sequenceNumberForAllocation[String(ordinal)] = sequenceNumber
        sequenceNumber += 1
        return true
    }

    /// Frees every address owned by `handleID`; returns them.
    public mutating func release(handleID: String) -> [IPAddress] {
        let ordinals = allocations.indices.filter { i in
            allocations[i].map { attributes.indices.contains($0) && attributes[$0].handleID == handleID } ?? false
        }
        return release(ordinals: ordinals)
    }

    /// Frees one address; returns the handle that owned it (`.some(nil)` for an owner-less
    /// allocation), or nil when the address was not allocated here.
    public mutating func release(_ ip: IPAddress) -> String?? {
        guard let ordinal = ordinal(of: ip), let a = allocations[ordinal] else { return nil }
        let handle = attributes.indices.contains(a) ? attributes[a].handleID : nil
        _ = release(ordinals: [ordinal])
        return .some(handle)
    }

    /// Addresses held by `handleID`.
    public func addresses(handleID: String) -> [IPAddress] {
        guard let prefix else { return [] }
        return allocations.indices.compactMap { i in
            guard let a = allocations[i], attributes.indices.contains(a), attributes[a].handleID == handleID else { return nil }
            return prefix.address(at: UInt64(i))
        }
    }

    /// Allocated addresses per handle ID (owner-less allocations are not counted).
    public var countsByHandle: [String: Int] {
        var out: [String: Int] = [:]
        for a in allocations {
            if let a, attributes.indices.contains(a), let h = attributes[a].handleID { out[h, default: 0] += 1 }
        }
        return out
    }

    public func ordinal(of ip: IPAddress) -> Int? {
        guard let prefix, let off = prefix.offset(of: ip), off < UInt64(allocations.count) else { return nil }
        return Int(off)
    }

    private mutating func release(ordinals: [Int]) -> [IPAddress] {
        guard let prefix else { return [] }
        for o in ordinals {
            allocations[o] = nil
            unallocated.append(o)
            sequenceNumberForAllocation[String(o)] = nil
        }
        compactAttributes()
        return ordinals.map { prefix.address(at: UInt64($0)) }
    }

    /// Reuses an identical attribute record or appends one (Calico's `findOrAddAttribute`).
    private mutating func attributeIndex(handleID: String?, secondary: [String: String]) -> Int {
        let attr = AllocationAttribute(handleID: handleID, secondary: secondary)
        if let i = attributes.firstIndex(of: attr) { return i }
        attributes.append(attr)
        return attributes.count - 1
    }

    /// Drops attribute records no allocation points at and renumbers the rest.
    private mutating func compactAttributes() {
        var used = Array(repeating: false, count: attributes.count)
        for a in allocations { if let a, used.indices.contains(a) { used[a] = true } }
        guard used.contains(false) else { return }
        var newIndex = Array(repeating: -1, count: attributes.count)
        var kept: [AllocationAttribute] = []
        for (i, attr) in attributes.enumerated() where used[i] {
            newIndex[i] = kept.count
            kept.append(attr)
        }
        attributes = kept
        for i in allocations.indices { if let a = allocations[i], newIndex.indices.contains(a) { allocations[i] = newIndex[a] } }
    }
}
