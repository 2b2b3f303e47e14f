import NetCore

extension ACLRenderer.Builder {
    // MARK: Workload chains

    mutating func renderWorkloads() {
        var fromMap = NFTSet(name: ACLNames.fromWorkloadMap, keyType: .ifname, isVerdictMap: true, mutable: true)
        var toMap = NFTSet(name: ACLNames.toWorkloadMap, keyType: .ifname, isVerdictMap: true, mutable: true)
        for w in input.workloads {
            let tw = ACLNames.toWorkload(w.interface), fw = ACLNames.fromWorkload(w.interface)
            model.chains[tw] = NFTChain(name: tw, rules: endpointRules(w, .ingress))
            model.chains[fw] = NFTChain(name: fw, rules: antiSpoof(w) + endpointRules(w, .egress))
            toMap.elements.insert(.ifname(w.interface, .goto(tw)))
            fromMap.elements.insert(.ifname(w.interface, .goto(fw)))
        }
        model.sets[fromMap.name] = fromMap
        model.sets[toMap.name] = toMap
    }

    /// A workload may only send from its own addresses (and not at all in a family it has none of).
    mutating func antiSpoof(_ w: ACLWorkload) -> [NFTRule] {
        var rules: [NFTRule] = []
        for f in [IPFamily.v4, .v6] {
            let mine = Array(Set(w.addresses.filter { $0.family == f })).sorted()
            if mine.isEmpty {
                rules.append(NFTRule([.nfproto(f)], [], .drop, comment: "anti-spoof: workload has no \(f) address"))
            } else {
                let value = netValue(mine.map { IPPrefix(host: $0) }, f)
                rules.append(NFTRule([.nfproto(f), .address(.init(.source, f), value, negated: true)], [], .drop,
                                     comment: "anti-spoof: source is not the workload's"))
            }
        }
        return rules
    }

    /// Clear the marks, run each tier's policies, drop at the end of a tier no policy passed,
    /// and allow what is left (Calico's namespace profile: allow when no policy selects).
    func endpointRules(_ w: ACLWorkload, _ dir: ACLDirection) -> [NFTRule] {
        var rules = [NFTRule([], [.setMark(clear: bothMarks, set: 0)], nil, comment: "clear accept and pass marks")]
        for (tier, policies) in tierPlan(for: w.interface, dir) {
            rules.append(NFTRule([], [.setMark(clear: s.passMark, set: 0)], nil, comment: "start of tier \(tier.name)"))
            for p in policies {
                rules.append(NFTRule([.mark(s.passMark, isSet: false)], [], .jump(ACLNames.policy(p.name, dir)),
                                     comment: "policy \(p.name)"))
                rules.append(NFTRule([.mark(s.acceptMark, isSet: true)], [], .return, comment: "allowed by \(p.name)"))
            }
            if tier.defaultAction == .deny {
                rules.append(NFTRule([.mark(s.passMark, isSet: false)], [], .drop,
                                     comment: "end of tier \(tier.name): drop what no policy allowed or passed"))
            }
        }
        rules.append(NFTRule([], [.setMark(clear: 0, set: s.acceptMark)], .return, comment: "profile: allow"))
        return rules
    }

    // MARK: Base and shared chains

