/// Kubernetes ObjectMeta as Calico v3 resources carry it. Every standard field a YAML pasted
/// from `kubectl get -o yaml` may hold is accepted; the ones Twill does not interpret
/// (ownerReferences, managedFields) are kept verbatim so they survive a round trip.
public struct ObjectMeta: Hashable, Sendable, ValueCodable {
    public var name: String = ""
    public var generateName: String = ""
    public var namespace: String = ""
    public var selfLink: String = ""
    public var uid: String = ""
    /// The datastore revision of the last write, as a decimal string (Kubernetes convention).
    public var resourceVersion: String = ""
    public var generation: Int = 0
    /// RFC 3339 UTC, e.g. `2024-05-01T10:00:00Z`.
    public var creationTimestamp: String = ""
    public var deletionTimestamp: String = ""
    public var deletionGracePeriodSeconds: Int? = nil
    public var labels: StringMap = [:]
    public var annotations: StringMap = [:]
    public var ownerReferences: [Value] = []
    public var finalizers: [String] = []
    public var managedFields: [Value] = []

    public init(name: String = "", namespace: String = "", labels: StringMap = [:]) {
        self.name = name; self.namespace = namespace; self.labels = labels
    }

    public init(from value: Value, at path: FieldPath) throws(FieldError) {
        var r = try ObjectReader(value, at: path)
        name = try r.string("name")
        generateName = try r.string("generateName")
        namespace = try r.string("namespace")
        selfLink = try r.string("selfLink")
        uid = try r.string("uid")
        resourceVersion = try r.string("resourceVersion")
        generation = try r.int("generation")
        creationTimestamp = try r.string("creationTimestamp")
        deletionTimestamp = try r.string("deletionTimestamp")
        deletionGracePeriodSeconds = try r.optional("deletionGracePeriodSeconds")
        labels = try r.map("labels")
        annotations = try r.map("annotations")
        ownerReferences = try r.list("ownerReferences")
        finalizers = try r.list("finalizers")
        managedFields = try r.list("managedFields")
        try r.finish()
    }

    public func toValue() -> Value {
        var w = ObjectWriter()
        w.omitEmpty("name", name)
        w.omitEmpty("generateName", generateName)
        w.omitEmpty("namespace", namespace)
        w.omitEmpty("selfLink", selfLink)
        w.omitEmpty("uid", uid)
        w.omitEmpty("resourceVersion", resourceVersion)
        w.omitEmpty("generation", generation)
        w.omitEmpty("creationTimestamp", creationTimestamp)
        w.omitEmpty("deletionTimestamp", deletionTimestamp)
        w.optional("deletionGracePeriodSeconds", deletionGracePeriodSeconds)
        w.omitEmpty("labels", labels)
        w.omitEmpty("annotations", annotations)
        w.omitEmpty("ownerReferences", ownerReferences)
        w.omitEmpty("finalizers", finalizers)
        w.omitEmpty("managedFields", managedFields)
        return w.value
    }
}
