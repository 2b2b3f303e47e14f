import DataplaneLinux
import Glibc

/// The real kernel: `WorkloadNetwork` from DataplaneLinux.
public struct LinuxWorkloadNetworking: WorkloadNetworking {
    public init() {}
    public func netnsExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }
    public func setUp(_ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> WorkloadInterfaceResult { try WorkloadNetwork.setUp(spec) }
    public func tearDown(hostInterface: String) throws(WorkloadError) -> Bool { try WorkloadNetwork.tearDown(hostInterface: hostInterface) }
    public func check(_ spec: WorkloadInterfaceSpec) throws(WorkloadError) -> [String] { try WorkloadNetwork.check(spec) }
}
