"""Controllers of the embedded cluster: one module per upstream controller, all run by the reactor."""
