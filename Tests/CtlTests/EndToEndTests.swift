import Foundation
import Testing
import TestSupport

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

/// Runs the real `twillctl` binary against a temporary SQLite file.
@Suite struct EndToEndTests {
    @Test func applyGetEveryFormatAndReapplyYAML() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        let out = try h.ok(["apply", "-f", fixtures + "/multi.yaml"])
        #expect(out == "Successfully applied 4 resource(s)\n")

        try Golden.check(try h.ok(["get", "ippools"]), "e2e-ippool-ps.txt")
        try Golden.check(try h.ok(["get", "ipp", "-o", "wide"]), "e2e-ippool-wide.txt")
        try Golden.check(try h.ok(["get", "bgppeer"]), "e2e-bgppeer-ps.txt")
        #expect(try h.ok(["get", "ippools", "-o", "custom-columns=NAME,VXLANMODE,nat"])
                == "NAME     VXLANMODE   NAT     \npool-a   Never       true    \npool-b   Always      false   \n\n")
        let badColumn = try h.run(["get", "ippools", "-o", "custom-columns=NAME,ASN"])
        #expect(badColumn.status == 1)
        #expect(badColumn.stderr.contains("unknown column ASN for IPPool"))

        let one = try h.ok(["get", "IPPool", "pool-a", "-o", "yaml"])
        #expect(one.contains("kind: IPPool\n"))
        #expect(one.contains("name: pool-a"))
        #expect(one.contains("resourceVersion: \""))
        #expect(one.contains("uid: "))
        let json = try h.ok(["get", "pools", "pool-b", "-o", "json"])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(parsed["kind"] as? String == "IPPool")
        #expect((parsed["spec"] as? [String: Any])?["cidr"] as? String == "fd00:10::/48")
        let listJSON = try h.ok(["get", "bgppeers", "-o", "json"])
        let list = try #require(try JSONSerialization.jsonObject(with: Data(listJSON.utf8)) as? [String: Any])
        #expect(list["kind"] as? String == "BGPPeerList")
        #expect((list["items"] as? [Any])?.count == 2)

        // get -o yaml output re-applies cleanly (a list, and a single resource with its resourceVersion).
        let yaml = try h.ok(["get", "ippool", "-o", "yaml"])
        #expect(yaml.contains("kind: IPPoolList"))
        let reapplied = try h.ok(["apply", "-f", "-"], stdin: yaml)
        #expect(reapplied == "Successfully applied 2 'IPPool' resource(s)\n")
        #expect(try h.ok(["apply", "-f", "-"], stdin: try h.ok(["get", "bgpp", "tor-1", "-o", "yaml"]))
                == "Successfully applied 1 'BGPPeer' resource(s)\n")
        // Unchanged apart from the version.
        try Golden.check(try h.ok(["get", "ippools", "-o", "wide"]), "e2e-ippool-wide.txt")
        let again = try h.ok(["get", "IPPool", "pool-a", "-o", "yaml"])
        #expect(again.replacingOccurrences(of: #"resourceVersion: "\d+""#, with: "", options: .regularExpression)
                == one.replacingOccurrences(of: #"resourceVersion: "\d+""#, with: "", options: .regularExpression))
    }

    @Test func getByFileAndDeleteByListOutput() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        try h.ok(["apply", "-f", fixtures + "/multi.yaml"])
        // Mixed kinds from a file: one table per kind; YAML is a `List` that re-applies.
        let tables = try h.ok(["get", "-f", fixtures + "/multi.yaml"])
        #expect(tables.components(separatedBy: "NAME ").count == 3)
        let mixed = try h.ok(["get", "-f", fixtures + "/multi.yaml", "-o", "yaml"])
        #expect(mixed.contains("kind: List"))
        #expect(try h.ok(["apply", "-f", "-"], stdin: mixed) == "Successfully applied 4 resource(s)\n")
        // What `get -o yaml` prints is also a valid get and delete file.
        let peers = try h.ok(["get", "bgppeers", "-o", "yaml"])
        #expect(try h.ok(["get", "-f", "-"], stdin: peers) == (try h.ok(["get", "bgppeers"])))
        #expect(try h.ok(["delete", "-f", "-"], stdin: peers) == "Successfully deleted 2 'BGPPeer' resource(s)\n")
        #expect(try h.ok(["get", "ippools"]).contains("pool-a"))
    }

    @Test func createOnExistingFailsAndSkipExists() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        #expect(try h.ok(["create", "-f", fixtures + "/multi.yaml"]) == "Successfully created 4 resource(s)\n")
        let r = try h.run(["create", "-f", fixtures + "/multi.yaml"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: "))
        #expect(r.stderr.contains("resource already exists: IPPool(pool-a)"))
        #expect(r.stdout.isEmpty)
        let skip = try h.ok(["create", "--skip-exists", "-f", fixtures + "/multi.yaml"])
        #expect(skip == "Successfully created 0 resource(s) (4 already existed and were skipped)\n")
    }

    @Test func replaceOnMissingFails() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        let r = try h.run(["replace", "-f", fixtures + "/multi.yaml"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: "))
        #expect(r.stderr.contains("resource does not exist: IPPool(pool-a)"))
        try h.ok(["apply", "-f", fixtures + "/multi.yaml"])
        #expect(try h.ok(["replace", "-f", fixtures + "/multi.yaml"]) == "Successfully replaced 4 resource(s)\n")
    }

    @Test func deleteWithAndWithoutSkipNotExists() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        try h.ok(["apply", "-f", fixtures + "/multi.yaml"])
        #expect(try h.ok(["delete", "ippool", "pool-a"]) == "Successfully deleted 1 'IPPool' resource(s)\n")
        let missing = try h.run(["delete", "ippool", "pool-a"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("resource does not exist: IPPool(pool-a)"))
        #expect(try h.ok(["delete", "ippool", "pool-a", "--skip-not-exists"])
                .hasPrefix("Successfully deleted 0 'IPPool' resource(s)"))
        // A file: the rest of multi.yaml (pool-a is gone): fails as a whole without -s, deletes with it.
        let all = try h.run(["delete", "-f", fixtures + "/multi.yaml"])
        #expect(all.status == 1)
        #expect(try h.ok(["get", "bgppeers"]).contains("tor-1"))
        #expect(try h.ok(["delete", "-s", "-f", fixtures + "/multi.yaml"])
                .hasPrefix("Successfully deleted 3 resource(s)"))
        #expect(try h.ok(["get", "bgppeers"]) == "NAME   PEERIP   NODE   ASN   \n\n")
    }

    @Test func invalidDocumentInThreeDocFileWritesNothingAndNamesDocAndField() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        let r = try h.run(["apply", "-f", fixtures + "/invalid3.yaml"])
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("error: "))
        #expect(r.stderr.contains("document 2"))
        #expect(r.stderr.contains("broken"))
        #expect(r.stderr.contains("spec.natOutgoin"))
        #expect(r.stderr.contains("nothing was written"))
        #expect(try h.ok(["get", "ippools"]) == "NAME   CIDR   SELECTOR   \n\n")
        #expect(try h.ok(["get", "bgppeers"]) == "NAME   PEERIP   NODE   ASN   \n\n")
        // validate reports the same and writes nothing either.
        let v = try h.run(["validate", "-f", fixtures + "/invalid3.yaml"])
        #expect(v.status == 1)
        #expect(v.stderr.contains("spec.natOutgoin"))
        #expect(try h.ok(["validate", "-f", fixtures + "/multi.yaml"]) == "Successfully validated 4 resource(s)\n")
        #expect(try h.ok(["get", "ippools"]) == "NAME   CIDR   SELECTOR   \n\n")
    }

    @Test func labelAndPatch() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        try h.ok(["apply", "-f", fixtures + "/multi.yaml"])
        #expect(try h.ok(["label", "bgppeers", "tor-1", "rack=r1"]) == "Successfully set label rack on BGPPeer tor-1\n")
        let clash = try h.run(["label", "bgppeers", "tor-1", "rack=r2"])
        #expect(clash.status == 1)
        #expect(clash.stderr.contains("--overwrite"))
        #expect(try h.ok(["label", "bgppeers", "tor-1", "rack=r2", "--overwrite"])
                == "Successfully updated label rack on BGPPeer tor-1\n")
        #expect(try h.ok(["get", "bgpp", "tor-1", "-o", "yaml"]).contains("rack: r2"))
        #expect(try h.ok(["label", "bgppeers", "tor-1", "rack", "--remove"])
                == "Successfully removed label rack from BGPPeer tor-1\n")
        #expect(!(try h.ok(["get", "bgpp", "tor-1", "-o", "yaml"]).contains("rack")))

        #expect(try h.ok(["patch", "ippool", "pool-a", "-p", #"{"spec":{"natOutgoing":false,"disabled":true}}"#])
                == "Successfully patched 1 'IPPool' resource\n")
        let wide = try h.ok(["get", "ippool", "pool-a", "-o", "wide"])
        #expect(wide.contains("pool-a   10.10.0.0/16   false   Always"))
        #expect(wide.contains("true"))
        let bad = try h.run(["patch", "ippool", "pool-a", "-p", #"{"spec":{"cidr":"10.99.0.0/16"}}"#])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("spec.cidr"))
        let missing = try h.run(["patch", "ippool", "nope", "-p", "{}"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("IPPool(nope)"))
    }

    @Test func twoConcurrentApplyProcessesBothLand() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        // Both files also rewrite a shared resource, so the two batches really contend.
        func file(_ tag: String, _ base: Int) throws -> String {
            var docs: [String] = []
            for i in 0..<40 {
                docs.append("""
                apiVersion: projectcalico.org/v3
                kind: BGPPeer
                metadata:
                  name: \(tag)-\(i)
                spec:
                  peerIP: 10.\(base).0.\(i + 1)
                  asNumber: 65000
                """)
            }
            docs.append("""
            apiVersion: projectcalico.org/v3
            kind: BGPPeer
            metadata:
              name: shared
            spec:
              peerIP: 10.\(base).1.1
              asNumber: 65000
            """)
            return try h.write("\(tag).yaml", docs.joined(separator: "\n---\n"))
        }
        let files = [try file("left", 1), try file("right", 2)]
        nonisolated(unsafe) var results: [Shell.Result?] = [nil, nil]
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            results[i] = try? h.run(["apply", "-f", files[i]])
        }
        for r in results {
            let r = try #require(r)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == "Successfully applied 41 'BGPPeer' resource(s)\n")
        }
        let names = try h.ok(["get", "bgppeers"]).split(separator: "\n").dropFirst().map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(Set(names).count == 81)
    }

    @Test func calicoDocumentationYAMLIsAcceptedAsIs() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        let r = try h.run(["apply", "-f", fixtures + "/calico-docs.yaml"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "Successfully applied 5 resource(s)\n")
        try Golden.check(try h.ok(["get", "bgpconfig"]), "e2e-bgpconfig-ps.txt")
        try Golden.check(try h.ok(["get", "nodes", "-o", "wide"]), "e2e-node-wide.txt")
        try Golden.check(try h.ok(["get", "bgpfilters"]), "e2e-bgpfilter-ps.txt")
        try Golden.check(try h.ok(["get", "bgppeers"]), "e2e-docs-bgppeer-ps.txt")
        // And what we print re-applies.
        for kind in ["ippool", "bgppeer", "bgpconfig", "node", "bgpfilter"] {
            let yaml = try h.ok(["get", kind, "-o", "yaml"])
            let again = try h.run(["apply", "-f", "-"], stdin: yaml)
            #expect(again.status == 0, "\(kind): \(again.stderr)")
        }
    }

    @Test func stdinJSONAndErrorsForBadArguments() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        let json = #"{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"j"},"spec":{"cidr":"10.30.0.0/16"}}"#
        #expect(try h.ok(["create", "-f", "-"], stdin: json) == "Successfully created 1 'IPPool' resource(s)\n")
        let unknown = try h.run(["get", "bogus"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("resource type 'bogus' is not supported"))
        let fmt = try h.run(["get", "ippool", "-o", "xml"])
        #expect(fmt.status != 0)
        #expect(fmt.stderr.contains("xml"))
        let nofile = try h.run(["apply", "-f", h.dir.file("nope.yaml")])
        #expect(nofile.status == 1)
        #expect(nofile.stderr.contains("nope.yaml"))
        let notFound = try h.run(["get", "ippool", "zzz"])
        #expect(notFound.status == 1)
        #expect(notFound.stderr == "error: failed to get resources: resource does not exist: IPPool(zzz)\n")
    }

    @Test func datastoreFromEnvironmentAndVersion() throws {
        let dir = try TempDir("twillctl-env"); defer { dir.cleanup() }
        let bin = BuiltProducts.path("twillctl")
        let env = ["TWILL_DATASTORE": "sqlite:" + dir.file("env.db")]
        let r = try Shell.run([bin, "apply", "-f", fixtures + "/multi.yaml"], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.file("env.db")))
        let etcd = try Shell.run([bin, "--datastore", "etcd://127.0.0.1:2379", "get", "ippool"])
        #expect(etcd.status == 1)
        #expect(etcd.stderr.hasPrefix("error: "))
        let offline = try Shell.run([bin, "--datastore", "etcd://127.0.0.1:2379", "validate", "-f", fixtures + "/multi.yaml"])
        #expect(offline.status == 0)
        #expect(offline.stdout == "Successfully validated 4 resource(s)\n")
        #expect(offline.stderr.contains("validating without the stored state"))
        // calicoctl command lines run unchanged.
        let compat = try Shell.run([bin, "--allow-version-mismatch", "get", "ippools"], env: env)
        #expect(compat.status == 0, "\(compat.stderr)")
        #expect(compat.stdout.contains("pool-a"))
        let v = try Shell.run([bin, "version"])
        #expect(v.status == 0)
        #expect(v.stdout.contains("Client Version:"))
    }
}

