import NetCore
import NodeModel

/// A CNI error result (spec §Error): printed as JSON on stdout, exit code 1.
public struct CNIError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    public var msg: String
    public var details: String

    public init(_ code: Int, _ msg: String, details: String = "") { self.code = code; self.msg = msg; self.details = details }

    // Well-known codes (CNI spec 1.0/1.1).
    public static let incompatibleVersion = 1
    public static let unsupportedField = 2
    public static let containerUnknown = 3
    public static let invalidEnvironment = 4
    public static let ioFailure = 5
    public static let decodingFailure = 6
    public static let invalidNetworkConfig = 7
    public static let tryAgainLater = 11
    public static let pluginNotAvailable = 50
    // Plugin-specific codes (100+).
    /// IPAM has no address to give: no usable pool, or every usable block is full.
    public static let noAddresses = 100
    /// The IPAM request was refused (unknown or disabled pool, corrupt record).
    public static let ipamFailure = 101
    /// Creating or configuring the pod's interfaces failed.
    public static let interfaceFailure = 102
    /// CHECK found the pod's networking different from what ADD made.
    public static let checkFailed = 103
    /// Reading or writing the datastore failed for a non-transient reason.
    public static let datastoreFailure = 104

    public func json(cniVersion: String) -> String {
        var fields: [Value.Field] = [.init("cniVersion", .string(cniVersion)), .init("code", .int(Int64(code))), .init("msg", .string(msg))]
        if !details.isEmpty { fields.append(.init("details", .string(details))) }
        return Value.object(fields).prettyJSON()
    }

    public var description: String { "CNI error \(code): \(msg)\(details.isEmpty ? "" : " (\(details))")" }
}

public enum CNICommand: String, Sendable, CaseIterable {
    case add = "ADD", del = "DEL", check = "CHECK", version = "VERSION", gc = "GC", status = "STATUS"
}

public enum CNIVersions {
    public static let supported = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    public static let current = "1.0.0"

    static func parts(_ v: String) -> [Int] { v.split(separator: ".").map { Int($0) ?? 0 } }
    static func atLeast(_ v: String, _ min: String) -> Bool { parts(v).lexicographicallyPrecedes(parts(min)) == false }
}

/// The `CNI_*` environment (spec §Parameters).
public struct CNIEnvironment: Sendable, Hashable {
    public var command: CNICommand
    public var containerID: String
    public var netns: String
    public var ifName: String
    /// `CNI_ARGS` as `K=V;K=V`.
    public var args: [String: String]
    public var path: String