    mutating func renderBaseChains() {
        let prefix = s.interfacePrefix
        let ctFirst = [
            NFTRule([.ctState([.established, .related], negated: false)], [], .accept, comment: "established, related"),
            NFTRule([.ctState(.invalid, negated: false)], [], .drop, comment: "invalid"),
        ]
        func chain(_ name: String, _ hook: NFTHook? = nil, _ rules: [NFTRule]) {
            model.chains[name] = NFTChain(name: name, hook: hook, rules: rules)
        }
        chain(ACLNames.fromWorkloadDispatch, nil, [
            NFTRule([], [], .vmap(.iifname, ACLNames.fromWorkloadMap)),
            NFTRule([.interface(.iifname, prefix, wildcard: true, negated: false)], [], .drop,
                    comment: "unknown workload interface"),
        ])
        chain(ACLNames.toWorkloadDispatch, nil, [
            NFTRule([], [], .vmap(.oifname, ACLNames.toWorkloadMap)),
            NFTRule([.interface(.oifname, prefix, wildcard: true, negated: false)], [], .drop,
                    comment: "unknown workload interface"),
        ])
        chain(ACLNames.forward, NFTHook(.filter, .forward, priority: 0), ctFirst + [
            NFTRule([.interface(.iifname, prefix, wildcard: true, negated: false)], [],
                    .jump(ACLNames.fromWorkloadDispatch), comment: "from a workload: its egress policy"),
            NFTRule([.interface(.oifname, prefix, wildcard: true, negated: false)], [],
                    .jump(ACLNames.toWorkloadDispatch), comment: "to a workload: its ingress policy"),
        ])
        chain(ACLNames.workloadToHost, nil, [
            NFTRule([.nfproto(.v6), .l4proto(ACLRule.icmpV6, negated: false), .icmpTypeRange(.v6, 130, 136)], [],
                    .accept, comment: "MLD and neighbour discovery"),
            NFTRule([], [], .jump(ACLNames.fromWorkloadDispatch), comment: "workload egress policy"),
            NFTRule([], [], s.endpointToHostAction == .accept ? .accept : .drop, comment: "endpoint to host action"),
        ])
        var input = ctFirst + [
            NFTRule([.interface(.iifname, prefix, wildcard: true, negated: false)], [], .goto(ACLNames.workloadToHost)),
            NFTRule([], [], .jump(ACLNames.failsafeIn)),
        ]
        if s.hostInboundAction == .drop {
            input.append(NFTRule([.interface(.iifname, "lo", wildcard: false, negated: true)], [], .drop,
                                 comment: "host inbound default"))
        }
        chain(ACLNames.input, NFTHook(.filter, .input, priority: 0), input)
        var output = ctFirst + [
            NFTRule([.interface(.oifname, prefix, wildcard: true, negated: false)], [], .accept,
                    comment: "host to local workloads is always allowed"),
            NFTRule([], [], .jump(ACLNames.failsafeOut)),
        ]
        if s.hostOutboundAction == .drop {
            output.append(NFTRule([.interface(.oifname, "lo", wildcard: false, negated: true)], [], .drop,
                                  comment: "host outbound default"))
        }
        chain(ACLNames.output, NFTHook(.filter, .output, priority: 0), output)
        chain(ACLNames.failsafeIn, nil, failsafe(s.failsafeInbound, "inbound"))
        chain(ACLNames.failsafeOut, nil, failsafe(s.failsafeOutbound, "outbound"))
        chain(ACLNames.postrouting, NFTHook(.nat, .postrouting, priority: 100), natOutgoing())
    }

    func failsafe(_ ports: [ACLFailsafePort], _ what: String) -> [NFTRule] {
        Array(Set(ports)).sorted().map {
            NFTRule([.l4proto($0.protocol_, negated: false), .port(.destination, .range(ACLPortRange($0.port)), negated: false)],
                    [], .accept, comment: "failsafe \(what) \($0)")
        }
    }

    /// Masquerade traffic from a natOutgoing pool to anywhere outside all pools.
    mutating func natOutgoing() -> [NFTRule] {
        var rules: [NFTRule] = []
        for f in [IPFamily.v4, .v6] {
            let all = input.pools.filter { $0.cidr.family == f }.map(\.cidr)
            let masq = input.pools.filter { $0.cidr.family == f && $0.natOutgoing }.map(\.cidr)
            guard !masq.isEmpty else { continue }
            rules.append(NFTRule([
                .nfproto(f),
                .address(.init(.source, f), netValue(masq, f), negated: false),
                .address(.init(.destination, f), netValue(all, f), negated: true),
            ], [.masquerade], nil, comment: "natOutgoing pools leaving all pools"))
        }
        return rules
    }
}
