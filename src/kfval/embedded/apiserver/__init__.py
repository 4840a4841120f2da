"""The HTTP face of the embedded cluster: the Kubernetes REST API as kubectl, client-go and Helm expect it."""
