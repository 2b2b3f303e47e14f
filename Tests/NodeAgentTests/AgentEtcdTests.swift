import Foundation
import TestSupport
import Testing

/// Issue 8's faults with the real `twill-node`, `twill-cni` and `twillctl` against a real etcd
/// (see `AgentLab`): etcd down at start, etcd killed while the agents run, and a 3-member
/// cluster losing its leader. Figures are printed with the prefix `agent+etcd:`.
@Suite(.serialized) struct AgentEtcdTests {
    static let setup = """
        apiVersion: projectcalico.org/v3
        kind: IPPool
        metadata:
          name: pool-a
        spec:
          cidr: 10.246.0.0/16
        ---
        apiVersion: projectcalico.org/v3
        kind: BGPConfiguration
        metadata:
          name: default
        spec:
          asNumber: 64512
        """

    static func seconds(_ since: Date) -> String { String(format: "%.2f", Date().timeIntervalSince(since)) }

    /// Whether `node`'s speaker (control socket) has a peer at `address`.
    static func hasPeer(_ lab: AgentLab, _ node: String, _ address: String) -> Bool {
        let out = (try? Shell.run([BuiltProducts.path("twillctl"), "node", "status", "--socket", lab.dir.file("\(node).ctl")],
                                  timeout: 10).stdout) ?? ""
        return out.contains(address)
    }

