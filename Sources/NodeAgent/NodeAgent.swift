// The node agent's shell. See docs/node-agent.md.
