"""The kubelet of the embedded cluster: runs each pod's containers as sandboxed local processes."""
