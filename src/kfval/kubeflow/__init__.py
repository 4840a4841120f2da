"""What the suite knows about each Kubeflow component, whichever runner drives it.

One module per component (training jobs today; notebooks, builds and releases next): the labels and
names its controllers use, how to wait for its workloads, and how to explain their failures in a QA
engineer's words. Nothing here knows radish or the embedded cluster: it talks to the cluster only
through `kfval.kube`, so a pytest suite could use it as well.
"""
