import CNIPlugin
import Datastore
import DatastoreEtcd
import Glibc

// twill-cni: a CNI 1.0 plugin (ADD/DEL/CHECK/VERSION, GC/STATUS for 1.1). Reads CNI_* from the
// environment and the network configuration from stdin; prints the result or error JSON.
var stdinBytes: [UInt8] = []
var buf = [UInt8](repeating: 0, count: 65536)
while true {
    let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
    if n <= 0 { break }
    stdinBytes += buf[0..<n]
}
var env: [String: String] = [:]
var p = environ
while let entry = p.pointee {
    let s = String(cString: entry)
    if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
    p += 1
}
var host = [CChar](repeating: 0, count: 256)
gethostname(&host, host.count)
let hostname = String(cString: host)

let output = CNIPlugin(environment: env, stdin: stdinBytes, hostname: hostname, networking: LinuxWorkloadNetworking(),
                       openStore: { url throws(DatastoreError) in try openAnyDatastore(url: url) }).run()
func writeAll(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        off += n
    }
}
writeAll(2, output.stderr)
writeAll(1, output.stdout)
exit(output.exitCode)
