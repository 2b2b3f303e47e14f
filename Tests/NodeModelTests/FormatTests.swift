import NetCore
import NodeModel
import ResourceFormat
import Testing

@Suite struct FormatTests {
    @Test(arguments: CalicoExamples.all)
    func calicoDocExamplesDecodeAndRoundTrip(yaml: String) throws {
        let rs = try decodeResources(text: yaml)
        #expect(rs.count == 1)
        // YAML → model → YAML → model is the identity on the model.
        let again = try decodeResources(text: encode(rs, format: .yaml))
        #expect(again == rs)
        let viaJSON = try decodeResources(text: encode(rs, format: .json))
        #expect(viaJSON == rs)
    }

    @Test func ipPoolFieldsAreTyped() throws {
        let rs = try decodeResources(text: CalicoExamples.ipPool)
        let pool = try #require(rs.first?.as(IPPool.self))
        #expect(pool.name == "my.ippool-1")
        #expect(pool.spec.cidr == "10.1.0.0/16")
        #expect(pool.spec.ipipMode == .crossSubnet)
        #expect(pool.spec.natOutgoing)
        #expect(pool.spec.nodeSelector == "all()")
        #expect(pool.spec.allowedUses == [.workload, .tunnel])
    }

    @Test func communitiesWithColonsStayStrings() throws {
        let rs = try decodeResources(text: CalicoExamples.bgpConfiguration)
        let c = try #require(rs.first?.as(BGPConfiguration.self))
        #expect(c.spec.communities == [Community(name: "bgp-large-community", value: "63400:300:100")])
        #expect(c.spec.prefixAdvertisements[0].communities == ["bgp-large-community", "63400:120"])
        #expect(c.spec.asNumber == ASNumber(63400))
        #expect(c.spec.nodeMeshMaxRestartTime == CalicoDuration(seconds: 120))
        #expect(c.spec.listenPort == 178)
    }

    @Test func asdotStringAndPlainNumberBothDecode() throws {
        let yaml = """
        apiVersion: projectcalico.org/v3
        kind: BGPPeer
        metadata: {name: p}
        spec: {peerIP: 10.0.0.1, asNumber: "1.10"}
        ---
        apiVersion: projectcalico.org/v3
        kind: BGPPeer
        metadata: {name: q}
        spec: {peerIP: 10.0.0.2, asNumber: 64512}
        """
        let rs = try decodeResources(text: yaml)
        #expect(rs[0].as(BGPPeer.self)?.spec.asNumber == ASNumber(65546))
        #expect(rs[1].as(BGPPeer.self)?.spec.asNumber == ASNumber(64512))
    }

