import Calc
import Foundation
import NetCore

/// One BGP protocol of BIRD's `show protocols` table, as `calicoctl node status` shows it.
public struct BIRDPeerStatus: Hashable, Sendable, CustomStringConvertible {
    /// BIRD's protocol name: `Mesh_10_0_0_2`, `Global_10_0_0_9_port_1790`, `Node_fd00__2`…
    public var name: String
    /// BIRD's protocol state: `up`, `start`, `stop`, `down` (`flush` while routes are removed).
    public var state: String
    /// When the state last changed, as BIRD prints it (`12:40:05.456`, `2026-11-25`, or
    /// `2026-11-25 12:40:05` with `timeformat protocol iso long`).
    public var since: String
    /// The BGP state: `Established`, `Active`, `Connect`, `Idle`, `OpenSent`, `OpenConfirm`,
    /// `Passive`; empty for a protocol that is down without one.
    public var info: String
    /// The rest of BIRD's info column: `Socket: Connection refused`, `Error: Hold timer expired`…
    public var detail: String
    /// From the name prefix as calicoctl maps it; nil for a BGP protocol Twill did not name.
    public var peerType: PeerType?
    /// The peer address encoded in the name (`Mesh_fd00__2` → `fd00::2`); nil when the name holds none.
    public var peerAddress: IPAddress?
    /// The `_port_N` suffix of the name, when the peer uses a port other than 179.
    public var peerPort: Int?

    public init(name: String, state: String, since: String, info: String, detail: String = "") {
        self.name = name; self.state = state; self.since = since; self.info = info; self.detail = detail
        (peerType, peerAddress, peerPort) = Self.decodeName(name)
    }

    public var isEstablished: Bool { info == "Established" }

    /// calicoctl's Info column: the BGP state plus the detail.
    public var infoColumn: String { detail.isEmpty ? info : info + " " + detail }

    public var description: String { "\(name) \(state) \(since) \(infoColumn)" }

    /// `Mesh_10_0_0_2` → (.mesh, 10.0.0.2, nil); `Node_fd00__2_port_1790` → (.nodeSpecific, fd00::2, 1790).
    /// Where calicoctl needs the address family to pick `.` or `:`, one BIRD 2 serves both: four
    /// decimal octets make an IPv4 address, anything else is read as IPv6.
    static func decodeName(_ name: String) -> (PeerType?, IPAddress?, Int?) {
        guard let type = PeerType.allCases.first(where: { name.hasPrefix($0.namePrefix) }) else { return (nil, nil, nil) }
        var rest = String(name.dropFirst(type.namePrefix.count))
        var port: Int? = nil
        if let r = rest.range(of: "_port_", options: .backwards), let p = Int(rest[r.upperBound...]), (1...65535).contains(p) {
            port = p
            rest = String(rest[..<r.lowerBound])
        }
        let parts = rest.split(separator: "_", omittingEmptySubsequences: false)
        let v4 = parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        let text = parts.joined(separator: v4 ? "." : ":")
        return (type, IPAddress(text), port)
    }
}

/// Why `show protocols` output could not be read.
public enum BIRDProtocolTableError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The heading row is not `Name Proto Table State Since Info` (another BIRD version or command).
    case unexpectedHeadings(String)
    /// No heading row at all: not a protocol table (BIRD printed an error instead).
    case noTable(String)

    public var description: String {
        switch self {
        case .unexpectedHeadings(let h): "unknown BIRD protocol table format: headings \"\(h)\""
        case .noTable(let text): "BIRD did not print a protocol table: \(text.split(separator: "\n").prefix(3).joined(separator: " | "))"
        }
    }
}

/// Reads BIRD's `show protocols` table, from `birdc` (plain text) or from the control socket
/// (reply codes `0001` ready, `2002` headings, `1002` first row, space-continued rows, `0000`
/// end), keeping BGP protocols only — as calicoctl's `scanBIRDPeers` does, with two
/// differences: a protocol without an info column (down, never started) is kept with an empty
/// `info` rather than dropped, and a two-token `Since` (`iso long` time format) is joined.
public enum BIRDProtocolTable {
    static let headings = ["name", "proto", "table", "state", "since", "info"]

    public static func parse(_ output: String) throws(BIRDProtocolTableError) -> [BIRDPeerStatus] {
        var sawHeadings = false
        var peers: [BIRDPeerStatus] = []
        for raw in output.split(whereSeparator: \.isNewline) {
            var line = Substring(raw)
            // Control-socket framing: "NNNN-" / "NNNN " codes, " " continuation rows.
            if line.count >= 5, line.prefix(4).allSatisfy(\.isNumber), line.dropFirst(4).first == "-" || line.dropFirst(4).first == " " {
                let code = line.prefix(4)
                line = line.dropFirst(5)
                if code == "0000" || code == "0001" { continue }
                if code.first == "8" || code.first == "9" { throw .noTable(String(line)) }
            }
            let columns = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = columns.first else { continue }
            if !sawHeadings {
                if first.lowercased() == "name" {
                    let h = columns.map { $0.lowercased() }
                    guard h == headings else { throw .unexpectedHeadings(columns.joined(separator: " ")) }
                    sawHeadings = true
                }
                continue
            }
            if let p = row(columns) { peers.append(p) }
        }
        guard sawHeadings else { throw .noTable(output) }
        return peers
    }

    /// One row, nil unless it is a BGP protocol.
    static func row(_ c: [Substring]) -> BIRDPeerStatus? {
        guard c.count >= 5, c[1] == "BGP" else { return nil }
        var i = 4
        var since = String(c[4])
        if c.count > 5, isDate(c[4]), isTime(c[5]) { since += " " + c[5]; i = 5 }
        let info = c.count > i + 1 ? String(c[i + 1]) : ""
        let detail = c.count > i + 2 ? c[(i + 2)...].joined(separator: " ") : ""
        return BIRDPeerStatus(name: String(c[0]), state: String(c[3]), since: since, info: info, detail: detail)
    }

    static func isDate(_ s: Substring) -> Bool {
        let p = s.split(separator: "-", omittingEmptySubsequences: false)
        return p.count == 3 && p[0].count == 4 && p.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    static func isTime(_ s: Substring) -> Bool {
        let p = s.split(separator: ":", omittingEmptySubsequences: false)
        return p.count == 3 && p[0].count == 2 && p[1].count == 2 && p[2].first?.isNumber == true
    }
}
