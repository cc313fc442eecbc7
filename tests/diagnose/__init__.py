"""Tests of diagnosis: the playbook, SSH, redaction, the CLI and the lab end to end."""
