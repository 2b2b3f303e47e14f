import Datastore
import DatastoreEtcd

/// `twill-node render-bird`: the BIRD 2 configuration for this node from the datastore at `url`.
public func renderBIRDConfig(url: String?, nodeName: String) throws -> String {
    let store = try openAnyDatastore(url: url)
    return try renderBIRDConfig(store: store, nodeName: nodeName)
}
