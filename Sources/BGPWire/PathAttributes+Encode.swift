import NetCore

extension PathAttributes {
    /// Appends every attribute in ascending type order, unknown ones interleaved by code.
    func encode(into w: inout WireWriter, context: EncodeContext) {
        let asWidth = context.fourOctetAS ? 4 : 2
        let wk = AttributeFlags.transitive
        let optT = AttributeFlags.optional | AttributeFlags.transitive
        let optN = AttributeFlags.optional
        var u = 0
        let unknownSorted = unknown.sorted { $0.code < $1.code }
        func flushUnknown(below code: UInt8, _ w: inout WireWriter) {
            while u < unknownSorted.count, unknownSorted[u].code < code {
                let a = unknownSorted[u]
                writeAttribute(&w, flags: a.flags, code: a.code) { $0.append(a.value) }
                u += 1
            }
        }
        if let origin {
            flushUnknown(below: AttributeCode.origin, &w)
            writeAttribute(&w, flags: wk, code: AttributeCode.origin) { $0.u8(origin.rawValue) }
        }
        if let asPath {
            flushUnknown(below: AttributeCode.asPath, &w)
            writeAttribute(&w, flags: wk, code: AttributeCode.asPath) { asPath.encode(into: &$0, asWidth: asWidth) }
        }
        if let nextHop {
            flushUnknown(below: AttributeCode.nextHop, &w)
            writeAttribute(&w, flags: wk, code: AttributeCode.nextHop) { $0.u32(nextHop.value) }
        }
        if let med {
            flushUnknown(below: AttributeCode.multiExitDisc, &w)
            writeAttribute(&w, flags: optN, code: AttributeCode.multiExitDisc) { $0.u32(med) }
        }
        if let localPref {
            flushUnknown(below: AttributeCode.localPref, &w)
            writeAttribute(&w, flags: wk, code: AttributeCode.localPref) { $0.u32(localPref) }
        }
        if atomicAggregate {
            flushUnknown(below: AttributeCode.atomicAggregate, &w)
            writeAttribute(&w, flags: wk, code: AttributeCode.atomicAggregate) { _ in }
        }
        if let aggregator {
            flushUnknown(below: AttributeCode.aggregator, &w)
            writeAttribute(&w, flags: optT, code: AttributeCode.aggregator) { w in
                if asWidth == 4 { w.u32(aggregator.asn) } else {
                    w.u16(aggregator.asn > 0xffff ? UInt16(ASTrans) : UInt16(aggregator.asn))
                }
                w.u32(aggregator.address.value)
            }
        }
        if !communities.isEmpty {
            flushUnknown(below: AttributeCode.communities, &w)
            writeAttribute(&w, flags: optT, code: AttributeCode.communities) { w in
                for c in communities { w.u32(c.value) }
            }
        }
        if let originatorID {
            flushUnknown(below: AttributeCode.originatorID, &w)
            writeAttribute(&w, flags: optN, code: AttributeCode.originatorID) { $0.u32(originatorID.value) }
        }
        if !clusterList.isEmpty {
            flushUnknown(below: AttributeCode.clusterList, &w)
            writeAttribute(&w, flags: optN, code: AttributeCode.clusterList) { w in
                for c in clusterList { w.u32(c.value) }
            }
        }
        if !extendedCommunities.isEmpty {
            flushUnknown(below: AttributeCode.extendedCommunities, &w)
            writeAttribute(&w, flags: optT, code: AttributeCode.extendedCommunities) { w in
                for c in extendedCommunities { w.u64(c.value) }
            }
        }
        if asWidth == 2 {
            // RFC 6793 §4.2.2: carry the real path and aggregator for NEW speakers downstream.
            if let asPath, asPath.needsFourOctets {
                let as4 = ASPath(asPath.segments.filter { !$0.isConfederation })
                if !as4.segments.isEmpty {
                    flushUnknown(below: AttributeCode.as4Path, &w)
                    writeAttribute(&w, flags: optT, code: AttributeCode.as4Path) { as4.encode(into: &$0, asWidth: 4) }
                }
            }
            if let aggregator, aggregator.asn > 0xffff {
                flushUnknown(below: AttributeCode.as4Aggregator, &w)
                writeAttribute(&w, flags: optT, code: AttributeCode.as4Aggregator) { w in
                    w.u32(aggregator.asn); w.u32(aggregator.address.value)
                }
            }
        }
        if !largeCommunities.isEmpty {
            flushUnknown(below: AttributeCode.largeCommunities, &w)
            writeAttribute(&w, flags: optT, code: AttributeCode.largeCommunities) { w in
                for c in largeCommunities { w.u32(c.global); w.u32(c.local1); w.u32(c.local2) }
            }
        }
        while u < unknownSorted.count {
            let a = unknownSorted[u]
            writeAttribute(&w, flags: a.flags, code: a.code) { $0.append(a.value) }
            u += 1
        }
    }
}
