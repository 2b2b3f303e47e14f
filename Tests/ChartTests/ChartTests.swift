@testable import DatastoreEtcd
import Foundation
import Testing
import TestSupport
import Yams

/// charts/twill, rendered with `ChartRenderer` (Helm's subset) and checked object by object.
@Suite struct ChartTests {
    static let chartDir: String = {
        // Tests/ChartTests/ChartTests.swift → repo root
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/charts/twill"
    }()

    static let templates = ["configmap.yaml", "secret.yaml", "rbac.yaml", "daemonset.yaml", "servicemonitor.yaml"]

    /// Renders every template; returns the text and the parsed objects.
    static func render(_ overrides: [String: Any] = [:]) throws -> (text: String, objects: [[String: Any]]) {
        var r = try ChartRenderer(chartDir: chartDir, overrides: overrides)
        _ = try r.render(String(contentsOfFile: chartDir + "/templates/_helpers.tpl", encoding: .utf8))
        var text = ""
        for t in templates {
            let out = try r.render(String(contentsOfFile: chartDir + "/templates/" + t, encoding: .utf8))
            // Like helm template, a template that renders to blanks contributes nothing.
            guard !out.allSatisfy(\.isWhitespace) else { continue }
            text += out.hasSuffix("\n") ? out : out + "\n"
        }
        var objects: [[String: Any]] = []
        for doc in try Yams.load_all(yaml: text) {
            if let o = doc as? [String: Any] { objects.append(o) }
        }
        return (text, objects)
    }

    static func object(_ objects: [[String: Any]], kind: String) -> [String: Any]? {
        objects.first { $0["kind"] as? String == kind }
    }

    static func dig(_ v: Any?, _ path: String) -> Any? {
        var cur = v
        for p in path.split(separator: ".") {
            if let i = Int(p), let a = cur as? [Any] { cur = i < a.count ? a[i] : nil }
            else { cur = (cur as? [String: Any])?[String(p)] }
        }
        return cur
    }

    @Test func defaultRenderHasTheExpectedObjects() throws {
        let (_, objects) = try Self.render()
        #expect(objects.map { $0["kind"] as? String ?? "?" }.sorted()
            == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet", "Secret", "ServiceAccount"])
        for o in objects {
            #expect(Self.dig(o, "metadata.name") as? String == (o["kind"] as? String == "DaemonSet" ? "twill-twill-node" : "twill-twill"))
            #expect(Self.dig(o, "metadata.labels.app.kubernetes.io/instance") == nil)  // label keys are flat
            #expect((Self.dig(o, "metadata.labels") as? [String: Any])?["app.kubernetes.io/instance"] as? String == "twill")
        }
    }

