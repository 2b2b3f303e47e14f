// The node agent's pure core. See docs/node-agent.md.
