// Placeholder: this target is being built; see docs/architecture.md.
