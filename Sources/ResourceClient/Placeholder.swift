// Placeholder: typed resource client over Datastore (being built).
