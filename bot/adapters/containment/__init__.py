"""Containment executors: HTTP calls to deploy and flag services, SSH on the service's hosts."""
