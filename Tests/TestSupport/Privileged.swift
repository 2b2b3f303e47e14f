import Foundation

/// Privileged tests (netns, nftables, real daemons) need root. When not root they skip with a
/// printed reason; with TWILL_REQUIRE_PRIVILEGED=1 (as `.ci/run` sets) a skip is a failure.
public enum Privileged {
    public static var isRoot: Bool { geteuid() == 0 }
    public static var required: Bool { ProcessInfo.processInfo.environment["TWILL_REQUIRE_PRIVILEGED"] == "1" }

    /// Returns true when the test may run. Prints the skip reason otherwise; traps (fails the
    /// run) when privileged tests are required, so CI can never go green by skipping.
    public static func check(_ what: String, needs tools: [String] = []) -> Bool {
        var reasons: [String] = []
        if !isRoot { reasons.append("not running as root") }
        for t in tools where Shell.which(t) == nil { reasons.append("\(t) is not installed") }
        if reasons.isEmpty { return true }
        let msg = "SKIP \(what): \(reasons.joined(separator: ", "))"
        if required { fatalError("TWILL_REQUIRE_PRIVILEGED=1 but \(msg)") }
        print(msg)
        return false
    }
}
