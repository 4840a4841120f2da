"""Image references resolved to content the node can run: project images, host-provided bases, aliases."""