    @Test func unknownFieldNamesItsPath() {
        let yaml = """
        apiVersion: projectcalico.org/v3
        kind: IPPool
        metadata:
          name: p
        spec:
          cidrr: 10.0.0.0/8
        """
        #expect(throws: ResourceTextError.resource(ResourceError(
            DocumentRef(index: 0, kind: "IPPool", name: "p"), FieldError("spec.cidrr", "unknown field \"cidrr\"")))) {
            try decodeResources(text: yaml)
        }
    }

    @Test func wrongTypeNamesPathAndExpectedType() throws {
        let yaml = """
        apiVersion: projectcalico.org/v3
        kind: IPPool
        metadata: {name: p}
        spec: {cidr: 10.0.0.0/8, blockSize: big}
        """
        do {
            _ = try decodeResources(text: yaml)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("spec.blockSize: expected integer, got string"))
            #expect(error.description.contains("IPPool \"p\""))
        }
    }

    @Test func secondDocumentErrorIsIndexedAndNothingReturned() throws {
        let yaml = CalicoExamples.ipPool + "\n---\n" + """
        apiVersion: projectcalico.org/v3
        kind: BGPPeer
        metadata: {name: bad}
        spec: {peerIP: 10.0.0.1, asNumber: [1]}
        """
        do {
            _ = try decodeResources(text: yaml)
            Issue.record("expected an error")
        } catch {
            guard case .resource(let e) = error else { Issue.record("wrong error \(error)"); return }
            #expect(e.document.index == 1)
            #expect(e.document.name == "bad")
            #expect(e.errors.first?.path == "spec.asNumber")
        }
    }

    @Test func wrongAPIVersionIsRejected() {
        let yaml = CalicoExamples.ipPool.replacingOccurrences(of: "projectcalico.org/v3", with: "crd.projectcalico.org/v1")
        #expect(throws: ResourceTextError.self) { try decodeResources(text: yaml) }
    }

    @Test func listsAreFlattened() throws {
        let yaml = """
        apiVersion: projectcalico.org/v3
        kind: List
        items:
        - apiVersion: projectcalico.org/v3
          kind: IPPool
          metadata: {name: a}
          spec: {cidr: 10.0.0.0/16}
        - apiVersion: projectcalico.org/v3
          kind: BGPPeer
          metadata: {name: b}
          spec: {peerIP: 10.0.0.1, asNumber: 65000}
        ---
        apiVersion: projectcalico.org/v3
        kind: IPPoolList
        metadata: {resourceVersion: "7"}
        items:
        - metadata: {name: c}
          spec: {cidr: 10.1.0.0/16}
        """
        let rs = try decodeResources(text: yaml)
        #expect(rs.map(\.name) == ["a", "b", "c"])
        #expect(rs.map(\.kind) == [.ipPool, .bgpPeer, .ipPool])
    }

    @Test func severalResourcesEncodeAsTypedListAndReapply() throws {
        let rs = try decodeResources(text: CalicoExamples.globalPeer + "\n---\n" + CalicoExamples.nodePeer)
        let text = encode(rs, format: .yaml)
        #expect(text.contains("kind: BGPPeerList"))
        #expect(try decodeResources(text: text) == rs)
        let mixed = try decodeResources(text: CalicoExamples.globalPeer + "\n---\n" + CalicoExamples.ipPool)
        #expect(encode(mixed, format: .yaml).contains("kind: List"))
        #expect(encode([], format: .yaml, listKind: .ipPool) == "apiVersion: projectcalico.org/v3\nitems: []\nkind: IPPoolList\nmetadata: {}\n")
        #expect(try decodeResources(text: encode([], format: .json, listKind: .bgpPeer)) == [])
    }

    @Test func jsonInputSingleArrayAndStream() throws {
        let one = #"{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"j"},"spec":{"cidr":"10.2.0.0/16","blockSize":24}}"#
        #expect(try decodeResources(text: one).first?.as(IPPool.self)?.spec.blockSize == 24)
        #expect(try decodeResources(text: "[\(one),\(one)]").count == 2)
        #expect(try decodeResources(text: "\(one)\n\(one)\n").count == 2)
    }

    @Test func yamlOutputLooksLikeCalicoctl() throws {
        let rs = try decodeResources(text: CalicoExamples.ipPool)
        let expected = """
        apiVersion: projectcalico.org/v3
        kind: IPPool
        metadata:
          name: my.ippool-1
        spec:
          allowedUses:
          - Workload
          - Tunnel
          cidr: 10.1.0.0/16
          ipipMode: CrossSubnet
          natOutgoing: true
          nodeSelector: all()

        """
        #expect(encode(rs, format: .yaml) == expected)
    }

    @Test func quotedScalarsStayStrings() throws {
        let docs = try parseDocuments(text: "a: \"64512\"\nb: 64512\nc: '1.5'\nd: 1.5\ne: yes\nf: 80:81\ng: ~\nh: 0x10\n")
        #expect(docs == [.object(["a": .string("64512"), "b": .int(64512), "c": .string("1.5"), "d": .double(1.5),
                                   "e": .bool(true), "f": .string("80:81"), "g": .null, "h": .int(16)])])
    }

    @Test func yamlSyntaxErrorHasPosition() {
        do {
            _ = try parseDocuments(text: "a: 1\nb: [unclosed\n")
            Issue.record("expected error")
        } catch {
            guard case .syntax(let e) = error else { Issue.record("wrong error"); return }
            #expect(e.line != nil)
        }
    }

    @Test func duplicateKeysAreRejected() {
        #expect(throws: ResourceTextError.self) { try parseDocuments(text: "a: 1\na: 2\n") }
    }

    @Test func multiLineStringsPrintAsLiteralBlocks() throws {
        let texts = ["{\"a\":1}\n", "two\nlines", "trailing\n\n\n", "blank\n\nline\n", "tab\there\nx", "  lead\nx", "trail \nx", "\nfirst"]
        let v = Value.object(texts.enumerated().map { Value.Field("k\($0.offset)", .string($0.element)) }
                             + [Value.Field("list", .array(texts.map(Value.string)))])
        let text = YAMLWriter.document(v, sortKeys: false)
        #expect(text.hasPrefix("k0: |\n  {\"a\":1}\nk1: |-\n  two\n  lines\nk2: |+\n  trailing\n\n\n"))
        #expect(try parseDocuments(text: text) == [v])
    }

    @Test func stringsThatNeedQuotingSurviveYAML() throws {
        let tricky = ["", "true", "64512", "1.5", "!has(a)", "a: b", "x #y", "- z", "2024-01-01T00:00:00Z",
                      "k in {'a', 'b'}", "line\nbreak", " lead", "null", "'q'", "@at", "*star", "80:59", ":x", "?x", "-x", "-", "a:b", "é", "0x1F", "1_000", "~", "Yes"]
        let v = Value.object(tricky.enumerated().map { Value.Field("k\($0.offset)", .string($0.element)) })
        let back = try parseDocuments(text: YAMLWriter.document(v, sortKeys: false))
        #expect(back == [v])
    }
}

