"""kfval: a behaviour-driven validation suite for Kubeflow on Kubernetes."""
