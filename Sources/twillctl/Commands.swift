import ArgumentParser
import CtlCore

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create resources from a file or stdin; fails for any that already exist.")
    @OptionGroup var file: FileOption
    @Flag(name: .long, help: "Do not fail for resources that already exist.") var skipExists = false
    @ParentCommand var root: Twillctl

    func run() throws {
        try forEachInput(file, root.global) { s, input throws(CtlError) in try s.create(input, skipExists: skipExists) }
    }
}

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or replace resources from a file or stdin (all or nothing).")
    @OptionGroup var file: FileOption
    @ParentCommand var root: Twillctl

    func run() throws {
        try forEachInput(file, root.global) { s, input throws(CtlError) in try s.apply(input) }
    }
}

struct Replace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace existing resources from a file or stdin; fails for any that do not exist.")
    @OptionGroup var file: FileOption
    @ParentCommand var root: Twillctl

    func run() throws {
        try forEachInput(file, root.global) { s, input throws(CtlError) in try s.replace(input) }
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete resources named in a file, or KIND NAME…")
    @OptionGroup var file: FileOption
    @Flag(name: [.short, .long], help: "Do not fail for resources that do not exist.") var skipNotExists = false
    @OptionGroup var ns: NamespaceOption
    @Argument(help: "KIND NAME… (instead of -f).") var words: [String] = []
    @ParentCommand var root: Twillctl

    func validate() throws {
        if file.filename != nil, !words.isEmpty { throw ValidationError("give either -f or KIND NAME…, not both") }
        if file.filename == nil, words.count < 2 { throw ValidationError("give -f FILE or KIND NAME…") }
    }

    func run() throws {
        if file.filename != nil {
            return try forEachInput(file, root.global) { s, input throws(CtlError) in
                try s.delete(input, skipNotExists: skipNotExists)
            }
        }
        try withSession(root.global) { s throws(CtlError) in
            try s.delete(kind: words[0], names: Array(words.dropFirst()), namespace: ns.namespace,
                         skipNotExists: skipNotExists)
        }
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show resources: KIND [NAME…], or those named in a file.")
    @OptionGroup var file: FileOption
    @Option(name: [.short, .customLong("output")], help: "ps (default), wide, yaml, json, custom-columns=NAME,CIDR.")
    var output: String = "ps"
    @OptionGroup var ns: NamespaceOption
    @Flag(name: [.customShort("A"), .long], help: "List namespaced resources of every namespace.")
    var allNamespaces = false
    @Argument(help: "KIND [NAME…]") var words: [String] = []
    @ParentCommand var root: Twillctl

    func validate() throws {
        if file.filename != nil, !words.isEmpty { throw ValidationError("give either -f or KIND [NAME…], not both") }
        if file.filename == nil, words.isEmpty { throw ValidationError("give KIND [NAME…] or -f FILE") }
        if OutputFormat(output) == nil {
            throw ValidationError("unknown output format '\(output)': use ps, wide, yaml, json or custom-columns=A,B")
        }
    }

    func run() throws {
        let format = OutputFormat(output)!
        if file.filename != nil {
            return try forEachInput(file, root.global) { s, input throws(CtlError) in try s.get(input, output: format) }
        }
        try withSession(root.global) { s throws(CtlError) in
            return try s.get(kind: words[0], names: Array(words.dropFirst()), namespace: ns.namespace,
                             allNamespaces: allNamespaces, output: format)
        }
    }
}

struct Label: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, change or remove a label: KIND NAME key=value | key --remove")
    @Argument(help: "KIND") var kind: String
    @Argument(help: "NAME") var name: String
    @Argument(help: "key=value, or key with --remove") var label: String
    @Flag(name: .long, help: "Change the value of an existing label.") var overwrite = false
    @Flag(name: .long, help: "Remove the label.") var remove = false
    @OptionGroup var ns: NamespaceOption
    @ParentCommand var root: Twillctl

    func run() throws {
        try withSession(root.global) { s throws(CtlError) in
            try s.label(kind: kind, name: name, namespace: ns.namespace, label: label, overwrite: overwrite,
                        remove: remove)
        }
    }
}

struct Patch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Patch a resource with a JSON merge patch (RFC 7386), then validate it.")
    @Argument(help: "KIND") var kind: String
    @Argument(help: "NAME") var name: String
    @Option(name: [.short, .customLong("patch")], help: "The patch, JSON (or YAML) text.") var patch: String
    @Option(name: [.short, .customLong("type")], help: "Patch type: merge (the only one supported).")
    var type: String = "merge"
    @OptionGroup var ns: NamespaceOption
    @ParentCommand var root: Twillctl

    func validate() throws {
        if type != "merge" { throw ValidationError("patch type '\(type)' is not supported: use merge") }
    }

    func run() throws {
        try withSession(root.global) { s throws(CtlError) in try s.patch(kind: kind, name: name, namespace: ns.namespace, patch: patch) }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check resources in a file (decode, defaults, validation, conflicts); writes nothing.")
    @OptionGroup var file: FileOption
    @ParentCommand var root: Twillctl

    func validate() throws {
        if file.filename == nil { throw ValidationError("give -f FILE (or -f - for stdin)") }
    }

    func run() throws {
        // Like calicoctl, validate works without a datastore: when none can be opened it checks
        // the documents on their own (not against stored pools or versions) and says so.
        let session: Session
        do { session = try Session(datastoreURL: root.global.datastore) } catch {
            Console.err("warning: \(error.message); validating without the stored state\n")
            session = Session.offline()
        }
        do throws(CtlError) {
            for input in try file.inputs() {
                do throws(CtlError) { Console.out(try session.validate(input)) } catch {
                    throw CtlError("\(input.source): \(error.message)", exitCode: error.exitCode)
                }
            }
        } catch {
            Console.err("error: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the twillctl version.")
    @ParentCommand var root: Twillctl

    func run() throws {
        Console.out(Session.versionText)
    }
}