    /// Two nodes with a pod each, pinging: the lab every fault starts from.
    static func twoNodesWithPods(_ lab: AgentLab) throws {
        try lab.twillctl(["apply", "-f", "-"], stdin: setup)
        for n in ["node-a", "node-b"] where lab.agents[n] == nil { try lab.startAgent(n) }
        #expect(eventually(timeout: 30, interval: 0.2) { lab.nodesRegistered().isSuperset(of: ["node-a", "node-b"]) },
                "nodes not registered: \(lab.nodesRegistered())\n\(lab.agentLog("node-b"))")
        try lab.addPod("pa", on: "node-a")
        try lab.addPod("pb", on: "node-b")
        let t0 = Date()
        let routed = eventually(timeout: 60, interval: 0.2) {
            lab.routesBlock(on: "node-a", of: "pb") && lab.routesBlock(on: "node-b", of: "pa")
        }
        #expect(routed, "block routes missing:\nA:\n\(lab.routes("node-a"))\nB:\n\(lab.routes("node-b"))\n\(lab.agentLog("node-a"))")
        let pinging = eventually(timeout: 30, interval: 0.2) { lab.ping("pa", "pb") && lab.ping("pb", "pa") }
        #expect(pinging, "pods do not ping: A:\n\(lab.routes("node-a"))\nB:\n\(lab.routes("node-b"))")
        print("agent+etcd: pods on A and B ping each other \(Self.seconds(t0)) s after the second CNI ADD")
    }

    struct Steady { var rounds = 0, failed = 0, changed: [String] = [], logged: Double? }

    /// For `window` seconds: both pods ping each other every round and no route changes on
    /// `nodes`; `logged` is when every node's log first held `line` (seconds into the window).
    static func holdSteady(_ lab: AgentLab, nodes: [String], window: Double, line: String) -> Steady {
        let before = nodes.map { lab.routes($0) }
        let start = Date(), end = start.addingTimeInterval(window)
        var r = Steady()
        var changed: Set<String> = []
        while Date() < end {
            r.rounds += 1
            if !lab.ping("pa", "pb") { r.failed += 1 }
            if !lab.ping("pb", "pa") { r.failed += 1 }
            for (i, n) in nodes.enumerated() where lab.routes(n) != before[i] { changed.insert(n) }
            if r.logged == nil, nodes.allSatisfy({ lab.agentLog($0).contains(line) }) {
                r.logged = Date().timeIntervalSince(start)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        r.changed = changed.sorted()
        return r
    }

    static let peerTOR = """
        apiVersion: projectcalico.org/v3
        kind: BGPPeer
        metadata:
          name: tor
        spec:
          peerIP: 10.97.0.200
          asNumber: 65001
        """

    @Test func etcdDownAtStartThenKilledWhileRunning() throws {
        guard Privileged.check("agent with etcd", needs: ["etcd", "etcdctl", "ip", "ping", "curl"]) else { return }
        let lab = try AgentLab()
        defer { lab.cleanup() }
        try lab.addNode("node-a", index: 1)
        try lab.addNode("node-b", index: 2)

        // etcd down at start: the agent waits and says so.
        try lab.startAgent("node-a")
        let waiting = eventually(timeout: 30, interval: 0.1) { lab.agentLog("node-a").contains("waiting for the datastore") }
        #expect(waiting, "agent log:\n\(lab.agentLog("node-a"))")
        #expect(lab.agentRunning("node-a"))
        #expect(!lab.agentLog("node-a").contains("node registered"))

        try lab.startEtcd(0)
        let etcdStarted = Date()
        let registered = eventually(timeout: 30, interval: 0.05) { lab.agentLog("node-a").contains("node registered") }
        #expect(registered, "agent log:\n\(lab.agentLog("node-a"))\netcd:\n\(lab.etcdLog(0))")
        print("agent+etcd: node A registered \(Self.seconds(etcdStarted)) s after etcd was started (agent waiting with backoff ≤ 5 s)")
        #expect(lab.agentLog("node-a").contains("datastore is available"))
        #expect(lab.nodesRegistered().contains("node-a"))

        try Self.twoNodesWithPods(lab)

        // etcd killed while running: nothing programmed goes, pods keep pinging.
        lab.killEtcd(0)
        let killed = Date()
        let down = Self.holdSteady(lab, nodes: ["node-a", "node-b"], window: 6, line: "datastore unavailable")
        let outage = Date().timeIntervalSince(killed)
        #expect(down.failed == 0, "\(down.failed) of \(2 * down.rounds) pings failed while etcd was down")
        #expect(down.changed.isEmpty, "routes changed on \(down.changed) while etcd was down:\nA:\n\(lab.routes("node-a"))\nB:\n\(lab.routes("node-b"))")
        #expect(lab.agentRunning("node-a") && lab.agentRunning("node-b"))
        for n in ["node-a", "node-b"] {
            #expect(lab.agentLog(n).contains("datastore unavailable"), "\(n) did not say etcd is away:\n\(lab.agentLog(n))")
        }
        let ready = lab.readiness("node-a")
        #expect(ready.contains("datastore unavailable") && ready.hasSuffix("HTTP 503"), "readiness while etcd is down: \(ready)")
        print("agent+etcd: etcd down \(String(format: "%.1f", outage)) s: \(2 * down.rounds) pings, \(down.failed) lost; routes on A and B unchanged: \(down.changed.isEmpty); both agents logged \"datastore unavailable\" \(down.logged.map { String(format: "%.2f", $0) } ?? "never") s after the kill")

        // A third node starts while etcd is still down; etcd comes back on the same data dir.
        try lab.addNode("node-c", index: 3)
        try lab.startAgent("node-c")
        #expect(eventually(timeout: 30, interval: 0.1) { lab.agentLog("node-c").contains("waiting for the datastore") })
        try lab.startEtcd(0)
        let back = Date()
        #expect(lab.waitForEtcd(), "etcd did not come back:\n\(lab.etcdLog(0))")
        print("agent+etcd: etcd serving again \(Self.seconds(back)) s after restart")
        for n in ["node-a", "node-b"] {
            #expect(eventually(timeout: 30, interval: 0.1) { lab.agentLog(n).contains("datastore is back") },
                    "\(n) did not notice etcd is back:\n\(lab.agentLog(n))")
        }
        #expect(eventually(timeout: 10, interval: 0.1) { !lab.readiness("node-a").contains("datastore") },
                "readiness after etcd is back: \(lab.readiness("node-a"))")
        print("agent+etcd: agents A and B saw etcd back \(Self.seconds(back)) s after restart")
        // A change right after: a global BGPPeer reaches both speakers through the resumed watches.
        try lab.twillctl(["apply", "-f", "-"], stdin: Self.peerTOR)
        let applied = Date()
        let followed = eventually(timeout: 30, interval: 0.05) {
            Self.hasPeer(lab, "node-a", "10.97.0.200") && Self.hasPeer(lab, "node-b", "10.97.0.200")
        }
        #expect(followed, "the BGPPeer applied after the restart did not reach A and B:\n\(lab.agentLog("node-a"))")
        print("agent+etcd: BGPPeer applied after the restart on A and B's speakers \(Self.seconds(applied)) s after twillctl apply returned, \(Self.seconds(back)) s after etcd restart")
        // The change: node C registers and its mesh peers appear on A and B (watch catch-up).
        let peered = eventually(timeout: 30, interval: 0.1) {
            Self.hasPeer(lab, "node-a", "10.97.0.3") && Self.hasPeer(lab, "node-b", "10.97.0.3")
        }
        #expect(peered, "A/B have no peer for node C:\n\(lab.agentLog("node-a"))")
        print("agent+etcd: node C (registered after etcd came back) is a peer on A and B \(Self.seconds(back)) s after the restart")
        try lab.addPod("pc", on: "node-c")
        let podAdded = Date()
        let caughtUp = eventually(timeout: 60, interval: 0.1) {
            lab.routesBlock(on: "node-a", of: "pc") && lab.routesBlock(on: "node-b", of: "pc")
        }
        #expect(caughtUp, "routes to C's block missing:\nA:\n\(lab.routes("node-a"))\nB:\n\(lab.routes("node-b"))\n\(lab.agentLog("node-c"))")
        print("agent+etcd: C's block routed on A and B \(Self.seconds(podAdded)) s after C's pod was added, \(Self.seconds(back)) s after etcd restart")
        #expect(eventually(timeout: 30, interval: 0.2) { lab.ping("pa", "pc") && lab.ping("pc", "pb") })
        // The earlier pods never stopped working.
        #expect(lab.ping("pa", "pb") && lab.ping("pb", "pa"))
        for n in ["node-a", "node-b", "node-c"] { #expect(lab.agentRunning(n), "\(n) exited:\n\(lab.agentLog(n))") }
    }

    @Test func threeMemberClusterLosesItsLeader() throws {
        guard Privileged.check("agent with etcd", needs: ["etcd", "etcdctl", "ip", "ping", "curl"]) else { return }
        let lab = try AgentLab(etcdMembers: 3)
        defer { lab.cleanup() }
        for i in 0..<3 { try lab.startEtcd(i) }
        #expect(lab.waitForEtcd(), "cluster not serving:\n\(lab.etcdLog(0))")
        try lab.addNode("node-a", index: 1)
        try lab.addNode("node-b", index: 2)
        try Self.twoNodesWithPods(lab)

        var leader: Int?
        #expect(eventually(timeout: 10, interval: 0.2) { leader = lab.leader(); return leader != nil })
        let victim = leader ?? 0
        lab.killEtcd(victim)
        let killed = Date()
        print("agent+etcd: killed etcd member m\(victim) (\(lab.etcdIPs[victim]), leader: \(leader != nil))")
        let after = Self.holdSteady(lab, nodes: ["node-a", "node-b"], window: 5, line: "datastore unavailable")
        #expect(after.failed == 0, "\(after.failed) of \(2 * after.rounds) pings failed after the leader was killed")
        #expect(after.changed.isEmpty, "routes changed on \(after.changed):\nA:\n\(lab.routes("node-a"))\nB:\n\(lab.routes("node-b"))")
        print("agent+etcd: after killing a member: \(2 * after.rounds) pings, \(after.failed) lost, routes unchanged: \(after.changed.isEmpty)")
        // A change made afterwards reaches the agents: a global BGPPeer.
        try lab.twillctl(["apply", "-f", "-"], stdin: Self.peerTOR)
        let applied = Date()
        #expect(eventually(timeout: 30, interval: 0.05) {
            Self.hasPeer(lab, "node-a", "10.97.0.200") && Self.hasPeer(lab, "node-b", "10.97.0.200")
        }, "the BGPPeer did not reach A and B:\n\(lab.agentLog("node-a"))")
        print("agent+etcd: BGPPeer applied after the kill on A and B's speakers \(Self.seconds(applied)) s after twillctl apply returned")

        // And a third node with a pod.
        try lab.addNode("node-c", index: 3)
        try lab.startAgent("node-c")
        let peered = eventually(timeout: 30, interval: 0.1) {
            Self.hasPeer(lab, "node-a", "10.97.0.3") && Self.hasPeer(lab, "node-b", "10.97.0.3")
        }
        #expect(peered, "A/B have no peer for node C:\n\(lab.agentLog("node-a"))\n\(lab.agentLog("node-c"))")
        try lab.addPod("pc", on: "node-c")
        let caughtUp = eventually(timeout: 60, interval: 0.1) {
            lab.routesBlock(on: "node-a", of: "pc") && lab.routesBlock(on: "node-b", of: "pc")
        }
        #expect(caughtUp, "routes to C's block missing:\nA:\n\(lab.routes("node-a"))\nB:\n\(lab.routes("node-b"))")
        print("agent+etcd: node C + pod routed on A and B \(Self.seconds(killed)) s after the member was killed")
        #expect(eventually(timeout: 30, interval: 0.2) { lab.ping("pa", "pc") && lab.ping("pc", "pb") })
        for n in ["node-a", "node-b", "node-c"] { #expect(lab.agentRunning(n), "\(n) exited:\n\(lab.agentLog(n))") }
        // Nothing noticed beyond a log line: the agents never called the datastore unavailable.
        for n in ["node-a", "node-b"] {
            let log = lab.agentLog(n)
            #expect(!log.contains("datastore unavailable"), "\(n):\n\(log)")
        }
    }
}
