import BGPWire
import NetCore

/// What best-path selection reads from an attribute set, computed once when the set is interned
/// (an AS_PATH's length is a walk over its segments; selection runs per prefix).
struct AttrSummary {
    var localPref: UInt32
    var med: UInt32
    var asPathLength: Int32
    var clusterListLength: Int32
    /// First AS of the AS_PATH (MED comparison); 0 = none.
    var neighborAS: UInt32
    /// ORIGINATOR_ID; nil = none.
    var originatorID: IPv4Address?
    var origin: Origin

    init(_ a: RouteAttributes) {
        let p = a.path
        localPref = p.localPref ?? BestPath.defaultLocalPref
        med = p.med ?? 0
        asPathLength = Int32(clamping: p.asPath?.length ?? 0)
        clusterListLength = Int32(clamping: p.clusterList.count)
        neighborAS = p.asPath?.firstAS ?? 0
        originatorID = p.originatorID
        origin = p.origin ?? .incomplete
    }
}

/// Interned attribute sets with reference counts, addressed by a dense `Int32` id (BIRD's `rta`
/// cache, FRR's `attrhash`): every path holds an id, not a copy. A set whose last path goes is
/// freed and its id reused; `generation` tells a cache keyed by id that the id now means
/// another set.
struct AttributeTable {
    private(set) var attrs: [RouteAttributes?] = []
    private(set) var summaries: [AttrSummary] = []
    private var refs: [Int32] = []
    private(set) var generation: [UInt32] = []
    private var index: [RouteAttributes: Int32] = [:]
    private var free: [Int32] = []

    var count: Int { index.count }

    /// The id of `a` with one more reference.
    mutating func retain(_ a: RouteAttributes) -> Int32 {
        if let id = index[a] {
            refs[Int(id)] += 1
            return id
        }
        let id: Int32
        if let f = free.popLast() {
            id = f
            attrs[Int(f)] = a
            summaries[Int(f)] = AttrSummary(a)
            refs[Int(f)] = 1
        } else {
            id = Int32(attrs.count)
            attrs.append(a)
            summaries.append(AttrSummary(a))
            refs.append(1)
            generation.append(0)
        }
        index[a] = id
        return id
    }

    mutating func retain(id: Int32) { refs[Int(id)] += 1 }

    mutating func release(_ id: Int32) {
        refs[Int(id)] -= 1
        guard refs[Int(id)] == 0, let a = attrs[Int(id)] else { return }
        index[a] = nil
        attrs[Int(id)] = nil
        generation[Int(id)] &+= 1
        free.append(id)
    }

    subscript(_ id: Int32) -> RouteAttributes { attrs[Int(id)]! }
    func summary(_ id: Int32) -> AttrSummary { summaries[Int(id)] }
}