@Suite struct NamespacedEndToEndTests {
    @Test func networkPolicyInNamespaces() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        let r = try h.run(["apply", "-f", fixtures + "/calico-docs-policy.yaml"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try h.ok(["get", "networkpolicy", "-n", "production"]).contains("production   allow-tcp-6379"))
        #expect(!(try h.ok(["get", "networkpolicy"]).contains("allow-tcp-6379")))
        let all = try h.ok(["get", "policies", "-A"])
        #expect(all.contains("allow-tcp-6379") && all.contains("default-ns-policy"))
        #expect(try h.ok(["get", "np", "allow-tcp-6379", "-n", "production", "-o", "yaml"]).contains("namespace: production"))
        let missing = try h.run(["get", "np", "allow-tcp-6379"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("NetworkPolicy(default/allow-tcp-6379)"))
        #expect(try h.ok(["delete", "np", "allow-tcp-6379", "-n", "production"])
                == "Successfully deleted 1 'NetworkPolicy' resource(s)\n")
    }
}

@Suite struct DirectoryEndToEndTests {
    /// `-f DIR` reads the directory's .yaml/.yml/.json files in name order, each its own batch,
    /// stopping at the first failing file and naming it (calicoctl's behaviour); `-R` descends.
    @Test func applyDirectory() throws {
        let h = try CtlHarness(); defer { h.cleanup() }
        let dir = h.dir.file("manifests")
        try FileManager.default.createDirectory(atPath: dir + "/more", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixtures + "/multi.yaml", toPath: dir + "/1-multi.yaml")
        try FileManager.default.copyItem(atPath: fixtures + "/calico-docs.yaml", toPath: dir + "/more/docs.yml")
        try "ignored".write(toFile: dir + "/README.md", atomically: true, encoding: .utf8)
        #expect(try h.ok(["apply", "-f", dir]) == "Successfully applied 4 resource(s)\n")
        #expect(try h.ok(["apply", "-R", "-f", dir])
                == "Successfully applied 4 resource(s)\nSuccessfully applied 5 resource(s)\n")
        try "# nothing here\n---\n".write(toFile: dir + "/2-empty.yaml", atomically: true, encoding: .utf8)
        let empty = try h.run(["apply", "-f", dir])
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("no resources specified"))
        #expect(try h.ok(["apply", "--skip-empty", "-f", dir]) == "Successfully applied 4 resource(s)\n")
        try FileManager.default.copyItem(atPath: fixtures + "/invalid3.yaml", toPath: dir + "/0-bad.yaml")
        let r = try h.run(["apply", "-f", dir])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: " + dir + "/0-bad.yaml: "))
        #expect(r.stderr.contains("spec.natOutgoin"))
    }
}
