import ArgumentParser
import Datastore
import DatastoreEtcd

/// An etcdctl-like tool to look into and poke a Twill datastore, plus the load generators the
/// multi-process tests and the benchmark use.
@main
struct DSTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twill-dstool",
        abstract: "Inspect and exercise a Twill datastore (etcdctl-like).",
        discussion: """
            The datastore is --datastore URL, else $TWILL_DATASTORE, else \(DatastoreURL.defaultURL).
            URL forms: sqlite:PATH, memory:, etcd://HOST:PORT[,HOST:PORT...] (not built yet).
            """,
        subcommands: [Get.self, List.self, Put.self, Del.self, Watch.self, Revision.self, Compact.self,
                      Hammer.self, Bench.self])
}

struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("datastore"), help: "Datastore URL (default: $TWILL_DATASTORE, then \(DatastoreURL.defaultURL)).")
    var url: String?

    func open() throws -> any Datastore {
        do {
            return try openAnyDatastore(url: url)
        } catch {
            throw ToolError(error.description)
        }
    }
}

/// A failure printed as is (the datastore's errors already name the key and the reason).
struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Runs a datastore call and turns its error into a printed message.
@discardableResult
func attempt<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as DatastoreError {
        throw ToolError(e.description)
    }
}
