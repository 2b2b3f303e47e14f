/// One step of a change to Twill's table. A plan's operations go into one atomic netlink batch,
/// in order: element deletions, chain flushes, set and chain deletions, then set, chain, rule and
/// map-element additions (so nothing is deleted while referenced, or referenced before it exists).
public enum NFTOperation: Hashable, Sendable {
    case addTable
    /// Create a set or map (definition only; `elements` is empty).
    case addSet(NFTSet)
    case deleteSet(String)
    /// Remove every element of a set whose content is unknown (after a restart).
    case flushSet(String)
    case addElements(NFTSet, [NFTSetElement])
    case deleteElements(NFTSet, [NFTSetElement])
    /// Create a chain (definition only; rules come in `addRules`).
    case addChain(NFTChain)
    case flushChain(String)
    case deleteChain(String)
    case addRules(String, [NFTRule])
}

/// What is known about the table in the kernel when the in-memory model is not (after a
/// restart): chain names and hooks, set names and definitions (elements empty); rules and set
/// contents unknown. DataplaneLinux reads it back from the kernel.
public struct NFTObservedTable: Hashable, Sendable {
    public var chains: [String: NFTHook?]
    public var sets: [String: NFTSet]
    public init(chains: [String: NFTHook?] = [:], sets: [String: NFTSet] = [:]) {
        self.chains = chains; self.sets = sets
    }
}

/// The ordered operations that take the kernel from one state to the desired model.
public struct NFTPlan: Hashable, Sendable {
    public var table: String
    public var operations: [NFTOperation]
    public var isEmpty: Bool { operations.isEmpty }

    /// Minimal change between two fully known models (`old == nil`: the table does not exist).
    /// A change to one workload touches only its chains, its map elements and set elements.
    public static func diff(from old: NFTModel?, to new: NFTModel) -> NFTPlan {
        guard let old else {
            return plan(new, tableExists: false, oldChainNames: [], chain: { _ in nil }, oldSetNames: [], set: { _ in nil })
        }
        // Look the old model up in place: no per-diff copy of its 10,000s of chains.
        return plan(new, tableExists: true, oldChainNames: Array(old.chains.keys),
                    chain: { old.chains[$0].map { ($0.hook, $0.rules) } },
                    oldSetNames: Array(old.sets.keys), set: { old.sets[$0].map { ($0, $0.elements) } })
    }

    /// Change from a table read back from the kernel: stale chains and sets are deleted, kept
    /// chains are flushed and rewritten, mutable sets flushed and refilled; constant sets (named
    /// after their content) are kept as they are. Nothing outside Twill's table is involved.
    public static func resync(observed: NFTObservedTable, to new: NFTModel) -> NFTPlan {
        plan(new, tableExists: true, oldChainNames: Array(observed.chains.keys),
             chain: { observed.chains[$0].map { ($0, nil) } },
             oldSetNames: Array(observed.sets.keys), set: { observed.sets[$0].map { ($0, nil) } })
    }

    typealias KnownChain = (hook: NFTHook?, rules: [NFTRule]?)
    typealias KnownSet = (def: NFTSet, elements: Set<NFTSetElement>?)

    static func plan(_ new: NFTModel, tableExists: Bool, oldChainNames: [String], chain old: (String) -> KnownChain?,
                     oldSetNames: [String], set oldSets: (String) -> KnownSet?) -> NFTPlan {
        var ops: [NFTOperation] = []
        if !tableExists { ops.append(.addTable) }
        let newSetNames = new.sets.keys.sorted()
        let newChainNames = new.chains.keys.sorted()

        // Sets kept with the same definition: which elements go and come.
        var keptSetAdds: [(NFTSet, [NFTSetElement])] = []
        var recreatedSets: [NFTSet] = []
        for name in newSetNames {
            let want = new.sets[name]!
            guard let have = oldSets(name), have.def.sameDefinition(as: want) else { recreatedSets.append(want); continue }
            if let known = have.elements {
                let gone = known.subtracting(want.elements)
                if !gone.isEmpty { ops.append(.deleteElements(definition(want), gone.sorted())) }
                let added = want.elements.subtracting(known)
                if !added.isEmpty { keptSetAdds.append((want, added.sorted())) }
            } else if want.mutable {
                ops.append(.flushSet(name))
                if !want.elements.isEmpty { keptSetAdds.append((want, want.elements.sorted())) }
            }
        }

        // Chains: rewritten when their rules changed (or are unknown), replaced when their hook did.
        var rewritten: [String] = []
        var created: [NFTChain] = []
        for name in newChainNames {
            let want = new.chains[name]!
            guard let have = old(name), have.hook == want.hook else { created.append(want); continue }
            if have.rules != want.rules {
                ops.append(.flushChain(name))
                rewritten.append(name)
            }
        }
        let removedChains = oldChainNames.filter { name in
            guard let want = new.chains[name] else { return true }
            return old(name)!.hook != want.hook
        }.sorted()
        for name in removedChains { ops.append(.flushChain(name)) }
        let removedSets = oldSetNames.filter { name in
            guard let want = new.sets[name] else { return true }
            return !oldSets(name)!.def.sameDefinition(as: want)
        }
        for name in removedSets.sorted() { ops.append(.deleteSet(name)) }
        for name in removedChains { ops.append(.deleteChain(name)) }

        // Additions: sets and their elements (maps' elements wait for the chains), chains, rules.
        var mapAdds: [(NFTSet, [NFTSetElement])] = []
        for set in recreatedSets {
            ops.append(.addSet(definition(set)))
            if set.elements.isEmpty { continue }
            if set.isVerdictMap { mapAdds.append((set, set.elements.sorted())) } else {
                ops.append(.addElements(definition(set), set.elements.sorted()))
            }
        }
        for (set, elements) in keptSetAdds {
            if set.isVerdictMap { mapAdds.append((set, elements)) } else { ops.append(.addElements(definition(set), elements)) }
        }
        for c in created { ops.append(.addChain(NFTChain(name: c.name, hook: c.hook))) }
        for c in created where !c.rules.isEmpty { ops.append(.addRules(c.name, c.rules)) }
        for name in rewritten where !new.chains[name]!.rules.isEmpty { ops.append(.addRules(name, new.chains[name]!.rules)) }
        for (set, elements) in mapAdds { ops.append(.addElements(definition(set), elements)) }
        return NFTPlan(table: new.table, operations: ops)
    }

    static func definition(_ s: NFTSet) -> NFTSet {
        var d = s
        d.elements = []
        return d
    }

    /// Names of every chain and set the plan touches (for tests and logs).
    public var touchedObjects: Set<String> {
        var out = Set<String>()
        for op in operations {
            switch op {
            case .addTable: out.insert("table")
            case .addSet(let s): out.insert("set " + s.name)
            case .deleteSet(let n), .flushSet(let n): out.insert("set " + n)
            case .addElements(let s, _), .deleteElements(let s, _): out.insert("set " + s.name)
            case .addChain(let c): out.insert("chain " + c.name)
            case .flushChain(let n), .deleteChain(let n), .addRules(let n, _): out.insert("chain " + n)
            }
        }
        return out
    }
}
