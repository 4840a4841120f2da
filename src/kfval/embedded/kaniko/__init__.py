"""A stand-in for the Kaniko executor, run as the process of a pod whose image is Kaniko's.

Kaniko cannot run here (no such Debian package, no public registry to pull it from), but
Kubeflow Fairing's builder Job and every Kaniko manifest must work unchanged. This program takes
Kaniko's flags, reads credentials where Kaniko reads them, checks push permission first, builds
with buildah (chroot isolation, fresh storage per build), pushes Docker v2s2 with skopeo, prints
Kaniko's log lines for the release its image tag names and exits with Kaniko's codes.

It is a workload program, not part of the cluster: it runs inside the pod's sandbox and talks to
the registry over the network like any pod, so it imports nothing of the cluster but two pure
modules (the Dockerfile reader and the host-runtime label), and it starts buildah and skopeo
itself, as Kaniko's own process would run its build steps.
"""
