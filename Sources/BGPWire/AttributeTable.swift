/// How long an attribute's value may be.
enum LengthRule: Sendable {
    case exactly(Int)
    /// A non-zero multiple of n (RFC 7606 §7.8, 7.10, 7.14, RFC 8092 §5).
    case nonZeroMultiple(of: Int)
    /// 6 with 2-octet ASNs, 8 with 4-octet (AGGREGATOR, RFC 7606 §7.7).
    case aggregator
    case atLeast(Int)
    /// Checked by the value decoder (AS_PATH, AS4_PATH).
    case any

    func accepts(_ length: Int, fourOctetAS: Bool) -> Bool {
        switch self {
        case .exactly(let n): length == n
        case .nonZeroMultiple(let n): length > 0 && length % n == 0
        case .aggregator: length == (fourOctetAS ? 8 : 6)
        case .atLeast(let n): length >= n
        case .any: true
        }
    }
}

/// One row of the attribute table: the flags the attribute must carry, its length rule and the
/// RFC 7606 action for any malformation of it (BIRD's `bgp_attr_table`, STYLE.md (b)8).
struct AttributeSpec: Sendable {
    let code: UInt8
    let name: String
    let optional: Bool
    let transitive: Bool
    let length: LengthRule
    let action: ErrorAction

    /// The flag bits that must match (Optional and Transitive, RFC 7606 §3 c).
    var requiredFlags: UInt8 {
        (optional ? AttributeFlags.optional : 0) | (transitive ? AttributeFlags.transitive : 0)
    }

    /// The flags this codec writes (Extended Length added when needed).
    var encodeFlags: UInt8 { requiredFlags }

    static let all: [AttributeSpec] = [
        // RFC 7606 §7.1–7.7
        .init(code: AttributeCode.origin, name: "ORIGIN", optional: false, transitive: true,
              length: .exactly(1), action: .treatAsWithdraw),
        .init(code: AttributeCode.asPath, name: "AS_PATH", optional: false, transitive: true,
              length: .any, action: .treatAsWithdraw),
        .init(code: AttributeCode.nextHop, name: "NEXT_HOP", optional: false, transitive: true,
              length: .exactly(4), action: .treatAsWithdraw),
        .init(code: AttributeCode.multiExitDisc, name: "MULTI_EXIT_DISC", optional: true, transitive: false,
              length: .exactly(4), action: .treatAsWithdraw),
        .init(code: AttributeCode.localPref, name: "LOCAL_PREF", optional: false, transitive: true,
              length: .exactly(4), action: .treatAsWithdraw),
        .init(code: AttributeCode.atomicAggregate, name: "ATOMIC_AGGREGATE", optional: false, transitive: true,
              length: .exactly(0), action: .attributeDiscard),
        .init(code: AttributeCode.aggregator, name: "AGGREGATOR", optional: true, transitive: true,
              length: .aggregator, action: .attributeDiscard),
        // RFC 7606 §7.8 (RFC 1997), §7.9–7.10 (RFC 4456)
        .init(code: AttributeCode.communities, name: "COMMUNITIES", optional: true, transitive: true,
              length: .nonZeroMultiple(of: 4), action: .treatAsWithdraw),
        .init(code: AttributeCode.originatorID, name: "ORIGINATOR_ID", optional: true, transitive: false,
              length: .exactly(4), action: .treatAsWithdraw),
        .init(code: AttributeCode.clusterList, name: "CLUSTER_LIST", optional: true, transitive: false,
              length: .nonZeroMultiple(of: 4), action: .treatAsWithdraw),
        // RFC 7606 §7.11–7.12 (RFC 4760): the NLRI cannot be located otherwise
        .init(code: AttributeCode.mpReachNLRI, name: "MP_REACH_NLRI", optional: true, transitive: false,
              length: .atLeast(5), action: .sessionReset),
        .init(code: AttributeCode.mpUnreachNLRI, name: "MP_UNREACH_NLRI", optional: true, transitive: false,
              length: .atLeast(3), action: .sessionReset),
        // RFC 7606 §7.14 (RFC 4360)
        .init(code: AttributeCode.extendedCommunities, name: "EXTENDED_COMMUNITIES", optional: true,
              transitive: true, length: .nonZeroMultiple(of: 8), action: .treatAsWithdraw),
        // RFC 6793 §6: malformed AS4_* are discarded
        .init(code: AttributeCode.as4Path, name: "AS4_PATH", optional: true, transitive: true,
              length: .any, action: .attributeDiscard),
        .init(code: AttributeCode.as4Aggregator, name: "AS4_AGGREGATOR", optional: true, transitive: true,
              length: .exactly(8), action: .attributeDiscard),
        // RFC 8092 §5
        .init(code: AttributeCode.largeCommunities, name: "LARGE_COMMUNITY", optional: true, transitive: true,
              length: .nonZeroMultiple(of: 12), action: .treatAsWithdraw),
    ]

    /// Indexed by type code for O(1) lookup.
    static let table: [AttributeSpec?] = {
        var t = [AttributeSpec?](repeating: nil, count: 256)
        for s in all { t[Int(s.code)] = s }
        return t
    }()

    static func named(_ code: UInt8) -> String { table[Int(code)]?.name ?? "attribute \(code)" }
}

/// A 256-bit set of attribute codes (duplicate detection without allocating).
struct CodeSet {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// Inserts `code`; false if it was already present.
    mutating func insert(_ code: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(code & 63)
        switch code >> 6 {
        case 0: defer { words.0 |= bit }; return words.0 & bit == 0
        case 1: defer { words.1 |= bit }; return words.1 & bit == 0
        case 2: defer { words.2 |= bit }; return words.2 & bit == 0
        default: defer { words.3 |= bit }; return words.3 & bit == 0
        }
    }

    func contains(_ code: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(code & 63)
        switch code >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }
}