    public init(_ env: [String: String]) throws(CNIError) {
        guard let c = env["CNI_COMMAND"], !c.isEmpty else {
            throw CNIError(CNIError.invalidEnvironment, "CNI_COMMAND is not set")
        }
        guard let cmd = CNICommand(rawValue: c) else {
            throw CNIError(CNIError.invalidEnvironment, "CNI_COMMAND \"\(c)\" is not one of \(CNICommand.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        command = cmd
        containerID = env["CNI_CONTAINERID"] ?? ""
        netns = env["CNI_NETNS"] ?? ""
        ifName = env["CNI_IFNAME"] ?? ""
        path = env["CNI_PATH"] ?? ""
        args = [:]
        for part in (env["CNI_ARGS"] ?? "").split(separator: ";") where !part.isEmpty {
            guard let eq = part.firstIndex(of: "=") else {
                throw CNIError(CNIError.invalidEnvironment, "CNI_ARGS: \"\(part)\" is not KEY=VALUE")
            }
            args[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        var missing: [String] = []
        if [.add, .del, .check].contains(cmd) {
            if containerID.isEmpty { missing.append("CNI_CONTAINERID") }
            if ifName.isEmpty { missing.append("CNI_IFNAME") }
        }
        if [.add, .check].contains(cmd), netns.isEmpty { missing.append("CNI_NETNS") }
        if !missing.isEmpty {
            throw CNIError(CNIError.invalidEnvironment, "required environment variable\(missing.count > 1 ? "s" : "") not set: \(missing.joined(separator: ", "))")
        }
        if !containerID.isEmpty, !containerID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
            throw CNIError(CNIError.invalidEnvironment, "CNI_CONTAINERID \"\(containerID)\" may only hold letters, digits, '-', '_' and '.'")
        }
        if ifName.utf8.count > 15 || ifName.contains("/") || ifName == "." || ifName == ".." || ifName.contains(where: { $0.isWhitespace }) {
            throw CNIError(CNIError.invalidEnvironment, "CNI_IFNAME \"\(ifName)\" is not a valid interface name (at most 15 bytes, no '/' or spaces)")
        }
    }
}

/// The network configuration on stdin. Keys the runtime adds (`prevResult`, `runtimeConfig`,
/// `args`, `capabilities`) are accepted; our own keys are checked.
public struct NetworkConfig: Sendable, Hashable {
    public var cniVersion: String
    public var name: String
    public var type: String
    /// Datastore URL (`sqlite:PATH`); nil = `$TWILL_DATASTORE` or the default.
    public var datastore: String?
    /// Node name; nil = the host name.
    public var nodename: String?
    public var ipamType: String?
    /// Pool CIDRs or names to assign from; empty = every usable pool.
    public var ipv4Pools: [String]
    public var mtu: Int
    public var logLevel: String
    public var prevResult: Value?
    /// GC's `cni.dev/valid-attachments`: the container IDs to keep (nil when absent).
    public var validAttachments: [String]?

    public init(bytes: [UInt8]) throws(CNIError) {
        let v: Value
        do { v = try Value(jsonBytes: bytes) } catch {
            throw CNIError(CNIError.decodingFailure, "network configuration is not valid JSON: \(error)")
        }
        guard case .object = v else { throw CNIError(CNIError.decodingFailure, "network configuration must be a JSON object") }
        func str(_ key: String, in obj: Value, path: String = "") throws(CNIError) -> String? {
            guard let x = obj[key], x != .null else { return nil }
            guard let s = x.stringValue else { throw CNIError(CNIError.invalidNetworkConfig, "\(path)\(key): expected a string, got \(x.typeName)") }
            return s
        }
        guard let ver = try str("cniVersion", in: v), !ver.isEmpty else { throw CNIError(CNIError.invalidNetworkConfig, "cniVersion is required") }
        cniVersion = ver
        name = try str("name", in: v) ?? ""
        type = try str("type", in: v) ?? ""
        if type.isEmpty { throw CNIError(CNIError.invalidNetworkConfig, "type is required") }
        datastore = try str("datastore", in: v)
        nodename = try str("nodename", in: v)
        logLevel = try str("log_level", in: v) ?? "info"
        if !["debug", "info", "warning", "error", "none"].contains(logLevel.lowercased()) {
            throw CNIError(CNIError.invalidNetworkConfig, "log_level: \"\(logLevel)\" is not one of debug, info, warning, error, none")
        }
        mtu = 1500
        if let m = v["mtu"], m != .null {
            guard case .int(let n) = m, n >= 68, n <= 65535 else {
                throw CNIError(CNIError.invalidNetworkConfig, "mtu: expected an integer 68-65535, got \(m.json)")
            }
            mtu = Int(n)
        }
        ipv4Pools = []
        ipamType = nil
        if let ipam = v["ipam"], ipam != .null {
            guard case .object = ipam else { throw CNIError(CNIError.invalidNetworkConfig, "ipam: expected an object") }
            ipamType = try str("type", in: ipam, path: "ipam.")
            if let t = ipamType, t != "twill-ipam" {
                throw CNIError(CNIError.invalidNetworkConfig, "ipam.type: \"\(t)\" is not supported (use twill-ipam)")
            }
            if let pools = ipam["ipv4_pools"], pools != .null {
                guard let items = pools.arrayValue else { throw CNIError(CNIError.invalidNetworkConfig, "ipam.ipv4_pools: expected a list") }
                for (i, item) in items.enumerated() {
                    guard let s = item.stringValue, !s.isEmpty else {
                        throw CNIError(CNIError.invalidNetworkConfig, "ipam.ipv4_pools[\(i)]: expected a pool CIDR or name")
                    }
                    ipv4Pools.append(s)
                }
            }
        }
        prevResult = v["prevResult"]
        validAttachments = v["cni.dev/valid-attachments"]?.arrayValue?.compactMap { $0["containerID"]?.stringValue }
        if type == "twill-cni" && name.isEmpty { throw CNIError(CNIError.invalidNetworkConfig, "name is required") }
    }
}
