"""Training logs read as metric series, so steps assert on numbers and reports draw curves.

Each module reads one framework's example workloads (`pytorch`: the Kubeflow PyTorch MNIST
images). They are pure functions over text: no cluster, no I/O, golden-tested on real logs.
"""
