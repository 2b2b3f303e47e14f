/// Next hop on export: `auto` = self for eBGP, unchanged for iBGP; `self` always ours; `keep` never changed.
public enum NextHopMode: String, Hashable, Sendable { case auto, self_ = "self", keep }
