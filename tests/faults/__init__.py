"""Fault injection between the suite and a cluster: a loopback proxy with scripted faults (test tooling only).

`proxy.FaultProxy` sits in front of the embedded cluster's API server and, on request, resets, refuses,
stalls, slows or answers 503 for a number of seconds; `script.Script` plays such faults as a run reaches
given points. Tests point a copy of the cluster's kubeconfig at the proxy and run the suite through it.
"""