    @Test func daemonSetRunsTheNodeAgentOnTheHostNetwork() throws {
        let (_, objects) = try Self.render()
        let ds = try #require(Self.object(objects, kind: "DaemonSet"))
        let pod = Self.dig(ds, "spec.template.spec")
        #expect(Self.dig(pod, "hostNetwork") as? Bool == true)
        #expect(Self.dig(pod, "serviceAccountName") as? String == "twill-twill")
        #expect((Self.dig(ds, "spec.selector.matchLabels") as? [String: String])
            == (Self.dig(ds, "spec.template.metadata.labels") as? [String: String]))
        let node = try #require(Self.dig(pod, "containers.0") as? [String: Any])
        #expect(node["name"] as? String == "twill-node")
        #expect(node["image"] as? String == "twill/twill:0.1.0")  // tag defaults to appVersion
        #expect(Self.dig(node, "securityContext.capabilities.add") as? [String] == ["NET_ADMIN", "NET_RAW", "SYS_ADMIN"])
        #expect(Self.dig(node, "securityContext.privileged") == nil)
        #expect(Self.dig(node, "livenessProbe.httpGet.port") as? Int == 9099)
        #expect(Self.dig(node, "livenessProbe.httpGet.path") as? String == "/liveness")
        #expect(Self.dig(node, "readinessProbe.httpGet.port") as? Int == 9099)
        #expect(Self.dig(node, "readinessProbe.httpGet.path") as? String == "/readiness")
        let ports = (node["ports"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0["containerPort"] as? Int ?? 0) }
        #expect(ports.map(\.0) == ["bgp", "health", "metrics"] && ports.map(\.1) == [179, 9099, 9091])
        let mounts = (node["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
        #expect(mounts.contains("/var/run/twill"))
        #expect(Self.dig(node, "resources.limits.memory") as? String == "256Mi")
        let envFrom = (node["envFrom"] as? [[String: Any]] ?? [])
        #expect(Self.dig(envFrom, "0.configMapRef.name") as? String == "twill-twill")
        #expect(Self.dig(envFrom, "1.secretRef.name") as? String == "twill-twill")

        let install = try #require(Self.dig(pod, "initContainers.0") as? [String: Any])
        #expect(install["name"] as? String == "install-cni")
        let volumes = Dictionary(uniqueKeysWithValues: (Self.dig(pod, "volumes") as? [[String: Any]] ?? []).map {
            ($0["name"] as? String ?? "", $0)
        })
        let installMounts = (install["volumeMounts"] as? [[String: Any]] ?? []).map {
            ($0["mountPath"] as? String ?? "", Self.dig(volumes[$0["name"] as? String ?? ""], "hostPath.path") as? String)
        }
        #expect(installMounts.map(\.0) == ["/host/opt/cni/bin", "/host/etc/cni/net.d"])
        #expect(installMounts.map(\.1) == ["/opt/cni/bin", "/etc/cni/net.d"])
        #expect(Self.dig(volumes["var-run-twill"], "hostPath.path") as? String == "/var/run/twill")
        #expect(Self.dig(pod, "tolerations.0.operator") as? String == "Exists")
    }

    @Test func configMapCarriesAnOpenableDatastoreURL() throws {
        let (_, objects) = try Self.render(["datastore.url": "etcd://10.0.0.1:2379,10.0.0.2:2379"])
        let cm = try #require(Self.object(objects, kind: "ConfigMap"))
        let data = try #require(cm["data"] as? [String: Any])
        // Every ConfigMap value must be a string (Kubernetes rejects numbers and booleans).
        #expect(data.values.allSatisfy { $0 is String })
        let url = try #require(data["TWILL_DATASTORE"] as? String)
        #expect(try EtcdOptions(parsing: url).endpoints == ["10.0.0.1:2379", "10.0.0.2:2379"])
        #expect(data["CALICO_IPV4POOL_CIDR"] as? String == "192.168.0.0/16")
        #expect(data["CALICO_IPV4POOL_BLOCK_SIZE"] as? String == "26")
        #expect(data["FELIX_PROMETHEUSMETRICSPORT"] as? String == "9091")
    }

    @Test func secretHoldsEtcdCredentialsAndBGPPasswords() throws {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        let (_, objects) = try Self.render([
            "datastore.etcd.username": "calico", "datastore.etcd.password": "p\"w",
            "datastore.etcd.caCert": pem, "bgp.passwords": ["peer-a": "s3cr3t: x"],
        ])
        let secret = try #require(Self.object(objects, kind: "Secret"))
        let data = try #require(secret["stringData"] as? [String: Any])
        #expect(data["ETCD_USERNAME"] as? String == "calico")
        #expect(data["ETCD_PASSWORD"] as? String == "p\"w")
        #expect(data["etcd-ca.pem"] as? String == pem)
        #expect(data["peer-a"] as? String == "s3cr3t: x")
    }

    @Test func optionalObjectsFollowTheirSwitches() throws {
        let on = try Self.render(["metrics.serviceMonitor.enabled": true]).objects
        let sm = try #require(Self.object(on, kind: "ServiceMonitor"))
        let svc = try #require(Self.object(on, kind: "Service"))
        #expect(Self.dig(sm, "spec.endpoints.0.port") as? String == "metrics")
        #expect(Self.dig(svc, "spec.ports.0.port") as? Int == 9091)
        let selector = try #require(Self.dig(sm, "spec.selector.matchLabels") as? [String: String])
        let svcLabels = try #require(Self.dig(svc, "metadata.labels") as? [String: String])
        #expect(selector.allSatisfy { svcLabels[$0.key] == $0.value })

        let off = try Self.render(["rbac.create": false, "metrics.enabled": false]).objects
        #expect(off.map { $0["kind"] as? String ?? "" }.sorted() == ["ConfigMap", "DaemonSet", "Secret"])
        let ds = try #require(Self.object(off, kind: "DaemonSet"))
        #expect(Self.dig(ds, "spec.template.spec.serviceAccountName") == nil)
        let ports = Self.dig(ds, "spec.template.spec.containers.0.ports") as? [[String: Any]] ?? []
        #expect(ports.compactMap { $0["name"] as? String } == ["bgp", "health"])
    }

    @Test func rendererRejectsUnknownValues() throws {
        var r = try ChartRenderer(chartDir: Self.chartDir)
        #expect(throws: ChartRenderer.RenderError.self) { try r.render("x: {{ .Values.no.such }}") }
        #expect(throws: ChartRenderer.RenderError.self) { try r.render("{{ if .Values.image }}x") }
        #expect(try r.render("a:\n  {{- if .Values.rbac.create }}\n  b: 1\n  {{- end }}\n") == "a:\n  b: 1\n")
    }

    /// Every setting in values.yaml is used by a template and has a comment (its own, or its
    /// top-level block's for free-form Kubernetes blocks such as `resources`).
    @Test func everyValueIsUsedAndCommented() throws {
        let valuesText = try String(contentsOfFile: Self.chartDir + "/values.yaml", encoding: .utf8)
        var templatesText = ""
        for t in Self.templates { templatesText += try String(contentsOfFile: Self.chartDir + "/templates/" + t, encoding: .utf8) }
        let lines = valuesText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var stack: [(indent: Int, key: String)] = []
        var topCommented = false
        for (i, line) in lines.enumerated() {
            let trimmed = line.drop(while: { $0 == " " })
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), !trimmed.hasPrefix("---"), !trimmed.hasPrefix("-"),
                  let colon = trimmed.firstIndex(of: ":") else { continue }
            let indent = line.count - trimmed.count
            let key = String(trimmed[..<colon])
            while let last = stack.last, last.indent >= indent { stack.removeLast() }
            let commented = i > 0 && lines[i - 1].trimmingCharacters(in: .whitespaces).hasPrefix("#")
            if indent == 0 { topCommented = commented }
            stack.append((indent, key))
            let isLeaf = !trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces).isEmpty
            guard isLeaf else { continue }
            let path = stack.map(\.key)
            #expect(commented || topCommented, "values.yaml: \(path.joined(separator: ".")) has no comment")
            let used = (1...path.count).contains { n in
                let ref = ".Values." + path.prefix(n).joined(separator: ".")
                return templatesText.components(separatedBy: ref).dropFirst().contains { after in
                    guard let c = after.first else { return true }
                    return !(c.isLetter || c.isNumber || c == "." || c == "_")
                }
            }
            #expect(used, "values.yaml: \(path.joined(separator: ".")) is not used by any template")
        }
    }

    /// yamllint on Chart.yaml, values.yaml and the rendered manifests.
    @Test func yamllintIsClean() throws {
        guard let yamllint = Shell.which("yamllint") else {
            if Privileged.required { Issue.record("yamllint is not installed") }
            print("SKIP yamllint: not installed")
            return
        }
        let dir = try TempDir("twill-chart")
        defer { dir.cleanup() }
        for overrides in [[:], ["metrics.serviceMonitor.enabled": true, "bgp.passwords": ["a": "b"]] as [String: Any]] {
            let rendered = try Self.render(overrides).text
            try rendered.write(toFile: dir.file("rendered.yaml"), atomically: true, encoding: .utf8)
            let config = "{extends: default, rules: {line-length: {max: 120}}}"
            let r = try Shell.run([yamllint, "-s", "-d", config, Self.chartDir + "/Chart.yaml",
                                   Self.chartDir + "/values.yaml", dir.file("rendered.yaml")])
            #expect(r.status == 0, "yamllint: \(r.stdout)\(r.stderr)")
        }
    }
}

