"""The versioned object store: the one place objects are written, and the source of every watch."""
