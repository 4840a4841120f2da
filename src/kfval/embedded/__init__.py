"""The embedded cluster: a local Kubernetes API server, controllers and a sandboxed kubelet.

Only :mod:`kfval.embedded.launch` is public; everything else is the cluster's own business and
meets the suite over HTTP and JSON alone.
"""