/// The init container's script, run against temp directories.
@Suite struct InstallCNIScriptTests {
    static let script = ChartTests.chartDir + "/install-cni.sh"

    @Test func installsBinaryAndConfigAtomically() throws {
        let dir = try TempDir("twill-cni-install")
        defer { dir.cleanup() }
        try "#!/bin/sh\necho cni\n".write(toFile: dir.file("twill-cni"), atomically: true, encoding: .utf8)
        _ = chmod(dir.file("twill-cni"), 0o755)
        let env = ["CNI_SOURCE": dir.file("twill-cni"), "CNI_BIN_DIR": dir.file("bin"), "CNI_NET_DIR": dir.file("net.d"),
                   "TWILL_DATASTORE": "etcd://10.0.0.1:2379", "CNI_MTU": "1440", "TWILL_LOG_LEVEL": "debug"]
        let r = try Shell.run(["sh", Self.script], env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.isExecutableFile(atPath: dir.file("bin/twill-cni")))
        let conf = try Data(contentsOf: URL(fileURLWithPath: dir.file("net.d/10-twill.conflist")))
        let json = try JSONSerialization.jsonObject(with: conf) as? [String: Any]
        let plugin = (json?["plugins"] as? [[String: Any]])?.first
        #expect(plugin?["type"] as? String == "twill-cni")
        #expect(plugin?["datastore"] as? String == "etcd://10.0.0.1:2379")
        #expect(plugin?["mtu"] as? Int == 1440)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("net.d")) == ["10-twill.conflist"])
    }

    @Test(arguments: [
        (["CNI_MTU": "15x"], "CNI_MTU \"15x\" is not a number"),
        (["CNI_CONF_NAME": "../x"], "must be a file name"),
        (["TWILL_DATASTORE": ""], "TWILL_DATASTORE is not set"),
        (["CNI_SOURCE": "/nonexistent/twill-cni"], "missing or not executable"),
    ])
    func rejectsBadSettings(_ bad: [String: String], _ why: String) throws {
        let dir = try TempDir("twill-cni-install")
        defer { dir.cleanup() }
        try "#!/bin/sh\n".write(toFile: dir.file("twill-cni"), atomically: true, encoding: .utf8)
        _ = chmod(dir.file("twill-cni"), 0o755)
        var env = ["CNI_SOURCE": dir.file("twill-cni"), "CNI_BIN_DIR": dir.file("bin"), "CNI_NET_DIR": dir.file("net.d"),
                   "TWILL_DATASTORE": "etcd://h:1"]
        env.merge(bad) { _, n in n }
        let r = try Shell.run(["sh", Self.script], env: env)
        #expect(r.status != 0)
        #expect(r.stderr.contains(why), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("net.d/10-twill.conflist")))
    }
}
