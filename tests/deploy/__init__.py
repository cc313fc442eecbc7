"""Tests of the deployment files: systemd, container, Kubernetes, sudoers, alerting."""
