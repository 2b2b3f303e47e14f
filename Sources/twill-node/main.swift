// twill-node: the per-node agent (wiring only; the logic is in NodeAgent).
print("twill-node: not built yet")
