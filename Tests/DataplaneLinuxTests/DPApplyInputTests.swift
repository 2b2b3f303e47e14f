import Foundation
import Testing
import TestSupport

/// `twill-dp-apply` rejects bad input before touching the kernel, naming the field.
@Suite struct DPApplyInputTests {
    @Test(arguments: [
        (#"{"node":{"name":"a","parentInterface":"eth0"},"remoteBlocks":[{"cidr":"10.0.0.0/24","encapsulation":"vxlan","mode":"Sometimes","nodes":[]}]}"#,
         "remoteBlocks[0].mode: \"Sometimes\" is not Always or CrossSubnet"),
        (#"{"node":{"name":"a","parentInterface":"eth0"},"localBlocks":["10.0.0.1/24"]}"#,
         "localBlocks[0]: \"10.0.0.1/24\" is not strictly masked (did you mean 10.0.0.0/24?)"),
        (#"{"node":{"name":"a","parentInterface":"eth0","ipv4":"10.0.0.1"}}"#, "node.ipv4: \"10.0.0.1\" is not ADDRESS/LENGTH"),
        (#"{"node":{"name":"a"}}"#, "node.parentInterface: is required"),
        (#"{"node":{"name":"a","parentInterface":"eth0"},"workloads":[{"name":"w","interface":"c","addresses":["10.0.0.300"]}]}"#,
         "workloads[0].addresses[0]: \"10.0.0.300\" is not an IP address"),
    ])
    func badInputNamesTheField(json: String, message: String) throws {
        let dir = try TempDir("twill-dp-input")
        defer { dir.cleanup() }
        let path = dir.file("in.json")
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Shell.run([BuiltProducts.path("twill-dp-apply"), "apply", "--input", path])
        #expect(r.status != 0)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }
}
