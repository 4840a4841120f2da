"""What the real API server does to an object between decoding it and storing it: defaulting, then validation."""
