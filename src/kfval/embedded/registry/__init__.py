"""The cluster's own OCI registry: a real `docker-registry` beside the pods, seeded with base images."""
