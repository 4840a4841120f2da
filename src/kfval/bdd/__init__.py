"""The radish adapter: the run's lifecycle, the glue a step finds its scenario through, and the
reporting extension that turns radish's model into the project's reports.

The only package of the suite (with `kfval.cli`) that imports radish or starts the embedded cluster.
"""