@Suite struct PastedYAMLTests {
    /// What `calicoctl get ippools -o yaml` prints on a real cluster, re-applied as is.
    static let calicoctlOutput = """
    apiVersion: projectcalico.org/v3
    items:
    - apiVersion: projectcalico.org/v3
      kind: IPPool
      metadata:
        annotations:
          kubectl.kubernetes.io/last-applied-configuration: |
            {"apiVersion":"projectcalico.org/v3","kind":"IPPool"}
        creationTimestamp: "2024-03-01T10:00:00Z"
        generation: 1
        name: default-ipv4-ippool
        resourceVersion: "1234"
        uid: 3b5d7c2e-1111-2222-3333-444455556666
      spec:
        allowedUses:
        - Workload
        - Tunnel
        blockSize: 26
        cidr: 192.168.0.0/16
        ipipMode: Always
        natOutgoing: true
        nodeSelector: all()
        vxlanMode: Never
    kind: IPPoolList
    metadata:
      resourceVersion: "1240"
    """

    @Test func calicoctlListOutputReapplies() throws {
        let rs = try decodeResources(text: Self.calicoctlOutput)
        let pool = try #require(rs.first?.as(IPPool.self))
        #expect(rs.count == 1)
        #expect(pool.metadata.uid == "3b5d7c2e-1111-2222-3333-444455556666")
        #expect(pool.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]?.hasSuffix("}\n") == true)
        #expect(pool.metadata.creationTimestamp == "2024-03-01T10:00:00Z")
        #expect(rs[0].withDefaults().validate() == [])
        #expect(try decodeResources(text: encode(rs, format: .yaml)) == rs)
        #expect(try decodeResources(text: encode(rs, format: .json)) == rs)
    }

    @Test func nullTimestampAndEmptyDocumentsAreFine() throws {
        let yaml = "---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n1\n  creationTimestamp: null\nspec:\n---\n"
        let rs = try decodeResources(text: yaml)
        #expect(rs.map(\.name) == ["n1"])
    }

    @Test func listWithUnknownFieldIsRejected() {
        #expect(throws: ResourceTextError.self) {
            try decodeResources(text: "apiVersion: projectcalico.org/v3\nkind: List\nitemz: []\n")
        }
    }

    @Test func unknownKindSuggestsTheRightOne() {
        do {
            _ = try decodeResources(text: "apiVersion: projectcalico.org/v3\nkind: ippool\nmetadata: {name: a}\n")
            Issue.record("should fail")
        } catch {
            #expect(error.description.contains("unknown resource kind \"ippool\" (did you mean IPPool?)"))
        }
    }

    @Test func jsonSyntaxErrorNamesDocumentAndLine() {
        do {
            _ = try decodeResources(text: "{\"kind\": \"IPPool\"}\n{\"kind\": }")
            Issue.record("should fail")
        } catch {
            guard case .syntax(let e) = error else { Issue.record("wrong error"); return }
            #expect(e.document == 1 && e.line == 2)
        }
    }

    /// Throughput of the text codecs (debug build): prints the figures reported in docs.
    @Test func bulkDecodeEncode() throws {
        let n = 2000
        var pools: [Resource] = []
        for i in 0..<n {
            var p = IPPool(metadata: ObjectMeta(name: "pool-\(i)", labels: ["zone": "z\(i % 4)"]),
                           spec: IPPoolSpec(cidr: "10.\(i / 256).\(i % 256).0/24"))
            p.spec.blockSize = 26
            pools.append(Resource(p).withDefaults())
        }
        let clock = ContinuousClock()
        var yaml = "", json = ""
        var listValue = Value.null
        let toValueTime = clock.measure { listValue = ResourceDocuments.listValue(pools) }
        let yamlEncodeTime = clock.measure { yaml = encode(listValue, format: .yaml) }
        let jsonEncodeTime = clock.measure { json = encode(listValue, format: .json) }
        var fromYAML: [Resource] = [], fromJSON: [Resource] = []
        let yamlTime = try clock.measure { fromYAML = try decodeResources(text: yaml) }
        let jsonTime = try clock.measure { fromJSON = try decodeResources(text: json) }
        let validateTime = clock.measure { for p in fromYAML { _ = p.validate() } }
        #expect(fromYAML == pools && fromJSON == pools)
        print("bulk \(n) IPPools: toValue \(toValueTime), emit yaml \(yamlEncodeTime), emit json \(jsonEncodeTime), decode yaml \(yamlTime), decode json \(jsonTime), validate \(validateTime)")
    }
}
