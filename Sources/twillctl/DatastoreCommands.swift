import ArgumentParser
import CtlCore
import Foundation

/// `twillctl datastore migrate export|import`: calicoctl's datastore migration, between any two
/// Twill datastores (SQLite ↔ etcd). The work is in CtlCore/Migrate.
struct DatastoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datastore",
        abstract: "Datastore-wide operations.",
        subcommands: [MigrateCommand.self])
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move every resource and IPAM record from one datastore to another.",
        discussion: """
            Export from the source (twillctl --datastore SRC datastore migrate export -o FILE), then \
            import into the destination (twillctl --datastore DST datastore migrate import -f FILE). \
            calicoctl's lock/unlock (for its etcd → Kubernetes switch) are not provided: no Twill \
            component would honour the lock; stop writers (agents, CNI) during a migration instead.
            """,
        subcommands: [MigrateExport.self, MigrateImport.self])
}

struct MigrateExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print every projectcalico.org/v3 resource as YAML, then the IPAM records as JSON.",
        discussion: """
            Resources come first (IPPools, BGPConfigurations, BGPPeers, BGPFilters, Nodes, \
            NetworkPolicies, GlobalNetworkPolicies, WorkloadEndpoints; each kind in key order) \
            without resourceVersion, uid or creationTimestamp; that part is a file `twillctl apply` \
            accepts. After a line "===" follow the IPAM records (configuration, blocks, \
            affinities, handles) exactly as stored. The output is the same for the same data.
            """)
    @Option(name: [.short, .customLong("output")], help: "Write to this file instead of stdout.")
    var output: String?
    @ParentCommand var root: Twillctl

    func run() throws {
        try withSession(root.global) { s throws(CtlError) in
            let export = try DatastoreMigration.export(from: s.client.datastore)
            if !export.skipped.isEmpty {
                let shown = export.skipped.prefix(5).joined(separator: ", ") + (export.skipped.count > 5 ? ", …" : "")
                Console.err("warning: \(export.skipped.count) key(s) under /calico/ hold data Twill does not model and were not exported: \(shown)\n")
            }
            if export.resources + export.ipamRecords == 0 {
                Console.err("warning: the datastore holds no Calico data: the export is empty\n")
            }
            guard let output, output != "-" else { return export.text }
            do { try Data(export.text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
                throw CtlError("cannot write \(output): \(error.localizedDescription)")
            }
            return "Exported \(export.resources) resource(s) and \(export.ipamRecords) IPAM record(s) to \(output)\n"
        }
    }
}

struct MigrateImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Write an export into this datastore, all or nothing.",
        discussion: """
            Everything is validated first (every error listed: document, kind/name, field, \
            reason); nothing is written if anything is wrong, or if the datastore already holds \
            Calico data (unless --allow-non-empty). Then one commit writes it all. A backend \
            that refuses one commit that large (etcd beyond --max-txn-ops) gets batches; if a \
            batch then fails, the batches written are rolled back and the error says so.
            """)
    @Option(name: [.short, .customLong("filename")], help: "The export file (`-` reads stdin).")
    var filename: String
    @Flag(name: .long, help: "Import into a datastore that already holds Calico data (existing keys are replaced).")
    var allowNonEmpty = false
    @ParentCommand var root: Twillctl

    func run() throws {
        try withSession(root.global) { s throws(CtlError) in
            let input = try Input.read(filename)
            let result = try DatastoreMigration.importFile(
                input, into: s.client.datastore, options: .init(allowNonEmpty: allowNonEmpty))
            if !result.ipamProblems.isEmpty {
                let shown = result.ipamProblems.prefix(10).map { "\n  " + $0 }.joined()
                Console.err("warning: the imported IPAM data has \(result.ipamProblems.count) inconsistenc(ies), as the source had (see 'twillctl ipam check'):\(shown)\(result.ipamProblems.count > 10 ? "\n  …" : "")\n")
            }
            return result.message
        }
    }
}
